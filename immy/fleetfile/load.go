package fleetfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	_ "time/tzdata" // time zones of tenants and schedules are checked the same on every system

	"go.yaml.in/yaml/v3"

	"github.com/immyoss/engine/immy"
)

// File is a loaded fleet file: the fleet it describes, and what is needed to
// point at a place in it. A File is not changed after Load returns; it is safe
// for concurrent use.
type File struct {
	Name  string      // the name given to Load, used in problems
	Fleet *immy.Fleet // the fleet; it passed Fleet.Validate and every Check

	root *yaml.Node // the document's top mapping, for Locate
}

// A Check is a rule of the fleet beyond [immy.Fleet.Validate], such as one that
// needs a compiler (filter expressions) or the item graph (prerequisite cycles).
// It returns its problems with Section, Index, ID and Field set; Load locates
// them.
//
// Checks run on every file that could be read, so that one typo does not hide a
// broken filter elsewhere: the fleet a check sees may break the rules Validate
// checks (an unknown reference, a duplicate id), and a value that did not parse
// (an unknown key, a misspelt enumeration, a list given as text) is left at its
// zero value, which for every enumeration means unset. A check must not assume
// Validate passed, and should pass over what is unset. A problem it reports at
// a field that already failed to parse, or inside a value of the wrong shape,
// is left out as an echo of the first.
type Check func(*File) immy.Problems

// Config is how to load: the zero Config checks what immy's Validate checks.
type Config struct {
	// Checks run after Validate, on every fleet that could be read.
	Checks []Check
}

// Load reads a fleet file from r; name is used in problems. See [Config.Load].
func Load(name string, r io.Reader) (*File, error) { return Config{}.Load(name, r) }

// LoadFile reads the fleet file at path. See [Config.Load].
func LoadFile(path string) (*File, error) { return Config{}.LoadFile(path) }

// LoadFile reads the fleet file at path; path is the name in problems.
func (c Config) LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleetfile: %w", err)
	}
	return c.LoadBytes(path, data)
}

// Load reads a fleet file from r; name is used in problems.
func (c Config) Load(name string, r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("fleetfile: read %s: %w", name, err)
	}
	return c.LoadBytes(name, data)
}

// LoadBytes reads a fleet file held in data; name is used in problems.
//
// The file is checked as a whole and every problem is reported at once, each
// located at its line: YAML syntax, unknown and duplicate keys (with the nearest
// known key as a suggestion), values of the wrong shape, enumerations, versions,
// dates and parameter values that do not parse, the rules of
// [immy.Fleet.Validate], and c.Checks, all in one pass: a structural problem
// does not hide a prerequisite cycle or a filter that does not compile. Only
// what stops the file from being read at all ends the pass early: YAML that
// does not parse, or aliases that expand beyond any fleet's size. On any
// problem Load returns a nil File and an [immy.Problems], sorted by line; a
// problem that Validate or a check finds at a field that already failed to
// parse is left out. Other errors (reading r) are returned wrapped.
func (c Config) LoadBytes(name string, data []byte) (*File, error) {
	root, ps := parse(data)
	if root == nil {
		return nil, (&File{Name: name}).LocateAll(ps)
	}
	d := newDecoder(root)
	var dto fileDTO
	d.decode(root, reflect.ValueOf(&dto).Elem(), nil, root.Line)
	f := &File{Name: name, root: root}
	if d.broke {
		return nil, f.LocateAll(d.ps)
	}
	conv := converter{}
	f.Fleet = conv.fleet(&dto)
	ps = append(d.ps, conv.ps...)
	unparsed := len(ps) // problems of reading; later ones are kept unless they echo these

	later := immy.Problems{}
	if err := f.Fleet.Validate(); err != nil {
		if !errors.As(err, &later) {
			later = immy.Problems{{Message: err.Error(), Err: err}}
		}
	}
	for _, check := range c.Checks {
		if check != nil {
			later = append(later, check(f)...)
		}
	}
	for _, p := range later {
		if !alreadyReported(p, ps[:unparsed], d.unread) {
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return nil, dedupe(f.LocateAll(ps))
	}
	return f, nil
}

// alreadyReported tells whether a problem of Validate is the echo of one found
// while reading: the same field failed to parse, or the value that holds it
// was of the wrong shape and never read (an entity that is not a mapping has
// no id, no tenant...).
func alreadyReported(p immy.Problem, found immy.Problems, unread []immy.Problem) bool {
	for _, q := range found {
		if q.Section == p.Section && q.Index == p.Index && q.Field == p.Field {
			return true
		}
	}
	for _, u := range unread {
		if u.Section == p.Section && (u.Section == "" || u.Index == p.Index) && within(p.Field, u.Field) {
			return true
		}
	}
	return false
}

// within reports whether field is prefix or a field inside it.
func within(field, prefix string) bool {
	if prefix == "" || field == prefix {
		return true
	}
	rest, ok := strings.CutPrefix(field, prefix)
	return ok && (rest[0] == '.' || rest[0] == '[')
}

// dedupe drops repeated problems from a sorted list (a merged anchor with an
// unknown key is reported once per line and entity).
func dedupe(ps immy.Problems) immy.Problems {
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p.Error() == ps[i-1].Error() {
			continue
		}
		out = append(out, p)
	}
	return out
}

var yamlErrLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads the single YAML document of a fleet file and returns its top
// mapping, or nil and the problems that prevent reading it.
func parse(data []byte) (*yaml.Node, immy.Problems) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, immy.Problems{{Message: "empty file: want a fleet (version, tenants, computers, ...)", Err: immy.ErrInvalid}}
		}
		return nil, immy.Problems{syntaxProblem(err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, immy.Problems{{Line: next.Line, Message: "a fleet file holds one YAML document; found a second", Err: immy.ErrInvalid}}
	case !errors.Is(err, io.EOF):
		return nil, immy.Problems{syntaxProblem(err)}
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = deref(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		what := describe(root)
		if isNull(root) {
			what = "nothing"
		}
		return nil, immy.Problems{{Line: root.Line, Message: fmt.Sprintf("want a mapping of sections (version, tenants, computers, ...), got %s", what), Err: immy.ErrInvalid}}
	}
	return root, nil
}

// parserProblems are the messages of yaml.v3's parser (not its scanner). For
// them yaml.v3 reports the 0-based line of the mark (leaving out "line 0"),
// where for the scanner's it reports the 1-based line.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":               true,
	"did not find expected ',' or '}'":               true,
	"did not find expected '-' indicator":            true,
	"did not find expected <document start>":         true,
	"did not find expected <stream-start>":           true,
	"did not find expected key":                      true,
	"did not find expected node content":             true,
	"found duplicate %YAML directive":                true,
	"found duplicate %TAG directive":                 true,
	"found incompatible YAML document":               true,
	"found undefined tag handle":                     true,
	"found unexpected end of stream":                 false, // the scanner's
	"mapping values are not allowed in this context": false,
}

func syntaxProblem(err error) immy.Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if parserProblems[msg] {
		line++
	}
	return immy.Problem{Line: line, Message: "invalid YAML: " + msg, Err: fmt.Errorf("%w: %w", immy.ErrInvalid, err)}
}
