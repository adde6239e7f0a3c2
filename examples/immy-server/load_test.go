package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/agent/endpoint"
	"github.com/immyoss/engine/agent/sysinfo"
	"github.com/immyoss/engine/examples/immy-server/internal/api"
	"github.com/immyoss/engine/examples/immy-server/internal/auth"
	"github.com/immyoss/engine/examples/immy-server/internal/core"
	"github.com/immyoss/engine/examples/immy-server/internal/tlsutil"
	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/session"
)

// BenchmarkLoad is the bounded load test of the server on loopback: 2,000
// agents connected (real agent/endpoint clients over TLS, all in this
// process; IMMY_LOAD_AGENTS to change), then, per iteration, 200 sessions
// started at once through the HTTP API (IMMY_LOAD_SESSIONS) and worked to
// their end through the River queue on SQLite. Each agent reads a Linux
// file system of a few files (a dpkg status with the tenant's software),
// and each session reads its inventory and detects a software and a task
// (a Lua test run on the agent): a session with nothing to change.
// It reports sessions/s, the p99 latency of the API's session starts, and
// the heap in use.
//
//	go test -run '^$' -bench BenchmarkLoad -benchtime 3x ./examples/immy-server
func BenchmarkLoad(b *testing.B) {
	nAgents, nSessions := envInt("IMMY_LOAD_AGENTS", 2000), envInt("IMMY_LOAD_SESSIONS", 200)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	root := filepath.Join(dir, "root")
	for name, body := range map[string]string{
		"etc/hostname":          "load-host\n",
		"etc/machine-id":        "0123456789abcdef0123456789abcdef\n",
		"etc/os-release":        "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
		"var/lib/dpkg/status":   "Package: loadapp\nStatus: install ok installed\nVersion: 1.0\nMaintainer: Load Test <load@example.com>\n\n",
		"proc/sys/kernel/.keep": "",
	} {
		p := filepath.Join(root, name)
		must(b, os.MkdirAll(filepath.Dir(p), 0o755))
		must(b, os.WriteFile(p, []byte(body), 0o644))
	}
	c, err := core.Open(ctx, core.Config{DB: filepath.Join(dir, "immy.db"), ClientID: "load", MaxRunning: nSessions, FetchPoll: 20 * time.Millisecond})
	must(b, err)
	defer c.Close(context.Background())
	ff, err := fleetfile.Load("load.yaml", strings.NewReader(loadFleet))
	must(b, err)
	ch, err := c.Fleet.SourceChange(ctx, ff.Fleet, "load")
	must(b, err)
	ch.Actor = "load"
	_, err = c.Fleet.Apply(ctx, ch)
	must(b, err)
	tokens, err := auth.Open(ctx, c.SQL, nil)
	must(b, err)
	admin, _, err := tokens.Create(ctx, "load", auth.Admin, "", time.Time{})
	must(b, err)
	c.StartPresence(ctx)
	must(b, c.Start(ctx))
	h := api.New(api.Config{Core: c, Tokens: tokens})
	mux := http.NewServeMux()
	mux.Handle("/agent", c.Agents)
	mux.Handle("/", h)
	// the server's own certificate (ECDSA P-256, self-signed), as it serves
	cert, _, err := tlsutil.Load(filepath.Join(dir, "tls"), "", "")
	must(b, err)
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	pin := endpoint.Pin(sha256.Sum256(cert.Certificate[0]))
	tlsCfg, err := endpoint.PinnedTLS(pin)
	must(b, err)
	install, _, err := c.Agents.CreateInstallToken(ctx, "load", agent.TokenOptions{})
	must(b, err)

	// agents come in waves of a hundred (as after a server restart, their
	// jittered backoff spreads them), each wave enrolled before the next
	wsURL := "wss://" + strings.TrimPrefix(srv.URL, "https://") + "/agent"
	start := time.Now()
	var computers []string
	deadline := time.Now().Add(15 * time.Minute)
	for started := 0; started < nAgents; {
		for n := min(100, nAgents-started); n > 0; n-- {
			a, err := endpoint.New(endpoint.Config{Server: wsURL, InstallToken: install, TLS: tlsCfg,
				Sysinfo: &sysinfo.Source{Root: root}, MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second})
			must(b, err)
			go func() { _ = a.Run(ctx) }()
			started++
		}
		for {
			computers = computers[:0]
			f := c.Fleet.Fleet()
			for i := range f.Computers {
				if f.Computers[i].Tenant == "load" && f.Computers[i].Online {
					computers = append(computers, f.Computers[i].ID)
				}
			}
			if len(computers) >= started {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d agents online after 15 minutes", len(computers), started)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	b.Logf("%d agents enrolled and online in %s", nAgents, time.Since(start).Round(time.Millisecond))
	slices.Sort(computers)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxIdleConnsPerHost: nSessions}}
	var latencies []time.Duration
	var lmu sync.Mutex
	var done atomic.Int64
	b.ResetTimer()
	began := time.Now()
	for i := range b.N {
		ids := make([]string, nSessions)
		var wg sync.WaitGroup
		for j := range nSessions {
			comp := computers[(i*nSessions+j)%len(computers)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				req, _ := http.NewRequest("POST", srv.URL+"/api/sessions", bytes.NewReader([]byte(`{"computer":"`+comp+`"}`)))
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				lmu.Lock()
				latencies = append(latencies, d)
				lmu.Unlock()
				if resp.StatusCode != 201 {
					b.Errorf("start: %d %s", resp.StatusCode, buf.String())
					return
				}
				if k := strings.Index(buf.String(), `"id":"`); k >= 0 {
					rest := buf.String()[k+6:]
					ids[j] = rest[:strings.Index(rest, `"`)]
				}
			}()
		}
		wg.Wait()
		// every session to its end, read from the journal
		for _, id := range ids {
			if id == "" {
				continue
			}
			for {
				e, err := c.Engine(ctx)
				must(b, err)
				rep, err := e.Journaled(ctx, id)
				must(b, err)
				if rep.Status.Final() {
					if rep.Status != session.Passed {
						b.Fatalf("session %s: %s %s %s", id, rep.Status, rep.Reason, rep.Message)
					}
					done.Add(1)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	elapsed := time.Since(began)
	b.StopTimer()
	slices.Sort(latencies)
	p99 := latencies[(len(latencies)*99)/100-1]
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(done.Load())/elapsed.Seconds(), "sessions/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-start-ms")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(nAgents), "agents")
}

const loadFleet = `version: 1
tenants:
  - {id: load, name: Load}
software:
  - id: loadapp
    name: Load App
    tenant: load
    detection: {display_name: loadapp}
    versions: [{version: "1.0"}]
tasks:
  - id: load-check
    name: Load check
    tenant: load
    test: {language: lua, body: "return true"}
    set: {language: lua, body: "return true"}
deployments:
  - {id: loadapp-latest, item: loadapp, target: {type: all-computers, tenant: load}, desired: latest}
  - {id: load-check-enforced, item: load-check, target: {type: all-computers, tenant: load}, mode: enforce}
`

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func must(b testing.TB, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(fmt.Sprint(err))
	}
}
