package resolver

import (
	"github.com/immyoss/engine/immy"
)

// Small constructors that keep the tables of this package's tests readable.

func vers(list ...string) []immy.SoftwareVersion {
	out := make([]immy.SoftwareVersion, len(list))
	for i, s := range list {
		out[i] = immy.SoftwareVersion{Version: immy.MustParseVersion(s)}
	}
	return out
}

// software is a software detected by its display name, the id itself.
func software(id string, versions ...string) immy.Software {
	return immy.Software{ID: id, Name: id, Detection: immy.Detection{DisplayName: id}, Versions: vers(versions...)}
}

func (s softwareOpt) apply(sw *immy.Software) { s(sw) }

type softwareOpt func(*immy.Software)

func with(sw immy.Software, opts ...softwareOpt) immy.Software {
	for _, o := range opts {
		o.apply(&sw)
	}
	return sw
}

func prereqs(ps ...immy.Prerequisite) softwareOpt {
	return func(s *immy.Software) { s.Prerequisites = append(s.Prerequisites, ps...) }
}

func ordered(loc immy.OrderLocation, pos int) softwareOpt {
	return func(s *immy.Software) { s.Order = immy.Order{Location: loc, Position: pos} }
}

func configured(task string) softwareOpt {
	return func(s *immy.Software) { s.ConfigurationTask = task }
}

// ifNot: if any of subjects is not installed, then install on.
func ifNot(subjects []string, on ...string) immy.Prerequisite {
	return immy.Prerequisite{Condition: immy.ConditionNotInstalled, Subjects: subjects, Then: immy.PrereqInstall, On: on}
}

func needs(id string) immy.Prerequisite { return ifNot([]string{id}, id) }

func ids(s ...string) []string { return s }

// present is an installed software at a version, for State tables.
type fakeState struct {
	sw    map[string]SoftwareState
	tasks map[string]Test
	// unknown software: detection cannot tell
	unknown map[string]bool
}

func (f fakeState) Software(id string) (SoftwareState, bool) {
	if f.unknown[id] {
		return SoftwareState{}, false
	}
	return f.sw[id], true
}

func (f fakeState) Task(id string) Test { return f.tasks[id] }

func installed(pairs ...string) fakeState {
	f := fakeState{sw: map[string]SoftwareState{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		st := SoftwareState{Present: true}
		if pairs[i+1] != "" {
			st.Version = immy.MustParseVersion(pairs[i+1])
		}
		f.sw[pairs[i]] = st
	}
	return f
}

func dep(id, item string, desired immy.DesiredState) *immy.Deployment {
	return &immy.Deployment{ID: id, Item: item, Target: immy.Target{Type: immy.TargetAllComputers}, Desired: desired}
}

func taskDep(id, item string, mode immy.TaskMode) *immy.Deployment {
	return &immy.Deployment{ID: id, Item: item, Target: immy.Target{Type: immy.TargetAllComputers}, Mode: mode}
}

func decided(ds ...*immy.Deployment) []Decision {
	out := make([]Decision, len(ds))
	for i, d := range ds {
		out[i] = Decision{Item: d.Item, Winner: d.ID, Desired: desiredText(d), Deployment: d}
	}
	return out
}

// step is an action reduced to what the sequencing tests compare.
type step struct {
	Item, Action, Deployment, Reason, Version string
}

func steps(acts []Action) []step {
	out := make([]step, len(acts))
	for i, a := range acts {
		out[i] = step{a.Item, a.Action.String(), a.Deployment, a.Reason, a.Version}
	}
	return out
}
