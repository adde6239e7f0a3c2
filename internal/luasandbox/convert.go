package luasandbox

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// FromGo converts a Go value to Lua: nil, booleans, strings, integers and
// floats, []string, []any, map[string]string and map[string]any (recursively).
// Any other value becomes its fmt.Sprint text. (Lua does not keep the order of
// a table's keys; pairs visits them in no particular order.)
func FromGo(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case nil:
		return lua.LNil
	case lua.LValue:
		return x
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int:
		return lua.LNumber(x)
	case int32:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case uint:
		return lua.LNumber(x)
	case uint32:
		return lua.LNumber(x)
	case uint64:
		return lua.LNumber(x)
	case float32:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case []string:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(lua.LString(e))
		}
		return t
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(FromGo(L, e))
		}
		return t
	case map[string]string:
		t := L.CreateTable(0, len(x))
		for _, k := range sortedKeys(x) {
			t.RawSetString(k, lua.LString(x[k]))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(x))
		for _, k := range sortedKeys(x) {
			t.RawSetString(k, FromGo(L, x[k]))
		}
		return t
	}
	return lua.LString(fmt.Sprint(v))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// String renders a Lua value as a script's last value: nil is "", booleans
// "true" and "false", integral numbers without a fraction, strings as they
// are, and anything else as Lua's tostring would.
func String(v lua.LValue) string {
	switch x := v.(type) {
	case nil:
		return ""
	case *lua.LNilType:
		return ""
	case lua.LBool:
		if x {
			return "true"
		}
		return "false"
	case lua.LString:
		return string(x)
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return strconv.FormatInt(int64(f), 10)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return v.String()
}
