package fleetfile

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/immyoss/engine/immy"
)

// decoder fills the DTOs from the parsed node tree. It is strict where yaml.v3's
// own decoder is lenient or imprecise: every unknown key and every duplicate key
// is a problem with its line and a suggestion; a value of the wrong shape is a
// problem that names the field, and the entry stays in its list (yaml.v3 drops
// it, which would shift the index of every later entry and mislocate later
// problems). Scalars are read with yaml.v3's own rules (Node.Decode).
type decoder struct {
	root   *yaml.Node // the document's top mapping
	ps     immy.Problems
	budget int // nodes left to visit; aliases can make a small file expand enormously
	broke  bool
	unread []immy.Problem // where values of the wrong shape were left unread (Section, Index, Field)
}

// step is one step of a path from the root: a mapping key, or a list index when key is "".
type step struct {
	key   string
	index int
}

type path []step

func (p path) key(k string) path   { return append(p[:len(p):len(p)], step{key: k}) }
func (p path) index(i int) path    { return append(p[:len(p):len(p)], step{index: i}) }
func (p path) isSectionItem() bool { return len(p) >= 2 && p[0].key != "" && p[1].key == "" }

// fieldString renders steps as a field: versions[0].prerequisites[1].if.
func fieldString(steps []step) string {
	var b strings.Builder
	for _, s := range steps {
		if s.key == "" {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

var nodePtrType = reflect.TypeFor[*yaml.Node]()

func newDecoder(root *yaml.Node) *decoder {
	// Allow every node of the document to be visited several times over through
	// aliases, but stop an alias bomb long before it costs real memory or time.
	return &decoder{root: root, budget: 16*countNodes(root) + 10000}
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// shape records a value of the wrong shape at p, which is left unread.
func (d *decoder) shape(p path, line int, format string, args ...any) {
	d.problem(p, line, format, args...)
	d.unread = append(d.unread, d.ps[len(d.ps)-1])
}

// problem records a problem at line about the value found at p.
func (d *decoder) problem(p path, line int, format string, args ...any) {
	pr := immy.Problem{Line: line, Message: fmt.Sprintf(format, args...), Err: immy.ErrInvalid}
	if p.isSectionItem() {
		pr.Section, pr.Index = p[0].key, p[1].index
		pr.ID = entityID(d.root, pr.Section, pr.Index)
		pr.Field = fieldString(p[2:])
	} else {
		pr.Field = fieldString(p)
	}
	d.ps = append(d.ps, pr)
}

// resolve follows aliases, spending the budget.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func (d *decoder) spend(n *yaml.Node) bool {
	if d.broke {
		return false
	}
	d.budget--
	if d.budget < 0 {
		d.broke = true
		d.ps = append(d.ps, immy.Problem{Line: n.Line, Message: "aliases expand the document beyond any fleet's size; stopped reading", Err: immy.ErrInvalid})
		return false
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "want X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:37] + "..."
		}
		return strconv.Quote(v)
	}
	return "nothing"
}

// decode fills v from n. line is where a problem with n as a whole is reported:
// the line of its key when n is the value of a mapping.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, p path, line int) {
	n = d.resolve(n)
	if n == nil || !d.spend(n) {
		return
	}
	t := v.Type()
	if t == nodePtrType {
		c := *n
		v.Set(reflect.ValueOf(&c))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		e := reflect.New(t.Elem())
		d.decode(n, e.Elem(), p, line)
		v.Set(e)
	case reflect.Struct:
		d.decodeStruct(n, v, p, line)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.shape(p, line, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), p.index(i), item.Line)
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.shape(p, line, "want a mapping, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		for _, kv := range d.pairs(n, p) {
			e := reflect.New(t.Elem()).Elem()
			d.decode(kv.value, e, p.key(kv.name), kv.key.Line)
			m.SetMapIndex(reflect.ValueOf(kv.name), e)
		}
		v.Set(m)
	case reflect.String:
		switch {
		case isNull(n):
		case n.Kind == yaml.ScalarNode:
			v.SetString(n.Value)
		default:
			d.shape(p, line, "want text, got %s", describe(n))
		}
	case reflect.Bool:
		var b bool
		switch {
		case isNull(n):
		case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" && n.Decode(&b) == nil:
			v.SetBool(b)
		default:
			d.shape(p, line, "want true or false, got %s", describe(n))
		}
	case reflect.Int:
		var i int
		switch {
		case isNull(n):
		case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" && n.Decode(&i) == nil:
			v.SetInt(int64(i))
		default:
			d.shape(p, line, "want a whole number, got %s", describe(n))
		}
	default:
		// Unreachable: the DTOs use only the kinds above.
		panic(fmt.Sprintf("fleetfile: no decoding for %s", t))
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, p path, line int) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.shape(p, line, "want a mapping, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	for _, kv := range d.pairs(n, p) {
		i, ok := fields.index[kv.name]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", kv.name)
			if s := suggest(kv.name, fields.names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.problem(p, kv.key.Line, "%s", msg)
			continue
		}
		d.decode(kv.value, v.Field(i), p.key(kv.name), kv.key.Line)
	}
}

type keyValue struct {
	name       string
	key, value *yaml.Node
}

// pairs lists a mapping's entries with merge keys (<<) expanded, reporting keys
// that are not plain scalars and keys given twice. Explicit keys win over
// merged ones, as YAML has it.
func (d *decoder) pairs(n *yaml.Node, p path) []keyValue {
	var out []keyValue
	seen := map[string]*yaml.Node{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.problem(p, k.Line, "a key must be a plain name, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.problem(p, k.Line, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, keyValue{k.Value, k, val})
	}
	for _, m := range merges {
		m = d.resolve(m)
		if !d.spend(m) {
			return out
		}
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			sources = m.Content
		}
		if len(sources) == 0 {
			d.problem(p, m.Line, "a merge (<<) takes a mapping or a list of mappings, got %s", describe(m))
			continue
		}
		for _, s := range sources {
			s = d.resolve(s)
			if s.Kind != yaml.MappingNode {
				d.problem(p, s.Line, "a merge (<<) takes a mapping or a list of mappings, got %s", describe(s))
				continue
			}
			for _, kv := range d.pairs(s, p) {
				if _, explicit := seen[kv.name]; !explicit {
					seen[kv.name] = kv.key
					out = append(out, kv)
				}
			}
		}
	}
	return out
}

type structFields struct {
	index map[string]int // yaml name -> field index
	names []string       // yaml names in declaration order
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{index: map[string]int{}}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		f.index[name] = i
		f.names = append(f.names, name)
	}
	fieldCache.Store(t, f)
	return f
}

// suggest returns the known name nearest to s, if it is near enough to be a typo.
func suggest(s string, names []string) string {
	best, bestD := "", 0
	for _, n := range names {
		d := editDistance(strings.ToLower(s), n)
		limit := max(1, min(3, len(n)/3))
		if d <= limit && 2*d <= len(s) && (best == "" || d < bestD) {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (with adjacent swaps) of a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
