package targets

import (
	"context"
	"math/rand/v2"
	"testing"
)

// FuzzExprCompiled: a filter drawn from the fuzzer's seed, run on generated
// computers by the closures and by expr's VM, agrees where the closures
// decide (where they give up, Eval runs the VM).
func FuzzExprCompiled(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 18, 42} {
		f.Add(seed, uint64(9))
	}
	cs, ts := genComputers(11, 40)
	cs = append(cs, caseFoldComputers(ts[0].ID)...)
	f.Fuzz(func(t *testing.T, a, b uint64) {
		g := exprGen{r: rand.New(rand.NewPCG(a, b))}
		src := g.bool(4)
		flt, err := Compile(LanguageExpr, src)
		if err != nil || !flt.Native() {
			return
		}
		for i := range cs {
			tn := tenantOf(ts, cs[i].Tenant)
			want, vmErr := flt.evalVM(context.Background(), &cs[i], tn)
			got, decided := flt.evalNative(&cs[i], tn)
			if decided && (vmErr != nil || got != want) {
				t.Fatalf("%s on %+v: closures %v, VM %v %v", src, cs[i], got, want, vmErr)
			}
		}
	})
}
