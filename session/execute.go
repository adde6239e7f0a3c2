package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// Exit codes by which installers ask for a reboot (Windows' conventions):
// success, reboot required; and success, reboot started.
const (
	ExitRebootRequired  = 3010
	ExitRebootInitiated = 1641
)

// executeOne runs action i unless it ended: first the checks that fail it
// without running (a failed prerequisite, a failed software for its
// configuration task), then, for an action that was running when the session
// stopped, detection again, and only when that does not find the action done,
// its scripts; then verification by detecting again.
func (x *runCtx) executeOne(i int) error {
	a := x.action(i)
	if a.Status.Done() {
		return nil
	}
	if p, failed := x.failedDependency(i); failed {
		a.Status, a.Result = Skipped, ResultFailed
		if a.ItemKind == immy.ItemTask && p.ItemKind == immy.ItemSoftware && x.e.software[p.Item()].ConfigurationTask == a.Item() {
			a.Reason = ReasonSoftwareFailed + ":" + p.Item()
			a.Message = fmt.Sprintf("not run: the %s of %s, which it configures, did not succeed", p.Planned.Action, p.Item())
		} else {
			a.Reason = ReasonPrerequisiteFailed + ":" + p.Item()
			a.Message = fmt.Sprintf("not run: the %s of its prerequisite %s did not succeed", p.Planned.Action, p.Item())
		}
		return x.setAction(i, a)
	}
	switch a.Planned.Action {
	case resolver.ActionNone:
		if a.Planned.Reason == ReasonIgnored {
			a.Status, a.Result, a.Reason = Skipped, NoResult, ReasonIgnored
		} else {
			a.Status, a.Result, a.Reason = Complete, Success, a.Planned.Reason
		}
		return x.setAction(i, a)
	case resolver.ActionFail:
		a.Status, a.Result, a.Reason = Skipped, ResultFailed, a.Planned.Reason
		if a.Message == "" {
			a.Message = "failed before anything ran: " + a.Planned.Reason
		}
		return x.setAction(i, a)
	}
	if a.ItemKind == immy.ItemTask {
		return x.executeTask(i, a)
	}
	return x.executeSoftware(i, a)
}

// failedDependency returns the first action that action i depends on and
// that did not succeed.
func (x *runCtx) failedDependency(i int) (Action, bool) {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	acts := x.s.rep.Actions
	for _, j := range x.e.dependencies(acts, i) {
		switch acts[j].Result {
		case ResultFailed, ResultCancelled, Indeterminable:
			return acts[j], true
		}
	}
	return Action{}, false
}

// failAction ends an action that ran as failed.
func (x *runCtx) failAction(i int, a Action, reason, msg, output string) error {
	a.Status, a.Result, a.Reason, a.Message = Complete, ResultFailed, reason, msg
	if output != "" {
		a.Output = capText(output, x.e.cfg.MaxOutput)
	}
	return x.setAction(i, a)
}

func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// scriptFailure turns an error of a script that is not a stop into the
// action's reason and message.
func scriptFailure(err error, what string, red redactor) (reason, msg string) {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonScriptTimeout, fmt.Sprintf("the %s script did not finish in time", what)
	case errors.Is(err, immy.ErrNoUserLoggedOn):
		return ReasonNoUserLoggedOn, fmt.Sprintf("the %s script runs as the logged-on user, and nobody is logged on", what)
	}
	return ReasonRunnerError, fmt.Sprintf("the %s script could not run: %s", what, red.str(err.Error()))
}

// step is one script of a software action.
type step struct {
	what    string // install, uninstall, upgrade, repair
	script  *immy.Script
	version string // the version the step brings (install), or removes (uninstall)
}

