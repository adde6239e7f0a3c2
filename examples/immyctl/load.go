package main

import (
	"io"

	"github.com/immyoss/engine/examples/fleets"
	"github.com/immyoss/engine/immy/fleetfile"
)

// stdinName is the name problems give a fleet read from standard input (-f -).
const stdinName = "<stdin>"

// loadFleet loads the fleet file at path: the bundled example fleet
// (examples/fleets/msp.yaml) when path is "", standard input when path is "-".
// Beyond immy's own rules it runs every check registered in extraChecks (see
// validate.go), so each subcommand refuses the same files. On an invalid file
// the error is an immy.Problems, sorted and located; print it one problem a
// line and exit with exitInvalid. Other errors (a file that cannot be read)
// are for exitFailure.
func loadFleet(path string, stdin io.Reader) (*fleetfile.File, error) {
	cfg := loadConfig()
	switch path {
	case "":
		return cfg.LoadBytes(fleets.DefaultName, fleets.Default)
	case "-":
		return cfg.Load(stdinName, stdin)
	}
	return cfg.LoadFile(path)
}

// loadFleetBytes loads a fleet file held in data, as loadFleet does.
func loadFleetBytes(name string, data []byte) (*fleetfile.File, error) {
	return loadConfig().LoadBytes(name, data)
}

func loadConfig() fleetfile.Config {
	cfg := fleetfile.Config{Checks: make([]fleetfile.Check, len(extraChecks))}
	for i, c := range extraChecks {
		cfg.Checks[i] = c
	}
	return cfg
}
