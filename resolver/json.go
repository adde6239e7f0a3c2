package resolver

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// WriteJSON writes the plan as fleet-file.md specifies it, indented by two
// spaces, ending in a newline: the bytes of json.MarshalIndent(p, "", "  "),
// written directly so that plans of large fleets stream out quickly. The same
// plan gives the same bytes.
func (p *Plan) WriteJSON(w io.Writer) error {
	pw := NewPlanWriter(w, p.At)
	for i := range p.Computers {
		if err := pw.Write(&p.Computers[i]); err != nil {
			return err
		}
	}
	return pw.Close()
}

// WriteJSON plans session s on every computer and writes the plan as
// Plan.WriteJSON does, byte for byte, computer by computer as PlanEach
// yields them: the whole fleet's plan is never held.
func (p *Planner) WriteJSON(ctx context.Context, w io.Writer, s Session) error {
	pw := NewPlanWriter(w, p.at)
	for cp, err := range p.PlanEach(ctx, s) {
		if err != nil {
			return err
		}
		if err := pw.Write(cp); err != nil {
			return err
		}
	}
	return pw.Close()
}

// PlanWriter writes the JSON of a plan one computer at a time: the bytes of
// Plan.WriteJSON for a plan whose computers come from PlanEach (or any
// other source, in id order). Close ends the document.
type PlanWriter struct {
	w   io.Writer
	j   jsonWriter
	n   int
	err error // the first error of w
}

// planFlush is how much of the document a PlanWriter buffers before writing
// it.
const planFlush = 64 << 10

// NewPlanWriter begins the JSON of a plan at time at on w.
func NewPlanWriter(w io.Writer, at time.Time) *PlanWriter {
	pw := &PlanWriter{w: w, j: jsonWriter{out: make([]byte, 0, planFlush+planFlush/4)}}
	pw.j.raw("{\n  \"at\": ")
	pw.j.str(at.UTC().Format(time.RFC3339Nano))
	pw.j.raw(",\n  \"computers\": ")
	return pw
}

// Write writes the next computer's plan. An error of the writer beneath
// is returned by this Write or a later one, or by Close.
func (pw *PlanWriter) Write(c *ComputerPlan) error {
	if pw.n == 0 {
		pw.j.raw("[")
	} else {
		pw.j.raw(",")
	}
	pw.n++
	pw.j.raw("\n    ")
	pw.j.computer(c)
	if len(pw.j.out) >= planFlush {
		pw.flush()
	}
	return pw.err
}

// flush writes what is buffered, unless w has failed already.
func (pw *PlanWriter) flush() {
	if pw.err == nil && len(pw.j.out) > 0 {
		if _, err := pw.w.Write(pw.j.out); err != nil {
			pw.err = fmt.Errorf("resolver: writing the plan: %w", err)
		}
	}
	pw.j.out = pw.j.out[:0]
}

// Close ends the document and flushes what is buffered.
func (pw *PlanWriter) Close() error {
	if pw.n == 0 {
		pw.j.raw("[]")
	} else {
		pw.j.raw("\n  ]")
	}
	pw.j.raw("\n}\n")
	pw.flush()
	return pw.err
}

type jsonWriter struct {
	out    []byte // the document so far, since the last flush
	acts   []action
	losers []loserRec
	idx    []int
	jc     *jsonCache                  // that of the last computer's planContext
	caches map[*planContext]*jsonCache // a few, for plans whose computers have several
}

func (j *jsonWriter) raw(s string) { j.out = append(j.out, s...) }

// str writes s as encoding/json does: HTML-safe, invalid UTF-8 replaced.
func (j *jsonWriter) str(s string) {
	j.out = appendJSONString(j.out, s)
}

func (j *jsonWriter) field(indent, name, value string, last bool) {
	j.raw(indent)
	j.raw(`"`)
	j.raw(name)
	j.raw(`": `)
	j.str(value)
	if !last {
		j.raw(",")
	}
	j.raw("\n")
}

// cache returns the jsonCache of pc.
func (j *jsonWriter) cache(pc *planContext) *jsonCache {
	if j.jc != nil && j.jc.pc == pc {
		return j.jc
	}
	jc := j.caches[pc]
	if jc == nil {
		if j.caches == nil || len(j.caches) >= maxJSONCaches {
			j.caches = map[*planContext]*jsonCache{}
		}
		jc = newJSONCache(pc)
		j.caches[pc] = jc
	}
	j.jc = jc
	return jc
}

