package luasandbox

import (
	"strings"
	"testing"
)

// BenchmarkCompileWorstScript compiles the slowest source Compile accepts:
// as many operators as the bounds allow, in chains as long as they allow,
// and data up to the size bound.
func BenchmarkCompileWorstScript(b *testing.B) {
	stmt := "x = 1" + strings.Repeat("+1", DefaultMaxChain-1) + "\n"
	src := strings.Repeat(stmt, DefaultMaxOperators/(DefaultMaxChain-1))
	src += "y = '" + strings.Repeat("d", DefaultMaxSource-len(src)-8) + "'\n"
	benchCompile(b, src)
}

// BenchmarkCompileDeepScript compiles nesting at the depth bound, repeated
// to the size bound.
func BenchmarkCompileDeepScript(b *testing.B) {
	stmt := "x = " + strings.Repeat("(", DefaultMaxDepth-1) + "1" + strings.Repeat(")", DefaultMaxDepth-1) + "\n"
	benchCompile(b, strings.Repeat(stmt, DefaultMaxSource/len(stmt)))
}

func benchCompile(b *testing.B, src string) {
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("bench", src); err != nil {
			b.Fatal(err)
		}
	}
}
