package console

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPageSoftware: the inventory shows 50 rows a page, searched by name,
// version or publisher without regard to case; a page out of range shows
// the nearest; the links keep the search.
func TestPageSoftware(t *testing.T) {
	var all []softwareRow
	for i := range 120 {
		pub := "Debian"
		if i%10 == 0 {
			pub = "Mozilla"
		}
		all = append(all, softwareRow{Name: fmt.Sprintf("pkg-%03d", i), Version: fmt.Sprintf("1.%d", i), Publisher: pub})
	}
	const base = "/console/computers/pc%201"
	type want struct {
		names                              []string // first and last shown
		page, pages, matching, first, last int
		open                               bool
		prev, next                         string
	}
	for _, tc := range []struct {
		query string
		want  want
	}{
		{"", want{[]string{"pkg-000", "pkg-049"}, 1, 3, 120, 1, 50, false, "", base + "?inv_page=2#inventory"}},
		{"inv_page=2", want{[]string{"pkg-050", "pkg-099"}, 2, 3, 120, 51, 100, true, base + "?inv_page=1#inventory", base + "?inv_page=3#inventory"}},
		{"inv_page=3", want{[]string{"pkg-100", "pkg-119"}, 3, 3, 120, 101, 120, true, base + "?inv_page=2#inventory", ""}},
		{"inv_page=99", want{[]string{"pkg-100", "pkg-119"}, 3, 3, 120, 101, 120, true, base + "?inv_page=2#inventory", ""}},
		{"inv_page=-4", want{[]string{"pkg-000", "pkg-049"}, 1, 3, 120, 1, 50, true, "", base + "?inv_page=2#inventory"}},
		{"inv_page=x", want{[]string{"pkg-000", "pkg-049"}, 1, 3, 120, 1, 50, true, "", base + "?inv_page=2#inventory"}},
		{"inv_q=mozILLA", want{[]string{"pkg-000", "pkg-110"}, 1, 1, 12, 1, 12, true, "", ""}},
		{"inv_q=1.11", want{[]string{"pkg-011", "pkg-119"}, 1, 1, 11, 1, 11, true, "", ""}},
		{"inv_q=pkg&inv_page=2", want{[]string{"pkg-050", "pkg-099"}, 2, 3, 120, 51, 100, true, base + "?inv_page=1&inv_q=pkg#inventory", base + "?inv_page=3&inv_q=pkg#inventory"}},
		{"inv_q=nothing+like+it", want{nil, 1, 1, 0, 0, 0, true, "", ""}},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		p := pageSoftware(all, q, base)
		got := want{page: p.Page, pages: p.Pages, matching: p.Matching, first: p.First, last: p.Last, open: p.Open, prev: p.PrevURL, next: p.NextURL}
		if len(p.Rows) > 0 {
			got.names = []string{p.Rows[0].Name, p.Rows[len(p.Rows)-1].Name}
		}
		if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); d != "" {
			t.Errorf("?%s (-want +got):\n%s", tc.query, d)
		}
		if len(p.Rows) > softwarePageSize || p.Total != len(all) {
			t.Errorf("?%s: %d rows of %d", tc.query, len(p.Rows), p.Total)
		}
	}
	if p := pageSoftware(nil, url.Values{}, base); p.Pages != 1 || p.Page != 1 || len(p.Rows) != 0 || p.First != 0 {
		t.Errorf("no inventory: %+v", p)
	}
}
