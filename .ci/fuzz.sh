#!/usr/bin/env bash
# Fuzzes each fuzz target for a short while (FUZZTIME, default 20s each;
# any -fuzztime value, e.g. FUZZTIME=5m or FUZZTIME=100000x). Go fuzzes one
# target of one package per run, hence one run each. The seed corpora in
# testdata/fuzz/ already run with every plain `go test`; this searches for
# new failures. A failing input is written to the package's
# testdata/fuzz/<Target>/: keep it there as a regression seed once fixed.
# Run from anywhere: bash .ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/usr/local/go/bin:$PATH"
FUZZTIME=${FUZZTIME:-20s}

fuzz() {
	local target=$1 pkg=$2
	printf '\n== fuzz %s in %s for %s\n' "$target" "$pkg" "$FUZZTIME"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
}

fuzz FuzzAdd ./internal/targets
fuzz FuzzValidate ./internal/config
fuzz FuzzDecode ./internal/cloudflare
fuzz FuzzParseHeaders ./internal/cloudflare