func (j *jsonWriter) computer(c *ComputerPlan) {
	const in = "      "
	j.acts, j.losers, j.idx = j.acts[:0], j.losers[:0], j.idx[:0]
	var jc *jsonCache
	if c.pc != nil {
		j.acts, j.losers = c.decode(j.acts, j.losers)
		j.idx = decisionsOf(j.acts, j.idx)
		jc = j.cache(c.pc)
	}
	j.raw("{\n" + in + `"id": `)
	j.str(c.ID)
	j.raw(",\n")
	if c.Excluded {
		j.raw(in + "\"excluded\": true,\n")
	}
	j.raw(in + "\"decisions\": ")
	if len(j.idx) == 0 {
		j.raw("[]")
	} else {
		j.raw("[")
		l := 0
		for i, k := range j.idx {
			if i > 0 {
				j.raw(",")
			}
			a := &j.acts[k]
			for l < len(j.losers) && j.losers[l].item < a.item {
				l++
			}
			end := l
			for end < len(j.losers) && j.losers[end].item == a.item {
				end++
			}
			j.decision(jc, a, j.losers[l:end])
			l = end
		}
		j.raw("\n      ]")
	}
	j.raw(",\n" + in + "\"actions\": ")
	if len(j.acts) == 0 {
		j.raw("[]")
	} else {
		j.raw("[")
		for i := range j.acts {
			if i > 0 {
				j.raw(",")
			}
			j.action(jc, c, &j.acts[i])
		}
		j.raw("\n      ]")
	}
	if ps := c.Problems(); len(ps) > 0 {
		j.raw(",\n" + in + "\"problems\": [")
		for i := range ps {
			if i > 0 {
				j.raw(",")
			}
			j.raw("\n        ")
			j.problem(&ps[i])
		}
		j.raw("\n      ]")
	}
	j.raw("\n    }")
}

// problem writes a Problem as encoding/json does (see its tags).
func (j *jsonWriter) problem(p *Problem) {
	const in = "          "
	j.raw("{\n")
	j.field(in, "kind", p.Kind.String(), false)
	j.field(in, "computer", p.Computer, false)
	j.field(in, "item", p.Item, false)
	j.field(in, "deployment", p.Deployment, false)
	if p.Private != "" {
		j.field(in, "private", p.Private, false)
	}
	if p.Tenant != "" {
		j.field(in, "tenant", p.Tenant, false)
	}
	if p.File != "" {
		j.field(in, "file", p.File, false)
	}
	if p.Line != 0 {
		j.raw(in + "\"line\": " + strconv.Itoa(p.Line) + ",\n")
	}
	j.field(in, "message", p.Message, true)
	j.raw("        }")
}

// decision writes the decision of action a (which has a deployment) with
// its losers, on a line of its own: the bytes of Decision's JSON, from the
// pieces jc keeps.
func (j *jsonWriter) decision(jc *jsonCache, a *action, losers []loserRec) {
	if len(losers) == 0 {
		j.raw(jc.decisionAlone(a.item, a.dep))
		return
	}
	j.raw(jc.decisionHead(a.item, a.dep))
	j.raw("[")
	for i := range losers {
		if i > 0 {
			j.raw(",")
		}
		j.raw(jc.loser(losers[i].dep))
		j.raw(jc.rule(losers[i].rule))
	}
	j.raw("\n          ]\n        }")
}

// action writes a on a line of its own: the bytes of Action's JSON, from
// the pieces jc keeps.
func (j *jsonWriter) action(jc *jsonCache, c *ComputerPlan, a *action) {
	if a.dep >= 0 {
		j.raw(jc.depHead(a.item, a.dep))
	} else {
		j.raw(jc.itemHead(a.item))
	}
	j.raw(jc.kind(a.kind))
	j.raw(jc.reason(a.reason))
	if a.detected != nil {
		j.str(a.detected.String())
	} else {
		j.raw(`""`)
	}
	if from := c.detectedFrom(a); from != "" { // "" unless the planner marked it
		j.raw(",\n          \"detected_from\": ")
		j.str(from)
	}
	j.raw(",\n          \"version\": ")
	if a.version != nil {
		j.str(a.version.String())
	} else {
		j.raw(`""`)
	}
	j.raw(jc.tail(a.reason))
}

// maxJSONCaches bounds the caches a jsonWriter keeps: the planContexts of
// one plan's computers are one or a few (a Replan keeps records of the plan
// before).
const maxJSONCaches = 8

// jsonCache is the JSON of the strings a planContext's actions and
// decisions repeat on every computer (item and deployment ids, desired
// states, reasons), escaped once and joined with the field names and
// indentation around them, so that a computer's JSON is mostly appends of
// whole pieces. The pieces that begin an action or a decision begin its
// line. Each piece is made the first time it is written ("" until then: no
// piece is empty).
type jsonCache struct {
	pc      *planContext
	items   []string // by item: an action without deployment, up to the action's value
	deps    []string // by deployment: an action of it, up to the action's value
	wins    []string // by deployment: a decision it wins, up to the candidates' value
	alone   []string // by deployment: a decision it wins without candidates, whole
	losers  []string // by deployment: a candidate it is, up to lost_on's value
	reasons []string // by reason code: the action's value (after the kind) up to the detected version's
	tails   []string // by reason code: after the version's value, to the end of the action
	kinds   [numActionKinds]string
	rules   [16]string
}

