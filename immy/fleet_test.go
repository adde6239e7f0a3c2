package immy_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestDate(t *testing.T) {
	d, err := immy.ParseDate("2026-02-28")
	require.NoError(t, err)
	require.Equal(t, immy.Date{Year: 2026, Month: time.February, Day: 28}, d)
	require.Equal(t, "2026-02-28", d.String())

	for _, bad := range []string{"2026-02-30", "26-02-28", "2026/02/28", "", "2026-02-28T00:00:00Z"} {
		_, err := immy.ParseDate(bad)
		require.ErrorIs(t, err, immy.ErrInvalid, "%q", bad)
	}

	require.True(t, immy.Date{}.IsZero())
	require.Empty(t, immy.Date{}.String())
	require.True(t, immy.Date{Year: 2025, Month: 12, Day: 31}.Before(d))
	require.True(t, immy.Date{Year: 2026, Month: 1, Day: 31}.Before(d))
	require.True(t, immy.Date{Year: 2026, Month: 2, Day: 27}.Before(d))
	require.False(t, d.Before(d))

	// The date of a time is the date where the time is.
	at := time.Date(2026, 11, 23, 23, 30, 0, 0, time.FixedZone("UTC-5", -5*3600))
	require.Equal(t, immy.Date{Year: 2026, Month: 11, Day: 23}, immy.DateOf(at))
	require.Equal(t, immy.Date{Year: 2026, Month: 11, Day: 24}, immy.DateOf(at.UTC()))

	b, err := d.MarshalText()
	require.NoError(t, err)
	var back immy.Date
	require.NoError(t, back.UnmarshalText(b))
	require.Equal(t, d, back)
	require.NoError(t, back.UnmarshalText(nil))
	require.True(t, back.IsZero())
	require.ErrorIs(t, back.UnmarshalText([]byte("tomorrow")), immy.ErrInvalid)
}

func TestAgreementActiveOn(t *testing.T) {
	day := func(s string) immy.Date {
		d, err := immy.ParseDate(s)
		require.NoError(t, err)
		return d
	}
	tests := []struct {
		from, to, on string
		want         bool
	}{
		{"2026-01-01", "2026-12-31", "2026-01-01", true}, // both bounds inclusive
		{"2026-01-01", "2026-12-31", "2026-12-31", true},
		{"2026-01-01", "2026-12-31", "2025-12-31", false},
		{"2026-01-01", "2026-12-31", "2027-01-01", false},
		{"", "2026-12-31", "1999-01-01", true}, // open start
		{"2026-01-01", "", "2099-01-01", true}, // open end
		{"", "", "2026-06-01", true},
	}
	for _, tt := range tests {
		a := immy.Agreement{}
		if tt.from != "" {
			a.From = day(tt.from)
		}
		if tt.to != "" {
			a.To = day(tt.to)
		}
		require.Equal(t, tt.want, a.ActiveOn(day(tt.on)), "%s..%s on %s", tt.from, tt.to, tt.on)
	}
}

func TestTargetScope(t *testing.T) {
	tests := []struct {
		target immy.Target
		want   immy.TargetScope
	}{
		{immy.Target{Type: immy.TargetAllComputers}, immy.ScopeCrossTenant},
		{immy.Target{Type: immy.TargetAllComputers, Tenant: "c"}, immy.ScopeSingleTenant},
		{immy.Target{Type: immy.TargetTag, Tag: "canary"}, immy.ScopeCrossTenant},
		{immy.Target{Type: immy.TargetFilter, Expr: "true", Tenant: "c"}, immy.ScopeSingleTenant},
		{immy.Target{Type: immy.TargetComputer, Computer: "pc", Tenant: "c"}, immy.ScopeIndividual},
		{immy.Target{Type: immy.TargetPerson, Person: "p"}, immy.ScopeIndividual},
		{immy.Target{Type: immy.TargetTenant, Tenant: "c"}, immy.ScopeSingleTenant},
		{immy.Target{Type: immy.TargetAllTenants}, immy.ScopeCrossTenant},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.target.Scope(), "%+v", tt.target)
	}
}

func TestSoftwareVersions(t *testing.T) {
	s := immy.Software{Versions: []immy.SoftwareVersion{
		{Version: immy.MustParseVersion("23.006.20320")},
		{Version: immy.MustParseVersion("24.001.20604")},
		{Version: immy.MustParseVersion("24.1.20604-rc.1")},
	}}
	require.Equal(t, "24.001.20604", s.Latest().String(), "the highest, wherever it is listed")
	v, ok := s.Version(immy.MustParseVersion("23.6.20320"))
	require.True(t, ok)
	require.Equal(t, "23.006.20320", v.Version.String())
	v.UpgradeStrategy = immy.UpgradeScript
	require.Equal(t, immy.UpgradeScript, s.Versions[0].UpgradeStrategy, "Version returns the software's own entry")
	_, ok = s.Version(immy.MustParseVersion("1.0"))
	require.False(t, ok)
	require.True(t, (&immy.Software{}).Latest().IsZero())
}
