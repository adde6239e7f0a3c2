package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/targets"
)

func init() { extraChecks = append(extraChecks, checkFilters) }

// checkFilters is the targets package's rule of a fleet file: every filter of
// a deployment or schedule compiles (expr type-checked, Lua checked).
func checkFilters(f *fleetfile.File) immy.Problems { return targets.CheckFilters(f.Fleet) }

// runTargets lists what one deployment's target selects: its computers sorted
// by id, or, for a cloud task's target, its tenants. With --computer it tells
// why that computer is in or out instead. Without -f it reads the bundled
// example fleet.
//
//	immyctl targets [-f FILE] --deployment ID [--computer ID] [--format text|json] [--at TIME]
//
// A disabled deployment is resolved all the same and marked: a note on
// stderr beside the text, "disabled": true in JSON.
func runTargets(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("immyctl targets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", fileFlagUsage)
	deployment := fs.String("deployment", "", "the id of the deployment whose target to resolve (required)")
	computer := fs.String("computer", "", "explain why this computer is in or out of the target")
	format := fs.String("format", "text", "output format: text or json")
	at := fs.String("at", "", atFlagUsage)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: immyctl targets [-f FILE] --deployment ID [--computer ID] [--format text|json] [--at TIME]\n\nList the computers (or, for a cloud task, the tenants) a deployment's target selects, sorted;\nwith --computer, tell why that computer is in or out. A disabled deployment is resolved all\nthe same and marked (a note on stderr; \"disabled\": true in JSON). -f - reads standard input.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInvalid
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "immyctl targets: "+format+"\n", args...)
		fs.Usage()
		return exitInvalid
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case *deployment == "":
		return usageErr("missing --deployment ID")
	case *format != "text" && *format != "json":
		return usageErr("unknown format %q (want text or json)", *format)
	}
	var cfg targets.Config
	var err error
	if cfg.At, err = parseAt(*at); err != nil {
		return usageErr("%v", err)
	}

	ff, err := loadFleet(*file, stdin)
	if err != nil {
		return reportLoadError(stderr, err)
	}
	fleet := ff.Fleet
	ix, err := targets.NewIndex(fleet, cfg)
	if err == nil {
		var m *targets.Matcher
		m, err = ix.Compile(fleet.Deployments)
		if err == nil {
			return runResolve(context.Background(), ff, m, *deployment, *computer, *format, stdout, stderr)
		}
	}
	var ps immy.Problems
	if errors.As(err, &ps) {
		return reportLoadError(stderr, ff.LocateAll(ps))
	}
	fmt.Fprintf(stderr, "immyctl targets: %v\n", err)
	return exitFailure
}

// reportLoadError prints every problem of an invalid file, one a line.
func reportLoadError(stderr io.Writer, err error) int {
	var ps immy.Problems
	if errors.As(err, &ps) {
		var b strings.Builder
		for _, p := range ps {
			b.WriteString(p.Error())
			b.WriteByte('\n')
		}
		io.WriteString(stderr, b.String())
		return exitInvalid
	}
	fmt.Fprintf(stderr, "immyctl targets: %v\n", err)
	return exitFailure
}

type targetsOutput struct {
	Deployment string    `json:"deployment"`
	Disabled   bool      `json:"disabled,omitempty"`  // no session uses the deployment
	Computers  *[]string `json:"computers,omitempty"` // set for a computer target, even when empty
	Tenants    *[]string `json:"tenants,omitempty"`   // set for a cloud task's target
}

type explainOutput struct {
	Deployment string         `json:"deployment"`
	Disabled   bool           `json:"disabled,omitempty"` // no session uses the deployment
	Computer   string         `json:"computer"`
	Selected   bool           `json:"selected"`
	Checks     []explainCheck `json:"checks"`
}

