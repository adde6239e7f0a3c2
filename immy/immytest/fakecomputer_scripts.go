package immytest

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/immyoss/engine/immy"
)

// FakeScripts gives every software and task of f that lacks them scripts that
// a [FakeFleet] runs, so that a fleet written for planning (a scenario, a
// fleet file) can also be executed. It changes f in place: call it on a fleet
// you own, before compiling anything over it.
//
// A software without scripts gets an install script that installs
// DisplayNameFor(software) at the version the engine asks for (the parameter
// "version"), with the product code when detection uses one, and an uninstall
// script that removes that name; with no upgrade strategy it gets
// install-over, and with a detection script, one that queries the name. A
// task without scripts gets test, set and get scripts over the state key
// "task:ID": the test passes when the value is "true", set makes it "true",
// get returns it. Scripts already present are kept.
func FakeScripts(f *immy.Fleet) {
	for i := range f.Software {
		sw := &f.Software[i]
		name := DisplayNameFor(sw)
		code := sw.Detection.ProductCode
		if sw.Install == nil {
			body := fmt.Sprintf("install(%q, version)", name)
			if code != "" {
				body = fmt.Sprintf("install(%q, version, %q)", name, code)
			}
			sw.Install = &immy.Script{Language: immy.LanguageLua, Body: body}
		}
		if sw.Uninstall == nil {
			sw.Uninstall = &immy.Script{Language: immy.LanguageLua, Body: fmt.Sprintf("uninstall(%q)", name)}
		}
		if sw.UpgradeStrategy == immy.UpgradeUnset {
			sw.UpgradeStrategy = immy.UpgradeInstallOver
		}
		if sw.Detection.Script != nil && sw.Detection.Script.Body == "" {
			sw.Detection.Script = &immy.Script{Language: immy.LanguageLua, Body: fmt.Sprintf("return query(%q)", name)}
		}
	}
	for i := range f.Tasks {
		t := &f.Tasks[i]
		if t.Script != nil || t.Test != nil || t.Set != nil || t.Get != nil {
			continue
		}
		key := "task:" + t.ID
		t.Test = &immy.Script{Language: immy.LanguageLua, Body: fmt.Sprintf("return get(%q) == \"true\"", key)}
		t.Set = &immy.Script{Language: immy.LanguageLua, Body: fmt.Sprintf("set(%q, \"true\")", key)}
		t.Get = &immy.Script{Language: immy.LanguageLua, Body: fmt.Sprintf("return get(%q)", key)}
	}
}

// DisplayNameFor returns a display name that the software's detection finds:
// its name when the detection's glob or regex matches it, otherwise a name
// made from the pattern (the glob with its wildcards filled in, or the
// shortest text the regex's structure suggests). With a product or upgrade
// code, or a detection script, it is the software's name (or id).
func DisplayNameFor(sw *immy.Software) string {
	name := sw.Name
	if name == "" {
		name = sw.ID
	}
	d := sw.Detection
	switch {
	case d.DisplayName != "":
		if globMatch(d.DisplayName, name) {
			return name
		}
		r := strings.NewReplacer("*", "", "?", "x")
		return r.Replace(d.DisplayName)
	case d.Regex != "":
		rx, err := regexp.Compile(d.Regex)
		if err != nil || rx.MatchString(name) {
			return name
		}
		re, err := syntax.Parse(d.Regex, syntax.Perl)
		if err != nil {
			return name
		}
		var b strings.Builder
		exampleOf(re.Simplify(), &b)
		if rx.MatchString(b.String()) {
			return b.String()
		}
	}
	return name
}

// exampleOf writes a short text the regex matches, for the regexes that
// detection uses (literals, classes, anchors, optional parts).
func exampleOf(re *syntax.Regexp, b *strings.Builder) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) > 0 {
			r := re.Rune[0]
			// prefer a printable character of the class
			for i := 0; i+1 < len(re.Rune); i += 2 {
				if lo := re.Rune[i]; unicode.IsPrint(lo) && lo != ' ' {
					r = lo
					break
				}
			}
			b.WriteRune(r)
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture, syntax.OpPlus:
		exampleOf(re.Sub[0], b)
	case syntax.OpRepeat:
		for range re.Min {
			exampleOf(re.Sub[0], b)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			exampleOf(s, b)
		}
	case syntax.OpAlternate:
		exampleOf(re.Sub[0], b)
	}
}

// globMatch matches a display-name glob: * any run of characters, ? one
// character, everything else itself, case-insensitively.
func globMatch(pattern, name string) bool {
	for pattern != "" {
		pr, psize := utf8.DecodeRuneInString(pattern)
		pattern = pattern[psize:]
		switch pr {
		case '*':
			for n := 0; ; {
				if globMatch(pattern, name[n:]) {
					return true
				}
				if n >= len(name) {
					return false
				}
				_, size := utf8.DecodeRuneInString(name[n:])
				n += size
			}
		case '?':
			if name == "" {
				return false
			}
			_, size := utf8.DecodeRuneInString(name)
			name = name[size:]
		default:
			if name == "" {
				return false
			}
			nr, size := utf8.DecodeRuneInString(name)
			if pr != nr && !strings.EqualFold(string(pr), string(nr)) {
				return false
			}
			name = name[size:]
		}
	}
	return name == ""
}
