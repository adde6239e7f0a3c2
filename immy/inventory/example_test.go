package inventory_test

import (
	"fmt"

	"github.com/immyoss/engine/immy/inventory"
)

func ExampleParse() {
	// What the Linux script prints on a machine with two packages.
	output := `#immy:inventory 1
#immy:section dpkg
Package: openssh-server
Status: install ok installed
Version: 1:9.2p1-2+deb12u2
Origin: 
Maintainer: Debian OpenSSH Maintainers <debian-ssh@lists.debian.org>

Package: curl
Status: install ok installed
Version: 7.88.1-10+deb12u5
Origin: Debian
Maintainer: Alessandro Ghedini <ghedo@debian.org>

#immy:end
`
	sw, err := inventory.Parse(output)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range sw {
		fmt.Printf("%s %s (%s)\n", s.Name, s.Version, s.Publisher)
	}
	// Output:
	// curl 7.88.1-10+deb12u5 (Debian)
	// openssh-server 1:9.2p1-2+deb12u2 (Debian OpenSSH Maintainers)
}

func ExamplePlatformOf() {
	for _, os := range []string{"Windows 11 Pro", "Debian GNU/Linux 12 (bookworm)", "macOS 14.5", ""} {
		p, ok := inventory.PlatformOf(os)
		fmt.Printf("%q: %q %v\n", os, p, ok)
	}
	// Output:
	// "Windows 11 Pro": "windows" true
	// "Debian GNU/Linux 12 (bookworm)": "linux" true
	// "macOS 14.5": "" false
	// "": "" false
}
