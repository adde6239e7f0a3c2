package session

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/internal/redact"
)

// Parameters checks a deployment's parameter values against its task's
// typed parameters and returns the values the task's scripts get: each
// declared parameter with its value or default. secrets are the values of
// password parameters, which the engine redacts from every log, event,
// journal record and error.
//
// Every problem is reported at once as immy.Problems naming the deployment
// and the parameter (section "deployments", field "parameters.NAME"): an
// unknown name, a value of the wrong type, a select value not among the
// options, an invalid URI, a required parameter without value or default.
// Messages never quote a value. deployment is "" for a task run without a
// deployment (a configuration task): only defaults apply.
func Parameters(task *immy.Task, deployment string, values map[string]any) (params map[string]any, secrets []string, err error) {
	var ps immy.Problems
	problem := func(name, format string, args ...any) {
		ps = append(ps, immy.Problem{Section: "deployments", ID: deployment, Field: "parameters." + name,
			Message: fmt.Sprintf(format, args...), Err: immy.ErrInvalid})
	}
	params = make(map[string]any, len(task.Parameters))
	declared := make(map[string]bool, len(task.Parameters))
	for _, p := range task.Parameters {
		declared[p.Name] = true
		v, given := values[p.Name]
		if !given || v == nil {
			v = p.Default
		}
		if v == nil || v == "" && p.Type != immy.ParamText {
			if p.Required {
				problem(p.Name, "required %s parameter of task %q has no value", p.Type, task.ID)
			}
			continue
		}
		cv, msg := convertParam(p, v)
		if msg != "" {
			problem(p.Name, "%s parameter of task %q: %s", p.Type, task.ID, msg)
			continue
		}
		params[p.Name] = cv
		if p.Type == immy.ParamPassword {
			if s, ok := cv.(string); ok && s != "" {
				secrets = append(secrets, s)
			}
		}
	}
	for _, name := range sortedKeys(values) {
		if !declared[name] {
			problem(name, "task %q has no parameter %q", task.ID, name)
		}
	}
	if len(ps) > 0 {
		ps.Sort()
		return nil, secrets, ps
	}
	slices.Sort(secrets)
	return params, secrets, nil
}

// convertParam checks one value against its parameter and returns it in the
// form scripts get; msg says what is wrong, without the value.
func convertParam(p immy.Parameter, v any) (out any, msg string) {
	typeName := func(v any) string {
		switch v.(type) {
		case string:
			return "text"
		case bool:
			return "a boolean"
		case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
			return "a number"
		case map[string]string, map[string]any:
			return "key-value pairs"
		}
		return fmt.Sprintf("a %T", v)
	}
	switch p.Type {
	case immy.ParamText, immy.ParamPassword, immy.ParamFile:
		s, ok := v.(string)
		if !ok {
			return nil, "want text, got " + typeName(v)
		}
		return s, ""
	case immy.ParamNumber:
		switch n := v.(type) {
		case int:
			return float64(n), ""
		case int8:
			return float64(n), ""
		case int16:
			return float64(n), ""
		case int32:
			return float64(n), ""
		case int64:
			return float64(n), ""
		case uint:
			return float64(n), ""
		case uint8:
			return float64(n), ""
		case uint16:
			return float64(n), ""
		case uint32:
			return float64(n), ""
		case uint64:
			return float64(n), ""
		case float32:
			return float64(n), ""
		case float64:
			return n, ""
		}
		return nil, "want a number, got " + typeName(v)
	case immy.ParamBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, "want a boolean, got " + typeName(v)
		}
		return b, ""
	case immy.ParamSelect:
		s, ok := v.(string)
		if !ok {
			return nil, "want one of the options, got " + typeName(v)
		}
		if len(p.Options) > 0 && !slices.Contains(p.Options, s) {
			return nil, "the value is not one of the options " + strings.Join(p.Options, ", ")
		}
		return s, ""
	case immy.ParamURI:
		s, ok := v.(string)
		if !ok {
			return nil, "want a URI, got " + typeName(v)
		}
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
			return nil, "the value is not an absolute URI"
		}
		return s, ""
	case immy.ParamKeyValue:
		switch m := v.(type) {
		case map[string]string:
			return maps.Clone(m), ""
		case map[string]any:
			out := make(map[string]string, len(m))
			for _, k := range sortedKeys(m) {
				s, ok := m[k].(string)
				if !ok {
					return nil, fmt.Sprintf("key %q: want text, got %s", k, typeName(m[k]))
				}
				out[k] = s
			}
			return out, ""
		}
		return nil, "want key-value pairs, got " + typeName(v)
	}
	return nil, fmt.Sprintf("unknown parameter type %d", p.Type)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// redactor hides secret values, and their common transforms (other letter
// case, base64, hex, URL and JSON escaping), in texts: the engine's one
// masker, internal/redact. Its zero value hides nothing.
type redactor struct {
	m *redact.Masker
}

// Redacted is what a secret value, or a transform of one, becomes in texts.
const Redacted = "********"

func newRedactor(secrets []string) redactor {
	return redactor{m: redact.New(Redacted, secrets...)}
}

// str hides the secrets in s, a whole text (never a fragment of one).
func (r redactor) str(s string) string { return r.m.String(s) }

// stream returns a writer that passes the chunks written to it on to emit,
// secrets hidden even when one is cut across chunks; close it at the end.
func (r redactor) stream(emit func([]byte)) *redact.Stream { return r.m.Stream(emit) }
