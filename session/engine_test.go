package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

func manyFleet(n int) *immy.Fleet {
	f := appFleet("", immy.DesiredLatest, "")
	f.Computers = nil
	for i := range n {
		f.Computers = append(f.Computers, immy.Computer{ID: fmt.Sprintf("pc%d", i), Tenant: "t1", Kind: immy.KindWorkstation})
	}
	return f
}

func TestOneActiveSessionPerComputer(t *testing.T) {
	h := newHarness(t, manyFleet(1), nil)
	h.fake.Computer("pc0").Inject(immytest.Fault{Match: "install", Effect: immytest.FaultHang})
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc0"})
	require.NoError(t, err)
	_, err = h.engine.Start(context.Background(), Request{Computer: "pc0", Source: AdHoc})
	var busy *BusyError
	require.ErrorAs(t, err, &busy)
	require.Equal(t, id, busy.Session)
	active, ok := h.engine.Active("pc0")
	require.True(t, ok)
	require.Equal(t, id, active)
	require.NoError(t, h.engine.Cancel(id))
	h.wait(id)
	_, ok = h.engine.Active("pc0")
	require.False(t, ok)
	h.fake.Computer("pc0").ClearFaults()
	require.Equal(t, Passed, h.run(Request{Computer: "pc0"}).Status)
}

func TestQueueOrder(t *testing.T) {
	h := newHarness(t, manyFleet(6), func(c *Config) { c.MaxRunning = 1 })
	h.fake.Computer("pc0").Inject(immytest.Fault{Match: "install", Effect: immytest.FaultHang})
	sub := h.engine.Subscribe("")
	defer sub.Close()
	first, err := h.engine.Start(context.Background(), Request{Computer: "pc0"})
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool { return ev.Kind == EventAction && ev.Action.Status == Performing })
	reqs := []Request{
		{Computer: "pc1", Source: Scheduled},
		{Computer: "pc2", Source: FromOnboarding},
		{Computer: "pc3", Source: AdHoc},
		{Computer: "pc4", Kind: OnboardingRun},
		{Computer: "pc5", Source: AdHoc},
	}
	var ids []string
	for _, r := range reqs {
		id, err := h.engine.Start(context.Background(), r)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	running, queued := h.engine.Counts()
	require.Equal(t, 1, running)
	require.Equal(t, 5, queued)
	require.NoError(t, h.engine.Cancel(first))
	for _, id := range ids {
		require.Equal(t, Passed, h.wait(id).Status)
	}
	var order []string
	for _, r := range h.journal.Records() {
		if r.Kind == RecordStatus && r.Status == Running {
			rep, _ := h.engine.Report(r.Session)
			order = append(order, rep.Computer)
		}
	}
	require.Equal(t, []string{"pc0", "pc3", "pc5", "pc2", "pc4", "pc1"}, order, "ad hoc, then onboarding, then scheduled, each in arrival order")
}

func TestOnboardingSession(t *testing.T) {
	f := appFleet("", immy.DesiredLatest, "")
	f.Tasks = []immy.Task{{ID: "welcome", OnboardingOnly: true}}
	f.Deployments = append(f.Deployments, immy.Deployment{ID: "d-welcome", Item: "welcome", Target: immy.Target{Type: immy.TargetAllComputers},
		Mode: immy.ModeEnforce})
	h := newHarness(t, f, nil)

	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, []string{"app:install"}, changes(rep.Actions), "the onboarding task runs only in onboarding sessions")

	h.fake.Computer("pc1").Uninstall("App")
	rep = h.run(Request{Computer: "pc1", Kind: OnboardingRun})
	require.Equal(t, Passed, rep.Status)
	require.Equal(t, []string{
		"welcome:task-enforce:complete:success:verified",
		"app:install:complete:success:verified",
	}, outcomes(rep.Actions))
	require.True(t, rep.Actions[0].Onboarding)
	require.False(t, rep.Actions[1].Onboarding)
	var stages []Stage
	for _, r := range h.journal.Records() {
		if r.Session == rep.ID && r.Kind == RecordStage {
			stages = append(stages, r.Stage)
		}
	}
	require.Equal(t, []Stage{StageInventory, StageResolution, StageOnboarding, StageDetection, StageExecution}, stages)
}

func TestExcludedComputer(t *testing.T) {
	f := appFleet("", immy.DesiredLatest, "")
	f.Computers[0].ExcludedFromMaintenance = true
	h := newHarness(t, f, nil)
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status)
	require.Equal(t, ReasonExcluded, rep.Reason)
	require.Empty(t, rep.Actions)
	runs := h.fake.Computer("pc1").Runs()
	require.Len(t, runs, 1, "an excluded computer is still inventoried, and nothing else")
	require.True(t, runs[0].Inventory)
}

