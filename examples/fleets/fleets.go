// Package fleets holds the example fleet bundled with the engine's example
// programs: Northpoint IT, a small MSP with a handful of customers, a few tens of
// computers, and deployments that use every kind of target. immyctl uses it when
// no -f is given.
package fleets

import _ "embed"

// DefaultName is the bundled fleet's file name, used in problems and output.
const DefaultName = "msp.yaml"

// Default is the bundled fleet file (see msp.yaml). Do not modify it.
//
//go:embed msp.yaml
var Default []byte
