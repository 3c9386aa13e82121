//! Helpers shared by the VM tier's modules (run in the guest by tests/kernel/run.sh): the
//! guard that they run there, sysfs reads, the buffer state that a test compares before and
//! after, and ferroio's configfs test devices (`dmasim`, `mmapsim`, `mmapsim_out` of
//! tests/kernel/driver/, on the 6.12 tier) with what they report.

#![allow(dead_code)]

use ferroio::buffer::{Buffer, Configfs, SoftwareObject, Transfer};
use ferroio::{Channel, Context, Device, Error};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the kernel lists IIO devices and triggers.
pub const IIO: &str = "/sys/bus/iio/devices";

/// The FNV-1a offset basis the test devices start their hash from.
pub const FNV_OFFSET: u64 = 0xcbf29ce484222325;

/// Fails the test unless it runs in the qemu tier.
pub fn require_vm() {
    assert_eq!(
        std::env::var("FERROIO_VM").as_deref(),
        Ok("1"),
        "this test needs the qemu kernel tier: tests/kernel/run.sh"
    );
}

/// The running kernel's (major, minor).
pub fn kernel_version() -> (u32, u32) {
    let r = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut it = r.trim().split(|c: char| !c.is_ascii_digit());
    let major = it.next().unwrap().parse().unwrap();
    let minor = it.next().unwrap().parse().unwrap();
    (major, minor)
}

/// A sysfs file's text without its trailing newline.
pub fn read(p: &Path) -> String {
    fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim_end()
        .to_string()
}

/// The buffer settings and scan element enables of the device in `dev` (every buffer
/// directory, both layouts).
pub fn state(dev: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for dir in ["buffer0", "buffer1", "scan_elements", "buffer"] {
        let Ok(rd) = fs::read_dir(dev.join(dir)) else {
            continue;
        };
        for e in rd {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with("_en") || ["enable", "length", "watermark"].contains(&name.as_str()) {
                out.insert(format!("{dir}/{name}"), read(&dev.join(dir).join(&name)));
            }
        }
    }
    out
}

/// The channel `key` of `dev` (input or output).
pub fn chan(dev: &Device, key: &str, output: bool) -> Channel {
    dev.find_channel(key, output)
        .unwrap_or_else(|| panic!("no channel {key} (output {output})"))
}

/// A libiio tool of the guest (Debian's, packed by the harness).
pub fn tool(name: &str) -> PathBuf {
    Path::new(&std::env::var("FERROIO_VM_TOOLS").unwrap()).join(name)
}

/// `ferroio serve -v` of this build on 127.0.0.1 (a free port, no announcements), its log
/// in a file; stopped with SIGTERM when dropped (or by [`Served::stop`]).
pub struct Served {
    child: Option<std::process::Child>,
    log: PathBuf,
    /// `ip:127.0.0.1:PORT`.
    pub uri: String,
}

impl Served {
    /// Starts the server with `extra` arguments and waits (10 s at most) for its
    /// "serving" line.
    pub fn start(extra: &[&str]) -> Served {
        let log = std::env::temp_dir().join(format!(
            "ferroio-serve-{}-{:?}.log",
            std::process::id(),
            Instant::now()
        ));
        let file = fs::File::create(&log).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_ferroio"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1",
                "-p",
                "0",
                "--no-announce",
                "-v",
            ])
            .args(extra)
            .stderr(file)
            .spawn()
            .expect("start ferroio serve");
        let mut srv = Served {
            child: Some(child),
            log,
            uri: String::new(),
        };
        let t0 = Instant::now();
        let port = loop {
            let text = srv.log();
            if let Some(p) = text
                .lines()
                .find(|l| l.contains("serving"))
                .and_then(|l| l.rsplit(':').next())
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                break p;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no port in:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        srv.uri = format!("ip:127.0.0.1:{port}");
        srv
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server with SIGTERM: whether it exited successfully, and its whole log.
    pub fn stop(mut self) -> (bool, String) {
        let ok = self.terminate();
        (ok, self.log())
    }

    fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let pid = rustix::process::Pid::from_child(&child);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        child.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.terminate();
        let _ = fs::remove_file(&self.log);
    }
}

/// `(n * 16 + c) mod 65536`: channel `c` of scan `n`, as the test devices fill capture
/// blocks (scans counted from 0 at each enable).
pub fn pattern(n: u64, chan: u64) -> u16 {
    n.wrapping_mul(16).wrapping_add(chan) as u16
}

