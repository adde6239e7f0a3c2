package targets

import (
	"strings"
	"unsafe"

	"github.com/immyoss/engine/immy"
)

// Simple predicates (a field against a constant, a constant in a list, an
// attribute against a constant, online, has_tag, installed) make up the usual
// filter. A conjunction of them compiles into a chain of closures, each of
// which reads its field directly (at its offset, without a getter call), tests
// it, and calls the next: a filter that fails on its first test costs one
// call. This is what brings compiled filters within a small factor of the
// same test written in Go. Expr and Lua recognise the same predicates
// (exprPred, luaPred), so both languages run the same closures.

type predOp uint8

const (
	predStrEq predOp = iota
	predStrNe
	predStrPrefix
	predStrSuffix
	predStrContains
	predListHas  // the constant is in the list field
	predAttrEq   // computer.attributes[attr] == k (missing: "")
	predAttrNe   // computer.attributes[attr] != k
	predAttrIs   // the attribute is present and equals k (Lua: nil is not "")
	predAttrIsnt // not predAttrIs
	predOnline
	predOffline
	predHasTag
	predInstalled
)

// predField is a plain field: the string fields, then the list fields.
type predField uint8

const (
	pfComputerID predField = iota
	pfComputerName
	pfComputerTenant
	pfComputerKind
	pfComputerOS
	pfComputerSerial
	pfComputerManufacturer
	pfComputerModel
	pfComputerOnboarding
	pfTenantID
	pfTenantName
	pfTenantParent
	pfComputerTags
	pfComputerUPNs
	pfComputerDeviceGroups
	pfTenantTags
)

var predStringFields = map[string]map[string]predField{
	objComputer: {"id": pfComputerID, "name": pfComputerName, "tenant": pfComputerTenant, "kind": pfComputerKind,
		"os": pfComputerOS, "serial": pfComputerSerial, "manufacturer": pfComputerManufacturer, "model": pfComputerModel,
		"onboarding": pfComputerOnboarding},
	objTenant: {"id": pfTenantID, "name": pfTenantName, "parent": pfTenantParent},
}

var predListFields = map[string]map[string]predField{
	objComputer: {"tags": pfComputerTags, "upns": pfComputerUPNs, "device_groups": pfComputerDeviceGroups},
	objTenant:   {"tags": pfTenantTags},
}

type pred struct {
	op    predOp
	field predField
	attr  string
	k     string
}

// conj compiles the conjunction of ps: each predicate checks its field and
// calls the next one, so that a failing first test costs one call.
func conj(ps []pred) boolFn { return chain(ps, nil) }

// chain compiles the predicates, then rest (nil: nothing more).
func chain(ps []pred, rest boolFn) boolFn {
	next := rest
	if next == nil {
		next = func(*immy.Computer, *immy.Tenant) bool { return true }
	}
	for i := len(ps) - 1; i >= 0; i-- {
		next = ps[i].then(next)
	}
	return next
}

// The plain string and list fields are read at their offset in the struct,
// so that a predicate's closure reads its field without calling a getter;
// TestPredFieldOffsets checks every offset against the field it stands for.
var (
	computerStringOffset = map[predField]uintptr{
		pfComputerID:           unsafe.Offsetof(immy.Computer{}.ID),
		pfComputerName:         unsafe.Offsetof(immy.Computer{}.Name),
		pfComputerTenant:       unsafe.Offsetof(immy.Computer{}.Tenant),
		pfComputerOS:           unsafe.Offsetof(immy.Computer{}.OS),
		pfComputerSerial:       unsafe.Offsetof(immy.Computer{}.Serial),
		pfComputerManufacturer: unsafe.Offsetof(immy.Computer{}.Manufacturer),
		pfComputerModel:        unsafe.Offsetof(immy.Computer{}.Model),
	}
	tenantStringOffset = map[predField]uintptr{
		pfTenantID:     unsafe.Offsetof(immy.Tenant{}.ID),
		pfTenantName:   unsafe.Offsetof(immy.Tenant{}.Name),
		pfTenantParent: unsafe.Offsetof(immy.Tenant{}.Parent),
	}
	computerListOffset = map[predField]uintptr{
		pfComputerTags:         unsafe.Offsetof(immy.Computer{}.Tags),
		pfComputerUPNs:         unsafe.Offsetof(immy.Computer{}.UPNs),
		pfComputerDeviceGroups: unsafe.Offsetof(immy.Computer{}.DeviceGroups),
	}
	tenantListOffset = map[predField]uintptr{
		pfTenantTags: unsafe.Offsetof(immy.Tenant{}.Tags),
	}
)

