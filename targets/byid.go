package targets

import (
	"context"
	"fmt"

	"github.com/immyoss/engine/immy"
)

// The methods below take and return ids where Match, Resolve and Explain take
// and return indexes: for callers that hold a deployment's or a computer's id
// (a command line, an HTTP handler) rather than its place in the fleet. They
// agree with the index forms, which a hot loop should keep using.

// Deployment returns the index, among the deployments given to Compile, of
// the deployment with this id.
func (m *Matcher) Deployment(id string) (int, bool) {
	for i := range m.deps {
		if m.deps[i].ID == id {
			return i, true
		}
	}
	return -1, false
}

// ResolveID is Resolve by deployment id: the ids of the computers its target
// selects, sorted. A filter that fails on some computers leaves them out and
// returns the others with the [FilterErrors], as Resolve does.
func (m *Matcher) ResolveID(ctx context.Context, deployment string) ([]string, error) {
	i, ok := m.Deployment(deployment)
	if !ok {
		return nil, fmt.Errorf("targets: no deployment %q: %w", deployment, immy.ErrNotFound)
	}
	cs, err := m.Resolve(ctx, i)
	if _, partial := partialMatch(err); err != nil && !partial {
		return nil, err
	}
	return m.computerIDs(cs), err
}

// MatchID is Match by computer id: the ids of the deployments whose target
// selects the computer, in the order given to Compile. A filter that fails at
// run time leaves its deployments out and returns the others with the
// [FilterErrors], as Match does.
func (m *Matcher) MatchID(ctx context.Context, computer string) ([]string, error) {
	c, ok := m.ix.Computer(computer)
	if !ok {
		return nil, fmt.Errorf("targets: no computer %q: %w", computer, immy.ErrNotFound)
	}
	ds, err := m.Match(ctx, c, nil)
	ids := make([]string, len(ds))
	for k, i := range ds {
		ids[k] = m.deps[i].ID
	}
	return ids, err
}

// ExplainID is Explain by ids: why the computer is in or out of the
// deployment's target.
func (m *Matcher) ExplainID(ctx context.Context, deployment, computer string) (Explanation, error) {
	i, ok := m.Deployment(deployment)
	if !ok {
		return Explanation{}, fmt.Errorf("targets: no deployment %q: %w", deployment, immy.ErrNotFound)
	}
	c, ok := m.ix.Computer(computer)
	if !ok {
		return Explanation{}, fmt.Errorf("targets: no computer %q: %w", computer, immy.ErrNotFound)
	}
	return m.Explain(ctx, i, c)
}

func (m *Matcher) computerIDs(cs []int) []string {
	all := m.ix.Fleet().Computers
	ids := make([]string, len(cs))
	for k, c := range cs {
		ids[k] = all[c].ID
	}
	return ids
}
