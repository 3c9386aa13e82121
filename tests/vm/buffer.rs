//! Buffers against a real kernel (the qemu tier, see `tests/kernel/README.md`): capture from
//! `iio_dummy` through the hrtimer trigger and, deterministically, through the sysfs trigger;
//! the bytes equal what Debian's `iio_readdev` reads from the same device and trigger; a
//! failed setup and a dropped buffer leave sysfs as it was; cancel wakes a blocked refill.
//! Events (`events`), triggers (`trigger`) and `ferroio serve` (`serve`) are modules of
//! this one test binary: every binary is a ~20 MB static debug executable in the guest's
//! initramfs, which must fit in its RAM.

mod events;
mod serve;
mod trigger;

use ferroio::buffer::{Buffer, Transfer};
use ferroio::{Context, Error};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::vm;
use vm::{read, require_vm, IIO};

/// The buffer-related sysfs state of a device: scan element enables, buffer settings, the
/// trigger. `data_available` is left out (it counts what the last capture left behind).
fn state(dev: &Path) -> BTreeMap<String, String> {
    let mut out = vm::state(dev);
    out.insert(
        "trigger/current_trigger".into(),
        read(&dev.join("trigger/current_trigger")),
    );
    out
}

fn iio_by_name(name: &str) -> PathBuf {
    for e in fs::read_dir(IIO).unwrap() {
        let p = e.unwrap().path();
        if fs::read_to_string(p.join("name")).is_ok_and(|n| n.trim() == name) {
            return p;
        }
    }
    panic!("no IIO device named {name}");
}

/// Puts dummy0 back as the fixtures left it even when a test panics midway.
struct Guard {
    dev: PathBuf,
    before: BTreeMap<String, String>,
}

impl Guard {
    fn new() -> Guard {
        let dev = iio_by_name("dummy0");
        let before = state(&dev);
        assert_eq!(
            before["buffer/enable"], "0",
            "dummy0's buffer must start disabled"
        );
        Guard { dev, before }
    }
    fn assert_restored(&self, when: &str) {
        assert_eq!(state(&self.dev), self.before, "sysfs state {when}");
    }
}

