package targets

import (
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
)

// lists holds a short list of indices per computer in one array, so that a
// fleet's hundred thousand lists are two arrays, not a hundred thousand
// small ones (nor as many slice headers for the collector to scan).
type lists struct {
	at   []span // by computer
	vals []int32
}

type span struct{ start, n int32 }

// of returns the list of computer c.
func (l *lists) of(c int) []int32 {
	s := l.at[c]
	return l.vals[s.start : s.start+s.n : s.start+s.n]
}

func (ix *Index) buildTags() {
	ix.tagIDs = map[string]int32{}
	f := ix.f
	tTags := make([][]int32, len(f.Tenants))
	for _, t := range ix.tenantsByRank {
		tTags[t] = internAll(ix.tagIDs, f.Tenants[t].Tags)
		for _, g := range tTags[t] {
			ix.tagTenants = grow(ix.tagTenants, g)
			ix.tagTenants[g] = append(ix.tagTenants[g], t)
		}
	}
	pTags := make([][]int32, len(f.Persons))
	for p := range f.Persons {
		pTags[p] = internAll(ix.tagIDs, f.Persons[p].Tags)
		for _, g := range pTags[p] {
			ix.tagPersons = grow(ix.tagPersons, g)
			ix.tagPersons[g] = append(ix.tagPersons[g], int32(p))
		}
	}
	ix.cTags = lists{at: make([]span, len(f.Computers))}
	vals := ix.cTags.vals
	for _, c := range ix.byRank {
		start := len(vals)
		vals = appendInterned(vals, start, ix.tagIDs, f.Computers[c].Tags)
		for _, g := range vals[start:] { // its own
			ix.tagComputers = grow(ix.tagComputers, g)
			ix.tagComputers[g] = append(ix.tagComputers[g], c)
		}
		add := func(tags []int32) {
			for _, g := range tags {
				if !slices.Contains(vals[start:], g) {
					vals = append(vals, g)
				}
			}
		}
		if t := ix.cTenant[c]; t >= 0 {
			add(tTags[t])
		}
		if p := ix.cPrimary[c]; p >= 0 {
			add(pTags[p])
		}
		ix.cTags.at[c] = span{int32(start), int32(len(vals) - start)}
	}
	ix.cTags.vals = vals
	n := int32(len(ix.tagIDs))
	ix.tagComputers = grow(ix.tagComputers, n-1)
	ix.tagTenants = grow(ix.tagTenants, n-1)
	ix.tagPersons = grow(ix.tagPersons, n-1)
}

func (ix *Index) buildDeviceGroups() {
	ix.deviceGroupIDs = map[string]int32{}
	ix.cDeviceGroups = lists{at: make([]span, len(ix.f.Computers))}
	var vals []int32
	for _, c := range ix.byRank {
		start := len(vals)
		vals = appendInterned(vals, start, ix.deviceGroupIDs, ix.f.Computers[c].DeviceGroups)
		ix.cDeviceGroups.at[c] = span{int32(start), int32(len(vals) - start)}
		for _, g := range vals[start:] {
			ix.deviceGroupMember = grow(ix.deviceGroupMember, g)
			ix.deviceGroupMember[g] = append(ix.deviceGroupMember[g], c)
		}
	}
	ix.cDeviceGroups.vals = vals
}

func (ix *Index) buildClientGroups() {
	ix.clientGroupIDs = map[string]int32{}
	ix.tClientGroups = make([][]int32, len(ix.f.Tenants))
	for _, a := range ix.f.Agreements {
		t, ok := ix.tenantIDs[a.Tenant]
		if !ok || a.ClientGroup == "" || !a.ActiveOn(ix.day) {
			continue
		}
		g := intern(ix.clientGroupIDs, a.ClientGroup)
		if slices.Contains(ix.tClientGroups[t], g) {
			continue
		}
		ix.tClientGroups[t] = append(ix.tClientGroups[t], g)
		ix.clientTenants = grow(ix.clientTenants, g)
		ix.clientTenants[g] = append(ix.clientTenants[g], t)
	}
	for _, ts := range ix.clientTenants {
		ix.sortTenants(ts)
	}
}

// buildGroups resolves every group to its computers: static members, the
// computers of person members through affinity, and nested groups.
func (ix *Index) buildGroups() immy.Problems {
	gs := ix.f.Groups
	ps := ix.groupCycles()
	if len(ps) > 0 {
		return ps
	}
	ix.groupComputers = make([][]int32, len(gs))
	done := make([]bool, len(gs))
	var resolve func(g int32) []int32
	resolve = func(g int32) []int32 {
		if done[g] {
			return ix.groupComputers[g]
		}
		done[g] = true // no cycles: set before the nested walk only to be safe
		var out []int32
		for _, m := range gs[g].Members {
			if gs[g].Kind != immy.GroupComputers {
				if p, ok := ix.personIDs[m]; ok {
					out = append(out, ix.personComputers[p]...)
				}
			}
			if c, ok := ix.computerIDs[m]; ok {
				out = append(out, c)
			}
		}
		for _, n := range gs[g].Groups {
			if k, ok := ix.groupIDs[n]; ok {
				out = append(out, resolve(k)...)
			}
		}
		out = ix.sortComputers(out)
		ix.groupComputers[g] = out
		return out
	}
	// each computer's groups, in group order: counted, then placed
	at := make([]span, len(ix.f.Computers))
	named := func(g int) bool { return ix.groupIDs[gs[g].ID] == int32(g) } // else a duplicate id: nothing can name it
	total := int32(0)
	for g := range gs {
		if named(g) {
			for _, c := range resolve(int32(g)) {
				at[c].n++
				total++
			}
		}
	}
	start := int32(0)
	for c := range at {
		at[c].start, start = start, start+at[c].n
		at[c].n = 0
	}
	vals := make([]int32, total)
	for g := range gs {
		if named(g) {
			for _, c := range ix.groupComputers[g] {
				vals[at[c].start+at[c].n] = int32(g)
				at[c].n++
			}
		}
	}
	ix.cGroups = lists{at: at, vals: vals}
	return nil
}

// groupCycles reports every cycle of group nesting once, from its smallest id.
func (ix *Index) groupCycles() immy.Problems {
	gs := ix.f.Groups
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(gs))
	var stack []int32
	seen := map[string]bool{}
	var ps immy.Problems
	var visit func(g int32)
	visit = func(g int32) {
		color[g] = grey
		stack = append(stack, g)
		for _, n := range gs[g].Groups {
			k, ok := ix.groupIDs[n]
			if !ok {
				continue
			}
			switch color[k] {
			case white:
				visit(k)
			case grey:
				at := slices.Index(stack, k)
				cyc := stack[at:]
				m := 0
				for j := range cyc {
					if gs[cyc[j]].ID < gs[cyc[m]].ID {
						m = j
					}
				}
				path := make([]string, 0, len(cyc)+1)
				for j := range cyc {
					path = append(path, gs[cyc[(m+j)%len(cyc)]].ID)
				}
				path = append(path, path[0])
				key := strings.Join(path, "\x00")
				if !seen[key] {
					seen[key] = true
					first := cyc[m]
					ps = append(ps, immy.Problem{
						Section: "groups", Index: int(first), ID: gs[first].ID, Field: "groups",
						Message: "nested group cycle: " + strings.Join(path, " -> "),
						Err:     &immy.CycleError{Kind: "group", Path: path},
					})
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[g] = black
	}
	order, _ := rankBy(len(gs), func(i int) string { return gs[i].ID })
	for _, g := range order {
		if color[g] == white {
			visit(g)
		}
	}
	return ps
}
