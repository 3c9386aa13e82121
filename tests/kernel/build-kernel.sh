#!/bin/bash
# build-kernel.sh: make sure the VM tier's kernel exists in the cache and print
# the directory holding it (bzImage, config, build.log).
#
# The kernel is Debian's linux-source package (fetched with `apt-get download`,
# unpacked with dpkg -x), configured as `make tinyconfig` + kernel.config. The
# result is stored under $FERROIO_KERNEL_CACHE/kernel/<key>, where <key> hashes
# kernel.config and the source package version, so it is built once and later
# runs only look it up. One object tree per source version is kept, so a changed
# fragment rebuilds incrementally. ferroio's test-only patches in
# patches/<version>/ (e.g. patches/6.12/) are applied to the unpacked source.
#
# Env: FERROIO_KERNEL_CACHE (default ~/.cache/ferroio-kernel),
#      FERROIO_KERNEL_JOBS (make -j, default 2), FERROIO_KERNEL_SRC_PKG
#      (default linux-source-6.1).
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JOBS=${FERROIO_KERNEL_JOBS:-2}
KEY=$(fk_kernel_key)
OUT=$FK_CACHE/kernel/$KEY
if [ -f "$OUT/bzImage" ]; then
    printf '%s\n' "$OUT"
    exit 0
fi

fk_lock
if [ -f "$OUT/bzImage" ]; then   # built by whoever held the lock before us
    printf '%s\n' "$OUT"
    exit 0
fi

fk_need_pkgs gcc make bc bison flex libelf-dev libssl-dev xz-utils patch