// softwareSteps chooses the scripts of a software action by its strategy. A
// version's own script overrides the software's. reason is set when the
// action cannot run.
func softwareSteps(sw *immy.Software, a *Action) (steps []step, reason, msg string) {
	bring, detected := a.Planned.Version, a.Planned.Detected
	pick := func(v string, what string, ofVersion func(*immy.SoftwareVersion) *immy.Script, own *immy.Script) (step, bool) {
		if v != "" {
			if pv, err := immy.ParseVersion(v); err == nil {
				if sv, ok := sw.Version(pv); ok && ofVersion(sv) != nil {
					return step{what: what, script: ofVersion(sv), version: v}, true
				}
			}
		}
		if own == nil {
			return step{}, false
		}
		return step{what: what, script: own, version: v}, true
	}
	install := func(v string) (step, bool) {
		return pick(v, "install", func(sv *immy.SoftwareVersion) *immy.Script { return sv.Install }, sw.Install)
	}
	uninstall := func(v string) (step, bool) {
		return pick(v, "uninstall", func(sv *immy.SoftwareVersion) *immy.Script { return sv.Uninstall }, sw.Uninstall)
	}
	upgrade := func(v string) (step, bool) {
		return pick(v, "upgrade", func(sv *immy.SoftwareVersion) *immy.Script { return sv.Upgrade }, sw.Upgrade)
	}
	need := func(st step, ok bool, what, v string) bool {
		if !ok {
			reason = ReasonNoScript + ":" + what
			if v != "" {
				msg = fmt.Sprintf("software %q has no %s script, neither for version %s nor its own", sw.ID, what, v)
			} else {
				msg = fmt.Sprintf("software %q has no %s script", sw.ID, what)
			}
			return false
		}
		steps = append(steps, st)
		return true
	}
	switch a.Planned.Action {
	case resolver.ActionInstall:
		st, ok := install(bring)
		need(st, ok, "install", bring)
	case resolver.ActionUninstall:
		st, ok := uninstall(detected)
		need(st, ok, "uninstall", detected)
	case resolver.ActionDowngrade:
		// an installer rarely goes down: remove, then install the version
		if st, ok := uninstall(detected); need(st, ok, "uninstall", detected) {
			st, ok := install(bring)
			need(st, ok, "install", bring)
		}
	case resolver.ActionUpdate:
		strategy := sw.UpgradeStrategy
		if pv, err := immy.ParseVersion(bring); err == nil {
			if sv, ok := sw.Version(pv); ok && sv.UpgradeStrategy != immy.UpgradeUnset {
				strategy = sv.UpgradeStrategy
			}
		}
		switch strategy {
		case immy.UpgradeUninstallInstall:
			if st, ok := uninstall(detected); need(st, ok, "uninstall", detected) {
				st, ok := install(bring)
				need(st, ok, "install", bring)
			}
		case immy.UpgradeInstallOver:
			st, ok := install(bring)
			need(st, ok, "install", bring)
		case immy.UpgradeScript:
			st, ok := upgrade(bring)
			need(st, ok, "upgrade", bring)
		default:
			return nil, ReasonNoUpgradeStrategy, fmt.Sprintf("software %q has no upgrade strategy for the update to %s (set one on the software or the version)", sw.ID, bring)
		}
	case resolver.ActionReinstall:
		switch sw.RepairStrategy {
		case immy.RepairUninstallInstall:
			if st, ok := uninstall(detected); need(st, ok, "uninstall", detected) {
				st, ok := install(detected)
				need(st, ok, "install", detected)
			}
		case immy.RepairInstallOver:
			st, ok := install(detected)
			need(st, ok, "install", detected)
		case immy.RepairScript:
			if sw.Repair == nil {
				return nil, ReasonNoScript + ":repair", fmt.Sprintf("software %q repairs by script and has no repair script", sw.ID)
			}
			steps = append(steps, step{what: "repair", script: sw.Repair, version: detected})
		default:
			return nil, ReasonNoRepairStrategy, fmt.Sprintf("software %q failed its test and has no repair strategy", sw.ID)
		}
	default:
		return nil, ReasonRunnerError, fmt.Sprintf("%s is not an action on software", a.Planned.Action)
	}
	if reason != "" {
		return nil, reason, msg
	}
	return steps, "", ""
}

func (x *runCtx) softwareParams(sw *immy.Software, a *Action, st step) map[string]any {
	return map[string]any{
		"software":          sw.ID,
		"software_name":     sw.Name,
		"action":            a.Planned.Action.String(),
		"step":              st.what,
		"version":           st.version,
		"detected_version":  a.Planned.Detected,
		"reboot_preference": x.s.req.Reboot.String(),
	}
}

