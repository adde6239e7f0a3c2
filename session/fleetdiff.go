package session

import (
	"bytes"
	"unsafe"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// fleetChanges returns what changed from old to next, for
// resolver.Planner.Update: the ids of the entities of each section that are
// not the same value in both (or are in one only). A FleetSource makes a
// revision from the one before by copying what did not change (a store
// never changes an entity in place: an entity that changes gets new slices
// and maps), so an entity is the same when its memory is the same, bit for
// bit: its texts, slices and maps are the same ones. An equal entity made
// anew is listed, which costs the update some work and changes none of its
// results. TestLivingUpdateEqualsRebuild pins the planners updated with it
// to the planners made afresh.
func fleetChanges(old, next *immy.Fleet) resolver.Changes {
	return resolver.Changes{
		Settings:    !old.At.Equal(next.At),
		Tenants:     changedIDs(old.Tenants, next.Tenants, func(t *immy.Tenant) string { return t.ID }),
		Persons:     changedIDs(old.Persons, next.Persons, func(p *immy.Person) string { return p.ID }),
		Computers:   changedIDs(old.Computers, next.Computers, func(c *immy.Computer) string { return c.ID }),
		Groups:      changedIDs(old.Groups, next.Groups, func(g *immy.Group) string { return g.ID }),
		Agreements:  changedIDs(old.Agreements, next.Agreements, func(a *immy.Agreement) string { return a.ID }),
		Software:    changedIDs(old.Software, next.Software, func(s *immy.Software) string { return s.ID }),
		Tasks:       changedIDs(old.Tasks, next.Tasks, func(t *immy.Task) string { return t.ID }),
		Deployments: changedIDs(old.Deployments, next.Deployments, func(d *immy.Deployment) string { return d.ID }),
		Schedules:   changedIDs(old.Schedules, next.Schedules, func(s *immy.Schedule) string { return s.ID }),
	}
}

// changedIDs lists the ids of the entities of next that old does not hold
// as the same value, and of those of old that next does not hold.
func changedIDs[T any](old, next []T, id func(*T) string) []string {
	var out []string
	if len(old) == len(next) {
		// most revisions keep every entity in its place
		i := 0
		for ; i < len(next); i++ {
			if id(&old[i]) != id(&next[i]) {
				break
			}
			if !sameValue(&old[i], &next[i]) {
				out = append(out, id(&next[i]))
			}
		}
		if i == len(next) {
			return out
		}
		out = out[:0]
	}
	before := make(map[string]*T, len(old))
	for i := range old {
		before[id(&old[i])] = &old[i]
	}
	for i := range next {
		k := id(&next[i])
		if o, ok := before[k]; !ok || !sameValue(o, &next[i]) {
			out = append(out, k)
		}
		delete(before, k)
	}
	for i := range old {
		if _, gone := before[id(&old[i])]; gone {
			out = append(out, id(&old[i]))
		}
	}
	return out
}

// sameValue reports whether *a and *b are the same in memory, bit for bit
// (the same texts, slices and maps, not merely equal ones).
func sameValue[T any](a, b *T) bool {
	if a == b {
		return true
	}
	n := unsafe.Sizeof(*a)
	return bytes.Equal(unsafe.Slice((*byte)(unsafe.Pointer(a)), n), unsafe.Slice((*byte)(unsafe.Pointer(b)), n))
}
