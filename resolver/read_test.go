package resolver

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// TestReadDetectedFromAsPlain pins the reader's shortcut for detected_from
// (only the actions the planner marked are explained) to the plain path:
// the choice among the inventory's entries worked out for every action whose
// detected version comes from the inventory.
func TestReadDetectedFromAsPlain(t *testing.T) {
	cfg := immytest.FleetScale(20_000)
	cfg.Computers = 500
	f := immytest.Generate(cfg)
	// choices to tell: publishers an inventory without them cannot confirm,
	// version maps, and entries that match twice
	for i := range f.Software {
		d := &f.Software[i].Detection
		switch i % 4 {
		case 1:
			d.Publishers = []string{"*"}
		case 2:
			d.VersionMap = []immy.VersionMapping{{Match: `^(\d+)\.(\d+)\.`, To: "$1.$2"}}
		}
	}
	for i := range f.Computers {
		if c := &f.Computers[i]; i%3 == 0 && len(c.Software) > 0 {
			again := c.Software[0]
			again.Version = immy.ParseInventoryVersion("0.9")
			c.Software = append(c.Software, again)
		}
	}
	p := newPlanner(t, f, Config{})
	plan, err := p.Plan(context.Background(), Session{})
	require.NoError(t, err)
	detected, told, marked := 0, 0, 0
	for i := range plan.Computers {
		c := &plan.Computers[i]
		acts, _ := c.decode(nil, nil)
		public := c.Actions()
		require.Len(t, public, len(acts), c.ID)
		for k := range acts {
			a := &acts[k]
			want := ""
			if a.detected != nil && a.dref&3 == refEntry {
				detected++
				want = p.cat.detectedFrom(a.item, f.Computers[c.comp].Software)
			}
			if a.tell {
				marked++
			}
			if want != "" {
				told++
				require.True(t, a.tell, "%s: %s has a choice to tell but is not marked", c.ID, public[k].Item)
			}
			require.Equal(t, want, public[k].DetectedFrom, "%s: %s", c.ID, public[k].Item)
		}
	}
	require.Positive(t, told, "the fleet must have choices of inventory entries to tell")
	require.Less(t, marked, detected, "the planner must spare the reader most detected actions")
	t.Logf("%d actions detected from the inventory, %d marked, %d told", detected, marked, told)
}

// TestReadDecisionsOwnTheirCandidates: the decisions a read returns share one
// block of candidates, each its own part: appending to one leaves the next
// one's alone.
func TestReadDecisionsOwnTheirCandidates(t *testing.T) {
	cfg := immytest.FleetScale(20_000)
	cfg.Computers = 200
	f := immytest.Generate(cfg)
	plan, err := PlanFleet(context.Background(), f, Config{}, Session{})
	require.NoError(t, err)
	checked := 0
	for i := range plan.Computers {
		ds := plan.Computers[i].Decisions()
		want := plan.Computers[i].Decisions()
		for k := 0; k+1 < len(ds); k++ {
			if len(ds[k].Candidates) == 0 || len(ds[k+1].Candidates) == 0 {
				continue
			}
			ds[k].Candidates = append(ds[k].Candidates, Lost{Deployment: "appended"})
			checked++
		}
		for k := range ds { // what was appended is its own decision's only
			n := len(want[k].Candidates)
			require.Empty(t, cmp.Diff(want[k].Candidates, ds[k].Candidates[:n]), plan.Computers[i].ID)
		}
	}
	require.Positive(t, checked)
}
