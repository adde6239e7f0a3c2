package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/internal/redact"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session/fleetstore"
)

const applyUsage = `usage: immyctl apply -f FILE --db PATH|postgres://... [--dry-run] [--actor NAME] [--source NAME] [--format text|json] [--json]

Apply a fleet file to a fleet store (session/fleetstore) as one change set:
first show what it changes (the entities it creates, updates and deletes, and
for each computer whose plan changes, the decisions whose winner changed and
the actions added, removed or changed), then apply it, all or nothing, as a
new revision. With --dry-run, only show it.

The file manages the admin's entities only, as one source (--source, by default
fleetfile:NAME, NAME the file's base name): it creates and updates the
entities it holds, deletes only those an earlier apply of the same source
created and the file no longer holds, and never overwrites a computer it did
not create (one an agent or a plugin found) nor any inventory or presence: a
computer's inventory in the file is written only when the apply creates that
computer. --db is a SQLite file (created if missing; the journal's file may
hold both) or a postgres:// URL.
`

// runApply is immyctl apply: a fleet file into a fleet store, after a preview.
func runApply(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("immyctl apply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "the fleet `FILE`, or - for standard input (then give --source)")
	db := fs.String("db", "", "the fleet store: a SQLite file `PATH` or a postgres:// URL")
	dryRun := fs.Bool("dry-run", false, "show what the file changes, apply nothing")
	actor := fs.String("actor", "", "who applies, for the store's audit log (default: $USER, else immyctl)")
	source := fs.String("source", "", "the `NAME` of the source the file's entities belong to (default: fleetfile: and the file's base name)")
	format := fs.String("format", "text", "output `format`: text or json")
	asJSON := fs.Bool("json", false, "the same as --format json")
	onboarding := fs.Bool("onboarding", false, "preview onboarding sessions (onboarding deployments take part)")
	at := fs.String("at", "", "evaluation `TIME` of the preview's plans: an RFC 3339 time or a date; default: the fleet's at, else now")
	fs.Usage = func() {
		io.WriteString(stderr, applyUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInvalid
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "immyctl apply: "+format+"\n", args...)
		return exitInvalid
	}
	if *asJSON {
		*format = "json"
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q (give the file with -f)", fs.Arg(0))
	case *file == "":
		return usageErr("missing -f FILE")
	case *db == "":
		return usageErr("missing --db PATH (a SQLite file or a postgres:// URL)")
	case *file == "-" && *source == "":
		return usageErr("a file read from standard input needs --source NAME")
	case *format != "text" && *format != "json":
		return usageErr("unknown format %q (want text or json)", *format)
	}
	when, err := parseAt(*at)
	if err != nil {
		return usageErr("%v", err)
	}
	if *source == "" {
		*source = "fleetfile:" + filepath.Base(*file)
	}
	if *actor == "" {
		*actor = os.Getenv("USER")
	}
	if *actor == "" {
		*actor = "immyctl"
	}
	session := resolver.Session{}
	if *onboarding {
		session.Kind = resolver.OnboardingSession
	}

	ff, err := loadFleet(*file, stdin)
	if err != nil {
		return planLoadError(stderr, err)
	}
	ctx := context.Background()
	path := *db
	if _, err := os.Stat(path); *dryRun && !isPostgresURL(path) && errors.Is(err, os.ErrNotExist) {
		// a dry run writes nothing, not even a new empty store: it
		// previews against one of its own, which a new file would be
		dir, err := os.MkdirTemp("", "immyctl-dry-run")
		if err != nil {
			fmt.Fprintf(stderr, "immyctl apply: %v\n", err)
			return exitFailure
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "immy.db")
	}
	store, closeStore, err := openStore(ctx, path)
	if err != nil {
		fmt.Fprintf(stderr, "immyctl apply: %v\n", err)
		return exitFailure
	}
	defer closeStore()

	fail := func(err error) int {
		var ps immy.Problems
		if errors.As(err, &ps) {
			writeProblems(stderr, locateInFile(ff, ps))
			fmt.Fprintf(stderr, "immyctl apply: the fleet the file would make is refused; nothing applied\n")
			return exitInvalid
		}
		fmt.Fprintf(stderr, "immyctl apply: %v\n", maskDB(*db).Error(err))
		return exitFailure
	}
	ch, err := store.SourceChange(ctx, ff.Fleet, *source)
	if err != nil {
		return fail(err)
	}
	ch.Actor = *actor
	p, err := store.PreviewChange(ctx, ch, resolver.Config{At: when}, session)
	if err != nil {
		return fail(err)
	}
	var applied int64
	if !*dryRun && !p.Empty() {
		// Made against the revision previewed: if an admin changed one of
		// its entities meanwhile, it is refused, never applied over it.
		if applied, err = store.Apply(ctx, ch); err != nil {
			return fail(err)
		}
	}

	var out bytes.Buffer
	if *format == "json" {
		err = writeDiffJSON(&out, applyDoc{Source: *source, Revision: p.Revision, DryRun: *dryRun, Applied: applied,
			Entities: entitiesOf(p), Inventories: orEmpty(p.Inventories), Computers: computersOrEmpty(p.Diff)})
	} else {
		writeApplyText(&out, nameOf(*file), *source, p, *dryRun, applied)
	}
	if err != nil {
		fmt.Fprintf(stderr, "immyctl apply: %v\n", err)
		return exitFailure
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		fmt.Fprintf(stderr, "immyctl apply: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// openStore opens the fleet store of --db: PostgreSQL for a postgres:// or
// postgresql:// URL, else the SQLite file at that path.
func openStore(ctx context.Context, db string) (*fleetstore.Store, func(), error) {
	if isPostgresURL(db) {
		pool, err := pgxpool.New(ctx, db)
		if err != nil {
			return nil, nil, fmt.Errorf("--db: %w", maskDB(db).Error(err))
		}
		s, err := fleetstore.OpenPostgres(ctx, pool, fleetstore.Config{})
		if err != nil {
			pool.Close()
			return nil, nil, maskDB(db).Error(err)
		}
		return s, func() { s.Close(); pool.Close() }, nil
	}
	s, err := fleetstore.OpenSQLite(ctx, db, fleetstore.Config{})
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// maskDB hides the password of a postgres:// URL in what is printed; it
// hides nothing else.
func maskDB(db string) *redact.Masker {
	if !isPostgresURL(db) {
		return nil
	}
	u, err := url.Parse(db)
	if err != nil {
		return redact.New("********", db) // unreadable: hide it whole
	}
	pw, _ := u.User.Password()
	return redact.New("********", pw)
}

// locateInFile places the problems of the fleet an apply would make in the
// file, where their entity is the file's; a problem of an entity the file
// does not hold (a computer an agent found, say) is left as the store's.
func locateInFile(ff *fleetfile.File, ps immy.Problems) immy.Problems {
	out := make(immy.Problems, 0, len(ps))
	for _, p := range ps {
		if i, ok := fileIndex(ff.Fleet, p.Section, p.ID); ok {
			p.Index = i
			out = append(out, ff.Locate(p))
			continue
		}
		p.File = "(store)"
		out = append(out, p)
	}
	out.Sort()
	return out
}

// fileIndex returns the index of the entity with id in a section of f.
func fileIndex(f *immy.Fleet, section, id string) (int, bool) {
	if id == "" {
		return 0, false
	}
	var n int
	var idAt func(int) string
	switch section {
	case "tenants":
		n, idAt = len(f.Tenants), func(i int) string { return f.Tenants[i].ID }
	case "persons":
		n, idAt = len(f.Persons), func(i int) string { return f.Persons[i].ID }
	case "computers":
		n, idAt = len(f.Computers), func(i int) string { return f.Computers[i].ID }
	case "groups":
		n, idAt = len(f.Groups), func(i int) string { return f.Groups[i].ID }
	case "agreements":
		n, idAt = len(f.Agreements), func(i int) string { return f.Agreements[i].ID }
	case "software":
		n, idAt = len(f.Software), func(i int) string { return f.Software[i].ID }
	case "tasks":
		n, idAt = len(f.Tasks), func(i int) string { return f.Tasks[i].ID }
	case "deployments":
		n, idAt = len(f.Deployments), func(i int) string { return f.Deployments[i].ID }
	case "schedules":
		n, idAt = len(f.Schedules), func(i int) string { return f.Schedules[i].ID }
	default:
		return 0, false
	}
	for i := range n {
		if idAt(i) == id {
			return i, true
		}
	}
	return 0, false
}

// applyDoc is the JSON of immyctl apply.
type applyDoc struct {
	Source      string                  `json:"source"`
	Revision    int64                   `json:"revision"` // the store's revision the preview was made at
	DryRun      bool                    `json:"dry_run"`
	Applied     int64                   `json:"applied_revision,omitempty"`
	Entities    []entityJSON            `json:"entities"`
	Inventories []string                `json:"inventories"`
	Computers   []resolver.ComputerDiff `json:"computers"`
}

type entityJSON struct {
	Op   string `json:"op"`
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

func entitiesOf(p *fleetstore.ChangePreview) []entityJSON {
	out := make([]entityJSON, 0, len(p.Entities))
	for _, e := range p.Entities {
		out = append(out, entityJSON{Op: e.Op, Kind: string(e.Kind), ID: e.ID})
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeApplyText renders an apply for a person: what it changes in the
// store, what it changes in the plans, then what was done.
func writeApplyText(w *bytes.Buffer, file, source string, p *fleetstore.ChangePreview, dryRun bool, applied int64) {
	fmt.Fprintf(w, "apply %s as %s, at revision %d\n", file, source, p.Revision)
	if p.Empty() {
		w.WriteString("nothing to apply: the store holds the file as it is\n")
		return
	}
	count := map[string]int{}
	for _, e := range p.Entities {
		count[e.Op]++
	}
	fmt.Fprintf(w, "entities: %d to create, %d to update, %d to delete\n", count["create"], count["update"], count["delete"])
	if len(p.Entities) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range p.Entities {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Op, e.Kind, e.ID)
		}
		tw.Flush()
	}
	if n := len(p.Inventories); n > 0 {
		fmt.Fprintf(w, "inventories: the file's, of %d new computer%s\n", n, plural(n))
	}
	fmt.Fprintf(w, "plans: %s\n", changeCount(p.Diff))
	writeDiffText(w, p.Diff)
	w.WriteByte('\n')
	if dryRun {
		w.WriteString("dry run: nothing applied\n")
		return
	}
	fmt.Fprintf(w, "applied: revision %d\n", applied)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
