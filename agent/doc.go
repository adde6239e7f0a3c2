// Package agent will be the endpoint side: an agent that identifies the machine
// it runs on, reports its inventory and runs scripts for the engine, over an
// outbound authenticated connection.
//
// It holds no code yet; see the project's issues for its plan.
package agent
