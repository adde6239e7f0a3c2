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

func (j *jsonWriter) computer(c *ComputerPlan) {
	const in = "      "
	j.acts, j.losers, j.idx = j.acts[:0], j.losers[:0], j.idx[:0]
	if c.pc != nil {
		j.acts, j.losers = c.decode(j.acts, j.losers)
		j.idx = decisionsOf(j.acts, j.idx)
	}
	j.raw("{\n")
	j.field(in, "id", c.ID, false)
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
			j.raw("\n        ")
			a := &j.acts[k]
			for l < len(j.losers) && j.losers[l].item < a.item {
				l++
			}
			end := l
			for end < len(j.losers) && j.losers[end].item == a.item {
				end++
			}
			j.decision(c, a, j.losers[l:end])
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
			j.raw("\n        ")
			j.action(c, &j.acts[i])
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

func (j *jsonWriter) decision(c *ComputerPlan, a *action, losers []loserRec) {
	const in = "          "
	w := &c.pc.deps[a.dep]
	j.raw("{\n")
	j.field(in, "item", c.pc.cat.items[a.item].id, false)
	j.field(in, "winner", w.ID, false)
	j.field(in, "desired", desiredText(w), false)
	j.raw(in + "\"candidates\": ")
	if len(losers) == 0 {
		j.raw("[]")
	} else {
		j.raw("[")
		for i, l := range losers {
			if i > 0 {
				j.raw(",")
			}
			j.raw("\n            {\n")
			j.field(in+"    ", "deployment", c.pc.deps[l.dep].ID, false)
			j.field(in+"    ", "lost_on", l.rule.String(), true)
			j.raw(in + "  }")
		}
		j.raw("\n" + in + "]")
	}
	j.raw("\n        }")
}

func (j *jsonWriter) action(c *ComputerPlan, a *action) {
	const in = "          "
	cat := c.pc.cat
	dep, detected, version := "", "", ""
	if a.dep >= 0 {
		dep = c.pc.deps[a.dep].ID
	}
	if a.detected != nil {
		detected = a.detected.String()
	}
	if a.version != nil {
		version = a.version.String()
	}
	r := &cat.reasons[a.reason]
	j.raw("{\n")
	j.field(in, "item", cat.items[a.item].id, false)
	j.field(in, "deployment", dep, false)
	j.field(in, "action", a.kind.String(), false)
	j.field(in, "reason", r.text, false)
	j.field(in, "detected", detected, false)
	if from := c.detectedFrom(a); from != "" { // "" unless the planner marked it
		j.field(in, "detected_from", from, false)
	}
	j.field(in, "version", version, r.about < 0)
	if r.about >= 0 {
		j.field(in, "required_by", cat.items[r.about].id, true)
	}
	j.raw("        }")
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted the way encoding/json quotes strings by
// default: ", \ and control characters escaped, <, > and & as \u003c and so
// on, U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
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
