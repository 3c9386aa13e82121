#!/bin/bash
# tests/kernel/run.sh: the real-kernel test tier of ferroio.
#
# Builds (once, cached outside the repo) a tiny x86_64 kernel with iio_dummy,
# IIO triggers and gpio-sim, builds the VM test crate tests/vm/ for
# x86_64-unknown-linux-musl, boots the kernel in qemu with the test binary in
# the initramfs, creates the standard fixtures and runs each module of the
# crate as root with `--ignored --test-threads=1`. See tests/kernel/README.md.
#
# usage: tests/kernel/run.sh [--test MODULE]... [--optimized] [--timeout SECS] [--shell] [-- TEST_ARGS...]
#        tests/kernel/run.sh capture OUT.tar.gz
#
#   --test MODULE   only tests/vm/MODULE.rs (repeatable; `vm_MODULE` works too; default:
#                   every module)
#   --optimized     build the tests optimized, without debug assertions and overflow checks
#                   (what speed figures need; vm_gpio_speed asserts its target only then)
#   --timeout SECS  kill the VM after SECS seconds (default 600), counted as failure
#   --shell         interactive shell on the VM console after the tests
#   TEST_ARGS       extra arguments for every module's run; with a test name filter
#                   (e.g. `smoke::gpiochip0_chip_info`, or any substring) the test binary
#                   runs once with that filter instead of once per module
#   capture OUT     no tests: snapshot the guest's sysfs trees into OUT.tar.gz
#
# Exit status: 0 all tests passed; 1 a test failed or the fixtures could not be
# created; 124 the VM hung and was killed; 125 the VM stopped without reporting
# (kernel panic, crash); 2 the harness itself failed (build, download, usage).
#
# Env: FERROIO_KERNEL_CACHE  cache dir (default ~/.cache/ferroio-kernel)
#      FERROIO_VM_ACCEL      auto | kvm | tcg (default auto: probe KVM once, cache verdict)
#      FERROIO_VM_TIMEOUT    like --timeout
#      FERROIO_VM_TEST_TIMEOUT  seconds one module's run may take in the guest (default 300)
#      FERROIO_VM_MEM, FERROIO_VM_SMP  guest memory (1024M) and CPUs (2)
set -euo pipefail
# shellcheck source=tests/kernel/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET=x86_64-unknown-linux-musl
MODE="test"
CAPTURE_OUT=
TESTS=()
TEST_ARGS=(--ignored --test-threads=1)
TIMEOUT=${FERROIO_VM_TIMEOUT:-600}
TEST_TIMEOUT=${FERROIO_VM_TEST_TIMEOUT:-300}
OPTIMIZED=

usage() { sed -n '/^# usage:/,/^# Exit status/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

if [ "${1:-}" = capture ]; then
    MODE=capture
    CAPTURE_OUT=${2:-}
    [ -n "$CAPTURE_OUT" ] || usage
    shift 2
fi
while [ $# -gt 0 ]; do
    case $1 in
        --test) [ $# -ge 2 ] || usage; TESTS+=("$2"); shift 2 ;;
        --timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
        --optimized) OPTIMIZED=1; shift ;;
        --shell) MODE=shell; shift ;;
        --) shift; TEST_ARGS+=("$@"); break ;;
        -h|--help) usage ;;
        *) fk_log "unknown argument: $1"; usage ;;
    esac
done
case $TIMEOUT in ''|*[!0-9]*) fk_die "--timeout wants whole seconds, got '$TIMEOUT'" ;; esac

T_START=$(date +%s)
fk_need_pkgs qemu-system-x86 cpio gzip coreutils util-linux

# 1. kernel and base initramfs (cached; seconds when warm)
KDIR=$("$FK_DIR/build-kernel.sh")
BASE=$("$FK_DIR/build-rootfs.sh")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ferroio-vm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R/fvm/tests"

