//! Speed of `ferroio::gpio` next to the same ioctl or `read` issued raw (the floor), on gpio-sim
//! in the qemu guest of `tests/kernel/run.sh`. The target (issue 4) is 1.1x the raw call.
//!
//! "Raw" is `ferroio::gpio::uapi`: one rustix call on a prepared struct, nothing else.
//! gpiochip0 has 8 lines but line 5 is a kernel hog, so "8 lines" is the 7 free ones.
//!
//! How it measures, so that a noisy TCG guest on a busy host still gives a verdict:
//! - ferroio and raw run in interleaved rounds (the order flips every round), so drift of the
//!   host's load hits both alike; each round gives one ratio, and the verdict is the **median
//!   of the per-round ratios** (the quartiles are printed next to it).
//! - Both sides run as loops with an opaque trip count: an unrolled loop of syscalls runs up to
//!   twice as slow under TCG as a rolled one, so code shape alone would decide the verdict.
//! - The clock is `CLOCK_MONOTONIC` (`Instant`). A guest without a usable TSC tells time in
//!   jiffies (4 ms steps); then rounds last at least 25 clock steps and start on a tick, so a
//!   step is a small part of a round, and the event reads, which cannot be batched that long
//!   (the kernel queues at most 1024), are timed with the thread's CPU clock if it is finer
//!   (sched_clock), and otherwise not at all. The kernel's words about its TSC are printed
//!   then.
//!
//! Figures are printed always (`-- --nocapture` shows them on success). The 1.1x target is
//! asserted only in optimized builds, which `tests/kernel/run.sh --optimized --test
//! gpio_speed -- --nocapture` makes; a debug build says nothing about the library's cost.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use ferroio::gpio::{uapi, Config, EdgeDetection, Request, Value};

use crate::vm;
use vm::require_vm;

const CHIP0: &str = "/dev/gpiochip0";
const LINES: [u32; 7] = [0, 1, 2, 3, 4, 6, 7];
/// The target: ferroio at most this many times the raw call.
const TARGET: f64 = 1.1;
/// Interleaved rounds per comparison (odd, so the median is one of them).
const ROUNDS: usize = 15;

fn optimized() -> bool {
    !cfg!(debug_assertions)
}

/// A clock and how finely it ticks.
#[derive(Clone, Copy)]
struct Clock {
    name: &'static str,
    now: fn() -> Duration,
    step: Duration,
}

impl Clock {
    fn monotonic() -> Clock {
        fn now() -> Duration {
            // Instant has no epoch: measure from the first use.
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            START.get_or_init(Instant::now).elapsed()
        }
        Clock::new("CLOCK_MONOTONIC", now)
    }

    fn thread_cpu() -> Clock {
        fn now() -> Duration {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
            Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
        }
        Clock::new("CLOCK_THREAD_CPUTIME_ID", now)
    }

    fn new(name: &'static str, now: fn() -> Duration) -> Clock {
        // The smallest step seen over a few tries.
        let mut step = Duration::MAX;
        for _ in 0..20 {
            let t = now();
            let mut d = now();
            while d == t {
                d = now();
            }
            step = step.min(d - t);
        }
        Clock { name, now, step }
    }

    fn is_fine(&self) -> bool {
        self.step <= Duration::from_micros(1)
    }

    /// Waits for the clock to tick, so that a coarse clock's first reading is exact.
    fn align(&self) -> Duration {
        let t = (self.now)();
        if self.is_fine() {
            return t;
        }
        loop {
            let u = (self.now)();
            if u != t {
                return u;
            }
        }
    }
}

fn clocksource() -> String {
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Median and quartiles of `v`.
fn quartiles(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    (at(0.25), at(0.5), at(0.75))
}

/// The outcome of one comparison.
struct Figures {
    what: &'static str,
    ours_ns: f64,
    raw_ns: f64,
    ratio: (f64, f64, f64),
    rounds: usize,
}

impl Figures {
    fn from_rounds(what: &'static str, ours: &[f64], raw: &[f64]) -> Figures {
        let ratios: Vec<f64> = ours.iter().zip(raw).map(|(o, r)| o / r).collect();
        Figures {
            what,
            ours_ns: quartiles(ours).1,
            raw_ns: quartiles(raw).1,
            ratio: quartiles(&ratios),
            rounds: ratios.len(),
        }
    }

    fn print(&self) {
        let (q1, median, q3) = self.ratio;
        println!(
            "gpio speed: {:<18} ferroio {:>7.0} ns   raw {:>7.0} ns   ratio {median:.3}x \
             (quartiles {q1:.3}-{q3:.3}, {} rounds)",
            self.what, self.ours_ns, self.raw_ns, self.rounds
        );
    }
}

/// Prints how the figures are made; when the guest tells time in jiffies, also why, in the
/// kernel's words.
fn header(clock: &Clock, monotonic: &Clock) {
    if !monotonic.is_fine() {
        if let Ok(out) = std::process::Command::new("dmesg").output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if line.contains("tsc:") || line.contains("clocksource:") {
                    println!("gpio speed: kernel: {line}");
                }
            }
        }
    }
    println!(
        "gpio speed: {} build; clocksource {}; timed with {} (step {} ns); ns per call are \
         medians over rounds, the ratio is the median of the per-round ratios",
        if optimized() { "optimized" } else { "debug" },
        clocksource(),
        clock.name,
        clock.step.as_nanos()
    );
}