// executeSoftware installs, updates, downgrades, repairs or removes a software.
func (x *runCtx) executeSoftware(i int, a Action) error {
	sw := x.e.software[a.Item()]
	if sw == nil {
		return x.failAction(i, a, ReasonRunnerError, fmt.Sprintf("unknown software %q", a.Item()), "")
	}
	present := a.Planned.Detected != "" || a.Planned.Action == resolver.ActionUninstall || a.Planned.Action == resolver.ActionUpdate ||
		a.Planned.Action == resolver.ActionDowngrade || a.Planned.Action == resolver.ActionReinstall
	if a.Status == Performing || a.Status == DeterminingResult {
		// It was running when the session stopped: detect before anything.
		ok, now, after, _, err := x.verifySoftware(i, sw, &a)
		if err != nil {
			return err
		}
		if ok {
			a.Status, a.Result, a.Reason, a.After, a.Message = Complete, Success, ReasonVerifiedAfterResume, after, ""
			return x.setAction(i, a)
		}
		present = now.Present
	}
	steps, reason, msg := softwareSteps(sw, &a)
	if reason != "" {
		return x.failAction(i, a, reason, msg, "")
	}
	a.Status, a.Reason, a.Message = Performing, "", ""
	a.Attempts++
	if err := x.setAction(i, a); err != nil {
		return err
	}
	installerPath, reason, msg, err := x.fetchInstaller(i, sw, &a) // installer.go
	if err != nil {
		return err
	}
	if reason != "" {
		return x.failAction(i, a, reason, msg, "")
	}
	for k, st := range steps {
		if st.what == "uninstall" && !present && k < len(steps)-1 {
			continue // already gone: an earlier attempt removed it
		}
		res, err := x.runScript(scriptRun{index: i, what: st.what, script: st.script, params: withInstaller(x.softwareParams(sw, &a, st), installerPath)})
		if err != nil {
			if isStop(err) {
				return err
			}
			reason, msg := scriptFailure(err, st.what, redactor{})
			return x.failAction(i, a, reason, msg, "")
		}
		switch res.ExitCode {
		case 0:
		case ExitRebootRequired, ExitRebootInitiated:
			a.RebootRequired = true
		default:
			return x.failAction(i, a, ReasonScriptFailed,
				fmt.Sprintf("the %s script exited with code %d: %s", st.what, res.ExitCode, oneLine(res.Value)), res.Output)
		}
	}
	if err := x.determining(i, a); err != nil {
		return err
	}
	ok, _, after, why, err := x.verifySoftware(i, sw, &a)
	if err != nil {
		return err
	}
	a.After = after
	if !ok {
		return x.failAction(i, a, ReasonVerificationFailed, why, "")
	}
	a.Status, a.Result, a.Reason = Complete, Success, ReasonVerified
	return x.setAction(i, a)
}

// determining marks action i, whose scripts ran, as determining its result.
// The journal keeps it only when the scripts asked for a reboot: a resumed
// session detects a performing and a determining action alike (again, before
// anything is re-run), so that the record would tell it nothing more, and
// an action costs the journal two records, its start and its result.
func (x *runCtx) determining(i int, a Action) error {
	a.Status = DeterminingResult
	if a.RebootRequired {
		return x.setAction(i, a)
	}
	x.e.note(x.s, Record{Kind: RecordAction, Index: i, Action: &a})
	return nil
}

