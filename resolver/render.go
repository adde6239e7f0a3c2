package resolver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// MarshalJSON writes the time in UTC, to the second when it has no fraction.
func (p Plan) MarshalJSON() ([]byte, error) {
	type plain struct {
		At        string         `json:"at"`
		Computers []ComputerPlan `json:"computers"`
	}
	v := plain{At: p.At.UTC().Format(time.RFC3339Nano), Computers: p.Computers}
	if v.Computers == nil {
		v.Computers = []ComputerPlan{}
	}
	return json.Marshal(v)
}

// String renders the plan as text (see WriteText).
func (p *Plan) String() string {
	var b bytes.Buffer
	_ = p.WriteText(&b)
	return b.String()
}

// WriteText renders the plan for a technician: a header, then one block per
// computer with its decisions (the winner of each item, and the candidates it
// beat with the rule each lost on) and its actions in execution order, each
// with its versions, reason and deployment. The same plan gives the same bytes.
func (p *Plan) WriteText(w io.Writer) error {
	var b bytes.Buffer
	n := len(p.Computers)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "plan at %s, %s session, %d computer%s\n", p.At.UTC().Format(time.RFC3339), p.Session, n, plural)
	for i := range p.Computers {
		b.WriteByte('\n')
		p.Computers[i].writeText(&b)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// String renders one computer's block of the text plan.
func (c *ComputerPlan) String() string {
	var b bytes.Buffer
	c.writeText(&b)
	return b.String()
}

func (c *ComputerPlan) writeText(b *bytes.Buffer) {
	b.WriteString(c.ID)
	b.WriteByte('\n')
	switch {
	case c.Excluded:
		b.WriteString("  excluded from maintenance\n")
		return
	case c.nact == 0 && len(c.Problems()) > 0:
		b.WriteString("  nothing planned\n")
		c.writeProblems(b)
		return
	case c.nact == 0:
		b.WriteString("  no deployment reaches it\n")
		return
	}
	b.WriteString("  decisions:\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, d := range c.Decisions() {
		fmt.Fprintf(tw, "    %s\t%s\t%s", d.Item, d.Winner, d.Desired)
		if len(d.Candidates) > 0 {
			tw.Write([]byte("\tbeat "))
			for i, l := range d.Candidates {
				if i > 0 {
					tw.Write([]byte(", "))
				}
				fmt.Fprintf(tw, "%s (%s)", l.Deployment, l.LostOn)
			}
		}
		tw.Write([]byte("\n"))
	}
	tw.Flush()
	b.WriteString("  actions:\n")
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	acts := c.Actions()
	from := false
	for i, a := range acts {
		dep := a.Deployment
		if dep == "" {
			dep = "(no deployment)"
		}
		fmt.Fprintf(tw, "    %d\t%s\t%s\t%s\t%s\t%s\n", i+1, a.Action, a.Item, versions(a), a.Reason, dep)
		from = from || a.DetectedFrom != ""
	}
	tw.Flush()
	if from { // which inventory entry, where detection had a choice
		b.WriteString("  detected from:\n")
		tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		for _, a := range acts {
			if a.DetectedFrom != "" {
				fmt.Fprintf(tw, "    %s\t%s\n", a.Item, oneLine(a.DetectedFrom))
			}
		}
		tw.Flush()
	}
	c.writeProblems(b)
}

// writeProblems renders the computer's problems, when it has any: kind,
// item, deployment, and the message after where it is in the fleet file.
func (c *ComputerPlan) writeProblems(b *bytes.Buffer) {
	ps := c.Problems()
	if len(ps) == 0 {
		return
	}
	b.WriteString("  problems:\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, p := range ps {
		dep := p.Deployment
		if dep == "" {
			dep = "(no deployment)"
		}
		where := ""
		switch {
		case p.File != "" && p.Line > 0:
			where = fmt.Sprintf("%s:%d: ", p.File, p.Line)
		case p.Line > 0:
			where = fmt.Sprintf("line %d: ", p.Line)
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s%s\n", p.Kind, p.Item, dep, where, oneLine(p.Message))
	}
	tw.Flush()
}

// versions shows what an action starts from and brings.
func versions(a Action) string {
	switch {
	case a.Detected != "" && a.Version != "":
		return a.Detected + " -> " + a.Version
	case a.Version != "":
		return "-> " + a.Version
	case a.Detected != "" && a.Action == ActionUninstall:
		return a.Detected + " -> (removed)"
	case a.Detected != "":
		return a.Detected
	}
	return "-"
}

// String renders the explanation as text (see WriteText).
func (e *Explanation) String() string {
	var b bytes.Buffer
	_ = e.WriteText(&b)
	return b.String()
}

// WriteText renders the explanation: every candidate in rank order with the
// values the ranking compares, the winner first and each other with the first
// rule it lost on; then the deployments of the item that are not candidates,
// and why.
func (e *Explanation) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s on %s: ", e.Item, e.Computer)
	switch {
	case e.Excluded:
		b.WriteString("the computer is excluded from maintenance\n")
	case len(e.Problems) > 0:
		b.WriteString("held, no deployment wins: a filter failed\n")
	case e.Winner == "":
		b.WriteString("no deployment takes part\n")
	default:
		fmt.Fprintf(&b, "%s wins\n", e.Winner)
	}
	if len(e.Candidates) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  rank\tdeployment\tscope\ttype\tgroup-filter\ttenant-distance\tpriority\tdesired-state\torigin\tresult")
		for i, c := range e.Candidates {
			result := "winner"
			if i > 0 {
				result = "lost on " + c.LostOn.String()
			}
			origin := "own"
			if c.Recommended {
				origin = "recommended"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", i+1, c.Deployment, c.Scope, c.Type, c.Filter, c.TenantDistance, c.Priority, c.Desired, origin, result)
		}
		tw.Flush()
	}
	if len(e.NotCandidates) > 0 {
		b.WriteString("  not candidates:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, n := range e.NotCandidates {
			fmt.Fprintf(tw, "    %s\t%s\n", n.Deployment, oneLine(n.Why))
		}
		tw.Flush()
	}
	if len(e.Detection) > 0 {
		b.WriteString("  detection:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, m := range e.Detection {
			mark := " "
			if m.Chosen {
				mark = "*"
			}
			ver := m.Version
			if m.Detected != m.Version {
				ver += " as " + m.Detected
				if m.Detected == "" {
					ver = m.Version + " (unknown)"
				}
			}
			pub := m.Publisher
			if pub == "" {
				pub = "-"
			}
			fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s\n", mark, oneLine(m.Name), oneLine(pub), oneLine(ver), m.Why)
		}
		tw.Flush()
	}
	if len(e.Problems) > 0 {
		b.WriteString("  problems:\n")
		for _, p := range e.Problems {
			b.WriteString("    " + strings.TrimPrefix(p.Error(), "resolver: ") + "\n")
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
