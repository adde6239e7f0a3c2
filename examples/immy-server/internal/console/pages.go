package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/targets"
)

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"path": url.PathEscape,
	"join": strings.Join,
}

func (c *Console) routes() {
	m := c.mux
	m.HandleFunc("GET /console/fleet", c.with(c.fleet))
	m.HandleFunc("GET /console/computers/{id}", c.with(c.computer))
	m.HandleFunc("POST /console/computers/{id}/sessions", c.with(c.startSession))
	m.HandleFunc("GET /console/sessions/{id}", c.with(c.session))
	m.HandleFunc("GET /console/sessions/{id}/live", c.with(c.sessionLive))
	m.HandleFunc("GET /console/sessions/{id}/events", c.with(func(w http.ResponseWriter, r *http.Request, s *webSession) {
		c.proxyEvents(w, r, s, "/api/sessions/"+url.PathEscape(r.PathValue("id"))+"/events")
	}))
	m.HandleFunc("GET /console/sessions/{id}/output", c.with(c.sessionOutput))
	m.HandleFunc("POST /console/sessions/{id}/{verb}", c.with(c.sessionVerb))
	m.HandleFunc("GET /console/deployments", c.with(c.deployments))
	m.HandleFunc("GET /console/deployments/{id}", c.with(c.deployment))
	m.HandleFunc("POST /console/deployments/{id}", c.with(c.saveDeployment))
	m.HandleFunc("POST /console/filter", c.with(c.compileFilter))
	m.HandleFunc("GET /console/audit", c.with(c.audit))
	m.HandleFunc("GET /console/integrations", c.with(c.integrations))
}

// entity is one item of an API list or get.
type entity struct {
	Revision  int64           `json:"revision"`
	Data      json.RawMessage `json:"data"`
	Inventory *struct {
		OS       string            `json:"os"`
		Online   bool              `json:"online"`
		LastSeen time.Time         `json:"last_seen"`
		Software []softwareRow     `json:"software"`
		Agent    map[string]string `json:"agent"`
	} `json:"inventory"`
}

type entityList struct {
	Revision int64    `json:"revision"`
	Total    int      `json:"total"`
	Items    []entity `json:"items"`
}

type tenantDoc struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

type computerDoc struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
	Kind   string `json:"kind"`
	OS     string `json:"os"`
}

type sessionRow struct {
	ID       string `json:"id"`
	Computer string `json:"computer"`
	Status   string `json:"status"`
	Created  string `json:"created"`
	Updated  string `json:"updated"`
}

// tenantNode is one line of the tenant tree.
type tenantNode struct {
	tenantDoc
	Depth    int
	Indent   string
	Selected bool
}

func tenantTree(ts []tenantDoc, selected string) []tenantNode {
	kids := map[string][]tenantDoc{}
	ids := map[string]bool{}
	for _, t := range ts {
		ids[t.ID] = true
	}
	for _, t := range ts {
		p := t.Parent
		if !ids[p] {
			p = ""
		}
		kids[p] = append(kids[p], t)
	}
	var out []tenantNode
	var walk func(p string, d int)
	walk = func(p string, d int) {
		ch := kids[p]
		sort.Slice(ch, func(i, j int) bool { return ch[i].ID < ch[j].ID })
		for _, t := range ch {
			if d > 32 {
				return
			}
			out = append(out, tenantNode{tenantDoc: t, Depth: d, Indent: strings.Repeat("\u00a0\u00a0", d), Selected: t.ID == selected})
			walk(t.ID, d+1)
		}
	}
	walk("", 0)
	return out
}

// fleetRow is one computer on the fleet page.
type fleetRow struct {
	computerDoc
	Online      bool
	LastSeen    time.Time
	LastSession *sessionRow
	Decisions   int
	Pending     int // actions that change something
	Unknown     int // items a session's detection decides (a script detects them)
	OK          int // items whose plan changes nothing
	Compliant   bool
	PlanError   string
}

const fleetPageSize = 100

