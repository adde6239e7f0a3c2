// Package proto holds the wire contract between the engine and its integration
// plugins: the .proto files and the Go code generated from them, checked in.
//
//   - immy/plugin/v2: the current protocol. plugin.proto is the Integration
//     service a plugin serves; host.proto the Host services the engine serves
//     back to each plugin instance through the go-plugin broker.
//   - immy/plugin/v1: the first protocol, frozen; hosts still serve plugins
//     built against it.
//
// Plugin authors in Go do not use these packages: the SDK (plugins/sdk) hides
// them. Authors in other languages generate their own code from the .proto files.
//
// To regenerate after editing a .proto file, run
//
//	go generate ./plugins/proto
//
// which needs no protoc: it compiles with protocompile and runs the
// protoc-gen-go and protoc-gen-go-grpc pinned as tools in go.mod. The test of
// plugins/proto/internal/gen fails when the checked-in code is not what the
// generators produce.
package proto

//go:generate go run ./internal/gen
