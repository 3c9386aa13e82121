//! Speed of `ferroio::gpio` next to the same ioctl issued raw (the floor), on gpio-sim in the
//! qemu guest of `tests/kernel/run.sh`. Prints ns per call for each pair; fails only on a gross
//! regression (more than 2x the floor), since a TCG guest is noisy. The target is 1.1x.
//!
//! "Raw" is `ferroio::gpio::uapi`: one rustix ioctl on a prepared struct, nothing else.
//! gpiochip0 has 8 lines but line 5 is a kernel hog, so "8 lines" is the 7 free ones.

use std::hint::black_box;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use ferroio::gpio::{uapi, Config, EdgeDetection, Request, Value};

const CHIP0: &str = "/dev/gpiochip0";
const LINES: [u32; 7] = [0, 1, 2, 3, 4, 6, 7];

fn require_vm() {
    assert_eq!(
        std::env::var("FERROIO_VM").as_deref(),
        Ok("1"),
        "this test needs the qemu kernel tier: tests/kernel/run.sh"
    );
}

/// Runs `f` in batches of `n` until at least `min` has passed; returns ns per call. Long
/// rounds keep the result meaningful when the guest's clock is coarse (a TCG guest may fall
/// back from the TSC to a jiffies-grade clocksource).
fn round(n: u32, min: Duration, f: &mut impl FnMut()) -> f64 {
    let t = Instant::now();
    let mut calls = 0u64;
    while calls == 0 || t.elapsed() < min {
        for _ in 0..n {
            f();
        }
        calls += u64::from(n);
    }
    t.elapsed().as_nanos() as f64 / calls as f64
}

/// Best (lowest) ns per call of `ours` and of `raw`, over rounds that alternate between the
/// two so that drift in the guest hits both alike.
fn compare(n: u32, mut ours: impl FnMut(), mut raw: impl FnMut()) -> (f64, f64) {
    let min = Duration::from_millis(60);
    round(n, min, &mut ours);
    round(n, min, &mut raw);
    let mut best = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        best.0 = best.0.min(round(n, min, &mut ours));
        best.1 = best.1.min(round(n, min, &mut raw));
    }
    best
}

/// The smallest step the monotonic clock makes, in ns.
fn clock_step_ns() -> u128 {
    let mut best = u128::MAX;
    for _ in 0..50 {
        let t = Instant::now();
        let mut d = t.elapsed();
        while d.is_zero() {
            d = t.elapsed();
        }
        best = best.min(d.as_nanos());
    }
    best
}

/// Prints one comparison; returns the ratio.
fn report(what: &str, (ours, raw): (f64, f64)) -> f64 {
    let ratio = ours / raw;
    let build = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "optimized"
    };
    println!(
        "gpio speed ({build}): {what:<18} ferroio {ours:>8.0} ns   raw {raw:>8.0} ns   {ratio:.3}x"
    );
    ratio
}

/// Only an optimized build says anything about the library's overhead; a debug build (the
/// default of `tests/kernel/run.sh`) just prints. Run the tier with
/// `CARGO_PROFILE_DEV_OPT_LEVEL=3 CARGO_PROFILE_DEV_DEBUG_ASSERTIONS=false` to measure.
fn check(ratios: &[f64]) {
    if !cfg!(debug_assertions) {
        for r in ratios {
            assert!(*r < 1.5, "ferroio costs {r:.2}x the raw call (target 1.1x)");
        }
    }
}

