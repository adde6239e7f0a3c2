package targets

import "github.com/immyoss/engine/immy"

// The fields filters see, shared by expr's closures, Lua's closures and Lua's
// sandbox, so that every path reads a computer the same way.

type (
	strFn  func(c *immy.Computer, t *immy.Tenant) string
	listFn func(c *immy.Computer, t *immy.Tenant) []string
	mapFn  func(c *immy.Computer, t *immy.Tenant) map[string]string
)

// The objects of the filter environment.
const (
	objComputer = "computer"
	objTenant   = "tenant"
)

var stringFields = map[string]map[string]strFn{
	objComputer: {
		"id":           func(c *immy.Computer, _ *immy.Tenant) string { return c.ID },
		"name":         func(c *immy.Computer, _ *immy.Tenant) string { return c.Name },
		"tenant":       func(c *immy.Computer, _ *immy.Tenant) string { return c.Tenant },
		"kind":         func(c *immy.Computer, _ *immy.Tenant) string { return c.Kind.String() },
		"os":           func(c *immy.Computer, _ *immy.Tenant) string { return c.OS },
		"serial":       func(c *immy.Computer, _ *immy.Tenant) string { return c.Serial },
		"manufacturer": func(c *immy.Computer, _ *immy.Tenant) string { return c.Manufacturer },
		"model":        func(c *immy.Computer, _ *immy.Tenant) string { return c.Model },
		"onboarding":   func(c *immy.Computer, _ *immy.Tenant) string { return c.Onboarding.String() },
	},
	objTenant: {
		"id":     func(_ *immy.Computer, t *immy.Tenant) string { return t.ID },
		"name":   func(_ *immy.Computer, t *immy.Tenant) string { return t.Name },
		"parent": func(_ *immy.Computer, t *immy.Tenant) string { return t.Parent },
	},
}

var boolFields = map[string]map[string]boolFn{
	objComputer: {
		"online": func(c *immy.Computer, _ *immy.Tenant) bool { return c.Online },
	},
	objTenant: {},
}

var listFields = map[string]map[string]listFn{
	objComputer: {
		"tags":          func(c *immy.Computer, _ *immy.Tenant) []string { return c.Tags },
		"upns":          func(c *immy.Computer, _ *immy.Tenant) []string { return c.UPNs },
		"device_groups": func(c *immy.Computer, _ *immy.Tenant) []string { return c.DeviceGroups },
	},
	objTenant: {
		"tags": func(_ *immy.Computer, t *immy.Tenant) []string { return t.Tags },
	},
}

var mapFields = map[string]map[string]mapFn{
	objComputer: {
		"attributes": func(c *immy.Computer, _ *immy.Tenant) map[string]string { return c.Attributes },
	},
	objTenant: {},
}

// isField reports whether obj has the field name, of any type.
func isField(obj, name string) bool {
	if _, ok := stringFields[obj][name]; ok {
		return true
	}
	if _, ok := boolFields[obj][name]; ok {
		return true
	}
	if _, ok := listFields[obj][name]; ok {
		return true
	}
	_, ok := mapFields[obj][name]
	return ok
}
