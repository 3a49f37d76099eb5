# syntax=docker/dockerfile:1
# hallmark container image: a static-ish release build on a distroless base.
# Build: docker build -t hallmark .   (not built in this project's CI: no Docker engine;
# CI lints this file with hadolint.)

FROM rust:1.90-bookworm AS build
WORKDIR /src
# aws-lc-rs builds AWS-LC from C sources: it needs a C toolchain and cmake.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake=3.25.* clang=1:14.* \
 && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin hallmark \
 && install -D -m 0755 target/release/hallmark /out/hallmark

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/hallmark /usr/local/bin/hallmark
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/hallmark"]
CMD ["--help"]
