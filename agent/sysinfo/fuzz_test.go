package sysinfo_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/immy"
)

func FuzzParseOSRelease(f *testing.F) {
	b, _ := os.ReadFile("testdata/linux/debian-laptop/etc/os-release")
	f.Add(string(b))
	f.Add("NAME='single'\nX=\"a\\\"b\"\n# c\n\n")
	f.Add("=\nA=\"\n")
	f.Fuzz(func(t *testing.T, s string) {
		rel, err := sysinfo.ParseOSRelease(strings.NewReader(s))
		if err != nil {
			if rel != nil {
				t.Fatal("a result beside an error")
			}
			return
		}
		_ = rel.Name()
	})
}

func FuzzParseDpkgStatus(f *testing.F) {
	b, _ := os.ReadFile("testdata/linux/debian-laptop/var/lib/dpkg/status")
	f.Add(b)
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1:2-3\n"))
	f.Add([]byte(" x\n:\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sw, err := sysinfo.ParseDpkgStatus(bytes.NewReader(b))
		if err != nil {
			return
		}
		for i := 1; i < len(sw); i++ {
			if strings.ToLower(sw[i-1].Name) > strings.ToLower(sw[i].Name) {
				t.Fatalf("not sorted: %q before %q", sw[i-1].Name, sw[i].Name)
			}
		}
	})
}

func FuzzParseRPMQuery(f *testing.F) {
	b, _ := os.ReadFile("testdata/linux/rhel-vm.rpm-qa.txt")
	f.Add(b)
	f.Add([]byte("a\tb\tc\n\t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = sysinfo.ParseRPMQuery(bytes.NewReader(b))
	})
}

func FuzzParseUtmp(f *testing.F) {
	b, _ := os.ReadFile("testdata/linux/debian-laptop/run/utmp")
	f.Add(b)
	f.Add(make([]byte, 384))
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, err := sysinfo.ParseUtmp(b)
		if err == nil && len(ls) > len(b)/384 {
			t.Fatalf("%d logins from %d records", len(ls), len(b)/384)
		}
	})
}

func FuzzParseLogindSession(f *testing.F) {
	b, _ := os.ReadFile("testdata/linux/debian-laptop/run/systemd/sessions/2")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = sysinfo.ParseLogindSession(bytes.NewReader(b))
	})
}

func FuzzParseSMBIOS(f *testing.F) {
	b, _ := os.ReadFile("testdata/smbios/latitude.bin")
	f.Add(b, 3, 4)
	f.Add([]byte{1, 4, 0, 0, 0, 0}, 2, 6)
	f.Add([]byte{3, 6, 0, 0, 1, 9, 'x', 0, 0}, 2, 0)
	f.Fuzz(func(t *testing.T, b []byte, major, minor int) {
		_, _ = sysinfo.ParseSMBIOS(b, major, minor)
	})
}

func FuzzNormalizeVersion(f *testing.F) {
	for _, s := range []string{"1:9.2p1-2+deb12u2", "1.0~rc2-1", "23.006.20320", "v1", "1.2.3.4.5.6", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := sysinfo.NormalizeVersion(s)
		w, err := immy.ParseVersion(s)
		if v.IsZero() {
			if err == nil {
				t.Fatalf("the catalogue reads %q, the inventory does not", s)
			}
			return
		}
		// the inventory and the catalogue read the same text the same
		if err != nil || !w.Equal(v) || w.Canonical() != v.Canonical() || v.String() != s {
			t.Fatalf("NormalizeVersion(%q) = %s, the catalogue %s (%v)", s, v.Canonical(), w.Canonical(), err)
		}
	})
}

func FuzzUnpackGUID(f *testing.F) {
	f.Add("96F071321C0420723210000010000000")
	f.Fuzz(func(t *testing.T, s string) {
		g, ok := sysinfo.UnpackGUID(s)
		if !ok {
			return
		}
		p, ok := sysinfo.PackGUID(g)
		if !ok || !strings.EqualFold(p, s) {
			t.Fatalf("UnpackGUID(%q) = %q, packs back to %q", s, g, p)
		}
	})
}
