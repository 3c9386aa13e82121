#!/bin/bash
# scripts/bench-vs-libiio.sh: ferroio next to real libiio 0.24 doing the same work, in one
# run on this machine (whole processes, timed by hyperfine):
#   - info on the largest XML context (pyadi-iio__fmcomms5.xml from ../shared/contexts);
#   - info on a local sysfs tree: the real-kernel fixture, which libiio reads inside a
#     private mount namespace (../shared/tools/iio-fake-sysfs/in-fake-ns.sh, needs root).
# The library-level figures are `cargo bench`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
for tool in hyperfine:hyperfine iio_info:libiio-utils; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || {
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${tool##*:}" >/dev/null
    }
done
cargo build --release --quiet
bin=$PWD/target/release/ferroio
shared=../shared
[ -d "$shared/contexts" ] || { echo "needs ../shared/contexts" >&2; exit 2; }
xml=$(cd "$shared/contexts" && pwd)/pyadi-iio__fmcomms5.xml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

hyperfine -N --warmup 5 --min-runs 50 --export-markdown "$work/xml.md" \
    -n "libiio iio_info -u xml:fmcomms5" "iio_info -u xml:$xml" \
    -n "ferroio info -u xml:fmcomms5" "$bin info -u xml:$xml" >/dev/null
cat "$work/xml.md"

# The fixture as libiio's fake-sysfs namespace wants it: ROOT/sys/bus, ROOT/debug, ROOT/dev.
mkdir -p "$work/fake/sys" "$work/fake/debug" "$work/fake/dev"
cp -a fixtures/iio-dummy-6.1/bus "$work/fake/sys/"
ns="$shared/tools/iio-fake-sysfs/in-fake-ns.sh"
# hyperfine itself runs inside the namespace, so only the two tools are timed.
NONET=1 "$ns" "$work/fake" hyperfine -N --warmup 5 --min-runs 100 --export-markdown "$work/local.md" \
    -n "libiio iio_info -u local: (fixture)" "iio_info -u local:" \
    -n "ferroio info -u local: (fixture)" "$bin info -u local:" >/dev/null
cat "$work/local.md"
