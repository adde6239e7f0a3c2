package fleetstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/immyoss/engine/immy"
)

// Inventory is what an agent or a session found on a computer. The fields
// left at their zero value (nil, "", the zero time) leave what the store has.
type Inventory struct {
	Computer string // the computer's id; required
	// Software, when not nil, replaces the detected software (give an empty,
	// non-nil slice for none).
	Software []immy.DetectedSoftware
	OS       string    // when not "", the operating system
	Online   *bool     // when not nil, whether the computer is online
	LastSeen time.Time // when not zero, when the computer was last seen
	// UPNs, when not nil, replaces the computer's recent user principal
	// names (newest first), before Logons are added.
	UPNs []string
	// Logons are the user principal names that logged on since the last
	// report, oldest first: each goes to the front of the computer's UPNs,
	// which keep the newest immy.MaxUPNs, repetitions included (affinity
	// counts how often a person logs on).
	Logons []string
	// Tasks are known test results of tasks, by task id: each replaces that
	// task's result.
	Tasks map[string]bool
}

// InventoryOf returns the inventory of c as a write of every field: with
// [Ops], how a fleet is brought into an empty store.
func InventoryOf(c immy.Computer) Inventory {
	inv := Inventory{Computer: c.ID, Software: c.Software, OS: c.OS, Online: &c.Online, UPNs: c.UPNs, Tasks: c.Tasks}
	if inv.Software == nil {
		inv.Software = []immy.DetectedSoftware{}
	}
	if inv.UPNs == nil {
		inv.UPNs = []string{}
	}
	return inv
}

// Bounds of what an agent or a plugin reports in one Inventory: a report
// beyond them is refused (with the others of its batch), never truncated
// silently.
const (
	MaxSoftware    = 10_000 // detected software entries
	MaxTextLength  = 1024   // one name, version, code, publisher, OS or UPN, in bytes
	MaxLogons      = 1000   // logons in one report
	MaxTaskResults = 10_000 // task results in one report
)

// PutInventory writes what agents and sessions found on computers, as one
// transaction with a new revision, and returns it. Inventory and presence
// are not an admin's: a write never conflicts with an admin's change, never
// refuses one, and is not in the audit log. Several reports of one computer
// apply in order. The write is refused whole, with every problem, when a
// report names a computer the store does not have (deleted meanwhile, say),
// a task it does not have, or software without a name.
func (s *Store) PutInventory(ctx context.Context, reports []Inventory) (int64, error) {
	if len(reports) == 0 {
		return s.Revision(), nil
	}
	tx, cur, done, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	defer tx.Rollback()

	d, err := applyReports(cur, reports)
	if err != nil {
		return 0, err
	}
	next := &snapshot{rev: cur.rev + 1, fleet: cur.fleet, computer: cur.computer, lastSeen: cur.lastSeen, comps: cur.comps}
	if err := s.putInventoryRows(ctx, tx, next.rev, d.rows(cur)); err != nil {
		return 0, err
	}
	if err := s.fault("state"); err != nil {
		return 0, err
	}
	if err := s.setRevision(ctx, tx, next.rev); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("fleetstore: commit: %w", err)
	}
	s.changes.wrote(next.rev, cur.fleet, d) // before settle changes cur's computers in place
	next.settle(cur, d, true)
	s.cur.Store(next)
	return next.rev, nil
}

