package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The end-to-end test runs real processes: the server binary on a temporary
// SQLite file, and a real immy-agent enrolled with an install token made
// through the API. A session is started through the API and followed over
// Server-Sent Events to its end; the server is killed with SIGKILL while an
// action runs, started again, and the same session resumes, from the same
// event stream (Last-Event-ID), without running the change again; a second
// session then plans nothing.

// binaries builds the server and the agent once per test run.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "immy-server-e2e-bin")
	if err != nil {
		return "", err
	}
	for _, b := range [][2]string{{"immy-server", "."}, {"immy-agent", "../../agent/cmd/immy-agent"}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b[0]), b[1])
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v: %s", b[0], err, out)
		}
	}
	return dir, nil
})

const e2eFleet = `version: 1
tenants:
  - {id: lab, name: Lab}
software:
  - id: quick
    name: Quick
    tenant: lab
    detection:
      script: {language: sh, body: "cat DIR/quick.version 2>/dev/null || true"}
    versions: [{version: 1.0.0}]
    install:
      language: sh
      body: |
        echo quick >> DIR/runs
        printf '%s\n' "$version" > DIR/quick.version
  - id: slow
    name: Slow
    tenant: lab
    detection:
      script: {language: sh, body: "cat DIR/slow.version 2>/dev/null || true"}
    versions: [{version: 3.1.0}]
    install:
      language: sh
      body: |
        echo slow >> DIR/runs
        printf '%s\n' "$version" > DIR/slow.version
        sleep 4
deployments:
  - {id: quick-latest, item: quick, target: {type: all-computers, tenant: lab}, desired: latest}
  - {id: slow-latest, item: slow, target: {type: all-computers, tenant: lab}, desired: latest}
`

type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	url     string
	admin   string
	stderr  *bytes.Buffer
	dataDir string
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer starts the server binary and waits for its banner.
func startServer(t *testing.T, bin, dataDir string, port int, extra ...string) *server {
	args := append([]string{"--data-dir", dataDir, "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--example-rmm=false", "--no-demo", "--schedule-interval", "0"}, extra...)
	cmd := exec.Command(filepath.Join(bin, "immy-server"), args...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	s := &server{t: t, cmd: cmd, stderr: &bytes.Buffer{}, dataDir: dataDir}
	cmd.Stderr = &lockedWriter{w: s.stderr}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(90 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server exited:\n%s", s.stderr)
			}
			l = strings.TrimSpace(l)
			if u, ok := strings.CutPrefix(l, "URL:"); ok {
				s.url = strings.TrimSpace(u)
			}
			if strings.HasPrefix(l, "immyapi_") {
				s.admin = l
			}
			if strings.HasPrefix(l, "Enrol this machine") {
				go func() {
					for range lines {
					}
				}()
				return s
			}
		case <-deadline:
			t.Fatalf("server did not start:\n%s", s.stderr)
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var insecure = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// call makes an API call and decodes the JSON answer into out.
func call(t *testing.T, base, tok, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := insecure.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
	return resp.StatusCode
}

// certPin is the SHA-256 of the server's self-signed certificate.
func certPin(t *testing.T, dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "tls", "server.crt"))
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	sum := sha256.Sum256(blk.Bytes)
	return hex.EncodeToString(sum[:])
}

type sseEvent struct {
	ID, Type string
	Data     json.RawMessage
}

