package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/immyoss/engine/examples/immy-server/internal/api"
	"github.com/immyoss/engine/resolver"
)

// The choices of the deployment editor, as the fleet file spells them.
var (
	targetTypes   = []string{"all-computers", "computer", "person", "tag", "group", "filter", "client-group", "device-group", "all-tenants", "tenant", "tenant-tag"}
	desiredStates = []string{"latest", "this-version", "newer-or-equal", "older-or-equal", "any-version", "update-if-found", "uninstalled", "ignored"}
	taskModes     = []string{"enforce", "audit", "monitor", "ignored"}
)

type deploymentRow struct {
	ID, Item, Target, Tenant, Desired string
}

func (c *Console) deployments(w http.ResponseWriter, r *http.Request, s *webSession) {
	var l entityList
	if err := c.api(r.Context(), s, "GET", "/api/deployments?limit=1000", nil, &l); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var rows []deploymentRow
	for _, e := range l.Items {
		var d struct {
			ID, Item, Desired, Mode string
			Target                  struct{ Type, Tenant string }
		}
		_ = json.Unmarshal(e.Data, &d)
		des := d.Desired
		if des == "" {
			des = d.Mode
		}
		rows = append(rows, deploymentRow{ID: d.ID, Item: d.Item, Target: d.Target.Type, Tenant: d.Target.Tenant, Desired: des})
	}
	c.render(w, r, http.StatusOK, "deployments", s, map[string]any{"Rows": rows, "Total": l.Total})
}

// editor is the deployment editor's form.
type editor struct {
	ID, Item, TargetType, Tenant, Language, Filter, Desired, Mode string
	Revision                                                      int64
	IsTask                                                        bool
	TargetTypes, DesiredStates, TaskModes                         []string
	Compile                                                       *filterReply
	WhatIf                                                        *whatIf
	Error                                                         string
}

// whatIf sums up a change's diff.
type whatIf struct {
	Computers, Install, Update, Uninstall, Other, WinnerChanged int
	Rows                                                        []whatIfRow
}

type whatIfRow struct {
	Computer string
	Changes  []string
}

