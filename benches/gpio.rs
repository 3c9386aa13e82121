//! Criterion benchmarks of `ferroio::gpio` next to the raw ioctl (`ferroio::gpio::uapi`), for a
//! machine with a free GPIO chip (gpio-sim works): `FERROIO_BENCH_GPIOCHIP=/dev/gpiochipN
//! FERROIO_BENCH_LINES=0,1,2 cargo bench --bench gpio`. Without the variable it measures
//! nothing and says so. "reconfigure" switches the first line between input and output-high, as
//! a bidirectional line does. The qemu tier runs the same comparison as
//! `tests/vm_gpio_speed.rs`.

use std::hint::black_box;
use std::os::fd::AsFd;

use criterion::{criterion_group, criterion_main, Criterion};
use ferroio::gpio::{uapi, Config, Request, Value};

fn setup() -> Option<(String, Vec<u32>)> {
    let chip = std::env::var("FERROIO_BENCH_GPIOCHIP").ok()?;
    let lines = std::env::var("FERROIO_BENCH_LINES")
        .unwrap_or_else(|_| "0".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some((chip, lines))
}

fn values(c: &mut Criterion) {
    let Some((chip, lines)) = setup() else {
        eprintln!("gpio bench: set FERROIO_BENCH_GPIOCHIP (and FERROIO_BENCH_LINES) to run");
        return;
    };
    let one = Request::builder()
        .on_chip(&chip)
        .with_line(lines[0])
        .as_output(Value::Inactive)
        .request()
        .expect("request one line");
    let fd = one.as_fd();
    c.bench_function("get 1 line/ferroio", |b| {
        b.iter(|| black_box(one.value(lines[0]).unwrap()))
    });
    c.bench_function("get 1 line/raw ioctl", |b| {
        b.iter(|| {
            let mut v = uapi::GpioV2LineValues { bits: 0, mask: 1 };
            uapi::get_line_values_v2(fd, &mut v).unwrap();
            black_box(v.bits)
        })
    });
    c.bench_function("set 1 line/ferroio", |b| {
        b.iter(|| one.set_value(lines[0], Value::Active).unwrap())
    });
    c.bench_function("set 1 line/raw ioctl", |b| {
        b.iter(|| {
            let mut v = uapi::GpioV2LineValues { bits: 1, mask: 1 };
            uapi::set_line_values_v2(fd, &mut v).unwrap()
        })
    });
    drop(one);

    let many = Request::builder()
        .on_chip(&chip)
        .with_lines(&lines)
        .as_output(Value::Inactive)
        .request()
        .expect("request the lines");
    let fd = many.as_fd();
    let all = if lines.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << lines.len()) - 1
    };
    let mut vals = many.new_values();
    vals.select_all();
    c.bench_function("get n lines/ferroio", |b| {
        b.iter(|| many.read_values(&mut vals).unwrap())
    });
    c.bench_function("get n lines/raw ioctl", |b| {
        b.iter(|| {
            let mut v = uapi::GpioV2LineValues { bits: 0, mask: all };
            uapi::get_line_values_v2(fd, &mut v).unwrap();
            black_box(v.bits)
        })
    });
    vals.set_bits(0x55, all);
    c.bench_function("set n lines/ferroio", |b| {
        b.iter(|| many.set_values(&vals).unwrap())
    });
    c.bench_function("set n lines/raw ioctl", |b| {
        b.iter(|| {
            let mut v = uapi::GpioV2LineValues {
                bits: 0x55 & all,
                mask: all,
            };
            uapi::set_line_values_v2(fd, &mut v).unwrap()
        })
    });
    drop(many);

    let req = Request::builder()
        .on_chip(&chip)
        .with_line(lines[0])
        .as_input()
        .request()
        .expect("request one line");
    let fd = req.as_fd();
    let as_in = Config::new().with_line(lines[0]).as_input();
    let as_out = Config::new().with_line(lines[0]).as_output(Value::Active);
    let mut out = false;
    c.bench_function("reconfigure/ferroio", |b| {
        b.iter(|| {
            out = !out;
            req.reconfigure(if out { &as_out } else { &as_in }).unwrap()
        })
    });
    let mut raw_in = uapi::GpioV2LineConfig::zeroed();
    raw_in.flags = uapi::V2_FLAG_INPUT;
    let mut raw_out = uapi::GpioV2LineConfig::zeroed();
    raw_out.flags = uapi::V2_FLAG_OUTPUT;
    raw_out.num_attrs = 1;
    raw_out.attrs[0].attr.id = uapi::V2_ATTR_ID_OUTPUT_VALUES;
    raw_out.attrs[0].attr.value = 1;
    raw_out.attrs[0].mask = 1;
    c.bench_function("reconfigure/raw ioctl", |b| {
        b.iter(|| {
            out = !out;
            let mut k = if out { raw_out } else { raw_in };
            uapi::set_line_config_v2(fd, &mut k).unwrap()
        })
    });
}

criterion_group!(benches, values);
criterion_main!(benches);
