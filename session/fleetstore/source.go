package fleetstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/immyoss/engine/immy"
)

// SourceChange returns the change that makes the store hold the fleet f as
// the source's (a fleet file, say): what a GitOps apply runs, after a
// [Store.Preview] of it.
//
// The change puts every entity of f and the settings, except a computer the
// store already has that source did not create (one an agent or a plugin
// found, or an admin made): its fields stay as they are. It deletes each
// entity source created that f no longer holds, and nothing else.
//
// Inventory and presence (a computer's OS, online, logons, detected software
// and known task results) are the agents' once a computer exists: the change
// writes f's inventory of a computer only when it creates that computer, as
// the computer's starting inventory (in [Change.Inventory]); it never
// overwrites the inventory of a computer the store has.
//
// Base is the revision the change was computed at; set Actor before
// applying it.
func (s *Store) SourceChange(ctx context.Context, f *immy.Fleet, source string) (Change, error) {
	if source == "" {
		return Change{}, fmt.Errorf("fleetstore: source change: missing source: %w", immy.ErrInvalid)
	}
	tx, cur, done, err := s.begin(ctx)
	if err != nil {
		return Change{}, err
	}
	defer done()
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT kind, id, source FROM immy_fleet_entities WHERE doc IS NOT NULL ORDER BY kind, created_rev, created_pos`)
	if err != nil {
		return Change{}, fmt.Errorf("fleetstore: source change: %w", err)
	}
	defer rows.Close()
	type key struct {
		kind Kind
		id   string
	}
	var mine []key
	other := map[key]bool{}
	live := map[key]bool{}
	for rows.Next() {
		var k, id, src string
		if err := rows.Scan(&k, &id, &src); err != nil {
			return Change{}, fmt.Errorf("fleetstore: source change: %w", err)
		}
		live[key{Kind(k), id}] = true
		if src == source {
			mine = append(mine, key{Kind(k), id})
		} else {
			other[key{Kind(k), id}] = true
		}
	}
	if err := rows.Err(); err != nil {
		return Change{}, fmt.Errorf("fleetstore: source change: %w", err)
	}
	ch := Change{Base: cur.rev, Source: source, Ops: []Op{PutSettings(Settings{At: f.At})}}
	held := map[key]bool{}
	var errs []error
	for _, o := range Ops(f) {
		k := key{o.kind, o.id}
		if held[k] {
			errs = append(errs, fmt.Errorf("%s %q: twice in the fleet", o.kind, o.id))
			continue
		}
		held[k] = true
		if o.kind == KindSettings || (o.kind == KindComputer && other[k]) {
			continue
		}
		ch.Ops = append(ch.Ops, o)
	}
	for _, c := range f.Computers {
		if !live[key{KindComputer, c.ID}] {
			ch.Inventory = append(ch.Inventory, InventoryOf(c))
		}
	}
	for _, k := range mine {
		if !held[k] && k.kind != KindSettings {
			ch.Ops = append(ch.Ops, Delete(k.kind, k.id))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Change{}, fmt.Errorf("fleetstore: source change: %w: %w", immy.ErrInvalid, err)
	}
	return ch, nil
}