// follow reads a session's event stream from after until fn says stop or
// the stream ends.
func follow(t *testing.T, s *server, id, after string, fn func(sseEvent) bool) (last string, ended bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/api/sessions/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	if after != "" {
		req.Header.Set("Last-Event-ID", after)
	}
	cl := &http.Client{Transport: insecure.Transport}
	resp, err := cl.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	last = after
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "id: "):
			ev.ID = l[4:]
		case strings.HasPrefix(l, "event: "):
			ev.Type = l[7:]
		case strings.HasPrefix(l, "data: "):
			ev.Data = json.RawMessage(l[6:])
		case l == "":
			if ev.Type == "" {
				continue
			}
			last = ev.ID
			if ev.Type == "end" {
				return last, true
			}
			if !fn(ev) {
				return last, false
			}
			ev = sseEvent{}
		}
	}
	return last, false
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server and an agent")
	}
	bin, err := binaries()
	require.NoError(t, err)
	dir := t.TempDir()
	fleetFile, files := writeE2EFleet(t, dir)
	dataDir := filepath.Join(dir, "data")
	port := freePort(t)
	s := startServer(t, bin, dataDir, port, "--fleet", fleetFile)
	require.NotEmpty(t, s.admin, "the first start prints an admin token")
	// a browser opening the printed URL lands on the console
	req, err := http.NewRequest("GET", s.url+"/", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/html")
	resp, err := insecure.Transport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/console/", resp.Header.Get("Location"))
	scenario(t, bin, dir, files, s, s, func() *server {
		s2 := startServer(t, bin, dataDir, port)
		require.Empty(t, s2.admin, "the admin token is shown at the first start only")
		s2.admin = s.admin
		return s2
	})
}

func writeE2EFleet(t *testing.T, dir string) (fleetFile, files string) {
	files = filepath.Join(dir, "files")
	require.NoError(t, os.MkdirAll(files, 0o755))
	fleetFile = filepath.Join(dir, "fleet.yaml")
	require.NoError(t, os.WriteFile(fleetFile, []byte(strings.ReplaceAll(e2eFleet, "DIR", files)), 0o644))
	return fleetFile, files
}

