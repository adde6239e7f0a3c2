package resolver

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/immyoss/engine/immy"
)

// The narrowing of detection (see detect.go): an inventory entry whose name or
// code matched a software is judged against the software's Publishers and
// Versions, after VersionMap has turned its version into the release version.
//
// An entry whose publisher is not known ("" in the inventory), or whose version
// is not known (the zero Version), is not left out for it: an inventory that
// cannot tell must not make a present software absent and reinstall it. Such an
// entry only loses to one known to fit. The choice among the entries that
// remain, in order:
//
//  1. the entry known to meet the most of Publishers and Versions (a software
//     with neither compares every entry equal here);
//  2. an entry whose name a display-name glob without wildcards matched (of
//     DisplayNames [Git, "Git *"], the name Git itself), or that a product or
//     upgrade code found;
//  3. the highest (mapped) version;
//  4. the first entry of the inventory.
//
// The plan explains a choice that was made in the action's detected_from: the
// chosen entry and why, whenever more than one entry matched, the version was
// mapped, or the entry was kept for want of a publisher or version.

// versionMap is one compiled VersionMapping.
type versionMap struct {
	re *regexp.Regexp
	to string
}

// filters are what narrows an item's detection; nil for an item with none.
type filters struct {
	pubs nameMatchers
	cons *immy.Constraint
	vmap []versionMap
	// mapped versions by the text they map from, so that plans point at one
	// version per text; bounded by maxMapped
	mapped sync.Map // string -> *immy.Version
	n      atomic.Int64
	// publishers matched, by publisher: fleets repeat a few hundred
	pubHit sync.Map // string -> bool
	np     atomic.Int64
}

// publisherMatches reports whether a known publisher matches the globs.
func (f *filters) publisherMatches(p string) bool {
	if hit, ok := f.pubHit.Load(p); ok {
		return hit.(bool)
	}
	hit, _ := f.pubs.match(p, lowerASCII(p))
	if f.np.Load() < maxMapped {
		f.pubHit.Store(p, hit)
		f.np.Add(1)
	}
	return hit
}

const maxMapped = 1 << 14

// compileFilters compiles an item's Publishers, Versions and VersionMap; the
// problems name their field.
func compileFilters(d *immy.Detection, problem func(err error, field, format string, args ...any) immy.Problem) (*filters, []immy.Problem) {
	if len(d.Publishers) == 0 && d.Versions == "" && len(d.VersionMap) == 0 {
		return nil, nil
	}
	f := &filters{}
	var ps []immy.Problem
	for i, g := range d.Publishers {
		m, err := compileGlob(g)
		if err != nil {
			ps = append(ps, problem(immy.ErrInvalid, fmt.Sprintf("detection.publisher[%d]", i), "%v", err))
			continue
		}
		f.pubs = append(f.pubs, m)
	}
	if d.Versions != "" {
		c, err := immy.ParseConstraint(d.Versions)
		if err != nil {
			ps = append(ps, problem(immy.ErrInvalid, "detection.versions", "%s", strings.TrimPrefix(strings.TrimSuffix(err.Error(), ": "+immy.ErrInvalid.Error()), "immy: ")))
		} else {
			f.cons = &c
		}
	}
	for i, m := range d.VersionMap {
		rx, err := regexp.Compile(m.Match)
		if err != nil {
			ps = append(ps, problem(immy.ErrInvalid, fmt.Sprintf("detection.version_map[%d].match", i), "regex %q: %v", m.Match, err))
			continue
		}
		f.vmap = append(f.vmap, versionMap{re: rx, to: m.To})
	}
	return f, ps
}

