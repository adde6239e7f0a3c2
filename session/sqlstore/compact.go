package sqlstore

import (
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/immyoss/engine/session"
)

// On SQLite, an action record (two for every action a session runs, most of
// a journal) and a plan record are kept in a compact binary form instead of
// their JSON: a third of the bytes to write and sync, and less work to
// make. A body's first byte tells its encoding, so that rows written by
// earlier versions (JSON, whose first byte is '{') replay as they are, with
// no migration:
//
//	'{'   JSON, as encoding/json writes the record (every record on
//	      PostgreSQL, whose body column is json; the other records on
//	      SQLite; every record an earlier version wrote)
//	0x01  an action record, compact version 1
//	0x02  a plan record, compact version 1
//
// Any other first byte is refused by replay with an error naming the
// session and record. After its marker, compact version 1 holds the time as
// a varint of Unix seconds and a uvarint of nanoseconds (an instant, read
// back in UTC, as a journal's times compare); then an action record's index
// as a varint and its action; a plan record's revision as a varint, its
// segment, and the number of its actions as a uvarint, then each action. An
// action is the texts of the planned action (item, deployment, action,
// reason, detected, detected_from, version, required_by), then of the
// action (item_kind, status, result, reason, message, decided_after, after,
// output, value), each a uvarint length and its bytes, enums in their text
// form; the attempts as a varint; a byte of flags (1: onboarding, 2: reboot
// required). The session and Seq are the row's. A record the form cannot
// hold exactly as JSON would (a plan with problems; a text not valid UTF-8,
// which JSON alters) is kept as JSON. TestCompactRecord pins the form to
// the JSON path: every field set at random comes back as a JSON round trip
// brings it back.

// Markers of the compact forms, version 1.
const (
	compactAction1 = 0x01 // an action record
	compactPlan1   = 0x02 // a plan record
)

// appendCompact appends the compact form of rec to dst when rec is an action
// or plan record it can hold; ok is false, and dst unusable, otherwise.
func appendCompact(dst []byte, rec *session.Record) (_ []byte, ok bool) {
	if rec.Request != nil || rec.Status != 0 || rec.Reason != "" || rec.Message != "" || !rec.Until.IsZero() ||
		rec.Stage != 0 || len(rec.Decisions) != 0 || len(rec.Problems) != 0 || rec.Reboot != nil {
		return dst, false
	}
	var e compactAppender
	switch {
	case rec.Kind == session.RecordAction && rec.Action != nil && len(rec.Actions) == 0 && rec.Segment == "" && rec.Revision == 0:
		e = compactAppender{b: append(dst, compactAction1), ok: true}
		e.time(rec.Time)
		e.b = binary.AppendVarint(e.b, int64(rec.Index))
		e.action(rec.Action)
	case rec.Kind == session.RecordPlan && rec.Action == nil && rec.Index == 0:
		e = compactAppender{b: append(dst, compactPlan1), ok: true}
		e.time(rec.Time)
		e.b = binary.AppendVarint(e.b, rec.Revision)
		e.str(rec.Segment)
		e.b = binary.AppendUvarint(e.b, uint64(len(rec.Actions)))
		for i := range rec.Actions {
			e.action(&rec.Actions[i])
		}
	default:
		return dst, false
	}
	return e.b, e.ok
}

func (e *compactAppender) time(t time.Time) {
	e.b = binary.AppendVarint(e.b, t.Unix())
	e.b = binary.AppendUvarint(e.b, uint64(t.Nanosecond()))
}

func (e *compactAppender) action(a *session.Action) {
	p := &a.Planned
	e.str(p.Item)
	e.str(p.Deployment)
	e.text(p.Action)
	e.str(p.Reason)
	e.str(p.Detected)
	e.str(p.DetectedFrom)
	e.str(p.Version)
	e.str(p.RequiredBy)
	e.text(a.ItemKind)
	e.text(a.Status)
	e.text(a.Result)
	e.str(a.Reason)
	e.str(a.Message)
	e.str(a.DecidedAfter)
	e.str(a.After)
	e.str(a.Output)
	e.str(a.Value)
	e.b = binary.AppendVarint(e.b, int64(a.Attempts))
	var flags byte
	if a.Onboarding {
		flags |= 1
	}
	if a.RebootRequired {
		flags |= 2
	}
	e.b = append(e.b, flags)
}

