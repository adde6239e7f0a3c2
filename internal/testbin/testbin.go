// Package testbin builds the project's commands for tests that run them as
// real processes (the agent, an engine process to kill). A Builder builds
// its package once per test binary, into a temporary directory that
// Cleanup, called from TestMain, removes:
//
//	var agentBin = testbin.New("github.com/immyoss/engine/agent/cmd/immy-agent")
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		agentBin.Cleanup()
//		os.Exit(code)
//	}
//
//	bin, err := agentBin.Path() // in a test
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sync"
)

// Builder builds one Go package, once. Safe for concurrent use.
type Builder struct {
	pkg  string
	once sync.Once
	dir  string
	bin  string
	err  error
}

// New returns a Builder of the package pkg (an import path).
func New(pkg string) *Builder { return &Builder{pkg: pkg} }

// Path builds the package the first time and returns its binary's path, or
// the build's error (with the compiler's output) every time.
func (b *Builder) Path() (string, error) {
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "immy-testbin-")
		if b.err != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		bin := filepath.Join(b.dir, path.Base(b.pkg))
		if runtime.GOOS == "windows" {
			bin += ".exe"
		}
		if out, err := exec.Command(goTool, "build", "-o", bin, b.pkg).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("testbin: go build %s: %w\n%s", b.pkg, err, out)
			return
		}
		b.bin = bin
	})
	return b.bin, b.err
}

// Cleanup removes what Path built.
func (b *Builder) Cleanup() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