// mapVersion turns a detected version into the release version by the first
// mapping whose regex matches its text; the version itself when none does.
// A mapping whose result is no version gives the zero Version: present,
// version unknown.
func (f *filters) mapVersion(v *immy.Version) *immy.Version {
	if len(f.vmap) == 0 || v.IsZero() {
		return v
	}
	text := v.String()
	if m, ok := f.mapped.Load(text); ok {
		return m.(*immy.Version)
	}
	out := v
	for _, vm := range f.vmap {
		idx := vm.re.FindStringSubmatchIndex(text)
		if idx == nil {
			continue
		}
		mv := immy.ParseInventoryVersion(string(vm.re.ExpandString(nil, vm.to, text, idx)))
		out = &mv
		break
	}
	if f.n.Load() < maxMapped {
		if m, loaded := f.mapped.LoadOrStore(text, out); loaded {
			return m.(*immy.Version)
		}
		f.n.Add(1)
	}
	return out
}

// judgement is what the filters say of one entry.
type judgement struct {
	ok                     bool          // the entry is this software
	ver                    *immy.Version // its version, mapped
	score                  uint8         // how many of publisher and versions it is known to meet
	mapped                 bool          // the version was mapped
	pubUnknown, verUnknown bool
	exact                  bool   // an exact name (a glob without wildcards) or a code matched
	why                    string // why it is left out
}

// judge reads an entry the item's name or code matched, v being the version
// the match gives (a regex capture or the entry's own).
func (f *filters) judge(e *immy.DetectedSoftware, v *immy.Version) judgement {
	if f == nil {
		return judgement{ok: true, ver: v}
	}
	j := judgement{ok: true, ver: f.mapVersion(v)}
	j.mapped = j.ver != v
	if len(f.pubs) > 0 {
		switch {
		case e.Publisher == "":
			j.pubUnknown = true
		case f.publisherMatches(e.Publisher):
			j.score++
		default:
			return judgement{ver: j.ver, why: fmt.Sprintf("publisher %q does not match", e.Publisher)}
		}
	}
	if f.cons != nil {
		switch {
		case j.ver.IsZero():
			j.verUnknown = true
		case f.cons.Check(*j.ver):
			j.score++
		default:
			return judgement{ver: j.ver, why: fmt.Sprintf("version %s is outside %s", j.ver, f.cons)}
		}
	}
	return j
}

// better reports whether a judgement (of a later entry) wins over the one
// chosen so far, by the rules above.
func (j *judgement) better(than *judgement) bool {
	if j.score != than.score {
		return j.score > than.score
	}
	if j.exact != than.exact {
		return j.exact
	}
	return than.ver.Less(*j.ver)
}

// decidedBy names the rule on which the chosen judgement beat another.
func (j *judgement) decidedBy(other *judgement) string {
	switch {
	case j.score != other.score:
		return "publisher and versions known to match"
	case j.exact != other.exact:
		return "an exact name"
	case j.ver.Compare(*other.ver) != 0:
		return "the highest version"
	}
	return "the first in the inventory"
}

// EntryMatch is one inventory entry that a software's display name or code
// matched, and what detection made of it.
type EntryMatch struct {
	Name      string `json:"name"`
	Publisher string `json:"publisher,omitempty"`
	Version   string `json:"version"`  // as the inventory reports it
	Detected  string `json:"detected"` // the version detection reads, mapped; "" when unknown
	Chosen    bool   `json:"chosen,omitempty"`
	// Why: for the chosen entry, why it was chosen; for another, why it is
	// left out or lost.
	Why string `json:"why"`
}

// entryChoice is the choice among the entries of one inventory for one item.
type entryChoice struct {
	entry   int // the chosen entry, -1 for none
	j       judgement
	matches []EntryMatch
	kept    int // entries that remained after the filters
}

