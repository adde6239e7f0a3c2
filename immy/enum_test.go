package immy_test

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// enum is what every enumeration of immy implements.
type enum interface {
	~uint8
	fmt.Stringer
	encoding.TextMarshaler
	Valid() bool
}

// checkEnum checks an enumeration against its spellings, written here from
// fleet-file.md rather than read from the package: index i spells value i,
// "" marks a value that has no spelling (an unset value).
func checkEnum[T enum, PT interface {
	*T
	encoding.TextUnmarshaler
}](t *testing.T, kind string, spellings []string, parse func(string) (T, error)) {
	t.Run(kind, func(t *testing.T) {
		var allowed []string
		for i, s := range spellings {
			v := T(i)
			if s == "" {
				require.False(t, v.Valid(), "%s %d has no spelling, so it is not valid", kind, i)
				var back T
				require.Error(t, PT(&back).UnmarshalText(nil), "empty text is not a %s", kind)
				continue
			}
			allowed = append(allowed, s)
			require.True(t, v.Valid(), "%s %q", kind, s)
			require.Equal(t, s, v.String())
			b, err := v.MarshalText()
			require.NoError(t, err)
			require.Equal(t, s, string(b))

			var back T
			require.NoError(t, PT(&back).UnmarshalText(b))
			require.Equal(t, v, back, "%q does not round-trip", s)
			parsed, err := parse(s)
			require.NoError(t, err)
			require.Equal(t, v, parsed)
		}

		// The first value past the last is not valid and cannot be written.
		past := T(len(spellings))
		require.False(t, past.Valid())
		require.Equal(t, fmt.Sprintf("%s(%d)", kind, len(spellings)), past.String())
		_, err := past.MarshalText()
		require.ErrorIs(t, err, immy.ErrInvalid)

		// Unknown spellings, including a change of case, are an *EnumError
		// listing what is allowed, and leave the destination alone.
		for _, bad := range []string{"no-such-value", strings.ToUpper(allowed[len(allowed)-1]), " " + allowed[0]} {
			keep := T(len(spellings) - 1)
			dst := keep
			err := PT(&dst).UnmarshalText([]byte(bad))
			require.Error(t, err, "%q", bad)
			require.ErrorIs(t, err, immy.ErrInvalid)
			var ee *immy.EnumError
			require.True(t, errors.As(err, &ee), "%T is not an *immy.EnumError", err)
			want := &immy.EnumError{Kind: kind, Value: bad, Allowed: allowed}
			if diff := cmp.Diff(want, ee); diff != "" {
				t.Errorf("EnumError (-want +got):\n%s", diff)
			}
			require.Equal(t, keep, dst, "a failed UnmarshalText changed its destination")
			require.Equal(t, fmt.Sprintf("immy: invalid %s %q (want one of %s)", kind, bad, strings.Join(allowed, ", ")), err.Error())
			_, err = parse(bad)
			require.ErrorAs(t, err, &ee)
		}
	})
}

func TestEnums(t *testing.T) {
	checkEnum[immy.ComputerKind](t, "computer kind",
		[]string{"unknown", "workstation", "portable", "server", "domain-controller", "primary-domain-controller"}, immy.ParseComputerKind)
	checkEnum[immy.OnboardingStatus](t, "onboarding status",
		[]string{"onboarded", "needs-onboarding", "onboarding"}, immy.ParseOnboardingStatus)
	checkEnum[immy.TargetCategory](t, "target category",
		[]string{"computer", "tenant", "person"}, immy.ParseTargetCategory)
	checkEnum[immy.TargetScope](t, "target scope",
		[]string{"cross-tenant", "single-tenant", "individual"}, immy.ParseTargetScope)
	checkEnum[immy.TargetType](t, "target type",
		[]string{"", "all-computers", "computer", "person", "tag", "group", "filter", "client-group", "device-group", "all-tenants", "tenant", "tenant-tag"}, immy.ParseTargetType)
	checkEnum[immy.GroupFilter](t, "group filter",
		[]string{"all", "servers", "workstations", "portable", "workstations-and-portable", "domain-controllers", "primary-domain-controllers"}, immy.ParseGroupFilter)
	checkEnum[immy.DesiredState](t, "desired state",
		[]string{"", "latest", "this-version", "newer-or-equal", "older-or-equal", "any-version", "update-if-found", "uninstalled", "ignored"}, immy.ParseDesiredState)
	checkEnum[immy.TaskMode](t, "task mode",
		[]string{"", "enforce", "audit", "monitor", "ignored"}, immy.ParseTaskMode)
	checkEnum[immy.Enforcement](t, "enforcement",
		[]string{"required", "optional", "adhoc", "onboarding"}, immy.ParseEnforcement)
	checkEnum[immy.Origin](t, "origin", []string{"own", "global"}, immy.ParseOrigin)
	checkEnum[immy.UpgradeStrategy](t, "upgrade strategy",
		[]string{"", "uninstall-install", "install-over", "upgrade-script"}, immy.ParseUpgradeStrategy)
	checkEnum[immy.RepairStrategy](t, "repair strategy",
		[]string{"", "uninstall-install", "install-over", "repair-script"}, immy.ParseRepairStrategy)
	checkEnum[immy.Condition](t, "prerequisite condition",
		[]string{"", "installed", "not-installed"}, immy.ParseCondition)
	checkEnum[immy.Quantifier](t, "prerequisite quantifier", []string{"any-of", "all-of"}, immy.ParseQuantifier)
	checkEnum[immy.PrereqAction](t, "prerequisite action",
		[]string{"", "install", "uninstall", "fail"}, immy.ParsePrereqAction)
	checkEnum[immy.OrderLocation](t, "order location",
		[]string{"unordered", "beginning", "end"}, immy.ParseOrderLocation)
	checkEnum[immy.TaskCategory](t, "task category", []string{"computer", "tenant", "person"}, immy.ParseTaskCategory)
	checkEnum[immy.ParamType](t, "parameter type",
		[]string{"text", "number", "boolean", "select", "password", "uri", "key-value", "file"}, immy.ParseParamType)
	checkEnum[immy.ScriptLanguage](t, "script language",
		[]string{"", "powershell", "cmd", "sh", "lua"}, immy.ParseScriptLanguage)
	checkEnum[immy.ScriptContext](t, "script context",
		[]string{"system", "user", "metascript", "cloud"}, immy.ParseScriptContext)
	checkEnum[immy.GroupKind](t, "group kind", []string{"", "persons", "computers"}, immy.ParseGroupKind)
	checkEnum[immy.ItemKind](t, "item kind", []string{"software", "task"}, immy.ParseItemKind)
}

// Enumerations work wherever encoding.TextMarshaler does, as in JSON.
func TestEnumJSON(t *testing.T) {
	type doc struct {
		Kind    immy.ComputerKind
		Filter  immy.GroupFilter
		Desired immy.DesiredState
	}
	b, err := json.Marshal(doc{immy.KindPortable, immy.FilterWorkstationsAndPortable, immy.DesiredUpdateIfFound})
	require.NoError(t, err)
	require.JSONEq(t, `{"Kind":"portable","Filter":"workstations-and-portable","Desired":"update-if-found"}`, string(b))

	var back doc
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, doc{immy.KindPortable, immy.FilterWorkstationsAndPortable, immy.DesiredUpdateIfFound}, back)

	err = json.Unmarshal([]byte(`{"Kind":"laptop"}`), &back)
	var ee *immy.EnumError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, "laptop", ee.Value)
}
