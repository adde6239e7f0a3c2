package fleetstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

// Apply applies a change as one transaction and returns the new revision.
//
// The change is refused, and nothing is written, when it is malformed (no
// actor, an entity twice, a delete of what does not exist), when it
// conflicts (an entity it touches was changed by an admin after ch.Base: a
// *ConflictError; inventory writes never count), or when the fleet it would
// make breaks a rule: immy's Validate, filters that do not compile,
// prerequisite cycles and Config.Checks, every problem at once as an
// immy.Problems (errors.As), by section, id and field. Otherwise every
// operation lands, with one new revision, and each entity it changed gets an
// entry in the audit log. A put that changes nothing is left out; a change
// that changes nothing returns the current revision.
func (s *Store) Apply(ctx context.Context, ch Change) (int64, error) {
	if err := ch.check(); err != nil {
		return 0, err
	}
	tx, cur, done, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	defer tx.Rollback()

	if ch.Base > cur.rev {
		return 0, fmt.Errorf("fleetstore: change made against revision %d, but the store is at revision %d: %w", ch.Base, cur.rev, immy.ErrInvalid)
	}
	if ch.Base < cur.rev { // made against the current revision, nothing can have moved on
		if err := s.conflicts(ctx, tx, ch); err != nil {
			return 0, err
		}
	}
	ops, err := changedOps(cur, ch.Ops)
	if err != nil {
		return 0, err
	}
	if len(ops) == 0 && len(ch.Inventory) == 0 {
		return cur.rev, nil
	}
	next, d, err := s.after(cur, ops, ch.Inventory)
	if err != nil {
		return 0, err
	}
	next.rev = cur.rev + 1
	if err := s.write(ctx, tx, cur, next, ops, ch); err != nil {
		return 0, err
	}
	if err := s.putInventoryRows(ctx, tx, next.rev, d.rows(next)); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("fleetstore: commit: %w", err)
	}
	gone := map[string]bool{}
	for _, o := range ops {
		if o.kind == KindComputer && o.IsDelete() {
			gone[o.id] = true
		}
	}
	next.lastSeen.delete(gone)
	if len(ops) > 0 {
		s.changes.changedAll(next.rev) // an admin's change: any plan may differ
	} else {
		s.changes.wrote(next.rev, cur.fleet, d) // before settle changes cur's computers in place
	}
	next.settle(cur, d, true)
	s.cur.Store(next)
	return next.rev, nil
}

// check refuses a malformed change before anything is read.
func (ch Change) check() error {
	var errs []error
	switch {
	case ch.Actor == "":
		errs = append(errs, errors.New("missing actor"))
	case len(ch.Actor) > MaxTextLength:
		errs = append(errs, fmt.Errorf("actor longer than %d bytes", MaxTextLength))
	}
	if len(ch.Source) > MaxTextLength {
		errs = append(errs, fmt.Errorf("source longer than %d bytes", MaxTextLength))
	}
	if ch.Base < 0 {
		errs = append(errs, fmt.Errorf("negative base revision %d", ch.Base))
	}
	seen := map[Kind]map[string]int{}
	for i, o := range ch.Ops {
		switch {
		case sectionOf[o.kind] == nil:
			errs = append(errs, fmt.Errorf("op #%d: unknown kind %q", i+1, o.kind))
			continue
		case o.id == "":
			errs = append(errs, fmt.Errorf("op #%d: %s: missing id", i+1, o))
			continue
		case o.kind == KindSettings && o.IsDelete():
			errs = append(errs, fmt.Errorf("op #%d: the settings cannot be deleted", i+1))
		case o.kind == KindSettings && o.id != SettingsID:
			errs = append(errs, fmt.Errorf("op #%d: settings id %q: want %q", i+1, o.id, SettingsID))
		}
		if seen[o.kind] == nil {
			seen[o.kind] = map[string]int{}
		}
		if j, dup := seen[o.kind][o.id]; dup {
			errs = append(errs, fmt.Errorf("op #%d: %s: the entity is also in op #%d", i+1, o, j+1))
			continue
		}
		seen[o.kind][o.id] = i
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("fleetstore: change refused: %w: %w", immy.ErrInvalid, err)
	}
	return nil
}

