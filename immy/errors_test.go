package immy_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestProblemError(t *testing.T) {
	tests := []struct {
		p    immy.Problem
		want string
	}{
		{immy.Problem{Message: "bad"}, "bad"},
		{immy.Problem{File: "f.yaml", Line: 3, Column: 7, Section: "deployments", ID: "d1", Field: "target.expr", Message: "bad"},
			`f.yaml:3:7: deployment "d1": target.expr: bad`},
		{immy.Problem{File: "f.yaml", Line: 3, Section: "software", ID: "chrome", Message: "bad"}, `f.yaml:3: software "chrome": bad`},
		{immy.Problem{File: "f.yaml", Section: "persons", Index: 4, Message: "bad"}, `f.yaml: person #5: bad`},
		{immy.Problem{Line: 9, Section: "tenants", ID: "t", Field: "parent", Message: "bad"}, `9: tenant "t": parent: bad`},
		{immy.Problem{Field: "version", Message: "bad"}, `version: bad`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, tt.p.Error())
		})
	}
}

func TestProblems(t *testing.T) {
	var none immy.Problems
	require.NoError(t, none.Err(), "no problem is no error")
	require.NoError(t, immy.Problems{}.Err())

	cycle := &immy.CycleError{Kind: "group", Path: []string{"a", "b", "a"}}
	ps := immy.Problems{
		{File: "b.yaml", Line: 1, Message: "z", Err: immy.ErrInvalid},
		{File: "a.yaml", Line: 9, Message: "y", Err: immy.ErrNotFound},
		{File: "a.yaml", Line: 2, Column: 5, Message: "x", Err: cycle},
		{File: "a.yaml", Line: 2, Column: 1, Section: "tenants", Index: 3, Message: "w"},
		{File: "a.yaml", Line: 2, Column: 1, Section: "tenants", Index: 1, Field: "parent", Message: "v"},
		{File: "a.yaml", Line: 2, Column: 1, Section: "tenants", Index: 1, Field: "id", Message: "u"},
		{File: "a.yaml", Line: 2, Column: 1, Section: "tenants", Index: 1, Field: "id", Message: "t"},
		{File: "a.yaml", Line: 2, Column: 1, Section: "computers", Index: 7, Message: "s"},
	}
	ps.Sort()
	var got []string
	for _, p := range ps {
		got = append(got, p.Message)
	}
	if diff := cmp.Diff([]string{"s", "t", "u", "v", "w", "x", "y", "z"}, got); diff != "" {
		t.Errorf("Sort order (-want +got):\n%s", diff)
	}

	err := ps.Err()
	require.Error(t, err)
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorIs(t, err, immy.ErrNotFound)
	require.ErrorIs(t, err, immy.ErrCycle)
	var ce *immy.CycleError
	require.ErrorAs(t, err, &ce)
	require.Same(t, cycle, ce)
	require.Equal(t, "immy: group cycle: a -> b -> a", ce.Error())
	var p immy.Problem
	require.ErrorAs(t, err, &p)
	require.Equal(t, "s", p.Message, "errors.As finds the first problem")

	require.Equal(t, `a.yaml:2:1: computer #8: s
a.yaml:2:1: tenant #2: id: t
a.yaml:2:1: tenant #2: id: u
a.yaml:2:1: tenant #2: parent: v
a.yaml:2:1: tenant #4: w
a.yaml:2:5: x
a.yaml:9: y
b.yaml:1: z`, err.Error())
	require.False(t, errors.Is(immy.Problems{{Message: "plain"}}.Err(), immy.ErrInvalid), "a problem without a category wraps nothing")
}
