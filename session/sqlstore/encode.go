package sqlstore

import (
	"encoding"
	"encoding/json"
	"strconv"
	"time"

	"github.com/immyoss/engine/session"
)

// A record's body is its JSON, as encoding/json writes it, so that a person
// reads the journal with any SQLite or PostgreSQL client, and rows written
// by earlier versions need no migration. The hot record, an action's change
// (three or four for every action a session runs), is written by
// appendActionRecord, byte for byte what json.Marshal writes for it
// (TestEncodeActionRecordAsJSON pins the two together, field by field) at a
// fraction of the cost; every other record, and an action record with a
// text that JSON would escape, goes through json.Marshal.

// encodeCompact returns rec's body on SQLite: an action record in its compact
// form when it can be (compact.go), else its JSON.
func encodeCompact(rec *session.Record) ([]byte, error) {
	if b, ok := appendCompact(make([]byte, 0, 128), rec); ok {
		return b, nil
	}
	return encodeRecord(rec)
}

// encodeRecord returns rec's body as JSON.
func encodeRecord(rec *session.Record) ([]byte, error) {
	if b, ok := appendActionRecord(make([]byte, 0, 384), rec); ok {
		return b, nil
	}
	return json.Marshal(rec)
}

// appendActionRecord appends the JSON of rec to dst when rec is an action
// record of plain texts; ok is false, and dst unusable, otherwise.
func appendActionRecord(dst []byte, rec *session.Record) (_ []byte, ok bool) {
	a := rec.Action
	if rec.Kind != session.RecordAction || a == nil || rec.Request != nil || rec.Status != 0 ||
		rec.Reason != "" || rec.Message != "" || !rec.Until.IsZero() || rec.Stage != 0 ||
		len(rec.Decisions) != 0 || len(rec.Actions) != 0 || len(rec.Problems) != 0 || rec.Segment != "" ||
		rec.Reboot != nil || rec.Revision != 0 {
		return dst, false
	}
	e := jsonAppender{b: dst, ok: true}
	e.raw(`{"session":`)
	e.str(rec.Session)
	e.raw(`,"seq":`)
	e.int(rec.Seq)
	e.raw(`,"kind":`)
	e.text(rec.Kind)
	e.raw(`,"time":`)
	e.time(rec.Time)
	if rec.Index != 0 {
		e.raw(`,"index":`)
		e.int(rec.Index)
	}
	p := &a.Planned
	e.raw(`,"action":{"planned":{"item":`)
	e.str(p.Item)
	e.raw(`,"deployment":`)
	e.str(p.Deployment)
	e.raw(`,"action":`)
	e.text(p.Action)
	e.raw(`,"reason":`)
	e.str(p.Reason)
	e.raw(`,"detected":`)
	e.str(p.Detected)
	e.optStr(`,"detected_from":`, p.DetectedFrom)
	e.raw(`,"version":`)
	e.str(p.Version)
	e.optStr(`,"required_by":`, p.RequiredBy)
	e.raw(`},"item_kind":`)
	e.text(a.ItemKind)
	if a.Onboarding {
		e.raw(`,"onboarding":true`)
	}
	e.raw(`,"status":`)
	e.text(a.Status)
	e.raw(`,"result":`)
	e.text(a.Result)
	e.raw(`,"reason":`)
	e.str(a.Reason)
	e.optStr(`,"message":`, a.Message)
	e.optStr(`,"decided_after":`, a.DecidedAfter)
	e.optStr(`,"after":`, a.After)
	e.optStr(`,"output":`, a.Output)
	e.optStr(`,"value":`, a.Value)
	if a.Attempts != 0 {
		e.raw(`,"attempts":`)
		e.int(a.Attempts)
	}
	if a.RebootRequired {
		e.raw(`,"reboot_required":true`)
	}
	e.raw(`}}`)
	return e.b, e.ok
}

// jsonAppender appends JSON; ok turns false at the first value it does not
// write as encoding/json would.
type jsonAppender struct {
	b  []byte
	ok bool
}

func (e *jsonAppender) raw(s string) { e.b = append(e.b, s...) }

func (e *jsonAppender) int(n int) { e.b = strconv.AppendInt(e.b, int64(n), 10) }

// str writes s when it holds only printable ASCII that JSON does not escape
// (encoding/json escapes '"', '\\', '<', '>' and '&').
func (e *jsonAppender) str(s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			e.ok = false
			return
		}
	}
	e.b = append(append(append(e.b, '"'), s...), '"')
}

func (e *jsonAppender) optStr(key, s string) {
	if s != "" {
		e.raw(key)
		e.str(s)
	}
}

func (e *jsonAppender) text(v encoding.TextMarshaler) {
	t, err := v.MarshalText()
	if err != nil {
		e.ok = false
		return
	}
	e.str(string(t))
}

// time writes t as time.Time's MarshalJSON does (RFC 3339 with nanoseconds),
// for the years and offsets it accepts.
func (e *jsonAppender) time(t time.Time) {
	_, off := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || off%60 != 0 {
		e.ok = false
		return
	}
	e.b = append(t.AppendFormat(append(e.b, '"'), time.RFC3339Nano), '"')
}
