package targets

import "context"

// Wanted is a set of deployments (indices into the list given to Compile):
// bit i%64 of word i/64 is set for deployment i. A caller that will drop
// most of a computer's matches anyway (a planner: disabled deployments,
// optional ones not approved for the computer, those of another session)
// hands it to MatchOf and MatchSplitOf, so that filters only they would
// need are not evaluated.
type Wanted []uint64

// NewWanted returns an empty set for n deployments.
func NewWanted(n int) Wanted { return make(Wanted, (n+63)/64) }

// Add adds deployment i (which must be below the set's n).
func (w Wanted) Add(i int) { w[i>>6] |= 1 << (i & 63) }

// Has reports whether deployment i is in the set.
func (w Wanted) Has(i int) bool { return uint(i>>6) < uint(len(w)) && w[i>>6]&(1<<(i&63)) != 0 }

// anyOf reports whether any deployment of g is in the set. Most groups
// have one deployment: its bit is found without reaching g.deps.
func (w Wanted) anyOf(g *filterGroup) bool {
	if w.Has(int(g.dep0)) {
		return true
	}
	for _, i := range g.deps[1:] {
		if w.Has(int(i)) {
			return true
		}
	}
	return false
}

// MatchOf is Match for a caller that needs only the deployments of want
// (nil: every one). A filter target's deployment outside want may be left
// out of the result and of its FilterErrors: its filter is evaluated on c
// only when a deployment of want shares it. Every match and filter error
// of a deployment in want is as Match gives it. Other targets cost nothing
// to match and are returned as Match returns them, whatever want says, as
// are the shared matches (AppendShared, which have no filters).
func (m *Matcher) MatchOf(ctx context.Context, c int, dst []int, want Wanted) ([]int, error) {
	return m.match(ctx, c, dst, want)
}

// MatchSplitOf is MatchSplit with want as for MatchOf.
func (m *Matcher) MatchSplitOf(ctx context.Context, c int, dst []int32, want Wanted) (group int, out []int32, err error) {
	return m.matchSplit(ctx, c, dst, want)
}
