package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/plugins"
	"github.com/immyoss/engine/plugins/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Suite{
		Options: sdktest.Options{Config: map[string]string{"file": "testdata/psa.json"}},
		Ticket:  "T-1001",
	}.Run(t, &psa{})
}

func TestFileProblems(t *testing.T) {
	_, err := parse("bad.json", []byte(`{
  "clients": [{"id": "C-1"}, {"id": "C-1"}, {"id": ""}],
  "client_groups": [{"id": "g", "kind": "bundle", "agreements": [
    {"id": "A", "client": "C-9", "from": "2026-05-01", "to": "2026-04-30"},
    {"id": "A", "client": "C-1"}]}],
  "tickets": [{"id": "T", "client": "C-1", "person": {"name": "Nobody"}}]
}`))
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.EqualError(t, err, `psa-plugin: bad.json: 7 problem(s):
	clients[1].id: "C-1" is listed twice
	clients[2].id: is empty
	client_groups[0].kind: "bundle" is neither agreement-type nor product
	client_groups[0].agreements[0].client: "C-9" is not a client
	client_groups[0].agreements[0]: ends 2026-04-30, before it starts 2026-05-01
	client_groups[0].agreements[1].id: "A" is listed twice
	tickets[0].person: has neither upn nor email: invalid`)

	_, err = parse("syntax.json", []byte("{\n  \"clients\": [\n    {\"id\": 7}\n  ]\n}"))
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, "syntax.json: line 3, column")

	_, err = parse("typo.json", []byte(`{"client": []}`))
	require.ErrorContains(t, err, `unknown field "client"`)
}

func buildPlugin(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "psa-plugin")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", path, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	sum, err := plugins.FileSHA256(path)
	require.NoError(t, err)
	return path, sum
}

// TestLoadedByHost loads the real binary, turns its client groups into the
// fleet's agreements, looks a ticket up, and follows a change of the file.
func TestLoadedByHost(t *testing.T) {
	path, sum := buildPlugin(t)
	file := filepath.Join(t.TempDir(), "psa.json")
	orig, err := os.ReadFile("testdata/psa.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, orig, 0o644))

	m := plugins.NewManager(plugins.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HealthInterval: -1})
	defer m.Close()
	ctx := context.Background()
	in, err := m.Start(ctx, plugins.Spec{ID: "psa", Path: path, SHA256: sum, Config: map[string]string{"file": file}})
	require.NoError(t, err)
	require.Equal(t, []plugins.Capability{plugins.CapClientGroups, plugins.CapClients, plugins.CapTickets}, in.Info().Capabilities)

	groups, err := in.ClientGroups(ctx)
	require.NoError(t, err)
	clients := plugins.ClientMap{{Integration: "psa", Client: "C-100"}: "contoso", {Integration: "psa", Client: "C-200"}: "fabrikam"}
	agreements, unmapped := plugins.Agreements(groups, clients)
	require.Empty(t, unmapped)
	d := func(y int, m time.Month, day int) immy.Date { return immy.Date{Year: y, Month: m, Day: day} }
	if diff := cmp.Diff([]immy.Agreement{
		{ID: "psa:AG-1", Tenant: "contoso", ClientGroup: "psa:managed-security", From: d(2026, 1, 1), To: d(2026, 12, 31)},
		{ID: "psa:AG-2", Tenant: "fabrikam", ClientGroup: "psa:managed-security", From: d(2025, 1, 1), To: d(2025, 12, 31)},
		{ID: "psa:AG-3", Tenant: "fabrikam", ClientGroup: "psa:backup-plus", From: d(2026, 6, 1)},
	}, agreements); diff != "" {
		t.Errorf("agreements (-want +got):\n%s", diff)
	}
	today := d(2026, 11, 23)
	var active []string
	for _, a := range agreements {
		if a.ActiveOn(today) {
			active = append(active, a.ID)
		}
	}
	require.Equal(t, []string{"psa:AG-1", "psa:AG-3"}, active)

	tk, err := in.Ticket(ctx, "T-1001")
	require.NoError(t, err)
	require.Equal(t, plugins.Ticket{Integration: "psa", ID: "T-1001", Subject: "Acrobat Reader crashes on open", Client: "C-100",
		Person: &plugins.TicketPerson{UPN: "john@contoso.com", Name: "John Smith", Email: "john@contoso.com"}, Agent: "CONTOSO-LT-01"}, tk)
	fleet := &immy.Fleet{
		Persons:   []immy.Person{{ID: "john", Tenant: "contoso", UPN: "John@Contoso.com"}},
		Computers: []immy.Computer{{ID: "contoso-lt-01", Tenant: "contoso", Name: "CONTOSO-LT-01"}},
	}
	require.Equal(t, plugins.TicketContext{Ticket: tk, Tenant: "contoso", Person: "john", Computer: "contoso-lt-01"}, plugins.ResolveTicket(tk, fleet, clients))
	_, err = in.Ticket(ctx, "T-404")
	require.ErrorIs(t, err, immy.ErrNotFound)

	// A changed file is read again; an invalid one keeps the last good data.
	changed := []byte(`{"clients": [{"id": "C-100", "name": "Contoso"}, {"id": "C-300", "name": "Northwind"}]}`)
	require.NoError(t, os.WriteFile(file, changed, 0o644))
	require.NoError(t, os.Chtimes(file, time.Now().Add(time.Minute), time.Now().Add(time.Minute)))
	cl, err := in.Clients(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"C-100", "C-300"}, []string{cl[0].ID, cl[1].ID})

	require.NoError(t, os.WriteFile(file, []byte(`{"clients": [{"id": ""}]}`), 0o644))
	require.NoError(t, os.Chtimes(file, time.Now().Add(2*time.Minute), time.Now().Add(2*time.Minute)))
	err = in.Health(ctx)
	require.ErrorIs(t, err, plugins.ErrUnhealthy)
	require.ErrorContains(t, err, "clients[0].id: is empty")
	cl, err = in.Clients(ctx)
	require.NoError(t, err)
	require.Len(t, cl, 2)
}
