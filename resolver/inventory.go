package resolver

import "github.com/immyoss/engine/immy"

// invState is the detected state of one computer read from its inventory.
type invState struct {
	cat    *Catalogue
	script []bool // per item: detected by a script, which the inventory cannot tell
	comp   *immy.Computer
	gen    uint32
	stamp  []uint32
	ver    []*immy.Version // per item, valid when stamp == gen: the version of the entry chosen
	ref    []vref          // and the inventory entry it was found in
	score  []uint8         // and how many of publisher and versions it is known to meet
	judged []bool          // and whether its filters kept it mapped, or for want of a publisher or version
	// per item, valid when seen == gen: an entry's name or code matched (kept
	// or not); many == gen: more than one did
	seen, many []uint32
}

// newInvState returns the inventory reader of a worker over cat's items.
func newInvState(cat *Catalogue) invState {
	n := len(cat.items)
	s := invState{cat: cat, script: make([]bool, n), stamp: make([]uint32, n), ver: make([]*immy.Version, n), ref: make([]vref, n), score: make([]uint8, n),
		judged: make([]bool, n), seen: make([]uint32, n), many: make([]uint32, n)}
	for k := range cat.items {
		s.script[k] = cat.items[k].detect == detectScript
	}
	return s
}

// load reads the computer's inventory: each entry's display name is looked up
// once per planner (names repeat across a fleet), its codes in the code index.
func (s *invState) load(c *immy.Computer, cache *nameCache, scratch *[]nameHit) {
	s.comp = c
	s.gen++
	if s.gen == 0 {
		clear(s.stamp)
		clear(s.seen)
		clear(s.many)
		s.gen = 1
	}
	for i := range c.Software {
		e := &c.Software[i]
		ref := newRef(refEntry, i)
		hits := cache.hits(&s.cat.detect, e.Name)
		for j := range hits {
			v := &hits[j].ver
			if v.IsZero() {
				v = &e.Version
			}
			s.found(hits[j].item, e, v, ref, hits[j].exact)
		}
		if e.ProductCode != "" || e.UpgradeCode != "" {
			*scratch = s.cat.codeHits(e, (*scratch)[:0])
			for _, h := range *scratch {
				s.found(h.item, e, &e.Version, ref, true)
			}
		}
	}
}

// found records a matching entry, judged by the item's filters (choice.go):
// an entry that is another software is left out; among the others the one
// known to meet the most filters wins, then one an exact name (or a code)
// matched, then the highest version, then the first entry among equals.
func (s *invState) found(it int32, e *immy.DetectedSoftware, v *immy.Version, ref vref, exact bool) {
	if s.seen[it] == s.gen {
		s.many[it] = s.gen
	}
	s.seen[it] = s.gen
	var score uint8
	judged := false
	if f := s.cat.items[it].filters; f != nil {
		j := f.judge(e, v)
		if !j.ok {
			return
		}
		v, score = j.ver, j.score
		judged = j.mapped || j.pubUnknown || j.verUnknown
	}
	score <<= 1
	if exact {
		score |= 1
	}
	if s.stamp[it] != s.gen {
		s.stamp[it] = s.gen
		s.ver[it], s.ref[it], s.score[it], s.judged[it] = v, ref, score, judged
		return
	}
	if score > s.score[it] || score == s.score[it] && s.ver[it].Less(*v) {
		s.ver[it], s.ref[it], s.score[it], s.judged[it] = v, ref, score, judged
	}
}

// tells reports whether the plan's detected_from of item it (found) has
// something to tell: more than one entry matched, or the chosen one was
// mapped or kept for want of knowing (entryChoice.worthTelling). It may
// say so where there is nothing (an entry counted by name and by code):
// the reader then finds "" (read.go).
func (s *invState) tells(it int32) bool {
	return s.stamp[it] == s.gen && (s.many[it] == s.gen || s.judged[it])
}

func (s *invState) software(it int32) (bool, *immy.Version, vref, Test, bool) {
	if s.script[it] {
		return false, nil, 0, TestUnknown, false
	}
	if s.stamp[it] == s.gen {
		return true, s.ver[it], s.ref[it], TestUnknown, true
	}
	return false, nil, 0, TestUnknown, true
}

func (s *invState) task(it int32) Test {
	if s.comp.Tasks == nil {
		return TestUnknown
	}
	passed, ok := s.comp.Tasks[s.cat.items[it].id]
	switch {
	case !ok:
		return TestUnknown
	case passed:
		return TestPassed
	}
	return TestFailed
}
