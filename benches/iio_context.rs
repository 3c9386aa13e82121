//! Benchmarks of the context snapshot: scanning the real-kernel fixture tree with the local
//! backend, and data-format parsing and raw-to-value conversion.
//!
//! `cargo bench --bench iio_context`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferroio::{Context, DataFormat};
use std::path::Path;

fn scan(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iio-dummy-6.1");
    let uri = format!("local:{}", root.display());
    c.bench_function("scan local:fixtures/iio-dummy-6.1", |b| {
        b.iter(|| Context::from_uri(black_box(&uri)).unwrap())
    });
}

fn formats(c: &mut Criterion) {
    let texts = [
        "le:s12/16>>4",
        "be:u24/32>>8",
        "le:s64/64>>0",
        "le:s16/16X4>>0",
    ];
    c.bench_function("parse 4 data formats", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(DataFormat::parse(black_box(t)).unwrap());
            }
        })
    });

    // 4096 samples of each format, converted to i64 and to physical units.
    let n = 4096;
    let mut group = c.benchmark_group("convert");
    for text in texts {
        let fmt = DataFormat::parse(text).unwrap();
        let step = fmt.value_bytes();
        let bytes: Vec<u8> = (0..n * step).map(|i| (i * 37 % 251) as u8).collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("{text} raw"), |b| {
            b.iter(|| {
                let mut sum = 0i64;
                for chunk in bytes.chunks_exact(step) {
                    sum = sum.wrapping_add(fmt.extract_i64(chunk));
                }
                black_box(sum)
            })
        });
        group.bench_function(format!("{text} physical"), |b| {
            b.iter(|| {
                let mut sum = 0f64;
                for chunk in bytes.chunks_exact(step) {
                    sum += DataFormat::to_physical(fmt.extract_i64(chunk), 0.001333, 7.0);
                }
                black_box(sum)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, scan, formats);
criterion_main!(benches);
