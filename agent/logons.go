package agent

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
)

// Reported is an inventory an agent sent, as Config.OnInventory is told it:
// for a fleet store's presence and logons (a fleetstore.Inventory with
// LastSeen Time, the software and OS of Inventory, and Logons).
type Reported struct {
	AgentID   string
	Computer  string    // the computer the inventory was asked for
	Time      time.Time // when it arrived
	Inventory immy.Inventory
	// Logons are the users logged on now who were not at the agent's
	// previous report (since the server started), oldest first: a user who
	// stays logged on counts once, one who logs off and on again between
	// two reports counts again, so that a rolling list of logons counts how
	// often each person uses the computer. The first report after the
	// server starts counts every user logged on then.
	Logons []string
}

// maxTrackedUsers bounds the users remembered per agent.
const maxTrackedUsers = 64

// logonTracker remembers the users each agent last reported logged on.
type logonTracker struct {
	mu    sync.Mutex
	users map[string][]string // agent id -> its users, newest first
}

// logons returns the users of upns (newest first, as agents report them)
// that the agent's previous report did not have, oldest first, and
// remembers upns.
func (l *logonTracker) logons(agentID string, upns []string) []string {
	upns = upns[:min(len(upns), maxTrackedUsers)]
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users == nil {
		l.users = map[string][]string{}
	}
	before := l.users[agentID]
	var out []string
	for _, u := range slices.Backward(upns) {
		if !slices.ContainsFunc(before, func(b string) bool { return strings.EqualFold(b, u) }) {
			out = append(out, u)
		}
	}
	l.users[agentID] = slices.Clone(upns)
	return out
}

// forget drops what is remembered of an agent that is gone.
func (l *logonTracker) forget(agentID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, agentID)
}
