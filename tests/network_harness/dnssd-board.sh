#!/bin/bash
# A DNS-SD "board" for ferroio's network tests: real Debian iiod + a real avahi-daemon (with
# its own private dbus-daemon) in a "board" network namespace, joined by a veth pair to a
# "client" network namespace. With DNSSD_SERVER=PATH (a ferroio binary) the board runs
# `ferroio serve` instead of iiod, and avahi publishes nothing (ferroio answers multicast
# DNS itself; avahi is only there for libiio's scan). Our own script; run as root.
#
#   dnssd-board.sh fetch CACHE
#       Makes sure avahi-daemon (+ avahi-utils, + the libraries the host lacks) is unpacked
#       under CACHE/root (nothing is installed on the host: avahi-daemon's postinst would
#       start a daemon on the host network). Prints that directory. Exit 3 + a one-line
#       reason on stdout when it cannot be done here (no apt, no network, ...).
#
#   dnssd-board.sh run DIR AVAHI_ROOT HOST N CONTEXT_XML
#       Runs the board until killed (the caller kills our process group). Writes
#       DIR/client.pid and DIR/board.pid (their /proc/PID/ns/net are the namespaces), then
#       DIR/ready once dbus, avahi and iiod are up. Board: 10.77.N.1 on fio-bN, client:
#       10.77.N.2 on fio-cN. The veth pair is created inside the client namespace and its
#       peer moved straight into the board namespace: neither end ever exists in the host
#       namespace, so instances cannot collide with each other or the host, and the pair
#       vanishes with the namespaces.
#
#   dnssd-board.sh board ...   (internal: the part that runs inside the board namespaces)
set -euo pipefail

log() { printf '[dnssd-board %s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
skip() { printf '%s\n' "$*"; exit 3; }

# until_ok SECONDS WHAT CMD...: retries CMD every 50 ms, dies after SECONDS.
until_ok() {
    local limit=$1 what=$2 end; shift 2
    end=$(($(date +%s%N) + limit * 1000000000))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -lt "$end" ] || die "timed out after ${limit}s waiting for $what"
        sleep 0.05
    done
}

# ---------------------------------------------------------------------------------------
# fetch
# ---------------------------------------------------------------------------------------

# soname -> Debian package, for the libraries avahi-daemon/avahi-browse link against that a
# machine with iiod installed may still lack.
LIBPKGS="libavahi-core.so.7=libavahi-core7 libdaemon.so.0=libdaemon0
libavahi-common.so.3=libavahi-common3 libavahi-client.so.3=libavahi-client3"

have_lib() { ldconfig -p 2>/dev/null | grep -q "^[[:space:]]*$1 "; }

