//! `ferroio serve` next to Debian's `iiod` 0.24, one after the other in one run on this
//! machine, each serving the fake sysfs tree in its own namespace (see
//! `tests/network_harness`) with the fake ADC's FIFO kept full from a memfd (the device is
//! never the limit). Each server is read by libiio's `iio_readdev` and by `ferroio read`, for
//! blocks of 64 to 65536 scans, and the server's CPU time is counted per gigabyte moved.
//! Root only; prints why it is skipped otherwise.
//!
//! `cargo bench --bench serve` (`FERROIO_BENCH_SCALE=0.25` for shorter runs,
//! `FERROIO_BENCH_RUNS=N` runs per cell, default 5).

#[path = "common/netbench.rs"]
mod netbench;
#[path = "../tests/network_harness/mod.rs"]
mod network_harness;

use netbench::{median, run_timed, Pump};
use network_harness::{Peer, PEERS};
use std::collections::BTreeMap;
use std::time::Duration;

const URI: &str = "ip:127.0.0.1";

/// One cell: median MB/s over the runs, and the server's CPU seconds and bytes in total.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    mbps: f64,
    server_cpu: f64,
    bytes: f64,
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this too: keep that short.
    let quick = !std::env::args().any(|a| a == "--bench");
    if let Some(why) = network_harness::skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let ours = env!("CARGO_BIN_EXE_ferroio");
    let (scale, runs) = netbench::scale_and_runs(quick, 5);
    // Block size in scans, MiB per run at scale 1.
    let rows = [
        (64usize, 16.0),
        (256, 64.0),
        (1024, 256.0),
        (4096, 512.0),
        (16384, 1024.0),
        (65536, 1024.0),
    ];
    let scan = 4; // fake-adc voltage0 + voltage1, s12/16 each
    let clients = ["iio_readdev", "ferroio read"];
    let mut cells: BTreeMap<(usize, &str, &str), Cell> = BTreeMap::new();
    for peer in PEERS {
        let Some(srv) = peer.start_fake() else {
            return;
        };
        let server = match peer {
            Peer::Iiod => "iiod",
            Peer::Ferroio => "ferroio serve",
        };
        let _feed = Pump::feed(&srv.fake_root().join("dev/iio:device0"));
        for &(block, mib) in &rows {
            let mib = (mib * scale).max(0.25);
            let scans = ((mib * (1 << 20) as f64) as usize / scan / block).max(1) * block;
            let bytes = (scans * scan) as f64;
            let args = format!("-u {URI} -b {block} -s {scans} iio:device0 voltage0 voltage1");
            let cmds = [
                format!("timeout 600 iio_readdev {args} > /dev/null"),
                format!("timeout 600 {ours} read {args} > /dev/null"),
            ];
            let mut results: [Vec<(Duration, f64, f64)>; 2] = [Vec::new(), Vec::new()];
            for _ in 0..runs {
                for (i, cmd) in cmds.iter().enumerate() {
                    results[i].push(run_timed(&srv, cmd));
                }
            }
            for (i, r) in results.iter().enumerate() {
                let walls: Vec<Duration> = r.iter().map(|x| x.0).collect();
                cells.insert(
                    (block, clients[i], server),
                    Cell {
                        mbps: bytes / median(walls).as_secs_f64() / 1e6,
                        server_cpu: r.iter().map(|x| x.2).sum(),
                        bytes: bytes * r.len() as f64,
                    },
                );
            }
        }
    }
    println!(
        "== capture through each server: fake-adc voltage0+voltage1 ({scan}-byte scans), \
         median of {runs} runs\n   CLIENT -u {URI} -b BLOCK -s SCANS iio:device0 voltage0 voltage1 \
         > /dev/null\n   (MB/s; server CPU in seconds per GB moved)"
    );
    println!(
        "| block | iio_readdev: iiod | iio_readdev: ferroio serve | ferroio read: iiod | \
         ferroio read: ferroio serve | ferroio+serve / libiio+iiod | server CPU s/GB: iiod | \
         ferroio serve | ratio |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &(block, _) in &rows {
        let c = |client: &str, server: &str| cells[&(block, client, server)];
        let cpu_per_gb = |server: &str| {
            let (cpu, bytes) = clients.iter().fold((0.0, 0.0), |(a, b), cl| {
                let x = c(cl, server);
                (a + x.server_cpu, b + x.bytes)
            });
            cpu / bytes * 1e9
        };
        let (ri, rf) = (c("iio_readdev", "iiod"), c("iio_readdev", "ferroio serve"));
        let (fi, ff) = (
            c("ferroio read", "iiod"),
            c("ferroio read", "ferroio serve"),
        );
        let (ci, cf) = (cpu_per_gb("iiod"), cpu_per_gb("ferroio serve"));
        println!(
            "| {block} | {:.1} | {:.1} ({:.2}×) | {:.1} | {:.1} ({:.2}×) | {:.2}× | {ci:.2} | {cf:.2} | {:.2} |",
            ri.mbps,
            rf.mbps,
            rf.mbps / ri.mbps,
            fi.mbps,
            ff.mbps,
            ff.mbps / fi.mbps,
            ff.mbps / ri.mbps,
            cf / ci
        );
    }
}