impl Guard {
    /// Writes the saved state back (the buffer first: nothing else can change while it is
    /// enabled).
    fn reset(&self) {
        let _ = fs::write(self.dev.join("buffer/enable"), "0");
        for (k, v) in &self.before {
            let _ = fs::write(self.dev.join(k), format!("{v}\n"));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.reset();
    }
}

fn fire_sysfs_trigger(times: usize) {
    let t = iio_by_name("sysfstrig0");
    for _ in 0..times {
        fs::write(t.join("trigger_now"), "1").expect("trigger_now");
    }
}

/// A buffer of dummy0 with the given channels (all inputs when empty) and trigger.
fn open(ctx: &Context, chans: &[&str], trigger: &str, samples: usize) -> Buffer {
    let dev = ctx.get_device("dummy0").unwrap();
    let trig = ctx.get_device(trigger).unwrap();
    let mut b = dev.buffer_builder().samples(samples).trigger(Some(&trig));
    if chans.is_empty() {
        b = b.all_channels(false);
    }
    for c in chans {
        b = b.channel_named(c, false);
    }
    b.build().unwrap()
}

/// The constant scan iio_simple_dummy_buffer.c pushes (without the timestamp).
const DUMMY_VALUES: [u8; 8] = [7, 0, 0xdf, 0xff, 0xfe, 0xff, 0x58, 0x01];

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn capture_through_the_sysfs_trigger_is_deterministic() {
    require_vm();
    let g = Guard::new();
    let ctx = Context::new().unwrap();
    let mut buf = open(&ctx, &[], "sysfstrig0", 3);
    assert_eq!(buf.scan_bytes(), 16);
    assert_eq!(buf.transfer(), Transfer::ReadWrite);
    assert_eq!(read(&g.dev.join("buffer/enable")), "1");
    assert_eq!(read(&g.dev.join("buffer/length")), "12");
    assert_eq!(read(&g.dev.join("buffer/watermark")), "3");
    assert_eq!(read(&g.dev.join("trigger/current_trigger")), "sysfstrig0");
    // nothing fired yet: a non-blocking refill finds nothing
    buf.set_blocking(false).unwrap();
    assert_eq!(buf.refill().unwrap(), 0);
    buf.set_blocking(true).unwrap();
    fire_sysfs_trigger(3);
    assert_eq!(buf.refill().unwrap(), 3);
    let dev = ctx.get_device("dummy0").unwrap();
    let ch = |id: &str| dev.get_channel(id, false).unwrap();
    assert_eq!(ch("voltage0").read::<u16>(&buf).unwrap(), vec![7; 3]);
    assert_eq!(
        ch("voltage1-voltage2").read::<i16>(&buf).unwrap(),
        vec![-33; 3]
    );
    assert_eq!(
        ch("voltage3-voltage4").read::<i16>(&buf).unwrap(),
        vec![-2; 3]
    );
    assert_eq!(ch("accel_x").read::<i16>(&buf).unwrap(), vec![344; 3]);
    for scan in buf.scans() {
        assert_eq!(&scan[..8], &DUMMY_VALUES);
    }
    // realtime nanoseconds, not decreasing, recent
    let ts: Vec<i64> = buf.timestamps().unwrap().collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    assert!(
        ts.iter().all(|&t| (now - t).abs() < 60_000_000_000),
        "{ts:?} vs {now}"
    );
    let v0 = ch("voltage0").read_converted(&buf).unwrap();
    let scale: f64 = read(&g.dev.join("in_voltage0_scale")).parse().unwrap();
    let offset: f64 = read(&g.dev.join("in_voltage0_offset")).parse().unwrap();
    assert_eq!(v0, vec![(7.0 + offset) * scale; 3]);
    drop(buf);
    g.assert_restored("after drop");
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn capture_through_the_hrtimer_trigger() {
    require_vm();
    let g = Guard::new();
    let trig = iio_by_name("trig0");
    fs::write(trig.join("sampling_frequency"), "100").unwrap();
    let ctx = Context::new().unwrap();
    let mut buf = open(&ctx, &[], "trig0", 16);
    buf.set_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut total = 0;
    let mut last_ts = i64::MIN;
    let t0 = Instant::now();
    while total < 48 {
        let n = buf.refill().unwrap();
        assert!(n > 0);
        for scan in buf.scans() {
            assert_eq!(&scan[..8], &DUMMY_VALUES);
        }
        for t in buf.timestamps().unwrap() {
            assert!(t > last_ts, "timestamps must increase");
            last_ts = t;
        }
        total += n;
    }
    let took = t0.elapsed();
    // 48 scans at 100 Hz: about half a second (TCG timers are coarse; be generous)
    assert!(took > Duration::from_millis(200), "48 scans in {took:?}");
    drop(buf);
    g.assert_restored("after drop");
}

/// Runs Debian's iio_readdev while firing the sysfs trigger until it exits.
fn iio_readdev_sysfs(args: &[&str]) -> Vec<u8> {
    let tools = std::env::var("FERROIO_VM_TOOLS").unwrap_or_else(|_| "/usr/bin".into());
    run_firing(Command::new(Path::new(&tools).join("iio_readdev")).args(args))
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn bytes_equal_debian_iio_readdev() {
    require_vm();
    let g = Guard::new();
    let chans = [
        "voltage0",
        "voltage1-voltage2",
        "voltage3-voltage4",
        "accel_x",
    ];
    let mut args = vec!["-t", "sysfstrig0", "-b", "4", "-s", "8", "dummy0"];
    args.extend(chans);
    let theirs = iio_readdev_sysfs(&args);
    assert_eq!(
        theirs.len(),
        8 * 8,
        "iio_readdev wrote {} bytes",
        theirs.len()
    );
    // libiio 0.24 leaves its settings behind (length 16, watermark 4, the trigger): put the
    // fixture back before our turn
    let after = state(&g.dev);
    assert_eq!(after["buffer/length"], "16");
    assert_eq!(after["trigger/current_trigger"], "sysfstrig0");
    g.reset();
    g.assert_restored("after resetting what iio_readdev left");

    let ctx = Context::new().unwrap();
    let mut buf = open(&ctx, &chans, "sysfstrig0", 4);
    assert_eq!(buf.scan_bytes(), 8);
    let mut ours = Vec::new();
    while ours.len() < theirs.len() {
        fire_sysfs_trigger(4);
        buf.refill().unwrap();
        ours.extend_from_slice(buf.data());
    }
    assert_eq!(ours, theirs);
    drop(buf);
    g.assert_restored("after drop");

    // with the timestamp: the same bytes apart from the 8 timestamp bytes of each scan
    let theirs = iio_readdev_sysfs(&["-t", "sysfstrig0", "-b", "4", "-s", "8", "dummy0"]);
    assert_eq!(theirs.len(), 8 * 16);
    g.reset();
    let mut buf = open(&ctx, &[], "sysfstrig0", 8);
    fire_sysfs_trigger(8);
    assert_eq!(buf.refill().unwrap(), 8);
    for (a, b) in buf.scans().zip(theirs.chunks(16)) {
        assert_eq!(&a[..8], &b[..8]);
    }
    drop(buf);
    g.assert_restored("after drop");
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn a_failed_setup_leaves_sysfs_as_it_was() {
    require_vm();
    let g = Guard::new();
    let ctx = Context::new().unwrap();
    let dev = ctx.get_device("dummy0").unwrap();
    // no trigger: every write succeeds until the kernel refuses to enable (EINVAL)
    let err = dev
        .buffer_builder()
        .all_channels(false)
        .samples(8)
        .build()
        .unwrap_err();
    assert_eq!(err.errno(), 22, "{err}");
    assert!(err.to_string().contains("enable"), "{err}");
    g.assert_restored("after a failed enable");
    // a buffer the device does not have: refused before anything is written
    let err = dev
        .buffer_builder()
        .all_channels(false)
        .samples(8)
        .buffer_index(3)
        .build()
        .unwrap_err();
    assert_eq!(err.errno(), 2, "{err}");
    g.assert_restored("after asking for buffer 3");
    // a trigger set for the buffer is restored when opening fails
    let trig = ctx.get_device("trig0").unwrap();
    let err = dev
        .buffer_builder()
        .all_channels(false)
        .samples(8)
        .buffer_index(3)
        .trigger(Some(&trig))
        .build()
        .unwrap_err();
    assert_eq!(err.errno(), 2, "{err}");
    g.assert_restored("after a failed open with a trigger");
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn cancel_wakes_a_refill_blocked_on_the_kernel() {
    require_vm();
    let g = Guard::new();
    let ctx = Context::new().unwrap();
    let mut buf = open(&ctx, &[], "sysfstrig0", 4);
    buf.set_timeout(None).unwrap();
    let cancel = buf.cancel_handle();
    let worker = std::thread::spawn(move || {
        let r = buf.refill();
        (r, Instant::now(), buf)
    });
    std::thread::sleep(Duration::from_millis(200));
    let at = Instant::now();
    cancel.cancel();
    let (r, woke, buf) = worker.join().unwrap();
    let latency = woke.saturating_duration_since(at);
    println!("cancel latency on the real kernel: {latency:?}");
    assert!(matches!(r, Err(Error::Cancelled { .. })), "{r:?}");
    assert!(
        latency < Duration::from_millis(10),
        "woke after {latency:?}"
    );
    drop(buf);
    g.assert_restored("after drop");
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn a_second_buffer_on_the_same_device_is_refused_cleanly() {
    require_vm();
    let g = Guard::new();
    let ctx = Context::new().unwrap();
    let buf = open(&ctx, &[], "sysfstrig0", 4);
    let dev = ctx.get_device("dummy0").unwrap();
    let err = dev
        .buffer_builder()
        .all_channels(false)
        .samples(4)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("already enabled"), "{err}");
    // the first buffer is untouched and still works
    assert_eq!(read(&g.dev.join("buffer/enable")), "1");
    drop(buf);
    g.assert_restored("after drop");
}

/// Runs a command while firing the sysfs trigger until it exits; returns its stdout.
fn run_firing(cmd: &mut Command) -> Vec<u8> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            assert!(
                status.success(),
                "{cmd:?}: {status}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return out.stdout;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{cmd:?} hangs");
        fire_sysfs_trigger(1);
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn cli_read_equals_debian_iio_readdev_and_restores() {
    require_vm();
    let g = Guard::new();
    let args = [
        "-t",
        "sysfstrig0",
        "-b",
        "4",
        "-s",
        "12",
        "dummy0",
        "voltage0",
        "voltage3-voltage4",
        "accel_x",
    ];
    let theirs = iio_readdev_sysfs(&args);
    g.reset();
    let ours = run_firing(
        Command::new(env!("CARGO_BIN_EXE_ferroio"))
            .arg("read")
            .args(args),
    );
    assert_eq!(ours.len(), 12 * 6);
    assert_eq!(ours, theirs);
    g.assert_restored("after ferroio read");
    // and through the hrtimer trigger, with timestamps: equal apart from them
    fs::write(iio_by_name("trig0").join("sampling_frequency"), "100").unwrap();
    let ours = run_firing(
        Command::new(env!("CARGO_BIN_EXE_ferroio"))
            .args(["read", "-t", "trig0", "-b", "8", "-s", "16", "dummy0"]),
    );
    assert_eq!(ours.len(), 16 * 16);
    g.assert_restored("after ferroio read -t trig0");
    let theirs = iio_readdev_sysfs(&["-t", "trig0", "-b", "8", "-s", "16", "dummy0"]);
    g.reset();
    assert_eq!(theirs.len(), ours.len());
    for (a, b) in ours.chunks(16).zip(theirs.chunks(16)) {
        assert_eq!(&a[..8], &b[..8]);
        assert_eq!(&a[..8], &DUMMY_VALUES);
    }
}
