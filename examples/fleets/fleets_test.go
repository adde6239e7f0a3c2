package fleets_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/examples/fleets"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func load(t *testing.T) *immy.Fleet {
	t.Helper()
	f, err := fleetfile.Config{}.LoadBytes(fleets.DefaultName, fleets.Default)
	require.NoError(t, err)
	return f.Fleet
}

// TestDefaultShowsTheDomain checks that the bundled fleet keeps the situations
// it exists to show.
func TestDefaultShowsTheDomain(t *testing.T) {
	f := load(t)
	require.GreaterOrEqual(t, len(f.Computers), 20)
	require.False(t, f.At.IsZero(), "a fixed evaluation time keeps plans of the example stable")

	hasParent := slices.ContainsFunc(f.Tenants, func(x immy.Tenant) bool { return x.Parent != "" })
	require.True(t, hasParent, "a parent and child tenant")
	kinds := map[immy.ComputerKind]bool{}
	withUPNs := 0
	for _, c := range f.Computers {
		kinds[c.Kind] = true
		if len(c.UPNs) > 0 {
			withUPNs++
		}
	}
	require.Len(t, kinds, 5, "every kind of computer")
	require.Positive(t, withUPNs)
	groupKinds := map[immy.GroupKind]bool{}
	for _, g := range f.Groups {
		groupKinds[g.Kind] = true
	}
	require.True(t, groupKinds[immy.GroupPersons] && groupKinds[immy.GroupComputers], "a user group and a computer group")
	dated := slices.ContainsFunc(f.Agreements, func(a immy.Agreement) bool { return !a.From.IsZero() && !a.To.IsZero() })
	require.True(t, dated, "agreements with dates")

	prereqs, fourPart := 0, false
	for _, s := range f.Software {
		prereqs += len(s.Prerequisites)
		for _, v := range s.Versions {
			fourPart = fourPart || v.Version.Segments()[3] != 0
		}
	}
	require.Positive(t, prereqs)
	require.True(t, fourPart, "a Windows-style four-part version")

	password := false
	for _, task := range f.Tasks {
		password = password || slices.ContainsFunc(task.Parameters, func(p immy.Parameter) bool { return p.Type == immy.ParamPassword })
	}
	require.True(t, password, "a task with a password parameter")

	seen := map[string]bool{}
	for _, d := range f.Deployments {
		seen["type:"+d.Target.Type.String()] = true
		if d.Desired != immy.DesiredUnset {
			seen["desired:"+d.Desired.String()] = true
		}
		seen["enforcement:"+d.Enforcement.String()] = true
		if d.Target.Expr == `computer.os startsWith "Windows 11" and computer.attributes["site"] == "hq"` {
			seen["the spec's filter"] = true
		}
	}
	for _, want := range []string{
		"type:computer", "type:tag", "type:client-group", "type:filter", "type:group", "type:person",
		"desired:uninstalled", "desired:ignored", "desired:this-version",
		"enforcement:onboarding", "the spec's filter",
	} {
		require.True(t, seen[want], "a deployment with %s", want)
	}
}

// TestDefaultHasNoPrerequisiteCycle walks the prerequisite graph (subjects and
// acted-on software, software- and version-level) depth first.
func TestDefaultHasNoPrerequisiteCycle(t *testing.T) {
	f := load(t)
	edges := map[string][]string{}
	for _, s := range f.Software {
		ps := slices.Clone(s.Prerequisites)
		for _, v := range s.Versions {
			ps = append(ps, v.Prerequisites...)
		}
		for _, p := range ps {
			for _, to := range append(slices.Clone(p.Subjects), p.On...) {
				if to != s.ID {
					edges[s.ID] = append(edges[s.ID], to)
				}
			}
		}
	}
	state := map[string]int{} // 1 on the path, 2 done
	var visit func(id string, path []string)
	visit = func(id string, path []string) {
		switch state[id] {
		case 1:
			t.Fatalf("prerequisite cycle: %v -> %s", path, id)
		case 2:
			return
		}
		state[id] = 1
		for _, n := range edges[id] {
			visit(n, append(path, id))
		}
		state[id] = 2
	}
	for _, s := range f.Software {
		visit(s.ID, nil)
	}
}

func TestDefaultGolden(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, fleetfile.Write(&b, load(t)))
	golden := "testdata/msp.golden.yaml"
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to create it")
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("Write of the bundled fleet differs from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}
}

func Example() {
	f, err := fleetfile.Config{}.LoadBytes(fleets.DefaultName, fleets.Default)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d tenants, %d computers, %d deployments\n", fleets.DefaultName, len(f.Fleet.Tenants), len(f.Fleet.Computers), len(f.Fleet.Deployments))
	// Output:
	// msp.yaml: 7 tenants, 21 computers, 23 deployments
}
