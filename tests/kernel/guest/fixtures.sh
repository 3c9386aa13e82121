#!/bin/sh
# Guest side: create the standard devices every VM test may rely on, through
# configfs, then check the kernel gave them the expected names. The inventory is
# documented in tests/kernel/README.md; change both together.
#
#   gpio-sim "sim0": bank0 -> gpiochip0, label sim0-bank0, 8 lines,
#                      line0 "led0", line1 "button0", line7 "irq7",
#                      line5 hogged by the kernel as "hog5", output-high
#                    bank1 -> gpiochip1, label sim0-bank1, 4 lines
#   iio_dummy "dummy0"          -> iio:device0
#   hrtimer trigger "trig0"     -> trigger0
#   sysfs trigger "sysfstrig0"  -> trigger1 (iio_sysfs_trigger/add_trigger 0)
# Exit status 0 only if everything exists as listed.

CFG=/sys/kernel/config
IIO=/sys/bus/iio/devices
fail=0
step() {   # step DESCRIPTION COMMAND...: run, report a failure, remember it
    what=$1; shift
    if ! "$@"; then echo "fixtures: FAILED: $what" >&2; fail=1; fi
}
put() { printf '%s\n' "$2" > "$1"; }

sim=$CFG/gpio-sim/sim0
step "gpio-sim device" mkdir "$sim"
step "bank0" mkdir "$sim/bank0"
step "bank0 lines" put "$sim/bank0/num_lines" 8
step "bank0 label" put "$sim/bank0/label" sim0-bank0
for spec in 0:led0 1:button0 7:irq7; do
    off=${spec%%:*}
    step "line$off" mkdir "$sim/bank0/line$off"
    step "line$off name" put "$sim/bank0/line$off/name" "${spec#*:}"
done
step "line5 hog" mkdir -p "$sim/bank0/line5/hog"
step "hog name" put "$sim/bank0/line5/hog/name" hog5
step "hog direction" put "$sim/bank0/line5/hog/direction" output-high
step "bank1" mkdir "$sim/bank1"
step "bank1 lines" put "$sim/bank1/num_lines" 4
step "bank1 label" put "$sim/bank1/label" sim0-bank1
step "gpio-sim live" put "$sim/live" 1

step "iio_dummy dummy0" mkdir "$CFG/iio/devices/dummy/dummy0"
step "hrtimer trigger trig0" mkdir "$CFG/iio/triggers/hrtimer/trig0"
step "sysfs trigger 0" put "$IIO/iio_sysfs_trigger/add_trigger" 0

# The names tests hard-code must be the ones the kernel handed out.
expect() {  # expect FILE VALUE
    got=$(cat "$1" 2>/dev/null)
    [ "$got" = "$2" ] || { echo "fixtures: $1 is '$got', expected '$2'" >&2; fail=1; }
}
expect "$sim/bank0/chip_name" gpiochip0
expect "$sim/bank1/chip_name" gpiochip1
expect "$IIO/iio:device0/name" dummy0
expect "$IIO/trigger0/name" trig0
expect "$IIO/trigger1/name" sysfstrig0
for n in /dev/gpiochip0 /dev/gpiochip1 /dev/iio:device0; do
    [ -c "$n" ] || { echo "fixtures: no character device $n" >&2; fail=1; }
done
exit $fail