/// 64-bit FNV-1a continued over `bytes`, as the test devices hash what they consume.
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// An instance of one of ferroio's configfs test devices, removed (after un-pausing it)
/// when dropped. Declare it before any buffer of it, so the buffers close first.
pub struct Sim {
    obj: Option<SoftwareObject>,
    /// The IIO device name (the configfs directory's name).
    pub name: String,
    /// The IIO device id (`iio:deviceN`).
    pub id: String,
    /// Its sysfs directory.
    pub dir: PathBuf,
}

impl Sim {
    /// A new instance of `kind` named `name` on the 6.12 tier; `None`, after saying why, on
    /// older kernels, where the harness builds no test devices.
    pub fn new(kind: &str, name: &str) -> Option<Sim> {
        require_vm();
        if kernel_version() < (6, 12) {
            eprintln!(
                "skipped: needs the 6.12 kernel tier (FERROIO_KERNEL_SRC_PKG=linux-source-6.12), \
                 this is {:?}",
                kernel_version()
            );
            return None;
        }
        let cfs = Configfs::system();
        let kinds = cfs.device_kinds().unwrap();
        assert!(
            kinds.iter().any(|k| k == kind),
            "the 6.12 tier builds the {kind} device type (only {kinds:?})"
        );
        let obj = cfs.create_device(kind, name).unwrap();
        let id = obj
            .sysfs_id()
            .unwrap()
            .expect("the sim registered an IIO device");
        let dir = Path::new(IIO).join(&id);
        Some(Sim {
            obj: Some(obj),
            name: name.to_string(),
            id,
            dir,
        })
    }

    /// The device in a fresh snapshot.
    pub fn device(&self) -> Device {
        let ctx = Context::new().unwrap();
        let dev = ctx
            .find_device(&self.name)
            .expect("the sim is in the snapshot");
        assert_eq!(dev.id(), self.id);
        dev
    }

    /// One of its attributes.
    pub fn attr(&self, name: &str) -> String {
        read(&self.dir.join(name))
    }

    /// One of its numeric attributes.
    pub fn num(&self, name: &str) -> u64 {
        self.attr(name).parse().unwrap()
    }

    /// Its buffer settings and scan element enables.
    pub fn state(&self) -> BTreeMap<String, String> {
        state(&self.dir)
    }

    /// (bytes, FNV-1a) consumed since the last enable, read as one pair: the driver updates
    /// both under one lock, but they are two files read apart and the device may consume
    /// in between, so the count is read before and after the hash until it stays put (a
    /// device that never pauses long enough for that within 10 s fails the test).
    pub fn consumed(&self) -> (u64, u64) {
        let t0 = Instant::now();
        loop {
            let bytes = self.num("sim_consumed_bytes");
            let hash = u64::from_str_radix(&self.attr("sim_consumed_fnv1a"), 16).unwrap();
            if self.num("sim_consumed_bytes") == bytes {
                return (bytes, hash);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the consumed count never held still for one read of the hash"
            );
        }
    }

    /// Waits (at most 10 s) until the device has consumed `bytes`, then returns its hash.
    pub fn consumed_after(&self, bytes: u64) -> u64 {
        let t0 = Instant::now();
        loop {
            let (n, hash) = self.consumed();
            if n == bytes {
                return hash;
            }
            assert!(
                n < bytes,
                "the device consumed {n} bytes, more than the {bytes} pushed"
            );
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "the device consumed {n} of {bytes} bytes in 10 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = fs::write(self.dir.join("sim_paused"), "0");
        if let Some(o) = self.obj.take() {
            o.remove().unwrap();
        }
    }
}

/// Opens a cyclic output buffer of 64 scans of `chan` (buffer `index` of `dev`, a test
/// device), checks it uses `expect`, pushes one block of a ramp and checks the device
/// consumed exactly that block once and that a second push is refused. Returns the buffer,
/// still open (the device keeps replaying the block).
pub fn push_cyclic_once(
    sim: &Sim,
    dev: &Device,
    chan: &Channel,
    index: u32,
    expect: Transfer,
) -> Buffer {
    let mut buf = dev
        .buffer_builder()
        .buffer_index(index)
        .channel(chan)
        .samples(64)
        .cyclic(true)
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), expect);
    let v: Vec<i16> = (0..64).map(|i| i * 3 - 50).collect();
    chan.write(&mut buf, &v).unwrap();
    assert_eq!(buf.push().unwrap(), 64);
    // The device's totals count from the last enable.
    assert_eq!(
        sim.consumed_after(128),
        fnv1a(FNV_OFFSET, buf.data_mut()),
        "the cyclic block, consumed once"
    );
    let e = buf.push().unwrap_err();
    assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
    assert!(e.to_string().contains("cyclic"), "{e}");
    buf
}

