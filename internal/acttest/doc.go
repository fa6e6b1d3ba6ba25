// Package acttest runs the action under a second runner, act
// (github.com/nektos/act), the way a workflow uses it: a job with
// `uses: ./` (the container action, built from the Dockerfile) and a job
// with `uses: ./binary` (the composite action that downloads a release
// binary, checks it against binary/checksums.txt and runs it), each after
// an actions/checkout step, each purging through the loopback fake of the
// Cloudflare API (cloudflaretest.New) with the token passed as a secret.
// A step after the action prints its outcome and outputs on one marked
// line, which the tests read from act's output and compare with what the
// fake answered. One more test plants `${{ github.sha }}` in an input's
// description (which the GitHub runner refuses to load) and checks that
// act refuses it too, failing the run: a load failure fails CI.
//
// Nothing is pulled from a registry. TestMain works in a temporary copy of
// the repository (the working tree's tracked and untracked, not ignored
// files, committed in a fresh git repository) where it
//   - builds the image of `uses: ./` under the name act would build it as,
//     act-dockeraction:latest, the way the container test does
//     (containertest.BuildFinalStage: the Dockerfile's final stage with a
//     binary built on this machine), so that act, given --rebuild=false,
//     finds it and skips its own build, whose golang builder image cannot
//     be pulled; the test checks act's debug line saying so;
//   - makes the release commit of RELEASE.md for binary/action.yml
//     (binary/VERSION v0.0.0-act, binary/checksums.txt from
//     .ci/release-binaries.sh, binary/REPOSITORY) and serves the built
//     binaries on loopback, where CFPURGE_DOWNLOAD_URL points fetch.sh.
//
// The job's image, localhost/act-job:latest (busybox, bash, curl), and the
// podman API service act talks to (DOCKER_HOST) are made by .ci/act.sh,
// which installs podman and act first and then runs these tests, in
// network, mount and PID namespaces of their own (loopback only; a podman
// storage of the run's own; nothing left running). They run only with the act build tag, so
// plain `go test ./...` skips them:
//
//	bash .ci/act.sh
//
// or, with a podman service already on DOCKER_HOST, CONTAINERS_CONF (and
// CONTAINERS_STORAGE_CONF, if any) set for the podman commands as for the
// service, and the job image made:
//
//	go test -tags act -count=1 -v ./internal/acttest/
package acttest
