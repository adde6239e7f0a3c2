//go:build !unix

package resolver

// cpuTime is not measured here: the benchmarks report 0.
func cpuTime() int64 { return 0 }

// maxRSS is not measured here: the benchmarks report 0.
func maxRSS() int64 { return 0 }
