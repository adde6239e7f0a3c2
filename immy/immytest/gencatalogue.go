package immytest

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/immyoss/engine/immy"
)

func (g *generator) tasks() {
	r := g.rand(streamTasks)
	n := g.cfg.Tasks
	w := width(n)
	g.f.Tasks = make([]immy.Task, n)
	for i := range n {
		t := &g.f.Tasks[i]
		if i < len(genTasks) {
			gt := genTasks[i]
			*t = immy.Task{
				ID: gt.id, Name: gt.name, Category: gt.category, OnboardingOnly: gt.onboarding,
				ExecuteSerially: gt.serial, Parameters: cloneParams(gt.params),
			}
			if r.pct(50) {
				t.Origin = immy.OriginGlobal
			}
		} else {
			t.ID = padID("task-", i, w)
			t.Name = "Custom script " + strconv.Itoa(i)
			t.OnboardingOnly = r.pct(8)
			t.ExecuteSerially = r.pct(5)
			if r.pct(40) {
				t.Parameters = []immy.Parameter{{Name: "value", Type: immy.ParamText, Required: r.pct(50)}}
			}
			if r.pct(10) {
				t.Category = immy.TaskTenant
			}
		}
		if t.Category == immy.TaskTenant {
			t.Script = &immy.Script{Language: immy.LanguageLua, Context: immy.ContextCloud,
				Body: "-- method is get, set or test\nreturn method ~= \"test\" or tenant_ok()"}
		} else {
			t.Script = &immy.Script{Language: immy.LanguagePowerShell, Context: immy.ContextSystem,
				Body: "param($Method)\nswitch ($Method) { 'test' { Test-Setting } 'set' { Set-Setting } 'get' { Get-Setting } }"}
			g.compTasks = append(g.compTasks, i)
		}
		switch {
		case t.OnboardingOnly:
		case r.pct(4):
			t.Order = immy.Order{Location: immy.OrderBeginning, Position: r.between(1, 5)}
		case r.pct(4):
			t.Order = immy.Order{Location: immy.OrderEnd, Position: r.between(1, 5)}
		}
	}
}

func cloneParams(ps []immy.Parameter) []immy.Parameter {
	ps = slices.Clone(ps)
	for i := range ps {
		ps[i].Options = slices.Clone(ps[i].Options)
		if m, ok := ps[i].Default.(map[string]string); ok {
			ps[i].Default = maps.Clone(m)
		}
	}
	return ps
}

// versions returns k ascending version texts of a style.
func versions(r rnd, st genVersionStyle, k int) []string {
	var seg [4]int
	for i := range st.segs {
		seg[i] = r.between(st.base[i][0], st.base[i][1])
	}
	out := make([]string, 0, k+2)
	// One before the first: a version older than the catalogue knows.
	older := seg
	older[0]--
	out = append(out, formatVersion(st, older))
	for range k + 1 {
		out = append(out, formatVersion(st, seg))
		// Bump one segment, mostly a low one, and draw the ones below it anew.
		pos := st.segs - 1
		switch x := r.IntN(10); {
		case x < 3 && st.segs > 1:
			pos = st.segs - 2
		case x < 4:
			pos = 0
		}
		for pos > 0 && st.step[pos] == 0 {
			pos--
		}
		seg[pos] += 1 + r.IntN(max(st.step[pos], 1))
		for i := pos + 1; i < st.segs; i++ {
			seg[i] = r.between(st.base[i][0], st.base[i][0]+st.step[i])
		}
	}
	return out // older, v1 ... vk, newer
}

func formatVersion(st genVersionStyle, seg [4]int) string {
	var b []byte
	for i := range st.segs {
		if i > 0 {
			b = append(b, '.')
		}
		w := 0
		if i == 1 {
			w = st.width
		}
		b = appendPad(b, max(seg[i], 0), w)
	}
	return string(b)
}

