package luasandbox

import (
	"context"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// The budgets of a run when the Config does not say otherwise.
const (
	// DefaultMaxMemory is the memory a run may hold, in bytes, counted
	// for its state (see Config.MaxMemory).
	DefaultMaxMemory = 64 << 20
	// DefaultMaxInstructions is the number of VM instructions (and steps of
	// the builtins that loop, such as pattern matching) a run may take: about
	// a minute of work for the fastest Lua code.
	DefaultMaxInstructions = 2_000_000_000
)

// Limit names the budget that stopped a run.
type Limit string

// The budgets a run has.
const (
	LimitMemory       Limit = "memory"
	LimitInstructions Limit = "instructions"
	LimitTime         Limit = "time"
)

// LimitError is a run stopped because it spent one of its budgets. A
// LimitTime error wraps context.DeadlineExceeded. A chunk cannot catch it
// with pcall: once a budget is spent, every instruction of the run fails.
type LimitError struct {
	Limit Limit
	// Message is the first line of the error with the chunk's name and
	// line ("lua:3: memory budget of 16 MiB exceeded").
	Message string
}

func (e *LimitError) Error() string { return "luasandbox: " + e.Message }

// Unwrap makes errors.Is(err, context.DeadlineExceeded) hold for LimitTime.
func (e *LimitError) Unwrap() error {
	if e.Limit == LimitTime {
		return context.DeadlineExceeded
	}
	return nil
}

// stop is the reason a hook stopped its run.
type stop struct {
	limit Limit
	msg   string
}

func (s *stop) Error() string { return s.msg }

// checkEvery is how many instructions run between two checks of a run's
// budgets; bytesPerInstruction is the memory an instruction is counted as
// taking (a table assignment adds a slot) until the next measure.
const (
	checkEvery          = 1024
	bytesPerInstruction = 32
)

// closedChan is what Done returns once a run is stopped.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// hook is the context a state runs with. gopher-lua asks a state's context
// for Done before every instruction: the hook counts them there, and every
// checkEvery of them checks the run's budgets, so that it is the VM's own
// instruction hook. Library functions see the run's plain context instead
// (see wrapLibrary): only the VM and the sandbox's own builtins, on the run's
// goroutine, call the hook.
type hook struct {
	ctx  context.Context
	s    *State
	left int
	stop *stop
	own  bool // the deadline is the state's own timeout
}

func (h *hook) Deadline() (time.Time, bool) { return h.ctx.Deadline() }
func (h *hook) Value(key any) any           { return h.ctx.Value(key) }

func (h *hook) Err() error {
	if h.stop != nil {
		return h.stop
	}
	return h.ctx.Err()
}

func (h *hook) Done() <-chan struct{} {
	h.left--
	if h.left <= 0 && h.stop == nil {
		h.left = checkEvery
		h.s.spend(checkEvery, true)
	}
	if h.stop != nil {
		return closedChan
	}
	return h.ctx.Done()
}

// budget is what a run has spent.
type budget struct {
	instr, maxInstr int64
	// used is the memory counted since the last measure plus what that
	// measure found; maxMem is the budget.
	used, maxMem int64
	env          *lua.LTable // the run's globals, where measuring starts
	measures     int         // how many times the heap was measured, for tests
}

// spend counts n steps against the run's budgets (and, for VM
// instructions, the memory they may take), and records the budget that
// stopped it, if any. It returns whether the run may go on.
func (s *State) spend(n int, vm bool) bool {
	h := s.hook
	if h == nil || h.stop != nil {
		return h == nil
	}
	b := &s.budget
	b.instr += int64(n)
	if b.instr > b.maxInstr {
		h.stop = &stop{LimitInstructions, fmt.Sprintf("instruction budget of %d spent", b.maxInstr)}
		return false
	}
	if h.ctx.Err() != nil {
		if h.own {
			h.stop = &stop{LimitTime, fmt.Sprintf("stopped after its time budget of %s", s.timeout)}
		}
		return false
	}
	if vm && !s.fits(int64(n)*bytesPerInstruction, true) {
		return false
	}
	return true
}

// fits reports whether n more bytes fit in the run's memory budget,
// measuring what the run holds before it refuses; when add, they are counted.
// A refusal stops the run.
func (s *State) fits(n int64, add bool) bool {
	b := &s.budget
	if b.used+n > b.maxMem {
		b.used = s.measure()
		b.measures++
		// Within a sixteenth of the budget counts as spent: a run that grows
		// there would otherwise be measured again and again, ever closer.
		if b.used+n > b.maxMem || b.used > b.maxMem-b.maxMem/16 {
			s.hook.stop = &stop{LimitMemory, fmt.Sprintf("memory budget of %s exceeded", sizeText(b.maxMem))}
			return false
		}
	}
	if add {
		b.used += n
	}
	return true
}

// charge counts n bytes a builtin is about to hold (its result, or its
// buffer so far) and raises the run's stop as a Lua error when they do not
// fit. Builtins call it as their result grows and once it is made.
func (s *State) charge(L *lua.LState, n int64, add bool) {
	if s.hook == nil {
		return
	}
	if s.hook.stop == nil {
		s.fits(n, add)
	}
	if s.hook.stop != nil {
		L.RaiseError("%s", s.hook.stop.msg)
	}
}

// steps counts n steps of a builtin's loop against the instruction and
// time budgets, raising the run's stop as a Lua error when one is spent.
func (s *State) steps(L *lua.LState, n int) {
	if !s.spend(n, false) {
		if s.hook.stop != nil {
			L.RaiseError("%s", s.hook.stop.msg)
		}
		L.RaiseError("%v", s.hook.ctx.Err())
	}
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// The sizes measure counts for Lua values: a rough reading of gopher-lua's
// own structures, on the high side.
const (
	sizeTable    = 96
	sizeSlot     = 16 // an array slot
	sizeNumber   = 8  // a number held in a slot or entry
	sizeEntry    = 48 // a hash entry
	sizeFunction = 96
	sizeUserData = 64
	sizeString   = 16
	// strings at least this long are counted once however many values
	// share them.
	shareString = 64
)

// measure returns the memory the current run holds: what is reachable from
// its globals and from the registers of every frame of its call stack
// (locals, temporaries, the arguments of the running builtin), and the
// upvalues of the functions on it. The frozen library is the state's, not
// the run's, and is not counted. It walks without recursion, so that a deep
// structure does not deepen the stack.
func (s *State) measure() int64 {
	L := s.L
	seen := map[any]struct{}{}
	strs := map[*byte]struct{}{}
	seen[s.lib] = struct{}{}
	seen[s.envMeta] = struct{}{}
	var total int64
	var work []lua.LValue
	push := func(v lua.LValue) {
		switch x := v.(type) {
		case lua.LString:
			total += sizeString
			if len(x) >= shareString {
				p := unsafe.StringData(string(x))
				if _, ok := strs[p]; ok {
					return
				}
				strs[p] = struct{}{}
			}
			total += int64(len(x))
		case lua.LNumber:
			total += sizeNumber // boxed in its slot's interface
		case *lua.LTable, *lua.LFunction, *lua.LUserData:
			if _, ok := seen[x]; !ok {
				seen[x] = struct{}{}
				work = append(work, v)
			}
		}
	}
	if s.budget.env != nil {
		push(s.budget.env)
	}
	// The value stack holds what no local names: varargs, temporaries,
	// values being passed. A table held only there is a run's too.
	for _, v := range stackValues(L) {
		push(v)
	}
	for level := 0; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		for n := 1; ; n++ {
			name, v := L.GetLocal(dbg, n)
			if name == "" {
				break
			}
			push(v)
		}
		if fn, err := L.GetInfo("f", dbg, lua.LNil); err == nil {
			push(fn)
		}
	}
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		switch x := v.(type) {
		case *lua.LTable:
			total += sizeTable
			if x.Metatable != nil {
				push(x.Metatable)
			}
			n := x.Len()
			total += int64(n) * sizeSlot
			x.ForEach(func(k, v lua.LValue) {
				if kn, ok := k.(lua.LNumber); !ok || kn < 1 || int(kn) > n || float64(int(kn)) != float64(kn) {
					total += sizeEntry
				}
				push(k)
				push(v)
			})
		case *lua.LFunction:
			total += sizeFunction
			if x.Env != nil {
				push(x.Env)
			}
			for _, uv := range x.Upvalues {
				if uv != nil {
					total += sizeSlot
					push(uv.Value())
				}
			}
		case *lua.LUserData:
			total += sizeUserData
			if x.Metatable != nil {
				push(x.Metatable)
			}
			if x.Env != nil {
				push(x.Env)
			}
		}
	}
	return total
}

// stackValues returns the values on L's value stack, below its top: those
// of every frame, varargs and temporaries included, which GetLocal does not
// show. gopher-lua keeps the stack unexported (LState.reg, a registry of an
// array and a top), so it is read through reflection; when its shape
// changes, nothing is returned and TestMemoryBudgetSeesTheStack fails.
func stackValues(L *lua.LState) []lua.LValue {
	reg := reflect.ValueOf(L).Elem().FieldByName("reg")
	if !reg.IsValid() || reg.Kind() != reflect.Pointer || reg.IsNil() {
		return nil
	}
	r := reg.Elem()
	arr, top := r.FieldByName("array"), r.FieldByName("top")
	if !arr.IsValid() || !top.IsValid() || arr.Type() != reflect.TypeFor[[]lua.LValue]() || top.Kind() != reflect.Int {
		return nil
	}
	vals := *(*[]lua.LValue)(unsafe.Pointer(arr.UnsafeAddr()))
	n := min(int(top.Int()), len(vals))
	return vals[:max(n, 0)]
}
