package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// Journal keeps every state change of every session, written before the
// change takes effect, so that an engine started afresh can resume the
// sessions that had not ended. Append must be durable when it returns nil;
// an error stops the session that wrote (as a crash would) and leaves it to be
// resumed. Implementations are safe for concurrent use; records of one
// session are appended by one goroutine at a time, with Seq 1, 2, ...
//
// A record never holds a password: parameters are not journaled, and texts
// (messages, output) are redacted before they are.
type Journal interface {
	// Append writes rec durably. A record whose Seq does not follow the
	// session's last one is refused with an error matching ErrOutOfSequence:
	// then another engine process has written to the session (or the
	// journal lost records), and the writer must stop working it.
	Append(ctx context.Context, rec Record) error
	// Replay calls fn with every record, each session's in Seq order.
	Replay(ctx context.Context, fn func(Record) error) error
}

// SessionReplayer is implemented by journals that can read one session's
// records alone: what an engine process that picks one session up (from a
// shared queue) reads, instead of the whole journal.
type SessionReplayer interface {
	// ReplaySession calls fn with the records of session id in Seq order;
	// a session the journal does not hold is an error matching
	// immy.ErrNotFound.
	ReplaySession(ctx context.Context, id string, fn func(Record) error) error
}

// ErrOutOfSequence is matched by the error of Journal.Append when the
// record's Seq does not follow the session's last: the (session, seq) pair
// is the journal's idempotency key, so that two processes that both believe
// they work a session cannot both write to it.
var ErrOutOfSequence = errors.New("session: record out of sequence")

// RecordKind is what a record changes.
type RecordKind uint8

// Values of RecordKind.
const (
	_               RecordKind = iota
	RecordCreated              // a session, queued (pending): Request
	RecordStatus               // the session's Status, Reason, Message and Until
	RecordStage                // the session's Stage
	RecordDecisions            // the resolution stage's Decisions
	RecordPlan                 // Actions appended to the plan
	RecordAction               // the action at Index is now Action
	RecordReset                // the plan and decisions are dropped: the session starts over (after a postponement)
	RecordReboot               // the reboot outcome: Reboot
)

var recordKindNames = names[RecordKind]{"record kind", []string{"", "created", "status", "stage", "decisions", "plan", "action", "reset", "reboot"}}

func (k RecordKind) String() string { return recordKindNames.str(k) }

// MarshalText implements encoding.TextMarshaler.
func (k RecordKind) MarshalText() ([]byte, error) { return recordKindNames.marshal(k) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *RecordKind) UnmarshalText(b []byte) error { return recordKindNames.unmarshal(k, b) }

// Record is one state change of one session. Only the fields of its Kind are set.
type Record struct {
	Session string     `json:"session"`
	Seq     int        `json:"seq"`
	Kind    RecordKind `json:"kind"`
	Time    time.Time  `json:"time"`

	Request   *Request            `json:"request,omitempty"`
	Status    Status              `json:"status,omitempty"`
	Reason    string              `json:"reason,omitempty"`
	Message   string              `json:"message,omitempty"` // status: the details of the reason, redacted
	Until     time.Time           `json:"until,omitzero"`
	Stage     Stage               `json:"stage,omitempty"`
	Decisions []resolver.Decision `json:"decisions,omitempty"`
	Actions   []Action            `json:"actions,omitempty"`
	// Problems of the resolution (decisions) or of the plan (plan)
	Problems []resolver.Problem `json:"problems,omitempty"`
	Segment  string             `json:"segment,omitempty"` // plan: "onboarding" or "main"
	Index    int                `json:"index,omitempty"`
	Action   *Action            `json:"action,omitempty"`
	Reboot   *RebootOutcome     `json:"reboot,omitempty"`
	// Revision is the revision of the Config.Fleet that the decisions or
	// plan were made from (0: no FleetSource).
	Revision int64 `json:"revision,omitempty"`
}

func (r Record) clone() Record {
	if r.Request != nil {
		q := r.Request.clone()
		r.Request = &q
	}
	r.Decisions = slices.Clone(r.Decisions)
	r.Actions = slices.Clone(r.Actions)
	r.Problems = slices.Clone(r.Problems)
	if r.Action != nil {
		a := *r.Action
		r.Action = &a
	}
	if r.Reboot != nil {
		b := *r.Reboot
		r.Reboot = &b
	}
	return r
}

// Segments of a plan.
const (
	segOnboarding = "onboarding"
	segMain       = "main"
)

