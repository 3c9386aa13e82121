//! Benchmarks of the XML context description: parsing a large real description
//! (`../shared/contexts/pyadi-iio__fmcomms5.xml`, two AD9361 with 370 debug attributes) into
//! a context, and writing it back as libiio 0.24 does. Without the shared corpus a generated
//! description of similar size is used.
//!
//! `cargo bench --bench xml`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferroio::Context;
use std::fmt::Write as _;
use std::path::Path;

/// The corpus file, or a generated context of about the same size.
fn description() -> (String, String) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/contexts/pyadi-iio__fmcomms5.xml");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return ("fmcomms5".into(), text);
    }
    let mut xml = String::from(r#"<?xml version="1.0" encoding="utf-8"?><context name="local">"#);
    for d in 0..9 {
        let _ = write!(xml, r#"<device id="iio:device{d}" name="dev{d}">"#);
        for c in 0..24 {
            let _ = write!(xml, r#"<channel id="voltage{c}" type="input">"#);
            if c < 8 {
                let _ = write!(
                    xml,
                    r#"<scan-element index="{c}" format="le:s12/16&gt;&gt;4" scale="0.250000"/>"#
                );
            }
            for a in [
                "raw",
                "scale",
                "offset",
                "calibbias",
                "hardwaregain",
                "rssi",
            ] {
                let _ = write!(
                    xml,
                    r#"<attribute name="{a}" filename="in_voltage{c}_{a}"/>"#
                );
            }
            xml.push_str("</channel>");
        }
        for a in 0..40 {
            let _ = write!(xml, r#"<debug-attribute name="debug_{a}"/>"#);
        }
        xml.push_str("</device>");
    }
    xml.push_str("</context>");
    ("generated".into(), xml)
}

fn xml(c: &mut Criterion) {
    let (name, text) = description();
    let ctx = Context::from_xml_str(&text).expect("the description parses");
    let written = ctx.to_xml();

    let mut group = c.benchmark_group("xml");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function(format!("parse {name}"), |b| {
        b.iter(|| Context::from_xml_str(black_box(&text)).unwrap())
    });
    group.throughput(Throughput::Bytes(written.len() as u64));
    group.bench_function(format!("write {name}"), |b| {
        b.iter(|| black_box(&ctx).to_xml())
    });
    group.bench_function(format!("parse what we wrote of {name}"), |b| {
        b.iter(|| Context::from_xml_str(black_box(&written)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, xml);
criterion_main!(benches);
