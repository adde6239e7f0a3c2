package plugins

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/immyoss/engine/immy"
)

// PathwayRunner runs scripts on computers through their pathways: the first
// online pathway in priority order (SortPathways) whose integration can run
// scripts. It moves on to the next pathway only when the script provably never
// reached the agent (an error matching both immy.ErrOffline and
// ErrNotDelivered: the plugin was not running, or said the agent was offline
// before the script began). Any other failure ends the run, since the script
// may have started: an error matching immy.ErrOffline then tells the session
// to wait and detect again before anything is re-run.
// It implements immy.ScriptRunner over computer ids.
type PathwayRunner struct {
	// Manager holds the integration instances the pathways name.
	Manager *Manager
	// Agent runs scripts through the engine's own agent (pathways with
	// Integration ""); the request's Computer is then the pathway's AgentID.
	// Nil when the engine has no agent of its own. Its errors move the run on
	// to the next pathway only when they wrap ErrNotDelivered beside
	// immy.ErrOffline.
	Agent immy.ScriptRunner
	// Computer looks a computer up by id, with its pathways (as the last
	// Identify returned them).
	Computer func(id string) (immy.Computer, bool)
}

var _ immy.ScriptRunner = (*PathwayRunner)(nil)

// RunScript runs req on the computer req.Computer. It fails with
// immy.ErrNotFound for an unknown computer, and immy.ErrOffline when no
// online pathway can run the script, or when the pathway that took it became
// unreachable during the run (see PathwayRunner).
func (r *PathwayRunner) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	if r.Computer == nil {
		return immy.ScriptResult{}, fmt.Errorf("plugins: PathwayRunner has no Computer lookup: %w", immy.ErrInvalid)
	}
	c, ok := r.Computer(req.Computer)
	if !ok {
		return immy.ScriptResult{}, fmt.Errorf("plugins: computer %q: %w", req.Computer, immy.ErrNotFound)
	}
	paths := slices.Clone(c.Pathways)
	SortPathways(paths)
	var offline []error
	for _, p := range paths {
		if !p.Online {
			continue
		}
		runner := r.runnerFor(p)
		if runner == nil {
			continue
		}
		sub := req
		sub.Computer = p.AgentID
		res, err := runner.RunScript(ctx, sub)
		if err == nil {
			return res, nil
		}
		if errors.Is(err, immy.ErrOffline) && errors.Is(err, ErrNotDelivered) && ctx.Err() == nil {
			offline = append(offline, err)
			continue
		}
		if errors.Is(err, immy.ErrOffline) {
			return immy.ScriptResult{}, fmt.Errorf("plugins: computer %q through %q: unreachable, the script may have started: %w", c.ID, p.Integration, err)
		}
		return immy.ScriptResult{}, fmt.Errorf("plugins: computer %q through %q: %w", c.ID, p.Integration, err)
	}
	if len(offline) > 0 {
		return immy.ScriptResult{}, fmt.Errorf("plugins: computer %q: every pathway is offline: %w", c.ID, errors.Join(offline...))
	}
	return immy.ScriptResult{}, fmt.Errorf("plugins: computer %q: no online pathway runs scripts: %w", c.ID, immy.ErrOffline)
}

func (r *PathwayRunner) runnerFor(p immy.Pathway) immy.ScriptRunner {
	if p.Integration == "" {
		return r.Agent
	}
	if r.Manager == nil {
		return nil
	}
	in, ok := r.Manager.Instance(p.Integration)
	if !ok || !in.Info().Has(CapRunScript) {
		return nil
	}
	return in
}
