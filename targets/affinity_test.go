package targets

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestPrimaryPerson(t *testing.T) {
	persons := []immy.Person{
		{ID: "ann", Tenant: "t", UPN: "ann@t.com"},
		{ID: "bob", Tenant: "t", UPN: "Bob@T.com"},
		{ID: "cat", Tenant: "t", UPN: "cat@t.com"},
		{ID: "ann-other", Tenant: "other", UPN: "ann@t.com"},
		{ID: "zed", Tenant: "t", UPN: "dup@t.com"},
		{ID: "amy", Tenant: "t", UPN: "DUP@t.com"},
		{ID: "nobody", Tenant: "t"},
	}
	upns := func(n int, s string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	tests := []struct {
		name   string
		tenant string
		upns   []string
		want   string // "" for none
	}{
		{"most frequent", "t", []string{"bob@t.com", "ann@t.com", "ann@t.com"}, "ann"},
		{"tie goes to the most recent", "t", []string{"bob@t.com", "ann@t.com", "ann@t.com", "bob@t.com"}, "bob"},
		{"case-insensitive", "t", []string{"ANN@T.COM", "bob@t.com", "Ann@t.Com"}, "ann"},
		{"within the computer's tenant", "other", []string{"bob@t.com", "ann@t.com"}, "ann-other"},
		{"unknown UPNs are skipped", "t", []string{"x@t.com", "x@t.com", "x@t.com", "cat@t.com"}, "cat"},
		{"only the last ten count", "t", append(append(upns(5, "bob@t.com"), upns(5, "cat@t.com")...), upns(6, "ann@t.com")...), "bob"},
		{"the eleventh does not break a tie", "t", append(append(upns(5, "cat@t.com"), upns(5, "bob@t.com")...), "bob@t.com"), "cat"},
		{"two persons sharing a UPN: the smaller id", "t", []string{"dup@t.com"}, "amy"},
		{"empty UPNs are skipped", "t", []string{"", "", "bob@t.com"}, "bob"},
		{"nobody", "t", []string{"x@y.com"}, ""},
		{"no UPNs", "t", nil, ""},
		{"tenant without persons", "none", []string{"ann@t.com"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &immy.Computer{ID: "c", Tenant: tc.tenant, UPNs: tc.upns}
			p, ok := PrimaryPerson(c, persons)
			got := ""
			if ok {
				got = persons[p].ID
			}
			require.Equal(t, tc.want, got)

			// The index agrees with the function.
			f := &immy.Fleet{Tenants: []immy.Tenant{{ID: "t"}, {ID: "other"}, {ID: "none"}}, Persons: persons, Computers: []immy.Computer{*c}}
			ix, err := NewIndex(f, Config{})
			require.NoError(t, err)
			ip, iok := ix.PrimaryPerson(0)
			require.Equal(t, ok, iok)
			if ok {
				require.Equal(t, p, ip)
				require.Equal(t, []int{0}, ix.PersonComputers(p))
			}
		})
	}
}

func ExamplePrimaryPerson() {
	persons := []immy.Person{
		{ID: "john", Tenant: "contoso", UPN: "john@contoso.com"},
		{ID: "jane", Tenant: "contoso", UPN: "jane@contoso.com"},
	}
	c := &immy.Computer{ID: "contoso-lt-01", Tenant: "contoso",
		// Newest first: jane logged on last, but john more often.
		UPNs: []string{"jane@contoso.com", "JOHN@contoso.com", "john@contoso.com"}}
	if p, ok := PrimaryPerson(c, persons); ok {
		fmt.Println(persons[p].ID)
	}
	// Output: john
}
