package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// streamPlan plans session s on the computers ids of f (every computer,
// for nil ids), and writes the plan with its totals on out, as writePlan
// writes a whole plan, byte for byte: computer by computer, as
// resolver.Planner.PlanEach yields them, so that the plans of a whole fleet
// are never held at once. It returns the problems of the plan, by computer.
func streamPlan(ctx context.Context, out io.Writer, p *resolver.Planner, f *immy.Fleet, ids []string, s resolver.Session, format string) ([]resolver.Problem, error) {
	plans, n := p.PlanEach(ctx, s), len(f.Computers)
	if ids != nil {
		plans, n = planEachOf(ctx, p, ids, s), len(ids)
	}
	var w planSink
	if format == "json" {
		w = newJSONSink(out, p.At())
	} else {
		w = newTextSink(out, p.At(), s.Kind, n)
	}
	sum := newTotaller(f)
	var problems []resolver.Problem
	for cp, err := range plans {
		if err != nil {
			return nil, err
		}
		sum.add(cp)
		problems = append(problems, cp.Problems()...)
		if err := w.write(cp); err != nil {
			return nil, err
		}
	}
	if err := w.end(sum.totals()); err != nil {
		return nil, err
	}
	return problems, nil
}

// planEachOf plans session s on the computers ids, one at a time, in
// their order.
func planEachOf(ctx context.Context, p *resolver.Planner, ids []string, s resolver.Session) iter.Seq2[*resolver.ComputerPlan, error] {
	return func(yield func(*resolver.ComputerPlan, error) bool) {
		for _, id := range ids {
			cp, err := p.PlanComputer(ctx, id, s, nil)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(cp, nil) {
				return
			}
		}
	}
}

// planSink writes a plan computer by computer, then its totals.
type planSink interface {
	write(*resolver.ComputerPlan) error
	end(planTotals) error
}

// jsonSink writes resolver.Plan.WriteJSON's document with the totals as
// its last field, as withJSONField adds them to a whole one.
type jsonSink struct {
	out io.Writer
	hb  *holdBack
	pw  *resolver.PlanWriter
}

func newJSONSink(out io.Writer, at time.Time) *jsonSink {
	hb := &holdBack{w: out, n: len(jsonEnd)}
	return &jsonSink{out: out, hb: hb, pw: resolver.NewPlanWriter(hb, at)}
}

func (j *jsonSink) write(cp *resolver.ComputerPlan) error { return j.pw.Write(cp) }

func (j *jsonSink) end(t planTotals) error {
	if err := j.pw.Close(); err != nil {
		return err
	}
	if string(j.hb.tail) != jsonEnd {
		return errJSONEnd
	}
	tail, err := jsonFieldTail("totals", t)
	if err != nil {
		return err
	}
	_, err = j.out.Write(tail)
	return err
}

// holdBack writes to w all but the last n bytes written to it, which it
// keeps in tail.
type holdBack struct {
	w    io.Writer
	n    int
	tail []byte
}

func (h *holdBack) Write(b []byte) (int, error) {
	h.tail = append(h.tail, b...)
	if k := len(h.tail) - h.n; k > 0 {
		if _, err := h.w.Write(h.tail[:k]); err != nil {
			return 0, err
		}
		h.tail = h.tail[:copy(h.tail, h.tail[k:])]
	}
	return len(b), nil
}

// textSink writes resolver.Plan.WriteText's text, then the totals' block.
type textSink struct {
	out io.Writer
	b   bytes.Buffer
}

func newTextSink(out io.Writer, at time.Time, kind resolver.SessionKind, n int) *textSink {
	t := &textSink{out: out}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(&t.b, "plan at %s, %s session, %d computer%s\n", at.UTC().Format(time.RFC3339), kind, n, plural)
	return t
}

func (t *textSink) write(cp *resolver.ComputerPlan) error {
	t.b.WriteByte('\n')
	t.b.WriteString(cp.String())
	return t.flush(64 << 10)
}

func (t *textSink) end(tt planTotals) error {
	tt.writeText(&t.b)
	return t.flush(0)
}

// flush writes what is buffered once it is min bytes or more.
func (t *textSink) flush(min int) error {
	if t.b.Len() < min || t.b.Len() == 0 {
		return nil
	}
	_, err := t.out.Write(t.b.Bytes())
	t.b.Reset()
	return err
}

// holdAtMost is how much of a plan immyctl keeps before it writes any of
// it: a plan up to this size is written once it is complete, so that an
// error leaves nothing of it behind; a larger one (a fleet of thousands of
// computers) is streamed, and an error met on the way ends it part way, with
// the error on stderr and status 1.
var holdAtMost = 8 << 20 // a variable for the tests

// spill keeps what is written to it, up to holdAtMost bytes, then writes it
// to w and everything after it as it comes (buffered). Flush writes what is
// left; nothing reaches w before Flush or the holdAtMost-th byte.
type spill struct {
	w   io.Writer
	buf bytes.Buffer
	bw  *bufio.Writer // once streaming
}

func (s *spill) Write(b []byte) (int, error) {
	if s.bw != nil {
		return s.bw.Write(b)
	}
	s.buf.Write(b)
	if s.buf.Len() < holdAtMost {
		return len(b), nil
	}
	s.bw = bufio.NewWriterSize(s.w, 64<<10)
	_, err := s.w.Write(s.buf.Bytes())
	s.buf = bytes.Buffer{}
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// Flush writes what is kept or buffered.
func (s *spill) Flush() error {
	if s.bw != nil {
		return s.bw.Flush()
	}
	_, err := s.w.Write(s.buf.Bytes())
	return err
}
