// Package targets answers which computers (or, for cloud tasks, which tenants) a
// deployment's target selects.
//
// It will hold every target type of the design (all computers, a tenant with
// its children, a computer, a person through affinity, tags, static and user
// groups, expr and Lua filters, integration device and client groups, and the
// tenant targets of cloud tasks), group filters by computer kind, affinity, and
// indexes that keep resolution fast over fleets of 100k computers. Filters are
// compiled and type-checked once and evaluated many times.
package targets
