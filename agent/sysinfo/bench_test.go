package sysinfo_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/immyoss/engine/agent/sysinfo"
)

// A dpkg status database of 3000 packages, a large workstation's.
func BenchmarkParseDpkgStatus(b *testing.B) {
	var buf bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&buf, "Package: pkg-%04d\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:%d.%d.%d-1+deb12u1\nDescription: package number %d\n a longer description\n over two lines\n\n", i, i%7, i%13, i, i)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		sw, err := sysinfo.ParseDpkgStatus(bytes.NewReader(buf.Bytes()))
		if err != nil || len(sw) != 3000 {
			b.Fatal(len(sw), err)
		}
	}
}