// conflicts returns a *ConflictError for each entity of ch an admin changed
// after ch.Base.
func (s *Store) conflicts(ctx context.Context, tx *sql.Tx, ch Change) error {
	st, err := tx.PrepareContext(ctx, s.d.q(`SELECT revision FROM immy_fleet_entities WHERE kind = ? AND id = ?`))
	if err != nil {
		return fmt.Errorf("fleetstore: conflicts: %w", err)
	}
	defer st.Close()
	var errs []error
	for _, o := range ch.Ops {
		var rev int64
		err := st.QueryRowContext(ctx, string(o.kind), o.id).Scan(&rev)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("fleetstore: conflicts: %s: %w", o, err)
		case rev > ch.Base:
			errs = append(errs, &ConflictError{Kind: o.kind, ID: o.id, Base: ch.Base, Revision: rev})
		}
	}
	return errors.Join(errs...)
}

// op is an operation with what it changes: the entity's stored documents
// before (nil: it is created) and after (nil: it is deleted), and tenants.
type op struct {
	Op
	before, after        []byte
	tenantBefore, tenant string
}

// verb names what o does to its entity: "create", "update" or "delete".
func (o op) verb() string {
	switch {
	case o.before == nil:
		return "create"
	case o.after == nil:
		return "delete"
	}
	return "update"
}

// changedOps resolves ops against cur: a delete of what does not exist is an
// error; a put that changes nothing is dropped. A computer's put keeps the
// computer's inventory.
func changedOps(cur *snapshot, ops []Op) ([]op, error) {
	var out []op
	var errs []error
	at := positionsOf(cur.fleet, ops)
	for i, o := range ops {
		x := op{Op: o}
		var err error
		if x.before, x.tenantBefore, err = at.stored(cur.fleet, o.kind, o.id); err != nil {
			errs = append(errs, fmt.Errorf("op #%d: %s: %w", i+1, o, err))
			continue
		}
		if o.IsDelete() {
			if x.before == nil {
				errs = append(errs, fmt.Errorf("op #%d: %s: %w", i+1, o, immy.ErrNotFound))
				continue
			}
			x.tenant = x.tenantBefore
			out = append(out, x)
			continue
		}
		doc, tenant := docOf(x.Op)
		b, err := json.Marshal(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("op #%d: %s: %w", i+1, o, err))
			continue
		}
		if bytes.Equal(b, x.before) {
			continue
		}
		// The fleet holds the entity as it is stored, read back: a copy
		// that shares nothing with the caller's value, and equal to what a
		// reload gives.
		if x.put, err = sectionOf[o.kind].decode(b); err != nil {
			errs = append(errs, fmt.Errorf("op #%d: %s: %w", i+1, o, err))
			continue
		}
		if o.kind == KindComputer {
			keepInventory(x.put.(*immy.Computer), cur)
		}
		x.after, x.tenant = b, tenant
		if x.before == nil {
			x.tenantBefore = tenant
		}
		out = append(out, x)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("fleetstore: change refused: %w", err)
	}
	return out, nil
}

// positions indexes, for each kind ops touch, the ids of f's entities.
type positions map[Kind]map[string]int

func positionsOf(f *immy.Fleet, ops []Op) positions {
	out := positions{}
	for _, o := range ops {
		if out[o.kind] != nil {
			continue
		}
		m := map[string]int{}
		for i, id := range sectionOf[o.kind].ids(f) {
			m[id] = i
		}
		out[o.kind] = m
	}
	return out
}

// stored returns the stored document of f's entity of kind k with id, and
// its tenant; nil when there is none.
func (p positions) stored(f *immy.Fleet, k Kind, id string) ([]byte, string, error) {
	i, ok := p[k][id]
	if !ok {
		return nil, "", nil
	}
	doc, tenant := sectionOf[k].doc(f, i)
	b, err := json.Marshal(doc)
	return b, tenant, err
}

