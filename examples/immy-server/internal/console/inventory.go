package console

import (
	"net/url"
	"strconv"
	"strings"
)

// A computer's inventory can be long (a Debian machine's agent reports
// every dpkg package): the computer page shows it collapsed, a page of
// softwarePageSize rows at a time, searched on the server (?inv_q=,
// ?inv_page=), so that the plan stays on the first screen.

const (
	softwarePageSize  = 50
	maxSoftwareSearch = 200 // bytes of a search kept
)

// softwareRow is one detected software of a computer's inventory.
type softwareRow struct {
	Name, Version, Publisher string
}

// softwarePage is the part of a computer's inventory the page shows.
type softwarePage struct {
	Rows     []softwareRow
	Q        string // the search, as given
	Page     int    // 1-based
	Pages    int    // at least 1
	Matching int    // rows the search keeps
	Total    int    // rows of the inventory
	First    int    // 1-based number of the first row shown (0: none)
	Last     int
	Open     bool   // the reader searched or paged: the section shows open
	PrevURL  string // "" on the first page
	NextURL  string // "" on the last page
}

// pageSoftware keeps the rows whose name, version or publisher contains
// the search (?inv_q=, case-insensitive), and of those the page asked
// (?inv_page=, 1-based; one past the last shows the last).
func pageSoftware(all []softwareRow, q url.Values, base string) softwarePage {
	search := strings.TrimSpace(q.Get("inv_q"))
	if len(search) > maxSoftwareSearch {
		search = search[:maxSoftwareSearch]
	}
	p := softwarePage{Q: search, Total: len(all), Open: q.Has("inv_q") || q.Has("inv_page")}
	match := all
	if search != "" {
		needle := strings.ToLower(search)
		match = nil
		for _, s := range all {
			if strings.Contains(strings.ToLower(s.Name), needle) || strings.Contains(strings.ToLower(s.Publisher), needle) ||
				strings.Contains(strings.ToLower(s.Version), needle) {
				match = append(match, s)
			}
		}
	}
	p.Matching = len(match)
	p.Pages = max(1, (len(match)+softwarePageSize-1)/softwarePageSize)
	p.Page, _ = strconv.Atoi(q.Get("inv_page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	from := (p.Page - 1) * softwarePageSize
	to := min(from+softwarePageSize, len(match))
	p.Rows = match[from:to]
	if to > from {
		p.First, p.Last = from+1, to
	}
	link := func(page int) string {
		v := url.Values{}
		if search != "" {
			v.Set("inv_q", search)
		}
		v.Set("inv_page", strconv.Itoa(page))
		return base + "?" + v.Encode() + "#inventory"
	}
	if p.Page > 1 {
		p.PrevURL = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.NextURL = link(p.Page + 1)
	}
	return p
}