func TestStartValidates(t *testing.T) {
	h := newHarness(t, appFleet("", immy.DesiredLatest, ""), nil)
	_, err := h.engine.Start(context.Background(), Request{Computer: "nope", Kind: SingleItem, Reboot: 9})
	require.ErrorIs(t, err, immy.ErrNotFound)
	require.ErrorIs(t, err, immy.ErrInvalid)
	for _, want := range []string{`computer: unknown computer "nope"`, "item: a single-item session names its item", "reboot: unknown reboot preference 9"} {
		require.ErrorContains(t, err, want)
	}
	_, err = h.engine.Start(context.Background(), Request{Computer: "pc1", Kind: RerunAction})
	require.ErrorContains(t, err, "rerun: a rerun session names the action")
	_, err = h.engine.Start(context.Background(), Request{Computer: "pc1", Kind: SingleItem, Item: "app", Named: []string{"ghost"}})
	require.ErrorContains(t, err, `named: unknown item or deployment "ghost"`)
	_, err = h.engine.Wait(context.Background(), "s404")
	require.ErrorIs(t, err, immy.ErrNotFound)
	require.ErrorIs(t, h.engine.Cancel("s404"), immy.ErrNotFound)
	_, ok := h.engine.Report("s404")
	require.False(t, ok)
	id, err := h.engine.Start(context.Background(), Request{ID: "mine", Computer: "pc1"})
	require.NoError(t, err)
	require.Equal(t, "mine", id)
	h.wait(id)
	_, err = h.engine.Start(context.Background(), Request{ID: "mine", Computer: "pc1"})
	require.ErrorIs(t, err, immy.ErrInvalid)

	_, err = New(Config{})
	require.ErrorIs(t, err, immy.ErrInvalid)
	_, err = New(Config{Planner: h.planner})
	require.ErrorIs(t, err, immy.ErrInvalid)
}

func TestEvents(t *testing.T) {
	h := newHarness(t, appFleet("", immy.DesiredLatest, ""), nil)
	sub := h.engine.Subscribe("s1")
	other := h.engine.Subscribe("s2")
	defer other.Close()
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, "s1", rep.ID)
	var got []string
	for len(got) == 0 || got[len(got)-1] != "session:passed" {
		ev := <-sub.C
		switch ev.Kind {
		case EventSession:
			got = append(got, "session:"+ev.Status.String())
		case EventStage:
			got = append(got, "stage:"+ev.Stage.String())
		case EventAction:
			got = append(got, fmt.Sprintf("action:%d:%s", ev.Index, ev.Action.Status))
		}
		require.Equal(t, "s1", ev.Session)
		require.Equal(t, "pc1", ev.Computer)
	}
	sub.Close()
	want := []string{
		"session:pending", "session:running", "stage:inventory", "stage:resolution", "stage:detection",
		"action:0:not-started", "stage:execution", "action:0:performing", "action:0:determining-result",
		"action:0:complete", "session:passed",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	for range sub.C { // closed after Close
	}
	select {
	case ev := <-other.C:
		t.Fatalf("a subscription to s2 got an event of %s", ev.Session)
	default:
	}
}

// pathRunner is an integration's runner over the fake fleet that can be
// made offline, and records its calls.
type integration struct {
	name    string
	fake    *immytest.FakeFleet
	offline bool // for everything
	scripts bool // for scripts only
	mu      sync.Mutex
	calls   *[]string
}

func (r *integration) RunScript(ctx context.Context, req immy.ScriptRequest) (immy.ScriptResult, error) {
	r.mu.Lock()
	*r.calls = append(*r.calls, r.name+":script")
	r.mu.Unlock()
	if r.offline || r.scripts {
		return immy.ScriptResult{}, immy.ErrOffline
	}
	return r.fake.RunScript(ctx, req)
}

func (r *integration) Inventory(ctx context.Context, computer string) (immy.Inventory, error) {
	r.mu.Lock()
	*r.calls = append(*r.calls, r.name+":inventory")
	r.mu.Unlock()
	if r.offline {
		return immy.Inventory{}, immy.ErrOffline
	}
	return r.fake.Inventory(ctx, computer)
}

func TestPathways(t *testing.T) {
	f := appFleet("", immy.DesiredLatest, "")
	f.Computers[0].Pathways = []immy.Pathway{
		{Integration: "rmm-a", AgentID: "a1", Online: false, Priority: 0},
		{Integration: "rmm-b", AgentID: "b1", Online: true, Priority: 1},
		{Integration: "rmm-c", AgentID: "c1", Online: true, Priority: 5},
	}
	var calls []string
	var a, b, c *integration
	h := newHarness(t, f, func(cfg *Config) {
		fake := cfg.Runner.(*immytest.FakeFleet)
		a = &integration{name: "a", fake: fake, calls: &calls}
		b = &integration{name: "b", fake: fake, calls: &calls}
		c = &integration{name: "c", fake: fake, calls: &calls, offline: true}
		cfg.Runner, cfg.Inventory = nil, nil
		cfg.Runners = map[string]immy.ScriptRunner{"rmm-a": a, "rmm-b": b, "rmm-c": c}
	})
	rep := h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status, rep.Reason)
	// c is online and first by priority, but answers offline: reads move on
	// to b (online), and c is then tried last.
	require.Equal(t, []string{"c:inventory", "b:inventory", "b:script", "b:inventory"}, calls)

	// A change that meets an offline pathway is not retried blindly on the
	// next one: the action is detected again there first.
	calls = nil
	h.fake.Computer("pc1").Uninstall("App")
	b.scripts = true
	h.engine.SetPathwayOnline("pc1", "rmm-a", true)
	h.engine.SetPathwayOnline("pc1", "rmm-b", true)
	h.engine.SetPathwayOnline("pc1", "rmm-c", false)
	rep = h.run(Request{Computer: "pc1"})
	require.Equal(t, Passed, rep.Status, rep.Reason)
	require.Equal(t, []string{"b:inventory", "b:script", "a:inventory", "a:script", "a:inventory"}, calls)
	require.Equal(t, 2, rep.Actions[0].Attempts)
}

