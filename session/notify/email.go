package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
)

// Audience is who is told about a computer's session, and how it looks.
type Audience struct {
	To           []string // addresses (RFC 5322); none: nobody is told (Before and After fail)
	Person       string   // the greeting's name; "" greets nobody by name
	ComputerName string   // "" shows the computer's id
	Branding     Branding // the tenant's
}

// Config configures an Email notifier. Addr, From and Audience are required.
type Config struct {
	// Addr is the SMTP submission server, host:port (port 587 usually).
	Addr string
	// Username and Password authenticate with AUTH PLAIN, only ever over
	// TLS (after STARTTLS). Empty: no authentication.
	Username, Password string
	// TLS configures STARTTLS; nil verifies the server's certificate
	// against the system's roots for the host of Addr.
	TLS *tls.Config
	// AllowPlaintext sends without TLS to a server that offers no
	// STARTTLS; without it such a server is an error. Never with a
	// Username.
	AllowPlaintext bool
	// From is the sender's address; FromName its name when the tenant's
	// branding has none.
	From, FromName string
	// LocalName is the name said in EHLO and in Message-IDs; "" is "localhost".
	LocalName string
	// Timeout bounds one message's delivery when ctx has no earlier
	// deadline; zero is 30 seconds.
	Timeout time.Duration
	// Audience tells who is told about a computer, in which branding.
	Audience func(ctx context.Context, computer string) (Audience, error)
	// ItemName names an item (software or task) for people; nil shows ids.
	ItemName func(id string) string
	// Links: with Signer and LinkBase set, the before message carries a
	// postpone and a decline link, signed, to LinkBase?t=TOKEN, valid for
	// LinkTTL (zero: 24 hours); postponing by PostponeFor (zero:
	// session.DefaultPostpone).
	Signer      *Signer
	LinkBase    string
	LinkTTL     time.Duration
	PostponeFor time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Email is a session.Notifier that sends the before and after messages over
// SMTP, one multipart/alternative message (plain text and HTML) per notice,
// in the tenant's branding. Before answers at once (Proceed): the user
// postpones or declines later, through the signed links.
type Email struct {
	cfg  Config
	host string
}

var _ session.Notifier = (*Email)(nil)

// NewEmail checks cfg and returns the notifier.
func NewEmail(cfg Config) (*Email, error) {
	var errs []error
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("Addr %q: want host:port", cfg.Addr))
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil || strings.ContainsAny(cfg.From, "\r\n") {
		errs = append(errs, fmt.Errorf("From %q is not an address", cfg.From))
	}
	if cfg.Audience == nil {
		errs = append(errs, errors.New("Audience is required"))
	}
	if cfg.Username != "" && cfg.AllowPlaintext {
		errs = append(errs, errors.New("AllowPlaintext with a Username would send the password in clear"))
	}
	if cfg.LinkBase != "" {
		if cfg.Signer == nil || len(cfg.Signer.Key) < MinKeyLen {
			errs = append(errs, fmt.Errorf("LinkBase needs a Signer with a key of at least %d bytes", MinKeyLen))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = 24 * time.Hour
	}
	if cfg.PostponeFor <= 0 {
		cfg.PostponeFor = session.DefaultPostpone
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ItemName == nil {
		cfg.ItemName = func(id string) string { return id }
	}
	return &Email{cfg: cfg, host: host}, nil
}

// Before sends the message before execution, with its postpone and
// decline links, and answers Proceed at once.
func (e *Email) Before(ctx context.Context, n session.Notice) (session.Reply, error) {
	msg, to, err := e.Compose(ctx, n, true)
	if err != nil {
		return session.Reply{}, err
	}
	return session.Reply{Answer: session.Proceed}, e.send(ctx, to, msg)
}

// After sends the message after execution: the actions that ran and how
// they ended, the session's status and its reboot.
func (e *Email) After(ctx context.Context, n session.Notice) error {
	msg, to, err := e.Compose(ctx, n, false)
	if err != nil {
		return err
	}
	return e.send(ctx, to, msg)
}

// Compose returns the message Before (before true) or After would send,
// headers and body, and its recipients.
func (e *Email) Compose(ctx context.Context, n session.Notice, before bool) (msg []byte, to []string, err error) {
	aud, err := e.cfg.Audience(ctx, n.Computer)
	if err != nil {
		return nil, nil, fmt.Errorf("notify: audience of %q: %w", n.Computer, err)
	}
	var rcpt []*mail.Address
	var errs []error
	for _, a := range aud.To {
		addr, err := mail.ParseAddress(a)
		if err != nil || strings.ContainsAny(a, "\r\n") {
			errs = append(errs, fmt.Errorf("recipient %q is not an address", clip(a)))
			continue
		}
		rcpt = append(rcpt, addr)
	}
	if len(aud.To) == 0 {
		errs = append(errs, fmt.Errorf("nobody to tell about computer %q", n.Computer))
	}
	brand, err := aud.Branding.resolve(e.cfg.FromName)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, nil, fmt.Errorf("notify: %w", err)
	}
	v := view{Brand: brand, Person: oneLine(aud.Person), Computer: n.Computer, Before: before}
	if aud.ComputerName != "" {
		v.Computer = oneLine(aud.ComputerName)
	}
	for _, a := range n.Actions {
		l := line{What: e.describe(a)}
		if !before {
			l.Result = a.Result.String()
			if a.Result != session.Success && a.Reason != "" {
				l.Result += ": " + a.Reason
			}
		}
		v.Lines = append(v.Lines, l)
	}
	now := e.cfg.Now()
	if before && e.cfg.LinkBase != "" {
		exp := now.Add(e.cfg.LinkTTL).Truncate(time.Second)
		base := Link{Session: n.Session, Computer: n.Computer, Expires: exp}
		p := base
		p.Action, p.Postpone = LinkPostpone, e.cfg.PostponeFor
		if v.PostponeURL, err = e.cfg.Signer.URL(e.cfg.LinkBase, p); err != nil {
			return nil, nil, err
		}
		d := base
		d.Action = LinkDecline
		if v.DeclineURL, err = e.cfg.Signer.URL(e.cfg.LinkBase, d); err != nil {
			return nil, nil, err
		}
		v.PostponeFor = e.cfg.PostponeFor.String()
		v.LinksExpire = exp.UTC().Format("2006-01-02 15:04 MST")
	}
	if !before {
		v.Status = n.Status.String()
		switch {
		case n.Reboot.Rebooted:
			v.Reboot = "rebooted"
		case n.Reboot.Pending:
			v.Reboot = "pending (" + n.Reboot.Reason + ")"
		}
	}
	var text, html bytes.Buffer
	if err := textTmpl.Execute(&text, v); err != nil {
		return nil, nil, fmt.Errorf("notify: %w", err)
	}
	if err := htmlTmpl.Execute(&html, v); err != nil {
		return nil, nil, fmt.Errorf("notify: %w", err)
	}

	kind := "after"
	subject := brand.Name + ": maintenance of " + v.Computer + " finished: " + v.Status
	if before {
		kind = "before"
		subject = brand.Name + ": maintenance of " + v.Computer + " is about to start"
	}
	sum := sha256.Sum256([]byte(n.Session + "\x00" + kind))
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary("immy-" + hex.EncodeToString(sum[:12])); err != nil {
		return nil, nil, fmt.Errorf("notify: %w", err)
	}
	from := mail.Address{Name: brand.Name, Address: e.cfg.From}
	tos := make([]string, len(rcpt))
	for i, a := range rcpt {
		tos[i] = a.String()
		to = append(to, a.Address)
	}
	hdr := []string{
		"From: " + from.String(),
		"To: " + strings.Join(tos, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", oneLine(subject)),
		"Date: " + now.Format(time.RFC1123Z),
		"Message-ID: <immy." + hex.EncodeToString(sum[:16]) + "@" + e.cfg.LocalName + ">",
		"MIME-Version: 1.0",
		"Content-Type: multipart/alternative; boundary=\"" + mw.Boundary() + "\"",
	}
	var out bytes.Buffer
	out.WriteString(strings.Join(hdr, "\r\n") + "\r\n\r\n")
	for _, part := range []struct {
		ctype string
		body  []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, nil, fmt.Errorf("notify: %w", err)
		}
		qp := quotedprintable.NewWriter(w)
		qp.Write(bytes.ReplaceAll(part.body, []byte("\n"), []byte("\r\n")))
		qp.Close()
	}
	mw.Close()
	out.Write(b.Bytes())
	return out.Bytes(), to, nil
}

// describe says what an action does, for people.
func (e *Email) describe(a session.Action) string {
	name := oneLine(e.cfg.ItemName(a.Item()))
	if name == "" {
		name = a.Item()
	}
	verb := map[resolver.ActionKind]string{
		resolver.ActionInstall: "Install", resolver.ActionUpdate: "Update", resolver.ActionDowngrade: "Downgrade",
		resolver.ActionUninstall: "Uninstall", resolver.ActionReinstall: "Repair",
	}[a.Planned.Action]
	if verb == "" {
		verb = "Run"
	}
	if a.Planned.Version != "" && a.Planned.Action != resolver.ActionUninstall {
		return verb + " " + name + " " + a.Planned.Version
	}
	return verb + " " + name
}

// send delivers msg over SMTP: STARTTLS (required unless AllowPlaintext),
// AUTH PLAIN when a Username is set, within ctx and Config.Timeout.
func (e *Email) send(ctx context.Context, to []string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("notify: smtp: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		return fmt.Errorf("notify: smtp %s: %w", e.cfg.Addr, err)
	}
	defer c.Close()
	if err := c.Hello(e.cfg.LocalName); err != nil {
		return fmt.Errorf("notify: smtp EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := e.cfg.TLS.Clone()
		if tc == nil {
			tc = &tls.Config{}
		}
		if tc.ServerName == "" {
			tc.ServerName = e.host
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("notify: smtp STARTTLS: %w", err)
		}
	} else if !e.cfg.AllowPlaintext {
		return fmt.Errorf("notify: smtp %s offers no STARTTLS: refusing to send in clear", e.cfg.Addr)
	}
	if e.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.cfg.Username, e.cfg.Password, e.host)); err != nil {
			return fmt.Errorf("notify: smtp AUTH as %q: %w", e.cfg.Username, err)
		}
	}
	if err := c.Mail(e.cfg.From); err != nil {
		return fmt.Errorf("notify: smtp MAIL FROM: %w", err)
	}
	for _, r := range slices.Compact(slices.Sorted(slices.Values(to))) {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("notify: smtp RCPT TO %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("notify: smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("notify: smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("notify: smtp: message refused: %w", err)
	}
	return c.Quit()
}

// oneLine keeps text on one line (no header or template line breaks).
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func joinSorted(s []string) string {
	slices.Sort(s)
	return strings.Join(s, "; ")
}