/// Fails if a median ratio misses the target in an optimized build. Medians of interleaved
/// rounds already cancel the guest's noise; a debug build is not checked.
fn check(figures: &[Figures]) {
    if !optimized() {
        println!("gpio speed: debug build, the {TARGET}x target is not checked");
        return;
    }
    let missed: Vec<String> = figures
        .iter()
        .filter(|f| f.ratio.1 > TARGET)
        .map(|f| format!("{} {:.3}x", f.what, f.ratio.1))
        .collect();
    assert!(
        missed.is_empty(),
        "ferroio misses the {TARGET}x target: {}",
        missed.join(", ")
    );
}

/// Times ferroio and raw calls of one operation in interleaved rounds.
struct Bench {
    clock: Clock,
    round: Duration,
}

impl Bench {
    fn new(clock: Clock) -> Bench {
        // 10 ms, or 25 steps of a coarse clock (then a step is at most 4% of a round).
        let round = Duration::from_millis(10).max(clock.step * 25);
        Bench { clock, round }
    }

    /// ns per call of `f`, over batches of `n` calls until a round has passed.
    fn round(&self, n: u32, f: &mut impl FnMut()) -> f64 {
        let start = self.clock.align();
        let mut calls = 0u64;
        loop {
            // An opaque count: the compiler must not unroll one side's loop and not the
            // other's (code shape alone moves an emulated CPU's timings by tens of percent).
            for _ in 0..black_box(n) {
                f();
            }
            calls += u64::from(n);
            let elapsed = (self.clock.now)() - start;
            if elapsed >= self.round {
                return elapsed.as_nanos() as f64 / calls as f64;
            }
        }
    }

