package resolver

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

func TestSoftwareActionTable(t *testing.T) {
	v := immy.MustParseVersion
	sw := &immy.Software{ID: "app", Versions: []immy.SoftwareVersion{{Version: v("1.0")}, {Version: v("2.0")}, {Version: v("3.0")}}}
	absent := SoftwareState{}
	at := func(s string) SoftwareState { return SoftwareState{Present: true, Version: v(s)} }
	out := func(a ActionKind, reason, version string) Outcome {
		o := Outcome{Action: a, Reason: reason}
		if version != "" {
			o.Version = v(version)
		}
		return o
	}
	// Each row is one cell: the deployment's desired state and version (V),
	// the detected state (D), the outcome.
	tests := []struct {
		desired immy.DesiredState
		version string
		st      SoftwareState
		want    Outcome
	}{
		// latest: V is the software's highest version, 3.0
		{immy.DesiredLatest, "", absent, out(ActionInstall, ReasonSoftwareMissing, "3.0")},
		{immy.DesiredLatest, "", at("2.0"), out(ActionUpdate, ReasonUpdateAvailable, "3.0")},
		{immy.DesiredLatest, "", at("3.0"), out(ActionNone, ReasonUpToDate, "")},
		{immy.DesiredLatest, "", at("4.0"), out(ActionNone, ReasonNewerVersionDetected, "")},
		// newer or equal 2.0: installs and updates bring the latest
		{immy.DesiredNewerOrEqual, "2.0", absent, out(ActionInstall, ReasonSoftwareMissing, "3.0")},
		{immy.DesiredNewerOrEqual, "2.0", at("1.0"), out(ActionUpdate, ReasonUpdateAvailable, "3.0")},
		{immy.DesiredNewerOrEqual, "2.0", at("2.0"), out(ActionNone, ReasonUpToDate, "")},
		{immy.DesiredNewerOrEqual, "2.0", at("2.5"), out(ActionNone, ReasonNewerVersionDetected, "")},
		// newer or equal to a version above every known one brings that version
		{immy.DesiredNewerOrEqual, "5.0", absent, out(ActionInstall, ReasonSoftwareMissing, "5.0")},
		// this version 2.0
		{immy.DesiredThisVersion, "2.0", absent, out(ActionInstall, ReasonSoftwareMissing, "2.0")},
		{immy.DesiredThisVersion, "2.0", at("1.0"), out(ActionUpdate, ReasonUpdateAvailable, "2.0")},
		{immy.DesiredThisVersion, "2.0", at("2.0"), out(ActionNone, ReasonUpToDate, "")},
		{immy.DesiredThisVersion, "2.0", at("3.0"), out(ActionDowngrade, ReasonOlderVersionRequired, "2.0")},
		// leading zeros compare as numbers
		{immy.DesiredThisVersion, "23.6.20320", at("23.006.20320"), out(ActionNone, ReasonUpToDate, "")},
		// older or equal 2.5: installs the highest version not above it, 2.0
		{immy.DesiredOlderOrEqual, "2.5", absent, out(ActionInstall, ReasonSoftwareMissing, "2.0")},
		{immy.DesiredOlderOrEqual, "2.5", at("1.0"), out(ActionNone, ReasonOlderVersionAllowed, "")},
		{immy.DesiredOlderOrEqual, "2.5", at("2.5"), out(ActionNone, ReasonUpToDate, "")},
		{immy.DesiredOlderOrEqual, "2.5", at("3.0"), out(ActionDowngrade, ReasonOlderVersionRequired, "2.0")},
		{immy.DesiredOlderOrEqual, "0.5", absent, out(ActionInstall, ReasonSoftwareMissing, "0.5")},
		// any version
		{immy.DesiredAnyVersion, "", absent, out(ActionInstall, ReasonSoftwareMissing, "3.0")},
		{immy.DesiredAnyVersion, "", at("1.0"), out(ActionNone, ReasonSoftwareDetected, "")},
		{immy.DesiredAnyVersion, "", at("3.0"), out(ActionNone, ReasonSoftwareDetected, "")},
		{immy.DesiredAnyVersion, "", at("9.0"), out(ActionNone, ReasonSoftwareDetected, "")},
		// update if found
		{immy.DesiredUpdateIfFound, "", absent, out(ActionNone, ReasonNotDetected, "")},
		{immy.DesiredUpdateIfFound, "", at("1.0"), out(ActionUpdate, ReasonUpdateAvailable, "3.0")},
		{immy.DesiredUpdateIfFound, "", at("3.0"), out(ActionNone, ReasonUpToDate, "")},
		{immy.DesiredUpdateIfFound, "", at("3.1"), out(ActionNone, ReasonNewerVersionDetected, "")},
		// uninstalled
		{immy.DesiredUninstalled, "", absent, out(ActionNone, ReasonNotDetected, "")},
		{immy.DesiredUninstalled, "", at("1.0"), out(ActionUninstall, ReasonSoftwareDetected, "")},
		{immy.DesiredUninstalled, "", at("3.0"), out(ActionUninstall, ReasonSoftwareDetected, "")},
		{immy.DesiredUninstalled, "", at("4.0"), out(ActionUninstall, ReasonSoftwareDetected, "")},
		// ignored: nothing, and not compliant either
		{immy.DesiredIgnored, "", absent, out(ActionNone, ReasonIgnored, "")},
		{immy.DesiredIgnored, "", at("1.0"), out(ActionNone, ReasonIgnored, "")},
		{immy.DesiredIgnored, "", at("3.0"), out(ActionNone, ReasonIgnored, "")},
		{immy.DesiredIgnored, "", at("4.0"), out(ActionNone, ReasonIgnored, "")},
		// repair: a present software whose test failed, where the table says none
		{immy.DesiredLatest, "", SoftwareState{Present: true, Version: v("3.0"), Test: TestFailed}, out(ActionReinstall, ReasonTestFailed, "3.0")},
		{immy.DesiredAnyVersion, "", SoftwareState{Present: true, Version: v("1.0"), Test: TestFailed}, out(ActionReinstall, ReasonTestFailed, "1.0")},
		{immy.DesiredUpdateIfFound, "", SoftwareState{Present: true, Version: v("3.0"), Test: TestFailed}, out(ActionReinstall, ReasonTestFailed, "3.0")},
		{immy.DesiredLatest, "", SoftwareState{Present: true, Version: v("3.0"), Test: TestPassed}, out(ActionNone, ReasonUpToDate, "")},
		// an update beats a repair; ignored and uninstalled are never repaired
		{immy.DesiredLatest, "", SoftwareState{Present: true, Version: v("1.0"), Test: TestFailed}, out(ActionUpdate, ReasonUpdateAvailable, "3.0")},
		{immy.DesiredIgnored, "", SoftwareState{Present: true, Version: v("1.0"), Test: TestFailed}, out(ActionNone, ReasonIgnored, "")},
		{immy.DesiredUninstalled, "", SoftwareState{Present: true, Version: v("1.0"), Test: TestFailed}, out(ActionUninstall, ReasonSoftwareDetected, "")},
		// present with a version that could not be read: nothing to compare,
		// so nothing that would repeat every session; a failed test repairs
		{immy.DesiredLatest, "", SoftwareState{Present: true}, out(ActionNone, ReasonVersionUnknown, "")},
		{immy.DesiredAnyVersion, "", SoftwareState{Present: true}, out(ActionNone, ReasonSoftwareDetected, "")},
		{immy.DesiredUninstalled, "", SoftwareState{Present: true}, out(ActionUninstall, ReasonSoftwareDetected, "")},
	}
	for _, tt := range tests {
		name := tt.desired.String() + " " + tt.version + " D=" + tt.st.Version.String()
		if !tt.st.Present {
			name += "absent"
		}
		t.Run(name, func(t *testing.T) {
			var version immy.Version
			if tt.version != "" {
				version = v(tt.version)
			}
			got := SoftwareAction(tt.desired, version, sw, tt.st)
			require.Empty(t, cmp.Diff(tt.want, got, cmp.Comparer(func(a, b immy.Version) bool { return a.String() == b.String() })))
		})
	}
}

