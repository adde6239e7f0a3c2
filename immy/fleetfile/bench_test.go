package fleetfile_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/immyoss/engine/immy/fleetfile"
)

// bigFleet writes a fleet of n computers over n/100 tenants, each computer
// with a few detected programs, and a handful of deployments.
func bigFleet(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\ntenants:\n")
	tenants := max(1, n/100)
	for i := range tenants {
		fmt.Fprintf(&b, "  - {id: t%d, name: Tenant %d, tags: [managed]}\n", i, i)
	}
	b.WriteString("computers:\n")
	for i := range n {
		fmt.Fprintf(&b, `  - id: pc%d
    tenant: t%d
    name: PC-%05d
    kind: workstation
    os: Windows 11 Pro
    online: true
    upns: [user%d@t%d.example]
    attributes: {site: hq}
    software:
      - {name: Google Chrome, version: 131.0.6778.86}
      - {name: Adobe Acrobat Reader DC, version: 23.006.20320}
`, i, i%tenants, i, i, i%tenants)
	}
	b.WriteString(`software:
  - {id: chrome, name: Google Chrome, detection: {display_name: Google Chrome}, versions: [{version: 131.0.6778.86}]}
  - {id: reader, name: Adobe Acrobat Reader DC, detection: {display_name: "Adobe Acrobat Reader*"}, versions: [{version: 24.001.20604}]}
deployments:
  - {id: d1, item: chrome, target: {type: all-computers}, desired: latest}
  - {id: d2, item: reader, target: {type: tag, tag: managed}, desired: latest}
`)
	return []byte(b.String())
}

func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{100, 10000} {
		data := bigFleet(n)
		b.Run(fmt.Sprintf("computers=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := (fleetfile.Config{}).LoadBytes("big.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	f, err := fleetfile.Config{}.LoadBytes("big.yaml", bigFleet(10000))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := fleetfile.Write(&buf, f.Fleet); err != nil {
			b.Fatal(err)
		}
	}
}
