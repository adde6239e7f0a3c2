package immy

import (
	"fmt"
	"strings"
)

// enumNames maps the values of a small integer enumeration to their spelling
// in the fleet file. Index i holds the spelling of value i.
type enumNames[T ~uint8] struct {
	kind  string   // what the enumeration is called in error messages
	names []string // spelling of each value; "" marks a value that is never spelt
}

func (e enumNames[T]) str(v T) string {
	if int(v) < len(e.names) {
		return e.names[v]
	}
	return fmt.Sprintf("%s(%d)", e.kind, uint8(v))
}

func (e enumNames[T]) valid(v T) bool {
	return int(v) < len(e.names) && e.names[v] != ""
}

func (e enumNames[T]) marshal(v T) ([]byte, error) {
	if int(v) >= len(e.names) {
		return nil, fmt.Errorf("immy: invalid %s %d: %w", e.kind, uint8(v), ErrInvalid)
	}
	return []byte(e.names[v]), nil
}

func (e enumNames[T]) unmarshal(dst *T, b []byte) error {
	v, err := e.parse(string(b))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

func (e enumNames[T]) parse(s string) (T, error) {
	for i, n := range e.names {
		if n != "" && n == s {
			return T(i), nil
		}
	}
	return 0, &EnumError{Kind: e.kind, Value: s, Allowed: e.allowed()}
}

func (e enumNames[T]) allowed() []string {
	out := make([]string, 0, len(e.names))
	for _, n := range e.names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// EnumError reports a value that is not one of an enumeration's spellings.
type EnumError struct {
	Kind    string   // the enumeration, such as "computer kind"
	Value   string   // the rejected text
	Allowed []string // the accepted spellings, in their declared order
}

func (e *EnumError) Error() string {
	return fmt.Sprintf("immy: invalid %s %q (want one of %s)", e.Kind, e.Value, strings.Join(e.Allowed, ", "))
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *EnumError) Unwrap() error { return ErrInvalid }
