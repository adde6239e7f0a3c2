package session

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/resolver"
)

// detected is what the detection stage found on the computer; it is the
// resolver.State the plan is made from.
type detected struct {
	sw      map[string]resolver.SoftwareState
	unknown map[string]bool   // software detection could not tell
	failed  map[string]string // software whose detection script failed: why
	tasks   map[string]resolver.Test
}

// Software implements resolver.State.
func (d *detected) Software(item string) (resolver.SoftwareState, bool) {
	if d.unknown[item] {
		return resolver.SoftwareState{}, false
	}
	return d.sw[item], true
}

// Task implements resolver.State.
func (d *detected) Task(item string) resolver.Test { return d.tasks[item] }

// detect reads the state of every item the decisions may touch: the decided
// software, their prerequisites (recursively, every version's) and
// configuration tasks, and the tasks whose deployment enforces them (their
// test runs; tests are read-only). Software is found in the inventory by its
// detection, or by its detection script; a present software with a test
// script has it run.
func (x *runCtx) detect(decisions []resolver.Decision) (*detected, error) {
	e := x.e
	det := &detected{sw: map[string]resolver.SoftwareState{}, unknown: map[string]bool{}, failed: map[string]string{}, tasks: map[string]resolver.Test{}}
	softwareSet := map[string]bool{}
	taskSet := map[string]bool{}
	decided := map[string]*immy.Deployment{}
	for _, d := range decisions {
		decided[d.Item] = d.Deployment
	}
	var addSoftware func(id string)
	addSoftware = func(id string) {
		sw := e.software[id]
		if sw == nil || softwareSet[id] || !e.ownedBy(x.comp, sw.Tenant) { // another tenant's is never detected here (tenancy.go)
			return
		}
		softwareSet[id] = true
		rules := slices.Clone(sw.Prerequisites)
		for _, v := range sw.Versions {
			rules = append(rules, v.Prerequisites...)
		}
		for _, r := range rules {
			for _, s := range r.Subjects {
				addSoftware(s)
			}
			for _, s := range r.On {
				addSoftware(s)
			}
		}
		if ct := sw.ConfigurationTask; ct != "" && (e.tasks[ct] == nil || e.ownedBy(x.comp, e.tasks[ct].Tenant)) {
			if d := decided[ct]; d == nil || d.Mode == immy.ModeEnforce {
				taskSet[ct] = true
			}
		}
	}
	for _, d := range decisions {
		if _, ok := e.software[d.Item]; ok {
			addSoftware(d.Item)
		} else if d.Deployment != nil && d.Deployment.Mode == immy.ModeEnforce {
			taskSet[d.Item] = true
		}
	}
	for _, id := range sortedKeys(softwareSet) {
		st, known, msg, err := x.detectSoftware(id, x.inv.Software, -1)
		if err != nil {
			return nil, err
		}
		switch {
		case msg != "":
			det.unknown[id], det.failed[id] = true, msg
			continue
		case !known:
			det.unknown[id] = true
			continue
		}
		if sw := e.software[id]; st.Present && sw.Test != nil {
			pass, _, err := x.softwareTest(sw, st, -1)
			if err != nil {
				return nil, err
			}
			st.Test = pass
		}
		det.sw[id] = st
	}
	for _, id := range sortedKeys(taskSet) {
		t := e.tasks[id]
		if t == nil || t.Category == immy.TaskTenant {
			continue
		}
		test, err := x.taskTestForDetection(t, decided[id])
		if err != nil {
			return nil, err
		}
		det.tasks[id] = test
	}
	return det, nil
}

// detectSoftware finds a software in an inventory, or with its detection
// script. msg is set when detection failed (the script failed, or returned
// something that is not a version).
func (x *runCtx) detectSoftware(id string, inv []immy.DetectedSoftware, index int) (st resolver.SoftwareState, known bool, msg string, err error) {
	if st, known := x.e.cat.Detect(id, inv); known {
		return st, true, "", nil
	}
	sw := x.e.software[id]
	if sw == nil || sw.Detection.Script == nil {
		return resolver.SoftwareState{}, false, "", nil
	}
	res, err := x.runScript(scriptRun{index: index, what: "detection", script: sw.Detection.Script,
		params: map[string]any{"software": sw.ID, "software_name": sw.Name}, readOnly: true})
	if err != nil {
		if isStop(err) {
			return st, false, "", err
		}
		return st, false, fmt.Sprintf("the detection script of %q could not run: %v", id, err), nil
	}
	if res.ExitCode != 0 {
		return st, false, fmt.Sprintf("the detection script of %q exited with code %d: %s", id, res.ExitCode, oneLine(res.Value)), nil
	}
	word := lastWord(res.Value)
	if word == "" {
		return resolver.SoftwareState{}, true, "", nil
	}
	v, perr := immy.ParseVersion(word)
	if perr != nil {
		return st, false, fmt.Sprintf("the detection script of %q returned %q, not a version", id, oneLine(word)), nil
	}
	// a release version, when the software maps what detection reports
	return resolver.SoftwareState{Present: true, Version: x.e.cat.MapVersion(id, v)}, true, "", nil
}

func lastWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func isStop(err error) bool {
	return errors.Is(err, errOffline) || errors.Is(err, errCancel) || errors.Is(err, errShutdown)
}

// parseTest reads a test script's verdict from its last value.
func parseTest(res immy.ScriptResult) (bool, error) {
	if res.ExitCode != 0 {
		return false, fmt.Errorf("exited with code %d: %s", res.ExitCode, oneLine(res.Value))
	}
	switch strings.ToLower(strings.TrimPrefix(lastWord(res.Value), "$")) {
	case "true", "1", "yes", "pass", "passed", "compliant":
		return true, nil
	case "false", "0", "no", "fail", "failed", "non-compliant":
		return false, nil
	}
	return false, fmt.Errorf("returned %q, want true or false", oneLine(res.Value))
}

// softwareTest runs a software's test script: passed or failed; an error
// that is not a stop leaves the test unknown.
func (x *runCtx) softwareTest(sw *immy.Software, st resolver.SoftwareState, index int) (resolver.Test, string, error) {
	res, err := x.runScript(scriptRun{index: index, what: "test", script: sw.Test, readOnly: true,
		params: map[string]any{"software": sw.ID, "software_name": sw.Name, "detected_version": st.Version.String()}})
	if err != nil {
		if isStop(err) {
			return resolver.TestUnknown, "", err
		}
		return resolver.TestUnknown, err.Error(), nil
	}
	pass, perr := parseTest(res)
	if perr != nil {
		return resolver.TestUnknown, "the test script " + perr.Error(), nil
	}
	if pass {
		return resolver.TestPassed, "", nil
	}
	return resolver.TestFailed, "", nil
}

// taskTestForDetection runs a task's test for the plan; parameters that do
// not validate, a missing test script or a failing one leave it unknown, and
// the action finds out at execution.
func (x *runCtx) taskTestForDetection(t *immy.Task, d *immy.Deployment) (resolver.Test, error) {
	script, told := taskScript(t, "test")
	if script == nil {
		return resolver.TestUnknown, nil
	}
	params, secrets, err := taskParams(t, d)
	if err != nil {
		return resolver.TestUnknown, nil
	}
	if told {
		params["method"] = "test"
	}
	unlock, err := x.e.lockTask(x, t)
	if err != nil {
		return resolver.TestUnknown, err
	}
	defer unlock()
	res, err := x.runScript(scriptRun{index: -1, what: "test", script: script, params: params, secrets: secrets, red: newRedactor(secrets), readOnly: true})
	if err != nil {
		if isStop(err) {
			return resolver.TestUnknown, err
		}
		return resolver.TestUnknown, nil
	}
	pass, perr := parseTest(res)
	switch {
	case perr != nil:
		return resolver.TestUnknown, nil
	case pass:
		return resolver.TestPassed, nil
	}
	return resolver.TestFailed, nil
}

func taskParams(t *immy.Task, d *immy.Deployment) (map[string]any, []string, error) {
	var values map[string]any
	id := ""
	if d != nil {
		values, id = d.Parameters, d.ID
	}
	return Parameters(t, id, values)
}

// taskScript returns a task's script for a method: its one script, told the
// method (told is true), or its own script for the method.
func taskScript(t *immy.Task, method string) (script *immy.Script, told bool) {
	if t.Script != nil {
		return t.Script, true
	}
	switch method {
	case "get":
		return t.Get, false
	case "set":
		return t.Set, false
	}
	return t.Test, false
}

