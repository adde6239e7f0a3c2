package targets

import "context"

// Grouping by what a run reads. A Lua filter compiled to closures whose
// fields as a whole are too diverse to group on (it reads the name, the
// UPNs, the software) often decides most computers without reading them:
// an early `if not starts_with(os, "Windows 11") then return false end`, a
// site compared before the name. The closures note each input a run reads
// (lframe.read), and they are a function of what they read: run on a
// computer that agrees with the first on every input the first run read,
// they read the same and end the same. So the matcher groups the computers
// by the chunk's inputs that can be grouped on, runs the chunk on each
// group's first computer, and keeps the result for the whole group when
// that run read none of the others; the other groups stay evaluated per
// computer. TestGroupByReadsMatchesPlain pins it to the per-computer path,
// TestLuaReadsCoverRun the noted reads to the closures.

// groupByReads evaluates Lua filter f by groups of the computers that agree
// on the inputs of its closures that can be grouped on, keeping the result
// of the groups whose run read no other input. It returns nil when no
// grouping fits or ctx is done.
func (m *Matcher) groupByReads(ctx context.Context, f int32) *groupResults {
	p := m.filters[f].f.chunk
	if len(p.inputs) > 63 || ctx.Err() != nil {
		return nil
	}
	var (
		by      []memoInput
		grouped uint64 // the bits of the inputs in by
	)
	for i, in := range p.inputs {
		if in.kind == memoNone {
			continue
		}
		if g := m.ix.grouping(newFieldSet([]memoInput{in})); !g.fine {
			by = append(by, in)
			grouped |= 1 << i
		}
	}
	if len(by) == len(p.inputs) {
		return nil // the grouping by every input, which groupWhole found too fine
	}
	gr := m.ix.grouping(newFieldSet(by))
	if gr.fine {
		return nil
	}
	n := len(m.ix.f.Computers)
	part := newGroupPart(gr)
	done := make([]bool, len(part.state))
	for c := range n {
		if c%1024 == 0 && ctx.Err() != nil {
			return nil // cancelled: each computer as it comes, which fails alike
		}
		k := part.group(c)
		if done[k] {
			continue
		}
		done[k] = true
		e := m.env(c)
		ok, decided, read := p.runReading(e.Computer, tenantOrEmpty(e.Tenant))
		switch {
		case !decided || read&^grouped != 0:
			// not known: left to each computer
		case ok:
			part.state[k] = stateTrue
		default:
			part.state[k] = stateFalse
		}
	}
	return (*groupResults)(nil).add(n, part)
}
