// Package fleetfile reads and writes the declarative fleet file: a YAML
// description of an MSP's tenants, persons, computers (with their detected
// inventory), groups, agreements, software, tasks, deployments and schedules,
// in the names of shared/spec/fleet-file.md.
//
// # Loading
//
// [Load] and [LoadFile] return a [File]: the [immy.Fleet] and what is needed to
// point into the file. A file is checked as a whole, and every problem comes
// back at once as an [immy.Problems], sorted by line, each rendered
// "file:line: entity: field: message":
//
//	fleet.yaml:7: computer "pc1": unknown key "kidn" (did you mean "kind"?)
//	fleet.yaml:12: deployment "d1": desired: invalid desired state "newest" (want one of latest, ...)
//	fleet.yaml:15: tenant "a": parent: tenant cycle: a -> c -> b -> a
//
// Checked are the YAML syntax, unknown and duplicate keys, the shape of every
// value, enumerations, versions, dates and parameter values, then the rules of
// [immy.Fleet.Validate] (ids, references, cycles, private items...). Rules that
// need more than the vocabulary, such as filters that must compile or
// prerequisites that must not cycle, are added by the packages that know them
// as a [Check] in [Config.Checks]. All of these run in one pass: a typo in one
// place does not hide a prerequisite cycle or a broken filter in another. Only
// YAML that cannot be read at all stops the pass early. A file with any
// problem gives no fleet.
//
// Defaults: a missing version is version 1 (other versions are refused); a
// missing at is the zero time, meaning now; a deployment or schedule is enabled
// unless it says enabled: false; a target's category follows its item (tenant
// tasks select tenants, person tasks persons, everything else computers); a
// computer keeps its newest [immy.MaxUPNs] user principal names, the first
// ones listed, and drops the rest without complaint. Anchors, aliases and merge
// keys (<<) work as in YAML, within a budget that stops alias bombs.
//
// # Locating problems
//
// Problems found later, by a planner or a filter compiler, name a section,
// entity and field; [File.Locate] and [File.LocateAll] add the file and line.
//
// # Writing
//
// [Write] writes a fleet back in canonical form: the spec's names and order,
// defaults left out, maps sorted, short entries on one line. Loading what Write
// wrote gives the same fleet, and writing that again gives the same bytes.
package fleetfile
