package fleetstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestEntitiesRoundTrip(t *testing.T) {
	f := mspFleet(t)
	for _, k := range []Kind{KindTenant, KindPerson, KindComputer, KindGroup, KindAgreement,
		KindSoftware, KindTask, KindDeployment, KindSchedule} {
		ents, err := Entities(f, k)
		require.NoError(t, err)
		require.NotEmpty(t, ents, k)
		back := &immy.Fleet{}
		for _, e := range ents {
			v, err := DecodeEntity(k, e.JSON)
			require.NoError(t, err, "%s %s", k, e.ID)
			sectionOf[k].fill(back, []any{v})
		}
		again, err := Entities(back, k)
		require.NoError(t, err)
		if d := cmp.Diff(ents, again); d != "" {
			t.Errorf("%s: entities changed on a round trip (-want +got):\n%s", k, d)
		}
	}
}

func TestDecodeEntityRefuses(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		in   string
		want string
	}{
		{KindTenant, `{"id":"a","nmae":"x"}`, `unknown field "nmae"`},
		{KindDeployment, `{"id":"d","desired":"newest"}`, `newest`},
		{KindTenant, `{"id":"a"} {}`, `trailing data`},
		{KindSettings, `{}`, `unknown entity kind`},
		{Kind("nope"), `{}`, `unknown entity kind`},
	} {
		_, err := DecodeEntity(tc.kind, []byte(tc.in))
		require.ErrorContains(t, err, tc.want, tc.in)
	}
}
