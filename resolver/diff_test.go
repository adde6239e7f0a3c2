package resolver_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
)

// diffFleet is a small MSP before (edited false) and after an edit: Contoso's
// own Chrome deployment is deleted, 7-Zip on servers goes from uninstalled
// to ignored, and a computer joins Fabrikam.
func diffFleet(edited bool) *immy.Fleet {
	b := immytest.NewFleet().At("2026-11-23T10:00:00Z").
		Tenant("msp").
		Tenant("contoso", immytest.Parent("msp")).
		Tenant("fabrikam", immytest.Parent("msp")).
		Computer("contoso-pc-01", "contoso", immy.KindWorkstation, immytest.Installed("Google Chrome", "119.0.6045.105")).
		Computer("fabrikam-pc-01", "fabrikam", immy.KindWorkstation, immytest.Installed("Google Chrome", "119.0.6045.105")).
		Computer("fabrikam-srv-01", "fabrikam", immy.KindServer, immytest.Installed("7-Zip", "23.01")).
		Software("chrome", immytest.Name("Google Chrome"), immytest.Versions("120.0.6099.71", "131.0.6778.86")).
		Software("7zip", immytest.Name("7-Zip"), immytest.Versions("24.08")).
		Deploy("chrome-latest", "chrome", immytest.OnAllComputers())
	if !edited {
		b = b.Deploy("contoso-chrome-120", "chrome", immy.Target{Type: immy.TargetAllComputers, Tenant: "contoso"},
			immytest.DesiredVersion(immy.DesiredThisVersion, "120.0.6099.71")).
			Deploy("7zip-off-servers", "7zip", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterServers},
				immytest.Desired(immy.DesiredUninstalled))
	} else {
		b = b.Deploy("7zip-off-servers", "7zip", immy.Target{Type: immy.TargetAllComputers, Filter: immy.FilterServers},
			immytest.Desired(immy.DesiredIgnored)).
			Computer("fabrikam-pc-02", "fabrikam", immy.KindWorkstation, immytest.Installed("Google Chrome", "131.0.6778.86"))
	}
	return b.Build()
}

func plan(t *testing.T, f *immy.Fleet) *resolver.Plan {
	t.Helper()
	p, err := resolver.PlanFleet(context.Background(), f, resolver.Config{}, resolver.Session{})
	require.NoError(t, err)
	return p
}

// lines spells a diff one change a line, for tables.
func lines(d resolver.PlanDiff) []string {
	act := func(a *resolver.Action) string {
		if a == nil {
			return "-"
		}
		return fmt.Sprintf("%s %q by %q", a.Action, a.Version, a.Deployment)
	}
	var out []string
	for _, c := range d.Computers {
		head := c.ID
		switch {
		case c.Added:
			head += " (added)"
		case c.Removed:
			head += " (removed)"
		}
		if c.WasExcluded != c.Excluded {
			head += fmt.Sprintf(" (excluded %v -> %v)", c.WasExcluded, c.Excluded)
		}
		out = append(out, head)
		for _, x := range c.Decisions {
			out = append(out, fmt.Sprintf("  decision %s: %q (%s) -> %q (%s)", x.Item, x.OldWinner, x.OldDesired, x.NewWinner, x.NewDesired))
		}
		for _, x := range c.Actions {
			out = append(out, fmt.Sprintf("  action %s %s: %s -> %s", x.Item, x.Change, act(x.Old), act(x.New)))
		}
	}
	return out
}

func TestDiff(t *testing.T) {
	old, new := plan(t, diffFleet(false)), plan(t, diffFleet(true))
	tests := []struct {
		name     string
		old, new *resolver.Plan
		want     []string
	}{
		{"edit", old, new, []string{
			"contoso-pc-01",
			`  decision chrome: "contoso-chrome-120" (this-version) -> "chrome-latest" (latest)`,
			`  action chrome changed: update "120.0.6099.71" by "contoso-chrome-120" -> update "131.0.6778.86" by "chrome-latest"`,
			"fabrikam-pc-02 (added)",
			`  decision chrome: "" () -> "chrome-latest" (latest)`,
			`  action chrome added: - -> none "" by "chrome-latest"`,
			"fabrikam-srv-01",
			`  decision 7zip: "7zip-off-servers" (uninstalled) -> "7zip-off-servers" (ignored)`,
			`  action 7zip changed: uninstall "" by "7zip-off-servers" -> none "" by "7zip-off-servers"`,
		}},
		{"undo", new, old, []string{
			"contoso-pc-01",
			`  decision chrome: "chrome-latest" (latest) -> "contoso-chrome-120" (this-version)`,
			`  action chrome changed: update "131.0.6778.86" by "chrome-latest" -> update "120.0.6099.71" by "contoso-chrome-120"`,
			"fabrikam-pc-02 (removed)",
			`  decision chrome: "chrome-latest" (latest) -> "" ()`,
			`  action chrome removed: none "" by "chrome-latest" -> -`,
			"fabrikam-srv-01",
			`  decision 7zip: "7zip-off-servers" (ignored) -> "7zip-off-servers" (uninstalled)`,
			`  action 7zip changed: none "" by "7zip-off-servers" -> uninstall "" by "7zip-off-servers"`,
		}},
		{"same plan", old, old, nil},
		{"same fleet planned twice", old, plan(t, diffFleet(false)), nil},
		{"from nothing", nil, &resolver.Plan{Computers: []resolver.ComputerPlan{new.Computers[0]}}, []string{
			"contoso-pc-01 (added)",
			`  decision chrome: "" () -> "chrome-latest" (latest)`,
			`  action chrome added: - -> update "131.0.6778.86" by "chrome-latest"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := resolver.Diff(tt.old, tt.new)
			if diff := cmp.Diff(tt.want, lines(d)); diff != "" {
				t.Fatalf("diff (-want +got):\n%s", diff)
			}
			require.Equal(t, len(tt.want) == 0, d.Empty())
			if diff := cmp.Diff(d, resolver.Diff(tt.old, tt.new)); diff != "" {
				t.Fatalf("not deterministic:\n%s", diff)
			}
		})
	}
}

func TestDiffExclusion(t *testing.T) {
	f := diffFleet(false)
	g := diffFleet(false)
	g.Computers = append([]immy.Computer(nil), g.Computers...)
	g.Computers[1].ExcludedFromMaintenance = true // fabrikam-pc-01
	d := resolver.Diff(plan(t, f), plan(t, g))
	require.Equal(t, []string{
		"fabrikam-pc-01 (excluded false -> true)",
		`  decision chrome: "chrome-latest" (latest) -> "" ()`,
		`  action chrome removed: update "131.0.6778.86" by "chrome-latest" -> -`,
	}, lines(d))
}
