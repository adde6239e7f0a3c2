package main

import (
	"fmt"
	"time"

	"github.com/immyoss/engine/immy/fleetfile"
)

// Flags every command spells and reads the same way.
const (
	fileFlagUsage = "the fleet `FILE`, or - for standard input (default: the bundled example fleet)"
	atFlagUsage   = "evaluation `TIME` for client groups: an RFC 3339 time (2026-11-23T10:00:00Z) or a date (2026-11-23, midnight UTC); default: the file's at, else now"
)

// parseAt reads --at as the fleet file reads at (fleetfile.ParseTime): an RFC
// 3339 time, or a date meaning midnight UTC. "" is the zero time: the file's
// at, else now.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := fleetfile.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want a time such as 2026-11-23T10:00:00Z or a date such as 2026-11-23", s)
	}
	return t, nil
}
