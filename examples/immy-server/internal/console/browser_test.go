package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/agent"
	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/session/fleetstore"
)

// The browser test drives a real Chromium (headless, through chromedp)
// against the server's real wiring and a real immy-agent process. Without
// Chromium it is skipped, except under CI=true, where it fails (.ci/chromium
// installs it).

func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("console: no Chromium, and CI=true: run .ci/chromium first")
	}
	t.Skip("no Chromium (set CHROMIUM or install Debian's chromium)")
	return ""
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAgent builds immy-agent and enrols it into the lab tenant; it
// returns the id of its computer once online.
func startAgent(t *testing.T, e *env) string {
	bin := filepath.Join(t.TempDir(), "immy-agent")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/immyoss/engine/agent/cmd/immy-agent").CombinedOutput()
	require.NoError(t, err, "%s", out)
	tok, _, err := e.c.Agents.CreateInstallToken(context.Background(), "lab", agent.TokenOptions{Expires: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	logs := &lockedBuf{}
	cmd := exec.CommandContext(ctx, bin, "--server", "wss://"+strings.TrimPrefix(e.srv.URL, "https://")+"/agent",
		"--token", tok, "--pin", e.pin, "--state", filepath.Join(e.dir, "agent-state.json"), "--backoff-max", "500ms")
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stop(); _ = cmd.Wait() })
	var computer string
	require.Eventually(t, func() bool {
		f := e.c.Fleet.Fleet()
		for i := range f.Computers {
			if c := &f.Computers[i]; c.Tenant == "lab" {
				if st, ok := e.c.Agents.Status(c.ID); ok && st.Online {
					computer = c.ID
					return true
				}
			}
		}
		return false
	}, 60*time.Second, 200*time.Millisecond, "the agent's computer comes online in the lab tenant:\n%s", logs)
	return computer
}

