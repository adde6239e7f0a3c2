package fleetfile_test

import (
	"fmt"
	"os"
	"strings"
	"time"

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

// A program that takes an evaluation time beside a fleet file reads it as the
// file's at is read: an RFC 3339 time, or a date meaning midnight UTC.
func ExampleParseTime() {
	for _, s := range []string{"2026-12-07", "2026-12-07T10:30:00+01:00", "07/12/2026"} {
		t, err := fleetfile.ParseTime(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(t.UTC().Format(time.RFC3339))
	}
	// Output:
	// 2026-12-07T00:00:00Z
	// 2026-12-07T09:30:00Z
	// invalid time "07/12/2026": want RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)
}

// Checks run in the same pass as the structural rules: the typo on line 4
// does not hide what the check finds on line 7.
func ExampleConfig_LoadBytes() {
	noHQ := func(f *fleetfile.File) immy.Problems {
		var ps immy.Problems
		for i, d := range f.Fleet.Deployments {
			if strings.Contains(d.Target.Expr, `"hq"`) {
				ps = append(ps, immy.Problem{Section: "deployments", Index: i, ID: d.ID, Field: "target.expr", Message: "site hq was closed", Err: immy.ErrInvalid})
			}
		}
		return ps
	}
	src := `tenants: [{id: contoso}]
computers:
  - id: pc1
    tenat: contoso
software: [{id: app, name: App, detection: {display_name: App}}]
deployments:
  - {id: d1, item: app, desired: latest, target: {type: filter, expr: 'computer.attributes["site"] == "hq"'}}
`
	_, err := fleetfile.Config{Checks: []fleetfile.Check{noHQ}}.LoadBytes("fleet.yaml", []byte(src))
	fmt.Println(err)
	// Output:
	// fleet.yaml:3: computer "pc1": tenant: missing tenant
	// fleet.yaml:4: computer "pc1": unknown key "tenat" (did you mean "tenant"?)
	// fleet.yaml:7: deployment "d1": target.expr: site hq was closed
}
