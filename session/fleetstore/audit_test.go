package fleetstore

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestAudit(t *testing.T) {
	ctx := context.Background()
	src := mspFleet(t)
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	for _, b := range backends(t, Config{Now: now}) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			importFleet(t, s, src)
			d := deployment(s.Fleet(), "local-admin-fabrikam")
			require.Equal(t, "Sup3r-S3cret!", d.Parameters["password"], "the fleet keeps the secret")

			// alice rotates the password and renames the account; a task
			// gets a password with a default.
			d.Parameters = map[string]any{"username": "fabadmin2", "password": "N3w-S3cret!"}
			task := immy.Task{ID: "wifi", Name: "Wi-Fi profile", Parameters: []immy.Parameter{
				{Name: "ssid", Type: immy.ParamText, Default: "office"},
				{Name: "psk", Type: immy.ParamPassword, Default: "Wifi-S3cret!"}},
				Script: &immy.Script{Language: immy.LanguagePowerShell, Body: "netsh wlan add profile"}}
			rev, err := s.Apply(ctx, Change{Base: s.Revision(), Actor: "alice@northpoint", Ops: []Op{PutDeployment(d), PutTask(task)}})
			require.NoError(t, err)
			_, err = s.Apply(ctx, Change{Base: rev, Actor: "bob@northpoint", Ops: []Op{Delete(KindDeployment, d.ID)}})
			require.NoError(t, err)

			log, err := s.EntityLog(ctx, KindDeployment, d.ID, Page{})
			require.NoError(t, err)
			require.Len(t, log, 3)
			type summary struct {
				Actor, Op, Tenant string
				Revision          int64
				Before, After     bool
			}
			var got []summary
			for _, e := range log {
				require.True(t, at.Equal(e.At), "entry time %v", e.At)
				require.Equal(t, KindDeployment, e.Kind)
				require.Equal(t, d.ID, e.ID)
				got = append(got, summary{e.Actor, e.Op, e.Tenant, e.Revision, e.Before != nil, e.After != nil})
				for _, doc := range []json.RawMessage{e.Before, e.After} {
					for _, secret := range []string{"Sup3r-S3cret!", "N3w-S3cret!"} {
						require.NotContains(t, string(doc), secret)
					}
				}
			}
			want := []summary{
				{"import", "create", "fabrikam", 1, false, true},
				{"alice@northpoint", "update", "fabrikam", rev, true, true},
				{"bob@northpoint", "delete", "fabrikam", rev + 1, true, false},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("log (-want +got):\n%s", diff)
			}
			var after struct {
				Parameters map[string]any `json:"parameters"`
			}
			require.NoError(t, json.Unmarshal(log[1].After, &after))
			require.Equal(t, map[string]any{"username": "fabadmin2", "password": Redacted}, after.Parameters)
			require.NoError(t, json.Unmarshal(log[1].Before, &after))
			require.Equal(t, map[string]any{"username": "fabadmin", "password": Redacted}, after.Parameters)

			tl, err := s.EntityLog(ctx, KindTask, "wifi", Page{})
			require.NoError(t, err)
			require.Len(t, tl, 1)
			require.NotContains(t, string(tl[0].After), "Wifi-S3cret!")
			require.Contains(t, string(tl[0].After), `"default":"office"`)
			require.Contains(t, string(tl[0].After), `"default":"`+Redacted+`"`)

			// The tenant's log, page by page, holds what belongs to fabrikam.
			var all []Entry
			for p := (Page{Limit: 4}); ; {
				page, err := s.TenantLog(ctx, "fabrikam", p)
				require.NoError(t, err)
				if len(page) == 0 {
					break
				}
				require.LessOrEqual(t, len(page), 4)
				all = append(all, page...)
				p.After = page[len(page)-1].Seq
			}
			var fab int
			for _, c := range src.Computers {
				if c.Tenant == "fabrikam" {
					fab++
				}
			}
			require.Greater(t, len(all), fab+2)
			for i, e := range all {
				require.True(t, e.Tenant == "fabrikam" || e.TenantBefore == "fabrikam", "%+v", e)
				if i > 0 {
					require.Greater(t, e.Seq, all[i-1].Seq)
				}
			}
			require.Equal(t, "delete", all[len(all)-1].Op)

			// Nothing of any entry holds a secret.
			rows, err := s.db.Query(`SELECT COALESCE(before, '') || COALESCE(after, '') FROM immy_fleet_audit`)
			require.NoError(t, err)
			defer rows.Close()
			for rows.Next() {
				var doc string
				require.NoError(t, rows.Scan(&doc))
				for _, secret := range []string{"Sup3r-S3cret!", "N3w-S3cret!", "Wifi-S3cret!"} {
					require.False(t, strings.Contains(doc, secret), "audit holds a secret: %s", doc)
				}
			}
			require.NoError(t, rows.Err())
		})
	}
}