// MemoryJournal is a Journal in memory: for tests, for embedders that do not
// need to survive a restart, and as the reference for durable ones. Sessions
// are spread over shards, so that many sessions write at once without
// waiting for one another. The zero MemoryJournal is empty and ready.
type MemoryJournal struct {
	once   sync.Once
	shards []journalShard
	seq    atomic.Uint64 // the order of appends across shards

	// each computer's session that has not ended; taken with a shard's
	// lock held, never the other way round
	omu  sync.Mutex
	open map[string]string
}

const (
	journalShards = 64
	journalChunk  = 1024
)

type journalShard struct {
	mu     sync.Mutex
	chunks [][]journaled  // in the order appended, in chunks that never move
	last   map[string]int // session -> last Seq
	n      int
	// sessions of a computer: its id, "" once the session has ended
	computer map[string]string
	ended    map[string]bool
}

type journaled struct {
	order uint64
	rec   Record
}

func (j *MemoryJournal) shard(session string) *journalShard {
	j.once.Do(func() { j.shards = make([]journalShard, journalShards) })
	h := fnv.New32a()
	h.Write([]byte(session))
	return &j.shards[h.Sum32()%journalShards]
}

// Append implements Journal. It rejects a record whose Seq does not follow
// the session's last one, and a RecordCreated for a computer that has
// another session not ended (a *BusyError).
func (j *MemoryJournal) Append(ctx context.Context, rec Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("session: journal: %w", err)
	}
	rec = rec.clone()
	sh := j.shard(rec.Session)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.last == nil {
		sh.last = map[string]int{}
	}
	if want := sh.last[rec.Session] + 1; rec.Seq != want {
		return fmt.Errorf("session: journal: session %q: record %d, want %d: %w", rec.Session, rec.Seq, want, ErrOutOfSequence)
	}
	if err := j.track(sh, &rec); err != nil {
		return err
	}
	sh.last[rec.Session] = rec.Seq
	if len(sh.chunks) == 0 || len(sh.chunks[len(sh.chunks)-1]) == journalChunk {
		sh.chunks = append(sh.chunks, make([]journaled, 0, journalChunk))
	}
	c := &sh.chunks[len(sh.chunks)-1]
	*c = append(*c, journaled{order: j.seq.Add(1), rec: rec})
	sh.n++
	return nil
}

// track keeps the index of open sessions by computer: a RecordCreated for a
// computer opens its session, unless the computer has another one open (a
// *BusyError, and nothing changes); a final status closes it. sh.mu is held.
func (j *MemoryJournal) track(sh *journalShard, rec *Record) error {
	switch {
	case rec.Kind == RecordCreated && rec.Request != nil && rec.Request.Computer != "" && !sh.ended[rec.Session]:
		c := rec.Request.Computer
		j.omu.Lock()
		defer j.omu.Unlock()
		if id, ok := j.open[c]; ok && id != rec.Session {
			return fmt.Errorf("session: journal: session %q: %w", rec.Session, &BusyError{Computer: c, Session: id})
		}
		if j.open == nil {
			j.open = map[string]string{}
		}
		if sh.computer == nil {
			sh.computer = map[string]string{}
		}
		if old, ok := sh.computer[rec.Session]; ok && old != c && j.open[old] == rec.Session {
			delete(j.open, old)
		}
		j.open[c] = rec.Session
		sh.computer[rec.Session] = c
	case rec.Kind == RecordStatus && rec.Status.Final():
		if sh.ended == nil {
			sh.ended = map[string]bool{}
		}
		sh.ended[rec.Session] = true
		c, ok := sh.computer[rec.Session]
		if !ok {
			return nil
		}
		delete(sh.computer, rec.Session)
		j.omu.Lock()
		if j.open[c] == rec.Session {
			delete(j.open, c)
		}
		j.omu.Unlock()
	}
	return nil
}

// snapshot returns the records appended so far, in the order they were
// appended; the records are shared, not copied.
func (j *MemoryJournal) snapshot() []Record {
	j.once.Do(func() { j.shards = make([]journalShard, journalShards) })
	var all []journaled
	for i := range j.shards {
		sh := &j.shards[i]
		sh.mu.Lock()
		for _, c := range sh.chunks {
			all = append(all, c...)
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(all, func(a, b journaled) int { return cmp.Compare(a.order, b.order) })
	out := make([]Record, len(all))
	for i := range all {
		out[i] = all[i].rec
	}
	return out
}

// Replay implements Journal: records in the order they were appended.
func (j *MemoryJournal) Replay(ctx context.Context, fn func(Record) error) error {
	for _, r := range j.snapshot() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("session: journal: %w", err)
		}
		if err := fn(r.clone()); err != nil {
			return err
		}
	}
	return nil
}

