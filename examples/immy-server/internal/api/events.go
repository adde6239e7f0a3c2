package api

import (
	"encoding/json"
	"fmt"
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
	sseBatch    = 500
	ssePoll     = time.Second      // other processes append too
	sseKeepAli  = 15 * time.Second // a comment line keeps proxies from closing
	sseMaxLife  = 30 * time.Minute // a client reconnects, with Last-Event-ID
	sseMaxData  = 256 << 10        // a record larger than this is cut to its summary
	sseDeadTime = 10 * time.Second // write deadline of one event
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
	_ = rc.SetWriteDeadline(time.Now().Add(sseDeadTime))
	if len(data) > sseMaxData {
		data = []byte(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(data)))
	}
	if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", id, typ, strings.ReplaceAll(string(data), "\n", "\ndata: ")); err != nil {
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
	for {
		// the token may have been revoked since the stream opened
		if tok, ok := h.recheck(r); !ok || !visible(tok, tenant) {
			return
		}
		wake := h.c.Journal.Changed()
		recs, err := h.c.Journal.Records(ctx, rep.ID, int(after))
		if err != nil {
			return
		}
		ended := false
		for _, rec := range recs {
			b, _ := json.Marshal(rec)
			if err := writeEvent(w, rc, int64(rec.Seq), rec.Kind.String(), b); err != nil {
				return
			}
			after = int64(rec.Seq)
			if rec.Kind == session.RecordStatus && rec.Status.Final() {
				ended = true
			}
		}
		if ended {
			_ = writeEvent(w, rc, after, "end", []byte(`{}`))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-wake:
			// appends come in bursts: one poll for a burst
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
	tenants := map[string]string{} // session -> the tenant it ran under
	for {
		if len(tenants) > 10000 {
			clear(tenants)
		}
		// the token may have been revoked since the stream opened
		tok, ok := h.recheck(r)
		if !ok || (tenant != "" && !visible(tok, tenant)) {
			return
		}
		wake := h.c.Journal.Changed()
		recs, err := h.c.Journal.Feed(ctx, after, sseBatch)
		if err != nil {
			return
		}
		for _, rec := range recs {
			after = rec.ID
			t, ok := tenants[rec.Session]
			if !ok {
				if t, err = h.sessionTenant(ctx, rec.Session, rec.Computer); err != nil {
					return
				}
				tenants[rec.Session] = t
			}
			if !visible(tok, t) || (tenant != "" && t != tenant) {
				continue
			}
			b, err := json.Marshal(fleetEvent{Session: rec.Session, Computer: rec.Computer, Tenant: t, Record: rec.Record})
			if err != nil {
				return
			}
			if err := writeEvent(w, rc, rec.ID, rec.Record.Kind.String(), b); err != nil {
				return
			}
		}
		if len(recs) == sseBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-end.C:
			return
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-wake:
			// appends come in bursts: one poll for a burst
			if !pause(ctx, ssePause) {
				return
			}
		case <-time.After(ssePoll):
		}
	}
}
