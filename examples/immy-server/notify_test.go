package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/session/notify"
)

// TestNotificationLinks runs the server binary with a real SMTP server
// (emersion/go-smtp, STARTTLS with its own CA, AUTH PLAIN) on loopback and
// a real agent. A session started through the API sends the before
// message to the tenant's contact, in the tenant's branding; while the
// message is being received (the session waits in its before-notice), the
// test follows the postpone link in it: the GET shows a confirmation page
// and postpones nothing, the POST asks the postponement through the same
// core code as the API, and the session ends postponed. The same message's
// decline link then cancels it (its GET changing nothing). A tampered token
// answers 400, an expired one (signed with the key the server made under
// its data directory) 410, one naming another computer 404; no page shows
// the token, the log shows neither the SMTP password nor the key.
func TestNotificationLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and an agent")
	}
	bin, err := binaries()
	require.NoError(t, err)
	dir := t.TempDir()
	fleetFile, files := writeE2EFleet(t, dir)
	mailSrv := startMailServer(t, dir)
	cfgFile := filepath.Join(dir, "immy.yaml")
	host, port, _ := net.SplitHostPort(mailSrv.addr)
	require.NoError(t, os.WriteFile(cfgFile, []byte(fmt.Sprintf(`smtp-host: %s
smtp-port: %s
smtp-user: mailer
smtp-from: maintenance@msp.example
smtp-ca: %s
tenants:
  lab: {name: Lab IT, primary: "#112233", accent: "#ff8800", to: [it@lab.example]}
`, host, port, mailSrv.caFile)), 0o600))
	dataDir := filepath.Join(dir, "data")
	srvPort := freePort(t)
	t.Setenv("IMMY_SMTP_PASSWORD", "s3cret-pw") // the password through the environment
	s := startServer(t, bin, dataDir, srvPort, "--fleet", fleetFile, "--config", cfgFile)

	var pmu sync.Mutex
	var pages []linkPage
	// inside DATA, the session is in its before-notice: the first
	// message's postpone link is followed
	mailSrv.onMessage = func(n int, data []byte) {
		_, body := mailParts(t, data)
		m := regexp.MustCompile(`https://\S+/notify/link\?t=[A-Za-z0-9_.%-]+`).FindAllString(body["text/plain"], -1)
		if len(m) != 2 || n > 0 {
			return
		}
		u, err := url.Parse(m[0]) // the postpone link
		if err != nil {
			return
		}
		tok := u.Query().Get("t")
		get := getPage(s.url + "/notify/link?t=" + url.QueryEscape(tok))
		post := postPage(s.url+"/notify/link", tok)
		pmu.Lock()
		pages = append(pages, get, post)
		pmu.Unlock()
	}

	computer := enrolAgent(t, bin, dir, s)
	var rep struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	require.Equal(t, 201, call(t, s.url, s.admin, "POST", "/api/sessions", map[string]any{"computer": computer}, &rep), "%s", s.stderr)
	var final struct {
		Status         string    `json:"status"`
		PostponedUntil time.Time `json:"postponed_until"`
		Actions        []any     `json:"actions"`
	}
	require.Eventually(t, func() bool {
		call(t, s.url, s.admin, "GET", "/api/sessions/"+rep.ID, nil, &final)
		return final.Status == "postponed" || final.Status == "passed" || final.Status == "failed"
	}, 90*time.Second, 200*time.Millisecond, "the session reaches postponed")

	msgs := mailSrv.messages()
	require.NotEmpty(t, msgs, "the before message was received\n%s", s.stderr)
	m := msgs[0]
	require.True(t, m.tls, "sent over STARTTLS")
	require.Equal(t, "mailer", m.authed)
	require.Equal(t, []string{"it@lab.example"}, m.to, "the tenant's contact: the computer's user is not known")
	hdr, body := mailParts(t, m.data)
	require.Contains(t, hdr.Get("From"), "Lab IT", "the tenant's branding names the sender")
	require.Contains(t, body["text/html"], "#112233", "the tenant's colour")
	require.Contains(t, body["text/plain"], "Quick", "the planned changes by name")
	require.NotContains(t, string(m.data), "s3cret-pw")

	pmu.Lock()
	require.Len(t, pages, 2, "the postpone link was followed")
	require.Equal(t, 200, pages[0].status)
	require.Contains(t, pages[0].body, `<form method="post"`, "the GET asks to confirm")
	require.Equal(t, 200, pages[1].status, "%s", pages[1].body)
	require.Contains(t, pages[1].body, "Postponed")
	require.Equal(t, "postponed", final.Status, "the POST postponed the session\n%s", s.stderr)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), final.PostponedUntil, time.Hour, "by --postpone-for")
	runs, _ := os.ReadFile(filepath.Join(files, "runs"))
	require.Empty(t, string(runs), "nothing was installed")
	pmu.Unlock()

	// the same message's decline link cancels the postponed session
	declineURL := regexp.MustCompile(`https://\S+/notify/link\?t=[A-Za-z0-9_.%-]+`).FindAllString(body["text/plain"], -1)[1]
	du, err := url.Parse(declineURL)
	require.NoError(t, err)
	dget := getPage(s.url + "/notify/link?t=" + url.QueryEscape(du.Query().Get("t")))
	require.Contains(t, dget.body, "Decline the maintenance?")
	call(t, s.url, s.admin, "GET", "/api/sessions/"+rep.ID, nil, &final)
	require.Equal(t, "postponed", final.Status, "a GET changes nothing")
	dpost := postPage(s.url+"/notify/link", du.Query().Get("t"))
	require.Equal(t, 200, dpost.status, "%s\n%s", dpost.body, s.stderr)
	require.Contains(t, dpost.body, "Declined")
	require.Eventually(t, func() bool {
		call(t, s.url, s.admin, "GET", "/api/sessions/"+rep.ID, nil, &final)
		return final.Status == "cancelled"
	}, 30*time.Second, 200*time.Millisecond, "the decline link cancels the session")
	runs, _ = os.ReadFile(filepath.Join(files, "runs"))
	require.Empty(t, string(runs), "nothing was installed")

	// a tampered link, an expired one, one naming another computer
	tok := mustQuery(t, msgs[0].data)
	tampered := []byte(tok)
	i := strings.IndexByte(tok, '.') - 3
	tampered[i] ^= 1
	p := postPage(s.url+"/notify/link", string(tampered))
	require.Equal(t, 400, p.status)
	require.Contains(t, p.body, "not valid")
	require.Equal(t, 400, getPage(s.url+"/notify/link?t=garbage").status)

	keyText, err := os.ReadFile(filepath.Join(dataDir, "link.key"))
	require.NoError(t, err, "the link key is made under the data directory")
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(keyText)))
	require.NoError(t, err)
	expired, err := notify.Signer{Key: key}.Sign(notify.Link{Session: rep.ID, Computer: computer, Action: notify.LinkDecline, Expires: time.Now().Add(-time.Minute)})
	require.NoError(t, err)
	for _, p := range []linkPage{getPage(s.url + "/notify/link?t=" + expired), postPage(s.url+"/notify/link", expired)} {
		require.Equal(t, 410, p.status)
		require.Contains(t, p.body, "expired")
		require.NotContains(t, p.body, expired, "the page does not show the token")
	}
	other, err := notify.Signer{Key: key}.Sign(notify.Link{Session: rep.ID, Computer: "another", Action: notify.LinkDecline, Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 404, postPage(s.url+"/notify/link", other).status, "a link reaches only the session of the computer it names")
	logged := serverLog(s)
	require.Contains(t, logged, "password=[redacted]")
	require.NotContains(t, logged, "s3cret-pw", "the SMTP password is never logged")
	require.NotContains(t, logged, strings.TrimSpace(string(keyText)), "nor the link key")
}

