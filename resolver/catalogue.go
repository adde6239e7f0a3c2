package resolver

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
)

// Catalogue is the compiled item graph of a fleet: its software and tasks,
// prerequisites resolved to the items they name, detection patterns compiled,
// the execution order of items fixed. It is built once by NewCatalogue, never
// changes, and is safe for concurrent use.
type Catalogue struct {
	fleet   *immy.Fleet
	items   []item // sorted by id: item indices order like ids
	byID    map[string]int32
	detect  detectIndex
	reasons []reasonInfo // by code: the static reasons, then those about items
}

// reasonInfo is one reason an action can give; about is the item a reason
// about another item names (for required_by), -1 otherwise.
type reasonInfo struct {
	text  string
	about int32
}

// reason adds a reason about an item and returns its code.
func (c *Catalogue) reason(kind, about string, item int32) uint32 {
	c.reasons = append(c.reasons, reasonInfo{text: kind + ":" + about, about: item})
	return uint32(len(c.reasons) - 1)
}

// item is one software or task of the catalogue.
type item struct {
	id        string
	kind      immy.ItemKind
	sw        *immy.Software
	task      *immy.Task
	latest    *immy.Version // nil when the software has no version
	rank      int32         // place in the execution order of items
	placed    placement
	prereqs   []prereq
	ownRules  []*prereq // the rules of prereqs, as rules returns them when no version adds any
	byVersion []versionPrereqs
	config    int32 // the configuration task, -1 for none
	detect    detectHow
	filters   *filters // publisher, versions and version map of detection; nil for none
	owner     string   // the tenant a private item belongs to
	// ownerIdx is owner's index in the fleet's tenants: -1 for a public
	// item, -2 for an owner the fleet does not have (which owns nothing)
	ownerIdx int32
	// privateRefs: a rule of the software (or of a version) or its
	// configuration task names a private item, which the sequencer checks
	// against the computer's tenant
	privateRefs    bool
	onboardingOnly bool // a task run only in onboarding sessions, first
	tenantTask     bool // a cloud task: planned per tenant, not per computer

	// codes of the reasons about this item
	reasonPrereqOf, reasonFailed, reasonConflict, reasonConfigOf, reasonPrivate uint32
	// for a software with a configuration task: each static reason, with
	// this software as the item it is about (the task's own reasons when it
	// has a deployment of its own)
	configReasons []uint32
}

type versionPrereqs struct {
	version immy.Version
	rules   []prereq
}

// prereq is one compiled prerequisite rule.
type prereq struct {
	cond       immy.Condition
	all        bool
	subjects   []int32
	then       immy.PrereqAction
	on         []int32
	version    *immy.Version // into the fleet; nil when the rule names none
	failReason uint32        // prerequisite-fail:SUBJECTS
}

// placement is where an item's order puts it.
type placement uint8

const (
	placedUnordered placement = iota // by id, between the others
	placedFirst                      // onboarding-only tasks, then the beginning
	placedLast                       // the end
)

type detectHow uint8

const (
	detectNone      detectHow = iota // no detection: never found
	detectInventory                  // display name, regex or code: read from the inventory
	detectScript                     // a script: the inventory cannot tell
)

// maxCycles bounds how many prerequisite cycles one report lists; a graph can
// hold exponentially many.
const maxCycles = 64

// NewCatalogue compiles the catalogue of f. It returns every problem at once as
// immy.Problems: each prerequisite cycle, with its whole path from its smallest
// id, as a problem wrapping an *immy.CycleError (errors.As finds it); detection
// patterns that do not compile; and references to software or tasks that do
// not exist. f is kept, not copied: do not change it afterwards.
func NewCatalogue(f *immy.Fleet) (*Catalogue, error) {
	c, own, refs := build(f)
	ps := append(own, refs...)
	ps.Sort()
	if err := ps.Err(); err != nil {
		return nil, fmt.Errorf("resolver: catalogue: %w", err)
	}
	return c, nil
}

// Check returns the problems of f's catalogue that immy.Fleet.Validate does not
// look for: prerequisite cycles (each an *immy.CycleError with its whole path),
// prerequisites that uninstall their own software (a session gives an item
// one action), and detection patterns that do not compile. immyctl validate
// runs it.
func Check(f *immy.Fleet) immy.Problems {
	_, own, _ := build(f)
	own.Sort()
	return own
}

