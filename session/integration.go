package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	lua "github.com/yuin/gopher-lua"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/luasandbox"
)

// The integration context of server scripts
//
// A cloud script (bound to a tenant) or a metascript (bound to a computer,
// so to its tenant) reaches the integration that serves its tenant through
// the builtin
//
//	value = integration(method [, args])
//
// which calls Config.Integrations with the script's tenant, the method and
// the args (a Lua table of strings, numbers, booleans and tables, converted
// to Go: a table whose keys are 1..n is a []any, one whose keys are strings a
// map[string]any). The answer comes back as a Lua value. A script never names
// the tenant: it can reach no other tenant's integration. An error (the
// integration refused, no integration serves the tenant, none configured)
// fails the script with the error's text, secrets masked; the session's end
// (cancelled, shut down) stops it. Arguments and answers are bounded
// (MaxIntegrationDepth, MaxIntegrationValues, and Config.MaxOutput bytes of
// strings).

// Integrations answers the integration calls of server scripts, for the
// tenant each script is bound to. plugins.TenantIntegrations serves them
// through the plugin instance that serves each tenant.
type Integrations interface {
	// CallIntegration calls method of the integration serving tenant with
	// args. Its answer is nil, a bool, a number, a string, or []any and
	// map[string]any of those. An error wrapping immy.ErrNotFound means no
	// integration serves the tenant or it has no such method.
	CallIntegration(ctx context.Context, tenant, method string, args map[string]any) (any, error)
}

// MaxIntegrationDepth bounds how deeply an integration call's arguments and
// answer nest; MaxIntegrationValues how many values each holds in all.
const (
	MaxIntegrationDepth  = 16
	MaxIntegrationValues = 10000
)

// integrationCall is the builtin integration(method [, args]).
func integrationCall(L *lua.LState) int {
	sr := serverRunOf(L)
	method := L.CheckString(1)
	var args map[string]any
	switch a := L.Get(2).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		b := &bounds{max: sr.x.e.cfg.MaxOutput}
		v, err := b.fromLua(a, 0)
		if err != nil {
			L.ArgError(2, err.Error())
		}
		m, ok := v.(map[string]any)
		if !ok {
			if l, isList := v.([]any); !isList || len(l) > 0 {
				L.ArgError(2, "want a table with string keys")
			}
			m = map[string]any{}
		}
		args = m
	default:
		L.ArgError(2, "want a table of arguments")
	}
	in := sr.x.e.cfg.Integrations
	if in == nil {
		L.RaiseError("integration: no integration is configured for %s: %v", sr.x.comp.Tenant, immy.ErrNotFound)
	}
	res, err := in.CallIntegration(L.Context(), sr.x.comp.Tenant, method, args)
	if err != nil {
		if sr.x.ctx.Err() != nil {
			sr.fatal = context.Cause(sr.x.ctx)
			L.RaiseError("integration: %v", sr.fatal)
		}
		L.RaiseError("integration %s: %s", method, sr.r.red.str(err.Error()))
	}
	b := &bounds{max: sr.x.e.cfg.MaxOutput, red: sr.r.red.str}
	res, err = b.check(res, 0)
	if err != nil {
		L.RaiseError("integration %s: answer: %v", method, err)
	}
	L.Push(luasandbox.FromGo(L, res))
	return 1
}

// bounds counts the values and string bytes of one call's arguments or
// answer.
type bounds struct {
	values, bytes, max int
	red                func(string) string // masks secrets in an answer's strings
}

var errTooBig = errors.New("too large")

func (b *bounds) add(depth, n int) error {
	b.values++
	b.bytes += n
	switch {
	case depth > MaxIntegrationDepth:
		return fmt.Errorf("nested more than %d deep", MaxIntegrationDepth)
	case b.values > MaxIntegrationValues:
		return fmt.Errorf("more than %d values: %w", MaxIntegrationValues, errTooBig)
	case b.max > 0 && b.bytes > b.max:
		return fmt.Errorf("more than %d bytes of text: %w", b.max, errTooBig)
	}
	return nil
}

// fromLua converts a script's argument to Go.
func (b *bounds) fromLua(v lua.LValue, depth int) (any, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, b.add(depth, 0)
	case lua.LBool:
		return bool(x), b.add(depth, 0)
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), b.add(depth, 0)
		}
		return f, b.add(depth, 0)
	case lua.LString:
		return string(x), b.add(depth, len(x))
	case *lua.LTable:
		if err := b.add(depth, 0); err != nil {
			return nil, err
		}
		var list []any
		m := map[string]any{}
		var err error
		n := x.Len()
		x.ForEach(func(k, val lua.LValue) {
			if err != nil {
				return
			}
			var gv any
			if gv, err = b.fromLua(val, depth+1); err != nil {
				return
			}
			switch key := k.(type) {
			case lua.LString:
				m[string(key)] = gv
				err = b.add(depth, len(key))
			case lua.LNumber:
				if i := int(key); float64(i) == float64(key) && i >= 1 && i <= n {
					if list == nil {
						list = make([]any, n)
					}
					list[i-1] = gv
					return
				}
				err = fmt.Errorf("a table key %v: want 1..%d or a string", float64(key), n)
			default:
				err = fmt.Errorf("a table key of type %s: want a string", k.Type())
			}
		})
		switch {
		case err != nil:
			return nil, err
		case list != nil && len(m) > 0:
			return nil, errors.New("a table mixes a list and string keys")
		case list != nil:
			return list, nil
		case len(m) == 0:
			return []any{}, nil
		}
		return m, nil
	}
	return nil, fmt.Errorf("a %s cannot be passed to an integration", v.Type())
}

// check bounds an integration's answer and masks secrets in its strings.
func (b *bounds) check(v any, depth int) (any, error) {
	switch x := v.(type) {
	case nil, bool, int, int32, int64, uint, uint32, uint64, float32, float64:
		return v, b.add(depth, 0)
	case string:
		return b.red(x), b.add(depth, len(x))
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return b.check(out, depth)
	case []any:
		if err := b.add(depth, 0); err != nil {
			return nil, err
		}
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = b.check(e, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		if err := b.add(depth, 0); err != nil {
			return nil, err
		}
		out := make(map[string]any, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			e, err := b.check(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			if err := b.add(depth, len(k)); err != nil {
				return nil, err
			}
			out[b.red(k)] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("a value of type %T: want nil, a bool, a number, a string, a list or a map", v)
}
