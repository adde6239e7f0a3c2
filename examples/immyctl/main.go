// Command immyctl is the engine's what-if planner over a fleet file.
//
//	immyctl validate [-f FILE]
//	immyctl targets  [-f FILE] --deployment ID [--computer ID] [--format text|json] [--at TIME]
//	immyctl plan     [-f FILE] [--tenant ID] [--computer ID] [--format text|json] [--explain ITEM] [--onboarding] [--at TIME]
//	immyctl diff     -f OLD -f NEW [--format text|json] [--json] [--onboarding] [--at TIME]
//	immyctl apply    -f FILE --db PATH|postgres://... [--dry-run] [--actor NAME] [--source NAME] [--format text|json] [--json]
//
// Without -f, validate, targets and plan use the bundled example fleet
// (examples/fleets/msp.yaml); -f - reads standard input. --at takes an RFC
// 3339 time or a date, as the file's at does. An invalid file exits with
// status 2 and lists every problem with its line, all in one run; nothing is
// half-printed.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the command could not run: I/O, internal error
	exitInvalid = 2 // usage error or invalid fleet file
)

type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"validate": {"check a fleet file and list every problem", runValidate},
	"targets":  {"list the computers a deployment's target selects", runTargets},
	"plan":     {"plan what a maintenance session would do, per computer", runPlan},
	"diff":     {"show what an edit of a fleet file changes in the plan", runDiff},
	"apply":    {"apply a fleet file to a fleet store, after a preview", runApply},
}

func main() {
	os.Exit(runWithInput(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs immyctl with the process's standard input (read by -f -).
func run(args []string, stdout, stderr io.Writer) int {
	return runWithInput(args, os.Stdin, stdout, stderr)
}

// runWithInput runs immyctl with args; -f - reads the fleet file from stdin.
func runWithInput(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitInvalid
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "immyctl: unknown command %q\n", args[0])
		usage(stderr)
		return exitInvalid
	}
	return cmd.run(args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: immyctl COMMAND [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-9s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun immyctl COMMAND -h for the flags of a command.\n")
	io.WriteString(w, b.String())
}