func (c *Console) fleet(w http.ResponseWriter, r *http.Request, s *webSession) {
	ctx := r.Context()
	q := r.URL.Query()
	search, tenant, status := strings.TrimSpace(q.Get("q")), q.Get("tenant"), q.Get("status")
	var tl entityList
	if err := c.api(ctx, s, "GET", "/api/tenants?limit=1000", nil, &tl); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var tenants []tenantDoc
	for _, e := range tl.Items {
		var t tenantDoc
		_ = json.Unmarshal(e.Data, &t)
		tenants = append(tenants, t)
	}
	// a tenant and its descendants
	within := map[string]bool{}
	if tenant != "" {
		within[tenant] = true
		for changed := true; changed; {
			changed = false
			for _, t := range tenants {
				if within[t.Parent] && !within[t.ID] {
					within[t.ID], changed = true, true
				}
			}
		}
	}
	cpath := "/api/computers?limit=1000"
	if search != "" {
		cpath += "&q=" + url.QueryEscape(search)
	}
	var cl entityList
	if err := c.api(ctx, s, "GET", cpath, nil, &cl); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var sl struct {
		Items []sessionRow `json:"items"`
	}
	if err := c.api(ctx, s, "GET", "/api/sessions?limit=1000", nil, &sl); err != nil {
		c.fail(w, r, s, err)
		return
	}
	last := map[string]*sessionRow{}
	for i := range sl.Items {
		if _, ok := last[sl.Items[i].Computer]; !ok {
			last[sl.Items[i].Computer] = &sl.Items[i]
		}
	}
	var rows []fleetRow
	tenantOf := map[string]string{}
	more := false
	for _, e := range cl.Items {
		var cd computerDoc
		_ = json.Unmarshal(e.Data, &cd)
		tenantOf[cd.ID] = cd.Tenant
		if tenant != "" && !within[cd.Tenant] {
			continue
		}
		row := fleetRow{computerDoc: cd, LastSession: last[cd.ID]}
		if e.Inventory != nil {
			row.Online, row.LastSeen = e.Inventory.Online, e.Inventory.LastSeen
		}
		switch status {
		case "online":
			if !row.Online {
				continue
			}
		case "offline":
			if row.Online {
				continue
			}
		}
		if len(rows) >= fleetPageSize {
			more = true
			break
		}
		rows = append(rows, row)
	}
	for i := range rows {
		p, err := c.plan(r, s, rows[i].ID)
		if err != nil {
			rows[i].PlanError = err.Error()
			continue
		}
		rows[i].Decisions = len(p.Decisions)
		rows[i].Pending = pending(p.Actions)
		rows[i].Unknown = undecided(p.Actions)
		rows[i].OK = max(0, rows[i].Decisions-rows[i].Pending-rows[i].Unknown)
		rows[i].Compliant = rows[i].Pending == 0 && rows[i].Unknown == 0
	}
	switch status {
	case "compliant", "noncompliant":
		keep := rows[:0]
		for _, row := range rows {
			if row.PlanError == "" && row.Compliant == (status == "compliant") {
				keep = append(keep, row)
			}
		}
		rows = keep
	}
	charts := chartsOf(sl.Items, tenantOf, time.Now())
	c.render(w, r, http.StatusOK, "fleet", s, map[string]any{
		"Tenants": tenantTree(tenants, tenant), "Rows": rows, "Q": search, "Tenant": tenant, "Status": status, "More": more,
		"Total": cl.Total, "Compliance": charts.compliance, "Outcomes": charts.outcomes,
	})
}

// decidedAtDetection is the reason of an action a script's detection
// decides, in the session.
const decidedAtDetection = "decided-at-detection"

// undecided counts the actions a session's detection decides.
func undecided(as []resolver.Action) int {
	n := 0
	for _, a := range as {
		if a.Action == resolver.ActionNone && a.Reason == decidedAtDetection {
			n++
		}
	}
	return n
}

// pending counts the actions that would change something.
func pending(as []resolver.Action) int {
	n := 0
	for _, a := range as {
		if a.Action != resolver.ActionNone {
			n++
		}
	}
	return n
}

