package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/pgtest"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session/fleetstore"
)

var fleetCmp = []cmp.Option{
	cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() }),
	cmpopts.EquateEmpty(),
}

// applySteps are the steps of the apply golden test: a first apply (dry,
// then for real), an edit of the file (dry, then for real), and the same
// file again.
var applySteps = []struct {
	golden string
	args   []string
}{
	{"msp-first-dry-run.txt", []string{"-f", mspFile, "--source", "fleet", "--dry-run"}},
	{"msp-first.txt", []string{"-f", mspFile, "--source", "fleet", "--actor", "alice"}},
	{"msp-edited-dry-run.json", []string{"-f", editedFile, "--source", "fleet", "--dry-run", "--json"}},
	{"msp-edited.txt", []string{"-f", editedFile, "--source", "fleet", "--actor", "bob"}},
	{"msp-edited-again.txt", []string{"-f", editedFile, "--source", "fleet"}},
}

// runApplySteps runs applySteps against the store at db and returns each
// step's output.
func runApplySteps(t *testing.T, db string) []string {
	t.Helper()
	var outs []string
	for _, st := range applySteps {
		code, out, errs := runCmd(append([]string{"apply", "--db", db}, st.args...)...)
		require.Equal(t, exitOK, code, "%s: stderr: %s", st.golden, errs)
		require.Empty(t, errs)
		outs = append(outs, out)
	}
	return outs
}

func TestApplyGolden(t *testing.T) {
	db := filepath.Join(t.TempDir(), "immy.db")
	outs := runApplySteps(t, db)
	for i, st := range applySteps {
		goldenAt(t, filepath.Join("testdata", "apply", st.golden), outs[i])
	}
	ctx := context.Background()
	s, err := fleetstore.OpenSQLite(ctx, db, fleetstore.Config{})
	require.NoError(t, err)
	defer s.Close()
	require.Equal(t, int64(2), s.Revision(), "a dry run and an apply of what the store holds write nothing")

	// A dry run on a new file previews against an empty store and leaves
	// no file behind.
	fresh := filepath.Join(t.TempDir(), "new.db")
	code, out, errs := runCmd("apply", "--db", fresh, "-f", mspFile, "--source", "fleet", "--dry-run")
	require.Equal(t, exitOK, code, errs)
	require.Equal(t, outs[0], out)
	_, err = os.Stat(fresh)
	require.ErrorIs(t, err, os.ErrNotExist)
	// fleet file -> store -> fleet equals the file's fleet (the computer the
	// edit added comes last in the store, created after the others)
	ff, err := loadFleet(editedFile, nil)
	require.NoError(t, err)
	byID := cmpopts.SortSlices(func(a, b immy.Computer) bool { return a.ID < b.ID })
	if diff := cmp.Diff(ff.Fleet, s.Fleet(), append(fleetCmp, byID)...); diff != "" {
		t.Fatalf("the store's fleet after apply (-file +store):\n%s", diff)
	}
	log, err := s.EntityLog(ctx, fleetstore.KindDeployment, "legacy-av-removed", fleetstore.Page{})
	require.NoError(t, err)
	require.Len(t, log, 2)
	require.Equal(t, []string{"alice create", "bob delete"}, []string{log[0].Actor + " " + log[0].Op, log[1].Actor + " " + log[1].Op})
}

