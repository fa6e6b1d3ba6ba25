#!/usr/bin/env bash
# The load and memory benchmarks, short form, with their pass/fail bounds:
# a few cases of internal/loadtest (one job with and without plan, a tag
# purge with Ratelimit headers, two jobs through one shared bucket, and,
# in virtual time, 60,000 URLs under Cloudflare's global API limit) and the
# dry-run plan of 100,000 URLs (peak resident memory), and the built
# binary's peak memory reading a 64 MiB targets-file. Each case fails when
# it falls past its bound (a ratio, a count of 429s or requests, MiB); the
# bounds sit below the README's figures by a margin for a shared CI
# machine. About a minute. Run from anywhere: bash .ci/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

bench() { go test -run '^$' -bench "$1" -benchtime 1x -timeout 10m ./internal/loadtest; }
bench '^BenchmarkPurge$/^(tags-10k|urls-6k-unknown-plan|urls-6k-plan-free)$'
bench '^BenchmarkSharedBucket$/^2-jobs-'
# Cases whose real time would be minutes (the API window is five), in
# virtual time: a test, since only a test can make a synctest bubble.
go test -run '^TestVirtualPurge$' -count=1 -v -timeout 10m ./internal/loadtest
bench '^BenchmarkDryRunPlan100kURLs$'
go test -run '^$' -bench '^BenchmarkTargetsFileMemory$' -benchtime 1x -timeout 10m .
