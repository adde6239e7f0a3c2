package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

const diffUsage = `usage: immyctl diff -f OLD -f NEW [--format text|json] [--json] [--onboarding] [--at TIME]

Show what an edit of a fleet file changes in the plan, without touching any
computer: both files are planned as immyctl plan plans them, and for each
computer whose plan changes it shows the decisions whose winner (or its desired
state) changed, with the old and the new winner, and the actions added, removed
or changed. Computers whose plan is the same are left out. Each file is planned
at --at, else its own at, else now. One of the files may be - (standard input).
`

// fileList is a flag given once per file.
type fileList []string

func (l *fileList) String() string     { return strings.Join(*l, ",") }
func (l *fileList) Set(s string) error { *l = append(*l, s); return nil }

// runDiff is immyctl diff: the what-if of an edit of a fleet file.
func runDiff(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("immyctl diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files fileList
	fs.Var(&files, "f", "a fleet `FILE`: give -f twice, the old file then the new one; - reads standard input")
	format := fs.String("format", "text", "output `format`: text or json")
	asJSON := fs.Bool("json", false, "the same as --format json")
	onboarding := fs.Bool("onboarding", false, "plan onboarding sessions (onboarding deployments take part)")
	at := fs.String("at", "", atFlagUsage)
	fs.Usage = func() {
		io.WriteString(stderr, diffUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInvalid
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "immyctl diff: "+format+"\n", args...)
		return exitInvalid
	}
	if *asJSON {
		*format = "json"
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q (give the files with -f)", fs.Arg(0))
	case len(files) != 2:
		return usageErr("want two files, -f OLD -f NEW (got %d)", len(files))
	case files[0] == "-" && files[1] == "-":
		return usageErr("only one of the files can be standard input")
	case *format != "text" && *format != "json":
		return usageErr("unknown format %q (want text or json)", *format)
	}
	when, err := parseAt(*at)
	if err != nil {
		return usageErr("%v", err)
	}
	session := resolver.Session{}
	if *onboarding {
		session.Kind = resolver.OnboardingSession
	}

	// Both files are read and checked before anything is planned: every
	// problem of both, at once.
	var ffs [2]*fleetfile.File
	status := exitOK
	for i, path := range files {
		if path == "" {
			return usageErr("empty file name")
		}
		ff, err := loadFleet(path, stdin)
		if err != nil {
			status = max(status, planLoadError(stderr, err))
			continue
		}
		ffs[i] = ff
	}
	if status != exitOK {
		return status
	}
	now := time.Now()
	var plans [2]*resolver.Plan
	for i, ff := range ffs {
		t := when
		if t.IsZero() {
			t = ff.Fleet.At
		}
		if t.IsZero() {
			t = now
		}
		p, code := planFile(stderr, ff, t, session)
		if p == nil {
			status = max(status, code)
			continue
		}
		plans[i] = p
	}
	if status != exitOK {
		return status
	}
	d := resolver.Diff(plans[0], plans[1])
	var out bytes.Buffer
	if *format == "json" {
		err = writeDiffJSON(&out, diffDoc{Old: nameOf(files[0]), New: nameOf(files[1]), Computers: computersOrEmpty(d)})
	} else {
		fmt.Fprintf(&out, "diff %s -> %s: %s\n", nameOf(files[0]), nameOf(files[1]), changeCount(d))
		writeDiffText(&out, d)
	}
	if err != nil {
		fmt.Fprintf(stderr, "immyctl diff: %v\n", err)
		return exitFailure
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		fmt.Fprintf(stderr, "immyctl diff: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// nameOf is how a file given with -f is named in the output.
func nameOf(path string) string {
	if path == "-" {
		return stdinName
	}
	return path
}

// planFile plans every computer of a loaded file at t, as immyctl plan does;
// on a failure it reports it and returns the exit status.
func planFile(stderr io.Writer, ff *fleetfile.File, at time.Time, s resolver.Session) (*resolver.Plan, int) {
	cat, err := resolver.NewCatalogue(ff.Fleet)
	if err != nil {
		return nil, planProblems(stderr, ff, err)
	}
	ix, err := targets.NewIndex(ff.Fleet, targets.Config{At: at})
	if err != nil {
		return nil, planProblems(stderr, ff, err)
	}
	p, err := resolver.NewPlanner(ix, cat, resolver.Config{At: at, Locate: ff.Locate})
	if err != nil {
		return nil, planProblems(stderr, ff, err)
	}
	plan, err := p.Plan(context.Background(), s)
	if err != nil {
		return nil, planFailure(stderr, ff, err)
	}
	return plan, exitOK
}

// changeCount says how many computers' plans change.
func changeCount(d resolver.PlanDiff) string {
	switch n := len(d.Computers); n {
	case 0:
		return "no computer's plan changes"
	case 1:
		return "1 computer's plan changes"
	default:
		return fmt.Sprintf("%d computers' plans change", n)
	}
}

// diffDoc is the JSON of immyctl diff.
type diffDoc struct {
	Old       string                  `json:"old"`
	New       string                  `json:"new"`
	Computers []resolver.ComputerDiff `json:"computers"`
}

// computersOrEmpty returns d's computers, [] (not null in JSON) for none.
func computersOrEmpty(d resolver.PlanDiff) []resolver.ComputerDiff {
	if d.Computers == nil {
		return []resolver.ComputerDiff{}
	}
	return d.Computers
}

// writeDiffJSON writes v indented, with a newline.
func writeDiffJSON(w *bytes.Buffer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	w.Write(b)
	w.WriteByte('\n')
	return nil
}

// writeDiffText renders a diff for a person: a block per computer whose plan
// changes, each with its decisions that changed (old winner -> new winner)
// and its actions added, removed and changed (a changed action is followed
// by what it was).
func writeDiffText(w *bytes.Buffer, d resolver.PlanDiff) {
	for _, c := range d.Computers {
		w.WriteByte('\n')
		w.WriteString(c.ID)
		switch {
		case c.Added:
			w.WriteString("  (new computer)")
		case c.Removed:
			w.WriteString("  (computer removed)")
		}
		w.WriteByte('\n')
		switch {
		case c.Excluded && !c.WasExcluded && !c.Added:
			w.WriteString("  now excluded from maintenance\n")
		case c.Excluded && c.Added:
			w.WriteString("  excluded from maintenance\n")
		case c.WasExcluded && !c.Excluded && !c.Removed:
			w.WriteString("  no longer excluded from maintenance\n")
		}
		if len(c.Decisions) > 0 {
			w.WriteString("  decisions:\n")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, x := range c.Decisions {
				fmt.Fprintf(tw, "    %s\t%s -> %s", x.Item, orNone(x.OldWinner), orNone(x.NewWinner))
				if d := desiredChange(x); d != "" {
					fmt.Fprintf(tw, "\t%s", d)
				}
				tw.Write([]byte("\n"))
			}
			tw.Flush()
		}
		if len(c.Actions) > 0 {
			w.WriteString("  actions:\n")
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			for _, a := range c.Actions {
				switch a.Change {
				case resolver.ActionAdded:
					actionRow(tw, "added", a.New, false)
				case resolver.ActionRemoved:
					actionRow(tw, "removed", a.Old, false)
				default:
					// what the row shows may be the same: then which entry
					// of the inventory it was detected from changed
					from := a.Old.DetectedFrom != a.New.DetectedFrom
					actionRow(tw, "changed", a.New, from)
					actionRow(tw, "  was", a.Old, from)
				}
			}
			tw.Flush()
		}
	}
}

// actionRow writes one action as the plan shows it, then the item it is
// required by, if any, and with from where its detected version comes from.
func actionRow(w io.Writer, label string, a *resolver.Action, from bool) {
	dep := a.Deployment
	if dep == "" {
		dep = "(no deployment)"
	}
	fmt.Fprintf(w, "    %s\t%s\t%s\t%s\t%s\t%s", label, a.Action, a.Item, actionVersions(*a), a.Reason, dep)
	if a.RequiredBy != "" {
		fmt.Fprintf(w, "\tfor %s", a.RequiredBy)
	}
	if from {
		fmt.Fprintf(w, "\tdetected from: %s", orNone(strings.Join(strings.Fields(a.DetectedFrom), " ")))
	}
	io.WriteString(w, "\n")
}

// actionVersions shows what an action starts from and brings, as the plan
// shows it.
func actionVersions(a resolver.Action) string {
	switch {
	case a.Detected != "" && a.Version != "":
		return a.Detected + " -> " + a.Version
	case a.Version != "":
		return "-> " + a.Version
	case a.Detected != "" && a.Action == resolver.ActionUninstall:
		return a.Detected + " -> (removed)"
	case a.Detected != "":
		return a.Detected
	}
	return "-"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// desiredChange shows the winner's desired state, old -> new when it changed.
func desiredChange(x resolver.DecisionDiff) string {
	switch {
	case x.OldDesired == x.NewDesired:
		return x.NewDesired
	case x.OldDesired == "":
		return x.NewDesired
	case x.NewDesired == "":
		return x.OldDesired
	}
	return x.OldDesired + " -> " + x.NewDesired
}
