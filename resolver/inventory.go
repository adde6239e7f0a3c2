package resolver

import "github.com/immyoss/engine/immy"

// invState is the detected state of one computer read from its inventory.
type invState struct {
	cat    *Catalogue
	script []bool // per item: detected by a script, which the inventory cannot tell
	comp   *immy.Computer
	gen    uint32
	stamp  []uint32
	ver    []*immy.Version // per item, valid when stamp == gen: the highest version found
	ref    []vref          // and the inventory entry it was found in
}

// newInvState returns the inventory reader of a worker over cat's items.
func newInvState(cat *Catalogue) invState {
	n := len(cat.items)
	s := invState{cat: cat, script: make([]bool, n), stamp: make([]uint32, n), ver: make([]*immy.Version, n), ref: make([]vref, n)}
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
			s.found(hits[j].item, v, ref)
		}
		if e.ProductCode != "" || e.UpgradeCode != "" {
			*scratch = s.cat.codeHits(e, (*scratch)[:0])
			for _, h := range *scratch {
				s.found(h.item, &e.Version, ref)
			}
		}
	}
}

// found records a matching entry; the highest version wins, the first entry
// among equals.
func (s *invState) found(it int32, v *immy.Version, ref vref) {
	if s.stamp[it] != s.gen {
		s.stamp[it] = s.gen
		s.ver[it], s.ref[it] = v, ref
		return
	}
	if s.ver[it].Less(*v) {
		s.ver[it], s.ref[it] = v, ref
	}
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
