package immy_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// TestValidatePrivateItemsThroughTheGraph: an item private to a tenant may be
// named by prerequisites and as a configuration task only by items private to
// the same tenant; every other reference is reported, all at once, naming
// both items and the tenant.
func TestValidatePrivateItemsThroughTheGraph(t *testing.T) {
	software := func(f *immy.Fleet, id string) *immy.Software {
		for i := range f.Software {
			if f.Software[i].ID == id {
				return &f.Software[i]
			}
		}
		t.Fatalf("no software %q", id)
		return nil
	}
	installLob := immy.Prerequisite{Condition: immy.ConditionNotInstalled, Quantifier: immy.QuantifierAnyOf,
		Subjects: []string{"lob"}, Then: immy.PrereqInstall, On: []string{"lob"}}
	tests := []struct {
		name   string
		change func(f *immy.Fleet)
		want   []string
	}{
		{
			name: "a global item requires a private one",
			change: func(f *immy.Fleet) {
				vc := software(f, "vcredist")
				vc.Prerequisites = append(vc.Prerequisites, installLob)
			},
			want: []string{
				`software "vcredist": prerequisites[0]: prerequisite subject "lob" is private to tenant "contoso"; the global item "vcredist" cannot name it`,
				`software "vcredist": prerequisites[0].on: prerequisite "lob" is private to tenant "contoso"; the global item "vcredist" cannot name it`,
			},
		},
		{
			name: "a shared item's version requires a private one",
			change: func(f *immy.Fleet) {
				ch := software(f, "chrome")
				ch.Versions[0].Prerequisites = []immy.Prerequisite{{Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAllOf,
					Subjects: []string{"vcredist"}, Then: immy.PrereqUninstall, On: []string{"lob"}}}
			},
			want: []string{
				`software "chrome": versions[0].prerequisites[0].on: prerequisite "lob" is private to tenant "contoso"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "contoso", or share the other)`,
			},
		},
		{
			name: "a private item is the subject only, of a fail rule",
			change: func(f *immy.Fleet) {
				ch := software(f, "chrome")
				ch.Prerequisites = []immy.Prerequisite{{Condition: immy.ConditionInstalled, Quantifier: immy.QuantifierAnyOf,
					Subjects: []string{"lob"}, Then: immy.PrereqFail}}
			},
			want: []string{
				`software "chrome": prerequisites[0]: prerequisite subject "lob" is private to tenant "contoso"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "contoso", or share the other)`,
			},
		},
		{
			name: "a shared item's configuration task is private",
			change: func(f *immy.Fleet) {
				f.Tasks[0].Tenant = "fabrikam" // bitlocker, chrome's configuration task
				f.Deployments[1].Target.Tenant = "fabrikam"
				f.Deployments[1].Target.Group = ""
				f.Deployments[1].Target.Type = immy.TargetAllComputers
			},
			want: []string{
				`software "chrome": configuration_task: configuration task "bitlocker" is private to tenant "fabrikam"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "fabrikam", or share the other)`,
			},
		},
		{
			name: "another tenant's item requires it, and a global one is its configuration",
			change: func(f *immy.Fleet) {
				f.Software = append(f.Software, immy.Software{ID: "fab-app", Name: "Fab", Tenant: "fabrikam",
					Detection: immy.Detection{DisplayName: "Fab*"}, Prerequisites: []immy.Prerequisite{installLob}})
				f.Tasks[0].Tenant = "contoso"
				software(f, "lob").ConfigurationTask = "bitlocker" // same tenant: fine
				software(f, "vcredist").ConfigurationTask = "bitlocker"
			},
			want: []string{
				`software "vcredist": configuration_task: configuration task "bitlocker" is private to tenant "contoso"; the global item "vcredist" cannot name it`,
				`software "chrome": configuration_task: configuration task "bitlocker" is private to tenant "contoso"; "chrome" is shared by every tenant and cannot name it (make "chrome" private to "contoso", or share the other)`,
				`software "fab-app": prerequisites[0]: prerequisite subject "lob" is private to tenant "contoso"; "fab-app" is private to tenant "fabrikam" and cannot name it`,
				`software "fab-app": prerequisites[0].on: prerequisite "lob" is private to tenant "contoso"; "fab-app" is private to tenant "fabrikam" and cannot name it`,
			},
		},
		{
			name: "items private to one tenant name each other",
			change: func(f *immy.Fleet) {
				f.Software = append(f.Software, immy.Software{ID: "lob-addon", Name: "Addon", Tenant: "contoso",
					Detection: immy.Detection{DisplayName: "Addon*"}, Prerequisites: []immy.Prerequisite{installLob}})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFleet()
			tt.change(f)
			err := f.Validate()
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			var ps immy.Problems
			require.True(t, errors.As(err, &ps), "want immy.Problems, got %v", err)
			var got []string
			for _, p := range ps {
				got = append(got, p.Error())
				require.ErrorIs(t, p, immy.ErrInvalid)
			}
			require.Empty(t, cmp.Diff(tt.want, got))
		})
	}
}
