package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

// extraChecks are the rules of a fleet file beyond immy's Validate that other
// packages know: filter expressions that must compile (targets), prerequisites
// that must not form a cycle (resolver). A subcommand's file registers its
// check in init:
//
//	func init() { extraChecks = append(extraChecks, checkFilters) }
//
// A check returns problems with Section, Index, ID and Field set; loadFleet
// adds file and line. It runs on every file that could be read, in the same
// pass as the structural rules: even one with values that did not parse (left
// unset) or that breaks other rules (unknown references, duplicate ids), and
// must cope (see fleetfile.Check).
var extraChecks []func(*fleetfile.File) immy.Problems

// runValidate checks a fleet file and lists every problem, one a line.
func runValidate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("immyctl validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", fileFlagUsage)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: immyctl validate [-f FILE]\n\nCheck a fleet file and list every problem with its line; exit 2 if there is any.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInvalid
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "immyctl validate: unexpected argument %q (give the file with -f)\n", fs.Arg(0))
		return exitInvalid
	}
	f, err := loadFleet(*file, stdin)
	var ps immy.Problems
	switch {
	case errors.As(err, &ps):
		// Every problem, one a line, and nothing else: the output is the report.
		var b strings.Builder
		for _, p := range ps {
			b.WriteString(p.Error())
			b.WriteByte('\n')
		}
		io.WriteString(stderr, b.String())
		return exitInvalid
	case err != nil:
		fmt.Fprintf(stderr, "immyctl validate: %v\n", err)
		return exitFailure
	}
	fl := f.Fleet
	fmt.Fprintf(stdout, "%s: ok (%s, %s, %s)\n", f.Name,
		count(len(fl.Tenants), "tenant"), count(len(fl.Computers), "computer"), count(len(fl.Deployments), "deployment"))
	return exitOK
}

func count(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
