//! Side by side on loopback against the real Debian `iiod` 0.24 serving the fake sysfs tree
//! (see `tests/network_harness`): context creation and buffer streaming, ferroio next to
//! libiio 0.24's tools. Root only (namespaces); prints why it is skipped otherwise.
//!
//! Every client runs inside iiod's network namespace and connects to 127.0.0.1 directly (no
//! bridge): libiio's tools through `nsenter`, our CLI the same way, our library from a
//! thread that joined the namespace. The fake ADC's FIFO is kept full by a feeder thread
//! that costs the link nothing (`splice` from a memfd).
//!
//! `cargo bench --bench network` (`FERROIO_BENCH_SCALE=0.25` for shorter stream runs).

#[path = "../tests/network_harness/mod.rs"]
mod network_harness;

use ferroio::Context;
use network_harness::RealIiod;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const URI: &str = "ip:127.0.0.1";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median wall time of a command run `n` times in the server's namespace.
fn time_tool(srv: &RealIiod, program: &str, args: &[&str], n: usize) -> Duration {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        // A plain blocking wait: `bounded` polls every 5 ms, too coarse to time with.
        let t0 = Instant::now();
        let out = srv
            .command(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("spawn");
        times.push(t0.elapsed());
        assert!(out.status.success(), "{program} {args:?}: {out:?}");
    }
    median(times)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Keeps a fake device's FIFO full (the ADC) or empty (the DAC) until dropped, at no cost to
/// the link: the FIFO is held open read-write (so a client's close is no SIGPIPE), its pipe
/// enlarged to 1 MiB, and `splice` moves pages between it and a 1 MiB memfd or `/dev/null`
/// without copying them. Both tools get the same FIFO this way, so the "device" is never
/// the limit.
struct Pump {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pump {
    const SIZE: usize = 1 << 20;

    /// Fills the FIFO with 0x5a bytes.
    fn feed(fifo: &std::path::Path) -> Pump {
        let src = rustix::fs::memfd_create("feed", rustix::fs::MemfdFlags::CLOEXEC).expect("memfd");
        let mut src = std::fs::File::from(src);
        src.write_all(&vec![0x5a; Self::SIZE]).expect("memfd write");
        Self::start(fifo, Some(src))
    }

    /// Empties the FIFO into `/dev/null`.
    fn drain(fifo: &std::path::Path) -> Pump {
        Self::start(fifo, None)
    }

    fn start(fifo: &std::path::Path, src: Option<std::fs::File>) -> Pump {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(fifo)
            .expect("open FIFO");
        let _ = rustix::pipe::fcntl_setpipe_size(&f, Self::SIZE);
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .expect("/dev/null");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut off = 0u64;
            let tick = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 50_000_000,
            };
            let (flags, dir) = match src {
                Some(_) => (rustix::event::PollFlags::OUT, "feeder"),
                None => (rustix::event::PollFlags::IN, "drain"),
            };
            while !s.load(Ordering::Relaxed) {
                let mut pfd = [rustix::event::PollFd::new(&f, flags)];
                let _ = rustix::event::poll(&mut pfd, Some(&tick));
                let len = Self::SIZE - off as usize;
                let r = match &src {
                    Some(src) => rustix::pipe::splice(
                        src,
                        Some(&mut off),
                        &f,
                        None,
                        len,
                        rustix::pipe::SpliceFlags::NONBLOCK,
                    )
                    .map(|_| off %= Self::SIZE as u64),
                    None => rustix::pipe::splice(
                        &f,
                        None,
                        &null,
                        None,
                        Self::SIZE,
                        rustix::pipe::SpliceFlags::NONBLOCK,
                    )
                    .map(|_| ()),
                };
                match r {
                    Ok(()) | Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => panic!("{dir} splice: {e}"),
                }
            }
        });
        Pump {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// CPU time (user + system, seconds) of a process, all threads: `/proc/PID/stat`.
fn cpu_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime, stime = fields 14, 15; cutime, cstime = 16, 17 (reaped children).
    let (u, s, cu, cs) = (ticks(11), ticks(12), ticks(13), ticks(14));
    if pid == "self" {
        (cu + cs) / 100.0
    } else {
        (u + s) / 100.0
    }
}

/// One timed run of a shell command in the server's namespace: wall time, and the CPU
/// seconds of the client (its process tree) and of iiod during it.
fn run_timed(srv: &RealIiod, cmd: &str) -> (Duration, f64, f64) {
    let iiod = srv.pid().to_string();
    let (c0, s0) = (cpu_of("self"), cpu_of(&iiod));
    let t0 = Instant::now();
    let out = srv
        .command("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("spawn");
    let wall = t0.elapsed();
    assert!(out.status.success(), "{cmd}: {out:?}");
    (wall, cpu_of("self") - c0, cpu_of(&iiod) - s0)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this too: keep that short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let Some(srv) = RealIiod::start_fake() else {
        return;
    };
    let ours = env!("CARGO_BIN_EXE_ferroio");
    let runs = if quick { 3 } else { 30 };

    println!("== context creation (median of {runs} runs, process wall time)");
    let base = time_tool(&srv, "true", &[], runs);
    println!(
        "nsenter + exec baseline: {:8.3} ms (included in each figure below)",
        ms(base)
    );
    let info_theirs = time_tool(&srv, "iio_info", &["-u", URI], runs);
    let info_ours = time_tool(&srv, ours, &["info", "-u", URI], runs);
    println!(
        "iio_info -u ip:        {:8.3} ms\nferroio info -u ip:    {:8.3} ms   ratio {:.2}",
        ms(info_theirs),
        ms(info_ours),
        info_ours.as_secs_f64() / info_theirs.as_secs_f64()
    );
    let attr_theirs = time_tool(&srv, "iio_attr", &["-u", URI, "-C"], runs);
    let attr_ours = time_tool(&srv, ours, &["attr", "-u", URI, "-C"], runs);
    println!(
        "iio_attr -C -u ip:     {:8.3} ms\nferroio attr -C -u ip: {:8.3} ms   ratio {:.2}",
        ms(attr_theirs),
        ms(attr_ours),
        attr_ours.as_secs_f64() / attr_theirs.as_secs_f64()
    );
    let lib = srv
        .in_netns(|| {
            let n = if quick { 5 } else { 300 };
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let t0 = Instant::now();
                let ctx = Context::from_uri(URI).unwrap();
                times.push(t0.elapsed());
                drop(ctx);
            }
            median(times)
        })
        .unwrap();
    println!("Context::from_uri (in-process, median): {:.3} ms", ms(lib));

    // Bytes per run: enough for a few tenths of a second at the faster tool's rate.
    let scale: f64 = std::env::var("FERROIO_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 0.01 } else { 1.0 });
    let runs: usize = std::env::var("FERROIO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 7 })
        .max(1);
    println!(
        "(each through nsenter -t IIOD_PID -n; MB/s: median [slowest-fastest] of {runs} \
         alternating runs;\n cpu, iiod: CPU seconds per wall second of the client and of iiod)"
    );
    let scan = 4; // voltage0 + voltage1, s12/16 each
    let feeder = Pump::feed(&srv.fake_root().join("dev/iio:device0"));
    println!("== capture: fake-adc voltage0+voltage1 ({scan}-byte scans)");
    println!("   iio_readdev -u {URI} -b BLOCK -s SCANS iio:device0 voltage0 voltage1 > /dev/null");
    println!(
        "   ferroio read -u {URI} -b BLOCK -s SCANS iio:device0 voltage0 voltage1 > /dev/null"
    );
    let rows = [
        (64usize, 8.0),
        (256, 32.0),
        (1024, 128.0),
        (4096, 512.0),
        (16384, 1024.0),
        (65536, 1024.0),
    ];
    side_by_side(&srv, runs, scale, scan, &rows, |block, scans| {
        let args = format!("-u {URI} -b {block} -s {scans} iio:device0 voltage0 voltage1");
        (
            format!("timeout 300 iio_readdev {args} > /dev/null"),
            format!("timeout 300 {ours} read {args} > /dev/null"),
        )
    });
    drop(feeder);

    let scan = 2; // fake-dac voltage0, u10/16
    let _drain = Pump::drain(&srv.fake_root().join("dev/iio:device1"));
    println!("== output: fake-dac voltage0 ({scan}-byte scans), bytes from /dev/zero");
    println!("   head -c BYTES /dev/zero | iio_writedev -u {URI} -b BLOCK -s SCANS iio:device1");
    println!("   head -c BYTES /dev/zero | ferroio write -u {URI} -b BLOCK -s SCANS iio:device1");
    let rows = [(256usize, 8.0), (4096, 64.0), (65536, 512.0)];
    side_by_side(&srv, runs, scale, scan, &rows, |block, scans| {
        let bytes = scans * scan;
        let args = format!("-u {URI} -b {block} -s {scans} iio:device1");
        (
            format!("head -c {bytes} /dev/zero | timeout 300 iio_writedev {args}"),
            format!("head -c {bytes} /dev/zero | timeout 300 {ours} write {args}"),
        )
    });
}

/// Runs libiio's and our command (from `cmds(block, scans)`) `runs` times each, alternating,
/// for each row (block size in scans, MiB per run at scale 1), and prints a table row.
fn side_by_side(
    srv: &RealIiod,
    runs: usize,
    scale: f64,
    scan: usize,
    rows: &[(usize, f64)],
    cmds: impl Fn(usize, usize) -> (String, String),
) {
    println!(
        "{:>7} {:>6} | {:>23} {:>4} {:>4} | {:>23} {:>4} {:>4} | {:>5}",
        "block", "MiB", "libiio MB/s", "cpu", "iiod", "ferroio MB/s", "cpu", "iiod", "ratio"
    );
    for &(block, mib) in rows {
        let mib = (mib * scale).max(0.25);
        let scans = ((mib * (1 << 20) as f64) as usize / scan / block).max(1) * block;
        let bytes = (scans * scan) as f64;
        let (theirs_cmd, ours_cmd) = cmds(block, scans);
        let (mut theirs, mut mine) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            theirs.push(run_timed(srv, &theirs_cmd));
            mine.push(run_timed(srv, &ours_cmd));
        }
        let rate = |d: Duration| bytes / d.as_secs_f64() / 1e6;
        // (median MB/s, cell text, client CPU, iiod CPU)
        let summary = |v: &[(Duration, f64, f64)]| {
            let wall: f64 = v.iter().map(|r| r.0.as_secs_f64()).sum();
            let client: f64 = v.iter().map(|r| r.1).sum();
            let server: f64 = v.iter().map(|r| r.2).sum();
            let walls: Vec<Duration> = v.iter().map(|r| r.0).collect();
            let (lo, hi) = (walls.iter().max().unwrap(), walls.iter().min().unwrap());
            let mid = rate(median(walls.clone()));
            let cell = format!("{mid:.1} [{:.0}-{:.0}]", rate(*lo), rate(*hi));
            (mid, cell, client / wall, server / wall)
        };
        let (t, t_cell, tc, ts) = summary(&theirs);
        let (m, m_cell, mc, ms_) = summary(&mine);
        println!(
            "{block:>7} {:>6.1} | {t_cell:>23} {tc:>4.2} {ts:>4.2} | {m_cell:>23} {mc:>4.2} {ms_:>4.2} | {:>5.2}",
            bytes / (1 << 20) as f64,
            m / t
        );
    }
}