fn sim_pull_path(line: u32) -> std::path::PathBuf {
    for e in std::fs::read_dir("/sys/devices/platform").unwrap() {
        let p = e
            .unwrap()
            .path()
            .join(format!("gpiochip0/sim_gpio{line}/pull"));
        if p.exists() {
            return p;
        }
    }
    panic!("no gpio-sim pull file for line {line}");
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn values_and_reconfigure_cost_about_the_raw_ioctl() {
    require_vm();
    let n = 1_000;
    let mut ratios = Vec::new();

    let one = Request::builder()
        .on_chip(CHIP0)
        .with_line(2)
        .as_output(Value::Inactive)
        .request()
        .unwrap();
    let fd = one.as_fd();
    let t = compare(
        n,
        || {
            black_box(one.value(2).unwrap());
        },
        || {
            let mut v = uapi::GpioV2LineValues { bits: 0, mask: 1 };
            uapi::get_line_values_v2(fd, &mut v).unwrap();
            black_box(v.bits);
        },
    );
    ratios.push(report("get 1 line", t));
    let flip = std::cell::Cell::new(false);
    let t = compare(
        n,
        || {
            flip.set(!flip.get());
            one.set_value(2, Value::from(flip.get())).unwrap();
        },
        || {
            flip.set(!flip.get());
            let mut v = uapi::GpioV2LineValues {
                bits: u64::from(flip.get()),
                mask: 1,
            };
            uapi::set_line_values_v2(fd, &mut v).unwrap();
        },
    );
    ratios.push(report("set 1 line", t));
    drop(one);

    let many = Request::builder()
        .on_chip(CHIP0)
        .with_lines(&LINES)
        .as_output(Value::Inactive)
        .request()
        .unwrap();
    let fd = many.as_fd();
    let all = (1u64 << LINES.len()) - 1;
    let vals = std::cell::RefCell::new(many.new_values());
    vals.borrow_mut().select_all();
    let t = compare(
        n,
        || {
            let mut v = vals.borrow_mut();
            many.read_values(&mut v).unwrap();
            black_box(v.bits());
        },
        || {
            let mut v = uapi::GpioV2LineValues { bits: 0, mask: all };
            uapi::get_line_values_v2(fd, &mut v).unwrap();
            black_box(v.bits);
        },
    );
    ratios.push(report("get 7 lines", t));
    let pattern = std::cell::Cell::new(0u64);
    let t = compare(
        n,
        || {
            pattern.set(pattern.get().wrapping_add(0x55));
            let mut v = vals.borrow_mut();
            v.set_bits(pattern.get(), all);
            many.set_values(&v).unwrap();
        },
        || {
            pattern.set(pattern.get().wrapping_add(0x55));
            let mut v = uapi::GpioV2LineValues {
                bits: pattern.get() & all,
                mask: all,
            };
            uapi::set_line_values_v2(fd, &mut v).unwrap();
        },
    );
    ratios.push(report("set 7 lines", t));
    drop(many);

    let req = Request::builder()
        .on_chip(CHIP0)
        .with_line(3)
        .as_input()
        .request()
        .unwrap();
    let fd = req.as_fd();
    let as_in = Config::new().with_line(3).as_input();
    let as_out = Config::new().with_line(3).as_output(Value::Active);
    let n_cfg = n / 4;
    let out = std::cell::Cell::new(false);
    let mut raw_in = uapi::GpioV2LineConfig::zeroed();
    raw_in.flags = uapi::V2_FLAG_INPUT;
    let mut raw_out = uapi::GpioV2LineConfig::zeroed();
    raw_out.flags = uapi::V2_FLAG_OUTPUT;
    raw_out.num_attrs = 1;
    raw_out.attrs[0].attr.id = uapi::V2_ATTR_ID_OUTPUT_VALUES;
    raw_out.attrs[0].attr.value = 1;
    raw_out.attrs[0].mask = 1;
    let t = compare(
        n_cfg,
        || {
            out.set(!out.get());
            req.reconfigure(if out.get() { &as_out } else { &as_in })
                .unwrap();
        },
        || {
            out.set(!out.get());
            let mut c = if out.get() { raw_out } else { raw_in };
            uapi::set_line_config_v2(fd, &mut c).unwrap();
        },
    );
    ratios.push(report("reconfigure", t));
    check(&ratios);
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn reading_an_edge_event_costs_about_the_raw_read() {
    require_vm();
    const QUEUED: usize = 512;
    let pull = sim_pull_path(1);
    std::fs::write(&pull, "pull-down").unwrap();
    let req = Request::builder()
        .on_chip(CHIP0)
        .with_line(1)
        .with_edge_detection(EdgeDetection::Both)
        .with_event_buffer_size(QUEUED as u32)
        .request()
        .unwrap();
    // Queue QUEUED edges, time reading all but a margin of them, then drain the rest, so a
    // lost edge cannot make a timed read block.
    const TIMED: usize = QUEUED - 32;
    let fill = || {
        for i in 0..QUEUED {
            std::fs::write(&pull, if i % 2 == 0 { "pull-up" } else { "pull-down" }).unwrap();
        }
        // Edges reach the queue through irq_work.
        std::thread::sleep(Duration::from_millis(100));
    };
    let drain = || {
        while req.has_edge_event().unwrap() {
            req.read_edge_event().unwrap();
        }
    };
    let time = |f: &mut dyn FnMut()| {
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            fill();
            let t = Instant::now();
            for _ in 0..TIMED {
                f();
            }
            best = best.min(t.elapsed().as_nanos() as f64 / TIMED as f64);
            drain();
        }
        best
    };
    let ours = time(&mut || {
        black_box(req.read_edge_event().unwrap());
    });
    let fd = req.as_fd();
    let raw = time(&mut || {
        let mut buf = [0u8; 48];
        black_box(uapi::read_events(fd, &mut buf).unwrap());
    });
    let ratio = report("read 1 edge event", (ours, raw));
    // QUEUED reads take well under a millisecond: only a fine clock can time them.
    let step = clock_step_ns();
    if step > 10_000 {
        println!(
            "gpio speed: clock step {step} ns is too coarse to time single reads; not checked"
        );
    } else {
        check(&[ratio]);
    }
}