func TestCloseAndResume(t *testing.T) {
	h := newHarness(t, appFleet("", immy.DesiredLatest, ""), nil)
	pc := h.fake.Computer("pc1")
	pc.Inject(immytest.Fault{Match: "install", Effect: immytest.FaultHang})
	sub := h.engine.Subscribe("")
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.NoError(t, err)
	waitFor(t, sub, func(ev Event) bool { return ev.Kind == EventAction && ev.Action.Status == Performing })
	sub.Close()
	require.NoError(t, h.engine.Close(context.Background()))
	_, err = h.engine.Wait(context.Background(), id)
	require.ErrorIs(t, err, ErrClosed)
	_, err = h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.ErrorIs(t, err, ErrClosed)

	pc.ClearFaults()
	e2 := h.newEngine()
	ids, err := e2.Resume(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{id}, ids)
	rep, err := e2.Wait(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, Passed, rep.Status)
	require.Equal(t, 2, rep.Actions[0].Attempts, "detected absent, then installed again")
	// New sessions of the second engine do not take the old ids.
	id2, err := e2.Start(context.Background(), Request{Computer: "pc1"})
	require.NoError(t, err)
	require.NotEqual(t, id, id2)
	_, err = e2.Wait(context.Background(), id2)
	require.NoError(t, err)
}

func TestJournalRecordsAreJSON(t *testing.T) {
	h := newHarness(t, smallFleet(), nil)
	rep := h.run(Request{Computer: "pc1"})
	b, err := json.Marshal(h.journal.Records())
	require.NoError(t, err)
	var recs []Record
	require.NoError(t, json.Unmarshal(b, &recs))
	j := &MemoryJournal{}
	for _, r := range recs {
		require.NoError(t, j.Append(context.Background(), r))
	}
	h.cfg.Journal = j
	e2 := h.newEngine()
	ids, err := e2.Resume(context.Background())
	require.NoError(t, err)
	require.Empty(t, ids, "an ended session is not resumed")
	got, ok := e2.Report(rep.ID)
	require.True(t, ok)
	want, _ := json.Marshal(rep)
	have, _ := json.Marshal(got)
	require.JSONEq(t, string(want), string(have))

	err = j.Append(context.Background(), Record{Session: rep.ID, Seq: 1, Kind: RecordStatus})
	require.ErrorIs(t, err, ErrOutOfSequence, "a record out of sequence")

	// One session's records alone, in order.
	var seqs []int
	require.NoError(t, j.ReplaySession(context.Background(), rep.ID, func(r Record) error {
		require.Equal(t, rep.ID, r.Session)
		seqs = append(seqs, r.Seq)
		return nil
	}))
	require.Len(t, seqs, len(j.Records()))
	for i, s := range seqs {
		require.Equal(t, i+1, s)
	}
	err = j.ReplaySession(context.Background(), "no-such-session", func(Record) error { return nil })
	require.ErrorIs(t, err, immy.ErrNotFound)
}

func TestResumeRejectsBrokenJournal(t *testing.T) {
	j := &MemoryJournal{}
	require.NoError(t, j.Append(context.Background(), Record{Session: "x", Seq: 1, Kind: RecordStatus, Status: Running}))
	h := newHarness(t, appFleet("", immy.DesiredLatest, ""), func(c *Config) { c.Journal = j })
	_, err := h.engine.Resume(context.Background())
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.ErrorContains(t, err, `session "x" starts with a status record`)
}

func TestWaitHonoursContext(t *testing.T) {
	h := newHarness(t, appFleet("", immy.DesiredLatest, ""), nil)
	h.fake.Computer("pc1").Inject(immytest.Fault{Match: "install", Effect: immytest.FaultHang})
	id, err := h.engine.Start(context.Background(), Request{Computer: "pc1"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = h.engine.Wait(ctx, id)
	require.True(t, errors.Is(err, context.Canceled))
	require.NoError(t, h.engine.Cancel(id))
	require.Equal(t, Cancelled, h.wait(id).Status)
}

func TestEnumsRoundTrip(t *testing.T) {
	for s := Created; s <= Cancelled; s++ {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back Status
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, s, back)
	}
	var st Stage
	require.ErrorIs(t, st.UnmarshalText([]byte("nope")), immy.ErrInvalid)
	_, err := Status(99).MarshalText()
	require.ErrorIs(t, err, immy.ErrInvalid)
	require.Equal(t, "status(99)", Status(99).String())
	require.True(t, Passed.Final())
	require.False(t, Postponed.Final())
	_ = time.Second
}
