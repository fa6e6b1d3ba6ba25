# The action's image: one static Go binary and a CA bundle on scratch
# (about 8 MB). Released versions of the action do not build this file:
# their action.yml names the image the release workflow pushed to GHCR
# (RELEASE.md). It is built by CI, by the release workflow, and by a
# workflow that runs this repository's main branch with `uses: ./`.

# The builder is pinned to the exact Go release that go.mod's go line names,
# so the binary users run is built by the toolchain CI tests with, and
# GOTOOLCHAIN=local makes a mismatch fail instead of downloading another
# one. It is also pinned by digest, so that a re-pushed tag cannot change
# what builds the release: the tag is 1.26.8-bookworm, the digest that of
# its multi-arch index as other projects pin it publicly (it could not be
# checked against the registry from the machine this was written on).
# Dependabot's docker ecosystem proposes new tags and keeps tag and digest
# in step (change go.mod's go line in the same PR;
# internal/containertest/dockerfile_test.go checks both). The Debian
# variant is for its CA bundle. --platform=$BUILDPLATFORM runs the builder
# natively and cross-compiles, so multi-arch builds need no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm@sha256:9fdc884aacc3bec89b20ffc69f4bb369c78210e3e4f600387b5128b12c199f81 AS build
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
WORKDIR /src
# Modules first, in their own layer: a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/cloudflare-purge-action .

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/cloudflare-purge-action /cloudflare-purge-action
# No USER: the action runs as root because the runner mounts the workspace
# and the file-command files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) owned by
# its own user, which another user in the container could not write.
# No WORKDIR: the runner sets --workdir /github/workspace.
ENTRYPOINT ["/cloudflare-purge-action"]
