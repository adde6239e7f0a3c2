// Package plugins will run RMM and PSA integrations as separate processes over
// hashicorp/go-plugin: the versioned gRPC contract, a Manager the caller owns that
// starts, checks and restarts plugin instances, and an SDK for plugin authors.
//
// It holds no code yet; see the project's issues for its plan.
package plugins