// verifySoftware detects a software again, on a fresh inventory, and tells
// whether the action's result holds: absent after an uninstall; present, at
// least at the version brought, after an install, update or repair (a newer
// version is not a failure), and passing its test after a repair; present and
// not above the version brought after a downgrade.
func (x *runCtx) verifySoftware(i int, sw *immy.Software, a *Action) (ok bool, now resolver.SoftwareState, after, why string, err error) {
	inv, err := x.readInventory()
	if err != nil {
		return false, now, "", "", inventoryErr(err)
	}
	st, known, msg, err := x.detectSoftware(sw.ID, inv.Software, i)
	if err != nil {
		return false, now, "", "", err
	}
	if msg != "" {
		return false, now, "", msg, nil
	}
	if !known {
		return false, now, "", fmt.Sprintf("software %q has no detection", sw.ID), nil
	}
	if st.Present {
		after = st.Version.String()
	}
	want := parseVersionOrZero(a.Planned.Version)
	switch a.Planned.Action {
	case resolver.ActionUninstall:
		if st.Present {
			return false, st, after, fmt.Sprintf("%s is still detected (version %s) after the uninstall", sw.ID, after), nil
		}
		return true, st, after, "", nil
	case resolver.ActionDowngrade:
		switch {
		case !st.Present:
			return false, st, after, fmt.Sprintf("%s is not detected after the downgrade to %s", sw.ID, a.Planned.Version), nil
		case !want.IsZero() && want.Less(st.Version):
			return false, st, after, fmt.Sprintf("%s is detected at %s after the downgrade, want %s or older", sw.ID, after, a.Planned.Version), nil
		}
		return true, st, after, "", nil
	}
	switch {
	case !st.Present:
		return false, st, after, fmt.Sprintf("%s is not detected after the %s", sw.ID, a.Planned.Action), nil
	case !want.IsZero() && st.Version.Less(want):
		return false, st, after, fmt.Sprintf("%s is detected at %s after the %s, want %s or newer", sw.ID, after, a.Planned.Action, a.Planned.Version), nil
	}
	if a.Planned.Action == resolver.ActionReinstall && sw.Test != nil {
		test, why, err := x.softwareTest(sw, st, i)
		if err != nil {
			return false, st, after, "", err
		}
		if test != resolver.TestPassed {
			if why == "" {
				why = fmt.Sprintf("the test script of %s still fails after the repair", sw.ID)
			}
			return false, st, after, why, nil
		}
	}
	return true, st, after, "", nil
}

