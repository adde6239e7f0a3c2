package sysinfo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// OSRelease is the content of an os-release file (/etc/os-release): keys such
// as NAME, VERSION_ID, PRETTY_NAME, ID and VARIANT_ID with their unquoted values.
type OSRelease map[string]string

// ParseOSRelease reads an os-release file: KEY=value lines, values optionally
// in double or single quotes with backslash escapes inside double quotes,
// blank lines and # comments ignored. Every malformed line is reported, with
// its number, in one error.
func ParseOSRelease(r io.Reader) (OSRelease, error) {
	rel := OSRelease{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var errs []error
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || !validKey(key) {
			errs = append(errs, fmt.Errorf("line %d: want KEY=value, got %q", n, clip(line)))
			continue
		}
		v, err := unquote(val)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %s: %w", n, key, err))
			continue
		}
		rel[key] = v
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sysinfo: os-release: %w", err)
	}
	return rel, nil
}

// Name returns the operating system's name and version for an identity:
// NAME and VERSION_ID ("Debian GNU/Linux 12"), or PRETTY_NAME, or "Linux".
func (r OSRelease) Name() string {
	switch {
	case r["NAME"] != "" && r["VERSION_ID"] != "":
		return r["NAME"] + " " + r["VERSION_ID"]
	case r["PRETTY_NAME"] != "":
		return r["PRETTY_NAME"]
	case r["NAME"] != "":
		return r["NAME"]
	}
	return "Linux"
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// unquote undoes the shell-style quoting os-release allows.
func unquote(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch q := v[0]; q {
	case '"', '\'':
		if len(v) < 2 || v[len(v)-1] != q {
			return "", fmt.Errorf("unterminated %c quote", q)
		}
		inner := v[1 : len(v)-1]
		if q == '\'' {
			if strings.ContainsRune(inner, '\'') {
				return "", errors.New("single quote inside a single-quoted value")
			}
			return inner, nil
		}
		var b strings.Builder
		for i := 0; i < len(inner); i++ {
			c := inner[i]
			if c == '\\' && i+1 < len(inner) && strings.IndexByte("\"\\$`", inner[i+1]) >= 0 {
				i++
				c = inner[i]
			} else if c == '"' || c == '`' || c == '$' {
				return "", fmt.Errorf("unescaped %c inside a double-quoted value", c)
			}
			b.WriteByte(c)
		}
		return b.String(), nil
	}
	if strings.ContainsAny(v, " \t\"'`$\\") {
		return "", errors.New("unquoted value with spaces or shell characters")
	}
	return v, nil
}

// clip shortens text quoted in an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