// plan turns the resolver's actions into the session's, for the items
// decided: a software whose detection failed fails with the reason, and a
// task planned for a software that changes in this session is decided after
// it (a detection-only session reports it so, never guessing the test's
// result after the change).
func (x *runCtx) plan(decisions []resolver.Decision, det *detected, onboarding bool) ([]Action, []resolver.Problem) {
	planned, problems := x.e.cat.ActionsFor(x.comp, x.rs, decisions, det)
	out := make([]Action, len(planned))
	for i, p := range planned {
		a := Action{Planned: p, Onboarding: onboarding, ItemKind: immy.ItemSoftware}
		if _, ok := x.e.tasks[p.Item]; ok {
			a.ItemKind = immy.ItemTask
		}
		if msg, bad := det.failed[p.Item]; bad && p.Action == resolver.ActionNone {
			a.Planned.Action, a.Planned.Reason, a.Message = resolver.ActionFail, ReasonDetectionFailed, msg
		}
		out[i] = a
	}
	for i := range out {
		a := &out[i]
		if a.ItemKind != immy.ItemTask || a.Planned.RequiredBy == "" {
			continue
		}
		for j := range i {
			if out[j].Planned.Item == a.Planned.RequiredBy && out[j].changes() {
				a.DecidedAfter = a.Planned.RequiredBy
				if a.Planned.Action == resolver.ActionNone {
					// the test passed before the software changed: after
					// the change, enforce tests again and sets if needed
					a.Planned.Action = resolver.ActionTaskEnforce
				}
				a.Planned.Reason = ReasonDecidedAfter + ":" + a.Planned.RequiredBy
			}
		}
	}
	for i := range out {
		if len(x.e.dependencies(out, i)) > 0 {
			out[i].Status = WaitingForPrerequisite
		}
	}
	return out, problems
}

// dependencies returns the indices of the earlier actions that action i
// waits for: the prerequisite actions planned for it, the actions on
// software its prerequisites act on (when it installs), and, for a
// configuration task, its software's action.
func (e *Engine) dependencies(acts []Action, i int) []int {
	a := &acts[i]
	var deps []int
	item := a.Planned.Item
	var on map[string]bool
	if a.ItemKind == immy.ItemSoftware && installs(a.Planned.Action) {
		on = e.prereqTargets(item, a.Planned.Version)
	}
	for j := range i {
		p := &acts[j]
		switch {
		case p.Planned.RequiredBy == item && strings.HasPrefix(p.Planned.Reason, resolver.ReasonPrerequisiteOf+":"):
			deps = append(deps, j)
		case on[p.Planned.Item] && p.Planned.Action != resolver.ActionNone:
			deps = append(deps, j)
		case a.ItemKind == immy.ItemTask && p.ItemKind == immy.ItemSoftware && e.software[p.Planned.Item] != nil &&
			e.software[p.Planned.Item].ConfigurationTask == item && p.Planned.Action != resolver.ActionNone:
			deps = append(deps, j)
		}
	}
	return deps
}

// prereqTargets are the software a software's prerequisites (its own and
// those of version v) install or uninstall.
func (e *Engine) prereqTargets(id, v string) map[string]bool {
	sw := e.software[id]
	if sw == nil {
		return nil
	}
	out := map[string]bool{}
	add := func(rules []immy.Prerequisite) {
		for _, r := range rules {
			if r.Then == immy.PrereqInstall || r.Then == immy.PrereqUninstall {
				for _, s := range r.On {
					out[s] = true
				}
			}
		}
	}
	add(sw.Prerequisites)
	for _, sv := range sw.Versions {
		if sv.Version.String() == v || (v != "" && sv.Version.Equal(parseVersionOrZero(v))) {
			add(sv.Prerequisites)
		}
	}
	return out
}

func parseVersionOrZero(s string) immy.Version {
	v, err := immy.ParseVersion(s)
	if err != nil {
		return immy.Version{}
	}
	return v
}

func installs(k resolver.ActionKind) bool {
	switch k {
	case resolver.ActionInstall, resolver.ActionUpdate, resolver.ActionDowngrade, resolver.ActionReinstall:
		return true
	}
	return false
}

// planRerun plans a rerun session: the action asked for, with what
// detection finds now.
func (x *runCtx) planRerun() error {
	if err := x.setStage(StageDetection); err != nil {
		return err
	}
	p := *x.s.req.Rerun
	a := Action{Planned: p, ItemKind: immy.ItemSoftware}
	if _, ok := x.e.tasks[p.Item]; ok {
		a.ItemKind = immy.ItemTask
	} else {
		st, known, msg, err := x.detectSoftware(p.Item, x.inv.Software, -1)
		if err != nil {
			return err
		}
		switch {
		case msg != "":
			a.Planned.Action, a.Planned.Reason, a.Message = resolver.ActionFail, ReasonDetectionFailed, msg
		case known && st.Present:
			a.Planned.Detected = st.Version.String()
		case known:
			a.Planned.Detected = ""
		}
	}
	return x.recordPlan([]Action{a}, nil, segMain)
}