// executeTask runs a task by its mode: enforce (test; if false, set; test
// again), audit (test), monitor (get, output kept).
func (x *runCtx) executeTask(i int, a Action) error {
	t := x.e.tasks[a.Item()]
	if t == nil {
		return x.failAction(i, a, ReasonRunnerError, fmt.Sprintf("unknown task %q", a.Item()), "")
	}
	var dep *immy.Deployment
	if a.Planned.Deployment != "" {
		dep = x.e.deps[a.Planned.Deployment]
	}
	params, secrets, perr := taskParams(t, dep)
	red := newRedactor(secrets)
	if perr != nil {
		return x.failAction(i, a, ReasonInvalidParameters, red.str(perr.Error()), "")
	}
	unlock, err := x.e.lockTask(x, t)
	if err != nil {
		return err
	}
	defer unlock()

	// run runs one method's script: its result, or a reason it failed.
	run := func(method string) (res immy.ScriptResult, reason, msg string, err error) {
		script, told := taskScript(t, method)
		if script == nil {
			return res, ReasonNoScript + ":" + method, fmt.Sprintf("task %q has no %s script", t.ID, method), nil
		}
		p := make(map[string]any, len(params)+1)
		for k, v := range params {
			p[k] = v
		}
		if told {
			p["method"] = method
		}
		res, err = x.runScript(scriptRun{index: i, what: method, script: script, params: p, secrets: secrets, red: red, readOnly: method != "set"})
		if err != nil {
			if isStop(err) {
				return res, "", "", err
			}
			reason, msg := scriptFailure(err, method, red)
			return res, reason, msg, nil
		}
		res.Output, res.Value = red.str(res.Output), red.str(res.Value)
		return res, "", "", nil
	}
	test := func() (pass bool, reason, msg, output string, err error) {
		res, reason, msg, err := run("test")
		if err != nil || reason != "" {
			return false, reason, msg, "", err
		}
		pass, perr := parseTest(res)
		if perr != nil {
			return false, ReasonScriptFailed, "the test script " + perr.Error(), res.Output, nil
		}
		return pass, "", "", res.Output, nil
	}

	mode := immy.ModeEnforce
	switch a.Planned.Action {
	case resolver.ActionTaskAudit:
		mode = immy.ModeAudit
	case resolver.ActionTaskMonitor:
		mode = immy.ModeMonitor
	}
	enforceTest, _ := taskScript(t, "test")
	if mode == immy.ModeEnforce && enforceTest != nil && (a.Status == Performing || a.Status == DeterminingResult) {
		// It was running when the session stopped: test before anything.
		pass, _, _, _, err := test()
		if err != nil {
			return err
		}
		if pass {
			a.Status, a.Result, a.Reason, a.Message = Complete, Success, ReasonVerifiedAfterResume, ""
			return x.setAction(i, a)
		}
	}
	a.Status, a.Reason, a.Message = Performing, "", ""
	a.Attempts++
	if err := x.setAction(i, a); err != nil {
		return err
	}
	switch mode {
	case immy.ModeMonitor:
		res, reason, msg, err := run("get")
		if err != nil {
			return err
		}
		if reason != "" {
			return x.failAction(i, a, reason, msg, "")
		}
		if res.ExitCode != 0 {
			return x.failAction(i, a, ReasonScriptFailed, fmt.Sprintf("the get script exited with code %d: %s", res.ExitCode, oneLine(res.Value)), res.Output)
		}
		a.Status, a.Result, a.Reason = Complete, Success, ReasonOutputKept
		a.Output, a.Value = capText(res.Output, x.e.cfg.MaxOutput), res.Value
		return x.setAction(i, a)
	case immy.ModeAudit:
		pass, reason, msg, output, err := test()
		if err != nil {
			return err
		}
		if reason != "" {
			return x.failAction(i, a, reason, msg, output)
		}
		if !pass {
			return x.failAction(i, a, ReasonNonCompliant, fmt.Sprintf("the test of %s returned false", t.ID), "")
		}
		a.Status, a.Result, a.Reason = Complete, Success, ReasonCompliant
		return x.setAction(i, a)
	}
	// enforce
	if enforceTest != nil {
		pass, reason, msg, output, err := test()
		if err != nil {
			return err
		}
		if reason != "" {
			return x.failAction(i, a, reason, msg, output)
		}
		if pass {
			a.Status, a.Result, a.Reason = Complete, Success, ReasonCompliant
			return x.setAction(i, a)
		}
	}
	res, reason, msg, err := run("set")
	if err != nil {
		return err
	}
	if reason != "" {
		return x.failAction(i, a, reason, msg, "")
	}
	switch res.ExitCode {
	case 0:
	case ExitRebootRequired, ExitRebootInitiated:
		a.RebootRequired = true
	default:
		return x.failAction(i, a, ReasonScriptFailed, fmt.Sprintf("the set script exited with code %d: %s", res.ExitCode, oneLine(res.Value)), res.Output)
	}
	if enforceTest == nil {
		a.Status, a.Result, a.Reason = Complete, Success, "set-without-test"
		a.Message = fmt.Sprintf("task %q has no test script: the set script ran, and nothing verifies it", t.ID)
		return x.setAction(i, a)
	}
	if err := x.determining(i, a); err != nil {
		return err
	}
	pass, reason, msg, output, err := test()
	if err != nil {
		return err
	}
	if reason != "" {
		return x.failAction(i, a, reason, msg, output)
	}
	if !pass {
		return x.failAction(i, a, ReasonVerificationFailed, fmt.Sprintf("the test of %s still returns false after the set script", t.ID), "")
	}
	a.Status, a.Result, a.Reason = Complete, Success, ReasonVerified
	return x.setAction(i, a)
}

// lockTask takes a task's execute-serially lock, waiting while another
// session holds it; a task that does not execute serially needs none.
func (e *Engine) lockTask(x *runCtx, t *immy.Task) (func(), error) {
	if !t.ExecuteSerially {
		return func() {}, nil
	}
	v, _ := e.serial.LoadOrStore(t.ID, make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	default:
	}
	e.log(x.s, -1, fmt.Sprintf("waiting: task %s executes serially and runs in another session", t.ID))
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-x.ctx.Done():
		return nil, context.Cause(x.ctx)
	}
}
