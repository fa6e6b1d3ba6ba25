#!/usr/bin/env bash
# The container test: builds the image from the Dockerfile with podman and
# runs it the way the GitHub runner runs a container action, against the
# loopback fake of the Cloudflare API (internal/containertest). Installs
# podman and runc from Debian's packages if missing; safe to run again.
# Run from anywhere, as root: bash .ci/container.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/usr/local/go/bin:$PATH"

if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends podman runc
fi

# On these machines podman needs the runc runtime and rlimits lower than
# its defaults; a config file of our own keeps the system's untouched.
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
cat >"$conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$conf

podman --version
go test -tags container -count=1 -v ./internal/containertest/
