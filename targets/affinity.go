package targets

import (
	"strings"

	"github.com/immyoss/engine/immy"
)

// PrimaryPerson returns the index in persons of the computer's primary person:
// among the persons of the computer's tenant, the one whose user principal name
// occurs most often in the computer's last immy.MaxUPNs UPNs (newest first); a
// tie goes to the person seen most recently. UPNs match case-insensitively. It
// reports false when no recent UPN belongs to a person of the tenant. When two
// persons of a tenant share a UPN, the one with the smaller id stands for it.
//
// PrimaryPerson scans persons on every call; an Index computes every
// computer's primary person once (Index.PrimaryPerson).
func PrimaryPerson(c *immy.Computer, persons []immy.Person) (int, bool) {
	byUPN := make(map[string]int)
	for i := range persons {
		p := &persons[i]
		if p.Tenant != c.Tenant || p.UPN == "" {
			continue
		}
		key := strings.ToLower(p.UPN)
		if j, dup := byUPN[key]; !dup || p.ID < persons[j].ID {
			byUPN[key] = i
		}
	}
	p := affinity(c.UPNs, func(upn string) int {
		if i, ok := byUPN[upn]; ok {
			return i
		}
		return -1
	})
	return p, p >= 0
}

// affinity picks the primary person from a computer's UPNs, newest first.
// person maps a lower-cased UPN to a person index of the computer's tenant, or
// -1. It returns -1 when no UPN maps to a person.
func affinity(upns []string, person func(lowerUPN string) int) int {
	if len(upns) > immy.MaxUPNs {
		upns = upns[:immy.MaxUPNs]
	}
	var (
		seen  [immy.MaxUPNs]int // distinct persons, in order of first (most recent) sight
		count [immy.MaxUPNs]int
		n     int
	)
	for _, u := range upns {
		if u == "" {
			continue
		}
		p := person(strings.ToLower(u))
		if p < 0 {
			continue
		}
		k := 0
		for k < n && seen[k] != p {
			k++
		}
		if k == n {
			seen[n] = p
			n++
		}
		count[k]++
	}
	best := -1
	for k := range n {
		// Strictly greater: on a tie the earlier (more recent) person stays.
		if best < 0 || count[k] > count[best] {
			best = k
		}
	}
	if best < 0 {
		return -1
	}
	return seen[best]
}
