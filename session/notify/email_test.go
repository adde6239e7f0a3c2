package notify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/resolver"
	"github.com/immyoss/engine/session"
	"github.com/immyoss/engine/session/notify"
)

// received is a message as the SMTP server received it.
type received struct {
	from   string
	to     []string
	data   []byte
	authed string // the user that authenticated
	tls    bool   // the session was over TLS when the message came
}

// smtpServer is a real SMTP server (emersion/go-smtp) on loopback that
// offers STARTTLS and AUTH PLAIN (only over TLS) and keeps what it received.
type smtpServer struct {
	addr string
	pool *x509.CertPool
	mu   sync.Mutex
	msgs []received
}

type backend struct{ s *smtpServer }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{s: b.s, conn: c}, nil
}

type smtpSession struct {
	s    *smtpServer
	conn *smtp.Conn
	cur  received
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "mailer" || pass != "s3cret-pw" {
			return errors.New("invalid credentials")
		}
		ss.cur.authed = user
		return nil
	}), nil
}
func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.cur.authed == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	ss.cur.from = from
	return nil
}
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.to = append(ss.cur.to, to)
	return nil
}
func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m := ss.cur
	m.data, m.tls = b, isTLS
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	return nil
}
func (ss *smtpSession) Reset()        { ss.cur = received{authed: ss.cur.authed} }
func (ss *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	s := &smtpServer{pool: x509.NewCertPool()}
	s.pool.AddCert(cert)
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mail.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.AllowInsecureAuth = false
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

var key = []byte("0123456789abcdef0123456789abcdef-test-key")

func notifier(t *testing.T, s *smtpServer, tune func(*notify.Config)) *notify.Email {
	t.Helper()
	cfg := notify.Config{
		Addr: s.addr, Username: "mailer", Password: "s3cret-pw",
		TLS:  &tls.Config{RootCAs: s.pool},
		From: "maintenance@msp.example", FromName: "MSP",
		Audience: func(_ context.Context, computer string) (notify.Audience, error) {
			return notify.Audience{To: []string{"Alice Example <alice@contoso.example>"}, Person: "Alice", ComputerName: "CONTOSO-LT-01",
				Branding: notify.Branding{Name: "Contoso IT", LogoURL: "https://contoso.example/logo.png", Primary: "#112233", Accent: "#ff8800"}}, nil
		},
		ItemName: func(id string) string { return map[string]string{"notes": "Acme Notes"}[id] },
		Signer:   &notify.Signer{Key: key}, LinkBase: "https://immy.example/notify/link",
		Now: func() time.Time { return time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) },
	}
	if tune != nil {
		tune(&cfg)
	}
	n, err := notify.NewEmail(cfg)
	require.NoError(t, err)
	return n
}

// parts reads a received multipart/alternative message: its header and
// its parts' decoded bodies by content type.
func parts(t *testing.T, data []byte) (mail.Header, map[string]string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	require.NoError(t, err)
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	out := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
	return m.Header, out
}

func TestBeforeAndAfterOverSMTP(t *testing.T) {
	s := startSMTP(t)
	n := notifier(t, s, nil)
	notice := session.Notice{Session: "s-42", Computer: "c-1", Actions: []session.Action{
		{Planned: resolver.Action{Item: "notes", Action: resolver.ActionInstall, Version: "3.1"}},
	}}
	reply, err := n.Before(t.Context(), notice)
	require.NoError(t, err)
	require.Equal(t, session.Proceed, reply.Answer, "Before answers at once")

	msgs := s.messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	require.True(t, m.tls, "sent after STARTTLS")
	require.Equal(t, "mailer", m.authed)
	require.Equal(t, "maintenance@msp.example", m.from)
	require.Equal(t, []string{"alice@contoso.example"}, m.to)
	require.NotContains(t, string(m.data), "s3cret-pw")
	h, body := parts(t, m.data)
	from, err := h.AddressList("From")
	require.NoError(t, err)
	require.Equal(t, "Contoso IT", from[0].Name, "the tenant's name")
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Contoso IT: maintenance of CONTOSO-LT-01 is about to start", subject)

	text, html := body["text/plain"], body["text/html"]
	require.Contains(t, text, "Hello Alice,")
	require.Contains(t, text, "  - Install Acme Notes 3.1")
	require.Contains(t, html, `<li>Install Acme Notes 3.1</li>`)
	require.Contains(t, html, `background:#112233`)
	require.Contains(t, html, `<img src="https://contoso.example/logo.png"`)
	require.Contains(t, html, `background:#ff8800`)

	// The links are signed: the server's Verify reads them back.
	var links []string
	for _, l := range strings.Fields(text) {
		if strings.HasPrefix(l, "https://immy.example/notify/link?t=") {
			links = append(links, l)
		}
	}
	require.Len(t, links, 2)
	signer := notify.Signer{Key: key}
	now := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	for i, want := range []notify.LinkAction{notify.LinkPostpone, notify.LinkDecline} {
		u, err := url.Parse(links[i])
		require.NoError(t, err)
		require.Contains(t, html, `href="`+strings.ReplaceAll(links[i], "&", "&amp;")+`"`)
		l, err := signer.Verify(u.Query().Get("t"), now)
		require.NoError(t, err)
		require.Equal(t, "s-42", l.Session)
		require.Equal(t, "c-1", l.Computer)
		require.Equal(t, want, l.Action)
		require.Equal(t, time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC), l.Expires)
		if want == notify.LinkPostpone {
			require.Equal(t, session.DefaultPostpone, l.Postpone)
		}
	}

	// After: what ran and how it ended.
	notice.Actions[0].Status, notice.Actions[0].Result = session.Complete, session.Success
	notice.Status = session.Passed
	notice.Reboot = session.RebootOutcome{Required: true, Pending: true, Reason: session.RebootSuppressed}
	require.NoError(t, n.After(t.Context(), notice))
	msgs = s.messages()
	require.Len(t, msgs, 2)
	h, body = parts(t, msgs[1].data)
	subject, _ = new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	require.Equal(t, "Contoso IT: maintenance of CONTOSO-LT-01 finished: passed", subject)
	require.Contains(t, body["text/plain"], "  - Install Acme Notes 3.1: success")
	require.Contains(t, body["text/plain"], "Reboot: pending (suppressed)")
	require.NotContains(t, body["text/plain"], "link?t=", "no links after")
}

