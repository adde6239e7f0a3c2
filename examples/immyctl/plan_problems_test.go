package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// problemsFleet: on pc-two (two tags) the filter of the "uninstalled"
// deployment fails at run time; the item is held there, not installed by
// the "latest" one, and everything else plans.
const problemsFleet = `version: 1
at: 2026-11-23T10:00:00Z
tenants:
  - {id: t, name: T}
computers:
  - {id: pc-four, tenant: t, name: PC-FOUR, kind: workstation, tags: [a, b, c, d], software: [{name: App, version: "1.0"}]}
  - {id: pc-two, tenant: t, name: PC-TWO, kind: workstation, tags: [a, b], software: [{name: App, version: "1.0"}]}
software:
  - {id: app, name: App, detection: {display_name: "App"}, versions: [{version: "2.0"}]}
  - {id: tool, name: Tool, detection: {display_name: "Tool"}, versions: [{version: "1.0"}]}
deployments:
  - {id: latest, item: app, target: {type: all-computers}, desired: latest}
  - id: remove-on-d
    item: app
    target: {type: filter, expr: 'computer.tags[3] == "d"'}
    desired: uninstalled
  - {id: tool, item: tool, target: {type: all-computers}, desired: latest}
`

func TestPlanListsProblemsAndExitsZero(t *testing.T) {
	path := writeFleet(t, problemsFleet)
	wantErr := "immyctl plan: 1 problem held or refused part of the plan; the rest is planned:\n" +
		path + `:15: computer "pc-two": item "app": deployment "remove-on-d": held: its expr filter failed: `

	code, out, errs := runCmd("plan", "-f", path)
	require.Equal(t, exitOK, code, errs)
	require.True(t, strings.HasPrefix(errs, wantErr), "stderr:\n%s", errs)
	require.Contains(t, errs, "out of range")
	require.Equal(t, 2, strings.Count(errs, "\n"), "one problem, one line")
	require.Contains(t, out, "pc-two\n  decisions:\n    tool  tool  latest\n")
	require.Contains(t, out, "  problems:\n    filter-error  app  remove-on-d  "+path+":15: held: its expr filter failed: ")
	require.Contains(t, out, "uninstall  app", "where the filter works it decides")

	code, out, errs = runCmd("plan", "-f", path, "--format", "json")
	require.Equal(t, exitOK, code, errs)
	require.True(t, strings.HasPrefix(errs, wantErr))
	var doc struct {
		Computers []struct {
			ID        string `json:"id"`
			Decisions []struct {
				Item string `json:"item"`
			} `json:"decisions"`
			Problems []struct {
				Kind, Computer, Item, Deployment, File, Message string
				Line                                            int
			} `json:"problems"`
		} `json:"computers"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Len(t, doc.Computers, 2)
	require.Empty(t, doc.Computers[0].Problems)
	two := doc.Computers[1]
	require.Len(t, two.Decisions, 1)
	require.Equal(t, "tool", two.Decisions[0].Item)
	require.Len(t, two.Problems, 1)
	p := two.Problems[0]
	require.Equal(t, []any{"filter-error", "pc-two", "app", "remove-on-d", path, 15},
		[]any{p.Kind, p.Computer, p.Item, p.Deployment, p.File, p.Line})

	// One computer: the same problem; a computer without any: silence.
	code, _, errs = runCmd("plan", "-f", path, "--computer", "pc-two")
	require.Equal(t, exitOK, code)
	require.True(t, strings.HasPrefix(errs, wantErr))
	code, _, errs = runCmd("plan", "-f", path, "--computer", "pc-four")
	require.Equal(t, exitOK, code)
	require.Empty(t, errs)
}
