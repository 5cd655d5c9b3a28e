#!/bin/sh
# Dependency-layer skeleton for the Dockerfile (the job cargo-chef's `prepare` does, in 15 lines):
# copy every Cargo manifest and the lock file from SRC to DST, and give every Rust source file a
# stub body. Building the skeleton compiles all third-party crates and almost nothing of ours, so
# that layer changes only when a manifest or Cargo.lock changes. New workspace members are picked
# up without touching the Dockerfile. Usage: skeleton.sh SRC DST
set -eu
src=$1
dst=$2
mkdir -p "$dst"
cd "$src"
find . \( -path ./target -o -path ./.git -o -path ./deploy -o -path ./monitoring \) -prune -o \
  \( -name Cargo.toml -o -name Cargo.lock -o -name 'rust-toolchain*' -o -path './.cargo/config*' \) -type f -print |
  while read -r f; do
    mkdir -p "$dst/$(dirname "$f")"
    cp "$f" "$dst/$f"
  done
# Every target path a manifest may name (lib, bins, benches, examples, tests, build scripts) exists
# with a body that compiles both as a library root and as a binary root.
find . \( -path ./target -o -path ./.git -o -path ./deploy -o -path ./monitoring \) -prune -o -name '*.rs' -type f -print |
  while read -r f; do
    mkdir -p "$dst/$(dirname "$f")"
    echo 'fn main() {}' > "$dst/$f"
  done
# Deterministic layer content: the cache key of the next stage's COPY is the skeleton's content.
find "$dst" -exec touch -h -d '2000-01-01 00:00:00' {} +
