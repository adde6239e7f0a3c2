package fleetfile_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

func ExampleLoad() {
	src := `version: 1
tenants:
  - {id: contoso, name: Contoso}
computers:
  - {id: contoso-lt-01, tenant: contoso, kind: portable, os: Windows 11 Pro}
software:
  - id: adobe-reader
    name: Adobe Acrobat Reader DC
    detection: {display_name: "Adobe Acrobat Reader*"}
    versions: [{version: 24.001.20604}, {version: 23.006.20320}]
deployments:
  - {id: reader, item: adobe-reader, target: {type: all-computers}, desired: latest}
`
	f, err := fleetfile.Load("fleet.yaml", strings.NewReader(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	fleet := f.Fleet
	fmt.Println(len(fleet.Tenants), "tenant,", len(fleet.Computers), "computer,", len(fleet.Deployments), "deployment")
	fmt.Println("latest reader:", fleet.Software[0].Latest())
	// Output:
	// 1 tenant, 1 computer, 1 deployment
	// latest reader: 24.001.20604
}

func ExampleLoad_problems() {
	src := `version: 1
tenants:
  - {id: contoso, name: Contoso}
computers:
  - id: contoso-lt-01
    tenant: contoso
    kidn: portable
  - {id: contoso-lt-02, tenant: fabrikam, kind: laptop}
`
	_, err := fleetfile.Load("fleet.yaml", strings.NewReader(src))
	fmt.Println(err)
	// Output:
	// fleet.yaml:7: computer "contoso-lt-01": unknown key "kidn" (did you mean "kind"?)
	// fleet.yaml:8: computer "contoso-lt-02": kind: invalid computer kind "laptop" (want one of unknown, workstation, portable, server, domain-controller, primary-domain-controller)
	// fleet.yaml:8: computer "contoso-lt-02": tenant: unknown tenant "fabrikam"
}

func ExampleFile_Locate() {
	src := `tenants:
  - id: contoso
deployments:
  - id: reader
    item: adobe-reader
    target:
      type: filter
      expr: computer.os startsWith
    desired: latest
software:
  - {id: adobe-reader, name: Adobe Reader, detection: {display_name: "Adobe*"}}
`
	f, err := fleetfile.Load("fleet.yaml", strings.NewReader(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	// A later check (here, a filter compiler) names the field; Locate finds the line.
	p := immy.Problem{Section: "deployments", Index: 0, ID: "reader", Field: "target.expr", Message: "unexpected end of expression"}
	fmt.Println(f.Locate(p))
	// Output:
	// fleet.yaml:8: deployment "reader": target.expr: unexpected end of expression
}

func ExampleWrite() {
	fleet := &immy.Fleet{
		Tenants:   []immy.Tenant{{ID: "contoso", Name: "Contoso", Tags: []string{"vip"}}},
		Computers: []immy.Computer{{ID: "pc1", Tenant: "contoso", Kind: immy.KindWorkstation, UPNs: []string{"john@contoso.com"}}},
	}
	if err := fleetfile.Write(os.Stdout, fleet); err != nil {
		fmt.Println(err)
	}
	// Output:
	// version: 1
	// tenants:
	//   - id: contoso
	//     name: Contoso
	//     tags: [vip]
	// computers:
	//   - id: pc1
	//     tenant: contoso
	//     kind: workstation
	//     upns: [john@contoso.com]
}
