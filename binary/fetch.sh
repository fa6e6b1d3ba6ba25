#!/usr/bin/env bash
# Downloads the release binary for this runner and checks it against the
# checksums committed beside this script in the release commit. Runs in
# bash on Linux, macOS and Windows (Git Bash) with what hosted runners
# have: curl, and sha256sum, shasum or certutil. It gets no input and no
# token: the release is public. Every refusal ends with an ::error
# annotation saying why, and runs nothing.
#
# In:  ACTION_PATH (this folder); ACTION_REPOSITORY and ACTION_REF, the
#      github.action_repository and github.action_ref of
#      `uses: OWNER/REPO/binary@REF` (the runner empties
#      GITHUB_ACTION_REPOSITORY in a composite action's steps, so only the
#      step's env: sees them; both are empty for a local `uses: ./binary`);
#      RUNNER_OS_NAME (Linux, macOS, Windows), RUNNER_ARCH_NAME (X64,
#      ARM64), RUNNER_TEMP, GITHUB_OUTPUT; CFPURGE_DOWNLOAD_URL optionally
#      replaces https://github.com/OWNER/REPO/releases/download (a mirror,
#      or a test).
# Files beside it in a release commit: VERSION (the release, vX.Y.Z),
#      checksums.txt (sha256sum's format) and REPOSITORY (OWNER/REPO the
#      release is published in, for a local uses: ./binary).
# Out: the output "binary", the verified binary's path.
set -Eeuo pipefail

# fail MESSAGE: the error annotation, escaped as the runner unescapes
# workflow command data, and exit 1.
fail() {
	local msg=$*
	msg=${msg//'%'/'%25'}
	msg=${msg//$'\r'/'%0D'}
	msg=${msg//$'\n'/'%0A'}
	echo "::error title=Cloudflare purge action (binary)::$msg"
	exit 1
}
# Anything that fails unforeseen still ends with an annotation.
trap 'fail "fetch.sh line $LINENO: \`$BASH_COMMAND\` failed (exit $?); nothing was run"' ERR

if [ -z "${ACTION_PATH:-}" ] || [ -z "${GITHUB_OUTPUT:-}" ]; then
	fail "ACTION_PATH or GITHUB_OUTPUT is not set: fetch.sh runs as a step of binary/action.yml"
fi

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
if ! [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	fail "binary/VERSION says '$version', not a release version (vX.Y.Z): use a release of this action"
fi
asset="cloudflare-purge-action_${version}_${goos}_${goarch}"
if [ "$goos" = windows ]; then asset="$asset.exe"; fi
want=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1 }' "$sums")
if ! [[ "$want" =~ ^[0-9a-f]{64}$ ]]; then
	fail "checksums.txt has no SHA-256 for $asset: this release has no binary for $goos/$goarch"
fi

# The tools, before anything is downloaded.
if ! command -v curl >/dev/null; then
	fail "curl is not on PATH: this action downloads its binary with curl; install curl on the runner"
fi
if command -v sha256sum >/dev/null; then
	hasher=sha256sum
elif command -v shasum >/dev/null; then
	hasher=shasum
elif command -v certutil >/dev/null; then
	hasher=certutil
else
	fail "none of sha256sum, shasum or certutil is on PATH: this action needs one to verify the binary before it runs it; install coreutils (sha256sum) or perl (shasum) on the runner"
fi

# Where from: CFPURGE_DOWNLOAD_URL, else the releases of the repository
# the workflow named in uses:, else (a local uses: ./binary) the one the
# release commit records. Never GITHUB_ACTION_REPOSITORY: it is empty here.
repository=${ACTION_REPOSITORY:-}
named_by="uses: ${repository}/binary@${ACTION_REF:-}"
if [ -z "$repository" ] && [ -f "$ACTION_PATH/REPOSITORY" ]; then
	repository=$(tr -d ' \r\n' <"$ACTION_PATH/REPOSITORY")
	named_by="binary/REPOSITORY"
fi
if [ -n "${CFPURGE_DOWNLOAD_URL:-}" ]; then
	base=${CFPURGE_DOWNLOAD_URL%/}
	named_by="CFPURGE_DOWNLOAD_URL"
elif [ -z "$repository" ]; then
	fail "no download location: github.action_repository is empty (a local uses: ./binary) and there is no binary/REPOSITORY beside binary/action.yml; use a release (uses: OWNER/REPO/binary@vX.Y.Z) or set CFPURGE_DOWNLOAD_URL to a mirror of the release downloads"
elif ! [[ "$repository" =~ ^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$ ]] || [[ "$repository" =~ /\.\.?$ ]]; then
	fail "'$repository' (from $named_by) is not a GitHub repository (OWNER/REPO): no download location"
else
	base="https://github.com/$repository/releases/download"
fi

tmp=${RUNNER_TEMP:-/tmp}
if command -v cygpath >/dev/null; then tmp=$(cygpath -u "$tmp"); fi # Git Bash on Windows
dir=$(mktemp -d "$tmp/cloudflare-purge-action.XXXXXX")
bin="$dir/$asset"
if ! curl --fail --silent --show-error --location --retry 3 --proto '=https,http' --proto-redir '=https' \
	--output "$bin" "$base/$version/$asset"; then
	fail "could not download $base/$version/$asset (from $named_by): is $version published there, with its binaries?"
fi

case $hasher in
sha256sum) got=$(sha256sum "$bin" | awk '{ print $1 }') ;;
shasum) got=$(shasum -a 256 "$bin" | awk '{ print $1 }') ;;
certutil)
	winbin=$bin
	if command -v cygpath >/dev/null; then winbin=$(cygpath -w "$bin"); fi
	got=$(certutil -hashfile "$winbin" SHA256 | sed -n 2p | tr -d ' \r')
	;;
esac
if [ "$got" != "$want" ]; then
	rm -f "$bin"
	fail "$asset does not match checksums.txt (want $want, got $got): not run"
fi
chmod +x "$bin"
echo "binary=$bin" >>"$GITHUB_OUTPUT"
echo "Verified $asset ($version, SHA-256 $got) from $base ($named_by)" >&2