func newJSONCache(pc *planContext) *jsonCache {
	n := len(pc.cat.reasons)
	return &jsonCache{
		pc:    pc,
		items: make([]string, len(pc.cat.items)), deps: make([]string, len(pc.deps)),
		wins: make([]string, len(pc.deps)), alone: make([]string, len(pc.deps)), losers: make([]string, len(pc.deps)),
		reasons: make([]string, n), tails: make([]string, n),
	}
}

// quote returns s as a JSON string.
func quote(s string) string { return string(appendJSONString(nil, s)) }

func (jc *jsonCache) itemHead(k int32) string {
	if s := jc.items[k]; s != "" {
		return s
	}
	s := "\n        {\n          \"item\": " + quote(jc.pc.cat.items[k].id) + ",\n          \"deployment\": \"\",\n          \"action\": "
	jc.items[k] = s
	return s
}

func (jc *jsonCache) depHead(item, dep int32) string {
	if s := jc.deps[dep]; s != "" {
		return s
	}
	s := "\n        {\n          \"item\": " + quote(jc.pc.cat.items[item].id) + ",\n          \"deployment\": " + quote(jc.pc.deps[dep].ID) + ",\n          \"action\": "
	jc.deps[dep] = s
	return s
}

func (jc *jsonCache) decisionHead(item, dep int32) string {
	if s := jc.wins[dep]; s != "" {
		return s
	}
	d := &jc.pc.deps[dep]
	s := "\n        {\n          \"item\": " + quote(jc.pc.cat.items[item].id) + ",\n          \"winner\": " + quote(d.ID) +
		",\n          \"desired\": " + quote(desiredText(d)) + ",\n          \"candidates\": "
	jc.wins[dep] = s
	return s
}

func (jc *jsonCache) decisionAlone(item, dep int32) string {
	if s := jc.alone[dep]; s != "" {
		return s
	}
	s := jc.decisionHead(item, dep) + "[]\n        }"
	jc.alone[dep] = s
	return s
}

func (jc *jsonCache) loser(dep int32) string {
	if s := jc.losers[dep]; s != "" {
		return s
	}
	s := "\n            {\n              \"deployment\": " + quote(jc.pc.deps[dep].ID) + ",\n              \"lost_on\": "
	jc.losers[dep] = s
	return s
}

func (jc *jsonCache) rule(r Rule) string {
	if int(r) >= len(jc.rules) {
		return quote(r.String()) + "\n            }"
	}
	if s := jc.rules[r]; s != "" {
		return s
	}
	s := quote(r.String()) + "\n            }"
	jc.rules[r] = s
	return s
}

func (jc *jsonCache) kind(k ActionKind) string {
	if int(k) >= len(jc.kinds) {
		return quote(k.String()) + ",\n          \"reason\": "
	}
	if s := jc.kinds[k]; s != "" {
		return s
	}
	s := quote(k.String()) + ",\n          \"reason\": "
	jc.kinds[k] = s
	return s
}

func (jc *jsonCache) reason(r uint32) string {
	if s := jc.reasons[r]; s != "" {
		return s
	}
	s := quote(jc.pc.cat.reasons[r].text) + ",\n          \"detected\": "
	jc.reasons[r] = s
	return s
}

func (jc *jsonCache) tail(r uint32) string {
	if s := jc.tails[r]; s != "" {
		return s
	}
	s := "\n        }"
	if about := jc.pc.cat.reasons[r].about; about >= 0 {
		s = ",\n          \"required_by\": " + quote(jc.pc.cat.items[about].id) + "\n        }"
	}
	jc.tails[r] = s
	return s
}

const hexDigits = "0123456789abcdef"

// jsonPlain tells the bytes appendJSONString writes as they are: ASCII
// but control characters, ", \, <, > and &.
var jsonPlain = func() (t [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendJSONString appends s quoted the way encoding/json quotes strings by
// default: ", \ and control characters escaped, <, > and & as \u003c and so
// on, U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	i := 0
	for i < len(s) && jsonPlain[s[i]] {
		i++
	}
	dst = append(dst, '"')
	if i == len(s) { // most strings: nothing to escape
		dst = append(dst, s...)
		return append(dst, '"')
	}
	start := 0
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = strconv.AppendInt(dst, int64(r&0xF), 16)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