// page checks, on the page the browser shows, that it has exactly one h1
// and that every form control has a label, and saves a screenshot.
func checkPage(t *testing.T, ctx context.Context, shots, name string) {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
		const bad = [];
		for (const el of document.querySelectorAll("input, select, textarea")) {
			if (el.type === "hidden") continue;
			const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
			if (!named) bad.push(el.outerHTML.slice(0, 80));
		}
		for (const b of document.querySelectorAll("button")) {
			if (!b.textContent.trim() && !b.getAttribute("aria-label")) bad.push(b.outerHTML.slice(0, 80));
		}
		return {h1: document.querySelectorAll("h1").length, unlabelled: bad, title: document.title};
	})()`))
	require.NoError(t, err, name)
	require.EqualValues(t, 1, res["h1"], "%s: exactly one h1", name)
	require.Empty(t, res["unlabelled"], "%s: every form control has a label", name)
	// the whole page; the viewport when Chromium cannot (it sometimes
	// answers "0 width" for a page still laying out)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	for i := 0; err != nil && i < 3; i++ {
		time.Sleep(300 * time.Millisecond)
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	}
	if err != nil {
		png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
	}
	require.NoError(t, err, name)
	require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644))
}

func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	// evaluated again and again: a navigation in between loses the page's
	// execution context, which a single poll does not survive
	deadline := time.Now().Add(90 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("waiting for %s (%s): %v", what, expr, last)
}

func text(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	require.NoError(t, err, expr)
	return s
}

// layout is where the computer page's parts are, in CSS pixels from the
// top of the document.
type layout struct {
	Plan      float64 `json:"plan"`
	Inventory float64 `json:"inventory"`
	Height    float64 `json:"height"`
	Open      bool    `json:"open"`
	Rows      int     `json:"rows"`
}

func layoutOf(t *testing.T, ctx context.Context) layout {
	t.Helper()
	l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](`(() => {
		const top = (sel) => document.querySelector(sel).getBoundingClientRect().top + window.scrollY;
		return {plan: top("#plan"), inventory: top("#inventory"), height: document.documentElement.scrollHeight,
			open: document.querySelector("#software").open, rows: document.querySelectorAll("#software-table tbody tr").length};
	})()`))
	require.NoError(t, err)
	return l
}

// bigInventory gives a computer n detected software, pkg-0000 onwards.
func bigInventory(t *testing.T, e *env, computer string, n int) {
	t.Helper()
	sw := make([]immy.DetectedSoftware, n)
	for i := range sw {
		v, err := immy.ParseVersion(fmt.Sprintf("1.%d.0-%d", i%37, i))
		require.NoError(t, err)
		sw[i] = immy.DetectedSoftware{Name: fmt.Sprintf("pkg-%04d", i), Version: v, Publisher: "Debian"}
	}
	_, err := e.c.Fleet.PutInventory(context.Background(), []fleetstore.Inventory{{Computer: computer, Software: sw}})
	require.NoError(t, err)
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium and a real agent")
	}
	exe := chromium(t)
	e := newEnv(t)
	computer := startAgent(t, e)
	bigInventory(t, e, "other-pc", 3000)
	// screenshots are test artifacts: under the test's temporary directory,
	// or kept where IMMY_CONSOLE_SHOTS says
	shots := t.TempDir()
	if d := os.Getenv("IMMY_CONSOLE_SHOTS"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		shots = d
	}
	t.Logf("screenshots in %s", shots)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1200, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx, cancel := context.WithTimeout(bctx, 8*time.Minute)
	defer cancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...), what)
	}
	signIn := func(token string) {
		do("sign in", chromedp.Navigate(e.url("/console/signin")), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Submit(chromedp.CSS("#token")))
		waitJS(t, ctx, "the fleet page", `document.querySelector("h1") && document.querySelector("h1").textContent === "Fleet"`)
	}

	// sign in as an admin: the fleet. A newcomer opens the server's URL
	// (the one immy-server prints): the browser lands on the console.
	do("open the server's URL", chromedp.Navigate(e.url("/")))
	waitJS(t, ctx, "the sign-in page", `!!document.querySelector("#token") && location.pathname === "/console/signin"`)
	checkPage(t, ctx, shots, "signin")
	signIn(e.tokens["admin"])
	require.Contains(t, text(t, ctx, `document.querySelector("#computers").textContent`), "Other PC")
	checkPage(t, ctx, shots, "fleet")

	// open the agent's computer: quick is to be installed
	do("open the computer", chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/console/computers/%s"]`, computer))))
	waitJS(t, ctx, "the computer page", `!!document.querySelector("#plan")`)
	// quick is detected by a script: the agent's session decides it
	require.Contains(t, text(t, ctx, `document.querySelector('#plan tr[data-item="quick"]').textContent`), "decided-at-detection")
	require.Contains(t, text(t, ctx, `document.querySelector('#plan tr[data-item="quick"] .winner').textContent`), "quick-latest")
	require.Equal(t, "quick", text(t, ctx, `document.querySelector('#item option[value="quick"]').value`), "the item planned can be run alone")
	checkPage(t, ctx, shots, "computer")
	// the plan comes first; the inventory (every package the real agent
	// found) is collapsed below it, and the page is a few screens at most
	l := layoutOf(t, ctx)
	require.Less(t, l.Plan, l.Inventory, "the plan is above the inventory: %+v", l)
	require.False(t, l.Open, "the inventory is collapsed")
	require.Less(t, l.Height, 2500.0, "the computer page's height with %s", text(t, ctx, `document.querySelector("#software summary").textContent`))

	// start a full session and see its actions turn complete, live
	do("start a session", chromedp.Click(chromedp.CSS("#start-full")))
	waitJS(t, ctx, "the session page", `!!document.querySelector("#live")`)
	// the page was made while the session ran (its controls and output are
	// there only then): what follows comes live, without a reload
	require.Equal(t, "false", text(t, ctx, `document.querySelector("#status").dataset.final`))
	checkPage(t, ctx, shots, "session-live")
	waitJS(t, ctx, "the session to pass, live", `document.querySelector("#status") && document.querySelector("#status").textContent === "passed"`)
	rows := text(t, ctx, `Array.from(document.querySelectorAll("#actions tbody tr[data-status]")).map(r => r.dataset.status).join(",")`)
	require.Equal(t, "complete", rows, "the one action (install quick) completed")
	waitJS(t, ctx, "the script's output, streamed", `document.querySelector("#output").textContent.includes("installing quick")`)
	checkPage(t, ctx, shots, "session-done")
	sessionURL, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)

	// a finished session reads the same from the journal
	do("reload the session", chromedp.Navigate(sessionURL))
	waitJS(t, ctx, "the finished session", `document.querySelector("#status") && document.querySelector("#status").textContent === "passed" && !document.querySelector("#controls")`)

	clearFilter := chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[chromedp.Void](`document.querySelector("#filter").value = ""`)(ctx, tg)
		return chromedp.Void{}, err
	})
	// the deployment editor: a filter with an error, shown at its position
	do("open the editor", chromedp.Navigate(e.url("/console/deployments/slow-filtered")))
	waitJS(t, ctx, "the editor", `!!document.querySelector("#filter")`)
	do("break the filter", clearFilter, chromedp.SendKeys(chromedp.CSS("#filter"), `computer.nosuch == "x"`))
	waitJS(t, ctx, "the positioned error", `document.querySelector("#filter-status").className === "error" && document.querySelector("#filter-status").textContent.includes("column")`)
	msg := text(t, ctx, `document.querySelector("#filter-status").textContent`)
	require.Contains(t, msg, "Line 1, column 10")
	require.Contains(t, text(t, ctx, `document.querySelector("#filter-caret").textContent`), "\n         ^")
	checkPage(t, ctx, shots, "editor-error")

	// fixed: it compiles, and the what-if counts show before saving
	do("fix the filter", clearFilter, chromedp.SendKeys(chromedp.CSS("#filter"), `computer.tenant == "lab"`))
	waitJS(t, ctx, "the filter to compile", `document.querySelector("#filter-status").textContent === "The filter compiles."`)
	do("preview", chromedp.Click(chromedp.CSS("#preview")))
	waitJS(t, ctx, "the what-if", `!!document.querySelector("#whatif")`)
	require.Equal(t, "1", text(t, ctx, `document.querySelector("#whatif-computers").textContent`))
	require.Equal(t, "1", text(t, ctx, `document.querySelector("#whatif-winner").textContent`))
	// slow is detected by a script: its action is decided at detection
	require.Equal(t, "0", text(t, ctx, `document.querySelector("#whatif-install").textContent`))
	require.Contains(t, text(t, ctx, `document.querySelector("#whatif-list").textContent`), computer)
	checkPage(t, ctx, shots, "editor-whatif")
	do("save", chromedp.Click(chromedp.CSS("#save")))
	waitJS(t, ctx, "saved", `document.querySelector(".flash") && document.querySelector(".flash").textContent === "Saved."`)
	require.Equal(t, `computer.tenant == "lab"`, text(t, ctx, `document.querySelector("#filter").value`))

	// the plan changed: slow is to be installed on the agent's computer
	do("open the computer again", chromedp.Navigate(e.url("/console/computers/"+computer)))
	waitJS(t, ctx, "the plan with slow", `!!document.querySelector('#plan tr[data-item="slow"]')`)
	require.Contains(t, text(t, ctx, `document.querySelector('#plan tr[data-item="slow"]').textContent`), "decided-at-detection")
	require.Contains(t, text(t, ctx, `document.querySelector('#plan tr[data-item="slow"] .winner').textContent`), "slow-filtered")

	// on a phone's width the page does not scroll sideways (wide tables
	// scroll inside their own box)
	do("a phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(e.url("/console/computers/"+computer)))
	waitJS(t, ctx, "the computer page on a phone", `!!document.querySelector("#plan")`)
	require.Equal(t, "fits", text(t, ctx, `document.documentElement.scrollWidth <= window.innerWidth + 1 ? "fits" : "overflows by " + (document.documentElement.scrollWidth - window.innerWidth)`))
	require.Less(t, layoutOf(t, ctx).Height, 4000.0, "the computer page's height on a phone")
	checkPage(t, ctx, shots, "computer-phone")
	do("a laptop", chromedp.EmulateViewport(1200, 900))

	// a large inventory (3,000 software): collapsed, 50 rows a page,
	// searched on the server, all by keyboard
	do("a large inventory", chromedp.Navigate(e.url("/console/computers/other-pc")))
	waitJS(t, ctx, "the computer page", `!!document.querySelector("#software")`)
	l = layoutOf(t, ctx)
	require.Less(t, l.Plan, l.Inventory, "the plan is above the inventory: %+v", l)
	require.False(t, l.Open, "the inventory is collapsed")
	require.Less(t, l.Height, 2500.0, "the page's height with 3,000 software, collapsed")
	require.Equal(t, "Software found: 3000", text(t, ctx, `document.querySelector("#software summary").textContent`))
	do("open the inventory with the keyboard", chromedp.Focus(chromedp.CSS("#software summary")), chromedp.KeyEvent("\r"))
	waitJS(t, ctx, "the inventory open", `document.querySelector("#software").open`)
	l = layoutOf(t, ctx)
	require.Equal(t, 50, l.Rows, "one page of 50 rows")
	require.Less(t, l.Height, 5000.0, "the page's height with 3,000 software, open")
	require.Equal(t, "Rows 1 to 50 of 3000", text(t, ctx, `document.querySelector("#software-caption").textContent`))
	checkPage(t, ctx, shots, "computer-inventory")
	do("search by keyboard", chromedp.Focus(chromedp.CSS("#inv-q")), chromedp.SendKeys(chromedp.CSS("#inv-q"), "PKG-02\r"))
	waitJS(t, ctx, "the search's first page", `location.search.includes("inv_q=PKG-02") && !!document.querySelector("#software-caption")`)
	require.Equal(t, "Rows 1 to 50 of 100 matching “PKG-02” (of 3000)", text(t, ctx, `document.querySelector("#software-caption").textContent`))
	require.True(t, layoutOf(t, ctx).Open, "the inventory stays open after a search")
	do("the next page by keyboard", chromedp.Focus(chromedp.CSS("#software-next")), chromedp.KeyEvent("\r"))
	waitJS(t, ctx, "the search's second page", `location.search.includes("inv_page=2") && !!document.querySelector("#software-caption")`)
	require.Equal(t, "Rows 51 to 100 of 100 matching “PKG-02” (of 3000)", text(t, ctx, `document.querySelector("#software-caption").textContent`))
	require.Equal(t, "pkg-0250", text(t, ctx, `document.querySelector("#software-table tbody td").textContent`))
	require.Equal(t, "Page 2 of 2", text(t, ctx, `document.querySelector(".pager [aria-current]").textContent`))
	require.Equal(t, "no", text(t, ctx, `document.querySelector("#software-next") ? "yes" : "no"`), "the last page has no next")
	checkPage(t, ctx, shots, "computer-inventory-search")

	// the other pages
	for _, p := range []struct{ path, name, h1 string }{
		{"/console/deployments", "deployments", "Deployments"},
		{"/console/audit", "audit", "Audit log"},
		{"/console/integrations", "integrations", "Integrations"},
	} {
		do(p.name, chromedp.Navigate(e.url(p.path)))
		waitJS(t, ctx, p.name, fmt.Sprintf(`document.querySelector("h1") && document.querySelector("h1").textContent === %q`, p.h1))
		checkPage(t, ctx, shots, p.name)
	}
	require.Contains(t, text(t, ctx, `document.body.textContent`), computer[:0]+"online")
	do("audit of lab", chromedp.Navigate(e.url("/console/audit?tenant=lab")))
	require.Contains(t, text(t, ctx, `document.body.textContent`), "update deployment slow-filtered", "the save is in the audit log")

	// keyboard: the sign-out button is reachable with Tab and works with Enter
	do("sign out", chromedp.Navigate(e.url("/console/fleet")))
	waitJS(t, ctx, "fleet", `!!document.querySelector("#computers")`)
	_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector(".signout button").focus()`))
	require.NoError(t, err)
	do("press enter", chromedp.KeyEvent("\r"))
	waitJS(t, ctx, "signed out", `!!document.querySelector("#token")`)

	// a lab tenant-user sees its tenant only; another tenant's pages are 404
	signIn(e.tokens["lab"])
	require.NotContains(t, text(t, ctx, `document.body.textContent`), "other-pc")
	checkPage(t, ctx, shots, "fleet-tenant-user")
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(e.url("/console/computers/other-pc")))
	require.NoError(t, err)
	require.EqualValues(t, 404, resp.Status)
	require.Equal(t, "Not found", text(t, ctx, `document.querySelector("h1").textContent`))
	require.NotContains(t, text(t, ctx, `document.body.textContent`), "Other PC")
	checkPage(t, ctx, shots, "not-found")
	resp, err = chromedp.RunResponse(ctx, chromedp.Navigate(e.url("/console/computers/"+computer)))
	require.NoError(t, err)
	require.EqualValues(t, 200, resp.Status, "its own tenant's computer")

	// the screenshots are there
	ents, err := os.ReadDir(shots)
	require.NoError(t, err)
	var names []string
	for _, de := range ents {
		names = append(names, de.Name())
	}
	b, _ := json.Marshal(names)
	t.Logf("screenshots: %s", b)
}
