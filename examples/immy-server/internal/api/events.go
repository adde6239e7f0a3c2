package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/immyoss/engine/session"
)

// Live events are Server-Sent Events read from the session journal, so that
// a stream shows what any server process did and resumes where it left off:
// each event's id is its place in the journal (a session's record number
// for one session; the journal's append order for the fleet), and a client
// that reconnects with Last-Event-ID (or ?after=) gets what it missed. Each
// event is one journal record: its type is the record's kind, its data the
// record's JSON (passwords never appear in records). A session's stream
// ends with an event "end" once the session has ended.

const (
	sseBatch   = 500
	ssePoll    = time.Second      // other processes append too
	sseMaxLife = 30 * time.Minute // a client reconnects, with Last-Event-ID
	sseMaxData = 256 << 10        // a record larger than this is cut to its summary
)

// Variables for the tests, which shorten them.
var (
	sseKeepAli  = 15 * time.Second // a comment line keeps proxies from closing
	sseDeadTime = 10 * time.Second // write deadline of one write to a stream
)

func lastEventID(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("after")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errInvalid(FieldError{Field: "Last-Event-ID", Message: "a number from an earlier event's id"})
	}
	return n, nil
}

func startSSE(w http.ResponseWriter) (*http.ResponseController, bool) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return rc, false
	}
	return rc, true
}

func writeEvent(w http.ResponseWriter, rc *http.ResponseController, id int64, typ string, data []byte) error {
	if len(data) > sseMaxData {
		data = []byte(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(data)))
	}
	return writeSSE(w, rc, fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", id, typ, strings.ReplaceAll(string(data), "\n", "\ndata: ")))
}

// writeSSE writes s to the stream and flushes it within sseDeadTime, then
// lifts the deadline: it bounds one write (a client that stopped reading),
// not the stream. A deadline left set would fail the next keep-alive, and
// the end of the response, once the stream had been quiet that long.
func writeSSE(w http.ResponseWriter, rc *http.ResponseController, s string) error {
	_ = rc.SetWriteDeadline(time.Now().Add(sseDeadTime))
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	if _, err := io.WriteString(w, s); err != nil {
		return err
	}
	return rc.Flush()
}

func (h *Handler) sessionEvents(w http.ResponseWriter, r *http.Request) {
	rep, err := h.session(r, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	after, err := lastEventID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tenant, err := h.sessionTenant(r.Context(), rep.ID, rep.Computer)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.stream(w, r, func(ctx context.Context, rc *http.ResponseController) (again, done bool) {
		// the token may have been revoked since the stream opened
		if tok, ok := h.recheck(r); !ok || !visible(tok, tenant) {
			return false, true
		}
		recs, err := h.c.Journal.Records(ctx, rep.ID, int(after))
		if err != nil {
			return false, true
		}
		ended := false
		for _, rec := range recs {
			b, _ := json.Marshal(rec)
			if err := writeEvent(w, rc, int64(rec.Seq), rec.Kind.String(), b); err != nil {
				return false, true
			}
			after = int64(rec.Seq)
			if rec.Kind == session.RecordStatus && rec.Status.Final() {
				ended = true
			}
		}
		// resumed past its final status, a session that had ended says
		// so at once
		if ended || (len(recs) == 0 && rep.Status.Final()) {
			_ = writeEvent(w, rc, after, "end", []byte(`{}`))
			return false, true
		}
		return false, false
	})
}

// stream serves an event stream once its request is checked: it takes a
// place among the open streams (or answers 429), writes the headers, and
// calls step, which writes what is new, until step says done, the client
// goes or the stream has lived sseMaxLife. step is called again at once
// when it says again (a full batch), else at the next append in this
// process (after ssePause: one poll for a burst) or after ssePoll (other
// processes append too), a keep-alive comment written every sseKeepAli.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, step func(ctx context.Context, rc *http.ResponseController) (again, done bool)) {
	release, ok := h.openStream(w, r)
	if !ok {
		return
	}
	defer release()
	rc, ok := startSSE(w)
	if !ok {
		return
	}
	h.cfg.Metrics.sseOpen(1)
	defer h.cfg.Metrics.sseOpen(-1)
	ctx := r.Context()
	end := time.NewTimer(sseMaxLife)
	defer end.Stop()
	keep := time.NewTicker(sseKeepAli)
	defer keep.Stop()
	for ctx.Err() == nil {
		wake := h.c.Journal.Changed() // before the read: no append is missed
		again, done := step(ctx, rc)
		switch {
		case done:
			return
		case again:
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-keep.C:
			if writeSSE(w, rc, ": keep-alive\n\n") != nil {
				return
			}
		case <-wake:
			if !pause(ctx, ssePause) {
				return
			}
		case <-time.After(ssePoll):
		}
	}
}

// fleetEvent is the data of a fleet event: a record with its session and
// computer.
type fleetEvent struct {
	Session  string         `json:"session"`
	Computer string         `json:"computer"`
	Tenant   string         `json:"tenant,omitempty"`
	Record   session.Record `json:"record"`
}

func (h *Handler) fleetEvents(w http.ResponseWriter, r *http.Request) {
	tok := token(r)
	tenant := r.URL.Query().Get("tenant")
	if tenant != "" && !visible(tok, tenant) {
		h.fail(w, r, errNotFound(fmt.Sprintf("tenant %q", tenant)))
		return
	}
	after, err := lastEventID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.c.Journal.Feed(r.Context(), 0, 1); err != nil {
		h.fail(w, r, err)
		return
	}
	tenants := map[string]string{} // session -> the tenant it ran under
	h.stream(w, r, func(ctx context.Context, rc *http.ResponseController) (again, done bool) {
		if len(tenants) > 10000 {
			clear(tenants)
		}
		// the token may have been revoked since the stream opened
		tok, ok := h.recheck(r)
		if !ok || (tenant != "" && !visible(tok, tenant)) {
			return false, true
		}
		recs, err := h.c.Journal.Feed(ctx, after, sseBatch)
		if err != nil {
			return false, true
		}
		for _, rec := range recs {
			after = rec.ID
			t, ok := tenants[rec.Session]
			if !ok {
				if t, err = h.sessionTenant(ctx, rec.Session, rec.Computer); err != nil {
					return false, true
				}
				tenants[rec.Session] = t
			}
			if !visible(tok, t) || (tenant != "" && t != tenant) {
				continue
			}
			b, err := json.Marshal(fleetEvent{Session: rec.Session, Computer: rec.Computer, Tenant: t, Record: rec.Record})
			if err != nil {
				return false, true
			}
			if err := writeEvent(w, rc, rec.ID, rec.Record.Kind.String(), b); err != nil {
				return false, true
			}
		}
		return len(recs) == sseBatch, false
	})
}