type compactAppender struct {
	b  []byte
	ok bool
}

func (e *compactAppender) str(s string) {
	if !utf8.ValidString(s) {
		e.ok = false
		return
	}
	e.b = append(binary.AppendUvarint(e.b, uint64(len(s))), s...)
}

func (e *compactAppender) text(v encoding.TextMarshaler) {
	t, err := v.MarshalText()
	if err != nil {
		e.ok = false
		return
	}
	e.b = append(binary.AppendUvarint(e.b, uint64(len(t))), t...)
}

// decodeRecord returns the record a row holds: its body in any encoding
// above, the session and Seq of the row.
func decodeRecord(id string, seq int, body []byte) (session.Record, error) {
	if len(body) == 0 {
		return session.Record{}, errors.New("empty record body")
	}
	switch body[0] {
	case '{':
		var rec session.Record
		if err := json.Unmarshal(body, &rec); err != nil {
			return session.Record{}, err
		}
		return rec, nil
	case compactAction1, compactPlan1:
		return decodeCompact(id, seq, body[0], body[1:])
	}
	return session.Record{}, fmt.Errorf("record body in an unknown encoding (first byte 0x%02x): written by a later version of the engine?", body[0])
}

var errCompactShort = errors.New("compact record: cut short")

func decodeCompact(id string, seq int, kind byte, b []byte) (session.Record, error) {
	d := compactDecoder{b: b}
	secs, nanos := d.varint(), d.uvarint()
	rec := session.Record{Session: id, Seq: seq}
	switch kind {
	case compactAction1:
		rec.Kind = session.RecordAction
		rec.Index = int(d.varint())
		rec.Action = new(session.Action)
		d.action(rec.Action)
	case compactPlan1:
		rec.Kind = session.RecordPlan
		rec.Revision = d.varint()
		rec.Segment = d.str()
		n := d.uvarint()
		if n > uint64(len(d.b)) { // an action takes a byte at least
			d.fail(errCompactShort)
		} else if n > 0 {
			rec.Actions = make([]session.Action, n)
			for i := range rec.Actions {
				d.action(&rec.Actions[i])
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("compact record: %d bytes after its end", len(d.b))
	}
	if d.err == nil && nanos >= 1e9 {
		d.err = errors.New("compact record: malformed time")
	}
	if d.err != nil {
		return session.Record{}, d.err
	}
	rec.Time = time.Unix(secs, int64(nanos)).UTC()
	return rec, nil
}

func (d *compactDecoder) action(a *session.Action) {
	p := &a.Planned
	p.Item = d.str()
	p.Deployment = d.str()
	d.text(&p.Action, "planned.action")
	p.Reason = d.str()
	p.Detected = d.str()
	p.DetectedFrom = d.str()
	p.Version = d.str()
	p.RequiredBy = d.str()
	d.text(&a.ItemKind, "item_kind")
	d.text(&a.Status, "status")
	d.text(&a.Result, "result")
	a.Reason = d.str()
	a.Message = d.str()
	a.DecidedAfter = d.str()
	a.After = d.str()
	a.Output = d.str()
	a.Value = d.str()
	a.Attempts = int(d.varint())
	flags := d.byte()
	if flags&^3 != 0 {
		d.fail(errors.New("compact record: malformed flags"))
	}
	a.Onboarding, a.RebootRequired = flags&1 != 0, flags&2 != 0
}

func (d *compactDecoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// compactDecoder reads a compact record; err is the first error, after
// which every read returns the zero value.
type compactDecoder struct {
	b   []byte
	err error
}

func (d *compactDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCompactShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *compactDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCompactShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *compactDecoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errCompactShort
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *compactDecoder) str() string { return string(d.bytes()) }

func (d *compactDecoder) text(v encoding.TextUnmarshaler, field string) {
	t := d.bytes()
	if d.err != nil {
		return
	}
	if err := v.UnmarshalText(t); err != nil {
		d.err = fmt.Errorf("compact record: %s: %w", field, err)
	}
}

func (d *compactDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errCompactShort
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
