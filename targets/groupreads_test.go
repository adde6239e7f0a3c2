package targets

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/immytest"
)

// otherwise returns copies of c and t that differ from them in every input
// that read does not hold (the names of a luaChunk's inputs): what grouping
// by reads assumes a run does not depend on.
func otherwise(c *immy.Computer, t *immy.Tenant, read map[string]bool) (*immy.Computer, *immy.Tenant) {
	c2, t2 := *c, *t
	str := func(name string, s *string) {
		if !read[name] {
			*s += "~other"
		}
	}
	list := func(name string, l *[]string) {
		if !read[name] {
			*l = append(slices.Clone(*l), "other", "hq", "canary")
			slices.Reverse(*l)
		}
	}
	str("computer.id", &c2.ID)
	str("computer.name", &c2.Name)
	str("computer.tenant", &c2.Tenant)
	str("computer.os", &c2.OS)
	str("computer.serial", &c2.Serial)
	str("computer.manufacturer", &c2.Manufacturer)
	str("computer.model", &c2.Model)
	if !read["computer.kind"] {
		c2.Kind = c.Kind%4 + 1
	}
	if !read["computer.onboarding"] {
		c2.Onboarding = (c.Onboarding + 1) % 3
	}
	if !read["computer.online"] {
		c2.Online = !c.Online
	}
	list("computer.tags", &c2.Tags)
	list("computer.upns", &c2.UPNs)
	list("computer.device_groups", &c2.DeviceGroups)
	if !read["software"] {
		c2.Software = nil
		if len(c.Software) == 0 {
			c2.Software = []immy.DetectedSoftware{{Name: "Google Chrome"}, {Name: "Adobe Acrobat Reader DC"}}
		}
	}
	if !read["computer.attributes"] {
		c2.Attributes = map[string]string{}
		for k, v := range c.Attributes {
			if read["attr:"+k] {
				c2.Attributes[k] = v
			}
		}
		for _, k := range []string{"site", "department", "ram_gb", "room"} {
			if !read["attr:"+k] {
				c2.Attributes[k] = c.Attributes[k] + "~other"
			}
		}
	}
	str("tenant.id", &t2.ID)
	str("tenant.name", &t2.Name)
	str("tenant.parent", &t2.Parent)
	list("tenant.tags", &t2.Tags)
	return &c2, &t2
}

// The inputs a compiled run notes as read cover what it reads: run again on
// a computer that differs in every other input, it decides the same and
// reads the same. (Grouping by reads rests on it.)
func TestLuaReadsCoverRun(t *testing.T) {
	cs, ts := luaCompiledComputers()
	g := &luaProgGen{r: rand.New(rand.NewPCG(18, 5))}
	checked := 0
	for range 1500 {
		src := g.program()
		f, err := Compile(LanguageLua, src)
		if err != nil || f.chunk == nil {
			continue
		}
		for i := range cs {
			tn := tenantOf(ts, cs[i].Tenant)
			if tn == nil {
				tn = &emptyTenant
			}
			ok, decided, read := f.chunk.runReading(&cs[i], tn)
			if !decided {
				continue
			}
			names := map[string]bool{}
			for b, in := range f.chunk.inputs {
				if read&(1<<b) != 0 {
					names[in.name] = true
				}
			}
			c2, t2 := otherwise(&cs[i], tn, names)
			ok2, decided2, read2 := f.chunk.runReading(c2, t2)
			require.True(t, decided2 && ok2 == ok && read2 == read,
				"filter:\n%s\non %+v: %v, read %b; on %+v: %v (decided %v), read %b", src, cs[i], ok, read, *c2, ok2, decided2, read2)
			checked++
		}
	}
	require.Greater(t, checked, 10_000, "many runs decided")
}

// Lua filters evaluated by groups of what their runs read agree with the
// filter on each computer alone, and the filters people write are
// grouped so: early returns on the OS, the site or a tag before the name or
// the UPNs are read.
func TestGroupByReadsMatchesPlain(t *testing.T) {
	cfg := immytest.FleetScale(100_000)
	cfg.Computers = 600
	f := immytest.Generate(cfg)
	ix, err := NewIndex(f, Config{})
	require.NoError(t, err)
	m, err := ix.Compile(f.Deployments)
	require.NoError(t, err)
	ctx := context.Background()
	filters, known := 0, 0
	for s, slot := range m.filters {
		if slot.f.chunk == nil {
			continue
		}
		r := m.groupByReads(ctx, int32(s))
		if r == nil {
			continue
		}
		filters++
		for c := range f.Computers {
			got, ok := r.lookup(c)
			if !ok {
				continue
			}
			known++
			want, err := slot.f.Eval(ctx, m.env(c))
			require.NoError(t, err)
			require.Equal(t, want, got, "filter %q, computer %s", slot.f.Source(), f.Computers[c].ID)
		}
	}
	t.Logf("%d Lua filters grouped by their reads, %d results known", filters, known)
	require.Greater(t, filters, 50)
	require.Greater(t, known, filters*100)
}
