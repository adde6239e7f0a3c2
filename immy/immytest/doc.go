// Package immytest holds builders of fleets for tests and a generator of large
// synthetic fleets for benchmarks.
package immytest
