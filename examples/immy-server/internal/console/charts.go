package console

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"
)

// The fleet page's charts are SVG made on the server from the journal's
// index of sessions: no script, readable without colour (each series is
// also named in a table the chart sits beside).

const chartDays = 14

// chartSet is the fleet page's charts.
type chartSet struct {
	compliance, outcomes template.HTML
}

// outcome groups a session's status for the outcomes chart.
func outcome(status string) string {
	switch status {
	case "passed":
		return "passed"
	case "partially-passed", "failed":
		return "failed"
	case "cancelled":
		return "cancelled"
	}
	return ""
}

var outcomeColours = []struct{ name, colour string }{{"passed", "#2e7d32"}, {"failed", "#c62828"}, {"cancelled", "#757575"}}

var tenantColours = []string{"#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e", "#283593"}

// chartsOf computes, over the last chartDays days (UTC): the sessions that
// ended passed, failed (or partially) and cancelled per day; and per tenant
// the share of its computers whose latest ended session up to that day
// passed, among those with one.
func chartsOf(rows []sessionRow, tenantOf map[string]string, now time.Time) chartSet {
	days := make([]string, chartDays)
	for i := range days {
		days[i] = now.UTC().AddDate(0, 0, i-chartDays+1).Format("2006-01-02")
	}
	dayIndex := map[string]int{}
	for i, d := range days {
		dayIndex[d] = i
	}
	counts := make([]map[string]int, chartDays)
	for i := range counts {
		counts[i] = map[string]int{}
	}
	// oldest first, for "latest up to the day"
	sorted := append([]sessionRow(nil), rows...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Updated < sorted[j].Updated })
	latest := map[string]string{} // computer -> outcome
	series := map[string][]float64{}
	next := 0
	for i, d := range days {
		for ; next < len(sorted) && day(sorted[next].Updated) <= d; next++ {
			r := sorted[next]
			o := outcome(r.Status)
			if o == "" {
				continue
			}
			latest[r.Computer] = o
			if day(r.Updated) == d {
				counts[i][o]++
			}
		}
		pass, all := map[string]int{}, map[string]int{}
		for comp, o := range latest {
			t, ok := tenantOf[comp]
			if !ok {
				continue // not visible to this token
			}
			all[t]++
			if o == "passed" {
				pass[t]++
			}
		}
		for t, n := range all {
			if series[t] == nil {
				series[t] = make([]float64, chartDays)
				for k := range series[t] {
					series[t][k] = -1
				}
			}
			series[t][i] = 100 * float64(pass[t]) / float64(n)
		}
	}
	_ = dayIndex
	return chartSet{compliance: lineChart(days, series), outcomes: barChart(days, counts)}
}

func day(ts string) string {
	if len(ts) < 10 {
		return ts
	}
	return ts[:10]
}

const (
	cw, ch         = 640, 220
	padL, padB     = 40, 30
	padT, padR     = 10, 10
	plotW, plotH   = cw - padL - padR, ch - padT - padB
	svgOpen        = `<svg viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title" class="chart" xmlns="http://www.w3.org/2000/svg"><title id="%s-title">%s</title>`
	axisLabelStyle = `font-size="10" fill="currentColor"`
)

func axes(b *strings.Builder, days []string, yMax string) {
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="currentColor"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="currentColor"/>`, padL, padT, padL, padT+plotH)
	fmt.Fprintf(b, `<text x="%d" y="%d" %s text-anchor="end">%s</text>`, padL-4, padT+8, axisLabelStyle, yMax)
	fmt.Fprintf(b, `<text x="%d" y="%d" %s text-anchor="end">0</text>`, padL-4, padT+plotH, axisLabelStyle)
	for i, d := range days {
		if i%3 != 0 && i != len(days)-1 {
			continue
		}
		x := padL + (2*i+1)*plotW/(2*len(days))
		fmt.Fprintf(b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, x, ch-10, axisLabelStyle, template.HTMLEscapeString(d[5:]))
	}
}

func lineChart(days []string, series map[string][]float64) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, svgOpen, cw, ch, "compliance", "compliance", "Compliance per tenant, percent of computers whose latest session passed")
	axes(&b, days, "100%")
	var names []string
	for t := range series {
		names = append(names, t)
	}
	sort.Strings(names)
	for k, t := range names {
		col := tenantColours[k%len(tenantColours)]
		var pts []string
		for i, v := range series[t] {
			if v < 0 {
				continue
			}
			x := padL + (2*i+1)*plotW/(2*len(days))
			y := padT + plotH - int(v*float64(plotH)/100)
			pts = append(pts, fmt.Sprintf("%d,%d", x, y))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`, col, strings.Join(pts, " "), template.HTMLEscapeString(t))
	}
	for k, t := range names {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="%s">%s</text>`, padL+8, padT+14+14*k, tenantColours[k%len(tenantColours)], template.HTMLEscapeString(t))
	}
	if len(names) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">no ended sessions yet</text>`, padL+plotW/2, padT+plotH/2, axisLabelStyle)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text inserted is escaped above
}

func barChart(days []string, counts []map[string]int) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, svgOpen, cw, ch, "outcomes", "outcomes", "Session outcomes per day")
	max := 1
	for _, c := range counts {
		n := 0
		for _, v := range c {
			n += v
		}
		if n > max {
			max = n
		}
	}
	axes(&b, days, fmt.Sprint(max))
	bw := plotW / len(days)
	for i, c := range counts {
		y := padT + plotH
		for _, o := range outcomeColours {
			n := c[o.name]
			if n == 0 {
				continue
			}
			h := n * plotH / max
			y -= h
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s: %d %s</title></rect>`, padL+i*bw+2, y, bw-4, h, o.colour, days[i], n, o.name)
		}
	}
	for k, o := range outcomeColours {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="%s">%s</text>`, padL+8+80*k, padT+12, o.colour, o.name)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
