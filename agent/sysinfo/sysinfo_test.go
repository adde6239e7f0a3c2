package sysinfo_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fakeRPM answers rpm with a recorded output, checking the arguments.
func fakeRPM(t *testing.T, root, recorded string) func(ctx context.Context, name string, args ...string) ([]byte, error) {
	return func(_ context.Context, name string, args ...string) ([]byte, error) {
		want := []string{"--root", root, "-qa", "--queryformat", sysinfo.RPMQueryFormat}
		if name != "rpm" || !cmp.Equal(args, want) {
			t.Errorf("ran %s %q, want rpm %q", name, args, want)
		}
		return os.ReadFile(recorded)
	}
}

func noCommand(t *testing.T) func(ctx context.Context, name string, args ...string) ([]byte, error) {
	return func(_ context.Context, name string, _ ...string) ([]byte, error) {
		t.Errorf("ran %s on a machine without an rpm database", name)
		return nil, exec.ErrNotFound
	}
}

func loadSnapshot(t *testing.T, name string) *sysinfo.WindowsSnapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "windows", name+".json"))
	require.NoError(t, err)
	var w sysinfo.WindowsSnapshot
	require.NoError(t, json.Unmarshal(b, &w))
	return &w
}

// inventoryJSON renders an inventory for a golden file.
func inventoryJSON(t *testing.T, inv immy.Inventory) []byte {
	t.Helper()
	b, err := json.MarshalIndent(inv, "", "  ")
	require.NoError(t, err)
	return append(b, '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create the golden file")
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got), go test -update to accept:\n%s", path, diff)
	}
}

