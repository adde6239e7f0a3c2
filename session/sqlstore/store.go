package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
)

// Config tunes a Store. The zero Config is ready for use.
type Config struct {
	// MaxBatch bounds the records one transaction writes: Appends made at
	// the same time are written together and each returns once its
	// transaction has committed (group commit). Zero means 4096: as many
	// as thousands of sessions under way have waiting at once, so that one
	// sync serves them all.
	MaxBatch int
	// MaxConns bounds the connections to a SQLite database that read (and
	// that other users of DB take); the writer keeps one more of its own.
	// Zero means 4. PostgreSQL: the pool's own configuration applies.
	MaxConns int
	// Synchronous is SQLite's synchronous setting: "FULL" (the default, for
	// "") syncs the write-ahead log to disk at every commit, so that an
	// Append that returned is kept through a power loss; "NORMAL" syncs only
	// at checkpoints: an Append that returned survives the process being
	// killed, and the last commits may be lost if the machine loses power.
	Synchronous string
}

func (c Config) maxBatch() int {
	if c.MaxBatch <= 0 {
		return 4096
	}
	return c.MaxBatch
}

// ErrClosed is returned by the methods of a closed Store.
var ErrClosed = errors.New("sqlstore: store closed")

// ErrMissingRecord is matched by the error of a replay that finds a
// session's records not numbered 1, 2, 3, ...: a record was deleted by
// hand, or the database lost it. A replay does not go on past it, since
// the session's state would be made without the record.
var ErrMissingRecord = errors.New("sqlstore: a record of the session is missing")

// SchemaError is returned when a database's schema is newer than this code
// knows: it was migrated by a later version of the engine. Nothing was
// changed.
type SchemaError struct {
	Dialect string // "sqlite" or "postgres"
	Have    int    // the database's schema version
	Know    int    // the newest version this code knows
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("sqlstore: %s database has schema version %d, newer than this engine knows (%d): upgrade the engine", e.Dialect, e.Have, e.Know)
}

// Store is a session.Journal and session.SessionReplayer over SQL: one row
// per record, keyed by (session, seq), and one row per session with its
// computer, status and whether it has ended. It is safe for concurrent use.
type Store struct {
	be       backend
	maxBatch int
	compact  bool            // action records in their compact form (compact.go)
	reqs     chan *appendReq // unbuffered: a send waits for the writer
	closing  chan struct{}
	stopped  chan struct{} // closed when the writer has returned
	once     sync.Once
	closeErr error
}

var (
	_ session.Journal          = (*Store)(nil)
	_ session.SessionReplayer  = (*Store)(nil)
	_ session.UnfinishedLister = (*Store)(nil)
	_ session.ActiveSessioner  = (*Store)(nil)
)

// backend is one SQL dialect's half of a Store.
type backend interface {
	// write appends the records of batch in one transaction, setting
	// r.err of a record the sequence rule refuses; an error returned fails
	// the whole batch, and nothing of it is written.
	write(ctx context.Context, batch []*appendReq) error
	// page returns up to limit records after the row after (the zero row:
	// from the start); only session id's, in Seq order, when id is not "".
	page(ctx context.Context, id string, after row, limit int) ([]row, error)
	unfinished(ctx context.Context) ([]string, error)
	active(ctx context.Context, computer string) (string, bool, error)
	close() error
}

type row struct {
	pos     int64 // the backend's own order, when it has one
	session string
	seq     int
	body    []byte
}

// appendReq is one Append waiting for the writer.
type appendReq struct {
	ctx  context.Context
	id   string
	seq  int
	kind string
	time time.Time
	body []byte
	// what the record changes in the session's row; nil: unchanged
	computer *string
	status   *string
	ended    *bool

	err  error
	done chan error
}

