package fleetstore

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
	"github.com/immyoss/engine/resolver"
)

// BenchmarkApplyChanges writes 1,000 computers' inventories (their detected
// software, OS, online, last seen and a logon each) through the store in one
// batch on SQLite, in fleets of 1,000 and 100,000 computers. With
// read=each, the fleet of every revision is taken (Snapshot, as a session
// engine planning from the store does), so each write copies the
// computers of the one before; otherwise it takes them over.
//
//	go test -run '^$' -bench BenchmarkApplyChanges -benchmem ./session/fleetstore/
func BenchmarkApplyChanges(b *testing.B) {
	for _, bc := range []struct {
		fleet int
		sync  string
		read  bool
	}{{1000, "FULL", false}, {1000, "NORMAL", false}, {100_000, "FULL", false}, {100_000, "FULL", true}} {
		sync := bc.sync
		name := fmt.Sprintf("fleet=%d/sync=%s", bc.fleet, sync)
		if bc.read {
			name += "/read=each"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			f := immytest.Generate(immytest.FleetScale(bc.fleet))
			s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "immy.db"), Config{Synchronous: sync})
			require.NoError(b, err)
			defer s.Close()
			importFleet(b, s, f)
			batches := [2][]Inventory{}
			for k := range batches {
				for i, c := range f.Computers[:1000] {
					sw := make([]immy.DetectedSoftware, 0, len(c.Software)+1)
					sw = append(sw, c.Software...)
					sw = append(sw, immy.DetectedSoftware{Name: "Agent", Version: mustVersion(b, fmt.Sprintf("1.%d.%d", k, i)), Publisher: "Northpoint"})
					online := k == 0
					batches[k] = append(batches[k], Inventory{Computer: c.ID, Software: sw, OS: fmt.Sprintf("Windows 11 Pro 24H%d", k+1),
						Online: &online, LastSeen: time.Date(2026, 12, 7, 9, 0, i, 0, time.UTC), Logons: []string{fmt.Sprintf("user%d@example.com", i%7)}})
				}
			}
			require.Len(b, batches[0], 1000)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := s.PutInventory(ctx, batches[i%2]); err != nil {
					b.Fatal(err)
				}
				if bc.read {
					s.Snapshot()
				}
			}
		})
	}
}

// BenchmarkApplyDeploymentEdit applies one admin edit (a deployment's
// priority) to a fleet of 10,000 computers on SQLite: the whole fleet the
// edit makes is validated (immy's rules, filters, prerequisite cycles)
// before it lands.
//
//	go test -run '^$' -bench BenchmarkApplyDeploymentEdit -benchmem ./session/fleetstore/
func BenchmarkApplyDeploymentEdit(b *testing.B) {
	ctx := context.Background()
	f := immytest.Generate(immytest.FleetScale(10_000))
	s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "immy.db"), Config{})
	require.NoError(b, err)
	defer s.Close()
	importFleet(b, s, f)
	d := f.Deployments[0]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.Priority = i
		if _, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "bench", Ops: []Op{PutDeployment(d)}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreviewEdit previews one admin edit (a single-tenant
// deployment's desired state) on a fleet of 10,000 computers on SQLite:
// "whole" plans the fleet before and after (PreviewChange), "updated"
// updates a planner of the current revision and plans again what the edit
// touches (PreviewOn).
//
//	go test -run '^$' -bench BenchmarkPreviewEdit -benchmem ./session/fleetstore/
func BenchmarkPreviewEdit(b *testing.B) {
	ctx := context.Background()
	f := immytest.Generate(immytest.FleetScale(10_000))
	s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "immy.db"), Config{})
	require.NoError(b, err)
	defer s.Close()
	importFleet(b, s, f)
	i := slices.IndexFunc(f.Deployments, func(d immy.Deployment) bool {
		return d.Target.Tenant != "" && d.Desired != 0 && d.Desired != immy.DesiredUninstalled
	})
	require.GreaterOrEqual(b, i, 0)
	d := f.Deployments[i]
	d.Desired, d.Version = immy.DesiredUninstalled, immy.Version{}
	ch := Change{Base: s.Revision(), Actor: "bench", Ops: []Op{PutDeployment(d)}}
	b.Run("whole", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.PreviewChange(ctx, ch, resolver.Config{}, resolver.Session{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("updated", func(b *testing.B) {
		pl, err := s.Planned(ctx, resolver.Config{}, resolver.Session{})
		require.NoError(b, err)
		for b.Loop() {
			if _, _, err := s.PreviewOn(ctx, ch, pl); err != nil {
				b.Fatal(err)
			}
		}
	})
}
