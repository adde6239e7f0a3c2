package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/targets"
)

func init() { extraChecks = append(extraChecks, checkCatalogue) }

// checkCatalogue is the resolver's rule of a fleet file: no prerequisite
// cycle (each reported with its whole path), no prerequisite that uninstalls
// its own software, detection patterns that compile.
func checkCatalogue(f *fleetfile.File) immy.Problems { return resolver.Check(f.Fleet) }

const planUsage = `usage: immyctl plan [-f FILE] [--computer ID] [--format text|json] [--explain ITEM] [--onboarding] [--at TIME]

Plan, without touching any computer, what a maintenance session would do on each
computer: which deployment wins each item and why, and the actions in order.
With --explain ITEM, show for that item every candidate deployment and the rule
each lost on, and the deployments that did not take part. Without -f it reads
the bundled example fleet.
`

// runPlan is the engine's what-if: immyctl plan.
func runPlan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("immyctl plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "the fleet `FILE` (default: the bundled example fleet)")
	computer := fs.String("computer", "", "plan only the computer with this `ID`")
	format := fs.String("format", "text", "output `format`: text or json")
	explain := fs.String("explain", "", "explain the decision for this `ITEM` (a software or task id)")
	onboarding := fs.Bool("onboarding", false, "plan an onboarding session (onboarding deployments take part)")
	at := fs.String("at", "", "evaluation `TIME` (RFC 3339, or a date) for client groups; default: the file's at, else now")
	fs.Usage = func() {
		io.WriteString(stderr, planUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInvalid
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "immyctl plan: "+format+"\n", args...)
		return exitInvalid
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q (give the file with -f)", fs.Arg(0))
	case *format != "text" && *format != "json":
		return usageErr("unknown format %q (want text or json)", *format)
	}
	var when time.Time
	if *at != "" {
		t, err := parseAt(*at)
		if err != nil {
			return usageErr("--at %q: want a time such as 2026-11-23T10:00:00Z or a date such as 2026-11-23", *at)
		}
		when = t
	}

	ff, err := loadFleet(*file, stdin)
	if err != nil {
		return planLoadError(stderr, err)
	}
	fleet := ff.Fleet
	if when.IsZero() {
		when = fleet.At
	}
	if when.IsZero() {
		when = time.Now()
	}
	cat, err := resolver.NewCatalogue(fleet)
	if err != nil {
		return planProblems(stderr, ff, err)
	}
	ix, err := targets.NewIndex(fleet, targets.Config{At: when})
	if err != nil {
		return planProblems(stderr, ff, err)
	}
	p, err := resolver.NewPlanner(ix, cat, resolver.Config{At: when})
	if err != nil {
		return planProblems(stderr, ff, err)
	}
	session := resolver.Session{}
	if *onboarding {
		session.Kind = resolver.OnboardingSession
	}

	// Everything is rendered into a buffer and written only when it is
	// complete: an error never leaves half a plan behind.
	var out bytes.Buffer
	ctx := context.Background()
	var ids []string
	if *computer != "" {
		if _, ok := ix.Computer(*computer); !ok {
			return usageErr("unknown computer %q", *computer)
		}
		ids = []string{*computer}
	}
	if *explain != "" {
		if _, ok := findItem(fleet, *explain); !ok {
			return usageErr("unknown item %q (want a software or task id)", *explain)
		}
		if ids == nil {
			ids = sortedComputers(fleet)
		}
		err = writeExplain(ctx, &out, p, ids, *explain, session, *format)
	} else {
		var plan *resolver.Plan
		if ids != nil {
			var cp *resolver.ComputerPlan
			cp, err = p.PlanComputer(ctx, ids[0], session, nil)
			if err == nil {
				plan = &resolver.Plan{At: p.At(), Session: session.Kind, Computers: []resolver.ComputerPlan{*cp}}
			}
		} else {
			plan, err = p.Plan(ctx, session)
		}
		if err == nil {
			if *format == "json" {
				err = plan.WriteJSON(&out)
			} else {
				err = plan.WriteText(&out)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "immyctl plan: %v\n", err)
		return exitFailure
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		fmt.Fprintf(stderr, "immyctl plan: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// parseAt reads --at: an RFC 3339 time, or a date (midnight UTC).
func parseAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// planLoadError reports a file that did not load: every problem, one a line,
// and status 2; or status 1 when the file could not be read.
func planLoadError(stderr io.Writer, err error) int {
	var ps immy.Problems
	if errors.As(err, &ps) {
		writeProblems(stderr, ps)
		return exitInvalid
	}
	fmt.Fprintf(stderr, "immyctl plan: %v\n", err)
	return exitFailure
}

// planProblems reports problems found after loading (a filter that does not
// compile, a cycle), located in the file.
func planProblems(stderr io.Writer, ff *fleetfile.File, err error) int {
	var ps immy.Problems
	if errors.As(err, &ps) {
		writeProblems(stderr, ff.LocateAll(ps))
		return exitInvalid
	}
	fmt.Fprintf(stderr, "immyctl plan: %v\n", err)
	return exitFailure
}

func writeProblems(w io.Writer, ps immy.Problems) {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Error())
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

func findItem(f *immy.Fleet, id string) (immy.ItemKind, bool) {
	for i := range f.Software {
		if f.Software[i].ID == id {
			return immy.ItemSoftware, true
		}
	}
	for i := range f.Tasks {
		if f.Tasks[i].ID == id {
			return immy.ItemTask, true
		}
	}
	return 0, false
}

func sortedComputers(f *immy.Fleet) []string {
	ids := make([]string, len(f.Computers))
	for i := range f.Computers {
		ids[i] = f.Computers[i].ID
	}
	slices.Sort(ids)
	return ids
}

// writeExplain renders the explanation of one item on each computer: text
// blocks separated by a blank line, or one JSON document.
func writeExplain(ctx context.Context, w *bytes.Buffer, p *resolver.Planner, ids []string, item string, s resolver.Session, format string) error {
	type doc struct {
		At        string                  `json:"at"`
		Item      string                  `json:"item"`
		Computers []*resolver.Explanation `json:"computers"`
	}
	d := doc{At: p.At().UTC().Format(time.RFC3339Nano), Item: item, Computers: []*resolver.Explanation{}}
	for i, id := range ids {
		e, err := p.Explain(ctx, id, item, s)
		if err != nil {
			return err
		}
		if format == "json" {
			d.Computers = append(d.Computers, e)
			continue
		}
		if i > 0 {
			w.WriteByte('\n')
		}
		if err := e.WriteText(w); err != nil {
			return err
		}
	}
	if format == "json" {
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return err
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	return nil
}