func TestSoftwareActionWithoutVersions(t *testing.T) {
	sw := &immy.Software{ID: "app"}
	require.Equal(t, Outcome{Action: ActionFail, Reason: ReasonNoVersion}, SoftwareAction(immy.DesiredLatest, immy.Version{}, sw, SoftwareState{}))
	require.Equal(t, Outcome{Action: ActionNone, Reason: ReasonSoftwareDetected},
		SoftwareAction(immy.DesiredLatest, immy.Version{}, sw, SoftwareState{Present: true, Version: immy.MustParseVersion("1.0")}))
	require.Equal(t, Outcome{Action: ActionNone, Reason: ReasonNotDetected}, SoftwareAction(immy.DesiredUpdateIfFound, immy.Version{}, sw, SoftwareState{}))
}

func TestTaskActionTable(t *testing.T) {
	tests := []struct {
		mode immy.TaskMode
		test Test
		want Outcome
	}{
		{immy.ModeEnforce, TestUnknown, Outcome{Action: ActionTaskEnforce, Reason: ReasonDecidedAtDetection}},
		{immy.ModeEnforce, TestFailed, Outcome{Action: ActionTaskEnforce, Reason: ReasonTestFailed}},
		{immy.ModeEnforce, TestPassed, Outcome{Action: ActionNone, Reason: ReasonTestPassed}},
		{immy.ModeAudit, TestUnknown, Outcome{Action: ActionTaskAudit, Reason: ReasonAudit}},
		{immy.ModeAudit, TestPassed, Outcome{Action: ActionTaskAudit, Reason: ReasonAudit}},
		{immy.ModeAudit, TestFailed, Outcome{Action: ActionTaskAudit, Reason: ReasonAudit}},
		{immy.ModeMonitor, TestUnknown, Outcome{Action: ActionTaskMonitor, Reason: ReasonMonitor}},
		{immy.ModeMonitor, TestFailed, Outcome{Action: ActionTaskMonitor, Reason: ReasonMonitor}},
		{immy.ModeIgnored, TestUnknown, Outcome{Action: ActionNone, Reason: ReasonIgnored}},
		{immy.ModeIgnored, TestFailed, Outcome{Action: ActionNone, Reason: ReasonIgnored}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			require.Equal(t, tt.want, TaskAction(tt.mode, tt.test))
		})
	}
}

func TestActionKindText(t *testing.T) {
	want := []string{"none", "install", "update", "downgrade", "uninstall", "reinstall", "task-enforce", "task-audit", "task-monitor", "fail"}
	for i, name := range want {
		a := ActionKind(i)
		b, err := a.MarshalText()
		require.NoError(t, err)
		require.Equal(t, name, string(b))
		var back ActionKind
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, a, back)
	}
	_, err := ActionKind(len(want)).MarshalText()
	require.ErrorIs(t, err, immy.ErrInvalid)
}