// ReplaySession implements SessionReplayer.
func (j *MemoryJournal) ReplaySession(ctx context.Context, id string, fn func(Record) error) error {
	sh := j.shard(id)
	sh.mu.Lock()
	var recs []Record
	for _, c := range sh.chunks {
		for i := range c {
			if c[i].rec.Session == id {
				recs = append(recs, c[i].rec)
			}
		}
	}
	sh.mu.Unlock()
	if len(recs) == 0 {
		return fmt.Errorf("session: journal: session %q: %w", id, immy.ErrNotFound)
	}
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("session: journal: %w", err)
		}
		if err := fn(r.clone()); err != nil {
			return err
		}
	}
	return nil
}

// Records returns a copy of every record, in the order they were appended.
func (j *MemoryJournal) Records() []Record {
	out := j.snapshot()
	for i := range out {
		out[i] = out[i].clone()
	}
	return out
}

// Len returns the number of records.
func (j *MemoryJournal) Len() int {
	j.once.Do(func() { j.shards = make([]journalShard, journalShards) })
	n := 0
	for i := range j.shards {
		sh := &j.shards[i]
		sh.mu.Lock()
		n += sh.n
		sh.mu.Unlock()
	}
	return n
}

// apply folds one record into a report; it is how Resume rebuilds sessions
// and what the engine does after each write.
func (r *Report) apply(rec *Record) {
	switch rec.Kind {
	case RecordCreated:
		if rec.Request != nil {
			r.Request = rec.Request.clone()
			r.ID, r.Computer = rec.Session, rec.Request.Computer
		}
		// a session is queued as soon as it is recorded
		r.Status, r.Created = Pending, rec.Time
	case RecordStatus:
		r.Status, r.Reason, r.Message = rec.Status, rec.Reason, rec.Message
		r.PostponedUntil = rec.Until
		if rec.Status.Final() {
			r.Ended = rec.Time
			r.Stage = StageDone
		}
	case RecordStage:
		r.Stage = rec.Stage
	case RecordDecisions:
		r.Decisions = slices.Clone(rec.Decisions)
		r.Problems = slices.Clone(rec.Problems)
		r.Revision = rec.Revision
	case RecordPlan:
		r.Revision = rec.Revision
		r.Actions = append(r.Actions, rec.Actions...)
		r.Problems = append(r.Problems, rec.Problems...)
		if rec.Segment == segOnboarding {
			r.onboardingPlanned = true
		} else {
			r.mainPlanned = true
		}
	case RecordAction:
		if rec.Action != nil && rec.Index >= 0 && rec.Index < len(r.Actions) {
			r.Actions[rec.Index] = *rec.Action
		}
	case RecordReset:
		r.Decisions, r.Actions, r.Problems = nil, nil, nil
		r.Revision = 0
		r.Stage = StageNone
		r.onboardingPlanned, r.mainPlanned = false, false
	case RecordReboot:
		if rec.Reboot != nil {
			r.Reboot = *rec.Reboot
		}
	}
}

// states folds the journal into each session's computer and whether it
// ended, in the order the sessions were created.
func (j *MemoryJournal) states() (order []string, computer map[string]string, ended map[string]bool) {
	computer, ended = map[string]string{}, map[string]bool{}
	for _, r := range j.snapshot() {
		switch {
		case r.Kind == RecordCreated && r.Request != nil:
			if _, ok := computer[r.Session]; !ok {
				order = append(order, r.Session)
			}
			computer[r.Session] = r.Request.Computer
		case r.Kind == RecordStatus && r.Status.Final():
			ended[r.Session] = true
		}
	}
	return order, computer, ended
}

// Unfinished implements UnfinishedLister: the sessions that have not ended,
// sorted.
func (j *MemoryJournal) Unfinished(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("session: journal: %w", err)
	}
	order, _, ended := j.states()
	var out []string
	for _, id := range order {
		if !ended[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ActiveSession implements ActiveSessioner: the computer's session that has
// not ended (Append keeps a computer to one; for the empty computer, the
// first created).
func (j *MemoryJournal) ActiveSession(ctx context.Context, computer string) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("session: journal: %w", err)
	}
	if computer == "" {
		// sessions without a computer are not indexed
		order, comp, ended := j.states()
		for _, id := range order {
			if comp[id] == computer && !ended[id] {
				return id, true, nil
			}
		}
		return "", false, nil
	}
	j.omu.Lock()
	defer j.omu.Unlock()
	id, ok := j.open[computer]
	return id, ok, nil
}

// Fold returns the report that records of one session, in Seq order, make:
// what a reader of a journal (a user interface, another process) shows of a
// session without an engine.
func Fold(records []Record) Report {
	var r Report
	for i := range records {
		r.apply(&records[i])
	}
	return r
}