func summarise(d *resolver.PlanDiff) *whatIf {
	out := &whatIf{}
	if d == nil {
		return out
	}
	for _, cd := range d.Computers {
		row := whatIfRow{Computer: cd.ID}
		for _, dd := range cd.Decisions {
			if dd.OldWinner != dd.NewWinner {
				out.WinnerChanged++
				row.Changes = append(row.Changes, dd.Item+": winner "+orNone(dd.OldWinner)+" → "+orNone(dd.NewWinner))
			} else {
				row.Changes = append(row.Changes, dd.Item+": desired "+dd.OldDesired+" → "+dd.NewDesired)
			}
		}
		for _, ad := range cd.Actions {
			var kind resolver.ActionKind
			if ad.New != nil {
				kind = ad.New.Action
			}
			switch {
			case ad.New == nil:
				out.Other++
				row.Changes = append(row.Changes, ad.Item+": no action any more")
				continue
			case kind == resolver.ActionInstall:
				out.Install++
			case kind == resolver.ActionUpdate:
				out.Update++
			case kind == resolver.ActionUninstall:
				out.Uninstall++
			default:
				out.Other++
			}
			row.Changes = append(row.Changes, ad.Item+": "+kind.String()+" ("+ad.New.Reason+")")
		}
		if len(row.Changes) > 0 || cd.Added || cd.Removed || cd.Excluded != cd.WasExcluded {
			out.Computers++
			out.Rows = append(out.Rows, row)
		}
	}
	sort.Slice(out.Rows, func(i, j int) bool { return out.Rows[i].Computer < out.Rows[j].Computer })
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (c *Console) loadDeployment(r *http.Request, s *webSession, id string) (map[string]any, int64, error) {
	var e entity
	if err := c.api(r.Context(), s, "GET", "/api/deployments/"+url.PathEscape(id), nil, &e); err != nil {
		return nil, 0, err
	}
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return nil, 0, err
	}
	return m, e.Revision, nil
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func editorOf(id string, m map[string]any, rev int64) *editor {
	t, _ := m["target"].(map[string]any)
	if t == nil {
		t = map[string]any{}
	}
	ed := &editor{ID: id, Item: str(m, "item"), TargetType: str(t, "type"), Tenant: str(t, "tenant"), Desired: str(m, "desired"), Mode: str(m, "mode"), Revision: rev, Language: "expr", Filter: str(t, "expr")}
	if l := str(t, "lua"); l != "" {
		ed.Language, ed.Filter = "lua", l
	}
	ed.IsTask = ed.Mode != ""
	return ed
}

func (ed *editor) choices() *editor {
	ed.TargetTypes, ed.DesiredStates, ed.TaskModes = targetTypes, desiredStates, taskModes
	return ed
}

func (c *Console) deployment(w http.ResponseWriter, r *http.Request, s *webSession) {
	id := r.PathValue("id")
	m, rev, err := c.loadDeployment(r, s, id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "deployment", s, editorOf(id, m, rev).choices())
}

// saveDeployment previews (do=preview) or saves (do=save) the edit.
func (c *Console) saveDeployment(w http.ResponseWriter, r *http.Request, s *webSession) {
	id := r.PathValue("id")
	m, _, err := c.loadDeployment(r, s, id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	rev, _ := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	ed := &editor{ID: id, Item: str(m, "item"), TargetType: r.PostFormValue("target_type"), Tenant: strings.TrimSpace(r.PostFormValue("tenant")),
		Language: r.PostFormValue("language"), Filter: r.PostFormValue("filter"), Desired: r.PostFormValue("desired"), Mode: r.PostFormValue("mode"), Revision: rev}
	ed.IsTask = str(m, "mode") != ""
	t, _ := m["target"].(map[string]any)
	if t == nil {
		t = map[string]any{}
	}
	t["type"] = ed.TargetType
	setOrDelete(t, "tenant", ed.Tenant)
	delete(t, "expr")
	delete(t, "lua")
	if ed.TargetType == "filter" {
		cr := compile(ed.Language, ed.Filter)
		ed.Compile = &cr
		if !cr.OK {
			c.render(w, r, http.StatusUnprocessableEntity, "deployment", s, ed.choices())
			return
		}
		t[ed.Language] = ed.Filter
	}
	m["target"] = t
	if ed.IsTask {
		setOrDelete(m, "mode", ed.Mode)
	} else {
		setOrDelete(m, "desired", ed.Desired)
	}
	data, _ := json.Marshal(m)
	if r.PostFormValue("do") == "save" {
		if err := c.api(r.Context(), s, "PUT", "/api/deployments/"+url.PathEscape(id), map[string]any{"revision": rev, "data": json.RawMessage(data)}, nil); err != nil {
			ed.Error = err.Error()
			c.render(w, r, http.StatusUnprocessableEntity, "deployment", s, ed.choices())
			return
		}
		http.Redirect(w, r, "/console/deployments/"+url.PathEscape(id)+"?flash="+url.QueryEscape("Saved."), http.StatusSeeOther)
		return
	}
	var reply api.ChangeReply
	body := map[string]any{"revision": rev, "ops": []map[string]any{{"op": "put", "kind": "deployment", "id": id, "data": json.RawMessage(data)}}}
	if err := c.api(r.Context(), s, "POST", "/api/changes?dry_run=true", body, &reply); err != nil {
		ed.Error = err.Error()
		c.render(w, r, http.StatusUnprocessableEntity, "deployment", s, ed.choices())
		return
	}
	ed.WhatIf = summarise(reply.Diff)
	c.render(w, r, http.StatusOK, "deployment", s, ed.choices())
}

func setOrDelete(m map[string]any, k, v string) {
	if v == "" {
		delete(m, k)
		return
	}
	m[k] = v
}

const auditPage = 200

type auditEntry struct {
	Seq      int64
	Revision int64
	At       string
	Actor    string
	Kind     string
	ID       string
	Op       string
	Tenant   string
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *webSession) {
	tenant := r.URL.Query().Get("tenant")
	// both logs are read oldest first, a page at a time after a seq
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	actionsAfter, _ := strconv.ParseInt(r.URL.Query().Get("actions_after"), 10, 64)
	if !(s.token.Role != "tenant-user") {
		tenant = s.token.Tenant
	}
	var tl entityList
	if err := c.api(r.Context(), s, "GET", "/api/tenants?limit=1000", nil, &tl); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var tenants []tenantDoc
	for _, e := range tl.Items {
		var t tenantDoc
		_ = json.Unmarshal(e.Data, &t)
		tenants = append(tenants, t)
	}
	if tenant == "" && len(tenants) > 0 {
		tenant = tenants[0].ID
	}
	var entries struct {
		Items []auditEntry `json:"items"`
	}
	if tenant != "" {
		if err := c.api(r.Context(), s, "GET", fmt.Sprintf("/api/audit?limit=%d&after=%d&tenant=%s", auditPage, max(after, 0), url.QueryEscape(tenant)), nil, &entries); err != nil {
			c.fail(w, r, s, err)
			return
		}
	}
	var actions struct {
		Items []struct {
			Seq    int64  `json:"seq"`
			At     string `json:"at"`
			Actor  string `json:"actor"`
			Method string `json:"method"`
			Path   string `json:"path"`
			Status int    `json:"status"`
		} `json:"items"`
	}
	if s.token.Role == "msp-admin" {
		if err := c.api(r.Context(), s, "GET", fmt.Sprintf("/api/actions?limit=%d&after=%d", auditPage, max(actionsAfter, 0)), nil, &actions); err != nil {
			c.fail(w, r, s, err)
			return
		}
	}
	var next, actionsNext int64
	if n := len(entries.Items); n == auditPage {
		next = entries.Items[n-1].Seq
	}
	if n := len(actions.Items); n == auditPage {
		actionsNext = actions.Items[n-1].Seq
	}
	c.render(w, r, http.StatusOK, "audit", s, map[string]any{"Tenant": tenant, "Tenants": tenantTree(tenants, tenant), "Entries": entries.Items, "Actions": actions.Items,
		"Next": next, "ActionsNext": actionsNext})
}

func (c *Console) integrations(w http.ResponseWriter, r *http.Request, s *webSession) {
	var pl struct {
		Items []api.PluginInstance `json:"items"`
	}
	if err := c.api(r.Context(), s, "GET", "/api/plugins", nil, &pl); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var al struct {
		Items []api.AgentInfo `json:"items"`
	}
	if err := c.api(r.Context(), s, "GET", "/api/agents", nil, &al); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "integrations", s, map[string]any{"Plugins": pl.Items, "Agents": al.Items})
}