func TestRecordedMachines(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		require.NoError(t, err)
		return a
	}
	debian := abs("testdata/linux/debian-laptop")
	rhel := abs("testdata/linux/rhel-vm")
	tests := []struct {
		name   string
		src    *sysinfo.Source
		want   immy.Identity
		upns   []string
		nSoft  int
		oneApp immy.DetectedSoftware
	}{
		{
			name: "debian-laptop",
			src:  &sysinfo.Source{Root: debian, Command: noCommand(t)},
			want: immy.Identity{
				UUID: "4C4C4544-0058-4B10-8032-B7C04F513348", Serial: "PF3XK2QH", Manufacturer: "LENOVO",
				Model: "21HD003AGE", Hostname: "lt-0042", OS: "Debian GNU/Linux 12", OSVersion: "12.5",
				OSInstallID: "b7e2c0a4f1d94c3e8a6f5d2c1b0a9e8f", Kind: immy.KindPortable,
			},
			// bob's ssh session is the newest; the greeter is no user.
			upns:   []string{"bob", "alice"},
			nSoft:  7,                                                                                                                       // installed only (not half-configured systemd); libc6 twice (multi-arch) counts once
			oneApp: immy.DetectedSoftware{Name: "openssh-server", Version: immy.MustParseVersion("1:9.2p1-2+deb12u2"), Publisher: "Debian"}, // its Origin,
		},
		{
			name: "rhel-vm",
			src:  &sysinfo.Source{Root: rhel, Command: fakeRPM(t, rhel, "testdata/linux/rhel-vm.rpm-qa.txt")},
			want: immy.Identity{
				UUID: "7E1A2B3C-4D5E-4F60-8172-839405162738", Manufacturer: "QEMU", Model: "Standard PC (Q35 + ICH9, 2009)",
				Hostname: "app01.corp.example", OS: "Red Hat Enterprise Linux 9.3", OSVersion: "9.3",
				OSInstallID: "0f2e4d6c8b0a4e2c9d7f1b3a5c7e9d0b", Kind: immy.KindServer, Domain: "corp.example",
			},
			upns:   []string{"svc-backup@corp.example", "root"},
			nSoft:  6, // gpg-pubkey left out, kernel twice counts once
			oneApp: immy.DetectedSoftware{Name: "vim-minimal", Version: immy.MustParseVersion("8.2.2637")},
		},
		{
			name: "samba-dc",
			src:  &sysinfo.Source{Root: abs("testdata/linux/samba-dc"), Command: noCommand(t)},
			want: immy.Identity{Hostname: "dc1.samdom.example.com", OS: "Ubuntu 22.04", OSVersion: "22.04", Kind: immy.KindDomainController, Domain: "samdom.example.com"},
		},
		{
			name: "windows-laptop",
			src:  &sysinfo.Source{Windows: loadSnapshot(t, "laptop")},
			want: immy.Identity{
				UUID: "4C4C4544-0058-4B10-8032-B7C04F513348", Serial: "7XK2QH3", Manufacturer: "Dell Inc.",
				Model: "Latitude 7440", Hostname: "LT-0042", OS: "Windows 11 Pro", OSVersion: "10.0.22631.3593",
				OSInstallID: "5f1d8c7e-3b2a-4e9f-9c1d-2a3b4c5d6e7f", Kind: immy.KindPortable, Domain: "CORP",
			},
			upns:  []string{"alice@corp.example", `CORP\helpdesk`},
			nSoft: 7, // not the system component, the update, nor the entry without a name
			oneApp: immy.DetectedSoftware{
				Name: "7-Zip 23.01 (x64 edition)", Version: immy.MustParseVersion("23.01.00.0"),
				ProductCode: "{23170F69-40C1-2702-2301-000001000000}", UpgradeCode: "{23170F69-40C1-2702-0000-000004000000}",
				Publisher: "Igor Pavlov", // the registry value Publisher
			},
		},
		{
			name: "windows-dc",
			src:  &sysinfo.Source{Windows: loadSnapshot(t, "dc")},
			want: immy.Identity{
				UUID: "7E1A2B3C-4D5E-4F60-8172-839405162738", Serial: "0000-0002-1234-5678-9012-3456-78", Manufacturer: "Microsoft Corporation",
				Model: "Virtual Machine", Hostname: "DC01", OS: "Windows Server 2022 Standard", OSVersion: "10.0.20348.2402",
				OSInstallID: "0b9e4f53-8a1c-4d2e-9f3b-7c6d5e4f3a2b", Kind: immy.KindPrimaryDomainController, Domain: "CORP",
			},
			nSoft:  1,
			oneApp: immy.DetectedSoftware{Name: "Microsoft Monitoring Agent", Version: immy.MustParseVersion("10.20.18069.0"), ProductCode: "{5A2B8D90-3C4E-4F61-8A7B-9C0D1E2F3A4B}"},
		},
		{
			name: "windows-server",
			src:  &sysinfo.Source{Windows: loadSnapshot(t, "server")},
			want: immy.Identity{
				UUID: "31393450-3736-5A43-4A31-323334414243", Serial: "CZJ1234ABC", Manufacturer: "HPE",
				Model: "ProLiant DL380 Gen10", Hostname: "SQL01", OS: "Windows Server 2019 Datacenter", OSVersion: "10.0.17763.5830",
				OSInstallID: "2c1d0e9f-8a7b-4c6d-5e4f-3a2b1c0d9e8f", Kind: immy.KindServer,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := tt.src.Inventory(t.Context())
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, inv.Identity); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.upns, inv.UPNs); diff != "" {
				t.Errorf("UPNs (-want +got):\n%s", diff)
			}
			require.Len(t, inv.Software, tt.nSoft)
			if tt.oneApp.Name != "" {
				found := false
				for _, s := range inv.Software {
					if s.Name == tt.oneApp.Name {
						found = true
						if diff := cmp.Diff(tt.oneApp, s, cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() })); diff != "" {
							t.Errorf("%s (-want +got):\n%s", s.Name, diff)
						}
					}
				}
				require.True(t, found, "%s not in the inventory", tt.oneApp.Name)
			}
			golden(t, tt.name+".json", inventoryJSON(t, inv))
		})
	}
}

// The real machine the test runs on: whatever it is, reading it must work,
// and on a Debian-based one dpkg itself is in the inventory.
func TestThisMachine(t *testing.T) {
	var src sysinfo.Source
	id, err := src.Identity(t.Context())
	require.NoError(t, err)
	host, err := os.Hostname()
	require.NoError(t, err)
	require.Equal(t, host, id.Hostname)
	sw, err := src.Software(t.Context())
	require.NoError(t, err)
	if _, err := os.Stat("/var/lib/dpkg/status"); err == nil {
		found := false
		for _, s := range sw {
			found = found || s.Name == "dpkg"
		}
		require.True(t, found, "dpkg is not in the inventory of a dpkg-based machine")
	}
	_, err = src.Logins(t.Context())
	require.NoError(t, err)
}

