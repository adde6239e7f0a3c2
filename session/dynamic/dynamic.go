package dynamic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/installer"
	"github.com/immyoss/engine/internal/luasandbox"
)

// Version is one dynamic version of a software.
type Version struct {
	Version   immy.Version
	Installer immy.Installer
}

// Lister lists a software's dynamic versions: an integration instance
// (adapt plugins.Instance.DynamicVersions), or anything else.
type Lister interface {
	DynamicVersions(ctx context.Context, software string) ([]Version, error)
}

// ListerFunc is a function that is a Lister.
type ListerFunc func(ctx context.Context, software string) ([]Version, error)

// DynamicVersions calls f.
func (f ListerFunc) DynamicVersions(ctx context.Context, software string) ([]Version, error) {
	return f(ctx, software)
}

// Limits.
const (
	DefaultTTL  = time.Hour
	MaxVersions = 1000    // entries one source may give
	MaxHTTPBody = 1 << 20 // bytes http_get reads
)

// Cache asks the dynamic sources of software and keeps their answers for
// TTL. Its zero value works (DefaultTTL, no integrations, no http_get). It
// is safe for concurrent use.
type Cache struct {
	TTL time.Duration
	// Integrations are the listers of integration sources, by instance id.
	Integrations map[string]Lister
	// HTTPClient, when set, gives metascripts http_get.
	HTTPClient *http.Client
	// Timeout bounds one metascript; zero is a minute.
	Timeout time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]entry
	pool    *luasandbox.Pool
	once    sync.Once
	// Asked counts the sources asked (not answered from the cache).
	asked int
}

type entry struct {
	versions []Version
	at       time.Time
}

// Asked reports how many times a source was asked rather than answered
// from the cache.
func (c *Cache) Asked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.asked
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// key is what a cached answer is kept under: the software and its source.
func key(sw *immy.Software) string {
	d := sw.Dynamic
	var body string
	if d.Script != nil {
		body = d.Script.Body
	}
	return sw.ID + "\x00" + d.Integration + "\x00" + d.Name + "\x00" + body
}

// Versions returns a software's dynamic versions, newest first, from the
// cache when asked less than TTL ago. A software without a source has none.
func (c *Cache) Versions(ctx context.Context, sw *immy.Software) ([]Version, error) {
	if sw.Dynamic == nil {
		return nil, nil
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	k := key(sw)
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && c.now().Sub(e.at) < ttl {
		c.mu.Unlock()
		return slices.Clone(e.versions), nil
	}
	c.asked++
	c.mu.Unlock()

	var vs []Version
	var err error
	switch d := sw.Dynamic; {
	case d.Script != nil:
		vs, err = c.runScript(ctx, sw)
	case d.Integration != "":
		l := c.Integrations[d.Integration]
		if l == nil {
			return nil, fmt.Errorf("dynamic: software %q: no integration %q", sw.ID, d.Integration)
		}
		name := d.Name
		if name == "" {
			name = sw.ID
		}
		vs, err = l.DynamicVersions(ctx, name)
		if err == nil {
			err = check(vs)
		}
	default:
		return nil, fmt.Errorf("dynamic: software %q: its dynamic source has neither a script nor an integration", sw.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("dynamic: software %q: %w", sw.ID, err)
	}
	slices.SortStableFunc(vs, func(a, b Version) int { return b.Version.Compare(a.Version) })
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]entry{}
	}
	c.entries[k] = entry{versions: vs, at: c.now()}
	c.mu.Unlock()
	return slices.Clone(vs), nil
}

// check reports every bad version a source gave.
func check(vs []Version) error {
	if len(vs) > MaxVersions {
		return fmt.Errorf("%d versions, at most %d allowed", len(vs), MaxVersions)
	}
	var errs []error
	for i, v := range vs { // numbered from 1, as a Lua list is
		if v.Version.IsZero() {
			errs = append(errs, fmt.Errorf("[%d]: no version", i+1))
		}
		if err := installer.Check(v.Installer); err != nil {
			errs = append(errs, fmt.Errorf("[%d] %s: %w", i+1, v.Version, err))
		}
	}
	return errors.Join(errs...)
}