func newStore(be backend, cfg Config, compact bool) *Store {
	s := &Store{
		be:       be,
		compact:  compact,
		maxBatch: cfg.maxBatch(),
		reqs:     make(chan *appendReq),
		closing:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go s.writer()
	return s
}

// Append implements session.Journal: it returns once the record is
// committed, or refused with an error matching session.ErrOutOfSequence.
// When ctx ends while the record waits for its transaction, Append returns
// ctx's error and the record may have been written (as when a database's
// acknowledgement of a commit is lost): a writer that gets an error stops
// working the session and leaves it to be resumed from what was kept.
func (s *Store) Append(ctx context.Context, rec session.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: append: %w", err)
	}
	if rec.Session == "" {
		return errors.New("sqlstore: append: record without a session id")
	}
	r, err := newRequest(ctx, &rec, s.compact)
	if err != nil {
		return err
	}
	select {
	case s.reqs <- r:
	case <-s.closing:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("sqlstore: append: session %q: record %d: %w", rec.Session, rec.Seq, ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("sqlstore: append: session %q: record %d: %w", rec.Session, rec.Seq, ctx.Err())
	}
}

func newRequest(ctx context.Context, rec *session.Record, compact bool) (*appendReq, error) {
	var (
		body []byte
		err  error
	)
	if compact {
		body, err = encodeCompact(rec)
	} else {
		body, err = encodeRecord(rec)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: append: session %q: record %d: %w", rec.Session, rec.Seq, err)
	}
	r := &appendReq{
		ctx: ctx, id: rec.Session, seq: rec.Seq, kind: rec.Kind.String(), time: rec.Time, body: body,
		done: make(chan error, 1),
	}
	switch rec.Kind {
	case session.RecordCreated:
		// a session is queued as soon as it is recorded
		st := session.Pending.String()
		r.status = &st
		if rec.Request != nil {
			r.computer = &rec.Request.Computer
		}
		f := false
		r.ended = &f
	case session.RecordStatus:
		st := rec.Status.String()
		r.status = &st
		f := rec.Status.Final()
		r.ended = &f
	}
	return r, nil
}

// refuse sets the error of a record whose Seq does not follow the session's
// last: want is the Seq that would, 0 when unknown.
func (r *appendReq) refuse(want int) {
	if want > 0 {
		r.err = fmt.Errorf("sqlstore: session %q: record %d, want %d: %w", r.id, r.seq, want, session.ErrOutOfSequence)
		return
	}
	r.err = fmt.Errorf("sqlstore: session %q: record %d does not follow the session's last record: %w", r.id, r.seq, session.ErrOutOfSequence)
}

// opens reports whether the record opens a session of a computer (a
// RecordCreated with a computer): the store refuses it when the computer
// has another session not ended.
func (r *appendReq) opens() bool {
	return r.computer != nil && *r.computer != "" && (r.ended == nil || !*r.ended)
}

// busy sets the error of a record refused because the computer has session
// id not ended.
func (r *appendReq) busy(id string) {
	r.err = fmt.Errorf("sqlstore: session %q: record %d: %w", r.id, r.seq, &session.BusyError{Computer: *r.computer, Session: id})
}

// statusOr returns the status the session's row starts with.
func (r *appendReq) statusOr() string {
	if r.status != nil {
		return *r.status
	}
	return session.Created.String()
}

// writer is the one goroutine that writes: it takes the Appends waiting,
// up to maxBatch, and commits them in one transaction.
func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]*appendReq, 0, s.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
		case <-s.closing:
			return
		}
		// gather what is waiting; when nothing is, yield once, so that
		// the writers the last commit released, ready to run, make their
		// next records and join this batch instead of the next (a commit
		// costs a sync, whatever it holds): a fifth fewer commits in
		// BenchmarkSessions
		for yielded := false; len(batch) < s.maxBatch; {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
				yielded = false
				continue
			default:
			}
			if yielded {
				break
			}
			runtime.Gosched()
			yielded = true
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []*appendReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- fmt.Errorf("sqlstore: append: session %q: record %d: %w", r.id, r.seq, err)
			continue
		}
		if r.seq < 1 {
			r.refuse(0)
			r.done <- r.err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// sessions in a steady order, so that two processes writing to one
	// PostgreSQL database lock their sessions' rows in the same order; each
	// session's records keep theirs
	slices.SortStableFunc(live, func(a, b *appendReq) int { return cmp.Compare(a.id, b.id) })
	ctx := context.Background()
	err := s.be.write(ctx, live)
	if err != nil && len(live) > 1 {
		// one record spoilt the transaction: write each alone, so that
		// only its writer gets the error
		for _, r := range live {
			r.err = nil
			if err := s.be.write(ctx, []*appendReq{r}); err != nil {
				r.err = err
			}
			r.done <- r.err
		}
		return
	}
	for _, r := range live {
		if err != nil {
			r.err = err
		}
		r.done <- r.err
	}
}

