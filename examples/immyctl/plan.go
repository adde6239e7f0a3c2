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

const planUsage = `usage: immyctl plan [-f FILE] [--tenant ID] [--computer ID] [--format text|json] [--explain ITEM] [--onboarding] [--at TIME]

Plan, without touching any computer, what a maintenance session would do on each
computer: which deployment wins each item and why, and the actions in order,
then the totals: computers, actions by kind, and changes by tenant (install,
update, downgrade, uninstall, reinstall and task-enforce actions). With --tenant
ID, plan only that tenant's own computers. With --explain ITEM, show for that
item every candidate deployment and the rule each lost on, and the deployments
that did not take part. -f - reads the file from standard input; without -f it
reads the bundled example fleet.
`

// runPlan is the engine's what-if: immyctl plan.
func runPlan(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("immyctl plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", fileFlagUsage)
	computer := fs.String("computer", "", "plan only the computer with this `ID`")
	tenant := fs.String("tenant", "", "plan only the computers of the tenant with this `ID` (not its child tenants')")
	format := fs.String("format", "text", "output `format`: text or json")
	explain := fs.String("explain", "", "explain the decision for this `ITEM` (a software or task id)")
	onboarding := fs.Bool("onboarding", false, "plan an onboarding session (onboarding deployments take part)")
	at := fs.String("at", "", atFlagUsage)
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
	when, err := parseAt(*at)
	if err != nil {
		return usageErr("%v", err)
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
	p, err := resolver.NewPlanner(ix, cat, resolver.Config{At: when, Locate: ff.Locate})
	if err != nil {
		return planProblems(stderr, ff, err)
	}
	session := resolver.Session{}
	if *onboarding {
		session.Kind = resolver.OnboardingSession
	}

	// A plan is written once it is complete, unless it is large: the plan
	// of a whole fleet streams (see holdAtMost), computer by computer as it
	// is planned, and is never held whole.
	var problems []resolver.Problem
	ctx := context.Background()
	var ids []string
	if *tenant != "" {
		if !hasTenant(fleet, *tenant) {
			return usageErr("unknown tenant %q", *tenant)
		}
		ids = computersOf(fleet, *tenant)
	}
	if *computer != "" {
		c, ok := ix.Computer(*computer)
		if !ok {
			return usageErr("unknown computer %q", *computer)
		}
		if t := fleet.Computers[c].Tenant; *tenant != "" && t != *tenant {
			return usageErr("computer %q is of tenant %q, not %q", *computer, t, *tenant)
		}
		ids = []string{*computer}
	}
	out := &spill{w: stdout}
	if *explain != "" {
		if _, ok := findItem(fleet, *explain); !ok {
			return usageErr("unknown item %q (want a software or task id)", *explain)
		}
		if ids == nil {
			ids = sortedComputers(fleet)
		}
		var b bytes.Buffer
		if err = writeExplain(ctx, &b, p, ids, *explain, session, *format); err == nil {
			_, err = out.Write(b.Bytes())
		}
	} else {
		problems, err = streamPlan(ctx, out, p, fleet, ids, session, *format) // planstream.go
	}
	if err != nil {
		return planFailure(stderr, ff, err)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(stderr, "immyctl plan: %v\n", err)
		return exitFailure
	}
	writePlanProblems(stderr, problems)
	return exitOK
}

// planFailure reports an error met while planning, located in the file as
// validate locates problems where it names a place: problems of the fleet,
// and filters that failed at run time (the deployment and its filter's line).
func planFailure(stderr io.Writer, ff *fleetfile.File, err error) int {
	var ps immy.Problems
	var fes targets.FilterErrors
	var fe *targets.FilterError
	switch {
	case errors.As(err, &ps):
	case errors.As(err, &fes):
		for _, e := range fes {
			ps = append(ps, filterProblem(e))
		}
	case errors.As(err, &fe):
		ps = immy.Problems{filterProblem(fe)}
	default:
		fmt.Fprintf(stderr, "immyctl plan: %v\n", err)
		return exitFailure
	}
	writeProblems(stderr, ff.LocateAll(ps))
	return exitFailure
}

// filterProblem is a filter's run-time error as a problem of its deployment's
// filter in the fleet file.
func filterProblem(e *targets.FilterError) immy.Problem {
	field := "target.expr"
	if e.Lang == targets.LanguageLua {
		field = "target.lua"
	}
	return immy.Problem{
		Section: "deployments", Index: e.Deployment, ID: e.ID, Field: field,
		Message: fmt.Sprintf("%s filter failed on computer %q: %s", e.Lang, e.Computer, e.Message()),
		Err:     e,
	}
}

func hasTenant(f *immy.Fleet, id string) bool {
	return slices.ContainsFunc(f.Tenants, func(t immy.Tenant) bool { return t.ID == id })
}

// computersOf returns the ids of a tenant's own computers, sorted.
func computersOf(f *immy.Fleet, tenant string) []string {
	ids := []string{}
	for i := range f.Computers {
		if f.Computers[i].Tenant == tenant {
			ids = append(ids, f.Computers[i].ID)
		}
	}
	slices.Sort(ids)
	return ids
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
