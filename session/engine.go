package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/luasandbox"
	"github.com/immyoss/engine/resolver"
)

// Defaults of Config.
const (
	DefaultMaxRunning        = 256
	DefaultScriptTimeout     = 30 * time.Minute
	DefaultMetascriptTimeout = 10 * time.Minute
	DefaultMaxOutput         = 64 << 10
)

// Config configures an Engine. Planner (or Fleet) and a way to reach
// computers (Runner or Runners) are required; every other field has a useful
// zero value.
type Config struct {
	// Planner decides winners and plans actions over the fleet.
	Planner *resolver.Planner
	// Fleet, when set, is a fleet that changes (a session/fleetstore
	// Store): each session plans from its current revision (or, when Fleet
	// is a ChangeTracker, from an older one that equals it in everything
	// the session reads), and records that revision in the journal; a
	// session that has its plan keeps it (see "A living fleet" in the
	// package documentation). Planner is then
	// the planner of the revision Fleet has when New is called, or nil to
	// have one made.
	Fleet FleetSource
	// NewPlanner makes the planner of a revision of Fleet; nil makes one
	// with the zero targets.Config and resolver.Config.
	NewPlanner func(*immy.Fleet) (*resolver.Planner, error)
	// InventorySink, when set, is told what each session learnt of its
	// computer (its software, with versions and publishers, its OS, that it
	// was online and when): the inventory it read last in each run.
	InventorySink InventorySink
	// Runner runs scripts through the engine's own agent: on computers
	// without pathways, and on pathways whose Integration is "".
	Runner immy.ScriptRunner
	// Runners run scripts through integrations, by integration instance id
	// (immy.Pathway.Integration). The runner of a computer is picked among
	// its online pathways, highest priority first.
	Runners map[string]immy.ScriptRunner
	// Inventory reads computers' inventories; nil uses the picked runner
	// when it is also an immy.InventorySource.
	Inventory immy.InventorySource
	// Journal keeps every state change; nil means a fresh MemoryJournal.
	Journal Journal
	// Notifier tells users before and after execution, in sessions whose
	// request asks for it; nil tells no one.
	Notifier Notifier
	// MaxRunning caps the sessions running at once; zero means
	// DefaultMaxRunning. Others wait in a queue: ad hoc first, then
	// onboarding, then scheduled, each in the order they came.
	MaxRunning int
	// ScriptTimeout bounds each script run on a computer; zero means
	// DefaultScriptTimeout.
	ScriptTimeout time.Duration
	// MetascriptTimeout bounds each metascript and cloud script, the
	// scripts it runs on its computer included; zero means
	// DefaultMetascriptTimeout. Lua's own work is bounded sooner, by the
	// sandbox's instruction and memory budgets (internal/luasandbox): an
	// endless loop stops after its instruction budget, not its timeout.
	MetascriptTimeout time.Duration
	// MaxOutput caps the output kept of each script, in bytes; zero means
	// DefaultMaxOutput.
	MaxOutput int
	// Now is the clock (business hours, record times); nil means time.Now.
	Now func() time.Time
	// Dispatcher, when set, makes the engine one of several processes that
	// share a journal and a queue: Start journals a session and hands it to
	// the Dispatcher instead of queueing it here, and whichever process is
	// handed it calls Work. The journal must then be a SessionReplayer.
	// See "Dispatch" in the package documentation.
	Dispatcher Dispatcher
	// NewID numbers sessions started without an id. Nil numbers them s1,
	// s2, ... in one process, and with a random 128-bit id (32 hex digits)
	// when a Dispatcher is set, so that processes never collide.
	NewID func() string
	// RebootTimeout bounds the wait for a computer rebooted before changes
	// (a reboot was pending) to come back; zero means DefaultRebootTimeout.
	// RebootPoll is how often it is asked meanwhile; zero means
	// DefaultRebootPoll. See rebootfirst.go.
	RebootTimeout time.Duration
	RebootPoll    time.Duration
	// Integrations answers server scripts' integration(method, args)
	// calls, for the tenant each is bound to (integration.go); nil fails
	// them.
	Integrations Integrations
}