func (g *generator) software() {
	r := g.rand(streamSoftware)
	n := g.cfg.Software
	w := width(n)
	f := g.f
	f.Software = make([]immy.Software, n)
	g.swDetected = make([]string, n)
	g.swVersions = make([][]immy.Version, n)
	g.swLegacy = make([]immy.Version, n)
	g.swNewer = make([]immy.Version, n)
	g.swOwner = make([]int, n)
	g.swDepth = make([]int, n)
	weights := make([]float64, n)
	runtimes := 0
	maxDepth := g.cfg.PrereqDepth
	for i := range n {
		s := &f.Software[i]
		g.swOwner[i] = -1
		var style genVersionStyle
		var real *genSoftware
		if i < len(genCatalogue) {
			real = &genCatalogue[i]
			s.ID, s.Name, style = real.id, real.name, real.style
			g.swDetected[i] = cmp.Or(real.detected, real.name)
			switch {
			case real.upgradeID != "":
				s.Detection.UpgradeCode = real.upgradeID
			case real.regex != "":
				s.Detection.Regex = real.regex
			default:
				s.Detection.DisplayName = cmp.Or(real.glob, g.swDetected[i])
			}
			if r.pct(70) {
				s.Origin = immy.OriginGlobal
			}
			weights[i] = float64(real.pct)
			if real.runtime {
				runtimes = i + 1
			}
		} else {
			name := pick(r, genVendors) + " " + pick(r, genProducts) + " " + strconv.Itoa(i)
			s.ID, s.Name, style = padID(slug(name[:strings.LastIndexByte(name, ' ')])+"-", i, w), name, pick(r, genSyntheticStyles)
			g.swDetected[i] = name
			if r.pct(8) {
				b := append([]byte("{"), appendGUID(nil, r, false)...)
				s.Detection.UpgradeCode = string(append(b, '}'))
			} else {
				s.Detection.DisplayName = name
			}
			weights[i] = 0.5 + 3*r.Float64()
			if r.pct(12) && g.byComputers.total() > 0 {
				if t := g.byComputers.pick(r); t > 0 {
					g.swOwner[i] = t
					s.Tenant = f.Tenants[t].ID
					weights[i] = 0 // found only on its tenant's computers
				}
			}
		}

		k := 1
		switch x := r.IntN(100); {
		case x >= 90:
			k = 5
		case x >= 75:
			k = 4
		case x >= 45:
			k = 3
		case x >= 15:
			k = 2
		}
		texts := versions(r, style, k)
		vs := make([]immy.Version, len(texts))
		for j, t := range texts {
			vs[j] = immy.MustParseVersion(t)
		}
		g.swLegacy[i], g.swNewer[i] = vs[0], vs[len(vs)-1]
		g.swVersions[i] = vs[1 : len(vs)-1]
		s.Versions = make([]immy.SoftwareVersion, k)
		for j := range k {
			s.Versions[j].Version = g.swVersions[i][k-1-j] // newest first
		}

		switch x := r.IntN(100); {
		case x < 60:
			s.UpgradeStrategy = immy.UpgradeInstallOver
		case x < 85:
			s.UpgradeStrategy = immy.UpgradeUninstallInstall
		case x < 95:
			s.UpgradeStrategy = immy.UpgradeScript
			s.Upgrade = &immy.Script{Language: immy.LanguagePowerShell, Body: "Start-Process -Wait $InstallerFile -ArgumentList '/upgrade', '/quiet'"}
		}
		if r.pct(50) {
			s.RepairStrategy = immy.RepairInstallOver
		}
		s.Install = &immy.Script{Language: immy.LanguagePowerShell, Body: "Start-Process -Wait msiexec.exe -ArgumentList '/i', $InstallerFile, '/qn', '/norestart'"}
		s.Uninstall = &immy.Script{Language: immy.LanguagePowerShell, Body: "Start-Process -Wait msiexec.exe -ArgumentList '/x', $ProductCode, '/qn', '/norestart'"}
		if r.pct(10) {
			s.Test = &immy.Script{Language: immy.LanguagePowerShell, Body: "Test-Path \"$env:ProgramFiles\\" + s.Name + "\""}
		}

		if maxDepth > 0 && i > 0 && (real == nil || !real.runtime) {
			g.prerequisites(r, i, runtimes)
		}
		if len(g.compTasks) > 0 && r.pct(8) {
			s.ConfigurationTask = f.Tasks[pick(r, g.compTasks)].ID
		}
		switch {
		case r.pct(4):
			s.Order = immy.Order{Location: immy.OrderBeginning, Position: r.between(1, 5)}
		case r.pct(4):
			s.Order = immy.Order{Location: immy.OrderEnd, Position: r.between(1, 5)}
		}
	}
	g.swPick = newPicker(weights)
}

// prerequisites gives software i prerequisites on earlier, public software
// whose chains leave room under PrereqDepth. Every tenth software extends the
// deepest chain, so that chains of the full depth exist.
func (g *generator) prerequisites(r rnd, i, runtimes int) {
	s := &g.f.Software[i]
	maxDepth := g.cfg.PrereqDepth
	usable := func(j int) bool { return g.swOwner[j] < 0 && g.swDepth[j] < maxDepth }
	deepest := func() int {
		best := -1
		for j := i - 1; j >= 0; j-- {
			if usable(j) && (best < 0 || g.swDepth[j] > g.swDepth[best]) {
				best = j
			}
		}
		return best
	}
	var chosen []int
	choose := func() int {
		for range 8 {
			var j int
			switch x := r.IntN(100); {
			case x < 45 && runtimes > 0 && i > runtimes:
				j = r.IntN(runtimes)
			case x < 65:
				j = deepest()
			default:
				j = r.IntN(i)
			}
			if j >= 0 && usable(j) && !slices.Contains(chosen, j) {
				return j
			}
		}
		return -1
	}
	count := 0
	switch {
	case i%10 == 9:
		if j := deepest(); j >= 0 {
			chosen = append(chosen, j)
			s.Prerequisites = append(s.Prerequisites, requires(g.f.Software[j].ID))
		}
	case r.pct(35):
		count = 1
		if r.pct(20) {
			count = 2
		}
	}
	for range count {
		j := choose()
		if j < 0 {
			break
		}
		chosen = append(chosen, j)
		id := g.f.Software[j].ID
		var p immy.Prerequisite
		switch x := r.IntN(100); {
		case x < 78 || j < runtimes: // runtimes are only ever installed
			p = requires(id)
		case x < 90:
			p = immy.Prerequisite{Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAnyOf, Subjects: []string{id}, Then: immy.PrereqUninstall, On: []string{id}}
		default:
			p = immy.Prerequisite{Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAnyOf, Subjects: []string{id}, Then: immy.PrereqFail}
		}
		s.Prerequisites = append(s.Prerequisites, p)
	}
	// A version that needs a version of another software.
	if len(s.Versions) >= 2 && r.pct(10) {
		if j := choose(); j >= 0 {
			chosen = append(chosen, j)
			p := requires(g.f.Software[j].ID)
			p.Version = g.f.Software[j].Versions[0].Version
			s.Versions[0].Prerequisites = append(s.Versions[0].Prerequisites, p)
		}
	}
	for _, j := range chosen {
		g.swDepth[i] = max(g.swDepth[i], g.swDepth[j]+1)
	}
}

func requires(id string) immy.Prerequisite {
	return immy.Prerequisite{Condition: immy.ConditionNotInstalled, Quantifier: immy.QuantifierAnyOf,
		Subjects: []string{id}, Then: immy.PrereqInstall, On: []string{id}}
}
