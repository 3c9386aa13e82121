//! Buffers over libiio 1.x's binary protocol, side by side on loopback: libiio 1.x's own
//! client (`iio_rwdev`, built from `../shared/peers/libiio-1.x` by the test harness) next to
//! `ferroio read`/`ferroio write`, both against the same server: the real iiod 1.x (the
//! current snapshot's numbering), then `ferroio serve`, each serving the fake sysfs tree,
//! whose ADC FIFO is kept full (DAC FIFO kept empty) from a memfd at no cost to the link.
//! Root only; prints why it is skipped.
//!
//! `cargo bench --bench binary` (`FERROIO_BENCH_SCALE=0.25` for shorter runs,
//! `FERROIO_BENCH_RUNS=N` runs per cell, default 5).

#[path = "common/netbench.rs"]
mod netbench;
#[path = "../tests/network_harness/mod.rs"]
mod network_harness;

use netbench::{side_by_side, Pump};
use network_harness::{Libiio1, RealIiod};

const URI: &str = "ip:127.0.0.1";

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this too: keep that short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let Some(prefix) = network_harness::libiio1(Libiio1::Main) else {
        return;
    };
    let ours = env!("CARGO_BIN_EXE_ferroio");
    let rwdev = format!(
        "env LD_LIBRARY_PATH={} {}",
        prefix.join("lib").display(),
        prefix.join("bin/iio_rwdev").display()
    );
    let (scale, runs) = netbench::scale_and_runs(quick, 5);
    for server in ["iiod 1.x", "ferroio serve"] {
        let srv = match server {
            "iiod 1.x" => RealIiod::start_program(&prefix.join("sbin/iiod"), &[]),
            _ => RealIiod::start_program(std::path::Path::new(ours), &["serve", "--no-announce"]),
        };
        let Some(srv) = srv else {
            return;
        };
        println!(
            "==== through {server} (iiod 1.x: {}; each client through nsenter -t PID -n; MB/s: \
             median [slowest-fastest] of {runs} alternating runs;\n cpu, iiod: CPU seconds \
             per wall second of the client and of the server)",
            Libiio1::Main.commit()
        );
        tables(&srv, &rwdev, ours, scale, runs);
    }
}

/// Capture and output, libiio 1.x's client next to ours, against `srv`.
fn tables(srv: &RealIiod, rwdev: &str, ours: &str, scale: f64, runs: usize) {
    let scan = 4; // voltage0 + voltage1, s12/16 each
    let feeder = Pump::feed(&srv.fake_root().join("dev/iio:device0"));
    println!("== capture: fake-adc voltage0+voltage1 ({scan}-byte scans)");
    println!("   iio_rwdev -u {URI} -b BLOCK -s SCANS iio:device0 voltage0 voltage1 > /dev/null");
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
    side_by_side(srv, runs, scale, scan, &rows, |block, scans| {
        let args = format!("-u {URI} -b {block} -s {scans} iio:device0 voltage0 voltage1");
        (
            format!("timeout 300 {rwdev} {args} > /dev/null"),
            format!("timeout 300 {ours} read {args} > /dev/null"),
        )
    });
    drop(feeder);

    let scan = 2; // fake-dac voltage0, u10/16
    let _drain = Pump::drain(&srv.fake_root().join("dev/iio:device1"));
    println!("== output: fake-dac voltage0 ({scan}-byte scans), bytes from /dev/zero");
    println!("   head -c BYTES /dev/zero | iio_rwdev -w -u {URI} -b BLOCK -s SCANS iio:device1");
    println!("   head -c BYTES /dev/zero | ferroio write -u {URI} -b BLOCK -s SCANS iio:device1");
    let rows = [(256usize, 8.0), (4096, 64.0), (65536, 512.0)];
    side_by_side(srv, runs, scale, scan, &rows, |block, scans| {
        let bytes = scans * scan;
        let args = format!("-u {URI} -b {block} -s {scans} iio:device1");
        (
            format!("head -c {bytes} /dev/zero | timeout 300 {rwdev} -w {args}"),
            format!("head -c {bytes} /dev/zero | timeout 300 {ours} write {args}"),
        )
    });
}