# 2. test binary: a static musl build of the test crate tests/vm/
MODULES=()
if [ "$MODE" != capture ]; then
    if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
        fk_log "rustup target add $TARGET"
        rustup target add "$TARGET" >&2 || fk_die "cannot install the Rust target $TARGET"
    fi
    if [ ${#TESTS[@]} -eq 0 ]; then
        for f in "$FK_REPO"/tests/vm/*.rs; do
            m=$(basename "$f" .rs)
            case $m in main|vm) ;; *) MODULES+=("$m") ;; esac
        done
    else
        for t in "${TESTS[@]}"; do
            m=${t#vm_}
            [ -f "$FK_REPO/tests/vm/$m.rs" ] || fk_die "no VM test module tests/vm/$m.rs"
            MODULES+=("$m")
        done
    fi
    sel=(--test vm)
    if [ -n "$OPTIMIZED" ]; then
        # the dev profile, optimized (release would add LTO: slower to build, same verdict)
        export CARGO_PROFILE_DEV_OPT_LEVEL=3 CARGO_PROFILE_DEV_DEBUG_ASSERTIONS=false \
            CARGO_PROFILE_DEV_OVERFLOW_CHECKS=false
    fi
    fk_log "cargo test --no-run --all-features --target $TARGET ${sel[*]}${OPTIMIZED:+ (optimized)}"
    # diagnostics are rendered on stderr; stdout carries one JSON object per artifact
    if ! (cd "$FK_REPO" && cargo test --no-run --all-features --target "$TARGET" "${sel[@]}" \
            --message-format=json-render-diagnostics) > "$WORK/cargo.json"; then
        fk_die "building the VM tests failed"
    fi
    n=0
    while IFS= read -r line; do
        exe=$(printf '%s' "$line" | grep -o '"executable":"[^"]*"' | cut -d'"' -f4) || continue
        case $line in
            *'"kind":["test"]'*)
                name=$(basename "$exe"); name=${name%-*}      # drop cargo's hash
                # stripped: debug info of several test binaries overflowed the initramfs
                install -s -m 0755 "$exe" "$R/fvm/tests/$name"
                n=$((n + 1)) ;;
            *'"kind":["bin"]'*)
                # the CLI at its host path too, so env!("CARGO_BIN_EXE_ferroio") works in the guest
                install -s -D -m 0755 "$exe" "$R$exe"
                install -s -D -m 0755 "$exe" "$R/usr/bin/$(basename "$exe")" ;;
        esac
    done < <(grep '"reason":"compiler-artifact"' "$WORK/cargo.json" | grep '"executable":"/')
    [ $n -gt 0 ] || fk_die "cargo built no VM test executable"
    fk_log "$n VM test binaries: $(ls "$R/fvm/tests" | tr '\n' ' ')"
    # tests may read the repo's fixtures through env!("CARGO_MANIFEST_DIR")
    if [ -d "$FK_REPO/fixtures" ] && [ "$(du -sm "$FK_REPO/fixtures" | cut -f1)" -lt 32 ]; then
        mkdir -p "$R$FK_REPO"
        cp -a "$FK_REPO/fixtures" "$R$FK_REPO/fixtures"
    fi
fi

# 3. the run's plan, read by guest/init
quote() { local a out=""; for a in "$@"; do out+="'${a//\'/\'\\\'\'}' "; done; printf '%s' "$out"; }
{
    echo "FVM_MODE=$MODE"
    echo "FVM_FIXTURES=1"
    # quoted twice: the guest evals the value to get the argument list back
    echo "FVM_TEST_ARGS=$(quote "$(quote "${TEST_ARGS[@]}")")"
    echo "FVM_TEST_TIMEOUT=$TEST_TIMEOUT"
    echo "FVM_MODULES='${MODULES[*]:-}'"
} > "$R/fvm/plan"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$WORK/run.cpio.gz"
# the kernel unpacks concatenated cpio archives in order, later files win
cat "$BASE" "$WORK/run.cpio.gz" > "$WORK/initrd.gz"

# 4. accelerator: KVM only if a real boot works (on some hosts /dev/kvm opens
#    but guests never get going); the verdict is cached per kernel
KEY=$(basename "$KDIR")
ACCEL=${FERROIO_VM_ACCEL:-auto}
if [ "$ACCEL" = auto ]; then
    # one line per kernel ("KEY yes|no"): the 6.1 and 6.12 tiers keep their own verdicts
    VERDICT=$FK_CACHE/kvm-verdict
    if ! grep -q "^$KEY " "$VERDICT" 2>/dev/null; then
        v=no
        if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
            fk_log "probing KVM with a test boot (at most 30 s)"
            # (in a subshell, so bash's "Aborted" notice about qemu goes to the log too)
            ( timeout -k 5 30 qemu-system-x86_64 -accel kvm -cpu host -m 256M -nodefaults \
                -no-reboot -display none -monitor none -serial stdio \
                -kernel "$KDIR/bzImage" -initrd "$BASE" -append "console=ttyS0 panic=-1 loglevel=1" \
                </dev/null ) > "$WORK/kvm-probe.txt" 2>&1 || true
            if tr -d '\r' < "$WORK/kvm-probe.txt" | grep -q '^@@FVM booted'; then
                v=yes
            else
                fk_log "KVM boot failed: $(grep -v '^[[:space:]]*$' "$WORK/kvm-probe.txt" | head -n1 | cut -c1-160)"
            fi
        else
            fk_log "no usable /dev/kvm"
        fi
        { grep -v "^$KEY " "$VERDICT" 2>/dev/null || true; echo "$KEY $v"; } > "$VERDICT.$$"
        mv -f "$VERDICT.$$" "$VERDICT"
        fk_log "KVM usable: $v (cached in $VERDICT)"
    fi
    if [ "$(grep "^$KEY " "$VERDICT" | cut -d' ' -f2)" = yes ]; then ACCEL=kvm; else ACCEL=tcg; fi
fi
if [ "$ACCEL" = kvm ]; then CPU=host; else CPU=max; fi

# 5. boot. tsc=reliable: no watching of the TSC against jiffies (the guest has no better
#    reference), which a busy host stalling the TCG vCPU makes fail; the TSC is sound (the
#    host's, under TCG) and a guest left on jiffies tells time in 4 ms steps
QEMU=(qemu-system-x86_64 -accel "$ACCEL" -cpu "$CPU" -m "${FERROIO_VM_MEM:-1024M}"
      -smp "${FERROIO_VM_SMP:-2}" -nodefaults -no-reboot -display none -monitor none
      -serial stdio -kernel "$KDIR/bzImage" -initrd "$WORK/initrd.gz"
      -append "console=ttyS0 panic=-1 loglevel=3 tsc=reliable")
[ "$MODE" = capture ] && QEMU+=(-serial "file:$WORK/ttyS1.txt")
# runs may overlap (other checkouts, other users of the cache): parse this run's
# own log, publish it as last-console.log only at the end
LOG=$WORK/console.log
LAST_LOG=$FK_CACHE/last-console.log
fk_log "booting ($ACCEL, timeout ${TIMEOUT}s); console log: $LAST_LOG"
T_BOOT=$(date +%s)
set +e
if [ "$MODE" = shell ]; then
    "${QEMU[@]}" | tee "$LOG"
    QRC=${PIPESTATUS[0]}
else
    timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$LOG"
    QRC=${PIPESTATUS[0]}
fi
set -e
T_END=$(date +%s)
tr -d '\r' < "$LOG" | grep -a '^@@FVM ' > "$WORK/markers.txt" || true
cp "$LOG" "$LAST_LOG.$$" && mv -f "$LAST_LOG.$$" "$LAST_LOG"
fk_log "VM ran $((T_END - T_BOOT)) s (qemu exit status $QRC); whole run $((T_END - T_START)) s"

# 6. verdict
markers() { cat "$WORK/markers.txt"; }
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
    last=$(markers | grep '^@@FVM begin ' | tail -n1 | cut -d' ' -f3)
    fk_log "FAIL: the VM hung and was killed after ${TIMEOUT}s${last:+ (last test started: $last)}"
    exit 124
fi
if ! grep -q '^@@FVM booted' "$WORK/markers.txt"; then
    fk_log "FAIL: the guest never reached its init (see $LAST_LOG)"
    exit 125
fi
status=0
if ! grep -qx '@@FVM fixtures ok' "$WORK/markers.txt"; then
    fk_log "FAIL: the fixtures could not be created"
    status=1
fi

if [ "$MODE" = capture ]; then
    if ! grep -qa '^@@END' "$WORK/ttyS1.txt" 2>/dev/null; then
        fk_log "FAIL: the capture did not arrive on the second serial port"
        exit 1
    fi
    tr -d '\r' < "$WORK/ttyS1.txt" | sed '/^@@END/,$d' | base64 -d > "$WORK/capture.tgz"
    tar -tzf "$WORK/capture.tgz" > "$WORK/capture.list"
    cp "$WORK/capture.tgz" "$CAPTURE_OUT"
    fk_log "capture written: $CAPTURE_OUT ($(wc -l < "$WORK/capture.list") entries)"
    exit $status
fi

done_line=$(markers | grep '^@@FVM done ' | tail -n1)
if [ -z "$done_line" ]; then
    fk_log "FAIL: the VM stopped before the tests finished (panic? see $LAST_LOG)"
    exit 125
fi
echo "==== ferroio VM tests ($ACCEL, kernel $(head -n1 "$KDIR/info"))"
while read -r _ _ name rc; do
    rc=${rc#rc=}
    if [ "$rc" = 0 ]; then
        printf 'PASS  %s\n' "$name"
    else
        printf 'FAIL  %s (exit status %s%s)\n' "$name" "$rc" "$([ "$rc" = 137 ] && echo ', killed after the per-test timeout')"
        status=1
    fi
done < <(markers | grep '^@@FVM end ')
echo "==== ${done_line#@@FVM done }"
case $done_line in *" failed=0 "*) ;; *) status=1 ;; esac
exit $status
