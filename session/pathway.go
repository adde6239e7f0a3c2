package session

import (
	"errors"
	"fmt"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/inventory"
)

// A computer reached only through an integration (an RMM plugin whose runner
// runs scripts but is no inventory source) is inventoried with the built-in
// inventory script of its platform (package immy/inventory), run through the
// pathway's runner and read by the parser the engine's agent uses. A runner
// that is an immy.InventorySource answers natively, preferred; one that
// answers errors.ErrUnsupported (an integration without the capability)
// falls back to the script.

// inventoryThrough reads the computer's inventory through one pathway.
func (x *runCtx) inventoryThrough(p pathRunner) (immy.Inventory, error) {
	if src, ok := p.runner.(immy.InventorySource); ok {
		inv, err := src.Inventory(x.ctx, x.comp.ID)
		if !errors.Is(err, errors.ErrUnsupported) {
			return inv, x.pathwayErr(p, err)
		}
	}
	plat, ok := inventory.PlatformOf(x.comp.OS)
	if !ok {
		return immy.Inventory{}, x.pathwayErr(p, fmt.Errorf("no inventory script fits the computer's OS %q (and the pathway has no inventory of its own)", x.comp.OS))
	}
	sw, err := inventory.Collect(x.ctx, p.runner, x.comp.ID, plat)
	if err != nil {
		return immy.Inventory{}, x.pathwayErr(p, err)
	}
	return immy.Inventory{Software: sw}, nil
}

// pathwayName names a pathway in reasons and messages: its integration and
// agent, or "the engine's agent".
func (p pathRunner) name() string {
	switch {
	case p.integration == "" && p.agent == "":
		return "the engine's agent"
	case p.integration == "":
		return "the engine's agent " + p.agent
	case p.agent == "":
		return "integration " + p.integration
	}
	return "integration " + p.integration + " (agent " + p.agent + ")"
}

// pathwayError is an error of one pathway, which it names.
type pathwayError struct {
	pathway string
	err     error
}

func (e *pathwayError) Error() string { return e.pathway + ": " + e.err.Error() }
func (e *pathwayError) Unwrap() error { return e.err }

// pathwayErr names the pathway in err; nil stays nil.
func (x *runCtx) pathwayErr(p pathRunner, err error) error {
	if err == nil {
		return nil
	}
	return &pathwayError{pathway: p.name(), err: err}
}

// offlineError stops a session because no pathway reached its computer; it
// says which pathways were tried and why each failed. It matches errOffline.
type offlineError struct {
	why string
}

func (e *offlineError) Error() string { return "session: computer offline: " + e.why }
func (e *offlineError) Unwrap() error { return errOffline }

// offline turns the last error of the pathways tried into the stop error
// errOffline, keeping what it says of them.
func (x *runCtx) offline(last error) error {
	var pe *pathwayError
	if last != nil && errors.As(last, &pe) {
		return &offlineError{why: x.e.secrets.str(last.Error())}
	}
	return &offlineError{why: x.noPathwayWhy()}
}

// noPathwayWhy says why no pathway could be tried at all.
func (x *runCtx) noPathwayWhy() string {
	if len(x.comp.Pathways) == 0 {
		if x.e.cfg.Runner == nil {
			return "the computer has no pathways and the engine no agent runner"
		}
		return "the engine's agent runner answered offline"
	}
	var missing, down []string
	for _, p := range x.comp.Pathways {
		name := pathRunner{integration: p.Integration, agent: p.AgentID}.name()
		r := x.e.cfg.Runners[p.Integration]
		if p.Integration == "" {
			r = x.e.cfg.Runner
		}
		if r == nil {
			missing = append(missing, name)
		} else {
			down = append(down, name)
		}
	}
	var parts []string
	if len(down) > 0 {
		parts = append(parts, strings.Join(down, ", ")+" offline")
	}
	if len(missing) > 0 {
		parts = append(parts, "no runner configured for "+strings.Join(missing, ", "))
	}
	return strings.Join(parts, "; ")
}

// offlineMessage is what a session's status message says of an offline stop.
func offlineMessage(err error) string {
	var oe *offlineError
	if errors.As(err, &oe) {
		return "no pathway reached the computer: " + oe.why
	}
	return ""
}

// setStatusMessage records a status with its reason and message.
func (x *runCtx) setStatusMessage(st Status, reason, msg string) error {
	return x.e.commit(x.ctx, x.s, Record{Kind: RecordStatus, Status: st, Reason: reason, Message: msg}, nil)
}
