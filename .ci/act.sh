#!/usr/bin/env bash
# The second runner: runs the action under act (nektos/act, the version in
# .ci/versions) through podman, the way a workflow uses it, with
# `uses: ./` (the container) and `uses: ./binary` (the composite action
# that downloads and verifies a release binary), against the loopback fake
# of the Cloudflare API (internal/acttest, build tag act).
#
# No image can be pulled here, so this script makes the one act needs for
# the job itself, localhost/act-job:latest, from this machine's files:
# busybox, bash and curl (with their shared libraries) and a CA bundle.
# The action's own image is built by the Go test (internal/acttest), from
# a binary built on this machine, under the name act would build it as.
#
# Installs what it needs (podman, runc, busybox-static from Debian's
# packages; act with go install; the Go modules); safe to run again. Then
# it runs the rest in network, mount and PID namespaces of its own, the
# network one with loopback only: a podman API service on a socket in a
# temporary folder for act to talk to (DOCKER_HOST, stopped on exit) with a
# podman storage in that folder too, the job image, the Go test. Whatever
# act or podman might try (a registry pull if act ever built the
# Dockerfile, act's version check) fails there at once instead of leaving
# the machine, and the run leaves no image, container or process behind.
# Run from anywhere, as root: bash .ci/act.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin"
PATH="$(go env GOPATH)/bin:$PATH"
export PATH
# act asks api.nektosact.com for notices unless told not to (the Go test
# sets this for its act runs too).
export ACT_DISABLE_VERSION_CHECK=1

if [ "${1:-}" != --isolated ]; then
	# shellcheck source-path=SCRIPTDIR source=versions
	. .ci/versions

	# apt_get ARGS...: apt-get, waiting for the package lock when another
	# apt-get (a CI run installing podman, say) holds it, instead of failing.
	apt_get() {
		local try
		for try in 1 2 3 4 5 6; do
			if DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@"; then
				return
			fi
			echo "apt-get $* failed (try $try); waiting for the lock and trying again" >&2
			sleep 20
		done
		echo "apt-get $* kept failing" >&2
		return 1
	}
	missing=()
	for tool in podman:podman runc:runc busybox:busybox-static; do
		command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		apt_get update
		apt_get install -y --no-install-recommends "${missing[@]}"
	fi

	# act at exactly ACT_VERSION (go install again unless the binary on
	# PATH was built from that module version).
	if ! command -v act >/dev/null ||
		! go version -m "$(command -v act)" | grep -qE "^[[:space:]]+mod[[:space:]]+github.com/nektos/act[[:space:]]+${ACT_VERSION}([[:space:]]|$)"; then
		echo "installing github.com/nektos/act@$ACT_VERSION"
		go install "github.com/nektos/act@$ACT_VERSION"
	fi
	act --version
	podman --version
	# Every module the builds need, while the module proxy can be reached.
	go mod download

	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# The rest runs as the first process of a PID namespace: when it ends,
	# the kernel ends every process left in it, such as the conmon of each
	# exec session act ran, which podman keeps for 5 minutes after the
	# exec (containers.conf exit_command_delay, for docker exec inspect).
	unshare --net --mount --pid --fork --mount-proc -- bash "$PWD/.ci/act.sh" --isolated "$tmp"
	exit
fi

# In the namespaces: loopback up, and no module proxy (GOPROXY=off makes a
# missing module an error, not a wait for a network that is not there).
tmp=${2:?usage: act.sh --isolated TMPDIR (act.sh calls itself so)}
busybox ip link set lo up
export GOPROXY=off
# The first process of a PID namespace gets only the signals it handles.
trap 'exit 130' INT
trap 'exit 143' TERM

# busybox-static, not the dynamic busybox some systems have: the job image
# holds no libc for busybox.
busybox=$(command -v busybox)
if ldd "$busybox" >/dev/null 2>&1; then
	echo "$busybox is dynamically linked; the job image needs busybox-static" >&2
	exit 1
fi

service=
cleanup() {
	local status=$?
	if [ "$status" != 0 ] && [ -s "$tmp/service.log" ]; then
		echo "== the podman service's log" >&2
		cat "$tmp/service.log" >&2
	fi
	if [ -n "$service" ]; then
		# Containers a failed or interrupted run left (act removes a failed
		# job's only with --rm, which the test gives), then the service.
		podman rm --all --force --time 0 >/dev/null 2>&1 || true
		kill "$service" 2>/dev/null || true
		wait "$service" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# On these machines podman needs the runc runtime and rlimits lower than
# its defaults (as in .ci/container.sh). Its images and containers go to a
# storage of this run's own, in the temporary folder (mounted only in this
# mount namespace, removed with the folder): a run leaves nothing behind,
# and two runs at once (two checkouts) cannot remove or replace each
# other's act-dockeraction:latest or job containers, whose names are
# fixed. The service and the podman commands of the Go test read both.
cat >"$tmp/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
cat >"$tmp/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$tmp/storage"
runroot = "$tmp/run"
CONF
export CONTAINERS_CONF=$tmp/containers.conf CONTAINERS_STORAGE_CONF=$tmp/storage.conf

# The Docker API act talks to: podman's, on a socket of our own. Its log
# (errors such as act's probe for node in the job container, which has
# none) is shown only when something failed.
podman system service --time=0 "unix://$tmp/podman.sock" >"$tmp/service.log" 2>&1 &
service=$!
for _ in $(seq 100); do
	[ -S "$tmp/podman.sock" ] && break
	sleep 0.1
done
if [ ! -S "$tmp/podman.sock" ]; then
	echo "podman system service did not open $tmp/podman.sock" >&2
	exit 1
fi
export DOCKER_HOST="unix://$tmp/podman.sock"

# The job image, for -P ubuntu-latest=localhost/act-job:latest: busybox's
# tools as links, a passwd for root, /tmp, and bash and curl from this
# machine with the shared libraries ldd finds for them (binary/action.yml's
# steps run in bash and download with curl), and the CA bundle curl reads.
root=$tmp/root
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/usr"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s ../bin "$root/usr/bin" # for scripts that name /usr/bin/env
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
for tool in bash curl; do
	bin=$(command -v "$tool") || {
		echo "$tool is not installed on this machine; the job image copies it from here" >&2
		exit 1
	}
	rm -f "$root/bin/$tool" # busybox's own, if it has one
	cp -L "$bin" "$root/bin/$tool"
	# ldd lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"
	# and the loader's "/lib64/ld-linux-x86-64.so.2 (0x...)".
	for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
ca=/etc/ssl/certs/ca-certificates.crt
if [ -f "$ca" ]; then # curl is built to read it; loopback http needs none
	mkdir -p "$root/etc/ssl/certs"
	cp "$ca" "$root$ca"
fi
tar -C "$root" -c . | podman import --quiet - localhost/act-job:latest >/dev/null
podman run --rm --network none localhost/act-job:latest bash -c 'curl --version | head -n 1; sha256sum --help 2>&1 | head -n 1'

# The test's temporary files (the repository copies, act's) go into the
# run's folder too, so that an interrupted run, whose go test has no time
# to clean up, leaves none.
mkdir "$tmp/tmp"
TMPDIR=$tmp/tmp go test -tags act -count=1 -v ./internal/acttest/
