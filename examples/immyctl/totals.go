package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// changes are the kinds of action that change a computer. A task-enforce
// counts: its set runs when its test fails, which only detection decides.
// Audit and monitor only read; fail and none change nothing.
var changes = map[resolver.ActionKind]bool{
	resolver.ActionInstall: true, resolver.ActionUpdate: true, resolver.ActionDowngrade: true,
	resolver.ActionUninstall: true, resolver.ActionReinstall: true, resolver.ActionTaskEnforce: true,
}

// planTotals sums up a plan: how many computers, how many actions of each
// kind, and the changes on each tenant's computers.
type planTotals struct {
	Computers int `json:"computers"`
	Excluded  int `json:"excluded"`  // excluded from maintenance: nothing planned
	Unreached int `json:"unreached"` // no deployment reaches them
	// Problems counts what held or refused part of a computer's plan (a
	// filter that failed on it, a private item); each is listed with its
	// computer.
	Problems int `json:"problems,omitempty"`
	// Actions counts the actions of each kind; kinds with none are left out.
	Actions map[string]int `json:"actions"`
	// Tenants lists every tenant with a computer in the plan, sorted by id.
	Tenants []tenantTotals `json:"changes_by_tenant"`

	kinds []resolver.ActionKind // the kinds in Actions, in the order of ActionKind, none last
}

type tenantTotals struct {
	Tenant    string `json:"tenant"`
	Changes   int    `json:"changes"`   // actions that change a computer
	Changed   int    `json:"changed"`   // computers with at least one change
	Computers int    `json:"computers"` // the tenant's computers in the plan
}

// totalsOf sums up plan; f gives each computer's tenant.
func totalsOf(plan *resolver.Plan, f *immy.Fleet) planTotals {
	s := newTotaller(f)
	for i := range plan.Computers {
		s.add(&plan.Computers[i])
	}
	return s.totals()
}

// totaller sums up a plan computer by computer, as they are planned: a
// plan streamed is never held whole.
type totaller struct {
	tenantOf map[string]string
	t        planTotals
	byKind   map[resolver.ActionKind]int
	byTenant map[string]*tenantTotals
}

// newTotaller begins the totals of a plan of f's computers.
func newTotaller(f *immy.Fleet) *totaller {
	tenantOf := make(map[string]string, len(f.Computers))
	for i := range f.Computers {
		tenantOf[f.Computers[i].ID] = f.Computers[i].Tenant
	}
	return &totaller{tenantOf: tenantOf, t: planTotals{Actions: map[string]int{}},
		byKind: map[resolver.ActionKind]int{}, byTenant: map[string]*tenantTotals{}}
}

// add counts the plan of one more computer.
func (s *totaller) add(c *resolver.ComputerPlan) {
	t := &s.t
	t.Computers++
	tenant := s.tenantOf[c.ID]
	tt := s.byTenant[tenant]
	if tt == nil {
		tt = &tenantTotals{Tenant: tenant}
		s.byTenant[tenant] = tt
	}
	tt.Computers++
	if c.Excluded {
		t.Excluded++
		return
	}
	t.Problems += len(c.Problems())
	acts := c.Actions()
	if len(acts) == 0 {
		t.Unreached++
	}
	n := 0
	for _, a := range acts {
		s.byKind[a.Action]++
		if changes[a.Action] {
			n++
		}
	}
	tt.Changes += n
	if n > 0 {
		tt.Changed++
	}
}

// totals returns the totals of the computers added.
func (s *totaller) totals() planTotals {
	t := s.t
	t.Actions = map[string]int{}
	t.kinds = nil
	for k := range s.byKind {
		t.kinds = append(t.kinds, k)
	}
	// In the order of ActionKind, none last: what is left as it is.
	last := func(k resolver.ActionKind) int {
		if k == resolver.ActionNone {
			return 1
		}
		return 0
	}
	slices.SortFunc(t.kinds, func(a, b resolver.ActionKind) int {
		return cmp.Or(cmp.Compare(last(a), last(b)), cmp.Compare(a, b))
	})
	for _, k := range t.kinds {
		t.Actions[k.String()] = s.byKind[k]
	}
	t.Tenants = make([]tenantTotals, 0, len(s.byTenant))
	for _, tt := range s.byTenant {
		t.Tenants = append(t.Tenants, *tt)
	}
	slices.SortFunc(t.Tenants, func(a, b tenantTotals) int { return strings.Compare(a.Tenant, b.Tenant) })
	return t
}

// writeText renders the totals as the last block of a text plan.
func (t *planTotals) writeText(b *bytes.Buffer) {
	b.WriteString("\ntotals\n")
	fmt.Fprintf(b, "  computers: %d", t.Computers)
	var notes []string
	if t.Excluded > 0 {
		notes = append(notes, fmt.Sprintf("%d excluded from maintenance", t.Excluded))
	}
	if t.Unreached > 0 {
		notes = append(notes, fmt.Sprintf("%d that no deployment reaches", t.Unreached))
	}
	if len(notes) > 0 {
		fmt.Fprintf(b, " (%s)", strings.Join(notes, ", "))
	}
	if t.Problems > 0 {
		fmt.Fprintf(b, "\n  problems: %d (listed with their computers)", t.Problems)
	}
	total := 0
	kinds := make([]string, len(t.kinds))
	for i, k := range t.kinds {
		n := t.Actions[k.String()]
		total += n
		kinds[i] = fmt.Sprintf("%s %d", k, n)
	}
	fmt.Fprintf(b, "\n  actions: %d", total)
	if total > 0 {
		fmt.Fprintf(b, " (%s)", strings.Join(kinds, ", "))
	}
	if len(t.Tenants) == 0 {
		b.WriteString("\n  changes by tenant: none\n")
		return
	}
	b.WriteString("\n  changes by tenant:\n")
	names := make([]string, len(t.Tenants))
	nameW, numW := 0, 0
	for i, tt := range t.Tenants {
		names[i] = tt.Tenant
		if names[i] == "" {
			names[i] = "(no tenant)"
		}
		nameW = max(nameW, len(names[i]))
		numW = max(numW, len(strconv.Itoa(tt.Changes)))
	}
	for i, tt := range t.Tenants {
		fmt.Fprintf(b, "    %-*s  %*d on %d of %d computers\n", nameW, names[i], numW, tt.Changes, tt.Changed, tt.Computers)
	}
}

// withJSONField adds "name": v as the last field of doc, an object written by
// resolver.Plan.WriteJSON (indented by two spaces, ending in "\n}\n").
func withJSONField(doc []byte, name string, v any) ([]byte, error) {
	body, ok := bytes.CutSuffix(doc, []byte(jsonEnd))
	if !ok {
		return nil, errJSONEnd
	}
	tail, err := jsonFieldTail(name, v)
	if err != nil {
		return nil, err
	}
	return append(body[:len(body):len(body)], tail...), nil
}

// jsonEnd is how resolver.Plan.WriteJSON ends its document.
const jsonEnd = "\n}\n"

var errJSONEnd = errors.New("plan JSON does not end its object as expected")

// jsonFieldTail is what takes the place of jsonEnd to add "name": v as the
// last field of the document, and end it.
func jsonFieldTail(name string, v any) ([]byte, error) {
	val, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return nil, err
	}
	out := []byte(",\n  ")
	out = append(out, fmt.Sprintf("%q: ", name)...)
	out = append(out, val...)
	return append(out, jsonEnd...), nil
}
