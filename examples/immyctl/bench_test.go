package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/immyoss/engine/immy/fleetfile"
	"github.com/immyoss/engine/immy/immytest"
)

// benchFleet writes a generated fleet of 10,000 computers in 50 tenants.
func benchFleet(b *testing.B) string {
	b.Helper()
	f := immytest.Generate(immytest.GenConfig{Seed: 15, Tenants: 50, Computers: 10000})
	var buf bytes.Buffer
	require.NoError(b, fleetfile.Write(&buf, f))
	path := filepath.Join(b.TempDir(), "fleet.yaml")
	require.NoError(b, os.WriteFile(path, buf.Bytes(), 0o600))
	return path
}

// BenchmarkPlanCommand runs immyctl plan on the generated fleet: the whole
// fleet, and one tenant's computers (--tenant), loading included.
func BenchmarkPlanCommand(b *testing.B) {
	path := benchFleet(b)
	f, err := loadFleet(path, nil)
	require.NoError(b, err)
	tenant := f.Fleet.Computers[0].Tenant
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"validate", []string{"validate", "-f", path}},
		{"whole", []string{"plan", "-f", path}},
		{"tenant", []string{"plan", "-f", path, "--tenant", tenant}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if code := run(bc.args, io.Discard, io.Discard); code != exitOK {
					b.Fatalf("%v: status %d", bc.args, code)
				}
			}
		})
	}
}