// Engine runs maintenance sessions. It is safe for concurrent use. Create it
// with New; call Resume first when its journal holds sessions of an earlier
// engine, and Close when done.
type Engine struct {
	*engineCore // what every revision of the fleet shares
	*fleetView  // the revision of the fleet this value plans and runs from
}

// fleetView is one revision of the fleet, indexed (living.go).
type fleetView struct {
	rev      int64 // the FleetSource's revision; 0 without one
	planner  *resolver.Planner
	cat      *resolver.Catalogue
	fleet    *immy.Fleet
	cindex   map[string]int // computer id -> its place in fleet.Computers; shared by revisions that keep the places
	tenants  map[string]*immy.Tenant
	software map[string]*immy.Software
	tasks    map[string]*immy.Task
	deps     map[string]*immy.Deployment
	secrets  redactor // every password value of the fleet: for errors that belong to no task
}

// engineCore is the state of an Engine: its sessions, queue and journal.
// Each revision of a living fleet is an Engine value over the same core.
type engineCore struct {
	cfg     Config
	journal Journal
	root    *Engine // the Engine New returned

	// the Engine of the FleetSource's latest revision (living.go)
	vmu    sync.Mutex
	latest atomic.Pointer[Engine]

	// Scheduling. mu guards the queue; a session's own smu guards its
	// scheduling state; lock mu before smu. Sessions that end take no
	// engine-wide lock while nothing is queued, so that many sessions run
	// and end at once without queueing on one mutex.
	mu       sync.Mutex
	queue    sessHeap
	queued   atomic.Int64
	running  atomic.Int64
	closed   atomic.Bool
	sessions sync.Map // id -> *sess
	active   sync.Map // computer -> *sess: its session that has not ended
	nextID   atomic.Uint64
	order    atomic.Uint64

	hub        hub
	serial     sync.Map // task id -> chan struct{}: execute-serially locks
	pathOnline sync.Map // pathKey -> bool: what the engine learnt of pathways
	lua        *luasandbox.Pool
	protos     sync.Map // script body -> *compiled
	wg         sync.WaitGroup
	slots      chan struct{}                           // Work: one per session worked at once, MaxRunning in all
	afterFunc  func(time.Duration, func()) *time.Timer // wakes postponed sessions: time.AfterFunc; tests replace it
}

// errors that stop a session's goroutine without ending the session
var (
	errShutdown = errors.New("session: engine closed")
	errCancel   = errors.New("session: cancelled")
)

// Errors of the engine's API.
var (
	// ErrBusy: the computer already has a session that has not ended.
	ErrBusy = errors.New("computer has an active session")
	// ErrClosed: the engine is closed.
	ErrClosed = errors.New("engine closed")
)

// BusyError reports the active session that keeps a new one from starting.
type BusyError struct {
	Computer string
	Session  string // the active session's id
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("session: computer %q already has active session %q", e.Computer, e.Session)
}

// Unwrap makes errors.Is(err, ErrBusy) hold.
func (e *BusyError) Unwrap() error { return ErrBusy }

// JournalError is a journal write that failed: the session stopped where it
// was, as after a crash, and is resumed by an engine that calls Resume.
type JournalError struct {
	Session string
	Err     error
}

func (e *JournalError) Error() string {
	return fmt.Sprintf("session %q stopped: journal: %v", e.Session, e.Err)
}

func (e *JournalError) Unwrap() error { return e.Err }

