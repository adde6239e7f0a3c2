package main

import (
	"github.com/immyoss/engine/examples/fleets"
	"github.com/immyoss/engine/immy/fleetfile"
)

// loadFleet loads the fleet file at path, or the bundled example fleet
// (examples/fleets/msp.yaml) when path is "". Beyond immy's own rules it runs
// every check registered in extraChecks (see validate.go), so each subcommand
// refuses the same files. On an invalid file the error is an immy.Problems,
// sorted and located; print it one problem a line and exit with exitInvalid.
// Other errors (a file that cannot be read) are for exitFailure.
func loadFleet(path string) (*fleetfile.File, error) {
	cfg := fleetfile.Config{Checks: make([]fleetfile.Check, len(extraChecks))}
	for i, c := range extraChecks {
		cfg.Checks[i] = c
	}
	if path == "" {
		return cfg.LoadBytes(fleets.DefaultName, fleets.Default)
	}
	return cfg.LoadFile(path)
}
