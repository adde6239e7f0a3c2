package fleetfile_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

// FuzzLoad checks that Load never panics, that it gives either a fleet or
// located problems, and that whatever loads writes and loads back the same.
func FuzzLoad(f *testing.F) {
	for _, path := range append(fleetFiles(f), "../../examples/fleets/msp.yaml") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("tenants: [{id: a, parent: b}, {id: b, parent: a}]\n"))
	f.Add([]byte("a: &a [x]\nb: [*a, *a]\ncomputers: [{<<: {id: x}, tenant: t}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := fleetfile.Config{}.LoadBytes("fuzz.yaml", data)
		if err != nil {
			if file != nil {
				t.Fatal("a fleet with an error")
			}
			var ps immy.Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error is not a list of problems: %v", err)
			}
			for _, p := range ps {
				if p.File != "fuzz.yaml" || p.Message == "" {
					t.Fatalf("problem without file or message: %#v", p)
				}
			}
			return
		}
		var b bytes.Buffer
		if err := fleetfile.Write(&b, file.Fleet); err != nil {
			t.Fatalf("Write of a loaded fleet: %v", err)
		}
		again, err := fleetfile.Load("written.yaml", bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("Load of what Write wrote: %v\n%s", err, b.Bytes())
		}
		if diff := cmp.Diff(file.Fleet, again.Fleet, versionCmp); diff != "" {
			t.Fatalf("round trip differs (-loaded +reloaded):\n%s\nwritten:\n%s", diff, b.Bytes())
		}
	})
}