// New returns an engine. It indexes the planner's fleet once; a fleet that
// changes is a Config.Fleet, whose revisions the engine indexes as sessions
// come to them.
func New(cfg Config) (*Engine, error) {
	if cfg.Planner == nil && cfg.Fleet == nil {
		return nil, fmt.Errorf("session: Config.Planner or Config.Fleet is required: %w", immy.ErrInvalid)
	}
	if cfg.Runner == nil && len(cfg.Runners) == 0 {
		return nil, fmt.Errorf("session: Config.Runner or Config.Runners is required: %w", immy.ErrInvalid)
	}
	if cfg.MaxRunning <= 0 {
		cfg.MaxRunning = DefaultMaxRunning
	}
	if cfg.ScriptTimeout <= 0 {
		cfg.ScriptTimeout = DefaultScriptTimeout
	}
	if cfg.MetascriptTimeout <= 0 {
		cfg.MetascriptTimeout = DefaultMetascriptTimeout
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	if cfg.RebootTimeout <= 0 {
		cfg.RebootTimeout = DefaultRebootTimeout
	}
	if cfg.RebootPoll <= 0 {
		cfg.RebootPoll = DefaultRebootPoll
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Journal == nil {
		cfg.Journal = &MemoryJournal{}
	}
	if cfg.Dispatcher != nil {
		if _, ok := cfg.Journal.(SessionReplayer); !ok {
			return nil, fmt.Errorf("session: Config.Dispatcher needs a Config.Journal that is a SessionReplayer: %w", immy.ErrInvalid)
		}
	}
	view, err := firstView(&cfg) // living.go
	if err != nil {
		return nil, err
	}
	core := &engineCore{
		cfg: cfg, journal: cfg.Journal,
		slots:     make(chan struct{}, cfg.MaxRunning),
		afterFunc: time.AfterFunc,
	}
	e := &Engine{engineCore: core, fleetView: view}
	core.root = e
	core.latest.Store(e)
	e.lua = luasandbox.NewPool(0, luasandbox.Config{Library: serverLibrary, Timeout: cfg.MetascriptTimeout})
	return e, nil
}

// fleetSecrets returns every password value of a fleet: the defaults of
// tasks' password parameters and the values deployments give them.
func fleetSecrets(f *immy.Fleet) []string {
	var out []string
	add := func(v any) {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	passwords := map[string][]string{} // task id -> its password parameters
	for i := range f.Tasks {
		for _, p := range f.Tasks[i].Parameters {
			if p.Type == immy.ParamPassword {
				passwords[f.Tasks[i].ID] = append(passwords[f.Tasks[i].ID], p.Name)
				add(p.Default)
			}
		}
	}
	for i := range f.Deployments {
		d := &f.Deployments[i]
		for _, name := range passwords[d.Item] {
			add(d.Parameters[name])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// validate checks a request against the fleet.
func (e *Engine) validate(req *Request) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format+": %w", append([]any{field}, append(args, immy.ErrInvalid)...)...))
	}
	if t, ok := tenantOf(req.Computer); ok { // a tenant session: tenant.go
		return e.validateTenant(req, t)
	}
	c := e.computer(req.Computer)
	ok := c != nil
	if !ok {
		errs = append(errs, fmt.Errorf("computer: unknown computer %q: %w", req.Computer, immy.ErrNotFound))
	}
	if int(req.Kind) >= len(kindNames.names) {
		bad("kind", "unknown session kind %d", req.Kind)
	}
	if int(req.Source) >= len(sourceNames.names) {
		bad("source", "unknown source %d", req.Source)
	}
	if int(req.Offline) >= len(offlineNames.names) {
		bad("offline", "unknown offline policy %d", req.Offline)
	}
	if int(req.Reboot) >= len(rebootNames.names) {
		bad("reboot", "unknown reboot preference %d", req.Reboot)
	}
	switch req.Kind {
	case SingleItem:
		if req.Item == "" {
			bad("item", "a single-item session names its item")
		} else if !e.isItem(req.Item) {
			errs = append(errs, fmt.Errorf("item: unknown item %q: %w", req.Item, immy.ErrNotFound))
		}
		for _, n := range req.Named {
			if _, ok := e.deps[n]; !ok && !e.isItem(n) {
				errs = append(errs, fmt.Errorf("named: unknown item or deployment %q: %w", n, immy.ErrNotFound))
			}
		}
	case RerunAction:
		if req.Rerun == nil {
			bad("rerun", "a rerun session names the action to run again")
		} else if !e.isItem(req.Rerun.Item) {
			errs = append(errs, fmt.Errorf("rerun.item: unknown item %q: %w", req.Rerun.Item, immy.ErrNotFound))
		}
	}
	errs = append(errs, e.privateElsewhere(c, req)...) // tenancy.go
	if ok && c.ExcludedFromMaintenance && req.Kind == RerunAction {
		bad("computer", "computer %q is excluded from maintenance", req.Computer)
	}
	if len(errs) > 0 {
		return fmt.Errorf("session: request: %w", errors.Join(errs...))
	}
	return nil
}

func (e *Engine) isItem(id string) bool {
	_, sw := e.software[id]
	_, task := e.tasks[id]
	return sw || task
}

// commit writes a record of s to the journal and, once written, applies it
// to the session's report, runs then (with s.mu held) and emits its event.
func (e *Engine) commit(ctx context.Context, s *sess, rec Record, then func()) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	rec.Session = s.id
	rec.Seq = s.jseq + 1
	rec.Time = e.cfg.Now().UTC()
	if err := e.journal.Append(context.WithoutCancel(ctx), rec); err != nil {
		return &JournalError{Session: s.id, Err: err}
	}
	s.jseq++
	s.mu.Lock()
	s.rep.apply(&rec)
	if then != nil {
		then()
	}
	s.mu.Unlock()
	if e.hub.active() {
		e.emitRecord(s, &rec)
	}
	return nil
}

// note applies a change of s that the journal does not keep (a passing
// state a resumed session does not need, such as an action's
// determining-result) to the session's report, and emits its event, as
// commit does for a journaled one.
func (e *Engine) note(s *sess, rec Record) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	rec.Session = s.id
	rec.Time = e.cfg.Now().UTC()
	s.mu.Lock()
	s.rep.apply(&rec)
	s.mu.Unlock()
	if e.hub.active() {
		e.emitRecord(s, &rec)
	}
}