func TestEmailRefusals(t *testing.T) {
	s := startSMTP(t)
	notice := session.Notice{Session: "s", Computer: "c-1", Actions: []session.Action{{Planned: resolver.Action{Item: "notes", Action: resolver.ActionInstall}}}}

	// wrong password: refused by the server, nothing received
	n := notifier(t, s, func(c *notify.Config) { c.Password = "wrong" })
	_, err := n.Before(t.Context(), notice)
	require.ErrorContains(t, err, `smtp AUTH as "mailer"`)
	require.NotContains(t, err.Error(), "wrong")

	// a server certificate nobody vouches for
	n = notifier(t, s, func(c *notify.Config) { c.TLS = nil })
	_, err = n.Before(t.Context(), notice)
	require.ErrorContains(t, err, "STARTTLS")

	// bad branding and recipients: every problem, nothing sent
	n = notifier(t, s, func(c *notify.Config) {
		c.Audience = func(context.Context, string) (notify.Audience, error) {
			return notify.Audience{To: []string{"not an address", "bob@x.example\r\nBcc: eve@x.example"},
				Branding: notify.Branding{Primary: "red;}</style><script>", LogoURL: "javascript:alert(1)"}}, nil
		}
	})
	_, err = n.Before(t.Context(), notice)
	for _, want := range []string{`recipient "not an address"`, `recipient "bob@x.example\r\nBcc: eve@x.example"`, `primary colour "red;}</style><script>" is not #rrggbb`, `logo URL "javascript:alert(1)" is not an https URL`} {
		require.ErrorContains(t, err, want)
	}
	require.Empty(t, s.messages())

	_, err = notify.NewEmail(notify.Config{Addr: "nohost", From: "x", Username: "u", AllowPlaintext: true, LinkBase: "https://x"})
	for _, want := range []string{`Addr "nohost"`, `From "x"`, "Audience is required", "AllowPlaintext with a Username", "LinkBase needs a Signer"} {
		require.ErrorContains(t, err, want)
	}
}

func TestLinks(t *testing.T) {
	s := notify.Signer{Key: key}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	l := notify.Link{Session: "s-1", Computer: "c-1", Action: notify.LinkDecline, Expires: now.Add(time.Hour)}
	tok, err := s.Sign(l)
	require.NoError(t, err)
	got, err := s.Verify(tok, now)
	require.NoError(t, err)
	require.Equal(t, l, got)

	_, err = s.Verify(tok, now.Add(time.Hour))
	require.ErrorIs(t, err, notify.ErrLinkExpired)
	// tampered: another session, same signature
	other, _ := notify.Signer{Key: key}.Sign(notify.Link{Session: "s-2", Computer: "c-1", Action: notify.LinkDecline, Expires: now.Add(time.Hour)})
	forged := strings.Split(other, ".")[0] + "." + strings.Split(tok, ".")[1]
	_, err = s.Verify(forged, now)
	require.ErrorIs(t, err, notify.ErrLinkInvalid)
	_, err = notify.Signer{Key: []byte("another key of thirty-two bytes!!")}.Verify(tok, now)
	require.ErrorIs(t, err, notify.ErrLinkInvalid)
	// a rotated key still verifies links signed before
	got, err = notify.Signer{Key: []byte("the new key, thirty-two bytes long"), OldKeys: [][]byte{key}}.Verify(tok, now)
	require.NoError(t, err)
	require.Equal(t, "s-1", got.Session)
	for _, bad := range []string{"", "abc", "a.b", strings.Repeat("x", 5000)} {
		_, err = s.Verify(bad, now)
		require.ErrorIs(t, err, notify.ErrLinkInvalid, bad)
	}
	_, err = notify.Signer{Key: []byte("short")}.Sign(l)
	require.ErrorContains(t, err, "at least 32")
}

func FuzzVerify(f *testing.F) {
	s := notify.Signer{Key: key}
	tok, _ := s.Sign(notify.Link{Session: "s", Computer: "c", Action: notify.LinkPostpone, Expires: time.Unix(2e9, 0)})
	f.Add(tok)
	f.Fuzz(func(t *testing.T, tok string) {
		l, err := s.Verify(tok, time.Unix(1e9, 0))
		if err == nil && (l.Session == "" && l.Computer == "") {
			// only a token signed with the key verifies; the seed has both
			t.Fatalf("verified a link without session or computer: %q", tok)
		}
	})
}
