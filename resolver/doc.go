// Package resolver decides, for each maintenance item and computer, the one
// winning deployment and why every other candidate lost; turns the desired and
// detected states into an action; expands prerequisites recursively, with cycles
// reported by their whole path; and orders a session's actions.
package resolver
