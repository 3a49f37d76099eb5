# syntax=docker/dockerfile:1
# The hallmark image: `hallmark` alone on distroless/cc (glibc, libgcc; no shell), non-root.
#
#   docker build -t hallmark:0.1.0 .
#
# Base images are pinned by digest (the multi-arch index of each tag named beside it); bump
# the tag and the digest together. The build runs scripts/build-release, the same command
# line tests/deploy/validate runs in CI (no Docker engine there; hadolint lints this file).

FROM docker.io/library/rust:1.90-bookworm@sha256:3914072ca0c3b8aad871db9169a651ccfce30cf58303e5d6f2db16d1d8a7e58f AS build
WORKDIR /src
# Only what `cargo build --release --locked --bin hallmark` reads (see .dockerignore).
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY scripts/build-release ./scripts/build-release
RUN scripts/build-release /out

FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f
ARG VERSION=0.1.0
ARG SOURCE=https://github.com/hallmark-dev/hallmark
LABEL org.opencontainers.image.title="hallmark" \
      org.opencontainers.image.description="Signs what Tekton pipelines build (SLSA provenance, DSSE, Sigstore) and verifies it later" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/hallmark /usr/local/bin/hallmark
# distroless' nonroot user.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/hallmark"]
CMD ["--help"]