// scenario enrols an agent with worker (the process the agent connects
// to), runs the sessions through api (the process the API calls go to:
// worker itself, or another process over the same database), kills worker
// with SIGKILL mid-action and has restart start it again.
func scenario(t *testing.T, bin, dir, files string, worker, apiSrv *server, restart func() *server) {
	s := apiSrv
	port := worker.port()
	// health and readiness
	var st map[string]any
	require.Equal(t, 200, call(t, s.url, "", "GET", "/healthz", nil, &st))
	require.Equal(t, 200, call(t, s.url, "", "GET", "/readyz", nil, &st))

	// an install token for the lab tenant, through the API
	var it struct {
		Token   string `json:"token"`
		Command string `json:"command"`
	}
	require.Equal(t, 201, call(t, s.url, s.admin, "POST", "/api/install-tokens", map[string]any{"tenant": "lab", "max_uses": 1}, &it))
	require.Contains(t, it.Command, "--token "+it.Token)

	// a real agent enrols
	agentCtx, stopAgent := context.WithCancel(context.Background())
	defer stopAgent()
	agentLog := &lockedWriter{w: &bytes.Buffer{}}
	agent := exec.CommandContext(agentCtx, filepath.Join(bin, "immy-agent"),
		"--server", "wss://localhost:"+port+"/agent", "--token", it.Token, "--pin", certPin(t, worker.dataDir),
		"--state", filepath.Join(dir, "agent-state.json"), "--backoff-max", "500ms")
	agent.Stdout, agent.Stderr = agentLog, agentLog
	require.NoError(t, agent.Start())
	defer func() { stopAgent(); _ = agent.Wait() }()

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

	// a session, followed until the slow install is under way
	var rep struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	require.Equal(t, 201, call(t, s.url, s.admin, "POST", "/api/sessions", map[string]any{"computer": computer}, &rep), "%s", s.stderr)
	sessionID := rep.ID
	last, ended := follow(t, s, sessionID, "", func(ev sseEvent) bool {
		var rec struct {
			Action *struct {
				Planned struct {
					Item string `json:"item"`
				} `json:"planned"`
				Status string `json:"status"`
			} `json:"action"`
		}
		_ = json.Unmarshal(ev.Data, &rec)
		return !(ev.Type == "action" && rec.Action != nil && rec.Action.Planned.Item == "slow" && rec.Action.Status == "performing")
	})
	if ended {
		var rep map[string]any
		call(t, s.url, s.admin, "GET", "/api/sessions/"+sessionID, nil, &rep)
		t.Fatalf("the session ended before its slow action ran: %v\nworker:\n%s", rep, worker.stderr)
	}

	// the change is made (the script writes first, then sleeps): kill the server
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(files, "slow.version"))
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	require.NoError(t, worker.cmd.Process.Signal(syscall.SIGKILL))
	_ = worker.cmd.Wait()

	// started again, the session resumes; its stream goes on from the last event seen
	s2 := restart()
	if apiSrv != worker {
		s2 = apiSrv
	}
	_, ended = follow(t, s2, sessionID, last, func(sseEvent) bool { return true })
	require.True(t, ended, "the resumed session ends:\n%s", s2.stderr)
	var final struct {
		Status  string `json:"status"`
		Actions []struct {
			Planned struct {
				Item   string `json:"item"`
				Action string `json:"action"`
			} `json:"planned"`
			Result string `json:"result"`
		} `json:"actions"`
	}
	require.Equal(t, 200, call(t, s2.url, s2.admin, "GET", "/api/sessions/"+sessionID, nil, &final))
	require.Equal(t, "passed", final.Status)
	runs, err := os.ReadFile(filepath.Join(files, "runs"))
	require.NoError(t, err)
	require.Equal(t, "quick\nslow\n", string(runs), "each install ran once: the resumed session did not repeat the change")

	// compliant: a second session plans nothing
	require.Eventually(t, func() bool {
		return call(t, s2.url, s2.admin, "POST", "/api/sessions", map[string]any{"computer": computer}, &rep) == 201
	}, 20*time.Second, 200*time.Millisecond)
	_, ended = follow(t, s2, rep.ID, "", func(sseEvent) bool { return true })
	require.True(t, ended)
	require.Equal(t, 200, call(t, s2.url, s2.admin, "GET", "/api/sessions/"+rep.ID, nil, &final))
	require.Equal(t, "passed", final.Status)
	require.Len(t, final.Actions, 2)
	for _, a := range final.Actions {
		require.Equal(t, "none", a.Planned.Action, "nothing to do for %s", a.Planned.Item)
	}
	runs, _ = os.ReadFile(filepath.Join(files, "runs"))
	require.Equal(t, "quick\nslow\n", string(runs))

	// the inventory the agent reported is in the fleet store
	var comp struct {
		Inventory struct {
			OS     string `json:"os"`
			Online bool   `json:"online"`
		} `json:"inventory"`
	}
	require.Equal(t, 200, call(t, s2.url, s2.admin, "GET", "/api/computers/"+computer, nil, &comp))
	require.NotEmpty(t, comp.Inventory.OS)

	// the fleet's event stream: every record of both sessions, as JSON
	{
		evs := fleetEvents(t, s2, "?tenant=lab")
		kinds := map[string]int{}
		for _, ev := range evs {
			var fe struct {
				Session string `json:"session"`
				Record  struct {
					Kind string `json:"kind"`
					Seq  int    `json:"seq"`
				} `json:"record"`
			}
			require.NoError(t, json.Unmarshal(ev.Data, &fe), "%s", ev.Data)
			require.Equal(t, ev.Type, fe.Record.Kind)
			kinds[fe.Record.Kind]++
		}
		require.Greater(t, kinds["action"], 4, "the actions of both sessions: %v", kinds)
		require.Equal(t, 2, kinds["plan"], "%v", kinds)
		require.Empty(t, fleetEvents(t, s2, "?tenant=northwind"), "another tenant's stream has none of them")
	}

	// graceful shutdown
	require.NoError(t, s2.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, s2.cmd.Wait(), "%s", s2.stderr)
}

// fleetEvents reads /api/events for a moment.
func fleetEvents(t *testing.T, s *server, query string) []sseEvent {
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/api/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	resp, err := (&http.Client{Transport: insecure.Transport}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var out []sseEvent
	var ev sseEvent
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "id: "):
			ev.ID = l[4:]
		case strings.HasPrefix(l, "event: "):
			ev.Type = l[7:]
		case strings.HasPrefix(l, "data: "):
			ev.Data = json.RawMessage(l[6:])
		case l == "" && ev.Type != "":
			out = append(out, ev)
			ev = sseEvent{}
		}
	}
	return out
}

func (s *server) port() string {
	return s.url[strings.LastIndex(s.url, ":")+1:]
}
