#!/bin/sh
# Guest side of `run.sh capture`: copy the real sysfs/configfs trees of the
# standard fixtures into /tmp/capture, add what Debian's libiio and libgpiod
# tools say about them, and send the tar.gz base64-encoded over the second
# serial port (/dev/ttyS1), which the host writes to a file.
#
# Why not `tar /sys`: sysfs files claim a size of 4096 bytes, so each file is
# read with cat instead; symlinks are recorded, never followed; modes are kept;
# files that cannot be read (write-only attributes, EIO) are listed in
# <snapshot>.unreadable next to the snapshot.

OUT=/tmp/capture
IIO=/sys/bus/iio/devices
rm -rf "$OUT"; mkdir -p "$OUT"

find_iio() {  # find_iio NAME: print the sysfs dir of the IIO device/trigger named NAME
    for d in "$IIO"/*; do
        if [ "$(cat "$d/name" 2>/dev/null)" = "$1" ]; then echo "$d"; return 0; fi
    done
    echo "capture: no IIO device named $1" >&2
    return 1
}

snapshot() {  # snapshot SYSFS_DIR NAME_IN_ARCHIVE
    real=$(readlink -f "$1")
    dest=$OUT/$2
    bad=$dest.unreadable
    echo "$2 <- $1 ($real)" >> "$OUT/SOURCES.txt"
    mkdir -p "$dest"
    (cd "$real" && find . -mindepth 1) | LC_ALL=C sort | while IFS= read -r rel; do
        s=$real/$rel d=$dest/$rel
        if [ -L "$s" ]; then
            ln -s "$(readlink "$s")" "$d"
        elif [ -d "$s" ]; then
            mkdir -p "$d"
            chmod "$(stat -c %a "$s")" "$d"
        else
            if ! cat "$s" > "$d" 2>/tmp/capture.err; then
                echo "${rel#./}: $(cat /tmp/capture.err)" >> "$bad"
            fi
            chmod "$(stat -c %a "$s")" "$d"
        fi
    done
}

listing() {  # listing FILE: where things are, as ls shows them
    mkdir -p "$(dirname "$1")"
    {
        echo "# ls -l $IIO/"; ls -l "$IIO/"
        echo "# ls -l /dev/iio:* /dev/gpiochip*"; ls -l /dev/iio:* /dev/gpiochip*
        echo "# uname -a"; uname -a
    } > "$1" 2>&1
}

DEV=$(find_iio dummy0) && HRT=$(find_iio trig0) && SYT=$(find_iio sysfstrig0) || exit 1

listing "$OUT/initial/listing.txt"
for d in "$DEV" "$HRT" "$SYT" "$IIO/iio_sysfs_trigger" "$IIO/iio_evgen"; do
    snapshot "$d" "initial/${d##*/}"
done
snapshot /sys/kernel/config/iio configfs-iio

# Debian libiio 0.24 looking at the same devices
mkdir -p "$OUT/libiio"
iio_info -u local: > "$OUT/libiio/iio_info.txt" 2>&1
iio_genxml -u local: > "$OUT/libiio/iio_genxml.txt" 2>&1
iio_attr -u local: -d > "$OUT/libiio/iio_attr-d.txt" 2>&1
echo 100 > "$HRT/sampling_frequency"
iio_readdev -u local: -t trig0 -b 4 -s 8 dummy0 \
    > "$OUT/libiio/iio_readdev-trig0-8samples.bin" 2> "$OUT/libiio/iio_readdev.stderr"
echo "exit status $?" >> "$OUT/libiio/iio_readdev.stderr"
# put the device back the way the fixtures left it
echo 0 > "$DEV/buffer/enable" 2>/dev/null
echo > "$DEV/trigger/current_trigger"
for en in "$DEV"/scan_elements/*_en; do echo 0 > "$en"; done

# a running buffer: every scan element on, hrtimer trigger, buffer enabled
for en in "$DEV"/scan_elements/*_en; do echo 1 > "$en"; done
echo trig0 > "$DEV/trigger/current_trigger"
echo 1 > "$DEV/buffer/enable"
sleep 1
snapshot "$DEV" "configured-buffer-enabled/${DEV##*/}"
echo 0 > "$DEV/buffer/enable"
echo > "$DEV/trigger/current_trigger"
for en in "$DEV"/scan_elements/*_en; do echo 0 > "$en"; done

# gpio-sim: the platform device (both gpiochips, sim_gpioN), its configfs tree,
# and Debian libgpiod 1.6's view
SIM=/sys/kernel/config/gpio-sim/sim0
snapshot "/sys/devices/platform/$(cat "$SIM/dev_name")" gpio-sim/platform-device
snapshot "$SIM" gpio-sim/configfs-sim0
{
    echo "# ls -l /sys/bus/gpio/devices/"; ls -l /sys/bus/gpio/devices/
    echo "# ls -l /sys/class/gpio/"; ls -l /sys/class/gpio/
    echo "# gpiodetect"; gpiodetect
    echo "# gpioinfo"; gpioinfo
} > "$OUT/gpio-sim/listing.txt" 2>&1

tar -czf /tmp/capture.tgz -C "$OUT" . || exit 1
echo "capture: $(find "$OUT" | wc -l) entries, $(wc -c < /tmp/capture.tgz) bytes compressed"
{ base64 /tmp/capture.tgz; echo "@@END"; } > /dev/ttyS1
