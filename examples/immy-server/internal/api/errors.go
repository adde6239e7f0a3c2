package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/fleetstore"
)

// Error is the one shape of every error the API answers: a stable code, a
// sentence, and the fields at fault (every one, for a validation error).
type Error struct {
	Status  int          `json:"-"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
}

// FieldError is one field at fault.
type FieldError struct {
	Field   string `json:"field"`
	ID      string `json:"id,omitempty"`
	Section string `json:"section,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// The codes.
const (
	CodeBadRequest   = "bad_request"
	CodeInvalid      = "invalid"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeBusy         = "busy"
	CodeUnavailable  = "unavailable"
	CodeInternal     = "internal"
	CodeTooLarge     = "too_large"
	CodeMethod       = "method_not_allowed"
	CodeTooMany      = "too_many_requests"
)

func errNotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found"}
}

func errBad(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

func errInvalid(fields ...FieldError) *Error {
	msg := "the request is not valid"
	if len(fields) == 1 {
		msg = fields[0].Field + ": " + fields[0].Message
	} else if len(fields) > 1 {
		msg = fmt.Sprintf("%d problems; see fields", len(fields))
	}
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: msg, Fields: fields}
}

// toError turns an error of the engine into the API's shape.
func toError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var ps immy.Problems
	if errors.As(err, &ps) && len(ps) > 0 {
		fields := make([]FieldError, len(ps))
		for i, p := range ps {
			fields[i] = FieldError{Field: p.Field, ID: p.ID, Section: p.Section, Message: p.Message}
		}
		return errInvalid(fields...)
	}
	var ce *fleetstore.ConflictError
	if errors.As(err, &ce) {
		var fields []FieldError
		for _, e := range unjoin(err) {
			if errors.As(e, &ce) {
				fields = append(fields, FieldError{Field: "revision", ID: ce.ID, Section: string(ce.Kind),
					Message: fmt.Sprintf("changed at revision %d, after revision %d", ce.Revision, ce.Base)})
			}
		}
		return &Error{Status: http.StatusConflict, Code: CodeConflict,
			Message: "the entity changed since the revision the change was made against; read it again", Fields: fields}
	}
	var be *session.BusyError
	if errors.As(err, &be) || errors.Is(err, session.ErrBusy) {
		return &Error{Status: http.StatusConflict, Code: CodeBusy, Message: "the computer has a session that has not ended"}
	}
	if errors.Is(err, immy.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: trimPrefix(err.Error())}
	}
	if errors.Is(err, immy.ErrInvalid) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Message: trimPrefix(err.Error())}
	}
	if errors.Is(err, session.ErrClosed) || errors.Is(err, fleetstore.ErrClosed) {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the server is shutting down"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// trimPrefix drops the package prefixes of a library error.
func trimPrefix(s string) string {
	for _, p := range []string{"session: ", "fleetstore: ", "resolver: ", "agent: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := toError(err)
	if e.Status >= 500 && e.Code == CodeInternal {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, e.Status, e)
}

// decode reads a JSON body (at most 4 MiB), refusing unknown fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", maxBody)}
		}
		return errBad("the body is not the JSON expected: %v", err)
	}
	if dec.More() {
		return errBad("the body holds more than one JSON value")
	}
	return nil
}

const maxBody = 4 << 20
