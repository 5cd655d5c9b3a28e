# taskcore-server container image.
#
#   podman build --format docker -t taskcore:latest .      (or: docker build -t taskcore:latest .)
#
# Stages: toolchain -> planner (dependency skeleton) -> deps (third-party crates, cached until a
# manifest or Cargo.lock changes) -> builder (our crates, the binary, its shared libraries) -> dev
# (toolchain + auto-rebuild loop, for docker-compose.dev.yml) -> runtime (scratch + binary + the
# glibc files it links, numeric non-root user). deploy/README.md explains the choices.
#
# Build arguments:
#   RUST_VERSION  the toolchain image tag (pinned; the local stand-in is built from the host toolchain)
#   FEATURES      taskcore-http backends compiled in (memory: is always there; `server`, the binary, is added)
#   VERSION, REVISION, SOURCE, CREATED   OCI labels (deploy/verify/run.sh passes the git revision)
ARG RUST_VERSION=1.95

# ---------------------------------------------------------------------------------------------
FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS toolchain
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0 \
    CARGO_NET_RETRY=5
WORKDIR /build

# ---------------------------------------------------------------------------------------------
# The equivalent of `cargo chef prepare`: manifests + Cargo.lock + stub sources, with fixed mtimes,
# so the next stage's COPY has the same content (and the same cache key) until a manifest changes.
FROM toolchain AS planner
COPY . /src
RUN sh /src/deploy/docker/skeleton.sh /src /skeleton

# ---------------------------------------------------------------------------------------------
# The equivalent of `cargo chef cook`: every third-party crate compiled once, in its own layer.
FROM toolchain AS deps
ARG FEATURES=sqlite,redis,postgres
COPY --from=planner /skeleton/ /build/
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked -p taskcore-http --no-default-features --features "server,${FEATURES}" --bin taskcore-server

# ---------------------------------------------------------------------------------------------
FROM deps AS builder
ARG FEATURES=sqlite,redis,postgres
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY . /build/
# The sources are newer than the skeleton's stubs by content, not necessarily by mtime: touch them
# so cargo rebuilds our crates (the smoke tests below would catch a stub binary anyway).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    find /build -path /build/target -prune -o -name '*.rs' -type f -exec touch {} + \
 && cargo build --release --locked -p taskcore-http --no-default-features --features "server,${FEATURES}" --bin taskcore-server \
 && target/release/taskcore-server --version
# The runtime root: the stripped binary, exactly the shared libraries `ldd` lists (glibc, libgcc_s)
# with their copyright files (libgcc's is in gcc-12-base on bookworm), passwd/group naming the
# non-root user, and the /data volume directory. The chroot run proves nothing else is needed.
RUN install -D -m 0755 target/release/taskcore-server /rootfs/taskcore-server \
 && strip --strip-unneeded /rootfs/taskcore-server \
 && for lib in $(ldd /rootfs/taskcore-server | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do \
      mkdir -p "/rootfs$(dirname "$lib")" && cp -L "$lib" "/rootfs$lib"; \
    done \
 && for pkg in libc6 gcc-12-base; do \
      install -D -m 0644 "/usr/share/doc/$pkg/copyright" "/rootfs/usr/share/doc/$pkg/copyright"; \
    done \
 && mkdir -p /rootfs/etc /rootfs/data \
 && chown 65532:65532 /rootfs/data && chmod 0700 /rootfs/data \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n' > /rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group \
 && printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf \
 && chroot /rootfs /taskcore-server --version \
 && find /rootfs -exec ls -ld {} +

# ---------------------------------------------------------------------------------------------
# Development: the toolchain with the source mounted at /src (docker-compose.dev.yml); the loop in
# deploy/dev/watch.sh rebuilds and restarts the server when a source file changes.
FROM toolchain AS dev
ENV CARGO_TARGET_DIR=/target \
    TASKCORE_BIND=0.0.0.0:5125 \
    TASKCORE_LOG=debug
WORKDIR /src
EXPOSE 5125
HEALTHCHECK --interval=5s --timeout=3s --start-period=600s --retries=3 \
    CMD ["/target/debug/taskcore-server", "healthcheck"]
CMD ["sh", "deploy/dev/watch.sh"]

# ---------------------------------------------------------------------------------------------
FROM scratch AS runtime
# ownership comes along: /data belongs to 65532 (a new volume takes it from here)
COPY --from=builder /rootfs/ /
# TASKCORE_STORE_URL: the image's default store is the SQLite file on the /data volume; set
# redis://… or postgres://… for replicas sharing one store.
ENV TASKCORE_BIND=0.0.0.0:5125 \
    TASKCORE_STORE_URL=sqlite:///data/taskcore.db \
    TASKCORE_LOG_FORMAT=json \
    TASKCORE_SHUTDOWN_DELAY=1 \
    TASKCORE_SHUTDOWN_GRACE=3
VOLUME ["/data"]
WORKDIR /data
USER 65532:65532
EXPOSE 5125
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/taskcore-server", "healthcheck"]
ENTRYPOINT ["/taskcore-server"]
CMD ["serve"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://example.invalid/taskcore
ARG CREATED=unknown
LABEL org.opencontainers.image.title="taskcore-server" \
      org.opencontainers.image.description="taskcore collaborative task manager: HTTP API, web UI, /health, /metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.base.name="scratch"
