#!/usr/bin/env bash
# Builds the release binaries, the same bytes on any machine with the Go
# release that go.mod names: static (CGO_ENABLED=0), -trimpath, no VCS
# stamp (-buildvcs=false: a checkout with the release commit not yet made
# would stamp "modified"), the version set with -X main.version. Writes
# them and checksums.txt (sha256sum's format) into OUTDIR.
#
#   bash .ci/release-binaries.sh VERSION OUTDIR
#
# The maintainer runs it to make the release commit's binary/checksums.txt
# (RELEASE.md); the release workflow runs it again at the tag and publishes
# only if its checksums equal the committed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

version=${1:?usage: release-binaries.sh VERSION OUTDIR}
out=${2:?usage: release-binaries.sh VERSION OUTDIR}
if ! [[ "$version" =~ ^(v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?|dev)$ ]]; then
	echo "VERSION must look like v1.2.3 (or dev), not '$version'" >&2
	exit 1
fi
want="go$(awk '$1 == "go" { print $2 }' go.mod)"
if [ "$(go env GOVERSION)" != "$want" ]; then
	echo "go.mod wants $want; this is $(go env GOVERSION): the checksums would not match the release workflow's" >&2
	exit 1
fi

mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
	goos=${target%/*} goarch=${target#*/}
	name="cloudflare-purge-action_${version}_${goos}_${goarch}"
	if [ "$goos" = windows ]; then name="$name.exe"; fi
	GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X main.version=${version}" -o "$out/$name" .
done
(cd "$out" && sha256sum cloudflare-purge-action_* | LC_ALL=C sort -k2 >checksums.txt)
cat "$out/checksums.txt"
