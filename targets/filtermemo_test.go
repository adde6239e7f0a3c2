package targets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// memoPair compiles src twice: as Compile does (with its memo, when it has
// one) and without a memo.
func memoPair(t *testing.T, lang Language, src string) (memo, plain *Filter) {
	t.Helper()
	memo, err := Compile(lang, src)
	require.NoError(t, err, src)
	plain, err = Compile(lang, src)
	require.NoError(t, err, src)
	plain.memo = nil
	return memo, plain
}

func evalText(ok bool, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(ok)
}

// TestFilterMemoMatches: a filter with its memo gives, on every computer of
// generated fleets, what it gives without: FleetScale's filters (written as
// MSPs write them), the filter set, and generated Lua programs.
func TestFilterMemoMatches(t *testing.T) {
	cfg := immytest.FleetScale(100_000)
	cfg.Computers = 4_000
	f := immytest.Generate(cfg)
	tenants := map[string]*immy.Tenant{}
	for i := range f.Tenants {
		tenants[f.Tenants[i].ID] = &f.Tenants[i]
	}
	type source struct {
		lang Language
		src  string
	}
	var sources []source
	seen := map[source]bool{}
	add := func(s source) {
		if !seen[s] {
			seen[s] = true
			sources = append(sources, s)
		}
	}
	for _, d := range f.Deployments {
		if d.Target.Type != immy.TargetFilter {
			continue
		}
		if d.Target.Lua != "" {
			add(source{LanguageLua, d.Target.Lua})
		} else {
			add(source{LanguageExpr, d.Target.Expr})
		}
	}
	for _, rf := range filterSet {
		add(source{rf.lang, rf.src})
	}
	g := &luaProgGen{r: rand.New(rand.NewPCG(3, 3))}
	for range 150 {
		add(source{LanguageLua, g.program()})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	memoised, hits := 0, int64(0)
	// Every 7th computer of the fleet, in fleet order (a tenant's together).
	for _, s := range sources {
		memo, err := Compile(s.lang, s.src)
		if err != nil {
			continue // a generated program the checker refuses
		}
		_, plain := memoPair(t, s.lang, s.src)
		if memo.memo == nil {
			continue
		}
		memoised++
		for i := 0; i < len(f.Computers); i += 7 {
			c := &f.Computers[i]
			tn := tenants[c.Tenant]
			got, gotErr := memo.Eval(ctx, Env{Computer: c, Tenant: tn})
			want, wantErr := plain.Eval(ctx, Env{Computer: c, Tenant: tn})
			if evalText(got, gotErr) != evalText(want, wantErr) {
				t.Fatalf("%s filter:\n%s\non %s: with its memo %s, without %s", s.lang, s.src, c.ID, evalText(got, gotErr), evalText(want, wantErr))
			}
		}
		hits += memo.memo.hits.Load() // counted until the memo settles
		require.LessOrEqual(t, len(memo.memo.m), memoEntries)
	}
	t.Logf("%d of %d filters memoised; %d lookups found a result", memoised, len(sources), hits)
	// (most expr filters are closures cheaper than a memo, and have none)
	require.Greater(t, memoised, 200, "many filters should have a memo")
	require.Positive(t, hits)
}

// TestFilterMemoBounds: the memo keys what the filter reads, stays within
// its bounds, and turns itself off for a filter that reads what differs on
// every computer.
func TestFilterMemoBounds(t *testing.T) {
	cs, ts := genComputers(5, 2000)
	ctx := context.Background()
	run := func(f *Filter) {
		for i := range cs {
			_, err := f.Eval(ctx, Env{Computer: &cs[i], Tenant: tenantOf(ts, cs[i].Tenant)})
			require.NoError(t, err)
		}
	}
	// Reads the OS and the site: few distinct values, many hits.
	few, err := Compile(LanguageLua, "local os = computer.os\nreturn os:find(\"Windows\", 1, true) ~= nil and computer.attributes.site == \"hq\"")
	require.NoError(t, err)
	require.NotNil(t, few.memo)
	run(few)
	require.False(t, few.memo.off.Load())
	require.True(t, few.memo.settled.Load(), "the memo should settle on")
	require.Less(t, len(few.memo.m), 50)
	require.Greater(t, few.memo.hits.Load(), int64(memoProbe*3/4))

	// Reads the name: no two computers share it.
	names, err := Compile(LanguageLua, "local n = computer.name\nreturn n:sub(-1) == \"7\"")
	require.NoError(t, err)
	require.NotNil(t, names.memo)
	run(names)
	require.True(t, names.memo.off.Load(), "the memo should turn itself off")
	require.Nil(t, names.memo.m)

	// What cannot be keyed has no memo.
	for _, src := range []string{
		`return installed("Google*") and computer.online and computer.os ~= ""`,
		`for k, v in pairs(computer.attributes) do if v == "hq" then return true end end return false`,
		`local c = computer return c.os == "x" or c.online`,
		`return _G.computer.os == "x" and computer.online`,
		`return _G["computer"].attributes.site == "hq" and computer.online`,
	} {
		f, err := Compile(LanguageLua, src)
		require.NoError(t, err)
		require.Nil(t, f.memo, src)
	}
	for _, src := range []string{
		`float(len(computer.upns)) > 0.5 and $env["computer"].os == "x"`,
		`float(len(computer.upns)) > 0.5 and installed("x")`,
	} {
		f, err := Compile(LanguageExpr, src)
		require.NoError(t, err)
		require.Nil(t, f.memo, src)
	}
	f, err := Compile(LanguageExpr, `float(len(computer.upns)) > 0.5 and computer.attributes["site"] == "hq"`)
	require.NoError(t, err)
	require.NotNil(t, f.memo, "an expr filter in its VM")
	require.Equal(t, []memoInputKind{memoList, memoAttr}, []memoInputKind{f.memo.inputs[0].kind, f.memo.inputs[1].kind})
}

// TestFilterConcurrentEval: one compiled filter (closures, frames, memo)
// evaluated from several goroutines at once gives what it gives from one
// (run with -race).
func TestFilterConcurrentEval(t *testing.T) {
	fl := newFilterSetFleet(600)
	cs := fl.cs
	ctx := longCtx(t)
	for _, rf := range filterSet {
		f, err := Compile(rf.lang, rf.src)
		require.NoError(t, err)
		want := make([]bool, len(cs))
		for i := range cs {
			want[i], err = f.Eval(ctx, Env{Computer: &cs[i], Tenant: fl.ts[i]})
			require.NoError(t, err)
		}
		f, _ = Compile(rf.lang, rf.src) // a fresh memo
		errs := make(chan error, 4)
		for w := range 4 {
			go func() {
				for k := range cs {
					i := (k + w*97) % len(cs)
					got, err := f.Eval(ctx, Env{Computer: &cs[i], Tenant: fl.ts[i]})
					if err != nil || got != want[i] {
						errs <- fmt.Errorf("%s on %s: %v %v, want %v", rf, cs[i].ID, got, err, want[i])
						return
					}
				}
				errs <- nil
			}()
		}
		for range 4 {
			require.NoError(t, <-errs)
		}
	}
}