type computerPlan struct {
	Revision  int64
	ID        string              `json:"id"`
	Excluded  bool                `json:"excluded"`
	Decisions []resolver.Decision `json:"decisions"`
	Actions   []resolver.Action   `json:"actions"`
	Problems  []resolver.Problem  `json:"problems"`
}

func (c *Console) plan(r *http.Request, s *webSession, id string) (*computerPlan, error) {
	var pr struct {
		Revision int64           `json:"revision"`
		Plan     json.RawMessage `json:"plan"`
	}
	if err := c.api(r.Context(), s, "GET", "/api/computers/"+url.PathEscape(id)+"/plan", nil, &pr); err != nil {
		return nil, err
	}
	var p computerPlan
	if err := json.Unmarshal(pr.Plan, &p); err != nil {
		return nil, fmt.Errorf("console: plan of %s: %w", id, err)
	}
	p.Revision = pr.Revision
	return &p, nil
}

// planItem is one item of a computer's plan: its decision and its action.
type planItem struct {
	Item     string
	Decision resolver.Decision
	Actions  []resolver.Action
}

func (c *Console) computer(w http.ResponseWriter, r *http.Request, s *webSession) {
	id := r.PathValue("id")
	var e entity
	if err := c.api(r.Context(), s, "GET", "/api/computers/"+url.PathEscape(id), nil, &e); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var cd computerDoc
	_ = json.Unmarshal(e.Data, &cd)
	p, err := c.plan(r, s, id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	items := map[string]*planItem{}
	var order []string
	get := func(item string) *planItem {
		if pi, ok := items[item]; ok {
			return pi
		}
		pi := &planItem{Item: item}
		items[item] = pi
		order = append(order, item)
		return pi
	}
	for _, d := range p.Decisions {
		get(d.Item).Decision = d
	}
	for _, a := range p.Actions {
		pi := get(a.Item)
		pi.Actions = append(pi.Actions, a)
	}
	var plan []*planItem
	for _, it := range order {
		plan = append(plan, items[it])
	}
	var sl struct {
		Items []sessionRow `json:"items"`
	}
	if err := c.api(r.Context(), s, "GET", "/api/sessions?limit=20&computer="+url.QueryEscape(id), nil, &sl); err != nil {
		c.fail(w, r, s, err)
		return
	}
	var software []softwareRow
	if e.Inventory != nil {
		software = e.Inventory.Software
	}
	c.render(w, r, http.StatusOK, "computer", s, map[string]any{
		"Computer": cd, "Inventory": e.Inventory, "Plan": plan, "Excluded": p.Excluded, "Problems": p.Problems,
		"Revision": p.Revision, "Sessions": sl.Items, "Pending": pending(p.Actions),
		"Software": pageSoftware(software, r.URL.Query(), "/console/computers/"+url.PathEscape(id)),
	})
}

func (c *Console) startSession(w http.ResponseWriter, r *http.Request, s *webSession) {
	id := r.PathValue("id")
	body := map[string]any{"computer": id, "kind": r.PostFormValue("kind")}
	if it := r.PostFormValue("item"); it != "" && r.PostFormValue("kind") == "single-item" {
		body["item"] = it
	}
	var rep struct {
		ID string `json:"id"`
	}
	if err := c.api(r.Context(), s, "POST", "/api/sessions", body, &rep); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/sessions/"+url.PathEscape(rep.ID), http.StatusSeeOther)
}

func (c *Console) report(r *http.Request, s *webSession) (*session.Report, error) {
	var rep session.Report
	if err := c.api(r.Context(), s, "GET", "/api/sessions/"+url.PathEscape(r.PathValue("id")), nil, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

var stages = []session.Stage{session.StageInventory, session.StageResolution, session.StageOnboarding, session.StageDetection, session.StageExecution, session.StageReboot, session.StageDone}

type stageView struct {
	Name          string
	Current, Done bool
}

func sessionView(rep *session.Report) map[string]any {
	var sv []stageView
	cur := slices.Index(stages, rep.Stage)
	for i, st := range stages {
		sv = append(sv, stageView{Name: st.String(), Current: i == cur && !rep.Status.Final(), Done: i < cur || (rep.Status.Final() && i <= cur)})
	}
	return map[string]any{"Report": rep, "Stages": sv, "Final": rep.Status.Final(),
		"Postponable": !rep.Status.Final() && rep.Stage != session.StageExecution && rep.Stage != session.StageReboot}
}

func (c *Console) session(w http.ResponseWriter, r *http.Request, s *webSession) {
	rep, err := c.report(r, s)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "session", s, sessionView(rep))
}

// sessionLive is the live part of the session page, rendered again as
// events arrive.
func (c *Console) sessionLive(w http.ResponseWriter, r *http.Request, s *webSession) {
	rep, err := c.report(r, s)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			http.Error(w, ae.Message, ae.Status)
			return
		}
		http.Error(w, "error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := c.tmpl["session"].ExecuteTemplate(w, "live", page{Data: sessionView(rep), CSRF: s.csrf}); err != nil {
		c.log.Error("console: render live", "err", err)
	}
}

func (c *Console) sessionVerb(w http.ResponseWriter, r *http.Request, s *webSession) {
	id, verb := r.PathValue("id"), r.PathValue("verb")
	var body any
	switch verb {
	case "cancel":
	case "postpone":
		body = map[string]any{}
		if v := r.PostFormValue("until"); v != "" {
			t, err := time.ParseInLocation("2006-01-02T15:04", v, time.UTC)
			if err != nil {
				http.Redirect(w, r, "/console/sessions/"+url.PathEscape(id)+"?flash="+url.QueryEscape("Postpone: the time is not valid (want YYYY-MM-DDTHH:MM, UTC)."), http.StatusSeeOther)
				return
			}
			body = map[string]any{"until": t}
		}
	default:
		http.NotFound(w, r)
		return
	}
	flash := map[string]string{"cancel": "Cancellation asked.", "postpone": "Postponement asked."}[verb]
	if err := c.api(r.Context(), s, "POST", "/api/sessions/"+url.PathEscape(id)+"/"+verb, body, nil); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status == http.StatusNotFound {
			c.fail(w, r, s, err)
			return
		}
		flash = ae.Error()
	}
	http.Redirect(w, r, "/console/sessions/"+url.PathEscape(id)+"?flash="+url.QueryEscape(flash), http.StatusSeeOther)
}

