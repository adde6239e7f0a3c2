package targets

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/immyoss/engine/immy"
)

// computerView is the computer an expr filter sees.
type computerView struct {
	ID           string            `expr:"id"`
	Name         string            `expr:"name"`
	Tenant       string            `expr:"tenant"`
	Kind         string            `expr:"kind"`
	OS           string            `expr:"os"`
	Serial       string            `expr:"serial"`
	Manufacturer string            `expr:"manufacturer"`
	Model        string            `expr:"model"`
	Online       bool              `expr:"online"`
	Onboarding   string            `expr:"onboarding"`
	Tags         []string          `expr:"tags"`
	Attributes   map[string]string `expr:"attributes"`
	UPNs         []string          `expr:"upns"`
	DeviceGroups []string          `expr:"device_groups"`
}

// tenantView is the tenant an expr filter sees.
type tenantView struct {
	ID     string   `expr:"id"`
	Name   string   `expr:"name"`
	Parent string   `expr:"parent"`
	Tags   []string `expr:"tags"`
}

// exprEnv is the environment expr filters are checked against and run in.
type exprEnv struct {
	Computer  *computerView     `expr:"computer"`
	Tenant    *tenantView       `expr:"tenant"`
	HasTag    func(string) bool `expr:"has_tag"`
	Installed func(string) bool `expr:"installed"`
}

// exprProgram is an expr filter compiled for the VM, with a pool of VMs and
// environments to run it in.
type exprProgram struct {
	prog *vm.Program
	pool sync.Pool // *exprSlot
}

// exprSlot is one reusable VM with its environment; its functions are bound
// to the slot's current computer and tenant.
type exprSlot struct {
	vm  vm.VM
	env exprEnv
	cv  computerView
	tv  tenantView
	c   *immy.Computer
	t   *immy.Tenant
}

func newExprSlot() *exprSlot {
	s := &exprSlot{}
	s.env = exprEnv{
		Computer:  &s.cv,
		Tenant:    &s.tv,
		HasTag:    func(tag string) bool { return hasTag(s.c, s.t, tag) },
		Installed: func(glob string) bool { return installed(s.c, glob) },
	}
	return s
}

func exprOptions() []expr.Option {
	return []expr.Option{
		expr.Env(exprEnv{}),
		expr.AsBool(),
	}
}

// exprOptionsAll is exprOptions with the builtins filters may not call
// disabled (see exprDisabled: no clock, nothing that amplifies).
func exprOptionsAll() []expr.Option {
	opts := exprOptions()
	for _, name := range exprDisabled {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	return opts
}

// compileExpr type-checks src, compiles it for the VM and, when it is of the
// common shape, into Go closures.
func compileExpr(src string) (f *Filter, err error) {
	defer func() {
		// expr is not expected to panic; if it does, the filter is still bad
		// input and the caller gets a positioned error rather than a crash.
		if r := recover(); r != nil {
			f, err = nil, newCompileError(LanguageExpr, src, 1, 1, fmt.Sprintf("cannot compile: %v", r))
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, newCompileError(LanguageExpr, src, 1, 1, "empty filter")
	}
	cfg := conf.CreateNew()
	for _, op := range exprOptionsAll() {
		op(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	cfg.Check()
	tree, err := checker.ParseCheck(src, cfg)
	if err != nil {
		return nil, exprError(src, err)
	}
	if at, msg, ok := exprBounds(tree.Node); !ok {
		line, col := runePosition(src, at)
		return nil, newCompileError(LanguageExpr, src, line, col, msg)
	}
	fast := fastExpr(tree.Node)
	var decide decideFn
	if fast != nil && exprFallible(tree.Node) {
		// Closures that may give up leave that input to the VM.
		fast, decide = nil, exprDecider(fast)
	}
	prog, err := expr.Compile(src, exprOptionsAll()...)
	if err != nil {
		return nil, exprError(src, err)
	}
	p := &exprProgram{prog: prog}
	p.pool.New = func() any { return newExprSlot() }
	inputs := exprInputs(tree.Node)
	var memo *filterMemo
	if fast == nil && decide == nil {
		memo = inputs.memo() // the VM costs more than reading the fields
	}
	return &Filter{lang: LanguageExpr, src: src, fast: fast, decide: decide, memo: memo, reads: inputs.reads(),
		guards: exprGuards(tree.Node), expr: p}, nil
}

// exprTypeNames rewrites the Go names of the views in expr's messages.
var exprTypeNames = strings.NewReplacer(
	"type targets.computerView", "computer",
	"type targets.tenantView", "tenant",
	"*targets.computerView", "computer",
	"*targets.tenantView", "tenant",
	"targets.computerView", "computer",
	"targets.tenantView", "tenant",
)

// exprError turns an error of expr's parser or checker into a CompileError.
func exprError(src string, err error) *CompileError {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return newCompileError(LanguageExpr, src, 1, 1, exprTypeNames.Replace(err.Error()))
	}
	line, col := fe.Line, fe.Column+1
	if fe.Line == 0 {
		// Unbound errors (the result is not boolean) concern the whole filter.
		line, col = 1, 1
	}
	return newCompileError(LanguageExpr, src, line, col, exprTypeNames.Replace(fe.Message))
}

// eval runs the program in a pooled VM.
func (p *exprProgram) eval(c *immy.Computer, t *immy.Tenant) (bool, error) {
	s := p.pool.Get().(*exprSlot)
	s.c, s.t = c, t
	s.cv = computerView{
		ID: c.ID, Name: c.Name, Tenant: c.Tenant, Kind: c.Kind.String(), OS: c.OS,
		Serial: c.Serial, Manufacturer: c.Manufacturer, Model: c.Model, Online: c.Online,
		Onboarding: c.Onboarding.String(), Tags: c.Tags, Attributes: c.Attributes,
		UPNs: c.UPNs, DeviceGroups: c.DeviceGroups,
	}
	s.tv = tenantView{ID: t.ID, Name: t.Name, Parent: t.Parent, Tags: t.Tags}
	out, err := s.vm.Run(p.prog, &s.env)
	// Drop references to the fleet before pooling the slot.
	s.c, s.t = nil, nil
	s.cv, s.tv = computerView{}, tenantView{}
	p.pool.Put(s)
	if err != nil {
		return false, fmt.Errorf("targets: expr filter: %w", err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("targets: expr filter returned %T, want bool: %w", out, immy.ErrInvalid)
	}
	return b, nil
}

// runePosition returns the 1-based line and column of the rune at offset at
// of src.
func runePosition(src string, at int) (line, col int) {
	line, col = 1, 1
	i := 0
	for _, r := range src {
		if i == at {
			break
		}
		i++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
