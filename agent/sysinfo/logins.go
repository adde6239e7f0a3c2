package sysinfo

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Login is one user logged on to the machine.
type Login struct {
	User      string    // as the system names the user: "alice", "alice@corp.example", "CORP\\alice"
	UPN       string    // the user principal name when the system knows it, else User
	Time      time.Time // when the session started; zero when unknown
	Active    bool      // the session in the foreground of its seat or console
	Graphical bool      // a desktop session rather than a terminal
	Remote    bool      // over the network (ssh, RDP)
}

// SortLogins orders logins newest first, then active before inactive, then
// by user name, so that the first is the user a user-context script runs as.
func SortLogins(ls []Login) {
	slices.SortStableFunc(ls, func(a, b Login) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		if a.Active != b.Active {
			if a.Active {
				return -1
			}
			return 1
		}
		return strings.Compare(a.User, b.User)
	})
}

// UPNs returns the distinct principal names of logins, newest first, with
// names compared case-insensitively.
func UPNs(ls []Login) []string {
	ls = slices.Clone(ls)
	SortLogins(ls)
	var out []string
	seen := map[string]bool{}
	for _, l := range ls {
		name := l.UPN
		if name == "" {
			name = l.User
		}
		k := strings.ToLower(name)
		if name == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, name)
	}
	return out
}

// ConsoleUser picks the login a user-context script runs as: the newest
// active local graphical session, else the newest active local one, else
// the newest local one, else the newest. ok is false when ls is empty.
func ConsoleUser(ls []Login) (l Login, ok bool) {
	ls = slices.Clone(ls)
	SortLogins(ls)
	for _, pick := range []func(Login) bool{
		func(l Login) bool { return l.Active && l.Graphical && !l.Remote },
		func(l Login) bool { return l.Active && !l.Remote },
		func(l Login) bool { return !l.Remote },
		func(Login) bool { return true },
	} {
		for _, l := range ls {
			if pick(l) {
				return l, true
			}
		}
	}
	return Login{}, false
}

// utmp record layout of glibc on Linux (amd64, arm64 and most others).
const (
	utmpSize        = 384
	utmpUserProcess = 7
	utmpOffLine     = 8
	utmpOffUser     = 44
	utmpOffHost     = 76
	utmpOffTime     = 340
)

// ParseUtmp reads a utmp file (/run/utmp) and returns its user sessions
// (USER_PROCESS records). The file must hold whole 384-byte records.
func ParseUtmp(b []byte) ([]Login, error) {
	if len(b)%utmpSize != 0 {
		return nil, fmt.Errorf("sysinfo: utmp: %d bytes is not a whole number of %d-byte records", len(b), utmpSize)
	}
	var out []Login
	for off := 0; off < len(b); off += utmpSize {
		rec := b[off : off+utmpSize]
		if int16(binary.LittleEndian.Uint16(rec[0:])) != utmpUserProcess {
			continue
		}
		user := cstring(rec[utmpOffUser : utmpOffUser+32])
		if user == "" {
			continue
		}
		line := cstring(rec[utmpOffLine : utmpOffLine+32])
		host := cstring(rec[utmpOffHost : utmpOffHost+256])
		sec := int64(int32(binary.LittleEndian.Uint32(rec[utmpOffTime:])))
		l := Login{User: user, Remote: host != "" && !strings.HasPrefix(host, ":"), Active: true}
		l.Graphical = strings.HasPrefix(host, ":") || strings.HasPrefix(line, ":")
		if sec > 0 {
			l.Time = time.Unix(sec, 0).UTC()
		}
		out = append(out, l)
	}
	return out, nil
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// ParseLogindSession reads one systemd-logind session file
// (/run/systemd/sessions/ID: KEY=value lines). ok is false for sessions that
// are not a user's (greeters, lock screens, background managers) or that are
// closing.
func ParseLogindSession(r io.Reader) (l Login, ok bool, err error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, found := strings.Cut(line, "=")
		if !found || k == "" {
			return Login{}, false, fmt.Errorf("sysinfo: logind session: line %d: want KEY=value, got %q", n, clip(line))
		}
		kv[k] = v
	}
	if err := sc.Err(); err != nil {
		return Login{}, false, fmt.Errorf("sysinfo: logind session: %w", err)
	}
	if kv["USER"] == "" || kv["STATE"] == "closing" {
		return Login{}, false, nil
	}
	if c := kv["CLASS"]; c != "" && c != "user" && c != "user-early" && c != "user-incomplete" {
		return Login{}, false, nil
	}
	l = Login{
		User:      kv["USER"],
		Active:    kv["ACTIVE"] == "1" || kv["STATE"] == "active",
		Graphical: kv["TYPE"] == "x11" || kv["TYPE"] == "wayland" || kv["TYPE"] == "mir",
		Remote:    kv["REMOTE"] == "1",
	}
	if us, err := strconv.ParseInt(kv["REALTIME"], 10, 64); err == nil && us > 0 {
		l.Time = time.UnixMicro(us).UTC()
	}
	return l, true, nil
}

// mergeLogins joins the logins of several sources, keeping one per user and
// session start (logind and utmp see the same sessions).
func mergeLogins(lists ...[]Login) []Login {
	type key struct {
		user string
		t    int64
	}
	var out []Login
	seen := map[key]int{}
	for _, ls := range lists {
		for _, l := range ls {
			k := key{strings.ToLower(l.User), l.Time.Unix()}
			if i, ok := seen[k]; ok {
				out[i].Active = out[i].Active || l.Active
				out[i].Graphical = out[i].Graphical || l.Graphical
				continue
			}
			seen[k] = len(out)
			out = append(out, l)
		}
	}
	SortLogins(out)
	return out
}
