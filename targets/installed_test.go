package targets

import (
	"testing"

	"github.com/immyoss/engine/immy"
)

var installedGlobs = []string{"Mozilla Firefox*", "mozilla firefox*", "7-Zip*", "*", "", "Notepad++*", "k*", "S*", "Zoom", "Zo?m*", "*Chrome*", "İ*", "Ⱥ*", "a**", "Dell Command | Update*"}

var installedNames = []string{"Mozilla Firefox (x64 en-US)", "MOZILLA FIREFOX", "Mozilla Firefo", "mozilla firefox", "7-zip 24.08", "Notepad++ (64-bit x64)",
	"\u212aeePass", "ſkype", "Zoom", "Zoom Workplace", "Google Chrome", "", "i", "İnstaller", "ⱥpp", "\xffMozilla Firefox", "Mozilla Firefox\xff", "Mozilla\u00a0Firefox", "Dell Command | Update for Windows"}

// The compiled installed(glob) agrees with MatchGlob on every glob and
// software name above, alone and in lists.
func TestInstalledFnMatchesGlob(t *testing.T) {
	for _, g := range installedGlobs {
		fn := installedFn(g)
		for _, n := range installedNames {
			checkInstalledFn(t, fn, g, n)
		}
		c := &immy.Computer{}
		for _, n := range installedNames {
			c.Software = append(c.Software, immy.DetectedSoftware{Name: n})
		}
		if got, want := fn(c), installed(c, g); got != want {
			t.Fatalf("installed(%q) on every name: %v, want %v", g, got, want)
		}
	}
}

func checkInstalledFn(t *testing.T, fn func(*immy.Computer) bool, glob, name string) {
	t.Helper()
	c := &immy.Computer{Software: []immy.DetectedSoftware{{Name: name}}}
	if got, want := fn(c), MatchGlob(glob, name); got != want {
		t.Fatalf("installed(%q) on %q: %v, MatchGlob %v", glob, name, got, want)
	}
}

func FuzzInstalledFn(f *testing.F) {
	for i, g := range installedGlobs {
		f.Add(g, installedNames[i%len(installedNames)])
	}
	f.Fuzz(func(t *testing.T, glob, name string) {
		checkInstalledFn(t, installedFn(glob), glob, name)
		checkInstalledFn(t, installedFn(glob+"*"), glob+"*", name)
	})
}