// The preview of apply is the diff immyctl diff shows between the files,
// and a first apply makes the store hold the file's fleet exactly.
func TestApplyPreviewIsTheDiff(t *testing.T) {
	db := filepath.Join(t.TempDir(), "immy.db")
	code, _, errs := runCmd("apply", "--db", db, "-f", mspFile, "--source", "fleet")
	require.Equal(t, exitOK, code, errs)
	ff, err := loadFleet(mspFile, nil)
	require.NoError(t, err)
	s, err := fleetstore.OpenSQLite(context.Background(), db, fleetstore.Config{})
	require.NoError(t, err)
	if diff := cmp.Diff(ff.Fleet, s.Fleet(), fleetCmp...); diff != "" {
		t.Fatalf("fleet file -> store -> fleet (-file +store):\n%s", diff)
	}
	s.Close()
	code, out, errs := runCmd("apply", "--db", db, "-f", editedFile, "--source", "fleet", "--dry-run", "--json")
	require.Equal(t, exitOK, code, errs)
	var got struct {
		Computers []resolver.ComputerDiff
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	code, out, errs = runCmd("diff", "-f", mspFile, "-f", editedFile, "--json")
	require.Equal(t, exitOK, code, errs)
	var want struct {
		Computers []resolver.ComputerDiff
	}
	require.NoError(t, json.Unmarshal([]byte(out), &want))
	if diff := cmp.Diff(want.Computers, got.Computers); diff != "" {
		t.Fatalf("apply's preview (-diff +apply):\n%s", diff)
	}
}

// On PostgreSQL, the same steps print the same bytes.
func TestApplyPostgres(t *testing.T) {
	url := pgtest.Database(t)
	outs := runApplySteps(t, url)
	for i, st := range applySteps {
		goldenAt(t, filepath.Join("testdata", "apply", st.golden), outs[i])
	}
}

// An apply manages the admin's entities only: a computer an agent found,
// and the inventory agents report, are never overwritten, and an entity
// made by hand is never deleted.
func TestApplyLeavesAgentsAlone(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "immy.db")
	code, _, errs := runCmd("apply", "--db", db, "-f", mspFile, "--source", "fleet")
	require.Equal(t, exitOK, code, errs)

	s, err := fleetstore.OpenSQLite(ctx, db, fleetstore.Config{})
	require.NoError(t, err)
	defer s.Close()
	// An agent finds a computer the file will also name, and reports on
	// one of the file's; an admin adds a deployment by hand.
	found := immy.Computer{ID: "acme-office-02", Tenant: "acme", Name: "FOUND-BY-AGENT", Kind: immy.KindPortable}
	_, err = s.Apply(ctx, fleetstore.Change{Base: s.Revision(), Actor: "agent-server", Ops: []fleetstore.Op{fleetstore.PutComputer(found)}})
	require.NoError(t, err)
	byHand := s.Fleet().Deployments[0]
	byHand.ID = "by-hand"
	_, err = s.Apply(ctx, fleetstore.Change{Base: s.Revision(), Actor: "alice", Ops: []fleetstore.Op{fleetstore.PutDeployment(byHand)}})
	require.NoError(t, err)
	online := false
	_, err = s.PutInventory(ctx, []fleetstore.Inventory{
		{Computer: "acme-office-02", OS: "Windows 11 Enterprise", Online: &online},
		{Computer: "np-ws-01", OS: "Windows 12 Pro", Software: []immy.DetectedSoftware{}},
	})
	require.NoError(t, err)
	require.NoError(t, s.Refresh(ctx))
	before := s.Fleet()

	code, out, errs := runCmd("apply", "--db", db, "-f", editedFile, "--source", "fleet", "--json")
	require.Equal(t, exitOK, code, errs)
	var doc struct {
		Entities    []struct{ Op, Kind, ID string }
		Inventories []string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	for _, e := range doc.Entities {
		require.False(t, e.Kind == "computer" && e.ID == found.ID, "apply touches the found computer: %v", e)
		require.NotEqual(t, "by-hand", e.ID)
	}
	require.Empty(t, doc.Inventories, "the file's computer exists already: its inventory is the agent's")

	require.NoError(t, s.Refresh(ctx))
	after := s.Fleet()
	at := func(f *immy.Fleet, id string) immy.Computer {
		i := slices.IndexFunc(f.Computers, func(c immy.Computer) bool { return c.ID == id })
		require.GreaterOrEqual(t, i, 0, id)
		return f.Computers[i]
	}
	for _, id := range []string{"acme-office-02", "np-ws-01"} {
		if diff := cmp.Diff(at(before, id), at(after, id), fleetCmp...); diff != "" {
			t.Fatalf("apply changed %s (-before +after):\n%s", id, diff)
		}
	}
	require.True(t, slices.ContainsFunc(after.Deployments, func(d immy.Deployment) bool { return d.ID == "by-hand" }))
	require.False(t, slices.ContainsFunc(after.Deployments, func(d immy.Deployment) bool { return d.ID == "legacy-av-removed" }),
		"what an earlier apply created and the file dropped is deleted")
}

func TestApplyErrors(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "immy.db")
	code, _, errs := runCmd("apply", "--db", db, "-f", mspFile, "--source", "fleet")
	require.Equal(t, exitOK, code, errs)
	// An agent finds a computer of Acme: a file without Acme is refused,
	// where the store's computer would lose its tenant.
	s, err := fleetstore.OpenSQLite(ctx, db, fleetstore.Config{})
	require.NoError(t, err)
	_, err = s.Apply(ctx, fleetstore.Change{Base: s.Revision(), Actor: "agent-server", Ops: []fleetstore.Op{
		fleetstore.PutComputer(immy.Computer{ID: "found-01", Tenant: "acme", Name: "FOUND-01", Kind: immy.KindWorkstation})}})
	require.NoError(t, err)
	s.Close()
	noAcme := writeFile(t, `version: 1
tenants:
  - {id: northpoint, name: Northpoint}
deployments:
  - {id: d1, item: ghost, target: {type: all-computers}, desired: latest}
software:
  - {id: ghost, name: Ghost, detection: {display_name: Ghost}, versions: [{version: "1.0"}]}
`)

	tests := []struct {
		name string
		args []string
		code int
		want []string
		not  []string
	}{
		{"no db", []string{"apply", "-f", mspFile}, exitInvalid, []string{"missing --db"}, nil},
		{"no file", []string{"apply", "--db", db}, exitInvalid, []string{"missing -f FILE"}, nil},
		{"stdin without source", []string{"apply", "--db", db, "-f", "-"}, exitInvalid, []string{"needs --source NAME"}, nil},
		{"format", []string{"apply", "--db", db, "-f", mspFile, "--format", "xml"}, exitInvalid, []string{`unknown format "xml"`}, nil},
		{"invalid file", []string{"apply", "--db", db, "-f", writeFile(t, "version: 1\ncomputers:\n  - {id: pc1, tenant: nowhere}\n")},
			exitInvalid, []string{`:3: computer "pc1": tenant: unknown tenant "nowhere"`}, nil},
		{"refused by the store", []string{"apply", "--db", db, "-f", noAcme, "--source", "fleet"}, exitInvalid,
			[]string{`(store): computer "found-01": tenant: unknown tenant "acme"`, "nothing applied"}, nil},
		{"password never printed", []string{"apply", "--db", "postgres://immy:s3cr3t-pw@127.0.0.1:1/immy?connect_timeout=2", "-f", mspFile},
			exitFailure, []string{"immyctl apply:"}, []string{"s3cr3t-pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := storeDump(t, db)
			code, out, errs := runCmd(tt.args...)
			require.Equal(t, tt.code, code, "stderr: %s", errs)
			require.Empty(t, out, "nothing is half-printed")
			for _, w := range tt.want {
				require.Contains(t, errs, w)
			}
			for _, w := range tt.not {
				require.NotContains(t, errs, w)
			}
			require.Equal(t, before, storeDump(t, db), "nothing applied")
		})
	}
}

// storeDump is the fleet and revision of the store at db.
func storeDump(t *testing.T, db string) string {
	t.Helper()
	s, err := fleetstore.OpenSQLite(context.Background(), db, fleetstore.Config{})
	require.NoError(t, err)
	defer s.Close()
	f, rev := s.Snapshot()
	b, err := json.Marshal(f)
	require.NoError(t, err)
	return fmt.Sprintf("%s at revision %d", b, rev)
}
