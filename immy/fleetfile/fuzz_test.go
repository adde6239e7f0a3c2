package fleetfile_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

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

// FuzzParseTime checks that ParseTime never panics, that it refuses with the
// forms it wants, and that a time it reads, written in RFC 3339, reads back as
// the same instant.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-23T10:00:00Z", "2026-11-23T11:00:00+01:00", "2026-11-23T10:00:00.123456789Z", "2026-12-07", "2026-02-30", "yesterday", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := fleetfile.ParseTime(s)
		if err != nil {
			if !strings.Contains(err.Error(), "want RFC 3339") {
				t.Fatalf("ParseTime(%q): %v", s, err)
			}
			return
		}
		again, err := fleetfile.ParseTime(got.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseTime(%q) = %v, which reads back as %v, %v", s, got, again, err)
		}
	})
}