// keepInventory gives c the inventory the store has for it (none for a new
// computer).
func keepInventory(c *immy.Computer, cur *snapshot) {
	var old immy.Computer
	if i, ok := cur.computer[c.ID]; ok {
		old = cur.fleet.Computers[i]
	}
	c.OS, c.Online, c.UPNs, c.Software, c.Tasks = old.OS, old.Online, old.UPNs, old.Software, old.Tasks
}

// after makes the fleet that ops make of cur's, validated, and what the
// inventory reports then change of it (see settle).
func (s *Store) after(cur *snapshot, ops []op, reports []Inventory) (*snapshot, *delta, error) {
	next := &snapshot{fleet: cur.fleet, computer: cur.computer, lastSeen: cur.lastSeen, comps: cur.comps}
	if len(ops) > 0 {
		var err error
		if next, err = s.next(cur, ops); err != nil {
			return nil, nil, err
		}
	}
	if len(reports) == 0 {
		return next, &delta{}, nil
	}
	d, err := applyReports(next, reports)
	if err != nil {
		return nil, nil, fmt.Errorf("fleetstore: change refused: %w", err)
	}
	return next, d, nil
}

// next makes the fleet that ops make of cur's and validates it.
func (s *Store) next(cur *snapshot, ops []op) (*snapshot, error) {
	f := *cur.fleet
	puts := map[Kind]map[string]any{}
	added := map[Kind][]string{}
	dels := map[Kind]map[string]bool{}
	have := map[Kind]map[string]bool{}
	for _, o := range ops {
		if have[o.kind] == nil {
			have[o.kind] = map[string]bool{}
		}
		have[o.kind][o.id] = o.before != nil
	}
	for _, o := range ops {
		k := o.kind
		if o.IsDelete() {
			if dels[k] == nil {
				dels[k] = map[string]bool{}
			}
			dels[k][o.id] = true
			continue
		}
		if puts[k] == nil {
			puts[k] = map[string]any{}
		}
		puts[k][o.id] = o.put
		if !have[k][o.id] {
			added[k] = append(added[k], o.id)
		}
	}
	for _, sec := range sections {
		k := sec.kind()
		if puts[k] != nil || dels[k] != nil {
			sec.rebuild(&f, puts[k], added[k], dels[k])
		}
	}
	if dels[KindTask] != nil {
		dropTaskResults(&f, dels[KindTask])
	}
	next := &snapshot{fleet: &f, lastSeen: cur.lastSeen}
	next.index()
	next.own(cur)
	if err := s.validate(&f); err != nil {
		return nil, err
	}
	return next, nil
}

// dropTaskResults forgets the computers' known test results of deleted tasks.
func dropTaskResults(f *immy.Fleet, tasks map[string]bool) {
	var cs []immy.Computer
	for i, c := range f.Computers {
		drop := false
		for id := range c.Tasks {
			drop = drop || tasks[id]
		}
		if !drop {
			continue
		}
		if cs == nil {
			cs = append([]immy.Computer(nil), f.Computers...)
		}
		m := maps.Clone(c.Tasks)
		for id := range tasks {
			delete(m, id)
		}
		if len(m) == 0 {
			m = nil
		}
		cs[i].Tasks = m
	}
	if cs != nil {
		f.Computers = cs
	}
}

// validate checks f by every rule a change is held to.
func (s *Store) validate(f *immy.Fleet) error {
	var ps immy.Problems
	if err := f.Validate(); err != nil && !errors.As(err, &ps) {
		return fmt.Errorf("fleetstore: change refused: %w", err)
	}
	ps = append(ps, targets.CheckFilters(f)...)
	ps = append(ps, resolver.Check(f)...)
	for _, c := range s.cfg.Checks {
		if c != nil {
			ps = append(ps, c(f)...)
		}
	}
	ps.Sort()
	if err := ps.Err(); err != nil {
		return fmt.Errorf("fleetstore: change refused: %w", err)
	}
	return nil
}