// build compiles f's catalogue; own are the problems Validate does not find,
// refs the broken references it also reports.
func build(f *immy.Fleet) (c *Catalogue, own, refs immy.Problems) {
	c = &Catalogue{fleet: f, byID: make(map[string]int32, len(f.Software)+len(f.Tasks))}
	for _, r := range staticReasons {
		c.reasons = append(c.reasons, reasonInfo{text: r, about: -1})
	}
	type src struct {
		id   string
		sw   int
		task int
	}
	var srcs []src
	seen := map[string]bool{}
	for i := range f.Software {
		if id := f.Software[i].ID; id != "" && !seen[id] {
			seen[id] = true
			srcs = append(srcs, src{id, i, -1})
		}
	}
	for i := range f.Tasks {
		if id := f.Tasks[i].ID; id != "" && !seen[id] {
			seen[id] = true
			srcs = append(srcs, src{id, -1, i})
		}
	}
	slices.SortFunc(srcs, func(a, b src) int { return strings.Compare(a.id, b.id) })
	c.items = make([]item, len(srcs))
	for k, s := range srcs {
		c.byID[s.id] = int32(k)
		it := &c.items[k]
		it.id = s.id
		it.config = -1
		it.reasonPrereqOf = c.reason(ReasonPrerequisiteOf, s.id, int32(k))
		it.reasonFailed = c.reason(ReasonPrerequisiteFailed, s.id, -1)
		it.reasonConflict = c.reason(ReasonPrerequisiteConflict, s.id, -1)
		it.reasonConfigOf = c.reason(ReasonConfigurationOf, s.id, int32(k))
		if s.sw >= 0 {
			it.kind = immy.ItemSoftware
			it.sw = &f.Software[s.sw]
			it.latest = latestOf(it.sw)
			it.owner = it.sw.Tenant
		} else {
			it.kind = immy.ItemTask
			it.task = &f.Tasks[s.task]
			it.owner = it.task.Tenant
			it.onboardingOnly = it.task.OnboardingOnly
			it.tenantTask = it.task.Category == immy.TaskTenant
		}
	}
	swIndex := make(map[string]int, len(f.Software))
	for i := range f.Software {
		if _, dup := swIndex[f.Software[i].ID]; !dup {
			swIndex[f.Software[i].ID] = i
		}
	}

	g := newGraph(len(c.items))
	c.detect.names = map[int32]nameMatchers{}
	for k := range c.items {
		it := &c.items[k]
		if it.sw == nil {
			continue
		}
		sw := it.sw
		fi := swIndex[it.id]
		problem := func(err error, field, format string, args ...any) immy.Problem {
			return immy.Problem{Section: "software", Index: fi, ID: it.id, Field: field, Message: fmt.Sprintf(format, args...), Err: err}
		}
		rules := func(field string, ps []immy.Prerequisite) []prereq {
			out := make([]prereq, 0, len(ps))
			for j := range ps {
				p := &ps[j]
				pf := fmt.Sprintf("%s[%d]", field, j)
				r := prereq{cond: p.Condition, all: p.Quantifier == immy.QuantifierAllOf, then: p.Then}
				if !p.Version.IsZero() {
					r.version = &p.Version
				}
				for _, s := range p.Subjects {
					if t, ok := c.software(s); ok {
						r.subjects = append(r.subjects, t)
					} else {
						refs = append(refs, problem(immy.ErrNotFound, pf, "unknown software %q", s))
					}
				}
				for _, s := range p.On {
					t, ok := c.software(s)
					if !ok {
						refs = append(refs, problem(immy.ErrNotFound, pf+".on", "unknown software %q", s))
						continue
					}
					r.on = append(r.on, t)
					if p.Then == immy.PrereqUninstall && t == int32(k) {
						own = append(own, problem(immy.ErrInvalid, pf+".on", "a prerequisite cannot uninstall the software it belongs to"))
					}
					if p.Then == immy.PrereqInstall {
						g.addEdge(int32(k), t, pf+".on")
					}
				}
				r.failReason = c.reason(ReasonPrerequisiteFail, strings.Join(p.Subjects, "+"), -1)
				out = append(out, r)
			}
			return out
		}
		it.prereqs = rules("prerequisites", sw.Prerequisites)
		it.ownRules = it.rules(nil, nil)
		for j := range sw.Versions {
			if v := &sw.Versions[j]; len(v.Prerequisites) > 0 {
				it.byVersion = append(it.byVersion, versionPrereqs{version: v.Version, rules: rules(fmt.Sprintf("versions[%d].prerequisites", j), v.Prerequisites)})
			}
		}
		if sw.ConfigurationTask != "" {
			if t, ok := c.byID[sw.ConfigurationTask]; ok && c.items[t].kind == immy.ItemTask {
				it.config = t
				it.configReasons = make([]uint32, numStaticReasons)
				for r := range it.configReasons {
					c.reasons = append(c.reasons, reasonInfo{text: staticReasons[r], about: int32(k)})
					it.configReasons[r] = uint32(len(c.reasons) - 1)
				}
			} else {
				refs = append(refs, problem(immy.ErrNotFound, "configuration_task", "unknown task %q", sw.ConfigurationTask))
			}
		}
		d := sw.Detection
		switch {
		case d.DisplayName != "" || len(d.DisplayNames) > 0:
			var ms nameMatchers
			bad := false
			for i, g := range append([]string{d.DisplayName}, d.DisplayNames...) {
				if g == "" {
					continue
				}
				m, err := compileGlob(g)
				if err != nil {
					// the fleet file's list is DisplayName, then DisplayNames
					field := "detection.display_name"
					switch {
					case i > 0 && d.DisplayName == "":
						field = fmt.Sprintf("detection.display_name[%d]", i-1)
					case len(d.DisplayNames) > 0:
						field = fmt.Sprintf("detection.display_name[%d]", i)
					}
					own = append(own, problem(immy.ErrInvalid, field, "%v", err))
					bad = true
					continue
				}
				ms = append(ms, m)
			}
			if bad {
				continue
			}
			it.detect = detectInventory
			c.detect.names[int32(k)] = ms
		case d.Regex != "":
			m, err := compileRegex(d.Regex)
			if err != nil {
				own = append(own, problem(immy.ErrInvalid, "detection.regex", "%v", err))
				continue
			}
			it.detect = detectInventory
			c.detect.names[int32(k)] = nameMatchers{m}
		case d.ProductCode != "":
			it.detect = detectInventory
			addCode(&c.detect.product, d.ProductCode, int32(k))
		case d.UpgradeCode != "":
			it.detect = detectInventory
			addCode(&c.detect.upgrade, d.UpgradeCode, int32(k))
		case d.Script != nil:
			it.detect = detectScript
		}
		if it.detect != detectNone { // a script's version is mapped too (MapVersion)
			f, ps := compileFilters(&d, problem)
			own = append(own, ps...)
			it.filters = f
		}
	}
	for k := range c.detect.names {
		ms := c.detect.names[k]
		if bs, ok := ms.firstBytes(); ok {
			for _, b := range bs {
				c.detect.byFirst[b] = append(c.detect.byFirst[b], k)
			}
		} else {
			c.detect.anyFirst = append(c.detect.anyFirst, k)
		}
	}
	for b := range c.detect.byFirst {
		slices.Sort(c.detect.byFirst[b])
	}
	slices.Sort(c.detect.anyFirst)

	c.fixOrder()
	c.owners()

	for _, cyc := range g.cycles(maxCycles + 1) {
		if countCycles(own) == maxCycles {
			first := c.items[cyc.path[0]].id
			own = append(own, immy.Problem{Section: "software", Index: swIndex[first], ID: first, Field: "prerequisites",
				Message: fmt.Sprintf("more prerequisite cycles than the %d listed", maxCycles), Err: immy.ErrCycle})
			break
		}
		path := make([]string, len(cyc.path))
		for i, v := range cyc.path {
			path[i] = c.items[v].id
		}
		own = append(own, immy.Problem{Section: "software", Index: swIndex[path[0]], ID: path[0], Field: cyc.field,
			Message: "prerequisite cycle: " + strings.Join(path, " -> "),
			Err:     &immy.CycleError{Kind: "prerequisite", Path: path}})
	}
	return c, own, refs
}

