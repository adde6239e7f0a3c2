// Package fleetfile reads and writes the declarative fleet file (YAML).
package fleetfile