type explainCheck struct {
	Rule   string `json:"rule"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

func runResolve(ctx context.Context, ff *fleetfile.File, m *targets.Matcher, deployment, computer, format string, stdout, stderr io.Writer) int {
	fleet := m.Index().Fleet()
	d := -1
	for i := range fleet.Deployments {
		if fleet.Deployments[i].ID == deployment {
			d = i
			break
		}
	}
	if d < 0 {
		fmt.Fprintf(stderr, "immyctl targets: no deployment %q in the file\n", deployment)
		return exitInvalid
	}
	// A disabled deployment's target is resolved all the same (what would it
	// select if enabled?), and marked: a note on stderr beside the text, a
	// field in JSON.
	off := disabled(&fleet.Deployments[d])
	note := func() {
		if off && format != "json" {
			fmt.Fprintf(stderr, "immyctl targets: deployment %q is disabled (enabled: false): no session uses it; shown is what its target would select\n", deployment)
		}
	}
	// Everything is computed before anything is printed.
	var b strings.Builder
	if computer != "" {
		c, ok := m.Index().Computer(computer)
		if !ok {
			fmt.Fprintf(stderr, "immyctl targets: no computer %q in the file\n", computer)
			return exitInvalid
		}
		e, err := m.Explain(ctx, d, c)
		if err != nil {
			return resolveFailure(stderr, ff, d, err)
		}
		if format == "json" {
			out := explainOutput{Deployment: e.Deployment, Disabled: off, Computer: e.Computer, Selected: e.Selected, Checks: []explainCheck{}}
			for _, c := range e.Checks {
				out.Checks = append(out.Checks, explainCheck{Rule: string(c.Rule), Passed: c.Passed, Detail: c.Detail})
			}
			writeJSON(&b, out)
		} else {
			b.WriteString(e.String())
		}
		note()
		io.WriteString(stdout, b.String())
		return exitOK
	}

	out := targetsOutput{Deployment: deployment, Disabled: off}
	t := fleet.Deployments[d].Target
	tenantTarget := t.Category == immy.CategoryTenant || t.Type == immy.TargetAllTenants || t.Type == immy.TargetTenant || t.Type == immy.TargetTenantTag
	if tenantTarget {
		ts, err := m.ResolveTenants(ctx, d)
		if err != nil {
			return resolveFailure(stderr, ff, d, err)
		}
		ids := []string{}
		for _, i := range ts {
			ids = append(ids, fleet.Tenants[i].ID)
		}
		out.Tenants = &ids
	} else {
		cs, err := m.Resolve(ctx, d)
		if fes, partial := err.(targets.FilterErrors); partial {
			// the computers it could decide, and each failure at its line
			ps := make(immy.Problems, len(fes))
			for k, fe := range fes {
				ps[k] = filterProblem(fe)
			}
			writeProblems(stderr, ff.LocateAll(ps))
		} else if err != nil {
			return resolveFailure(stderr, ff, d, err)
		}
		ids := []string{}
		for _, i := range cs {
			ids = append(ids, fleet.Computers[i].ID)
		}
		out.Computers = &ids
	}
	if format == "json" {
		writeJSON(&b, out)
	} else {
		ids := out.Computers
		if ids == nil {
			ids = out.Tenants
		}
		for _, id := range *ids {
			b.WriteString(id)
			b.WriteByte('\n')
		}
	}
	note()
	io.WriteString(stdout, b.String())
	return exitOK
}

// resolveFailure reports an error met while resolving deployment d's target
// (a filter that failed on a computer), located at the deployment's filter
// in the file, as validate locates problems; status 1.
func resolveFailure(stderr io.Writer, ff *fleetfile.File, d int, err error) int {
	var ps immy.Problems
	var fe *targets.FilterError
	switch {
	case errors.As(err, &ps):
	case errors.As(err, &fe):
		ps = immy.Problems{filterProblem(fe)}
	default:
		dep := &ff.Fleet.Deployments[d]
		field := "target"
		switch {
		case dep.Target.Lua != "":
			field = "target.lua"
		case dep.Target.Expr != "":
			field = "target.expr"
		}
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("targets: deployment %q: ", dep.ID))
		msg = strings.Join(strings.Fields(strings.TrimPrefix(msg, "targets: ")), " ")
		ps = immy.Problems{{Section: "deployments", Index: d, ID: dep.ID, Field: field, Message: "cannot resolve the target: " + msg, Err: err}}
	}
	writeProblems(stderr, ff.LocateAll(ps))
	return exitFailure
}

// disabled tells whether no session uses d.
func disabled(d *immy.Deployment) bool { return d.Disabled }

func writeJSON(b *strings.Builder, v any) {
	enc := json.NewEncoder(b)
	enc.SetIndent("", "  ")
	// Encoding plain strings and bools cannot fail.
	_ = enc.Encode(v)
}
