package fleetstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// filled sets every settable field of v, recursively, to a value that is not
// zero, so that a field the stored form forgets shows as a difference.
func filled(t *testing.T, v reflect.Value, depth int) {
	switch v.Type() {
	case reflect.TypeFor[immy.Version]():
		v.Set(reflect.ValueOf(mustVersion(t, "1.2.3")))
		return
	case reflect.TypeFor[immy.Date]():
		v.Set(reflect.ValueOf(immy.Date{Year: 2026, Month: 1, Day: 2}))
		return
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				filled(t, v.Field(i), depth)
			}
		}
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1)
	case reflect.Uint8, reflect.Uint, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		if depth < 3 {
			p := reflect.New(v.Type().Elem())
			filled(t, p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		filled(t, s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		filled(t, k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		filled(t, e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf("v"))
	default:
		t.Fatalf("filled: a field of kind %s (%s): teach the test", v.Kind(), v.Type())
	}
}

// TestStoredFormKeepsEveryField fails when the vocabulary grows a field the
// stored form does not keep.
func TestStoredFormKeepsEveryField(t *testing.T) {
	var f immy.Fleet
	filled(t, reflect.ValueOf(&f).Elem(), 0)
	// the computer's inventory fields have a row of their own
	want := f.Computers[0]
	f.Computers[0] = immy.Computer{}
	admin := want
	admin.OS, admin.Online, admin.UPNs, admin.Software, admin.Tasks = "", false, nil, nil, nil
	f.Computers[0] = admin

	got := &immy.Fleet{}
	for _, sec := range sections {
		doc, _ := sec.doc(&f, 0)
		b, err := json.Marshal(doc)
		require.NoError(t, err, sec.kind())
		v, err := sec.decode(b)
		require.NoError(t, err, "%s: %s", sec.kind(), b)
		sec.fill(got, []any{v})
	}
	inv := inventoryOut(&want, time.Time{})
	b, err := json.Marshal(inv)
	require.NoError(t, err)
	var x inventoryDoc
	require.NoError(t, json.Unmarshal(b, &x))
	var d decoder
	x.apply(&d, &got.Computers[0])
	require.Empty(t, d.errs)
	f.Computers[0] = want
	if diff := cmp.Diff(&f, got, fleetCmp[0]); diff != "" {
		t.Fatalf("stored form lost fields (-want +got):\n%s", diff)
	}
}