/// On a paused test device: a capture of `voltage0` through `expect` times out after its
/// timeout, returns nothing at once in non-blocking mode, and a refill waiting without a
/// timeout is woken by `cancel()` from another thread (within 100 ms). Un-pauses the device
/// and checks a new buffer gets the pattern from scan 0; the buffer settings end as they
/// were.
pub fn check_waiting_refill(sim: &Sim, expect: Transfer) {
    let dev = sim.device();
    let chan = &self::chan(&dev, "voltage0", false);
    let before = sim.state();
    fs::write(sim.dir.join("sim_paused"), "1").unwrap();
    let mut buf = dev
        .buffer_builder()
        .channel(chan)
        .samples(64)
        .timeout(Some(Duration::from_millis(200)))
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), expect);
    let t0 = Instant::now();
    let e = buf.refill().unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(
        t0.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t0.elapsed()
    );

    // Non-blocking: nothing there, nothing waited for.
    buf.set_blocking(false).unwrap();
    assert_eq!(buf.refill().unwrap(), 0);
    buf.set_blocking(true).unwrap();

    // Cancel wakes a refill waiting without a timeout.
    buf.set_timeout(None).unwrap();
    let cancel = buf.cancel_handle();
    let waiter = std::thread::spawn(move || {
        let r = buf.refill();
        (r.map(|_| ()), Instant::now(), buf)
    });
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    cancel.cancel();
    let (r, woke, buf) = waiter.join().unwrap();
    assert!(matches!(r, Err(Error::Cancelled { .. })), "{r:?}");
    let latency = woke.saturating_duration_since(asked);
    assert!(
        latency < Duration::from_millis(100),
        "woke after {latency:?}"
    );
    drop(buf);
    assert_eq!(sim.state(), before);

    // Resumed, a new buffer captures.
    fs::write(sim.dir.join("sim_paused"), "0").unwrap();
    let mut buf = dev
        .buffer_builder()
        .channel(chan)
        .samples(64)
        .build()
        .unwrap();
    assert_eq!(buf.refill().unwrap(), 64);
    let got: Vec<i16> = chan.read(&buf).unwrap();
    let want: Vec<i16> = (0..64).map(|n| pattern(n, 0) as i16).collect();
    assert_eq!(got, want);
    buf.close().unwrap();
    assert_eq!(sim.state(), before);
}

/// Captures 64-scan blocks of `voltage0` through `expect` (5 s timeout) while the device is
/// paused and, after 300 ms, another writer disables buffer0 under the waiting refill.
/// Every refill before the abort gives a whole block; returns the error that ends them and
/// how many came first. The buffer is closed and buffer0 left disabled.
pub fn refill_until_disabled(sim: &Sim, expect: Transfer) -> (Error, usize) {
    let dev = sim.device();
    let v0 = chan(&dev, "voltage0", false);
    let mut buf = dev
        .buffer_builder()
        .channel(&v0)
        .samples(64)
        .timeout(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), expect);
    assert_eq!(buf.refill().unwrap(), 64);
    fs::write(sim.dir.join("sim_paused"), "1").unwrap();
    // Blocks already filled may still come; then the refills wait for the paused device.
    let waiter = std::thread::spawn(move || {
        let mut got = 0;
        loop {
            match buf.refill() {
                Ok(n) => {
                    assert_eq!(n, 64, "a refill gives a whole block or an error");
                    got += 1;
                }
                Err(e) => return (e, got, buf),
            }
            assert!(got < 8, "more blocks than were queued");
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    fs::write(sim.dir.join("buffer0/enable"), "0").unwrap();
    let (e, got, buf) = waiter.join().unwrap();
    drop(buf);
    assert_eq!(sim.attr("buffer0/enable"), "0");
    (e, got)
}
