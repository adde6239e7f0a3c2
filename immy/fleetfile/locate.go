package fleetfile

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/immyoss/engine/immy"
)

// Locate fills in where p is in the file: the file's name when p names no file,
// and, when p has no line, the line of p.Field within the entity p.Section and
// p.Index (or p.ID) name, falling back to the nearest enclosing thing found: the
// entity's first line, then the section's. A problem of another file is
// returned unchanged.
func (f *File) Locate(p immy.Problem) immy.Problem {
	if p.File == "" {
		p.File = f.Name
	}
	if p.File != f.Name || p.Line > 0 || f.root == nil {
		return p
	}
	p.Line = locate(f.root, p.Section, p.Index, p.ID, p.Field)
	return p
}

// LocateAll returns a located copy of ps, sorted by file and line.
func (f *File) LocateAll(ps immy.Problems) immy.Problems {
	out := make(immy.Problems, len(ps))
	for i, p := range ps {
		out[i] = f.Locate(p)
	}
	out.Sort()
	return out
}

// locate returns the line of field within an entity of a section (or, with no
// section, of a top-level field), 0 when not even the section is in the file.
func locate(root *yaml.Node, section string, index int, id, field string) int {
	cur, line := root, 0
	if section != "" {
		k, v := lookupKey(root, section)
		if k == nil {
			return 0
		}
		line = k.Line
		e := entityNode(v, index, id)
		if e == nil {
			return line
		}
		cur, line = e, e.Line
	}
	for _, s := range parseField(field) {
		cur = deref(cur)
		if cur == nil {
			break
		}
		if s.key != "" {
			k, v := lookupKey(cur, s.key)
			if k == nil {
				break
			}
			cur, line = v, k.Line
			continue
		}
		if cur.Kind != yaml.SequenceNode || s.index < 0 || s.index >= len(cur.Content) {
			break
		}
		cur = cur.Content[s.index]
		line = cur.Line
	}
	return line
}

// parseField splits "versions[0].prerequisites[1].if" into steps.
func parseField(field string) []step {
	if field == "" {
		return nil
	}
	var out []step
	for part := range strings.SplitSeq(field, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			out = append(out, step{key: name})
		}
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if !ok || err != nil {
				return out
			}
			out = append(out, step{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// lookupKey finds key in mapping n, looking through merge keys; nil when absent.
func lookupKey(n *yaml.Node, key string) (k, v *yaml.Node) {
	return lookupKeyDepth(n, key, 0)
}

func lookupKeyDepth(n *yaml.Node, key string, depth int) (k, v *yaml.Node) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > 32 {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := deref(n.Content[i])
		if kn.Kind != yaml.ScalarNode {
			continue
		}
		if kn.ShortTag() == "!!merge" {
			merges = append(merges, n.Content[i+1])
			continue
		}
		if kn.Value == key {
			return kn, n.Content[i+1]
		}
	}
	for _, m := range merges {
		m = deref(m)
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			if k, v := lookupKeyDepth(s, key, depth+1); k != nil {
				return k, v
			}
		}
	}
	return nil, nil
}

// entityNode finds an entity in a section's list: the one at index when its id
// is id (or id is unknown), else the first whose id is id, else the one at index.
func entityNode(list *yaml.Node, index int, id string) *yaml.Node {
	list = deref(list)
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	at := func(i int) *yaml.Node {
		if i >= 0 && i < len(list.Content) {
			return list.Content[i]
		}
		return nil
	}
	if id == "" || scalarAt(at(index), "id") == id {
		return at(index)
	}
	if i := slices.IndexFunc(list.Content, func(e *yaml.Node) bool { return scalarAt(e, "id") == id }); i >= 0 {
		return list.Content[i]
	}
	return at(index)
}

// entityID returns the id written in a section's entity, or "".
func entityID(root *yaml.Node, section string, index int) string {
	_, v := lookupKey(root, section)
	return scalarAt(entityNode(v, index, ""), "id")
}

// scalarAt returns the scalar value of key in mapping n, or "".
func scalarAt(n *yaml.Node, key string) string {
	if n == nil {
		return ""
	}
	_, v := lookupKey(n, key)
	if v = deref(v); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
