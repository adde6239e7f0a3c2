package sqlstore

import (
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/journaltest"
)

// TestCompactRecord pins the compact form of action and plan records to
// the JSON path: every field of the actions is set at random (so that a
// field added to session.Action or resolver.Action and not written fails
// here), and the record read back from its compact form is the record read
// back from its JSON. A record the compact form does not hold is its JSON.
func TestCompactRecord(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	compact := map[session.RecordKind]int{}
	for i := range 20_000 {
		action := func() session.Action {
			var a session.Action
			fill(r, reflect.ValueOf(&a).Elem())
			if r.IntN(10) == 0 {
				a.Output = "not \xff UTF-8"
			}
			return a
		}
		rec := session.Record{Session: "s-" + encTexts[r.IntN(3)], Seq: 1 + r.IntN(70),
			Time: time.Date(2026, 11, 23, 10, 0, 0, r.IntN(2)*r.IntN(1e9), time.FixedZone("", 3600*(r.IntN(3)-1)))}
		if r.IntN(4) == 0 {
			rec.Kind, rec.Segment, rec.Revision = session.RecordPlan, encTexts[r.IntN(3)], int64(r.IntN(3)*r.IntN(1000))
			for range r.IntN(4) {
				rec.Actions = append(rec.Actions, action())
			}
			if r.IntN(10) == 0 {
				rec.Problems = []resolver.Problem{{Item: "app"}}
			}
		} else {
			a := action()
			rec.Kind, rec.Index, rec.Action = session.RecordAction, r.IntN(3)*r.IntN(20), &a
		}
		js, jerr := json.Marshal(&rec)
		body, err := encodeCompact(&rec)
		if jerr != nil {
			require.Error(t, err, "record %d: json.Marshal fails: %v", i, jerr)
			continue
		}
		require.NoError(t, err)
		want, werr := decodeRecord(rec.Session, rec.Seq, js)
		got, gerr := decodeRecord(rec.Session, rec.Seq, body)
		if werr != nil {
			// an enum JSON writes and cannot read back (the zero value)
			require.Error(t, gerr, "record %d: the JSON does not read back: %v", i, werr)
			continue
		}
		require.NoError(t, gerr, "record %d", i)
		if body[0] == compactAction1 || body[0] == compactPlan1 {
			compact[rec.Kind]++
			require.Less(t, len(body), len(js), "record %d: the compact form is shorter", i)
		} else {
			require.Equal(t, string(js), string(body), "record %d: not compact, then JSON", i)
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("record %d: compact read back (-json +compact):\n%s", i, d)
		}
	}
	t.Logf("compact: %v of 20,000", compact)
	require.Greater(t, compact[session.RecordAction], 5_000)
	require.Greater(t, compact[session.RecordPlan], 1_000)
}

