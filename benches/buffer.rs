//! Buffer benchmarks: demux + convert throughput next to a memcpy of the same bytes in the
//! same run, and capture throughput from a FIFO fed as fast as a thread can write.
//!
//! Throughput is counted in bytes of scan data (the block as the kernel delivers it).
//! Layouts: 8 × `le:s16/16` (16-byte scans), and 4 × `le:s24/32>>8` + a `le:s64/64`
//! timestamp (24-byte scans).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferroio::buffer::demux::{convert_into, demux_into, read_into};
use ferroio::buffer::{ChannelIter, ConvertedIter, ElementLayout, Samples};
use ferroio::{Context, DataFormat};
use std::fs;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Scans per block: 4096 (64-96 KiB: the block stays in L2, as a refilled block does when
/// it is processed right away) and 4 Mi (64-96 MiB, twice the largest last-level caches:
/// read from and written to memory, memcpy included).
const SIZES: [usize; 2] = [4096, 1 << 22];

fn layout(formats: &[&str]) -> (Vec<ElementLayout>, usize) {
    let mut off = 0usize;
    let mut largest = 0usize;
    let mut els = Vec::new();
    for (i, f) in formats.iter().enumerate() {
        let format = DataFormat::parse(f).unwrap();
        let size = format.sample_bytes();
        off = off.div_ceil(size) * size;
        els.push(ElementLayout {
            channel: i,
            scan_index: i as u32,
            offset: off,
            format,
        });
        off += size;
        largest = largest.max(size);
    }
    (els, off.div_ceil(largest) * largest)
}

fn block(bytes: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn demux(c: &mut Criterion) {
    let cases: [(&str, Vec<&str>); 2] = [
        ("8xs16", vec!["le:s16/16>>0"; 8]),
        (
            "4xs24in32+ts",
            vec![
                "le:s24/32>>8",
                "le:s24/32>>8",
                "le:s24/32>>8",
                "le:s24/32>>8",
                "le:s64/64>>0",
            ],
        ),
    ];
    for (name, formats) in cases {
        for scans in SIZES {
            demux_case(c, name, &formats, scans);
        }
    }
}

fn demux_case(c: &mut Criterion, name: &str, formats: &[&str], scans: usize) {
    {
        #[allow(non_snake_case)]
        let SCANS = scans;
        let (els, step) = layout(formats);
        let src = block(SCANS * step);
        let mut g = c.benchmark_group(format!("demux/{name}/{SCANS}"));
        if SCANS > 4096 {
            g.sample_size(10);
        }
        g.throughput(Throughput::Bytes(src.len() as u64));
        let mut dst = vec![0u8; src.len()];
        g.bench_function("memcpy", |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&src));
                black_box(&dst);
            })
        });
        // All elements in one pass, each to its storage-width host integer (i16, i32, i64).
        let mut natural: Vec<Samples> =
            els.iter().map(|e| Samples::for_element(e, SCANS)).collect();
        g.bench_function("demux_into (whole block, i16/i32/i64)", |b| {
            b.iter(|| {
                demux_into(black_box(&src), step, &els, &mut natural).unwrap();
                black_box(&natural);
            })
        });
        // The same outputs, one channel per call.
        g.bench_function("read_into (per channel, i16/i32/i64)", |b| {
            b.iter(|| {
                for (e, o) in els.iter().zip(natural.iter_mut()) {
                    match o {
                        Samples::I16(o) => read_into(black_box(&src), step, e, o),
                        Samples::I32(o) => read_into(black_box(&src), step, e, o),
                        Samples::I64(o) => read_into(black_box(&src), step, e, o),
                        _ => unreachable!(),
                    }
                    .unwrap();
                }
                black_box(&natural);
            })
        });
        // One f64 (or i64 for the timestamp) per value: the physical-units convenience path.
        let mut out = vec![vec![0f64; SCANS]; els.len()];
        let mut ts = vec![0i64; SCANS];
        g.bench_function("convert_into (per channel, f64)", |b| {
            b.iter(|| {
                for (e, o) in els.iter().zip(out.iter_mut()) {
                    if e.format.length == 64 {
                        read_into(black_box(&src), step, e, &mut ts).unwrap();
                    } else {
                        convert_into(black_box(&src), step, e, 0.5, 1.0, o);
                    }
                }
                black_box(&out);
            })
        });
        g.bench_function("ConvertedIter (iterator, f64)", |b| {
            b.iter(|| {
                for (e, o) in els.iter().zip(out.iter_mut()) {
                    let it =
                        ConvertedIter::new(ChannelIter::new(black_box(&src), step, e), 0.5, 1.0);
                    for (d, v) in o.iter_mut().zip(it) {
                        *d = v;
                    }
                }
                black_box(&out);
            })
        });
        g.finish();
    }
}

fn mkfifo(path: &std::path::Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// A device with 8 × le:s16 scan elements and a FIFO as its node.
fn fifo_device() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dev = root.path().join("bus/iio/devices/iio:device0");
    fs::create_dir_all(dev.join("buffer")).unwrap();
    fs::create_dir_all(dev.join("scan_elements")).unwrap();
    fs::write(dev.join("name"), "bench\n").unwrap();
    for (f, v) in [("enable", "0"), ("length", "0"), ("watermark", "1")] {
        fs::write(dev.join("buffer").join(f), format!("{v}\n")).unwrap();
    }
    for i in 0..8 {
        let se = dev.join("scan_elements");
        fs::write(se.join(format!("in_voltage{i}_en")), "0\n").unwrap();
        fs::write(se.join(format!("in_voltage{i}_index")), format!("{i}\n")).unwrap();
        fs::write(se.join(format!("in_voltage{i}_type")), "le:s16/16>>0\n").unwrap();
        fs::write(dev.join(format!("in_voltage{i}_raw")), "0\n").unwrap();
    }
    fs::create_dir_all(root.path().join("dev")).unwrap();
    mkfifo(&root.path().join("dev/iio:device0"));
    root
}

fn fifo_read(c: &mut Criterion) {
    let mut g = c.benchmark_group("fifo_read");
    for samples in [256usize, 4096] {
        let root = fifo_device();
        let ctx = Context::from_uri(&format!("local:{}", root.path().display())).unwrap();
        let dev = ctx.get_device("bench").unwrap();
        let mut buf = dev
            .buffer_builder()
            .all_channels(false)
            .samples(samples)
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            let fifo = root.path().join("dev/iio:device0");
            std::thread::spawn(move || {
                let mut w = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
                // a 1 MiB pipe instead of 64 KiB, as a DMA-backed device would have
                let _ = rustix::pipe::fcntl_setpipe_size(&w, 1 << 20);
                let chunk = block(1 << 16);
                while !stop.load(Ordering::Relaxed) {
                    if w.write_all(&chunk).is_err() {
                        break;
                    }
                }
            })
        };
        g.throughput(Throughput::Bytes((samples * buf.scan_bytes()) as u64));
        g.bench_with_input(BenchmarkId::new("refill", samples), &samples, |b, _| {
            b.iter(|| {
                let n = buf.refill().unwrap();
                black_box(buf.data());
                n
            })
        });
        stop.store(true, Ordering::Relaxed);
        drop(buf); // closes the reading end: the writer gets EPIPE and ends
        writer.join().unwrap();
    }
    g.finish();
}

criterion_group!(benches, demux, fifo_read);
criterion_main!(benches);
