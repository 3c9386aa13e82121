#!/bin/bash
# scripts/bench-demux-vs-libiio.sh: ferroio's whole-block demux (demux_into) next to what a
# libiio 0.24 program does with the same block (iio_channel_convert per value, walked as
# iio_buffer_foreach_sample walks a buffer: benches/libiio-demux/demux.c, built here against
# Debian's libiio), and next to a memcpy of the same bytes, in one run. Layouts and blocks
# are those of `cargo bench --bench buffer`: 8 x le:s16 and 4 x le:s24/32>>8 + timestamp,
# 4096 scans (in L2) and 4 Mi scans (beyond the last-level cache).
#
# Installs gcc and libiio-dev when they are missing (root or sudo). Prints one table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v gcc >/dev/null || need+=(gcc)
[ -e /usr/include/iio.h ] || need+=(libiio-dev)
if [ ${#need[@]} -gt 0 ]; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target/libiio-demux"
gcc -O2 -o "$target/libiio-demux/demux" benches/libiio-demux/demux.c -liio
cargo bench --bench buffer -- "demux/.*/(memcpy|demux_into)" --warm-up-time 1 \
    --measurement-time 5 >"$target/libiio-demux/criterion.log" 2>&1
python3 - "$target" <<'PY'
import json, os, subprocess, sys
target = sys.argv[1]
crit = os.path.join(target, "criterion")
def ours(group, name):
    for d in os.listdir(crit):
        if d == group.replace("/", "_"):
            for f in os.listdir(os.path.join(crit, d)):
                if f.startswith(name):
                    est = json.load(open(os.path.join(crit, d, f, "new", "estimates.json")))
                    return est["median"]["point_estimate"] * 1e-9
    raise SystemExit(f"no criterion result for {group} {name}")
print(f"{'layout':<14} {'scans':>8} {'memcpy':>8} {'ferroio':>8} {'libiio':>8} {'x libiio':>9} {'x memcpy':>9}")
for layout in ["8xs16", "4xs24in32+ts"]:
    for scans in [4096, 1 << 22]:
        out = subprocess.run([os.path.join(target, "libiio-demux", "demux"), layout, str(scans)],
                             capture_output=True, text=True, check=True).stdout.split()
        nbytes, libiio_s = int(out[2]), float(out[3])
        group = f"demux/{layout}/{scans}"
        mem_s, our_s = ours(group, "memcpy"), ours(group, "demux_into")
        gib = lambda s: nbytes / s / 2**30
        print(f"{layout:<14} {scans:>8} {gib(mem_s):>8.2f} {gib(our_s):>8.2f} {gib(libiio_s):>8.3f}"
              f" {libiio_s / our_s:>9.1f} {mem_s / our_s:>9.2f}")
print("GiB/s of scan data; 'x libiio': ferroio's speed over libiio's; 'x memcpy': ferroio's over memcpy's")
PY
