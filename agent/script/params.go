package script

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/immyoss/engine/immy"
)

// validName reports whether a parameter name can be an environment
// variable, a PowerShell parameter and a Lua global: [A-Za-z_][A-Za-z0-9_]*.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// checkNames reports every parameter whose name is unusable, by name only:
// values may be secrets.
func checkNames(params map[string]any) error {
	var errs []error
	for _, k := range sortedKeys(params) {
		if !validName(k) {
			errs = append(errs, fmt.Errorf("script: parameter name %q: want letters, digits and _, not starting with a digit: %w", k, immy.ErrInvalid))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// text renders a parameter value as an environment variable's text: strings
// as they are, numbers without exponent where possible, booleans as
// true/false, anything else as JSON.
func text(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case float32:
		return text(float64(x))
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case json.Number:
		return x.String(), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("cannot be rendered as text: %w", err)
	}
	return string(b), nil
}

// secretValues returns the text of the parameters req.Secrets names.
func secretValues(req immy.ScriptRequest) ([]string, error) {
	var out []string
	for _, name := range req.Secrets {
		v, ok := req.Parameters[name]
		if !ok {
			continue
		}
		s, err := text(v)
		if err != nil {
			return nil, fmt.Errorf("script: secret parameter %q: %w: %w", name, err, immy.ErrInvalid)
		}
		out = append(out, s)
	}
	return out, nil
}

// environ renders the parameters as NAME=value environment entries.
func environ(params map[string]any) ([]string, error) {
	if err := checkNames(params); err != nil {
		return nil, err
	}
	var env []string
	var errs []error
	for _, k := range sortedKeys(params) {
		s, err := text(params[k])
		if err != nil {
			errs = append(errs, fmt.Errorf("script: parameter %q: %w: %w", k, err, immy.ErrInvalid))
			continue
		}
		if strings.ContainsRune(s, 0) {
			errs = append(errs, fmt.Errorf("script: parameter %q: holds a NUL byte, which an environment variable cannot: %w", k, immy.ErrInvalid))
			continue
		}
		env = append(env, k+"="+s)
	}
	return env, errors.Join(errs...)
}