// Close stops the writer once the transaction under way has committed, and
// closes the database when the Store opened it (SQLite; a PostgreSQL pool
// is the caller's). Appends after Close return ErrClosed.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.closing)
		<-s.stopped
		if err := s.be.close(); err != nil {
			s.closeErr = fmt.Errorf("sqlstore: close: %w", err)
		}
	})
	return s.closeErr
}

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	select {
	case <-s.closing:
		return ErrClosed
	default:
		return nil
	}
}

const replayPage = 512

// Replay implements session.Journal: every record, each session's in Seq
// order (SQLite: in the order appended; PostgreSQL: by session id). Records are read a page at a
// time, and fn is called with no database resource held, so fn may append.
func (s *Store) Replay(ctx context.Context, fn func(session.Record) error) error {
	return s.replay(ctx, "", fn)
}

// ReplaySession implements session.SessionReplayer.
func (s *Store) ReplaySession(ctx context.Context, id string, fn func(session.Record) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("sqlstore: replay session %q: %w", id, immy.ErrNotFound)
	}
	return s.replay(ctx, id, fn)
}

func (s *Store) replay(ctx context.Context, id string, fn func(session.Record) error) error {
	var after row
	last := map[string]int{} // session -> its last Seq replayed
	for first := true; ; first = false {
		if err := s.check(ctx); err != nil {
			return err
		}
		rows, err := s.be.page(ctx, id, after, replayPage)
		if err != nil {
			return fmt.Errorf("sqlstore: replay: %w", err)
		}
		if first && id != "" && len(rows) == 0 {
			return fmt.Errorf("sqlstore: replay session %q: %w", id, immy.ErrNotFound)
		}
		for _, r := range rows {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("sqlstore: replay: %w", err)
			}
			if want := last[r.session] + 1; r.seq != want {
				return fmt.Errorf("sqlstore: replay: session %q: record %d comes where record %d should: %w", r.session, r.seq, want, ErrMissingRecord)
			}
			last[r.session] = r.seq
			rec, err := decodeRecord(r.session, r.seq, r.body)
			if err != nil {
				return fmt.Errorf("sqlstore: replay: session %q: record %d: %w", r.session, r.seq, err)
			}
			if err := fn(rec); err != nil {
				return err
			}
			after = r
		}
		if len(rows) < replayPage {
			return nil
		}
	}
}

// Unfinished returns the ids of the sessions that have not ended (no final
// status recorded), oldest first: those an engine resumes.
func (s *Store) Unfinished(ctx context.Context) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	ids, err := s.be.unfinished(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: unfinished sessions: %w", err)
	}
	return ids, nil
}

// ActiveSession returns the computer's session that has not ended, the
// oldest when there are several; ok is false when it has none.
func (s *Store) ActiveSession(ctx context.Context, computer string) (id string, ok bool, err error) {
	if err := s.check(ctx); err != nil {
		return "", false, err
	}
	id, ok, err = s.be.active(ctx, computer)
	if err != nil {
		return "", false, fmt.Errorf("sqlstore: active session of computer %q: %w", computer, err)
	}
	return id, ok, nil
}

// DB returns the SQLite database the Store writes, for other users of the
// same file (River's SQLite driver); nil for a PostgreSQL Store. The Store
// closes it. Its pool keeps one connection for the Store's writer for as
// long as the Store is open: do not lower it below 2 connections with
// SetMaxOpenConns (Config.MaxConns sets the others). Its transactions begin
// immediate (they take the write lock first, waiting up to the busy
// timeout), so that writers on several connections take turns instead of
// failing with SQLITE_BUSY.
func (s *Store) DB() *sql.DB {
	if b, ok := s.be.(*sqliteBackend); ok {
		return b.db
	}
	return nil
}
