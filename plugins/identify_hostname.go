package plugins

import (
	"slices"
	"strconv"
	"strings"
)

// The hostname fallback of identification.
//
// Some machines expose no hardware identity at all: a container or a virtual
// machine without SMBIOS gives its agents no UUID, serial, manufacturer or
// model to report. Two agents of one such machine (an RMM's and the engine's
// own) would stay two computers forever. The fallback joins them, narrowly:
//
//   - every agent concerned reports no hardware identity at all: no UUID
//     (not even a bogus one), serial, manufacturer or model; anything
//     hardware on either side disables it, so that a machine with a UUID is
//     never joined by its hostname;
//   - the agents are of one tenant (their clients mapped to it, or the
//     engine's agents enrolled for it); an agent of no tenant stays apart;
//   - their hostnames are equal, ignoring letter case, and no placeholder
//     ("localhost");
//   - their OS families (Windows, macOS, Linux, BSD) agree and are known;
//   - the match is unique in the tenant: of all the tenant's agents with
//     that hostname (whatever their hardware), none has hardware identity,
//     no two are of one integration, and all agree on the OS family.
//     Otherwise every one of them stays apart.
//
// The joined agents' computer has no hardware key: it is kept across runs
// by its pathways, as an unidentified agent's computer is.

// maxHostnameLen bounds the hostname the fallback looks at (a DNS name's
// length); a longer one is not matched.
const maxHostnameLen = 253

// placeholderHostnames identify nothing.
var placeholderHostnames = map[string]bool{"localhost": true, "localhost.localdomain": true, "(none)": true}

// hasHardware tells whether an agent reports anything of its hardware,
// usable or not.
func hasHardware(a Agent) bool {
	id := a.Identity
	for _, s := range []string{id.UUID, id.Serial, id.Manufacturer, id.Model} {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

// matchHostname returns a hostname in the form the fallback compares, ""
// when it cannot match.
func matchHostname(s string) string {
	h := strings.ToLower(strings.TrimSpace(s))
	if len(h) > maxHostnameLen || placeholderHostnames[h] {
		return ""
	}
	return h
}

// osFamily is the family of an OS name as agents report it ("Windows 11
// Pro", "Debian GNU/Linux 12 (bookworm)", "macOS 14 Sonoma"), "" when
// unknown.
func osFamily(os string) string {
	l := strings.ToLower(os)
	switch {
	case strings.Contains(l, "windows"):
		return "windows"
	case strings.Contains(l, "macos") || strings.Contains(l, "mac os") || strings.Contains(l, "os x") || strings.Contains(l, "darwin"):
		return "macos"
	case strings.Contains(l, "bsd"):
		return "bsd"
	case strings.Contains(l, "linux"):
		return "linux"
	}
	for _, d := range []string{"ubuntu", "debian", "centos", "fedora", "red hat", "rhel", "suse", "alpine", "rocky", "almalinux", "mint", "raspbian"} {
		if strings.Contains(l, d) {
			return "linux"
		}
	}
	return ""
}

// hostnameKeys returns the group key of each agent (by index in agents)
// the fallback joins to others. agents are sorted and unique.
func hostnameKeys(agents []idAgent) map[int]string {
	type bucket struct {
		members []int
		bad     bool // someone has hardware, an unknown OS family, or another family
		family  string
	}
	buckets := map[[2]string]*bucket{}
	var order [][2]string
	for i, a := range agents {
		h := matchHostname(a.Identity.Hostname)
		if a.tenant == "" || h == "" {
			continue
		}
		k := [2]string{a.tenant, h}
		b := buckets[k]
		if b == nil {
			b = &bucket{family: osFamily(a.Identity.OS)}
			buckets[k] = b
			order = append(order, k)
		}
		b.members = append(b.members, i)
		if hasHardware(a.Agent) || b.family == "" || osFamily(a.Identity.OS) != b.family {
			b.bad = true
		}
	}
	keys := map[int]string{}
	for _, k := range order {
		b := buckets[k]
		if b.bad || len(b.members) < 2 {
			continue
		}
		integrations := make([]string, len(b.members))
		for j, i := range b.members {
			integrations[j] = agents[i].Integration
		}
		slices.Sort(integrations)
		if len(slices.Compact(integrations)) != len(b.members) {
			continue // two candidates of one integration: which is it?
		}
		key := hostKey(k[0], k[1], b.family)
		for _, i := range b.members {
			keys[i] = key
		}
	}
	return keys
}

func hostKey(tenant, hostname, family string) string {
	return "host:" + strconv.Quote(tenant) + "|" + strconv.Quote(hostname) + "|" + family
}
