package targets

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
)

// Every field offset reads the field it stands for.
func TestPredFieldOffsets(t *testing.T) {
	c := &immy.Computer{ID: "id", Name: "name", Tenant: "tenant", OS: "os", Serial: "serial",
		Manufacturer: "manufacturer", Model: "model", Tags: []string{"tag"}, UPNs: []string{"upn"}, DeviceGroups: []string{"dg"}}
	tn := &immy.Tenant{ID: "tid", Name: "tname", Parent: "tparent", Tags: []string{"ttag"}}
	names := map[predField]string{}
	for obj, fields := range predStringFields {
		for name, f := range fields {
			names[f] = obj + "." + name
		}
	}
	for obj, fields := range predListFields {
		for name, f := range fields {
			names[f] = obj + "." + name
		}
	}
	checked := 0
	for f, off := range computerStringOffset {
		obj, name := split(names[f])
		require.Equal(t, stringFields[obj][name](c, tn), computerString(c, off), names[f])
		checked++
	}
	for f, off := range tenantStringOffset {
		obj, name := split(names[f])
		require.Equal(t, stringFields[obj][name](c, tn), tenantString(tn, off), names[f])
		checked++
	}
	for f, off := range computerListOffset {
		obj, name := split(names[f])
		require.Equal(t, listFields[obj][name](c, tn), computerList(c, off), names[f])
		checked++
	}
	for f, off := range tenantListOffset {
		obj, name := split(names[f])
		require.Equal(t, listFields[obj][name](c, tn), tenantList(tn, off), names[f])
		checked++
	}
	// Every plain field has an offset; kind and onboarding are enums, read
	// through their String method.
	require.Equal(t, len(names)-2, checked)
}

func split(s string) (string, string) {
	for i := range s {
		if s[i] == '.' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// Each simple predicate, alone and chained, agrees with the general closures.
func TestPredicatesAgreeWithClosures(t *testing.T) {
	cs, ts := genComputers(11, 150)
	for _, src := range []string{
		`computer.os startsWith "Windows"`, `computer.os endsWith "Pro"`, `computer.name contains "1"`,
		`computer.id == "c000003"`, `"c000003" != computer.id`, `computer.kind == "server"`, `computer.onboarding != "onboarded"`,
		`tenant.id == "t0001"`, `tenant.parent startsWith "t"`, `tenant.name contains "3"`,
		`"canary" in computer.tags`, `"vip" in tenant.tags`, `"rmm-lab" in computer.device_groups`, `"user1@t0001.example" in computer.upns`,
		`computer.attributes["site"] == "hq"`, `computer.attributes.site != "hq"`, `computer.online`, `not computer.online`,
		`has_tag("vip")`, `installed("Google*")`,
		`computer.online and computer.os startsWith "Windows" and computer.kind in ["server", "portable"] and has_tag("pilot")`,
	} {
		f, err := Compile(LanguageExpr, src)
		require.NoError(t, err)
		require.True(t, f.Native(), src)
		for i := range cs {
			tn := tenantOf(ts, cs[i].Tenant)
			want, err := f.evalVM(t.Context(), &cs[i], tn)
			require.NoError(t, err)
			require.Equal(t, want, f.fast(&cs[i], tn), "%s on %s", src, cs[i].ID)
		}
	}
}
