package sysinfo

import (
	"strings"

	"github.com/immyoss/engine/immy"
)

// NormalizeVersion turns a version as a package manager or an installer
// writes it into an immy.Version, or the zero Version when it holds no
// number. It keeps what compares: the upstream version's leading one to four
// numeric segments, and a "~pre" (Debian) or "-pre" suffix starting with a
// letter as a semver pre-release when it is a valid one. It drops what does not: a Debian epoch
// ("1:"), a package revision ("-5+deb12u1"), anything after the numbers
// ("2024.01 (build 5)"). A version of digits and dots only that
// immy.ParseVersion accepts is kept as written, leading zeros and all.
func NormalizeVersion(raw string) immy.Version {
	raw = strings.TrimSpace(raw)
	if !strings.ContainsAny(raw, "-+~:") {
		if v, err := immy.ParseVersion(raw); err == nil {
			return v
		}
	}
	s := raw
	if i := strings.IndexByte(s, ':'); i > 0 && isDigits(s[:i]) {
		s = s[i+1:] // epoch
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	// The numeric core: up to four dot-separated runs of digits.
	end, segs := 0, 0
	for segs < 4 {
		j := end
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == end {
			break
		}
		end, segs = j, segs+1
		if segs < 4 && end+1 < len(s) && s[end] == '.' && s[end+1] >= '0' && s[end+1] <= '9' {
			end++
			continue
		}
		break
	}
	if segs == 0 {
		return immy.Version{}
	}
	core := s[:end]
	if end < len(s) && (s[end] == '~' || s[end] == '-') {
		// A pre-release starts with a letter ("~rc2", "-beta.1"); "-9" is a
		// package revision.
		pre := s[end+1:]
		if k := strings.IndexAny(pre, "-+~ "); k >= 0 {
			pre = pre[:k]
		}
		if pre != "" && (pre[0] >= 'a' && pre[0] <= 'z' || pre[0] >= 'A' && pre[0] <= 'Z') {
			if v, err := immy.ParseVersion(core + "-" + pre); err == nil {
				return v
			}
		}
	}
	v, err := immy.ParseVersion(core)
	if err != nil { // a segment too large for 64 bits
		return immy.Version{}
	}
	return v
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
