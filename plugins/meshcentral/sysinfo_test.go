package meshcentral

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// The files in testdata are getsysinfo answers written by hand with the
// fields MeshCentral's own server reads from them (its device export: the
// identifiers' product_uuid, bios_serial, board_vendor; hardware.linux and
// hardware.windows.osinfo): this machine has no SMBIOS, so its MeshAgent
// reports no sysinfo to record one from.
func TestParseSysinfo(t *testing.T) {
	tests := []struct {
		file string
		want immy.Identity
	}{
		{"sysinfo-linux.json", immy.Identity{UUID: "4c4c4544-0044-5810-804b-b4c04f513533", Serial: "4DXKQ53", Manufacturer: "Dell Inc.", Model: "Latitude 7420"}},
		{"sysinfo-windows.json", immy.Identity{UUID: "8C1A2B3C-4D5E-11B2-A85C-9D8E7F6A5B4C", Serial: "PF3ABCDE", Manufacturer: "LENOVO", Model: "20XWCTO1WW", OS: "Microsoft Windows 11 Pro", OSVersion: "10.0.22631"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tt.file)
			require.NoError(t, err)
			got, err := parseSysinfo(b)
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
	_, err := parseSysinfo([]byte(`{"action":"getsysinfo","noinfo":true,"result":"Invalid device id"}`))
	require.ErrorIs(t, err, errNoSysinfo)
	_, err = parseSysinfo([]byte(`{"hardware":[]}`))
	require.Error(t, err)
}

func FuzzParseSysinfo(f *testing.F) {
	for _, name := range []string{"sysinfo-linux.json", "sysinfo-windows.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"noinfo":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parseSysinfo(b)
		if err != nil && id != (immy.Identity{}) {
			t.Fatalf("an error with an identity: %+v", id)
		}
	})
}
