#!/usr/bin/env bash
# gofmt, go vet (the container and act tests' build tags included), go mod tidy
# leaving no diff, then the README's test command. CI's test job runs this
# script, and .ci/run runs it first. Run from anywhere: bash .ci/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The go on PATH first (actions/setup-go's on GitHub), else the usual one.
export PATH="$PATH:/usr/local/go/bin"

# fail TITLE MESSAGE: reports a failure, as an annotation on GitHub.
fail() {
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		printf '::error title=%s::%s\n' "$1" "$2"
	else
		printf '%s: %s\n' "$1" "$2"
	fi
	exit 1
}

echo "== gofmt"
# Tracked and new (not ignored) files; one deleted but not yet committed is skipped.
files=()
while IFS= read -r -d '' f; do
	if [ -e "$f" ]; then files+=("$f"); fi
done < <(git ls-files -z --cached --others --exclude-standard -- '*.go')
unformatted=$(gofmt -l "${files[@]}" </dev/null)
if [ -n "$unformatted" ]; then
	fail gofmt "not gofmt-ed: $(echo "$unformatted" | paste -sd ' ')"
fi

echo "== go vet"
go vet ./...
go vet -tags container ./internal/containertest/
go vet -tags act ./internal/acttest/

echo "== go mod tidy leaves no diff"
go mod tidy
git diff --exit-code go.mod go.sum || fail "go mod tidy" "go.mod or go.sum is not tidy: run go mod tidy"

echo "== unit and end-to-end tests (the README's test command)"
go test -race -shuffle=on -count=1 ./...
