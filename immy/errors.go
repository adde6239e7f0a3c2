package immy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors name the categories of failure; every error of the engine that
// belongs to one wraps it, so callers test with errors.Is.
var (
	// ErrInvalid marks bad input: a malformed value, a broken reference, a rule broken.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound marks a reference to something that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrCycle marks a cycle where the vocabulary requires a tree or a DAG
	// (tenants, nested groups, prerequisites).
	ErrCycle = errors.New("cycle")
)

// Problem is one thing wrong with a fleet, located as precisely as the checker
// knows: the section and index of the entity, its id, the field, and, when the
// fleet came from a file, the file and line.
type Problem struct {
	File    string // file name, when known
	Line    int    // 1-based line, 0 when unknown
	Column  int    // 1-based column, 0 when unknown
	Section string // fleet section: "tenants", "computers", "deployments", ...
	Index   int    // index within the section
	ID      string // id of the entity, when it has one
	Field   string // field within the entity, dotted for nested fields ("target.tenant")
	Message string
	Err     error // category or cause, for errors.Is; usually ErrInvalid, ErrNotFound or ErrCycle
}

// Error renders "file:line: section id: field: message", leaving out what is unknown.
func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteByte(':')
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, "%d:", p.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if p.Section != "" {
		b.WriteString(singular(p.Section))
		if p.ID != "" {
			fmt.Fprintf(&b, " %q", p.ID)
		} else {
			fmt.Fprintf(&b, " #%d", p.Index+1)
		}
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Unwrap returns the category of the problem.
func (p Problem) Unwrap() error { return p.Err }

func singular(section string) string {
	switch section {
	case "software":
		return "software"
	case "persons":
		return "person"
	}
	return strings.TrimSuffix(section, "s")
}

// Problems is every problem found in one check. It is an error; a nil or empty
// Problems is no error, so checkers return Problems.Err().
type Problems []Problem

// Error lists every problem, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As see each problem.
func (ps Problems) Unwrap() []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// Err returns ps as an error, or nil when there is no problem.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Sort orders the problems by file, line, column, section, index, field and message,
// so that reports are deterministic.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Section != b.Section {
			return a.Section < b.Section
		}
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
}

// CycleError reports a cycle with its whole path, the first element repeated at
// the end: a -> b -> c -> a.
type CycleError struct {
	Kind string   // what cycles: "tenant", "group", "prerequisite"
	Path []string // ids along the cycle, first == last
}

func (e *CycleError) Error() string {
	return fmt.Sprintf("immy: %s cycle: %s", e.Kind, strings.Join(e.Path, " -> "))
}

// Unwrap makes errors.Is(err, ErrCycle) hold.
func (e *CycleError) Unwrap() error { return ErrCycle }