func computerString(c *immy.Computer, off uintptr) string {
	return *(*string)(unsafe.Add(unsafe.Pointer(c), off))
}

func tenantString(t *immy.Tenant, off uintptr) string {
	return *(*string)(unsafe.Add(unsafe.Pointer(t), off))
}

func computerList(c *immy.Computer, off uintptr) []string {
	return *(*[]string)(unsafe.Add(unsafe.Pointer(c), off))
}

func tenantList(t *immy.Tenant, off uintptr) []string {
	return *(*[]string)(unsafe.Add(unsafe.Pointer(t), off))
}

// then returns a closure that tests p and, when it holds, returns next.
func (p pred) then(next boolFn) boolFn {
	op, k, attr := p.op, p.k, p.attr
	switch op {
	case predStrEq, predStrNe, predStrPrefix, predStrSuffix, predStrContains:
		if off, ok := computerStringOffset[p.field]; ok {
			switch op {
			case predStrEq:
				return func(c *immy.Computer, t *immy.Tenant) bool { return computerString(c, off) == k && next(c, t) }
			case predStrNe:
				return func(c *immy.Computer, t *immy.Tenant) bool { return computerString(c, off) != k && next(c, t) }
			case predStrPrefix:
				return func(c *immy.Computer, t *immy.Tenant) bool {
					return strings.HasPrefix(computerString(c, off), k) && next(c, t)
				}
			case predStrSuffix:
				return func(c *immy.Computer, t *immy.Tenant) bool {
					return strings.HasSuffix(computerString(c, off), k) && next(c, t)
				}
			default:
				return func(c *immy.Computer, t *immy.Tenant) bool {
					return strings.Contains(computerString(c, off), k) && next(c, t)
				}
			}
		}
		var get strFn
		if off, ok := tenantStringOffset[p.field]; ok {
			get = func(_ *immy.Computer, t *immy.Tenant) string { return tenantString(t, off) }
		} else if p.field == pfComputerKind {
			get = func(c *immy.Computer, _ *immy.Tenant) string { return c.Kind.String() }
		} else {
			get = func(c *immy.Computer, _ *immy.Tenant) string { return c.Onboarding.String() }
		}
		test, _ := stringOpConst(map[predOp]string{predStrEq: "==", predStrNe: "!=", predStrPrefix: "startsWith",
			predStrSuffix: "endsWith", predStrContains: "contains"}[op], get, k)
		return func(c *immy.Computer, t *immy.Tenant) bool { return test(c, t) && next(c, t) }
	case predListHas:
		if off, ok := computerListOffset[p.field]; ok {
			return func(c *immy.Computer, t *immy.Tenant) bool {
				return containsString(computerList(c, off), k) && next(c, t)
			}
		}
		off := tenantListOffset[p.field]
		return func(c *immy.Computer, t *immy.Tenant) bool {
			return containsString(tenantList(t, off), k) && next(c, t)
		}
	case predAttrEq:
		return func(c *immy.Computer, t *immy.Tenant) bool { return c.Attributes[attr] == k && next(c, t) }
	case predAttrNe:
		return func(c *immy.Computer, t *immy.Tenant) bool { return c.Attributes[attr] != k && next(c, t) }
	case predAttrIs:
		return func(c *immy.Computer, t *immy.Tenant) bool {
			v, ok := c.Attributes[attr]
			return ok && v == k && next(c, t)
		}
	case predAttrIsnt:
		return func(c *immy.Computer, t *immy.Tenant) bool {
			v, ok := c.Attributes[attr]
			return (!ok || v != k) && next(c, t)
		}
	case predOnline:
		return func(c *immy.Computer, t *immy.Tenant) bool { return c.Online && next(c, t) }
	case predOffline:
		return func(c *immy.Computer, t *immy.Tenant) bool { return !c.Online && next(c, t) }
	case predHasTag:
		return func(c *immy.Computer, t *immy.Tenant) bool { return hasTag(c, t, k) && next(c, t) }
	case predInstalled:
		inst := installedFn(k)
		return func(c *immy.Computer, t *immy.Tenant) bool { return inst(c) && next(c, t) }
	}
	panic("targets: unknown predicate") // unreachable: predicates are built by exprPred and luaPred
}

// conjoin compiles a conjunction whose terms are simple predicates or
// closures: the predicates first, chained, then the others. Terms are pure
// and total, so their order does not change the result.
func conjoin(ps []pred, fs []boolFn) boolFn {
	if len(fs) == 0 {
		return chain(ps, nil)
	}
	return chain(ps, allOf(fs))
}