func countCycles(ps immy.Problems) int {
	n := 0
	for _, p := range ps {
		if _, ok := p.Err.(*immy.CycleError); ok {
			n++
		}
	}
	return n
}

func addCode(m *map[string][]int32, code string, it int32) {
	if *m == nil {
		*m = map[string][]int32{}
	}
	k := normCode(code)
	(*m)[k] = append((*m)[k], it)
}

// software returns the item index of a software id.
func (c *Catalogue) software(id string) (int32, bool) {
	k, ok := c.byID[id]
	if !ok || c.items[k].kind != immy.ItemSoftware {
		return 0, false
	}
	return k, true
}

// fixOrder ranks the items in execution order: onboarding-only tasks first,
// then the items at the beginning (by position), the unordered ones, and those
// at the end (by position); ties and unordered items by id.
func (c *Catalogue) fixOrder() {
	type key struct {
		onboarding int
		loc        int
		pos        int
		k          int32
	}
	keys := make([]key, len(c.items))
	for k := range c.items {
		it := &c.items[k]
		var o immy.Order
		if it.sw != nil {
			o = it.sw.Order
		} else {
			o = it.task.Order
		}
		kk := key{onboarding: 1, k: int32(k)}
		switch o.Location {
		case immy.OrderBeginning:
			kk.loc, kk.pos = 0, o.Position
			it.placed = placedFirst
		case immy.OrderEnd:
			kk.loc, kk.pos = 2, o.Position
			it.placed = placedLast
		default:
			kk.loc = 1
		}
		if it.onboardingOnly {
			kk.onboarding = 0
			it.placed = placedFirst
		}
		keys[k] = kk
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.onboarding, b.onboarding), cmp.Compare(a.loc, b.loc), cmp.Compare(a.pos, b.pos), cmp.Compare(a.k, b.k))
	})
	for r, kk := range keys {
		c.items[kk.k].rank = int32(r)
	}
}

