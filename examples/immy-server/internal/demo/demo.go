// Package demo holds the demo tenant of the example server: a tenant whose
// software and tasks only touch files under one directory of the server's
// data (install = write a versioned file, detect = read it), so that a real
// agent on a newcomer's own machine runs a real session safely.
package demo

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/immyoss/engine/immy"
	"github.com/immyoss/engine/immy/fleetfile"
)

// Tenant is the demo tenant's id; the printed agent command enrols into it.
const Tenant = "demo"

// Source is the fleet store source the demo fleet is applied as.
const Source = "immy-server:demo"

// The demo: "Demo Hello" is a software whose install writes its version
// into hello.version and whose detection reads it back; "Demo greeting" is
// an enforced task keeping greeting.txt's text. The tenant is excluded from
// cross-tenant deployments, so that the bundled fleet's (Chrome everywhere,
// ...) never reach the machine.
const fleetYAML = `version: 1
tenants:
  - id: demo
    name: Demo (this machine)
    exclude_from_cross_tenant: true
software:
  - id: demo-hello
    name: Demo Hello
    tenant: demo
    detection:
      script:
        language: sh
        body: |
          cat {{.Dir}}/hello.version 2>/dev/null || true
    versions:
      - {version: 1.0.0}
      - {version: 2.0.0}
    upgrade_strategy: install-over
    install:
      language: sh
      body: |
        set -e
        mkdir -p {{.Dir}}
        printf '%s\n' "$version" > {{.Dir}}/hello.version.tmp
        mv {{.Dir}}/hello.version.tmp {{.Dir}}/hello.version
        echo "Demo Hello $version written to {{.Dir}}/hello.version"
    uninstall:
      language: sh
      body: |
        rm -f {{.Dir}}/hello.version
        echo "Demo Hello removed"
tasks:
  - id: demo-greeting
    name: Demo greeting file
    tenant: demo
    parameters:
      - {name: greeting, type: text, default: "Hello from immy"}
    test:
      language: sh
      body: |
        if [ "$(cat {{.Dir}}/greeting.txt 2>/dev/null)" = "$greeting" ]; then echo true; else echo false; fi
    set:
      language: sh
      body: |
        set -e
        mkdir -p {{.Dir}}
        printf '%s\n' "$greeting" > {{.Dir}}/greeting.txt
        echo "greeting written"
deployments:
  - id: demo-hello-latest
    item: demo-hello
    target: {type: all-computers, tenant: demo}
    desired: latest
  - id: demo-greeting-enforced
    item: demo-greeting
    target: {type: all-computers, tenant: demo}
    mode: enforce
`

// Fleet returns the demo fleet whose files live in dir (an absolute path).
func Fleet(dir string) (*immy.Fleet, error) {
	if !strings.HasPrefix(dir, "/") {
		return nil, fmt.Errorf("demo: directory %q is not absolute", dir)
	}
	var buf bytes.Buffer
	t := template.Must(template.New("demo").Parse(fleetYAML))
	if err := t.Execute(&buf, struct{ Dir string }{shellQuote(dir)}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	ff, err := fleetfile.Load("demo.yaml", &buf)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return ff.Fleet, nil
}

// shellQuote quotes s for sh, in single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
