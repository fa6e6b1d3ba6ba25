#!/usr/bin/env bash
# Lints that need tools of their own, at the versions in .ci/versions:
# actionlint over .github/workflows/ (for the `uses: ./` step it also
# checks every with: key and output against action.yml), shellcheck (used
# by actionlint on run: scripts, and on these scripts), and golangci-lint
# with .golangci.yml. CI's lint job runs this script, and so does .ci/run.
# Installs what is missing (the Go tools with go install, shellcheck from
# Debian's packages, with sudo when not root); safe to run again.
# Run from anywhere: bash .ci/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source-path=SCRIPTDIR source=versions
. .ci/versions

# The go on PATH first (actions/setup-go's on GitHub), else the usual one.
export PATH="$PATH:/usr/local/go/bin"
PATH="$(go env GOPATH)/bin:$PATH"
export PATH

# go_install MODULE_PATH VERSION: installs MODULE_PATH/cmd/... at VERSION
# unless the binary on PATH was already built from exactly that version.
go_install() {
	local pkg=$1 module=$2 version=$3 bin
	bin=$(basename "$pkg")
	if command -v "$bin" >/dev/null &&
		go version -m "$(command -v "$bin")" | grep -qE "^[[:space:]]+mod[[:space:]]+${module}[[:space:]]+${version}([[:space:]]|$)"; then
		return
	fi
	echo "installing $pkg@$version"
	go install "$pkg@$version"
}

go_install github.com/rhysd/actionlint/cmd/actionlint github.com/rhysd/actionlint "$ACTIONLINT_VERSION"
go_install github.com/golangci/golangci-lint/v2/cmd/golangci-lint github.com/golangci/golangci-lint/v2 "$GOLANGCI_LINT_VERSION"
if ! command -v shellcheck >/dev/null; then
	sudo=()
	[ "$(id -u)" = 0 ] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck
fi

echo "== actionlint $ACTIONLINT_VERSION"
actionlint -no-color
echo "== shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
shellcheck --external-sources .ci/run .ci/*.sh .ci/versions binary/fetch.sh
echo "== golangci-lint $GOLANGCI_LINT_VERSION"
# --allow-parallel-runners: another run on the machine (a second checkout)
# waits for the lock instead of failing the gate.
golangci-lint run --allow-parallel-runners ./...