// choose judges every entry of an inventory for item k.
func (c *Catalogue) choose(k int32, inventory []immy.DetectedSoftware) entryChoice {
	ch := entryChoice{entry: -1}
	it := &c.items[k]
	names := c.detect.names[k]
	var hits []nameHit
	js := make([]judgement, 0, 4)
	idx := make([]int, 0, 4)
	for i := range inventory {
		e := &inventory[i]
		v := &e.Version
		hit, exact := false, false
		if len(names) > 0 {
			lower := lowerASCII(e.Name)
			if ok, cv := names.match(e.Name, lower); ok {
				hit, exact = true, names.exact(e.Name, lower)
				if !cv.IsZero() {
					v = &cv
				}
			}
		}
		if !hit {
			hits = c.codeHits(e, hits[:0])
			for _, h := range hits {
				hit = hit || h.item == k
			}
			exact = hit
		}
		if !hit {
			continue
		}
		j := it.filters.judge(e, v)
		j.exact = exact
		js, idx = append(js, j), append(idx, i)
		if !j.ok {
			continue
		}
		ch.kept++
		if ch.entry < 0 || j.better(&ch.j) {
			ch.entry, ch.j = i, j
		}
	}
	for n, i := range idx {
		e, j := &inventory[i], &js[n]
		m := EntryMatch{Name: e.Name, Publisher: e.Publisher, Version: e.Version.String()}
		if j.ver != nil {
			m.Detected = j.ver.String()
		}
		switch {
		case !j.ok:
			m.Why = "left out: " + j.why
		case i == ch.entry:
			m.Chosen = true
			// the rule it won on: against the best of the others that fit
			var second *judgement
			for n2, i2 := range idx {
				if o := &js[n2]; i2 != i && o.ok && (second == nil || o.better(second)) {
					second = o
				}
			}
			m.Why = ch.reason(len(idx), second)
		default:
			m.Why = "lost on " + ch.j.decidedBy(j)
		}
		ch.matches = append(ch.matches, m)
	}
	return ch
}

// reason says why the chosen entry was chosen among the n entries the name
// or code matched; second is the best of the others that fit.
func (ch *entryChoice) reason(n int, second *judgement) string {
	var parts []string
	switch {
	case n == 1:
		parts = append(parts, "the only entry that matches")
	case ch.kept == 1:
		parts = append(parts, fmt.Sprintf("the only one of %d matching entries that fits", n))
	default:
		parts = append(parts, fmt.Sprintf("chosen of %d entries that fit, on %s", ch.kept, ch.j.decidedBy(second)))
	}
	if ch.j.pubUnknown {
		parts = append(parts, "publisher unknown")
	}
	if ch.j.verUnknown {
		parts = append(parts, "version unknown")
	}
	if ch.j.mapped {
		parts = append(parts, "version mapped")
	}
	return strings.Join(parts, "; ")
}

// worthTelling reports whether the plan explains the choice: more than one
// entry matched, or the chosen one was mapped or kept for want of knowing.
func (ch *entryChoice) worthTelling() bool {
	return ch.entry >= 0 && (len(ch.matches) > 1 || ch.j.mapped || ch.j.pubUnknown || ch.j.verUnknown)
}

// detectedFrom is the plan's detected_from of an action on item k of a
// computer with this inventory: the chosen entry and why, or "" when there
// was no choice to explain.
func (c *Catalogue) detectedFrom(k int32, inventory []immy.DetectedSoftware) string {
	if k < 0 || int(k) >= len(c.items) || c.items[k].sw == nil || c.items[k].detect != detectInventory {
		return ""
	}
	ch := c.choose(k, inventory)
	if !ch.worthTelling() {
		return ""
	}
	m := ch.matches[0]
	for _, x := range ch.matches {
		if x.Chosen {
			m = x
		}
	}
	s := m.Name
	if m.Publisher != "" {
		s += " (" + m.Publisher + ")"
	}
	if m.Version != "" {
		s += " " + m.Version
	}
	if m.Detected != m.Version && m.Detected != "" {
		s += " as " + m.Detected
	}
	return s + ": " + m.Why
}

// MapVersion turns a version that detection found for a software some other
// way (a detection script's output) into the release version by the
// software's version map, as inventory detection does; v itself when the
// software has no mapping that matches, or is not in the catalogue.
func (c *Catalogue) MapVersion(software string, v immy.Version) immy.Version {
	k, ok := c.software(software)
	if !ok || c.items[k].filters == nil {
		return v
	}
	return *c.items[k].filters.mapVersion(&v)
}
