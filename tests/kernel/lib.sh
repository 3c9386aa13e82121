# shellcheck shell=bash
# Shared helpers of the VM test tier; sourced by the scripts beside it, never run.
# Everything downloaded or built lives in $FK_CACHE, outside the repository.

FK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by run.sh
FK_REPO=$(cd "$FK_DIR/../.." && pwd)
FK_CACHE=${FERROIO_KERNEL_CACHE:-$HOME/.cache/ferroio-kernel}
FK_KSRC_PKG=${FERROIO_KERNEL_SRC_PKG:-linux-source-6.1}
# Options for one kernel version only (kernel-6.12.config ...), merged after kernel.config;
# the test drivers in driver/ are built into kernels whose fragment names them.
FK_EXTRA_CONFIG=$FK_DIR/kernel-${FK_KSRC_PKG#linux-source-}.config
[ -f "$FK_EXTRA_CONFIG" ] || FK_EXTRA_CONFIG=
# ferroio's test-only patches to this kernel version's source (patches/6.12/*.patch ...),
# applied in name order by build-kernel.sh.
FK_PATCH_DIR=$FK_DIR/patches/${FK_KSRC_PKG#linux-source-}
FK_ARCH=x86_64

fk_log() { printf '[ferroio-vm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fk_die() { fk_log "ERROR: $*"; exit 2; }

# Install missing Debian packages on the host (only when something is missing,
# so warm runs never touch apt). Refuses politely when not root.
fk_need_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        fk_die "missing host packages: ${missing[*]} (apt-get install them, or run as root)"
    fi
    fk_log "installing host packages: ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        apt-get update >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
            || fk_die "apt-get install ${missing[*]} failed"
    fi
}

# Version apt would download for a package (from the local apt lists, no network);
# falls back to the newest .deb already in the cache when apt does not know it.
fk_pkg_version() {
    local v f
    v=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
    if [ -z "$v" ]; then
        f=$(ls "$FK_CACHE/debs/$1"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
        [ -n "$f" ] && v=$(dpkg-deb -f "$f" Version)
    fi
    printf '%s\n' "$v"
}

# fk_fetch_deb PKG: print the path of PKG's .deb in $FK_CACHE/debs, downloading
# it with `apt-get download` if needed (nothing is installed on the host).
fk_fetch_deb() {
    local pkg=$1 ver file
    ver=$(fk_pkg_version "$pkg")
    [ -n "$ver" ] || fk_die "apt knows no package $pkg (apt-get update?)"
    mkdir -p "$FK_CACHE/debs"
    # .deb file names encode ':' in epochs as %3a
    file=$(ls "$FK_CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$file" ]; then
        fk_log "apt-get download $pkg ($ver)"
        (cd "$FK_CACHE/debs" && apt-get download -o APT::Sandbox::User=root "$pkg=$ver" >&2) \
            || fk_die "apt-get download $pkg failed"
        file=$(ls "$FK_CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb | head -n1)
    fi
    printf '%s\n' "$file"
}

# Serialize cache writers (two runs at once must not build the same kernel).
fk_lock() {
    mkdir -p "$FK_CACHE"
    exec 9>"$FK_CACHE/.lock"
    if ! flock -n 9; then
        fk_log "waiting for another ferroio VM run to release $FK_CACHE/.lock"
        flock 9
    fi
}

fk_sha() { sha256sum | cut -c1-16; }

# Does this kernel build ferroio's test drivers (driver/)?
fk_wants_drivers() { [ -n "$FK_EXTRA_CONFIG" ] && grep -q '^CONFIG_FERROIO_' "$FK_EXTRA_CONFIG"; }

# The test-only patches for this kernel version, in the order they apply (none: nothing).
fk_patches() {
    local p
    for p in "$FK_PATCH_DIR"/*.patch; do
        [ -f "$p" ] && printf '%s\n' "$p"
    done
    return 0
}

# Cache key of the kernel: config fragments + kernel source package and version (+ the
# test drivers' sources when they are built in, + the test-only patches to the source).
fk_kernel_key() {
    local ver p
    ver=$(fk_pkg_version "$FK_KSRC_PKG")
    [ -n "$ver" ] || fk_die "cannot tell the version of $FK_KSRC_PKG (apt-get update?)"
    {
        printf '%s %s %s\n' "$FK_KSRC_PKG" "$ver" "$FK_ARCH"
        cat "$FK_DIR/kernel.config"
        [ -z "$FK_EXTRA_CONFIG" ] || cat "$FK_EXTRA_CONFIG"
        if fk_wants_drivers; then cat "$FK_DIR"/driver/*; fi
        while IFS= read -r p; do printf 'patch %s\n' "${p##*/}"; cat "$p"; done < <(fk_patches)
    } | fk_sha
}
