//! Smoke tests of the real-kernel tier: they prove the VM, its fixtures and the
//! Debian comparison tools are there, using only std and rustix (not ferroio).
//!
//! Like every module of `tests/vm/`, these run only inside the qemu guest built by
//! `tests/kernel/run.sh`, as root, with the fixtures listed in
//! `tests/kernel/README.md` (gpio-sim chips, iio_dummy `dummy0`, triggers).

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::OFlags;
use rustix::ioctl::{ioctl, opcode, Getter, Opcode};
use rustix::time::Timespec;
use std::os::unix::fs::OpenOptionsExt;

use crate::vm;
use vm::{read as read_attr, require_vm};

const IIO_DEVICES: &str = "/sys/bus/iio/devices";

// ---- GPIO character device -------------------------------------------------

/// `struct gpiochip_info` from <linux/gpio.h>.
#[repr(C)]
struct GpioChipInfo {
    name: [u8; 32],
    label: [u8; 32],
    lines: u32,
}

/// `GPIO_GET_CHIPINFO_IOCTL` = `_IOR(0xB4, 0x01, struct gpiochip_info)`.
const GPIO_GET_CHIPINFO_IOCTL: Opcode = opcode::read::<GpioChipInfo>(0xB4, 0x01);

fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn chip_info(path: &str) -> (String, String, u32) {
    let chip = File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: GPIO_GET_CHIPINFO_IOCTL is an _IOR ioctl whose argument is a
    // `struct gpiochip_info`, which `GpioChipInfo` mirrors field for field
    // (repr(C), two 32-byte arrays and a u32); the kernel fills all of it.
    let info = unsafe {
        ioctl(
            &chip,
            Getter::<GPIO_GET_CHIPINFO_IOCTL, GpioChipInfo>::new(),
        )
    }
    .unwrap_or_else(|e| panic!("GPIO_GET_CHIPINFO_IOCTL on {path}: {e}"));
    (c_str(&info.name), c_str(&info.label), info.lines)
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn gpiochip0_chip_info() {
    require_vm();
    assert_eq!(
        chip_info("/dev/gpiochip0"),
        ("gpiochip0".to_string(), "sim0-bank0".to_string(), 8)
    );
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn gpiochip1_chip_info() {
    require_vm();
    assert_eq!(
        chip_info("/dev/gpiochip1"),
        ("gpiochip1".to_string(), "sim0-bank1".to_string(), 4)
    );
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn debian_gpioinfo_lists_hog5() {
    require_vm();
    let out = Command::new(debian_tool("gpioinfo"))
        .arg("gpiochip0")
        .output()
        .expect("run Debian's gpioinfo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "gpioinfo failed: {:?}\n{text}",
        out.status
    );
    let hog = text
        .lines()
        .find(|l| l.contains("\"hog5\""))
        .unwrap_or_else(|| panic!("gpioinfo does not list hog5:\n{text}"));
    assert!(hog.contains("line   5:"), "hog5 is not line 5: {hog}");
    assert!(hog.contains("output"), "hog5 is not an output: {hog}");
    assert!(text.contains("\"led0\""), "line names missing:\n{text}");
}

// ---- Debian's libiio, our CLI ----------------------------------------------

/// A program of Debian's libiio-utils or gpiod, from the directory the VM announces.
fn debian_tool(name: &str) -> PathBuf {
    let dir = std::env::var("FERROIO_VM_TOOLS").expect("FERROIO_VM_TOOLS is set in the VM");
    let path = Path::new(&dir).join(name);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn debian_iio_info_sees_the_fixtures() {
    require_vm();
    let out = Command::new(debian_tool("iio_info"))
        .args(["-u", "local:"])
        .output()
        .expect("run Debian's iio_info");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "iio_info failed: {:?}\n{text}",
        out.status
    );
    for needle in [
        "Library version: 0.24",
        "iio:device0: dummy0",
        "trigger0: trig0",
        "trigger1: sysfstrig0",
    ] {
        assert!(
            text.contains(needle),
            "iio_info output lacks {needle:?}:\n{text}"
        );
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn ferroio_cli_runs_in_the_guest() {
    require_vm();
    // run.sh puts the static CLI at its host build path, so this works unchanged
    let out = Command::new(env!("CARGO_BIN_EXE_ferroio"))
        .arg("--help")
        .output()
        .expect("run the ferroio CLI");
    assert!(out.status.success(), "ferroio --help failed: {out:?}");
}

// ---- IIO buffer ------------------------------------------------------------

fn iio_by_name(name: &str) -> PathBuf {
    for entry in fs::read_dir(IIO_DEVICES).expect("read /sys/bus/iio/devices") {
        let path = entry.expect("dir entry").path();
        // iio_evgen and iio_sysfs_trigger have no name attribute
        if fs::read_to_string(path.join("name")).is_ok_and(|n| n.trim_end() == name) {
            return path;
        }
    }
    panic!("no IIO device or trigger named {name}");
}

fn write_attr(path: &Path, value: &str) {
    fs::write(path, value).unwrap_or_else(|e| panic!("write {value:?} to {}: {e}", path.display()));
}

/// Puts the device back as the fixtures left it, even when the test panics,
/// so later tests in the same VM start from the same state.
struct RestoreDevice {
    dev: PathBuf,
    enables: Vec<(PathBuf, String)>,
    trigger: String,
}

impl RestoreDevice {
    fn save(dev: &Path) -> Self {
        let mut enables = Vec::new();
        for entry in fs::read_dir(dev.join("scan_elements")).expect("scan_elements") {
            let path = entry.expect("dir entry").path();
            if path.to_string_lossy().ends_with("_en") {
                let old = read_attr(&path);
                enables.push((path, old));
            }
        }
        enables.sort();
        let trigger = read_attr(&dev.join("trigger/current_trigger"));
        RestoreDevice {
            dev: dev.to_path_buf(),
            enables,
            trigger,
        }
    }
}

impl Drop for RestoreDevice {
    fn drop(&mut self) {
        // best effort: a failure here must not hide the test's own panic
        let _ = fs::write(self.dev.join("buffer/enable"), "0");
        // an empty write never reaches sysfs; a lone newline clears the trigger
        let _ = fs::write(
            self.dev.join("trigger/current_trigger"),
            format!("{}\n", self.trigger),
        );
        for (path, old) in &self.enables {
            let _ = fs::write(path, old);
        }
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn iio_dummy_buffer_through_hrtimer_trigger() {
    require_vm();
    let dev = iio_by_name("dummy0");
    let trig = iio_by_name("trig0");
    assert_eq!(dev.file_name().unwrap(), "iio:device0");
    let restore = RestoreDevice::save(&dev);
    assert_eq!(
        restore.enables.len(),
        5,
        "dummy0 should have 5 scan elements"
    );

    for (en, _) in &restore.enables {
        write_attr(en, "1");
    }
    write_attr(&trig.join("sampling_frequency"), "100");
    write_attr(&dev.join("trigger/current_trigger"), "trig0");
    assert_eq!(read_attr(&dev.join("trigger/current_trigger")), "trig0");
    write_attr(&dev.join("buffer/length"), "128");
    write_attr(&dev.join("buffer/enable"), "1");

    // voltage0 u16, voltage1-voltage2 s16, voltage3-voltage4 s16, accel_x s16,
    // then the s64 timestamp aligned to 8: one scan is 16 bytes
    const SCAN: usize = 16;
    let mut chardev = OpenOptions::new()
        .read(true)
        .custom_flags(OFlags::NONBLOCK.bits() as i32)
        .open("/dev/iio:device0")
        .expect("open /dev/iio:device0");
    let mut data = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while data.len() < 4 * SCAN {
        assert!(
            Instant::now() < deadline,
            "only {} bytes after 10 s",
            data.len()
        );
        let mut fds = [PollFd::new(&chardev, PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&timeout)).expect("poll /dev/iio:device0");
        let mut buf = [0u8; 4096];
        match chardev.read(&mut buf) {
            Ok(n) => {
                assert_eq!(n % SCAN, 0, "read {n} bytes, not whole 16-byte scans");
                data.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("read /dev/iio:device0: {e}"),
        }
    }
    drop(restore);
    assert_eq!(read_attr(&dev.join("buffer/enable")), "0");

    // iio_simple_dummy_buffer.c pushes constant fake data and a timestamp
    let mut last_ts = i64::MIN;
    for scan in data.chunks_exact(SCAN) {
        let s16 = |i: usize| i16::from_le_bytes([scan[i], scan[i + 1]]);
        assert_eq!(
            (s16(0), s16(2), s16(4), s16(6)),
            (7, -33, -2, 344),
            "unexpected dummy sample {scan:02x?}"
        );
        let ts = i64::from_le_bytes(scan[8..16].try_into().unwrap());
        assert!(
            ts >= last_ts,
            "timestamps go backwards: {last_ts} then {ts}"
        );
        last_ts = ts;
    }
}