func TestBadFiles(t *testing.T) {
	root := t.TempDir()
	write := func(p, content string) {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(content), 0o644))
	}
	write("etc/os-release", "NAME=\"Debian\nthis is not a pair\n")
	write("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n\n broken continuation\nno colon here\n")
	write("run/utmp", "short")
	src := &sysinfo.Source{Root: root, Command: noCommand(t)}
	_, err := src.Inventory(t.Context())
	require.Error(t, err)
	for _, want := range []string{
		"os-release: line 1: NAME: unterminated \" quote",
		"line 2: want KEY=value",
		filepath.Join(root, "etc/os-release"),
		"dpkg status: line 5: continuation line outside a field",
		"line 6: want \"Field: value\", got \"no colon here\"",
		"utmp: 5 bytes is not a whole number of 384-byte records",
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestRPMFailure(t *testing.T) {
	root, err := filepath.Abs("testdata/linux/rhel-vm")
	require.NoError(t, err)
	src := &sysinfo.Source{Root: root, Command: func(context.Context, string, ...string) ([]byte, error) {
		return nil, errors.New("rpm: exit status 1: error: db5 error")
	}}
	_, err = src.Software(t.Context())
	require.ErrorContains(t, err, "sysinfo: rpm: rpm: exit status 1: error: db5 error")

	src.Command = func(context.Context, string, ...string) ([]byte, error) {
		return nil, fmt.Errorf("rpm: %w", exec.ErrNotFound)
	}
	sw, err := src.Software(t.Context())
	require.NoError(t, err, "an rpm database without rpm installed is no error")
	require.Empty(t, sw)
}

// TestNormalizeVersion checks the inventory's reading of real package and
// installer versions: the text is kept, the meaning (Canonical) read by the
// rules of immy.Version, and it agrees with the catalogue's reading.
func TestNormalizeVersion(t *testing.T) {
	tests := []struct{ product, raw, want string }{
		{"coreutils", "1.2.3", "1.2.3"},
		{"Adobe Acrobat Reader", "23.006.20320", "23.6.20320"},
		{"openssh-server (Debian)", "1:9.2p1-2+deb12u2", "9.2.p.1_2"},
		{"libc6 (Debian)", "2.36-9+deb12u7", "2.36_9"},
		{"firefox-esr (Debian)", "115.11.0esr-1~deb12u1", "115.11.esr_1"},
		{"a Debian pre-release", "1.0~rc2-1", "1-rc.2_1"},
		{"Zoom", "6.0.2 (37600)", "6.0.2+37600"},
		{"7-Zip", "25.01 (x64)", "25.1"},
		{"tzdata (Debian)", "2024a-0+deb12u1", "2024.a"},
		{"rclone", "v2.4.1", "2.4.1"},
		{"Microsoft.Git", "2.47.0.0.3", "2.47.0.0.3"},
		{"Adobe Acrobat (leading zeros)", "24.076.0414.0005", "24.76.414.5"},
		{"Git for Windows", "2.47.1.windows.2", "2.47.1.windows.2"},
		{"Python (registry)", "3.13.4150.0", "3.13.4150"},
		{"a resource version", "1,3,0,335", "1.3.0.335"},
		{"a commit hash", "fd431d51", ""},
		{"no version", "", ""},
		{"a number too large", "99999999999999999999999", ""},
	}
	for _, tt := range tests {
		t.Run(tt.product, func(t *testing.T) {
			v := sysinfo.NormalizeVersion(tt.raw)
			require.Equal(t, tt.want, v.Canonical(), tt.raw)
			if tt.want == "" {
				require.True(t, v.IsZero())
				return
			}
			require.Equal(t, tt.raw, v.String(), "the text is kept as written")
			c, err := immy.ParseVersion(tt.raw)
			require.NoError(t, err)
			require.True(t, c.Equal(v), "the catalogue reads %q as the inventory does", tt.raw)
		})
	}
}

func TestGUIDPacking(t *testing.T) {
	tests := []struct{ guid, packed string }{
		{"{23170F69-40C1-2702-2301-000001000000}", "96F071321C0420723210000010000000"},
		{"{90160000-008C-0000-1000-0000000FF1CE}", "00006109C80000000100000000F01FEC"},
	}
	for _, tt := range tests {
		p, ok := sysinfo.PackGUID(tt.guid)
		require.True(t, ok)
		require.Equal(t, tt.packed, p)
		g, ok := sysinfo.UnpackGUID(tt.packed)
		require.True(t, ok)
		require.Equal(t, tt.guid, g)
	}
	for _, bad := range []string{"", "96F07132", "ZZF071321C0420723210000010000000"} {
		_, ok := sysinfo.UnpackGUID(bad)
		require.False(t, ok, bad)
	}
	_, ok := sysinfo.PackGUID("{not-a-guid}")
	require.False(t, ok)
}

func TestParseSMBIOS(t *testing.T) {
	table, err := os.ReadFile("testdata/smbios/latitude.bin")
	require.NoError(t, err)
	got, err := sysinfo.ParseSMBIOS(table, 3, 4)
	require.NoError(t, err)
	want := sysinfo.SMBIOS{
		Manufacturer: "Dell Inc.", Product: "Latitude 7440", Serial: "7XK2QH3",
		UUID: "4C4C4544-0058-4B10-8032-B7C04F513348", SKU: "0C13", Family: "Latitude", ChassisType: 10,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Before SMBIOS 2.6 the UUID's bytes are in wire order.
	old, err := sysinfo.ParseSMBIOS(table, 2, 5)
	require.NoError(t, err)
	require.Equal(t, "44454C4C-5800-104B-8032-B7C04F513348", old.UUID)

	for _, tt := range []struct {
		name  string
		table []byte
		err   string
	}{
		{"truncated structure", table[:57], "runs past the table"},
		{"truncated strings", table[:30], "not terminated"},
		{"short header", []byte{1, 2, 0, 0, 0, 0}, "less than its 4-byte header"},
		{"unterminated strings", []byte{1, 4, 0, 0, 'a', 'b'}, "not terminated"},
		{"no system structure", []byte{127, 4, 0, 0, 0, 0}, "no system or enclosure structure"},
	} {
		_, err := sysinfo.ParseSMBIOS(tt.table, 3, 0)
		require.ErrorContains(t, err, tt.err, tt.name)
	}
}

func TestConsoleUser(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2024, 5, 13, h, 0, 0, 0, time.UTC) }
	ls := []sysinfo.Login{
		{User: "ssh-admin", Time: at(12), Active: true, Remote: true},
		{User: "alice", Time: at(8), Active: true, Graphical: true},
		{User: "tty-user", Time: at(10), Active: true},
	}
	got, ok := sysinfo.ConsoleUser(ls)
	require.True(t, ok)
	require.Equal(t, "alice", got.User)
	got, ok = sysinfo.ConsoleUser(ls[:1])
	require.True(t, ok)
	require.Equal(t, "ssh-admin", got.User, "a remote user is better than none")
	_, ok = sysinfo.ConsoleUser(nil)
	require.False(t, ok)
	require.Equal(t, []string{"ssh-admin", "tty-user", "alice"}, sysinfo.UPNs(append(ls, sysinfo.Login{User: "ALICE", Time: at(1)})))
}

