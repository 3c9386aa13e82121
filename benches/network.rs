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

#[path = "common/netbench.rs"]
mod netbench;
#[path = "../tests/network_harness/mod.rs"]
mod network_harness;

use ferroio::Context;
use netbench::{median, ms, side_by_side, Pump};
use network_harness::RealIiod;
use std::time::{Duration, Instant};

const URI: &str = "ip:127.0.0.1";

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
    let (scale, runs) = netbench::scale_and_runs(quick, 7);
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
