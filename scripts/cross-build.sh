#!/bin/bash
# scripts/cross-build.sh: static release builds of the `ferroio` CLI for
#   armv7-unknown-linux-gnueabihf  (BeagleBone & co; glibc, +crt-static, arm gcc links)
#   aarch64-unknown-linux-musl     (64-bit ARM; musl, rust-lld links, no C toolchain)
#   x86_64-unknown-linux-musl      (PCs; musl, the host cc links)
# then checks with `file` that each binary is statically linked, prints the
# sizes, runs the library's unit tests for both ARM targets under qemu-user, and has the ARM
# binaries serve (`ferroio serve` under qemu-user) a fixture to the x86_64 one on loopback.
# See docs/cross-build.md.
#
# usage: scripts/cross-build.sh [--no-install] [--no-test] [--target-dir DIR] [-- TEST_ARGS...]
#   --no-install   do not apt-get / rustup anything (fail if something is missing)
#   --no-test      only build and check the binaries
#   --target-dir   cargo's target directory (default: cargo's own choice)
#   TEST_ARGS      passed to the unit test harness, e.g. `--skip NAME`
# Needs a Debian 12 (or similar) x86_64 host; installing packages needs root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGETS=(armv7-unknown-linux-gnueabihf aarch64-unknown-linux-musl x86_64-unknown-linux-musl)
APT_PKGS=(qemu-user-static gcc-arm-linux-gnueabihf libc6-dev-armhf-cross file)
INSTALL=1
TEST=1
TARGET_DIR_ARGS=()
TEST_ARGS=()

log() { printf '[cross-build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '\n[cross-build] ERROR: %s\n\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --no-install) INSTALL=0; shift ;;
        --no-test) TEST=0; shift ;;
        --target-dir) [ $# -ge 2 ] || die "--target-dir needs a directory"
                      TARGET_DIR_ARGS=(--target-dir "$2"); shift 2 ;;
        --) shift; TEST_ARGS=("$@"); break ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

T0=$(date +%s)

# ---- 1. host packages and Rust targets
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ $INSTALL = 1 ] || die "missing Debian packages: ${missing[*]}"
    [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root to install them)"
    log "apt-get update && apt-get install ${missing[*]}"
    apt-get update >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
fi
installed=$(rustup target list --installed)
for t in "${TARGETS[@]}"; do
    grep -qx "$t" <<< "$installed" && continue
    [ $INSTALL = 1 ] || die "Rust target $t is not installed (rustup target add $t)"
    log "rustup target add $t"
    if ! rustup target add "$t" >&2 || ! rustup target list --installed | grep -qx "$t"; then
        die "could not install the Rust standard library for $t.
    The rustup server may not offer it (it returns 404 for some targets).
    Fallback: build std yourself with -Zbuild-std, see docs/cross-build.md."
    fi
done
T_SETUP=$(date +%s)

# ---- 2. per-target settings (linker, static linking, qemu-user runner)
ARM_FLAGS="-C target-feature=+crt-static"
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS=$ARM_FLAGS
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER=qemu-arm-static
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUNNER=qemu-aarch64-static