// Fleet returns the fleet the catalogue was built from.
func (c *Catalogue) Fleet() *immy.Fleet { return c.fleet }

// Order returns the ids of items in the order a session runs them when all of
// them are planned and none has prerequisites: onboarding-only tasks, then the
// beginning by position, the unordered items by id, the end by position.
func (c *Catalogue) Order() []string {
	out := make([]string, len(c.items))
	for k := range c.items {
		out[c.items[k].rank] = c.items[k].id
	}
	return out
}

// Latest returns the highest version of a software, or the zero Version when
// it has none or is not in the catalogue.
func (c *Catalogue) Latest(software string) immy.Version {
	if k, ok := c.software(software); ok && c.items[k].latest != nil {
		return *c.items[k].latest
	}
	return immy.Version{}
}

// Detect reads a software's state from an inventory with the software's
// detection (see the package documentation): the entry chosen among those its
// name or code matches, narrowed by publisher and versions, its version
// mapped. known is false when the inventory cannot tell: a script detects it,
// or it is not a software of the catalogue.
func (c *Catalogue) Detect(software string, inventory []immy.DetectedSoftware) (st SoftwareState, known bool) {
	k, ok := c.software(software)
	if !ok || c.items[k].detect == detectScript {
		return SoftwareState{}, false
	}
	if c.items[k].detect == detectNone {
		return SoftwareState{}, true
	}
	ch := c.choose(k, inventory)
	if ch.entry < 0 {
		return SoftwareState{}, true
	}
	return SoftwareState{Present: true, Version: *ch.j.ver}, true
}

// DetectExplained is Detect with every inventory entry the software's name or
// code matched, and what detection made of each: chosen, left out (with the
// publisher or version that does not fit) or lost. known is as for Detect.
func (c *Catalogue) DetectExplained(software string, inventory []immy.DetectedSoftware) (st SoftwareState, matches []EntryMatch, known bool) {
	k, ok := c.software(software)
	if !ok || c.items[k].detect == detectScript {
		return SoftwareState{}, nil, false
	}
	if c.items[k].detect == detectNone {
		return SoftwareState{}, nil, true
	}
	ch := c.choose(k, inventory)
	if ch.entry >= 0 {
		st = SoftwareState{Present: true, Version: *ch.j.ver}
	}
	return st, ch.matches, true
}

// codeHits appends the software whose product or upgrade code the entry has.
func (c *Catalogue) codeHits(e *immy.DetectedSoftware, dst []nameHit) []nameHit {
	if e.ProductCode != "" && c.detect.product != nil {
		for _, k := range c.detect.product[normCode(e.ProductCode)] {
			dst = append(dst, nameHit{item: k, exact: true})
		}
	}
	if e.UpgradeCode != "" && c.detect.upgrade != nil {
		for _, k := range c.detect.upgrade[normCode(e.UpgradeCode)] {
			dst = append(dst, nameHit{item: k, exact: true})
		}
	}
	return dst
}

// rules returns the prerequisites that apply when a software is brought to
// version v: the software's own, then those of that version.
func (it *item) rules(v *immy.Version, dst []*prereq) []*prereq {
	for i := range it.prereqs {
		dst = append(dst, &it.prereqs[i])
	}
	if v == nil {
		return dst
	}
	for i := range it.byVersion {
		if it.byVersion[i].version.Equal(*v) {
			for j := range it.byVersion[i].rules {
				dst = append(dst, &it.byVersion[i].rules[j])
			}
		}
	}
	return dst
}
