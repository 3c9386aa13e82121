#!/bin/bash
# scripts/test.sh: every test of ferroio, as CI runs them.
#
#   1. host tests: unit, integration (fixtures, XML conformance against ../shared when it
#      exists, real libiio 0.24 comparisons when its tools are installed), doc tests, and
#      every example and bench compiled;
#   2. the real-kernel tier: the VM test crate tests/vm/ inside qemu (tests/kernel/run.sh), on Debian's
#      6.1 kernel and again on 6.12, whose config adds the IIO DMABUF interface, the system
#      dma-heap and ferroio's software DMA test device (tests/kernel/README.md);
#   3. static cross builds for armv7 / aarch64 / x86_64 with the unit tests run under
#      qemu-user (scripts/cross-build.sh).
#
# Installs what it needs (Debian packages, rustup targets) itself. Set FERROIO_SKIP_VM=1
# or FERROIO_SKIP_CROSS=1 to leave a tier out on a machine that cannot run it, and
# FERROIO_ALLOW_SKIPS=1 to accept host tests that say they are skipped (otherwise a
# failure: CI runs every test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_pkgs=()
command -v iio_info >/dev/null 2>&1 || need_pkgs+=(libiio-utils)
# The network tests run the real iiod 0.24 (root only) and feed ZPRINT a real zstd frame.
command -v iiod >/dev/null 2>&1 || [ -x /usr/sbin/iiod ] || need_pkgs+=(iiod)
command -v zstd >/dev/null 2>&1 || need_pkgs+=(zstd)
# strtol_vs_glibc asks glibc through Python's ctypes.
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
# server_libiio drives ferroio serve from libiio's Python binding.
/usr/bin/python3 -c 'import iio' >/dev/null 2>&1 || need_pkgs+=(python3-libiio)
# ... and fetches libiio 1.x's binding (pylibiio, pure Python) from PyPI with pip.
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || need_pkgs+=(python3-pip)
# The DNS-SD tests run a board (iiod + avahi-daemon, fetched by the harness, + its own dbus)
# in network namespaces joined by a veth pair.
command -v dbus-daemon >/dev/null 2>&1 || need_pkgs+=(dbus-daemon)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "== installing ${need_pkgs[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

echo "== host tests ($(date +%T))"
# A host test that cannot run here (no root, a tool or ../shared missing) says
# "skipped: why" and returns; CI installs everything, so a skip there is a failure.
# FERROIO_ALLOW_SKIPS=1 accepts them on a machine that cannot run every test.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --all-features --all-targets -- --show-output 2>&1 | tee "$log"
cargo test --all-features --doc
# Without ../shared (a checkout outside the workspace) the tests against its references say
# so; those skips are the checkout's, not the machine's, and are reported but accepted.
skipped=$(grep "skipped: " "$log" || true)
[ -d ../shared ] || skipped=$(printf '%s\n' "$skipped" | grep -v "\.\./shared" || true)
skips=$(printf '%s' "$skipped" | grep -c "skipped: " || true)
if [ ! -d ../shared ]; then
    echo "== ../shared is not next to this checkout: the tests against its references were skipped"
fi
if [ "$skips" -gt 0 ]; then
    echo "== $skips host test(s) skipped:"
    grep -B3 "skipped: " "$log" | grep -E "^---- |skipped: " || true
    if [ -z "${FERROIO_ALLOW_SKIPS:-}" ]; then
        echo "== failing: every host test must run here (FERROIO_ALLOW_SKIPS=1 accepts skips)"
        exit 1
    fi
fi

if [ -z "${FERROIO_SKIP_VM:-}" ]; then
    echo "== real-kernel tier (qemu, linux 6.1) ($(date +%T))"
    tests/kernel/run.sh
    echo "== real-kernel tier (qemu, linux 6.12: DMABUF, two-buffer device) ($(date +%T))"
    FERROIO_KERNEL_SRC_PKG=linux-source-6.12 tests/kernel/run.sh
fi

if [ -z "${FERROIO_SKIP_CROSS:-}" ]; then
    echo "== static cross builds ($(date +%T))"
    scripts/cross-build.sh
fi
echo "== all tests passed ($(date +%T))"
