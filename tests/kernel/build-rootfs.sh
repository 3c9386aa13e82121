#!/bin/bash
# build-rootfs.sh: make sure the guest's base initramfs exists in the cache and
# print its path. The base holds:
#   - busybox from Debian's busybox-static (unpacked with dpkg -x; the host's
#     busybox is never touched),
#   - Debian's libiio-utils (libiio 0.24) and gpiod (libgpiod 1.6) tools with the
#     shared libraries they need and the dynamic loader, all taken from .debs
#     fetched with `apt-get download` (never from the host),
#   - the guest scripts in guest/ (init, fixtures, capture).
# The cache key covers this script, guest/ and the Debian package versions.
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Debian packages whose programs the tests may call to compare results.
TOOL_PKGS=(libiio-utils gpiod)
TOOL_PROGS=(iio_info iio_attr iio_genxml iio_readdev iio_writedev iio_reg
            gpiodetect gpioinfo gpioget gpioset gpiomon gpiofind)

versions() {
    local p
    for p in busybox-static "${TOOL_PKGS[@]}"; do printf '%s=%s\n' "$p" "$(fk_pkg_version "$p")"; done
}

KEY=$({ versions; cat "${BASH_SOURCE[0]}"; find "$FK_DIR/guest" -type f | LC_ALL=C sort | xargs cat; } | fk_sha)
OUT=$FK_CACHE/rootfs/$KEY.cpio.gz
if [ -f "$OUT" ]; then
    touch "$OUT"     # most recently used: spared by the pruning below
    printf '%s\n' "$OUT"
    exit 0
fi
fk_lock
if [ -f "$OUT" ]; then   # built by whoever held the lock before us
    printf '%s\n' "$OUT"
    exit 0
fi
fk_need_pkgs cpio gzip binutils

fk_log "building the guest base initramfs ($KEY)"
WORK=$FK_CACHE/rootfs/.work.$$
trap 'rm -rf "$WORK"' EXIT
rm -rf "$WORK" && mkdir -p "$WORK/stage" "$WORK/root"
R=$WORK/root

# Walk the Depends/Pre-Depends of the tool packages (first alternative of each),
# unpacking every package into one staging tree.
declare -A seen=()
queue=("${TOOL_PKGS[@]}")
while [ ${#queue[@]} -gt 0 ]; do
    pkg=${queue[0]}; queue=("${queue[@]:1}")
    [ -n "${seen[$pkg]:-}" ] && continue
    seen[$pkg]=1
    deb=$(fk_fetch_deb "$pkg")
    dpkg -x "$deb" "$WORK/stage"
    # (dpkg-deb -f prints a lone field without its name)
    deps=$({ dpkg-deb -f "$deb" Pre-Depends; dpkg-deb -f "$deb" Depends; } | tr ',' '\n' \
           | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true)
    for d in $deps; do
        [ -z "${seen[$d]:-}" ] && queue+=("$d")
    done
done
fk_log "unpacked ${#seen[@]} Debian packages for the guest tools"

mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib64,lib/x86_64-linux-gnu,etc,proc,sys,dev,tmp,root,run,fvm}

# busybox and its applet links (they must not shadow the Debian tools below)
bbdeb=$(fk_fetch_deb busybox-static)
dpkg -x "$bbdeb" "$WORK/bb"
install -m 0755 "$WORK/bb/bin/busybox" "$R/bin/busybox"
for applet in $("$R/bin/busybox" --list-full); do
    [ -e "$R/$applet" ] || ln -s /bin/busybox "$R/$applet"
done

# tools + the closure of their shared libraries (DT_NEEDED), looked up in the
# staging tree only, so the guest never depends on what the host has installed
libdirs=("$WORK/stage/lib/x86_64-linux-gnu" "$WORK/stage/usr/lib/x86_64-linux-gnu")
find_lib() {
    local d
    for d in "${libdirs[@]}"; do
        [ -e "$d/$1" ] && { printf '%s\n' "$d/$1"; return 0; }
    done
    return 1
}
declare -A have=()
add_needed() {   # add_needed ELF: copy every library it needs, recursively
    local so path
    for so in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [ -n "${have[$so]:-}" ] && continue
        path=$(find_lib "$so") || fk_die "no Debian package in the closure provides $so (needed by $(basename "$1"))"
        have[$so]=1
        cp -L "$path" "$R/lib/x86_64-linux-gnu/$so"
        add_needed "$path"
    done
}
for prog in "${TOOL_PROGS[@]}"; do
    src=$WORK/stage/usr/bin/$prog
    [ -f "$src" ] || fk_die "$prog is not in ${TOOL_PKGS[*]}"
    rm -f "$R/usr/bin/$prog"
    install -m 0755 "$src" "$R/usr/bin/$prog"
    add_needed "$src"
done
loader=$(find_lib ld-linux-x86-64.so.2) || fk_die "no dynamic loader in libc6"
cp -L "$loader" "$R/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"
fk_log "guest tools: ${#TOOL_PROGS[@]} programs, ${#have[@]} shared libraries"

# What the tests can rely on, also as a file (the init exports it to tests).
{
    echo "# Debian tools in the ferroio test VM (see tests/kernel/README.md)"
    echo "FERROIO_VM_TOOLS=/usr/bin"
    echo "FERROIO_VM_LIBIIO_VERSION=$(fk_pkg_version libiio-utils)"
    echo "FERROIO_VM_LIBGPIOD_VERSION=$(fk_pkg_version gpiod)"
} > "$R/etc/ferroio-vm.env"
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
echo "root:x:0:" > "$R/etc/group"
install -m 0755 "$FK_DIR/guest/init" "$R/init"
for f in "$FK_DIR"/guest/*.sh; do install -m 0755 "$f" "$R/fvm/$(basename "$f")"; done

mkdir -p "$FK_CACHE/rootfs"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6) > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
# each edit of guest/ makes a new 19 MiB image: keep the three most recently used
find "$FK_CACHE/rootfs" -maxdepth 1 -name '*.cpio.gz' -printf '%T@ %p\n' | sort -rn | tail -n +4 \
    | cut -d' ' -f2- | xargs -r rm -f
fk_log "base initramfs: $OUT ($(du -h "$OUT" | cut -f1))"
printf '%s\n' "$OUT"