// TestCompactOtherRecords: a record with any field an action record does not
// have is its JSON (a field added to session.Record is one of them until the
// compact form holds it), and so is every record of another kind.
func TestCompactOtherRecords(t *testing.T) {
	typ := reflect.TypeFor[session.Record]()
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range []struct {
		own  map[string]bool
		base session.Record
	}{
		{map[string]bool{"Session": true, "Seq": true, "Kind": true, "Time": true, "Index": true, "Action": true},
			session.Record{Session: "s1", Seq: 2, Kind: session.RecordAction, Time: time.Unix(0, 0).UTC(),
				Action: &session.Action{Reason: "verified"}}},
		{map[string]bool{"Session": true, "Seq": true, "Kind": true, "Time": true, "Segment": true, "Actions": true, "Revision": true},
			session.Record{Session: "s1", Seq: 2, Kind: session.RecordPlan, Time: time.Unix(0, 0).UTC(),
				Segment: "main", Actions: []session.Action{{Reason: "verified"}}}},
	} {
		body, ok := appendCompact(nil, &k.base)
		require.True(t, ok, "a %s record is compact", k.base.Kind)
		_, err := decodeRecord("s1", 2, body)
		require.NoError(t, err)
		for i := range typ.NumField() {
			f := typ.Field(i)
			if k.own[f.Name] {
				continue
			}
			rec := k.base
			v := reflect.ValueOf(&rec).Elem().Field(i)
			for v.IsZero() {
				switch v.Kind() {
				case reflect.Slice:
					v.Set(reflect.MakeSlice(v.Type(), 1, 1))
				case reflect.Pointer:
					v.Set(reflect.New(v.Type().Elem()))
				default:
					fill(r, v)
				}
			}
			_, ok := appendCompact(nil, &rec)
			require.False(t, ok, "a %s record with %s set is its JSON", k.base.Kind, f.Name)
		}
	}
	for _, rec := range journaltest.Every("s1") {
		rec.Session, rec.Seq = "s1", 1
		body, err := encodeCompact(&rec)
		require.NoError(t, err)
		switch rec.Kind {
		case session.RecordAction:
			require.Equal(t, byte(compactAction1), body[0])
			continue
		case session.RecordPlan:
			require.Equal(t, byte(compactPlan1), body[0])
			continue
		}
		want, err := json.Marshal(&rec)
		require.NoError(t, err)
		require.Equal(t, string(want), string(body), rec.Kind.String())
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	rec := session.Record{Session: "s1", Seq: 3, Kind: session.RecordAction, Time: time.Unix(1e9, 5).UTC(), Index: 2,
		Action: &session.Action{Planned: resolver.Action{Item: "app", Action: resolver.ActionInstall, Version: "2.0"},
			ItemKind: immy.ItemSoftware, Status: session.Complete, Result: session.Success, Reason: "verified", Attempts: 1}}
	body, ok := appendCompact(nil, &rec)
	require.True(t, ok)
	got, err := decodeRecord("s1", 3, body)
	require.NoError(t, err)
	require.Equal(t, rec, got)

	for n := range len(body) {
		_, err := decodeRecord("s1", 3, body[:n])
		require.Error(t, err, "cut at %d of %d bytes", n, len(body))
	}
	_, err = decodeRecord("s1", 3, append(body[:len(body):len(body)], 0))
	require.ErrorContains(t, err, "after its end")
	_, err = decodeRecord("s1", 3, []byte{0x7f, 1, 2})
	require.ErrorContains(t, err, "unknown encoding (first byte 0x7f)")
	bad := append([]byte(nil), body...)
	bad[len(bad)-1] = 0x80
	_, err = decodeRecord("s1", 3, bad)
	require.ErrorContains(t, err, "malformed")
}

func FuzzDecodeRecord(f *testing.F) {
	for _, rec := range journaltest.Every("s1") {
		rec.Session, rec.Seq = "s1", 1
		body, err := encodeCompact(&rec)
		require.NoError(f, err)
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec, err := decodeRecord("s1", 1, body)
		if err != nil || len(body) == 0 || (body[0] != compactAction1 && body[0] != compactPlan1) {
			return
		}
		// what decodes encodes again, and reads back the same
		again, ok := appendCompact(nil, &rec)
		if !ok {
			return // a text not valid UTF-8: kept as JSON
		}
		back, err := decodeRecord("s1", 1, again)
		require.NoError(t, err)
		require.Equal(t, rec, back)
	})
}

// TestReplayOlderRecords: a journal written by an earlier version, every
// record a JSON body, replays as it was, and its sessions go on with records
// in the compact form beside the older ones.
func TestReplayOlderRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "immy.db")
	s := openSQLite(t, path, Config{})
	ctx := t.Context()
	recs := journaltest.Simple("s-old", 8)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.Kind.String())
	}
	require.Contains(t, kinds, "action")
	// rows as an earlier version wrote them: the record's JSON
	db := s.DB()
	_, err := db.ExecContext(ctx, `INSERT INTO immy_sessions (id, computer, status, created, updated, ended)
		VALUES ('s-old', 'pc-s-old', 'running', '2026-03-29T00:59:58.000000000Z', '2026-03-29T00:59:58.000000000Z', 0)`)
	require.NoError(t, err)
	old := 5
	for _, r := range recs[:old] {
		body, err := json.Marshal(&r)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO immy_records (session, seq, kind, body)
			VALUES ((SELECT n FROM immy_sessions WHERE id = 's-old'), ?, ?, ?)`, r.Seq, r.Kind.String(), string(body))
		require.NoError(t, err)
	}
	for _, r := range recs[old:] {
		require.NoError(t, s.Append(ctx, r))
	}
	var compact int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM immy_records WHERE typeof(body) = 'blob'`).Scan(&compact))
	require.Positive(t, compact, "the later action records are compact")

	for _, replay := range []func(func(session.Record) error) error{
		func(fn func(session.Record) error) error { return s.Replay(ctx, fn) },
		func(fn func(session.Record) error) error { return s.ReplaySession(ctx, "s-old", fn) },
	} {
		var got []session.Record
		require.NoError(t, replay(func(r session.Record) error { got = append(got, r); return nil }))
		if d := cmp.Diff(recs, got, journaltest.Equal); d != "" {
			t.Errorf("replay (-want +got):\n%s", d)
		}
	}

	// a body in an encoding this version does not know is refused by name
	_, err = db.ExecContext(ctx, `INSERT INTO immy_records (session, seq, kind, body)
		VALUES ((SELECT n FROM immy_sessions WHERE id = 's-old'), 9, 'action', x'7f00')`)
	require.NoError(t, err)
	err = s.ReplaySession(ctx, "s-old", func(session.Record) error { return nil })
	require.ErrorContains(t, err, `session "s-old": record 9`)
	require.ErrorContains(t, err, "unknown encoding")
}
