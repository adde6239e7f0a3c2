// Package targets answers which computers (or, for cloud tasks, which
// tenants) a deployment's target selects, and why.
//
// # Resolving targets
//
// Build an Index once over a fleet, compile the deployments' targets once into
// a Matcher, then ask as often as needed:
//
//	ix, err := targets.NewIndex(fleet, targets.Config{})      // tenant tree, affinity, tags, groups...
//	m, err := ix.Compile(fleet.Deployments)                  // every filter compiled and type-checked
//	cs, err := m.Resolve(ctx, i)                             // deployment i -> computers, by id
//	ds, err := m.Match(ctx, c, nil)                          // computer c -> deployments, ascending
//	g, own, err := m.MatchSplit(ctx, c, nil)                 // the same, split: c's own, and its group (tenant, kind)
//	sh, err := m.AppendShared(ctx, c, nil)                   // what c's group shares
//	ts, err := m.ResolveTenants(ctx, i)                      // a cloud task's tenants, by id
//	e, err := m.Explain(ctx, i, c)                           // why c is in or out of i's target
//
// The Index and the Matcher are immutable and safe for concurrent use; they
// keep the fleet and the deployments, which the caller must not change
// afterwards. Errors of the fleet that make resolution meaningless (cycles in
// the tenant tree or in group nesting, filters that do not compile) come back
// together as immy.Problems; dangling references (a group that does not
// exist) select nothing, as immy.Fleet.Validate reports them.
//
// # The rules
//
// A target has a type, an optional tenant, a group filter and "propagate to
// child tenants" (see immy.Target):
//
//   - all-computers; computer (individual scope); person: the computers whose
//     primary person it is (individual scope);
//   - tag: the computers carrying the tag, the computers of tenants carrying
//     it (not of their child tenants), and the primary computers of persons
//     carrying it;
//   - group: a static computer group (computers, nested groups) or a user
//     group (persons, resolved through affinity, and computers, nested groups);
//   - filter: an expr or Lua filter, see below;
//   - device-group: computers whose DeviceGroups hold it; client-group: the
//     computers of tenants with an agreement of that client group active on
//     the evaluation day (Config.At, in UTC, whole days, both ends inclusive);
//   - for cloud tasks (ResolveTenants): all-tenants, tenant, tenant-tag and
//     client-group select tenants; they select no computers.
//
// A target with a tenant reaches only that tenant's computers, and its
// descendants' when it propagates. A target without a tenant is cross-tenant
// (unless it names a computer or a person) and skips the tenants excluded from
// cross-tenant deployments. A computer excluded from maintenance is selected
// by nothing. The group filter keeps computers by kind: servers are servers,
// domain controllers and primary domain controllers; domain-controllers the
// last two; workstations-and-portable the first two kinds; a computer of
// unknown kind passes only "all". Whether a deployment is enabled is the
// caller's business.
//
// Affinity: a computer's primary person is the person of its tenant whose UPN
// occurs most often among its last ten UPNs, ties going to the most recent,
// compared case-insensitively (PrimaryPerson).
//
// # Filters
//
// Compile compiles one filter; Index.Compile compiles each distinct filter of
// the deployments once; CheckFilters reports every filter of a fleet's
// deployments and schedules that does not compile (a fleet file check). The
// environment is the same everywhere:
//
//	computer  id name tenant kind os serial manufacturer model onboarding (strings)
//	          online (bool); tags upns device_groups (lists); attributes (map of strings)
//	tenant    id name parent (strings); tags (list)
//	has_tag(name)    the computer's or its tenant's tag
//	installed(glob)  a detected software's name matches glob (* and ?, case-insensitive)
//
// An expr filter (github.com/expr-lang/expr) is type-checked against that
// environment and must be boolean:
//
//	computer.os startsWith "Windows 11" and "canary" in computer.tags and computer.attributes["site"] == "hq"
//
// A missing attribute reads as "". expr's now() is not available: a filter is
// a function of the computer alone.
//
// A Lua filter is a chunk that returns a boolean. It sees the same names as
// globals, plus starts_with(s, prefix), ends_with(s, suffix) and
// contains(list, value), and Lua's base, string, table and math libraries
// without anything that reaches outside (no os, io, load, loadstring, dofile,
// loadfile, require, getfenv, setfenv, collectgarbage, rawset, print,
// coroutines or math.random). A missing attribute is nil. computer and tenant
// are read-only; attributes is a read-only view that pairs walks in key order.
//
//	return starts_with(computer.os, "Windows 11") and contains(computer.tags, "canary")
//	    and computer.attributes.site == "hq"
//
// Compiling a Lua filter checks what can be checked without running it: the
// syntax, that the chunk returns something, that every global it reads exists
// (or is assigned by the chunk), and that constant fields of computer and
// tenant exist. A filter that fails is a *CompileError with the line and
// column inside the filter and a snippet of the line.
//
// # Running filters, fast and safely
//
// Filters run as Go closures compiled from the checked syntax tree. In expr:
// field access, comparisons, startsWith/endsWith/contains/matches, in, map
// index, and/or/not, lower/upper/trim, int, len, split and an index of it,
// any/all/none/one/count with a predicate on the element, and the
// environment's functions. In Lua, the forms people write: locals and
// assignments, if, numeric and generic for (ipairs, pairs) over the
// computer's lists, while, break, string.find/match/sub/lower/upper/len and
// their method calls, #, tonumber, arithmetic, concatenation and tables of
// constants. They run within a few times the same predicate written in Go
// (BenchmarkFilterSet measures a set of filters as MSPs write them against
// hand-written Go). A run the closures do not model exactly (one the VM
// reports an error for, an int of a string that is none, a Lua run of more
// than 100,000 steps or 1 MiB of strings) is left to the VM, so that the VM
// and its budgets have the last word; tests and fuzz tests pin the closures
// to the VMs on generated filters and computers. Other filters run in expr's
// VM (pooled) or in a pooled, sandboxed Lua state that runs the compiled
// prototype shared by every state. What a run writes to its globals is gone
// before the next run.
//
// A filter that costs more than reading its fields (Lua, or an expr filter
// in its VM) remembers its results by the values of the fields it reads, so
// that it runs about once per distinct OS, maker, site or tenant rather than
// once per computer; the memo is bounded and turns itself off for a filter
// that reads what differs on every computer.
//
// # Bounds
//
// Every filter is bounded before any parser sees it: MaxFilterSource bytes,
// MaxFilterDepth levels of nesting (brackets, blocks, runs of unary
// operators) and MaxFilterChain operators in one expression, checked by a
// scanner of our own, so that a hostile filter is a positioned CompileError and
// not a stack overflow that ends the process; compilation runs under
// CompileTimeout. The native forms are compiled from the same bounded trees.
// A Lua run is bounded by ctx's deadline, or by DefaultLuaTimeout (100 ms)
// when ctx has none, by MaxLuaInstructions instructions and by MaxLuaMemory
// bytes counted for its state; the builtins that can do much in one call
// (pattern matching, string.rep, gsub, format, table.concat, unpack, the
// concatenation operator) count against the same budgets, and string.rep is
// bounded by MaxLuaStringRep (see internal/luasandbox). A run that spends a
// budget fails with an error that says which. expr's VM has no deadline, so
// what could make one evaluation unbounded is refused when an expr filter is
// compiled: let, a predicate inside a predicate, ranges (a..b), and the
// builtins that build more than they read (repeat, replace, join), with now.
//
// # At fleet scale
//
// Match never scans the deployments: postings keyed by scope (cross-tenant,
// the computer's tenant, its ancestors when propagated), target type and key
// (the computer, its primary person, its tags, groups, device groups and its
// tenant's client groups) lead from a computer to its candidates. Resolve
// starts from the index of its target type (tenant subtree, tag, person,
// group, device group, client group) and scans every computer only for
// cross-tenant all-computers and filter targets, once per distinct target
// whatever the number of deployments sharing it. Each distinct filter is
// evaluated at most once per computer for the life of the Matcher, and
// usually once per group of computers: once a filter has been asked of many
// computers, they are grouped by the values of the fields it reads (a
// filter of the OS and the tenant runs once per OS and tenant); a filter
// that also reads what does not group (the name, UPNs, installed software)
// is grouped by the clauses of a top-level "and" that read only fields
// that do, and a compiled Lua filter by the fields a run actually read (an
// early "return false" on the OS decides a whole group). A group's first
// computer runs the filter as any computer would; a run that fails or
// reads beyond the group's fields leaves the group's computers to run it
// one by one. The groupings of an index share a bounded budget of memory
// (group.go). MatchOf and MatchSplitOf take the deployments the caller
// wants: a filter that only other deployments have is not evaluated (the
// resolver wants only those that can be candidates of its session).
//
// # A fleet that changes
//
// An Index and a Matcher never change; a changed fleet gets new ones that
// share what did not change:
//
//	ix2, err := ix.Update(next, targets.Changes{Computers: []string{"pc-01"}}) // next: the fleet after the change
//	m2, err := m.Update(ix2, deployments)                                      // the deployments of next
//	ids, all, err := m2.Touched(ctx, m, ch)                                    // whose matches may differ
//
// Changes lists, by id, what a change put or deleted, section by section
// (the fleet store's operations map onto it one to one); the other entities
// of next must be those of the old fleet, computers at their places. A
// change of computers' inventory (software, OS, online, attributes, UPNs
// that keep the primary person) shares every lookup and costs O(changed
// computers); one of their kind, tags or device groups patches copies of
// what it touches; a change of deployments recompiles the targets
// (O(deployments)) but no filter already known; other changes build the
// lookups again (O(fleet)). Along the updates a filter keeps its slot, and what it found on
// a computer that did not change is shared, not evaluated again (unless
// tenants changed or a computer was deleted, which start the results
// afresh). Matchers updated from one matcher in two ways (a preview and an
// apply) stay apart.
package targets