func TestParseLogindSession(t *testing.T) {
	for _, tt := range []struct {
		in   string
		ok   bool
		want sysinfo.Login
		err  string
	}{
		{in: "USER=alice\nACTIVE=1\nTYPE=x11\nCLASS=user\nREALTIME=1715587090000000\n", ok: true,
			want: sysinfo.Login{User: "alice", Active: true, Graphical: true, Time: time.Unix(1715587090, 0).UTC()}},
		{in: "USER=gdm\nCLASS=greeter\n"},
		{in: "USER=alice\nSTATE=closing\n"},
		{in: "USER=alice\ngarbage\n", err: "line 2: want KEY=value"},
	} {
		got, ok, err := sysinfo.ParseLogindSession(strings.NewReader(tt.in))
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.ok, ok)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
	}
}

// TestInventoryPublisher checks where each package manager's publisher comes
// from: dpkg's Origin, else the Maintainer's name; rpm's Vendor.
func TestInventoryPublisher(t *testing.T) {
	dpkg := `Package: git-lfs
Status: install ok installed
Version: 3.3.0-1+b5
Maintainer: Debian Go Packaging Team <team+pkg-go@tracker.debian.org>

Package: code
Status: install ok installed
Version: 1.95.3-1733323290
Maintainer: Microsoft Corporation <vscode-linux@microsoft.com>
Origin: Microsoft

Package: local-tool
Status: install ok installed
Version: 1.0
`
	sw, err := sysinfo.ParseDpkgStatus(strings.NewReader(dpkg))
	require.NoError(t, err)
	got := map[string]string{}
	for _, s := range sw {
		got[s.Name] = s.Publisher
	}
	require.Equal(t, map[string]string{"git-lfs": "Debian Go Packaging Team", "code": "Microsoft", "local-tool": ""}, got)

	rpm := "git-lfs\t3.4.1\tFedora Project\nmy-tool\t1.0\t(none)\nold-format\t2.0\n"
	sw, err = sysinfo.ParseRPMQuery(strings.NewReader(rpm))
	require.NoError(t, err)
	got = map[string]string{}
	for _, s := range sw {
		got[s.Name] = s.Publisher
	}
	require.Equal(t, map[string]string{"git-lfs": "Fedora Project", "my-tool": "", "old-format": ""}, got)

	_, err = sysinfo.ParseRPMQuery(strings.NewReader("a\t1\tb\tc\n"))
	require.ErrorContains(t, err, `line 1: want "name<TAB>version<TAB>vendor"`)
}