// write writes ops, the inventories they change and their audit entries.
func (s *Store) write(ctx context.Context, tx *sql.Tx, cur, next *snapshot, ops []op, ch Change) error {
	// created_rev, created_pos and source are the creation's: an update
	// keeps them, a put after a delete creates the entity anew
	put, err := tx.PrepareContext(ctx, s.d.q(`INSERT INTO immy_fleet_entities (kind, id, created_rev, created_pos, revision, doc, source)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision, doc = excluded.doc,
			created_rev = CASE WHEN immy_fleet_entities.doc IS NULL THEN excluded.created_rev ELSE immy_fleet_entities.created_rev END,
			created_pos = CASE WHEN immy_fleet_entities.doc IS NULL THEN excluded.created_pos ELSE immy_fleet_entities.created_pos END,
			source = CASE WHEN immy_fleet_entities.doc IS NULL THEN excluded.source ELSE immy_fleet_entities.source END`))
	if err != nil {
		return fmt.Errorf("fleetstore: write: %w", err)
	}
	defer put.Close()
	del, err := tx.PrepareContext(ctx, s.d.q(`UPDATE immy_fleet_entities SET doc = NULL, revision = ? WHERE kind = ? AND id = ?`))
	if err != nil {
		return fmt.Errorf("fleetstore: write: %w", err)
	}
	defer del.Close()
	for i, o := range ops {
		if i == len(ops)/2 {
			if err := s.fault("entities"); err != nil {
				return err
			}
		}
		if o.IsDelete() {
			_, err = del.ExecContext(ctx, next.rev, string(o.kind), o.id)
		} else {
			_, err = put.ExecContext(ctx, string(o.kind), o.id, next.rev, i, next.rev, string(o.after), ch.Source)
		}
		if err != nil {
			return fmt.Errorf("fleetstore: write %s: %w", o.Op, err)
		}
	}
	if err := s.writeInventories(ctx, tx, cur, next, ops); err != nil {
		return err
	}
	if err := s.fault("audit"); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, cur.fleet, next.fleet, next.rev, ops, ch.Actor); err != nil {
		return err
	}
	if err := s.fault("state"); err != nil {
		return err
	}
	return s.setRevision(ctx, tx, next.rev)
}

// writeInventories removes the inventories of deleted computers and writes
// those whose task results a deleted task took away.
func (s *Store) writeInventories(ctx context.Context, tx *sql.Tx, cur, next *snapshot, ops []op) error {
	tasksGone := false
	for _, o := range ops {
		switch {
		case o.kind == KindComputer && o.IsDelete():
			if _, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM immy_fleet_inventory WHERE computer = ?`), o.id); err != nil {
				return fmt.Errorf("fleetstore: write %s: inventory: %w", o.Op, err)
			}
		case o.kind == KindTask && o.IsDelete():
			tasksGone = true
		}
	}
	if !tasksGone {
		return nil
	}
	var rows []invRow
	for i := range next.fleet.Computers {
		c := &next.fleet.Computers[i]
		j, ok := cur.computer[c.ID]
		if ok && len(cur.fleet.Computers[j].Tasks) != len(c.Tasks) {
			seen, _ := next.lastSeen.get(c.ID)
			rows = append(rows, invRow{c, seen})
		}
	}
	return s.putInventoryRows(ctx, tx, next.rev, rows)
}

// setRevision moves the fleet to rev; on PostgreSQL the revision is
// announced on notifyChannel when the transaction commits (see Follow).
func (s *Store) setRevision(ctx context.Context, tx *sql.Tx, rev int64) error {
	if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE immy_fleet_state SET revision = ? WHERE id = 1`), rev); err != nil {
		return fmt.Errorf("fleetstore: write revision: %w", err)
	}
	if s.d.dollar {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, fmt.Sprint(rev)); err != nil {
			return fmt.Errorf("fleetstore: notify revision: %w", err)
		}
	}
	return nil
}

func unmarshal(doc string, v any) error { return json.Unmarshal([]byte(doc), v) }
