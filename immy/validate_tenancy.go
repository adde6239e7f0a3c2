package immy

import "fmt"

// tenancy checks that private items stay with their tenant through the item
// graph: an item private to a tenant may be named in the prerequisites (as a
// subject or as the software acted on, the software's own rules and its
// versions') or as the configuration task only of items private to the same
// tenant. A global item, an MSP's shared item or another tenant's item that
// names one would carry it to computers of other tenants, so each such
// reference is a problem that names both items and the tenant. Deployments
// are checked by private; an owner that names no tenant, or that a global
// item has, is reported with the item and not checked here.
func (v *validator) tenancy() {
	owner := func(isSoft bool, id string) string {
		// a global item with an owner is reported with the item
		if k, ok := v.soft[id]; ok && isSoft && v.f.Software[k].Origin != OriginGlobal {
			return v.f.Software[k].Tenant
		}
		if k, ok := v.tasks[id]; ok && !isSoft && v.f.Tasks[k].Origin != OriginGlobal {
			return v.f.Tasks[k].Tenant
		}
		return ""
	}
	for i := range v.f.Software {
		s := &v.f.Software[i]
		check := func(field, what, ref string, isSoft bool) {
			o := owner(isSoft, ref)
			if o == "" || o == s.Tenant {
				return
			}
			if _, known := v.tenants[o]; !known {
				return
			}
			v.add("software", i, s.ID, field, "%s %q is private to tenant %q; %s",
				what, ref, o, v.notPrivateTo(s, o))
		}
		rules := func(field string, ps []Prerequisite) {
			for j, p := range ps {
				f := fmt.Sprintf("%s[%d]", field, j)
				for _, ref := range p.Subjects {
					check(f, "prerequisite subject", ref, true)
				}
				for _, ref := range p.On {
					check(f+".on", "prerequisite", ref, true)
				}
			}
		}
		rules("prerequisites", s.Prerequisites)
		for j := range s.Versions {
			rules(fmt.Sprintf("versions[%d].prerequisites", j), s.Versions[j].Prerequisites)
		}
		if s.ConfigurationTask != "" {
			check("configuration_task", "configuration task", s.ConfigurationTask, false)
		}
	}
}

// notPrivateTo says why software s may not name an item private to tenant t.
func (v *validator) notPrivateTo(s *Software, t string) string {
	switch {
	case s.Origin == OriginGlobal:
		return fmt.Sprintf("the global item %q cannot name it", s.ID)
	case s.Tenant == "":
		return fmt.Sprintf("%q is shared by every tenant and cannot name it (make %q private to %q, or share the other)", s.ID, s.ID, t)
	}
	return fmt.Sprintf("%q is private to tenant %q and cannot name it", s.ID, s.Tenant)
}
