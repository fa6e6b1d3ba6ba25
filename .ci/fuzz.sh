#!/usr/bin/env bash
# Fuzzes each fuzz target for a while. Go fuzzes one target of one package
# per run, hence one run each. The seed corpora in testdata/fuzz/ already run
# with every plain `go test`; this searches for new failures. A failing input
# is written to the package's testdata/fuzz/<Target>/: keep it there as a
# regression seed once fixed.
#
# The budget is a count of executions, not a duration: with a duration, Go
# 1.26's fuzz coordinator can report "context deadline exceeded" as a
# failure when the time runs out (golang/go#75804, fixed in Go 1.27), and a
# gate must not fail on that. The counts take 10-30 s each on two cores.
# FUZZTIME overrides them all with any -fuzztime value (e.g. 2000000x, or
# 5m for a long local run, where the flake does not matter).
# CI's fuzz job runs this script, and so does .ci/run.
# Run from anywhere: bash .ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The go on PATH first (actions/setup-go's on GitHub), else the usual one.
export PATH="$PATH:/usr/local/go/bin"

fuzz() {
	local target=$1 pkg=$2 budget=${FUZZTIME:-$3}
	printf '\n== fuzz %s in %s for %s\n' "$target" "$pkg" "$budget"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" "$pkg"
}

fuzz FuzzAdd ./internal/targets 60000x
fuzz FuzzValidate ./internal/config 150000x
fuzz FuzzDecode ./internal/cloudflare 25000x
fuzz FuzzParseHeaders ./internal/cloudflare 100000x
fuzz FuzzResolveAnswers ./internal/resolve 40000x
fuzz FuzzURLs ./internal/changed 150000x
