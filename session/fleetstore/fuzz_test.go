package fleetstore

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/immyoss/engine/immy"
)

// FuzzDecode reads arbitrary stored documents of every kind: never a panic,
// and a document that decodes encodes to one that decodes to the same entity.
func FuzzDecode(f *testing.F) {
	fleet := mspFleet(f)
	for k, sec := range sections {
		for i := range sec.ids(fleet) {
			doc, _ := sec.doc(fleet, i)
			b, err := json.Marshal(doc)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(k), b)
		}
	}
	f.Add(uint8(0), []byte(`{"id":"x","business_hours":{"weekdays":[99]}}`))
	f.Add(uint8(7), []byte(`{"id":"d","parameters":{"k":{"a":1}},"desired":"nope"}`))
	f.Fuzz(func(t *testing.T, kind uint8, b []byte) {
		sec := sections[int(kind)%len(sections)]
		v, err := sec.decode(b)
		if err != nil {
			return
		}
		one := encodeOne(t, sec, v)
		w, err := sec.decode(one)
		if err != nil {
			t.Fatalf("%s: re-encoded %s does not decode: %v", sec.kind(), one, err)
		}
		if diff := cmp.Diff(v, w, fleetCmp...); diff != "" {
			t.Fatalf("%s: round trip of %s (-first +second):\n%s", sec.kind(), b, diff)
		}
	})
}

// encodeOne encodes a decoded entity as the store would.
func encodeOne(t *testing.T, sec section, v any) []byte {
	t.Helper()
	var fl immy.Fleet
	sec.fill(&fl, []any{v})
	doc, _ := sec.doc(&fl, 0)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("%s: encode: %v", sec.kind(), err)
	}
	return b
}
