package sysinfo_test

import (
	"fmt"
	"strings"

	"github.com/immyoss/engine/agent/sysinfo"
)

func ExampleParseOSRelease() {
	rel, err := sysinfo.ParseOSRelease(strings.NewReader(`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rel.Name())
	fmt.Println(rel["ID"], rel["VERSION_ID"])
	// Output:
	// Debian GNU/Linux 12
	// debian 12
}

func ExampleParseDpkgStatus() {
	status := `Package: openssh-server
Status: install ok installed
Version: 1:9.2p1-2+deb12u2
Description: secure shell (SSH) server
 for secure access from remote machines

Package: libreoffice-core
Status: deinstall ok config-files
Version: 4:7.4.7-1+deb12u2

Package: firefox-esr
Status: install ok installed
Version: 115.11.0esr-1~deb12u1
`
	sw, err := sysinfo.ParseDpkgStatus(strings.NewReader(status))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range sw {
		fmt.Println(s.Name, s.Version, s.Version.Canonical())
	}
	// Output:
	// firefox-esr 115.11.0esr-1~deb12u1 115.11.esr_1
	// openssh-server 1:9.2p1-2+deb12u2 9.2.p.1_2
}

func ExampleNormalizeVersion() {
	for _, raw := range []string{"23.006.20320", "1:2.36-9+deb12u7", "1.0~rc2-1", "6.0.2 (37600)", "Unknown"} {
		v := sysinfo.NormalizeVersion(raw)
		fmt.Printf("%q means %q\n", v, v.Canonical())
	}
	// Output:
	// "23.006.20320" means "23.6.20320"
	// "1:2.36-9+deb12u7" means "2.36_9"
	// "1.0~rc2-1" means "1-rc.2_1"
	// "6.0.2 (37600)" means "6.0.2+37600"
	// "" means ""
}

func ExampleUnpackGUID() {
	// A value name under HKLM\SOFTWARE\Classes\Installer\UpgradeCodes\...
	code, ok := sysinfo.UnpackGUID("96F071321C0420723210000010000000")
	fmt.Println(code, ok)
	// Output:
	// {23170F69-40C1-2702-2301-000001000000} true
}