fetch() {
    local cache=$1 root=$1/root pair so pkg tmp f missing
    local -a pkgs
    if [ -x "$root/usr/sbin/avahi-daemon" ] && [ -x "$root/usr/bin/avahi-browse" ]; then
        printf '%s\n' "$root"; return
    fi
    command -v apt-get >/dev/null || skip "apt-get is not available to fetch avahi-daemon"
    command -v dpkg-deb >/dev/null || skip "dpkg-deb is not available to unpack avahi-daemon"
    mkdir -p "$cache/debs"
    exec 9>"$cache/.lock"
    flock 9
    if [ ! -x "$root/usr/sbin/avahi-daemon" ] || [ ! -x "$root/usr/bin/avahi-browse" ]; then
        pkgs=(avahi-daemon avahi-utils)
        for pair in $LIBPKGS; do
            so=${pair%%=*}; pkg=${pair#*=}
            have_lib "$so" || pkgs+=("$pkg")
        done
        log "apt-get download ${pkgs[*]} (into $cache/debs)"
        (cd "$cache/debs" && apt-get download -o APT::Sandbox::User=root "${pkgs[@]}" >&2) \
            || skip "apt-get download ${pkgs[*]} failed (no network, or no apt lists: apt-get update?)"
        tmp=$(mktemp -d "$cache/root.XXXXXX")
        for pkg in "${pkgs[@]}"; do
            # shellcheck disable=SC2012 # Debian file names: no odd characters
            f=$(ls -t "$cache/debs/${pkg}_"*.deb | head -n1)
            dpkg-deb -x "$f" "$tmp" || die "dpkg-deb -x $f failed"
        done
        missing=$(LD_LIBRARY_PATH="$tmp/usr/lib/$(uname -m)-linux-gnu:$tmp/usr/lib" \
            ldd "$tmp/usr/sbin/avahi-daemon" "$tmp/usr/bin/avahi-browse" | grep 'not found' || true)
        [ -z "$missing" ] || { rm -rf "$tmp"; skip "avahi still lacks libraries: $missing"; }
        rm -rf "$root"
        mv "$tmp" "$root"
    fi
    printf '%s\n' "$root"
}

# ---------------------------------------------------------------------------------------
# run (host side)
# ---------------------------------------------------------------------------------------

netns_of() { readlink "/proc/$1/ns/net"; }
in_new_netns() { [ "$(netns_of "$1")" != "$HOST_NETNS" ]; }

run() {
    local dir=$1 aroot=$2 host=$3 n=$4 xml=$5
    local bif=fio-b$n cif=fio-c$n bip=10.77.$n.1 cip=10.77.$n.2 cpid bpid
    HOST_NETNS=$(netns_of $$)

    # The client: a sleeping process alone in its network namespace.
    unshare --net -- sleep infinity &
    cpid=$!
    # The board: private mount (for /run), network and UTS (host name) namespaces.
    unshare --mount --net --uts --propagation private --fork -- \
        bash "$0" board "$dir" "$aroot" "$host" "$bif" "$bip" "$xml" &
    bpid=$!
    until_ok 5 "the client namespace" in_new_netns "$cpid"
    until_ok 5 "the board namespace" in_new_netns "$bpid"

    if ! nsenter -t "$cpid" -n ip link add "$cif" type veth peer name "$bif" netns "$bpid"; then
        echo "cannot create a veth pair (no veth support in this kernel?)" >"$dir/skip"
        exit 3
    fi
    nsenter -t "$cpid" -n sh -ec "
        ip link set lo up
        ip addr add $cip/24 dev $cif
        ip link set $cif multicast on up
        ip route add 224.0.0.0/4 dev $cif"
    log "client ns: pid $cpid, $cif $cip/24; board ns: pid $bpid, $bif $bip/24"
    echo "$cpid" >"$dir/client.pid"
    echo "$bpid" >"$dir/board.pid"

    # The board ends (or fails) only when killed; take the client down with it.
    local rc=0
    wait "$bpid" || rc=$?
    log "board exited ($rc)"
    kill "$cpid" 2>/dev/null || true
    exit "$rc"
}

# ---------------------------------------------------------------------------------------
# board (inside the board namespaces)
# ---------------------------------------------------------------------------------------

dbus_config() {
    cat <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
}

# avahi-daemon.conf for host name $1 on interface $2, publish-addresses=$3 (yes/no).
avahi_config() {
    cat <<EOF
[server]
host-name=$1
domain-name=local
browse-domains=
use-ipv4=yes
use-ipv6=no
allow-interfaces=$2
enable-dbus=yes
ratelimit-interval-usec=0
ratelimit-burst=0

[wide-area]
enable-wide-area=no

[publish]
publish-addresses=$3
publish-hinfo=no
publish-workstation=no
publish-domain=no
publish-aaaa-on-ipv4=no
publish-a-on-ipv6=no

[reflector]
enable-reflector=no

[rlimits]
EOF
}

avahi_running() {
    # org.freedesktop.Avahi.Server.GetState: 2 = AVAHI_SERVER_RUNNING (host name established)
    dbus-send --system --print-reply --reply-timeout=500 --dest=org.freedesktop.Avahi / \
        org.freedesktop.Avahi.Server.GetState | grep -q 'int32 2$'
}

iiod_listening() { timeout 1 bash -c ': >/dev/tcp/127.0.0.1/30431'; }

board() {
    local dir=$1 aroot=$2 host=$3 bif=$4 bip=$5 xml=$6 libdir
    hostname "$host"
    # A private /run: dbus' and avahi's sockets and pid files live and die with the namespace.
    mount -t tmpfs -o mode=755 ferroio-run /run
    mkdir -p /run/dbus /run/avahi-daemon
    # avahi-daemon looks its user up even with --no-drop-root (to chown its runtime dir):
    # give this mount namespace a passwd/group that have one (host files untouched).
    if ! getent passwd avahi >/dev/null; then
        { cat /etc/passwd; echo 'avahi:x:65534:65534:ferroio test avahi:/nonexistent:/usr/sbin/nologin'; } \
            >"$dir/passwd"
        mount --bind "$dir/passwd" /etc/passwd
    fi
    if ! getent group avahi >/dev/null; then
        { cat /etc/group; echo 'avahi:x:65534:'; } >"$dir/group"
        mount --bind "$dir/group" /etc/group
    fi
    ip link set lo up
    until_ok 10 "the veth end $bif" ip link show "$bif"
    ip addr add "$bip/24" dev "$bif"
    ip link set "$bif" multicast on up
    ip route add 224.0.0.0/4 dev "$bif"

    export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
    dbus_config >"$dir/dbus.conf"
    dbus-daemon --config-file="$dir/dbus.conf" --nofork --nopidfile --nosyslog \
        >"$dir/dbus.log" 2>&1 &
    until_ok 10 "dbus-daemon's socket" test -S /run/dbus/system_bus_socket
    log "dbus-daemon up (pid $!)"

    # With ferroio serve answering for the board, avahi publishes not even the address.
    avahi_config "$host" "$bif" "$([ -n "${DNSSD_SERVER:-}" ] && echo no || echo yes)" \
        >"$dir/avahi-daemon.conf"
    libdir="$aroot/usr/lib/$(uname -m)-linux-gnu"
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$aroot/usr/sbin/avahi-daemon" -f "$dir/avahi-daemon.conf" \
        --no-drop-root --no-chroot --no-rlimits --no-proc-title --debug \
        >"$dir/avahi.log" 2>&1 &
    until_ok 20 "avahi-daemon to reach the RUNNING state (see avahi.log)" avahi_running
    log "avahi-daemon running (pid $!)"

    if [ -n "${DNSSD_SERVER:-}" ]; then
        # ferroio serve answers multicast DNS itself; avahi only browses (libiio's scan
        # needs it), publishing nothing of its own, not even the host's address.
        "$DNSSD_SERVER" serve -u "xml:$xml" -v >"$dir/iiod.log" 2>&1 &
        until_ok 10 "ferroio serve to listen on 30431 (see iiod.log)" iiod_listening
        log "ferroio serve listening (pid $!)"
    else
        iiod -u "xml:$xml" >"$dir/iiod.log" 2>&1 &
        until_ok 10 "iiod to listen on 30431 (see iiod.log)" iiod_listening
        log "iiod listening (pid $!)"
    fi
    touch "$dir/ready"
    # Anything dying ends the board; the test kills the whole process group anyway.
    wait -n || true
    die "a board process exited"
}

cmd=${1:-}
shift || true
case $cmd in
    fetch) fetch "$@" ;;
    run) run "$@" ;;
    board) board "$@" ;;
    *) echo "usage: $0 fetch CACHE | run DIR AVAHI_ROOT HOST N CONTEXT_XML" >&2; exit 2 ;;
esac
