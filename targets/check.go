package targets

import (
	"github.com/immyoss/engine/immy"
)

// CheckFilters compiles every filter of the fleet's deployments and schedules
// and returns a problem for each one that does not compile (section
// "deployments" or "schedules", field "target.expr" or "target.lua", the
// position inside the filter in the message), in a deterministic order. It
// reports nothing else: a filter target with both or neither of expr and lua
// is immy.Fleet.Validate's to report. It suits a fleet file check:
//
//	fleetfile.Config{Checks: []fleetfile.Check{
//		func(f *fleetfile.File) immy.Problems { return targets.CheckFilters(f.Fleet) },
//	}}
func CheckFilters(f *immy.Fleet) immy.Problems {
	var ps immy.Problems
	failed := map[string]*CompileError{}
	compiled := map[string]bool{}
	check := func(section string, i int, id string, t immy.Target) {
		if t.Type != immy.TargetFilter || (t.Expr == "") == (t.Lua == "") {
			return
		}
		lang, src, field := LanguageExpr, t.Expr, "target.expr"
		if t.Lua != "" {
			lang, src, field = LanguageLua, t.Lua, "target.lua"
		}
		key := lang.String() + "\x00" + src
		ce, seen := failed[key]
		if !seen && !compiled[key] {
			if _, err := Compile(lang, src); err != nil {
				ce = asCompileError(lang, src, err)
				failed[key] = ce
			} else {
				compiled[key] = true
			}
		}
		if ce != nil {
			ps = append(ps, immy.Problem{Section: section, Index: i, ID: id, Field: field, Message: ce.problemMessage(), Err: ce})
		}
	}
	for i, d := range f.Deployments {
		check("deployments", i, d.ID, d.Target)
	}
	for i, s := range f.Schedules {
		check("schedules", i, s.ID, s.Target)
	}
	ps.Sort()
	return ps
}

// asCompileError returns err as a *CompileError; Compile returns nothing else
// for a known language.
func asCompileError(lang Language, src string, err error) *CompileError {
	if ce, ok := err.(*CompileError); ok {
		return ce
	}
	return newCompileError(lang, src, 1, 1, err.Error())
}