cd "$ROOT"
if [ ${#TARGET_DIR_ARGS[@]} -gt 0 ]; then
    target_dir=$(realpath -m "${TARGET_DIR_ARGS[1]}")
else   # honours CARGO_TARGET_DIR and .cargo/config
    target_dir=$(cargo metadata --format-version 1 --no-deps \
                 | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
fi
[ -n "$target_dir" ] || die "cannot find cargo's target directory"

# ---- 3. static release builds
declare -A secs=() size=() kind=()
for t in "${TARGETS[@]}"; do
    log "cargo build --release --target $t --bin ferroio"
    s=$(date +%s)
    cargo build --release --target "$t" --bin ferroio "${TARGET_DIR_ARGS[@]}" \
        || die "release build for $t failed"
    secs[$t]=$(( $(date +%s) - s ))
    bin=$target_dir/$t/release/ferroio
    [ -f "$bin" ] || die "no binary at $bin"
    desc=$(file -b "$bin")
    # x86_64 musl links as static PIE: `file` says "static-pie linked"
    case $desc in
        *"statically linked"*|*"static-pie linked"*) ;;
        *) die "$t: $bin is not statically linked: $desc" ;;
    esac
    kind[$t]=$desc
    size[$t]=$(stat -c %s "$bin")
done
T_BUILD=$(date +%s)

# ---- 4. unit tests of the library on the ARM targets, under qemu-user
if [ $TEST = 1 ]; then
    for t in armv7-unknown-linux-gnueabihf aarch64-unknown-linux-musl; do
        log "cargo test --lib --target $t (runner: qemu-user)"
        cargo test --lib --target "$t" "${TARGET_DIR_ARGS[@]}" -- "${TEST_ARGS[@]}" \
            || die "unit tests failed on $t (under qemu-user)"
    done
fi

# ---- 5. the static ARM binaries serve (ferroio serve under qemu-user, on loopback), and the
#         x86_64 one reads through them what it reads locally
if [ $TEST = 1 ]; then
    host_bin=$target_dir/x86_64-unknown-linux-musl/release/ferroio
    tree=$(mktemp -d)
    spid=
    trap 'if [ -n "$spid" ]; then kill "$spid" 2>/dev/null || true; fi; rm -rf "$tree"' EXIT
    cp -r fixtures/iio-dummy-6.1/. "$tree/"
    for t in armv7-unknown-linux-gnueabihf aarch64-unknown-linux-musl; do
        case $t in armv7*) qemu=qemu-arm-static ;; *) qemu=qemu-aarch64-static ;; esac
        log "ferroio serve ($t, under $qemu)"
        slog=$tree/serve-$t.log
        "$qemu" "$target_dir/$t/release/ferroio" serve -u "local:$tree" --bind 127.0.0.1 \
            -p 0 --no-announce >/dev/null 2>"$slog" &
        spid=$!
        port=
        for _ in $(seq 200); do
            port=$(grep -o '127\.0\.0\.1:[0-9]*' "$slog" | head -1 | cut -d: -f2 || true)
            [ -n "$port" ] && break
            sleep 0.1
        done
        [ -n "$port" ] || { kill "$spid"; die "$t: ferroio serve did not start: $(cat "$slog")"; }
        remote=$("$host_bin" info -u "ip:127.0.0.1:$port") \
            || die "$t: ferroio info -u ip: through the served context failed: $(cat "$slog")"
        local_=$("$host_bin" info -u "local:$tree") || die "ferroio info -u local: failed"
        remote=$(sed -n '/devices:$/,$p' <<< "$remote")
        local_=$(sed -n '/devices:$/,$p' <<< "$local_")
        kill -TERM "$spid"
        wait "$spid" || die "$t: ferroio serve did not exit cleanly on SIGTERM: $(cat "$slog")"
        [ -n "$remote" ] && [ "$remote" = "$local_" ] \
            || die "$t: the context served under qemu-user differs from the local one"
        grep -q "stopped" "$slog" || die "$t: ferroio serve did not log its stop"
        spid=
    done
    rm -rf "$tree"
    trap - EXIT
fi
T_TEST=$(date +%s)

echo
echo "==== static ferroio binaries ($target_dir/<target>/release/ferroio)"
for t in "${TARGETS[@]}"; do
    printf '%-32s %9s bytes (%s)  built in %ss\n' "$t" "${size[$t]}" \
        "$(numfmt --to=iec --suffix=B "${size[$t]}")" "${secs[$t]}"
    printf '%-32s %s\n' "" "${kind[$t]}"
done
echo "==== setup $((T_SETUP - T0))s, builds $((T_BUILD - T_SETUP))s, ARM unit tests $((T_TEST - T_BUILD))s, total $((T_TEST - T0))s"