func (e *Engine) emitRecord(s *sess, rec *Record) {
	ev := Event{Time: rec.Time, Session: s.id, Computer: s.req.Computer, Index: -1}
	switch rec.Kind {
	case RecordCreated, RecordStatus:
		ev.Kind, ev.Status, ev.Reason, ev.Text = EventSession, rec.Status, rec.Reason, rec.Message
		if rec.Kind == RecordCreated {
			ev.Status = Pending
		}
	case RecordStage:
		ev.Kind, ev.Stage = EventStage, rec.Stage
	case RecordDecisions:
		e.emitProblems(s, rec)
		return
	case RecordPlan:
		e.emitProblems(s, rec)
		s.mu.Lock()
		start := len(s.rep.Actions) - len(rec.Actions)
		s.mu.Unlock()
		for i := range rec.Actions {
			a := rec.Actions[i]
			e.hub.emit(Event{Time: rec.Time, Kind: EventAction, Session: s.id, Computer: s.req.Computer, Index: start + i, Action: &a})
		}
		return
	case RecordAction:
		a := *rec.Action
		ev.Kind, ev.Index, ev.Action = EventAction, rec.Index, &a
	default:
		return
	}
	e.hub.emit(ev)
}

// log emits a log line of a session (already redacted).
func (e *Engine) log(s *sess, index int, text string) {
	if !e.hub.active() {
		return
	}
	e.hub.emit(Event{Time: e.cfg.Now().UTC(), Kind: EventLog, Session: s.id, Computer: s.req.Computer, Index: index, Text: text})
}

func (e *Engine) progress(s *sess, index int, pct float64, text string) {
	if !e.hub.active() {
		return
	}
	e.hub.emit(Event{Time: e.cfg.Now().UTC(), Kind: EventProgress, Session: s.id, Computer: s.req.Computer, Index: index, Percent: pct, Text: text})
}