// applyReports returns what reports change of snap's fleet, which it
// leaves as it is: the new values of the computers they change, in the
// order first reported, and their last seen times. A report of a computer
// or task snap does not have refuses them all.
func applyReports(snap *snapshot, reports []Inventory) (*delta, error) {
	f := snap.fleet
	tasks := make(map[string]bool, len(f.Tasks))
	for _, t := range f.Tasks {
		tasks[t.ID] = true
	}
	var errs []error
	d := &delta{idx: make([]int, 0, len(reports)), comps: make([]immy.Computer, 0, len(reports)), at: make(map[int]int, len(reports))}
	for n, r := range reports {
		i, ok := snap.computer[r.Computer]
		if !ok {
			errs = append(errs, fmt.Errorf("report #%d: computer %q: %w", n+1, truncate(r.Computer), immy.ErrNotFound))
			continue
		}
		if err := r.check(tasks); err != nil {
			errs = append(errs, fmt.Errorf("report #%d: computer %q: %w: %w", n+1, r.Computer, immy.ErrInvalid, err))
			continue
		}
		r.apply(d.computer(f, i))
		if !r.LastSeen.IsZero() {
			if d.seen == nil {
				d.seen = map[string]time.Time{}
			}
			d.seen[r.Computer] = r.LastSeen.UTC()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("fleetstore: inventory refused: %w", err)
	}
	return d, nil
}

// rows returns the inventory rows d writes: each computer it changes with
// its last seen time (d's, else the one snap has).
func (d *delta) rows(snap *snapshot) []invRow {
	out := make([]invRow, len(d.idx))
	for k := range d.idx {
		c := &d.comps[k]
		seen, ok := d.seen[c.ID]
		if !ok {
			seen, _ = snap.lastSeen.get(c.ID)
		}
		out[k] = invRow{c, seen}
	}
	return out
}

// invRow is a computer whose inventory row is written, with its last seen
// time (zero: unknown).
type invRow struct {
	c    *immy.Computer
	seen time.Time
}

func (r *Inventory) check(tasks map[string]bool) error {
	var errs []error
	long := func(what string, v string) {
		if len(v) > MaxTextLength {
			errs = append(errs, fmt.Errorf("%s: longer than %d bytes", what, MaxTextLength))
		}
	}
	switch {
	case len(r.Software) > MaxSoftware:
		errs = append(errs, fmt.Errorf("software: %d entries, more than %d", len(r.Software), MaxSoftware))
	case len(r.Logons) > MaxLogons:
		errs = append(errs, fmt.Errorf("logons: %d, more than %d", len(r.Logons), MaxLogons))
	case len(r.Tasks) > MaxTaskResults:
		errs = append(errs, fmt.Errorf("tasks: %d results, more than %d", len(r.Tasks), MaxTaskResults))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	long("os", r.OS)
	for j, sw := range r.Software {
		if sw.Name == "" {
			errs = append(errs, fmt.Errorf("software[%d]: missing name", j))
		}
		// the field's name is made only for an error: a report holds
		// thousands of entries
		for _, f := range [...]struct{ name, v string }{{"name", sw.Name}, {"version", sw.Version.String()},
			{"product_code", sw.ProductCode}, {"upgrade_code", sw.UpgradeCode}, {"publisher", sw.Publisher}} {
			if len(f.v) > MaxTextLength {
				long(fmt.Sprintf("software[%d].%s", j, f.name), f.v)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.Tasks)) {
		if !tasks[id] {
			errs = append(errs, fmt.Errorf("tasks: unknown task %q", truncate(id)))
		}
	}
	for j, u := range slices.Concat(r.UPNs, r.Logons) {
		if u == "" || len(u) > MaxTextLength {
			errs = append(errs, fmt.Errorf("upn #%d: empty or longer than %d bytes", j+1, MaxTextLength))
		}
	}
	return errors.Join(errs...)
}

// truncate keeps an id an agent sent short enough to quote in an error.
func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "..."
}

// apply sets c's inventory fields from r; c's slices and map are replaced,
// never changed in place (older snapshots share them).
func (r *Inventory) apply(c *immy.Computer) {
	if r.Software != nil {
		c.Software = slices.Clone(r.Software)
		if len(c.Software) == 0 {
			c.Software = nil
		}
	}
	if r.OS != "" {
		c.OS = r.OS
	}
	if r.Online != nil {
		c.Online = *r.Online
	}
	upns := c.UPNs
	if r.UPNs != nil {
		upns = r.UPNs
	}
	if len(r.Logons) > 0 {
		next := make([]string, 0, len(r.Logons)+len(upns))
		for _, u := range slices.Backward(r.Logons) {
			next = append(next, u)
		}
		upns = append(next, upns...)
	}
	if r.UPNs != nil || len(r.Logons) > 0 {
		upns = slices.Clone(upns[:min(len(upns), immy.MaxUPNs)])
		if len(upns) == 0 {
			upns = nil
		}
		c.UPNs = upns
	}
	if len(r.Tasks) > 0 {
		m := maps.Clone(c.Tasks)
		if m == nil {
			m = make(map[string]bool, len(r.Tasks))
		}
		maps.Copy(m, r.Tasks)
		c.Tasks = m
	}
}

// putInventoryRows writes the inventories of the computers of rows, with
// revision rev.
func (s *Store) putInventoryRows(ctx context.Context, tx *sql.Tx, rev int64, rows []invRow) error {
	if len(rows) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, s.d.q(`INSERT INTO immy_fleet_inventory (computer, revision, doc) VALUES (?, ?, ?)
		ON CONFLICT (computer) DO UPDATE SET revision = excluded.revision, doc = excluded.doc`))
	if err != nil {
		return fmt.Errorf("fleetstore: write inventory: %w", err)
	}
	defer st.Close()
	for n, r := range rows {
		if n == len(rows)/2 {
			if err := s.fault("inventory"); err != nil {
				return err
			}
		}
		b, err := json.Marshal(inventoryOut(r.c, r.seen))
		if err != nil {
			return fmt.Errorf("fleetstore: write inventory of %q: %w", r.c.ID, err)
		}
		if _, err := st.ExecContext(ctx, r.c.ID, rev, string(b)); err != nil {
			return fmt.Errorf("fleetstore: write inventory of %q: %w", r.c.ID, err)
		}
	}
	return nil
}
