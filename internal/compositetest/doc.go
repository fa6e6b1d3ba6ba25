// Package compositetest tests the second entry point, binary/action.yml: a
// composite action that downloads the release binary for the runner's OS
// and architecture, verifies it against the checksums committed beside it,
// and runs it with the same inputs as the container action. The tests run
// it as the runner runs a composite action (actiontest.Composite, which
// plays the runner's source: GITHUB_ACTION_REPOSITORY empty in every step,
// github.action_repository only in env: expressions of a remote uses:),
// against the fake API and either a loopback release server reached
// through CFPURGE_DOWNLOAD_URL or, for the default download location, a
// stub curl on PATH that records the URL and never reaches the network;
// every refusal must end with an error annotation. They also check that it
// declares exactly the root action.yml's inputs and outputs.
//
// It has tests only; they import actiontest and cloudflaretest.
package compositetest
