// Package containertest tests the action's container image the way the
// GitHub runner runs it: built from the repository's Dockerfile, started
// with the runner's `docker run` arguments, inputs as INPUT_<NAME>
// variables, the workspace and file-command folders mounted, against the
// loopback fake of the Cloudflare API.
//
// The container tests need podman (or docker) and run only with the
// container build tag:
//
//	go test -tags container -count=1 -v ./internal/containertest/
//
// CONTAINERTEST_ENGINE picks the engine (podman, the default, or docker).
// CONTAINERTEST_IMAGE names an image built beforehand from the whole
// Dockerfile (as CI does with `docker build`); without it the tests build
// the Dockerfile's final stage themselves, with the builder stage replaced
// by a binary built on this machine with the Dockerfile's flags, because
// the builder's base image cannot be pulled everywhere the tests run.
//
// Without the tag, `go test` runs the Dockerfile rules tests
// (dockerfile_test.go): no USER, an absolute exec-form ENTRYPOINT, a
// scratch final stage, the builder pinned to go.mod's Go release by tag
// and digest. Both read the Dockerfile with the parser in dockerfile.go.
//
// Its container tests play the runner through actiontest (a Runner that
// starts the image) against cloudflaretest; dockerfile.go and build.go
// (BuildFinalStage, the image build that internal/acttest uses too) import
// only the standard library.
package containertest
