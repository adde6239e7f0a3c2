package redact

import (
	"strings"
	"testing"
)

// A megabyte of script output, three secrets.
func BenchmarkString(b *testing.B) {
	m := New(tok, "hunter2", "s3cr3t-Value-0f-api", "Pässwort")
	text := strings.Repeat("Installing package 42 of 97: copying C:\\Program Files\\App\\bin\\tool.dll (ok)\n", 1<<20/80)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.String(text)
	}
}

// The same output as a stream of 4 KiB chunks.
func BenchmarkStream(b *testing.B) {
	m := New(tok, "hunter2", "s3cr3t-Value-0f-api", "Pässwort")
	chunk := []byte(strings.Repeat("Installing package 42 of 97: copying C:\\Program Files\\App\\bin\\tool.dll (ok)\n", 4096/80))
	b.SetBytes(int64(256 * len(chunk)))
	for b.Loop() {
		s := m.Stream(func([]byte) {})
		for range 256 {
			s.Write(chunk)
		}
		s.Close()
	}
}

// Building the masker of one script run's secrets.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		New(tok, "hunter2", "s3cr3t-Value-0f-api", "Pässwort")
	}
}
