package immy_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/immyoss/engine/immy"
)

func ExampleParseVersion() {
	for _, s := range []string{"10.0.19045.3570", "23.006.20320", "3.1.4-beta.1", "v1.81.2", "3.13.0rc1", "25.01 (x64)", "1..2", "latest"} {
		v, err := immy.ParseVersion(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %v %q\n", v, v.Segments(), v.Prerelease())
	}
	// Output:
	// 10.0.19045.3570 [10 0 19045 3570] ""
	// 23.006.20320 [23 6 20320 0] ""
	// 3.1.4-beta.1 [3 1 4 0] "beta.1"
	// v1.81.2 [1 81 2 0] ""
	// 3.13.0rc1 [3 13 0 0] "rc.1"
	// 25.01 (x64) [25 1 0 0] ""
	// immy: version "1..2": unexpected "..2" after the version: invalid
	// immy: version "latest": no version: a version starts with a number: invalid
}

func ExampleVersion_Compare() {
	a := immy.MustParseVersion("10.0.19045.999")
	b := immy.MustParseVersion("10.0.19045.4000")
	fmt.Println(a.Compare(b), b.Compare(a), a.Less(b))

	// Leading zeros and missing segments do not count; the text is kept.
	c, d := immy.MustParseVersion("23.006.20320"), immy.MustParseVersion("23.6.20320.0")
	fmt.Println(c.Equal(d), c, d)

	// A pre-release comes before its release.
	vs := []immy.Version{
		immy.MustParseVersion("3.1.4"),
		immy.MustParseVersion("3.1.4-rc.1"),
		immy.MustParseVersion("3.1.4-beta.11"),
		immy.MustParseVersion("3.1.4-beta.2"),
	}
	slices.SortFunc(vs, immy.Version.Compare)
	fmt.Println(vs)
	// Output:
	// -1 1 true
	// true 23.006.20320 23.6.20320.0
	// [3.1.4-beta.2 3.1.4-beta.11 3.1.4-rc.1 3.1.4]
}

func ExampleVersion_Satisfies() {
	v := immy.MustParseVersion("14.38.33130")
	ok, err := v.Satisfies(">= 14.30, < 15")
	fmt.Println(ok, err)

	// Four segments and more take part.
	ok, err = immy.MustParseVersion("10.0.19045.3570").Satisfies("~10.0.19045")
	fmt.Println(ok, err)
	// Output:
	// true <nil>
	// true <nil>
}

func ExampleFleet_Validate() {
	f := &immy.Fleet{
		Tenants: []immy.Tenant{
			{ID: "msp"},
			{ID: "contoso", Parent: "msp"},
			{ID: "a", Parent: "b"},
			{ID: "b", Parent: "a"},
		},
		Computers: []immy.Computer{{ID: "pc1", Tenant: "contoso", Kind: immy.KindWorkstation}},
		Software: []immy.Software{{
			ID: "chrome", Name: "Google Chrome",
			Detection: immy.Detection{DisplayName: "Google Chrome*"},
			Versions:  []immy.SoftwareVersion{{Version: immy.MustParseVersion("119.0")}},
		}},
		Deployments: []immy.Deployment{
			{ID: "d1", Item: "chrome", Target: immy.Target{Type: immy.TargetComputer, Computer: "pc2"}, Desired: immy.DesiredLatest},
			{ID: "d2", Item: "chrome", Target: immy.Target{Type: immy.TargetAllComputers}, Desired: immy.DesiredThisVersion},
		},
	}
	err := f.Validate()
	fmt.Println(err)

	var cycle *immy.CycleError
	if errors.As(err, &cycle) {
		fmt.Println(cycle.Path)
	}
	fmt.Println(errors.Is(err, immy.ErrNotFound))
	// Output:
	// deployment "d1": target.computer: unknown computer "pc2"
	// deployment "d2": version: desired this-version needs a version
	// tenant "a": parent: tenant cycle: a -> b -> a
	// [a b a]
	// true
}
