// Package compositetest tests the second entry point, binary/action.yml: a
// composite action that downloads the release binary for the runner's OS
// and architecture, verifies it against the checksums committed beside it,
// and runs it with the same inputs as the container action. The tests run
// it as the runner runs a composite action (actiontest.Composite), against
// a loopback release server and the fake API, and check that it declares
// exactly the root action.yml's inputs and outputs.
//
// It has tests only; they import actiontest and cloudflaretest.
package compositetest