// Apply returns a copy of f in which every software with a dynamic source
// has its dynamic versions beside its listed ones: a dynamic version the
// catalogue lists too gives it its installer; the others are added with
// the software's own scripts. f is not changed. The error joins every
// source that failed; those software keep their listed versions only, and
// the fleet is still returned.
func (c *Cache) Apply(ctx context.Context, f *immy.Fleet) (*immy.Fleet, error) {
	out := *f
	out.Software = slices.Clone(f.Software)
	var errs []error
	for i := range out.Software {
		sw := &out.Software[i]
		if sw.Dynamic == nil {
			continue
		}
		vs, err := c.Versions(ctx, sw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		versions := slices.Clone(sw.Versions)
		for _, v := range vs {
			inst := v.Installer
			inst.SHA256 = strings.ToLower(inst.SHA256)
			if j := slices.IndexFunc(versions, func(s immy.SoftwareVersion) bool { return s.Version.Equal(v.Version) }); j >= 0 {
				if versions[j].Installer == nil {
					versions[j].Installer = &inst
				}
				continue
			}
			versions = append(versions, immy.SoftwareVersion{Version: v.Version, Installer: &inst})
		}
		sw.Versions = versions
	}
	return &out, errors.Join(errs...)
}

// runScript runs a metascript source.
func (c *Cache) runScript(ctx context.Context, sw *immy.Software) ([]Version, error) {
	c.once.Do(func() {
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = time.Minute
		}
		c.pool = luasandbox.NewPool(0, luasandbox.Config{Library: c.library, Timeout: timeout})
	})
	proto, err := luasandbox.Compile("dynamic:"+sw.ID, sw.Dynamic.Script.Body)
	if err != nil {
		return nil, err
	}
	var out []Version
	var errs []error
	v, err := c.pool.Run(ctx, proto, func(s *luasandbox.State, env *lua.LTable) {
		t := s.L.CreateTable(0, 2)
		t.RawSetString("id", lua.LString(sw.ID))
		t.RawSetString("name", lua.LString(sw.Name))
		env.RawSetString("software", t)
	})
	if err != nil {
		return nil, err
	}
	list, ok := v.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("the script returned a %s, not a list of versions", v.Type())
	}
	n := list.Len()
	if n > MaxVersions {
		return nil, fmt.Errorf("%d versions, at most %d allowed", n, MaxVersions)
	}
	for i := 1; i <= n; i++ {
		e, ok := list.RawGetInt(i).(*lua.LTable)
		if !ok {
			errs = append(errs, fmt.Errorf("[%d]: not a table", i))
			continue
		}
		str := func(k string) string {
			if s, ok := e.RawGetString(k).(lua.LString); ok {
				return string(s)
			}
			return ""
		}
		ver, err := immy.ParseVersion(str("version"))
		if err != nil {
			errs = append(errs, fmt.Errorf("[%d] version %q: %w", i, str("version"), err))
			continue
		}
		inst := immy.Installer{URL: str("url"), SHA256: str("sha256"), FileName: str("file_name")}
		if err := installer.Check(inst); err != nil {
			errs = append(errs, fmt.Errorf("[%d] %s: %w", i, ver, err))
			continue
		}
		out = append(out, Version{Version: ver, Installer: inst})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// library gives metascripts http_get when the cache has a client.
func (c *Cache) library(s *luasandbox.State, lib *lua.LTable) {
	if c.HTTPClient == nil {
		return
	}
	lib.RawSetString("http_get", s.L.NewFunction(func(L *lua.LState) int {
		raw := L.CheckString(1)
		if !strings.HasPrefix(raw, "https://") && !strings.HasPrefix(raw, "http://") {
			L.RaiseError("http_get: %q is not an http(s) URL", raw)
		}
		req, err := http.NewRequestWithContext(L.Context(), http.MethodGet, raw, nil)
		if err != nil {
			L.RaiseError("http_get: %v", err)
		}
		resp, err := c.HTTPClient.Do(req)
		if err != nil {
			L.RaiseError("http_get: %v", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			L.RaiseError("http_get %s: status %s", raw, resp.Status)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, MaxHTTPBody+1))
		if err != nil {
			L.RaiseError("http_get: %v", err)
		}
		if len(b) > MaxHTTPBody {
			L.RaiseError("http_get %s: more than %d bytes", raw, MaxHTTPBody)
		}
		L.Push(lua.LString(b))
		return 1
	}))
}
