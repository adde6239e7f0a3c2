// Package links serves the postpone and decline links of the notification
// emails (session/notify): GET Prefix+ACTION?t=TOKEN shows a small page
// asking to confirm, and its form POSTs the token back, which postpones or
// cancels the session. Only the POST acts, so that a mail client's link
// scanner, which fetches links ahead of the person, changes nothing.
//
// The signed token is the credential: no API token is asked, and a link
// reaches only the session (and computer) it names. A token that does not
// verify answers 400, an expired one 410, a session that has ended or
// reached execution (too late to postpone) 409; every answer is a page
// that shows neither the token nor an error's detail.
package links

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/notify"
)

// Path is where the links are served (the emails' LinkBase).
const Path = "/notify/link"

// Sessions is what the links act through: the server's core.
type Sessions interface {
	Engine(ctx context.Context) (*session.Engine, error)
	Postpone(ctx context.Context, id string, until time.Time) error
}

// Handler serves the links.
type Handler struct {
	Signer   notify.Signer
	Sessions Sessions
	Logger   *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// maxForm bounds a POST's body.
const maxForm = 8 << 10

// bodyReadTime bounds the read of a POST's body (a slow client).
const bodyReadTime = 10 * time.Second

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#2f80ed;color:#fff;cursor:pointer}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .Confirm}}<form method="post" action="{{.Action}}"><input type="hidden" name="t" value="{{.Token}}"><button type="submit">{{.Confirm}}</button></form>{{end}}
</body></html>
`))

type view struct {
	Title, Message, Confirm, Action, Token string
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

func render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = page.Execute(w, v)
}

// ServeHTTP serves GET and POST of Path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		render(w, http.StatusNotFound, view{Title: "Not found", Message: "There is no such link."})
		return
	}
	var tok string
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		tok = r.URL.Query().Get("t")
	case http.MethodPost:
		// The server sets no ReadTimeout (the /agent WebSocket); bound
		// this body's read here.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTime))
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			render(w, http.StatusBadRequest, view{Title: "Invalid link", Message: "The request could not be read."})
			return
		}
		tok = r.PostForm.Get("t")
	default:
		w.Header().Set("Allow", "GET, POST")
		render(w, http.StatusMethodNotAllowed, view{Title: "Not allowed", Message: "Open the link in a browser."})
		return
	}
	l, err := h.Signer.Verify(tok, h.now())
	switch {
	case errors.Is(err, notify.ErrLinkExpired):
		render(w, http.StatusGone, view{Title: "Link expired", Message: "This link has expired. Contact your IT team if the maintenance should wait."})
		return
	case err != nil:
		h.log().Info("notification link refused", "path", r.URL.Path, "reason", "invalid")
		render(w, http.StatusBadRequest, view{Title: "Invalid link", Message: "This link is not valid. Use the link of the email as it was sent."})
		return
	}
	action := l.Action
	e, err := h.Sessions.Engine(r.Context())
	if err != nil {
		h.fail(w, l, err)
		return
	}
	rep, err := e.Journaled(r.Context(), l.Session)
	if errors.Is(err, immy.ErrNotFound) || (err == nil && rep.Computer != l.Computer) {
		render(w, http.StatusNotFound, view{Title: "Not found", Message: "The maintenance this link is about is not known."})
		return
	}
	if err != nil {
		h.fail(w, l, err)
		return
	}
	if rep.Status.Final() {
		render(w, http.StatusConflict, view{Title: "Already over", Message: "This maintenance has already ended."})
		return
	}
	what, confirm := "Postpone the maintenance", "Postpone"
	if action == notify.LinkDecline {
		what, confirm = "Decline the maintenance", "Decline"
	}
	if action == notify.LinkPostpone && (rep.Stage == session.StageExecution || rep.Stage == session.StageReboot) {
		render(w, http.StatusConflict, view{Title: "Too late to postpone", Message: "The changes are already being made on your computer."})
		return
	}
	if r.Method != http.MethodPost {
		msg := "The maintenance of your computer will wait"
		if l.Postpone > 0 {
			msg += " for " + l.Postpone.String()
		}
		msg += "."
		if action == notify.LinkDecline {
			msg = "The maintenance of your computer will be cancelled."
		}
		render(w, http.StatusOK, view{Title: what + "?", Message: msg, Confirm: confirm, Action: Path, Token: tok})
		return
	}
	switch action {
	case notify.LinkPostpone:
		var until time.Time
		if l.Postpone > 0 {
			until = h.now().Add(l.Postpone)
		}
		if err := h.Sessions.Postpone(r.Context(), rep.ID, until); err != nil {
			// the session may have ended since it was read: the ask is refused
			if now, rerr := e.Journaled(r.Context(), rep.ID); rerr == nil && now.Status.Final() {
				render(w, http.StatusConflict, view{Title: "Already over", Message: "This maintenance has already ended."})
				return
			}
			h.fail(w, l, err)
			return
		}
		h.log().Info("session postponement asked", "session", rep.ID, "until", until, "actor", "link")
		render(w, http.StatusOK, view{Title: "Postponed", Message: "Thank you: the maintenance of your computer will wait."})
	case notify.LinkDecline:
		if err := e.Cancel(rep.ID); err != nil {
			h.fail(w, l, err)
			return
		}
		h.log().Info("session cancelled", "session", rep.ID, "actor", "link")
		render(w, http.StatusOK, view{Title: "Declined", Message: "Thank you: the maintenance of your computer is cancelled."})
	}
}

func (h *Handler) fail(w http.ResponseWriter, l notify.Link, err error) {
	h.log().Error("notification link failed", "session", l.Session, "action", l.Action, "err", err)
	render(w, http.StatusInternalServerError, view{Title: "Something went wrong", Message: "Please try again later."})
}