// serverLog returns what the server logged so far.
func serverLog(s *server) string {
	lw := s.cmd.Stderr.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return s.stderr.String()
}

// mustQuery returns the token of the first link of a received message.
func mustQuery(t *testing.T, data []byte) string {
	_, body := mailParts(t, data)
	m := regexp.MustCompile(`https://\S+/notify/link\?t=([A-Za-z0-9_.%-]+)`).FindStringSubmatch(body["text/plain"])
	require.NotNil(t, m)
	tok, err := url.QueryUnescape(m[1])
	require.NoError(t, err)
	return tok
}

type linkPage struct {
	status int
	body   string
}

var linkClient = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

func getPage(u string) linkPage {
	resp, err := linkClient.Get(u)
	if err != nil {
		return linkPage{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return linkPage{resp.StatusCode, string(b)}
}

func postPage(u, tok string) linkPage {
	resp, err := linkClient.PostForm(u, url.Values{"t": {tok}})
	if err != nil {
		return linkPage{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return linkPage{resp.StatusCode, string(b)}
}

// enrolAgent enrols a real agent into the lab tenant and returns its
// computer once online.
func enrolAgent(t *testing.T, bin, dir string, s *server) string {
	var it struct {
		Token string `json:"token"`
	}
	require.Equal(t, 201, call(t, s.url, s.admin, "POST", "/api/install-tokens", map[string]any{"tenant": "lab", "max_uses": 1}, &it))
	agentLog := &lockedWriter{w: &bytes.Buffer{}}
	agent := exec.Command(filepath.Join(bin, "immy-agent"),
		"--server", "wss://localhost:"+s.port()+"/agent", "--token", it.Token, "--pin", certPin(t, s.dataDir),
		"--state", filepath.Join(dir, "agent-state.json"), "--backoff-max", "500ms")
	agent.Stdout, agent.Stderr = agentLog, agentLog
	require.NoError(t, agent.Start())
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	var computer string
	require.Eventually(t, func() bool {
		var l struct {
			Items []struct {
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
				Inventory struct {
					Online bool `json:"online"`
				} `json:"inventory"`
			} `json:"items"`
		}
		call(t, s.url, s.admin, "GET", "/api/computers?tenant=lab", nil, &l)
		if len(l.Items) == 1 && l.Items[0].Inventory.Online {
			computer = l.Items[0].Data.ID
			return true
		}
		return false
	}, 30*time.Second, 200*time.Millisecond, "the agent's computer comes online in the lab tenant")
	return computer
}

func mailParts(t *testing.T, data []byte) (mail.Header, map[string]string) {
	out := map[string]string{}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, out
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return m.Header, out
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
	return m.Header, out
}

// mailServer is a real SMTP server on loopback: STARTTLS with a
// certificate of its own CA (written to caFile), AUTH PLAIN over TLS only.
type mailServer struct {
	addr, caFile string
	onMessage    func(n int, data []byte)
	mu           sync.Mutex
	msgs         []mailMsg
}

type mailMsg struct {
	authed string
	to     []string
	data   []byte
	tls    bool
}

type mailBackend struct{ s *mailServer }

func (b mailBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &mailSession{s: b.s, conn: c}, nil
}

type mailSession struct {
	s    *mailServer
	conn *smtp.Conn
	cur  mailMsg
}

func (ms *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ms *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mailer" || pass != "s3cret-pw" {
			return errors.New("invalid credentials")
		}
		ms.cur.authed = user
		return nil
	}), nil
}
func (ms *mailSession) Mail(string, *smtp.MailOptions) error {
	if ms.cur.authed == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	return nil
}
func (ms *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ms.cur.to = append(ms.cur.to, to)
	return nil
}
func (ms *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ms.conn.TLSConnectionState()
	m := ms.cur
	m.data, m.tls = b, isTLS
	ms.s.mu.Lock()
	n := len(ms.s.msgs)
	ms.s.msgs = append(ms.s.msgs, m)
	ms.s.mu.Unlock()
	if ms.s.onMessage != nil {
		ms.s.onMessage(n, b)
	}
	return nil
}
func (ms *mailSession) Reset()        { ms.cur = mailMsg{authed: ms.cur.authed} }
func (ms *mailSession) Logout() error { return nil }

func (s *mailServer) messages() []mailMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailMsg(nil), s.msgs...)
}

func startMailServer(t *testing.T, dir string) *mailServer {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	s := &mailServer{caFile: filepath.Join(dir, "smtp-ca.pem")}
	require.NoError(t, os.WriteFile(s.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	srv := smtp.NewServer(mailBackend{s})
	srv.Domain = "mail.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}