VER=$(fk_pkg_version "$FK_KSRC_PKG")
SHORT=${FK_KSRC_PKG#linux-source-}          # 6.1: name of the tarball inside the package
SRC=$FK_CACHE/src/${FK_KSRC_PKG}_$VER
OBJ=$FK_CACHE/obj/${FK_KSRC_PKG}_$VER
fk_log "kernel $FK_KSRC_PKG $VER, key $KEY: not cached, building"

if [ ! -f "$SRC/.unpacked" ]; then
    deb=$(fk_fetch_deb "$FK_KSRC_PKG")
    tmp=$FK_CACHE/src/.unpack.$$
    rm -rf "$tmp" "$SRC"
    mkdir -p "$tmp"
    dpkg -x "$deb" "$tmp/pkg"
    tarball=$(ls "$tmp"/pkg/usr/src/linux-source-"$SHORT".tar.* | head -n1)
    fk_log "unpacking $(basename "$tarball")"
    tar -xf "$tarball" -C "$tmp"
    mv "$tmp/linux-source-$SHORT" "$SRC"
    rm -rf "$tmp"
    touch "$SRC/.unpacked"
fi

# ferroio's test-only patches (patches/<version>/*.patch, applied in name order). The
# unpacked source is reused across builds, so the applied set is recorded in
# $SRC/.ferroio-patches/: `applied` (hash of the set), `files` (every path the set
# touches) and `pristine/` (those files as they were before; a path missing there did
# not exist). A changed set is undone first, by copying the pristine files back, so it
# always applies to pristine sources; an unchanged set is left alone (no rebuild).
patch_state=$SRC/.ferroio-patches
patches_undo() {
    local f
    [ -f "$patch_state/files" ] || { rm -rf "$patch_state"; return 0; }
    while IFS= read -r f; do
        if [ -f "$patch_state/pristine/$f" ]; then
            cp "$patch_state/pristine/$f" "$SRC/$f"   # a fresh mtime: make rebuilds it
        else
            rm -f "$SRC/$f"
        fi
    done < "$patch_state/files"
    rm -rf "$patch_state"
}
# Paths (below the top directory, as -p1 strips) that a unified diff touches.
patch_paths() {
    awk '/^--- / { old = $2; next }
         /^\+\+\+ / && old != "" { f = ($2 == "/dev/null") ? old : $2; old = "";
                                  sub(/\t.*/, "", f); sub(/^[^\/]*\//, "", f); print f; next }
         { old = "" }' "$1"
}
mapfile -t patches < <(fk_patches)
want=none
[ ${#patches[@]} -eq 0 ] \
    || want=$(for p in "${patches[@]}"; do printf '%s\n' "${p##*/}"; cat "$p"; done | fk_sha)
if [ "$(cat "$patch_state/applied" 2>/dev/null || echo none)" != "$want" ]; then
    patches_undo
    if [ "$want" != none ]; then
        mkdir -p "$patch_state/pristine"
        : > "$patch_state/files"
        for p in "${patches[@]}"; do
            fk_log "applying ${p#"$FK_DIR"/}"
            while IFS= read -r f; do
                grep -qxF -- "$f" "$patch_state/files" && continue
                printf '%s\n' "$f" >> "$patch_state/files"
                if [ -f "$SRC/$f" ]; then
                    mkdir -p "$(dirname "$patch_state/pristine/$f")"
                    cp "$SRC/$f" "$patch_state/pristine/$f"
                fi
            done < <(patch_paths "$p")
            if ! patch -d "$SRC" -p1 --dry-run --forward --batch --silent < "$p" >&2 \
                || ! patch -d "$SRC" -p1 --forward --batch --silent --no-backup-if-mismatch < "$p" >&2; then
                patches_undo
                fk_die "${p#"$FK_DIR"/} does not apply to $FK_KSRC_PKG $VER"
            fi
        done
        printf '%s\n' "$want" > "$patch_state/applied"
    fi
fi

# ferroio's test drivers: copied into drivers/iio/ferroio/ and hooked into the IIO
# Kconfig/Makefile of this source tree (idempotent; only for kernels that ask for them).
if fk_wants_drivers; then
    mkdir -p "$SRC/drivers/iio/ferroio"
    cp "$FK_DIR"/driver/* "$SRC/drivers/iio/ferroio/"
    grep -q 'drivers/iio/ferroio/Kconfig' "$SRC/drivers/iio/Kconfig" \
        || printf '\nsource "drivers/iio/ferroio/Kconfig"\n' >> "$SRC/drivers/iio/Kconfig"
    grep -q 'ferroio/' "$SRC/drivers/iio/Makefile" \
        || printf 'obj-y += ferroio/\n' >> "$SRC/drivers/iio/Makefile"
fi

kmake() { nice -n 10 make -C "$SRC" O="$OBJ" ARCH="$FK_ARCH" "$@"; }

mkdir -p "$OBJ"
fk_log "configuring: tinyconfig + kernel.config${FK_EXTRA_CONFIG:+ + $(basename "$FK_EXTRA_CONFIG")}"
kmake -s tinyconfig >/dev/null
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "$FK_DIR/kernel.config" \
    ${FK_EXTRA_CONFIG:+"$FK_EXTRA_CONFIG"} >/dev/null
kmake -s olddefconfig >/dev/null

# Kconfig silently drops options whose dependencies are off: insist on every line.
lost=0
while IFS= read -r line; do
    case $line in
        CONFIG_*=*)
            grep -qxF -- "$line" "$OBJ/.config" || { fk_log "option did not survive olddefconfig: $line"; lost=1; } ;;
        "# CONFIG_"*" is not set")
            opt=${line#\# }; opt=${opt%% *}
            if grep -q "^$opt=" "$OBJ/.config"; then fk_log "option should be off: $opt"; lost=1; fi ;;
    esac
done < <(cat "$FK_DIR/kernel.config" ${FK_EXTRA_CONFIG:+"$FK_EXTRA_CONFIG"})
[ $lost = 0 ] || fk_die "kernel.config does not apply cleanly to $FK_KSRC_PKG $VER"

mkdir -p "$FK_CACHE/kernel"
LOG=$FK_CACHE/kernel/build-$KEY.log
fk_log "make -j$JOBS bzImage (cold: 2.5 min on an idle 2-core VM, over 12 min on a busy one), log: $LOG"
t0=$(date +%s)
if ! kmake -j"$JOBS" bzImage >"$LOG" 2>&1; then
    tail -n 40 "$LOG" >&2
    fk_die "kernel build failed, see $LOG"
fi
t1=$(date +%s)

tmp=$FK_CACHE/kernel/.$KEY.$$
rm -rf "$tmp" && mkdir -p "$tmp"
cp "$OBJ/arch/x86/boot/bzImage" "$tmp/bzImage"
cp "$OBJ/.config" "$tmp/config"
cp "$FK_DIR/kernel.config" "$tmp/kernel.config"
[ -z "$FK_EXTRA_CONFIG" ] || cp "$FK_EXTRA_CONFIG" "$tmp/"
[ ${#patches[@]} -eq 0 ] || { mkdir -p "$tmp/patches"; cp "${patches[@]}" "$tmp/patches/"; }
mv "$LOG" "$tmp/build.log"
printf '%s %s\nbuild_seconds=%s jobs=%s\n' "$FK_KSRC_PKG" "$VER" $((t1 - t0)) "$JOBS" > "$tmp/info"
rm -rf "$OUT"
mv "$tmp" "$OUT"
fk_log "kernel ready in $((t1 - t0)) s: $OUT/bzImage"
printf '%s\n' "$OUT"
