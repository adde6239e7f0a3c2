package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/examples/fleets"
	"github.com/immyoss/engine/immy/fleetfile"
)

// TestExplainTenantScope: a tenant-user (contoso) explaining any item of
// the bundled fleet on any of its computers never sees another tenant's
// deployments, ids or names; another tenant's private item is answered
// 404 exactly as an unknown one. An admin still sees every deployment.
func TestExplainTenantScope(t *testing.T) {
	e := newEnv(t)
	ff, err := fleetfile.Load(fleets.DefaultName, bytes.NewReader(fleets.Default))
	require.NoError(t, err)
	f := ff.Fleet
	const own = "contoso"

	var forbidden []string // quoted ids and names of other tenants, other tenants' deployment ids
	for _, tn := range f.Tenants {
		if tn.ID != own {
			forbidden = append(forbidden, `"`+tn.ID+`"`, `\"`+tn.ID+`\"`, tn.Name)
		}
	}
	for _, d := range f.Deployments {
		if d.Target.Tenant != "" && d.Target.Tenant != own {
			forbidden = append(forbidden, `"`+d.ID+`"`)
		}
	}
	private := map[string]string{} // item -> owner
	var items []string
	for _, s := range f.Software {
		items = append(items, s.ID)
		private[s.ID] = s.Tenant
	}
	for _, k := range f.Tasks {
		items = append(items, k.ID)
		private[k.ID] = k.Tenant
	}
	// an item private to fabrikam (the bundled fleet's private items are
	// all contoso's), made as contoso's ERP is
	var erp Envelope
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/software/contoso-erp", "", &erp))
	var sw map[string]any
	require.NoError(t, json.Unmarshal(erp.Data, &sw))
	require.Equal(t, own, sw["tenant"])
	sw["id"], sw["name"], sw["tenant"] = "fabrikam-ledger", "Ledger", "fabrikam"
	data, err := json.Marshal(map[string]any{"data": sw})
	require.NoError(t, err)
	code, b := e.raw(t, "admin", "POST", "/api/software", string(data))
	require.Equal(t, 201, code, "%s", b)
	items = append(items, "fabrikam-ledger")
	private["fabrikam-ledger"] = "fabrikam"
	forbidden = append(forbidden, "Ledger") // its id the 404 echoes, as for an unknown item

	var computers []string
	for _, c := range f.Computers {
		if c.Tenant == own {
			computers = append(computers, c.ID)
		}
	}
	require.NotEmpty(t, computers)

	_, unknown := e.raw(t, "tenant", "GET", "/api/computers/contoso-lt-01/plan?explain=no-such-item", "")
	hidden, shown, dropped := 0, 0, 0
	for _, c := range computers {
		for _, item := range items {
			path := "/api/computers/" + c + "/plan?explain=" + item
			code, b := e.raw(t, "tenant", "GET", path, "")
			if owner := private[item]; owner != "" && owner != own {
				hidden++
				require.Equal(t, 404, code, "%s: %s", path, b)
				require.Equal(t, string(unknown), strings.ReplaceAll(string(b), item, "no-such-item"), "%s: 404 unlike an unknown item's", path)
			} else {
				shown++
				require.Equal(t, 200, code, "%s: %s", path, b)
			}
			for _, s := range forbidden {
				require.NotContains(t, string(b), s, "%s names another tenant", path)
			}
			var tenantReply, adminReply PlanReply
			if code == 200 {
				require.NoError(t, json.Unmarshal(b, &tenantReply))
				require.Equal(t, 200, e.do(t, "admin", "GET", path, "", &adminReply))
				dropped += len(adminReply.Explanation.NotCandidates) - len(tenantReply.Explanation.NotCandidates)
				require.Equal(t, adminReply.Explanation.Candidates, tenantReply.Explanation.Candidates, path)
				require.Equal(t, adminReply.Explanation.Winner, tenantReply.Explanation.Winner, path)
			}
		}
	}
	// the finding's own example, and that the test reached both branches
	require.Positive(t, hidden, "the bundled fleet has no item private to another tenant")
	require.Positive(t, shown)
	require.Positive(t, dropped, "no other tenant's deployment was ever dropped")
	require.Equal(t, 200, e.do(t, "admin", "GET", "/api/computers/contoso-lt-01/plan?explain=fabrikam-ledger", "", nil))
	code, b = e.raw(t, "admin", "GET", "/api/computers/contoso-lt-01/plan?explain=edr-agent", "")
	require.Equal(t, 200, code)
	require.Contains(t, string(b), "edr-fabrikam-servers", "the admin's explanation lost a deployment")
	code, b = e.raw(t, "tenant", "GET", "/api/computers/contoso-lt-01/plan?explain=edr-agent", "")
	require.Equal(t, 200, code)
	require.NotContains(t, string(b), "fabrikam")
}
