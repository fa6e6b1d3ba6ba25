#!/usr/bin/env bash
# Downloads the release binary for this runner and checks it against the
# checksums committed beside this script in the release commit. Runs in
# bash on Linux, macOS and Windows (Git Bash) with what hosted runners
# have: curl, and sha256sum, shasum or certutil. It gets no input and no
# token: the release is public.
#
# In:  ACTION_PATH (this folder), RUNNER_OS_NAME (Linux, macOS, Windows),
#      RUNNER_ARCH_NAME (X64, ARM64), RUNNER_TEMP, GITHUB_ACTION_REPOSITORY,
#      GITHUB_OUTPUT; CFPURGE_DOWNLOAD_URL optionally replaces
#      https://github.com/<repo>/releases/download (a mirror, or a test).
# Out: the output "binary", the verified binary's path.
set -euo pipefail

fail() {
	echo "::error title=Cloudflare purge action (binary)::$*"
	exit 1
}

case "${RUNNER_OS_NAME:-}" in
Linux) goos=linux ;;
macOS) goos=darwin ;;
Windows) goos=windows ;;
*) fail "runner OS '${RUNNER_OS_NAME:-}' is not supported; this action has binaries for Linux, macOS and Windows" ;;
esac
case "${RUNNER_ARCH_NAME:-}" in
X64) goarch=amd64 ;;
ARM64) goarch=arm64 ;;
*) fail "runner architecture '${RUNNER_ARCH_NAME:-}' is not supported; this action has binaries for X64 and ARM64" ;;
esac

sums="$ACTION_PATH/checksums.txt"
version_file="$ACTION_PATH/VERSION"
if [ ! -f "$sums" ] || [ ! -f "$version_file" ]; then
	fail "no checksums.txt and VERSION beside binary/action.yml: use a release of this action (uses: OWNER/REPO/binary@vX.Y.Z), not a branch"
fi
version=$(tr -d ' \r\n' <"$version_file")
asset="cloudflare-purge-action_${version}_${goos}_${goarch}"
if [ "$goos" = windows ]; then asset="$asset.exe"; fi
want=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1 }' "$sums")
if ! [[ "$want" =~ ^[0-9a-f]{64}$ ]]; then
	fail "checksums.txt has no SHA-256 for $asset: this release has no binary for $goos/$goarch"
fi

base="${CFPURGE_DOWNLOAD_URL:-https://github.com/${GITHUB_ACTION_REPOSITORY:?}/releases/download}"
tmp=${RUNNER_TEMP:-/tmp}
if command -v cygpath >/dev/null; then tmp=$(cygpath -u "$tmp"); fi # Git Bash on Windows
dir=$(mktemp -d "$tmp/cloudflare-purge-action.XXXXXX")
bin="$dir/$asset"
if ! curl --fail --silent --show-error --location --retry 3 --proto '=https,http' --proto-redir '=https' \
	--output "$bin" "$base/$version/$asset"; then
	fail "could not download $asset of $version from $base"
fi

if command -v sha256sum >/dev/null; then
	got=$(sha256sum "$bin" | awk '{ print $1 }')
elif command -v shasum >/dev/null; then
	got=$(shasum -a 256 "$bin" | awk '{ print $1 }')
else
	got=$(certutil -hashfile "$(cygpath -w "$bin")" SHA256 | sed -n 2p | tr -d ' \r')
fi
if [ "$got" != "$want" ]; then
	rm -f "$bin"
	fail "$asset does not match checksums.txt (want $want, got $got): not run"
fi
chmod +x "$bin"
echo "binary=$bin" >>"$GITHUB_OUTPUT"
echo "Verified $asset ($version, SHA-256 $got)" >&2
