// Package session will run maintenance sessions: inventory, resolution,
// onboarding, detection and execution with verification, through script runners,
// with statuses, a stream of events, a journal to resume after a crash, and
// schedules.
//
// It holds no code yet; see the project's issues for its plan.
package session