// filterReply is the answer of the filter compile route.
type filterReply struct {
	OK      bool   `json:"ok"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Snippet string `json:"snippet,omitempty"`
	Message string `json:"message,omitempty"`
}

// compileFilter compiles a target filter (expr or Lua) and answers where it
// fails. JSON in ({"language": "expr"|"lua", "source": "..."}), JSON out.
func (c *Console) compileFilter(w http.ResponseWriter, r *http.Request, s *webSession) {
	var in struct {
		Language string `json:"language"`
		Source   string `json:"source"`
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(filterReply{Message: "the body is not JSON {language, source}"})
		return
	}
	_ = json.NewEncoder(w).Encode(compile(in.Language, in.Source))
}

func compile(language, src string) filterReply {
	var lang targets.Language
	switch language {
	case "expr":
		lang = targets.LanguageExpr
	case "lua":
		lang = targets.LanguageLua
	default:
		return filterReply{Message: fmt.Sprintf("unknown language %q (want expr or lua)", language)}
	}
	if len(src) > maxFilterBytes {
		return filterReply{Message: fmt.Sprintf("the filter is longer than %d bytes", maxFilterBytes)}
	}
	if strings.TrimSpace(src) == "" {
		return filterReply{Message: "the filter is empty", Line: 1, Column: 1}
	}
	_, err := targets.Compile(lang, src)
	if err == nil {
		return filterReply{OK: true}
	}
	var ce *targets.CompileError
	if errors.As(err, &ce) {
		return filterReply{Line: ce.Line, Column: ce.Column, Snippet: ce.Snippet, Message: ce.Msg}
	}
	return filterReply{Message: strings.TrimPrefix(err.Error(), "targets: ")}
}
