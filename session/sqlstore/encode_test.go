package sqlstore

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session"
)

// texts the filler draws from: plain ones, and ones encoding/json escapes.
var encTexts = []string{"", "app03", "d-0001", "not-installed", "1.2.3", "verified", "a b c",
	`quote"d`, `back\slash`, "<b>", "fish & chips", "tab\there", "caf\u00e9", "line\u2028sep", "\x7f"}

// fill sets every exported field of v (a struct, through pointers) to a
// random value, texts from encTexts (mostly plain ones), enums among their
// first values (now and then one out of range).
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(1e18)))))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(r, v.Elem())
	case reflect.String:
		if r.IntN(50) == 0 {
			v.SetString(encTexts[r.IntN(len(encTexts))])
		} else {
			v.SetString(encTexts[r.IntN(7)])
		}
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(r.IntN(3)) * int64(r.IntN(100)))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		v.SetUint(uint64(r.IntN(3) * r.IntN(3)))
	default:
		panic("fill: " + v.Type().String())
	}
}

// TestEncodeActionRecordAsJSON: the hand-written encoding of an action
// record is json.Marshal's, byte for byte, whatever its fields hold (every
// field of the action is set at random, so that a field added to
// session.Action or resolver.Action and not written fails here); a text
// JSON escapes, or an enum out of range, sends the record to json.Marshal.
func TestEncodeActionRecordAsJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fast := 0
	for i := range 20_000 {
		var a session.Action
		fill(r, reflect.ValueOf(&a).Elem())
		rec := session.Record{Session: encTexts[r.IntN(3)], Seq: r.IntN(70), Kind: session.RecordAction,
			Time:  time.Date(2026, 11, 23, 10, 0, 0, r.IntN(2)*r.IntN(1e9), time.FixedZone("", 3600*(r.IntN(3)-1))),
			Index: r.IntN(3) * r.IntN(20), Action: &a}
		want, werr := json.Marshal(&rec)
		got, err := encodeRecord(&rec)
		if werr != nil {
			require.Error(t, err, "record %d: json.Marshal fails: %v", i, werr)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "record %d", i)
		if _, ok := appendActionRecord(nil, &rec); ok {
			fast++
		}
	}
	t.Logf("%d of 20,000 records took the fast path", fast)
	require.Greater(t, fast, 2_000, "many records take the fast path")
}

// TestEncodeOtherRecordsAsJSON: a record with any field that is not an
// action record's goes through json.Marshal (a field added to
// session.Record is one of them until appendActionRecord writes it).
func TestEncodeOtherRecordsAsJSON(t *testing.T) {
	own := map[string]bool{"Session": true, "Seq": true, "Kind": true, "Time": true, "Index": true, "Action": true}
	typ := reflect.TypeFor[session.Record]()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range typ.NumField() {
		f := typ.Field(i)
		if own[f.Name] {
			continue
		}
		rec := session.Record{Session: "s1", Seq: 2, Kind: session.RecordAction, Time: time.Unix(0, 0).UTC(),
			Action: &session.Action{Reason: "verified"}}
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
		_, ok := appendActionRecord(nil, &rec)
		require.False(t, ok, "a record with %s set takes json.Marshal's path", f.Name)
	}
	rec := session.Record{Session: "s1", Seq: 1, Kind: session.RecordCreated, Time: time.Unix(0, 0).UTC(),
		Request: &session.Request{ID: "s1", Computer: "pc1"}}
	want, err := json.Marshal(&rec)
	require.NoError(t, err)
	got, err := encodeRecord(&rec)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}