    fn compare(
        &self,
        what: &'static str,
        n: u32,
        mut ours: impl FnMut(),
        mut raw: impl FnMut(),
    ) -> Figures {
        // Warm up both (code, caches, the kernel's paths).
        self.round(n, &mut ours);
        self.round(n, &mut raw);
        let (mut o, mut r) = (Vec::new(), Vec::new());
        for i in 0..ROUNDS {
            if i % 2 == 0 {
                o.push(self.round(n, &mut ours));
                r.push(self.round(n, &mut raw));
            } else {
                r.push(self.round(n, &mut raw));
                o.push(self.round(n, &mut ours));
            }
        }
        let f = Figures::from_rounds(what, &o, &r);
        f.print();
        f
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
    let clock = Clock::monotonic();
    header(&clock, &clock);
    let bench = Bench::new(clock);
    let n = 32;
    let mut figures = Vec::new();

    let one = Request::builder()
        .on_chip(CHIP0)
        .with_line(2)
        .as_output(Value::Inactive)
        .request()
        .unwrap();
    let fd = one.as_fd();
    figures.push(bench.compare(
        "get 1 line",
        n,
        || {
            black_box(one.value(2).unwrap());
        },
        || {
            let mut v = uapi::GpioV2LineValues { bits: 0, mask: 1 };
            uapi::get_line_values_v2(fd, &mut v).unwrap();
            black_box(v.bits);
        },
    ));
    let flip = Cell::new(false);
    figures.push(bench.compare(
        "set 1 line",
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
    ));
    drop(one);

    let many = Request::builder()
        .on_chip(CHIP0)
        .with_lines(&LINES)
        .as_output(Value::Inactive)
        .request()
        .unwrap();
    let fd = many.as_fd();
    let all = (1u64 << LINES.len()) - 1;
    let vals = RefCell::new(many.new_values());
    vals.borrow_mut().select_all();
    figures.push(bench.compare(
        "get 7 lines",
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
    ));
    let pattern = Cell::new(0u64);
    figures.push(bench.compare(
        "set 7 lines",
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
    ));
    drop(many);

    // A bidirectional line: input, output high, input, ...
    let req = Request::builder()
        .on_chip(CHIP0)
        .with_line(3)
        .as_input()
        .request()
        .unwrap();
    let fd = req.as_fd();
    let as_in = Config::new().with_line(3).as_input();
    let as_out = Config::new().with_line(3).as_output(Value::Active);
    let out = Cell::new(false);
    let mut raw_in = uapi::GpioV2LineConfig::zeroed();
    raw_in.flags = uapi::V2_FLAG_INPUT;
    let mut raw_out = uapi::GpioV2LineConfig::zeroed();
    raw_out.flags = uapi::V2_FLAG_OUTPUT;
    raw_out.num_attrs = 1;
    raw_out.attrs[0].attr.id = uapi::V2_ATTR_ID_OUTPUT_VALUES;
    raw_out.attrs[0].attr.value = 1;
    raw_out.attrs[0].mask = 1;
    figures.push(bench.compare(
        "reconfigure",
        n / 4,
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
    ));
    check(&figures);
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn reading_an_edge_event_costs_about_the_raw_read() {
    require_vm();
    // The kernel's largest event queue for one line (16 x GPIO_V2_LINES_MAX).
    const QUEUED: usize = 1024;
    // Reads per timed chunk: about 50 us in the TCG guest.
    const CHUNK: usize = 64;
    // Left unread after each fill, so that an edge the kernel merged cannot make a read block.
    const MARGIN: usize = 64;
    const FILLS: usize = 10;

    // A single read takes about a microsecond and a queue holds 1024 events: a coarse
    // CLOCK_MONOTONIC cannot time them, the thread's CPU clock (sched_clock) may still. A guest
    // whose TSC was never calibrated (a busy host at boot) has neither: then nothing is timed.
    let monotonic = Clock::monotonic();
    let clock = if monotonic.is_fine() {
        monotonic
    } else {
        Clock::thread_cpu()
    };
    header(&clock, &monotonic);
    if clock.step > Duration::from_micros(2) {
        println!("gpio speed: read 1 edge event: no clock fine enough in this guest; not measured");
        return;
    }

    let pull = sim_pull_path(1);
    std::fs::write(&pull, "pull-down").unwrap();
    let req = Request::builder()
        .on_chip(CHIP0)
        .with_line(1)
        .with_edge_detection(EdgeDetection::Both)
        .with_event_buffer_size(QUEUED as u32)
        .request()
        .unwrap();
    let fd = req.as_fd();
    let mut ours = || {
        black_box(req.read_edge_event().unwrap());
    };
    let mut raw = || {
        let mut buf = [0u8; 48];
        black_box(uapi::read_events(fd, &mut buf).unwrap());
    };
    let time = |f: &mut dyn FnMut()| {
        let t = clock.align();
        for _ in 0..black_box(CHUNK) {
            f();
        }
        ((clock.now)() - t).as_nanos() as f64 / CHUNK as f64
    };

    let (mut o, mut r) = (Vec::new(), Vec::new());
    for _ in 0..FILLS {
        for i in 0..QUEUED {
            std::fs::write(&pull, if i % 2 == 0 { "pull-up" } else { "pull-down" }).unwrap();
        }
        // Edges reach the queue through irq_work.
        std::thread::sleep(Duration::from_millis(100));
        // The first pair of chunks after a fill warms up (the writes evicted the read path);
        // then ferroio and raw take turns, the order flipping.
        let pairs = (QUEUED - MARGIN) / CHUNK / 2;
        for p in 0..pairs {
            let (a, b) = if p % 2 == 0 {
                (time(&mut ours), time(&mut raw))
            } else {
                let b = time(&mut raw);
                (time(&mut ours), b)
            };
            if p > 0 {
                o.push(a);
                r.push(b);
            }
        }
        while req.has_edge_event().unwrap() {
            req.read_edge_event().unwrap();
        }
    }
    let f = Figures::from_rounds("read 1 edge event", &o, &r);
    f.print();
    // A chunk should span at least 20 clock steps (a step of the CPU clock is the cost of
    // reading it; its resolution is finer).
    if clock.step * 20 > Duration::from_nanos(f.raw_ns as u64 * CHUNK as u64) {
        println!(
            "gpio speed: a {} ns clock step is too coarse for {CHUNK}-read chunks; not checked",
            clock.step.as_nanos()
        );
    } else {
        check(&[f]);
    }
}
