//! Side by side on loopback against the real Debian `iiod` 0.24 serving the fake sysfs tree
//! (see `tests/network_harness`): context creation and buffer streaming, ferroio next to
//! libiio 0.24's tools. Root only (namespaces); prints why it is skipped otherwise.
//!
//! Every client runs inside iiod's network namespace and connects to 127.0.0.1 directly (no
//! bridge): libiio's tools through `nsenter`, our CLI the same way, our library from a
//! thread that joined the namespace. The fake ADC's FIFO is kept full by a writer thread.
//!
//! `cargo bench --bench network` (`FERROIO_BENCH_MB=64` for a shorter stream run).

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

/// Keeps the fake ADC FIFO full of bytes until dropped.
struct Feeder {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Feeder {
    fn start(fifo: &std::path::Path) -> Feeder {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(fifo)
            .expect("open FIFO");
        // A bigger pipe: fewer wakeups on both sides.
        let _ = rustix::pipe::fcntl_setpipe_size(&f, 1 << 20);
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut f = f;
            let chunk = vec![0x5au8; 256 * 1024];
            while !s.load(Ordering::Relaxed) {
                match f.write(&chunk) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_micros(200))
                    }
                    Err(_) => break,
                }
            }
        });
        Feeder {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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

    let mb: usize = std::env::var("FERROIO_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 4 } else { 256 });
    let _feeder = Feeder::start(&srv.fake_root().join("dev/iio:device0"));
    let scan = 4; // voltage0 + voltage1, s12/16 each
    println!("== stream: fake-adc voltage0+voltage1 ({scan}-byte scans), {mb} MiB per run");
    for block in [4096usize, 65536] {
        let scans = mb * (1 << 20) / scan;
        let samples = (scans / block).max(1) * block;
        let bytes = samples * scan;
        let t0 = Instant::now();
        let out = srv
            .command("sh")
            .arg("-c")
            .arg(format!(
                "timeout 300 iio_readdev -u {URI} -b {block} -s {samples} iio:device0 voltage0 voltage1 > /dev/null"
            ))
            .output()
            .expect("spawn");
        let theirs = t0.elapsed();
        assert!(out.status.success(), "{out:?}");
        let ours_t = srv
            .in_netns(|| {
                let t0 = Instant::now();
                let ctx = Context::from_uri(URI).unwrap();
                let dev = ctx.get_device("iio:device0").unwrap();
                let mut buf = dev
                    .buffer_builder()
                    .channel_named("voltage0", false)
                    .channel_named("voltage1", false)
                    .samples(block)
                    .build()
                    .unwrap();
                let mut got = 0;
                while got < samples {
                    got += buf.refill().unwrap();
                }
                drop(buf);
                t0.elapsed()
            })
            .unwrap();
        let rate = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
        println!(
            "block {block:6} scans: iio_readdev {:8.1} MB/s   ferroio {:8.1} MB/s   ratio {:.2}",
            rate(theirs),
            rate(ours_t),
            rate(ours_t) / rate(theirs)
        );
    }
}
