package immy_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// TestParseRateScoopSample reads a sample of real version strings that we did
// not write (testdata/scoop-main-versions.txt names its source): at least 99%
// parse, the catalogue and the inventory agree on every one, and the refused
// ones are those the rules refuse on purpose (a revision alone, "r26"; a
// leading dot).
func TestParseRateScoopSample(t *testing.T) {
	f, err := os.Open("testdata/scoop-main-versions.txt")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, ok := 0, 0
	var refused []string
	for sc.Scan() {
		s := sc.Text()
		if strings.HasPrefix(s, "#") || s == "" {
			continue
		}
		n++
		v, err := immy.ParseVersion(s)
		inv := immy.ParseInventoryVersion(s)
		require.Equal(t, v.Canonical(), inv.Canonical(), "%q: the catalogue and the inventory disagree", s)
		if err != nil {
			refused = append(refused, s)
			continue
		}
		ok++
	}
	require.NoError(t, sc.Err())
	require.Greater(t, n, 400)
	t.Logf("%d of %d parse (%.2f%%); refused: %q", ok, n, 100*float64(ok)/float64(n), refused)
	require.GreaterOrEqual(t, float64(ok)/float64(n), 0.99)
	require.Equal(t, []string{".1.1.0", "r26"}, refused)
}
