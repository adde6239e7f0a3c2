package resolver

import "slices"

// graph is the "installs first" relation between software: an edge v -> w
// when installing v may first install w (a prerequisite of v, at the software
// or at a version level, with then: install on w). Uninstall and fail rules add
// no edge: they never expand further, so "A removes B, B removes A" (two
// products that exclude each other) is not a cycle. Nodes are item indices,
// which order like ids.
type graph struct {
	adj   [][]int32
	field map[[2]int32]string // the field of the first rule that made each edge
}

func newGraph(n int) *graph {
	return &graph{adj: make([][]int32, n), field: map[[2]int32]string{}}
}

func (g *graph) addEdge(v, w int32, field string) {
	if _, ok := g.field[[2]int32{v, w}]; ok {
		return
	}
	g.field[[2]int32{v, w}] = field
	g.adj[v] = append(g.adj[v], w)
}

// cycle is one elementary cycle: path starts and ends at its smallest node;
// field is the rule of the path's first edge.
type cycle struct {
	path  []int32
	field string
}

// cycles lists the elementary cycles of g, at most limit of them, each from its
// smallest node, in a deterministic order: by first node, then in depth-first
// order with neighbours by id. It is Johnson's algorithm: strongly connected
// components first, then from each start node s a search over the nodes of s's
// component not below s, with blocking so that each search stays linear in the
// edges per cycle found.
func (g *graph) cycles(limit int) []cycle {
	for v := range g.adj {
		slices.Sort(g.adj[v])
	}
	comp := g.components()
	n := len(g.adj)
	var out []cycle
	blocked := make([]bool, n)
	blockedBy := make([][]int32, n)
	var stack []int32
	var unblock func(v int32)
	unblock = func(v int32) {
		blocked[v] = false
		for len(blockedBy[v]) > 0 {
			w := blockedBy[v][len(blockedBy[v])-1]
			blockedBy[v] = blockedBy[v][:len(blockedBy[v])-1]
			if blocked[w] {
				unblock(w)
			}
		}
	}
	for s := int32(0); int(s) < n && len(out) < limit; s++ {
		if !g.cyclic(s, comp) {
			continue
		}
		in := func(w int32) bool { return w >= s && comp[w] == comp[s] }
		var circuit func(v int32) bool
		circuit = func(v int32) bool {
			found := false
			stack = append(stack, v)
			blocked[v] = true
			for _, w := range g.adj[v] {
				if len(out) >= limit {
					break
				}
				if !in(w) {
					continue
				}
				if w == s {
					path := append(slices.Clone(stack), s)
					out = append(out, cycle{path: path, field: g.field[[2]int32{path[0], path[1]}]})
					found = true
				} else if !blocked[w] && circuit(w) {
					found = true
				}
			}
			if found {
				unblock(v)
			} else {
				for _, w := range g.adj[v] {
					if in(w) && !slices.Contains(blockedBy[w], v) {
						blockedBy[w] = append(blockedBy[w], v)
					}
				}
			}
			stack = stack[:len(stack)-1]
			return found
		}
		for v := range blocked {
			blocked[v] = false
			blockedBy[v] = blockedBy[v][:0]
		}
		circuit(s)
	}
	return out
}

// cyclic reports whether s lies on some cycle: its component has another node,
// or s has an edge to itself.
func (g *graph) cyclic(s int32, comp []int32) bool {
	for _, w := range g.adj[s] {
		if w == s || comp[w] == comp[s] {
			return true
		}
	}
	return false
}

// components numbers the strongly connected components (Tarjan's algorithm,
// iterative so that long chains cannot exhaust the stack).
func (g *graph) components() []int32 {
	n := len(g.adj)
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	comp := make([]int32, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int32
	type frame struct {
		v    int32
		next int
	}
	var calls []frame
	counter, ncomp := int32(0), int32(0)
	for root := range n {
		if index[root] >= 0 {
			continue
		}
		calls = append(calls, frame{v: int32(root)})
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			v := f.v
			if f.next < len(g.adj[v]) {
				w := g.adj[v][f.next]
				f.next++
				switch {
				case index[w] < 0:
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					calls = append(calls, frame{v: w})
				case onStack[w]:
					low[v] = min(low[v], index[w])
				}
				continue
			}
			if low[v] == index[v] {
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = ncomp
					if w == v {
						break
					}
				}
				ncomp++
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].v
				low[p] = min(low[p], low[v])
			}
		}
	}
	return comp
}
