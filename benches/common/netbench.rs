//! What the network benches share: a pump that keeps a fake device's FIFO full (or empty)
//! at no cost to the link, CPU accounting of processes, and timed runs of a client in a
//! server's namespace.

#![allow(dead_code)]

use crate::network_harness::RealIiod;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The median of some durations.
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Milliseconds of a duration.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Keeps a fake device's FIFO full (the ADC) or empty (the DAC) until dropped, at no cost to
/// the link: the FIFO is held open read-write (so a client's close is no SIGPIPE), its pipe
/// enlarged to 1 MiB, and `splice` moves pages between it and a 1 MiB memfd or `/dev/null`
/// without copying them. Both tools get the same FIFO this way, so the "device" is never
/// the limit.
pub struct Pump {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pump {
    const SIZE: usize = 1 << 20;

    /// Fills the FIFO with 0x5a bytes.
    pub fn feed(fifo: &std::path::Path) -> Pump {
        let src = rustix::fs::memfd_create("feed", rustix::fs::MemfdFlags::CLOEXEC).expect("memfd");
        let mut src = std::fs::File::from(src);
        src.write_all(&vec![0x5a; Self::SIZE]).expect("memfd write");
        Self::start(fifo, Some(src))
    }

    /// Empties the FIFO into `/dev/null`.
    pub fn drain(fifo: &std::path::Path) -> Pump {
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
pub fn cpu_of(pid: &str) -> f64 {
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
pub fn run_timed(srv: &RealIiod, cmd: &str) -> (Duration, f64, f64) {
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

/// The bench's size and repetitions: `FERROIO_BENCH_SCALE` (a factor of each row's bytes;
/// default 1, or 0.01 for the quick pass of `cargo test --benches`) and
/// `FERROIO_BENCH_RUNS` (default `runs`, or 1 for the quick pass).
pub fn scale_and_runs(quick: bool, runs: usize) -> (f64, usize) {
    let scale = std::env::var("FERROIO_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 0.01 } else { 1.0 });
    let runs = std::env::var("FERROIO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { runs })
        .max(1);
    (scale, runs)
}

/// Runs libiio's and our command (from `cmds(block, scans)`) `runs` times each, alternating,
/// for each row (block size in scans, MiB per run at scale 1), and prints a table row.
pub fn side_by_side(
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
