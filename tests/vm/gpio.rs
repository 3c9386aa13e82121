//! `ferroio::gpio` against the real kernel: gpio-sim chips in the qemu guest of
//! `tests/kernel/run.sh` (run as root with `--ignored --test-threads=1`).
//!
//! Fixtures (tests/kernel/README.md): `/dev/gpiochip0` "sim0-bank0", 8 lines, line0 `led0`,
//! line1 `button0`, line7 `irq7`, line5 hogged as `hog5` output-high; `/dev/gpiochip1`
//! "sim0-bank1", 4 lines. gpio-sim shows what a consumer drives in
//! `/sys/devices/platform/gpio-sim.*/gpiochipN/sim_gpioM/value` and lets the test drive inputs
//! through the `pull` file next to it. Each test sets the pulls it relies on; lines are
//! released when a test ends, so tests do not depend on each other's state.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferroio::gpio::{
    self, AbiVersion, Bias, Chip, Config, Direction, Drive, EdgeDetection, EdgeEventBuffer,
    EdgeKind, Error, EventClock, InfoChangeKind, Request, Value,
};

use crate::vm;
use vm::require_vm;

const CHIP0: &str = "/dev/gpiochip0";
const ABIS: [AbiVersion; 2] = [AbiVersion::V2, AbiVersion::V1];
const WAIT: Option<Duration> = Some(Duration::from_secs(2));

/// gpio-sim's sysfs directory of one line.
fn sim_line(chip: &str, line: u32) -> PathBuf {
    let platform = Path::new("/sys/devices/platform");
    for entry in std::fs::read_dir(platform).expect("read /sys/devices/platform") {
        let dir = entry.unwrap().path();
        let is_sim = dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("gpio-sim."));
        let candidate = dir.join(chip).join(format!("sim_gpio{line}"));
        if is_sim && candidate.exists() {
            return candidate;
        }
    }
    panic!("no gpio-sim sysfs directory for {chip} line {line}");
}

/// What gpio-sim sees on the line: the driven value for outputs, the pull for inputs.
fn sim_value(line: u32) -> String {
    let p = sim_line("gpiochip0", line).join("value");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Pulls a line of gpiochip0 up or down from the simulator's side.
fn sim_pull(line: u32, up: bool) {
    let p = sim_line("gpiochip0", line).join("pull");
    std::fs::write(&p, if up { "pull-up" } else { "pull-down" })
        .unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn debian_tool(name: &str) -> PathBuf {
    let dir = std::env::var("FERROIO_VM_TOOLS").expect("FERROIO_VM_TOOLS is set in the VM");
    Path::new(&dir).join(name)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn gpioinfo_line(line: u32) -> String {
    let text = run(Command::new(debian_tool("gpioinfo")).arg("gpiochip0"));
    let tag = format!("line {line:>3}:");
    text.lines()
        .find(|l| l.contains(&tag))
        .unwrap_or_else(|| panic!("gpioinfo has no {tag}:\n{text}"))
        .to_string()
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn chips_are_listed_and_found_by_every_name() {
    require_vm();
    let paths = gpio::chip_paths().unwrap();
    assert!(paths.contains(&PathBuf::from(CHIP0)), "{paths:?}");
    for name in [CHIP0, "gpiochip0", "0", "sim0-bank0"] {
        let chip = Chip::find(name).unwrap();
        assert_eq!(chip.name(), "gpiochip0", "{name}");
        assert_eq!(chip.label(), "sim0-bank0");
        assert_eq!(chip.num_lines(), 8);
        assert_eq!(chip.abi(), AbiVersion::V2, "the 6.1 kernel has uAPI v2");
    }
    let bank1 = Chip::find("sim0-bank1").unwrap();
    assert_eq!((bank1.name(), bank1.num_lines()), ("gpiochip1", 4));
    assert!(matches!(
        Chip::find("no-such-label"),
        Err(Error::NoSuchChip(_))
    ));
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn line_info_names_and_hog_both_abis() {
    require_vm();
    for abi in ABIS {
        let chip = Chip::open(CHIP0).unwrap().with_abi(abi);
        let infos = chip.line_infos().unwrap();
        assert_eq!(infos.len(), 8);
        assert_eq!(infos[0].name, "led0");
        assert_eq!(infos[1].name, "button0");
        assert_eq!(infos[7].name, "irq7");
        assert_eq!(infos[2].name, "");
        let hog = &infos[5];
        assert!(hog.used, "{abi}: hog5 is used: {hog:?}");
        assert_eq!(hog.consumer, "hog5");
        assert_eq!(hog.direction, Direction::Output);
        assert!(!infos[0].used);
        assert_eq!(chip.line_offset("button0").unwrap(), 1);
    }
    let found = gpio::find_line("irq7").unwrap();
    assert_eq!(
        (found.chip_name.as_str(), found.info.offset),
        ("gpiochip0", 7)
    );
    assert!(matches!(
        gpio::find_line("no-such-line"),
        Err(Error::NoSuchLine { .. })
    ));
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn outputs_are_seen_by_the_simulator_both_abis() {
    require_vm();
    for abi in ABIS {
        let req = Request::builder()
            .on_chip(CHIP0)
            .with_abi(abi)
            .with_consumer("vm-out")
            .with_lines(&[2, 3, 4])
            .as_output(Value::Inactive)
            .with_line(3)
            .with_value(Value::Active)
            .request()
            .unwrap();
        assert_eq!(req.abi(), abi);
        assert_eq!(
            (sim_value(2), sim_value(3), sim_value(4)),
            ("0".into(), "1".into(), "0".into())
        );
        req.set_value(2, Value::Active).unwrap();
        assert_eq!(sim_value(2), "1", "{abi}");
        assert_eq!(sim_value(3), "1", "{abi}: setting line 2 left line 3 alone");
        req.set_values_from(&[(3, Value::Inactive), (4, Value::Active)])
            .unwrap();
        assert_eq!(
            (sim_value(2), sim_value(3), sim_value(4)),
            ("1".into(), "0".into(), "1".into())
        );
        let v = req.values().unwrap();
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            vec![(2, Value::Active), (3, Value::Inactive), (4, Value::Active)],
            "{abi}: outputs read back"
        );
        let mut some = req.new_values();
        some.set(2, Value::Inactive);
        req.set_values(&some).unwrap();
        assert_eq!((sim_value(2), sim_value(4)), ("0".into(), "1".into()));
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn inputs_follow_the_pull_both_abis() {
    require_vm();
    for abi in ABIS {
        sim_pull(1, false);
        let req = Request::builder()
            .on_chip(CHIP0)
            .with_abi(abi)
            .with_line(1)
            .as_input()
            .request()
            .unwrap();
        assert_eq!(req.value(1).unwrap(), Value::Inactive, "{abi}");
        sim_pull(1, true);
        assert_eq!(req.value(1).unwrap(), Value::Active, "{abi}");
        drop(req);

        let low = Request::builder()
            .on_chip(CHIP0)
            .with_abi(abi)
            .with_line(1)
            .as_input()
            .as_active_low()
            .request()
            .unwrap();
        assert_eq!(
            low.value(1).unwrap(),
            Value::Inactive,
            "{abi}: active-low inverts"
        );
        sim_pull(1, false);
        assert_eq!(
            low.value(1).unwrap(),
            Value::Active,
            "{abi}: active-low inverts"
        );
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn every_option_is_reported_by_line_info_and_debian_gpioinfo() {
    require_vm();
    let chip = Chip::open(CHIP0).unwrap();
    let cases: Vec<(&str, Config, &[&str])> = vec![
        (
            "od-low",
            Config::new()
                .with_line(2)
                .as_output(Value::Active)
                .with_drive(Drive::OpenDrain)
                .as_active_low(true),
            &["output", "active-low", "[used open-drain]"],
        ),
        (
            "os",
            Config::new()
                .with_line(2)
                .as_output(Value::Inactive)
                .with_drive(Drive::OpenSource),
            &["output", "active-high", "[used open-source]"],
        ),
        (
            "pu",
            Config::new()
                .with_line(2)
                .as_input()
                .with_bias(Some(Bias::PullUp)),
            &["input", "[used pull-up]"],
        ),
        (
            "pd",
            Config::new()
                .with_line(2)
                .as_input()
                .with_bias(Some(Bias::PullDown)),
            &["input", "[used pull-down]"],
        ),
        (
            "bd",
            Config::new()
                .with_line(2)
                .as_input()
                .with_bias(Some(Bias::Disabled)),
            &["input", "[used bias-disabled]"],
        ),
        (
            "edges-rt",
            Config::new()
                .with_line(2)
                .with_edge_detection(Some(EdgeDetection::Both))
                .with_event_clock(EventClock::Realtime),
            &["input", "[used]"],
        ),
    ];
    for (consumer, config, shown) in cases {
        let req = Request::builder()
            .with_chip(&chip)
            .with_consumer(consumer)
            .with_config(config.clone())
            .with_event_buffer_size(32)
            .request()
            .unwrap_or_else(|e| panic!("{consumer}: {e}"));
        let want = config.line(2).unwrap();
        let info = chip.line_info(2).unwrap();
        assert!(info.used);
        assert_eq!(info.consumer, consumer);
        assert_eq!(Some(info.direction), want.direction, "{consumer}");
        assert_eq!(info.active_low, want.active_low, "{consumer}");
        assert_eq!(info.bias, want.bias, "{consumer}");
        assert_eq!(info.drive, want.drive, "{consumer}");
        assert_eq!(info.edge_detection, want.edge_detection, "{consumer}");
        assert_eq!(info.event_clock, want.event_clock, "{consumer}");

        let line = gpioinfo_line(2);
        assert!(line.contains(&format!("\"{consumer}\"")), "{line}");
        for s in shown {
            assert!(line.contains(s), "gpioinfo shows {line:?}, missing {s:?}");
        }
        drop(req);
    }
    assert!(gpioinfo_line(2).contains("unused"));
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn debian_gpioget_agrees_with_us() {
    require_vm();
    for (up, want) in [(true, "1"), (false, "0")] {
        sim_pull(6, up);
        let theirs = run(Command::new(debian_tool("gpioget")).args(["gpiochip0", "6"]));
        assert_eq!(theirs.trim(), want);
        let ours = Request::builder()
            .on_chip(CHIP0)
            .with_line(6)
            .as_input()
            .request()
            .unwrap()
            .value(6)
            .unwrap();
        assert_eq!(ours.to_string(), want);
        let cli = run(Command::new(env!("CARGO_BIN_EXE_ferroio")).args([
            "gpio",
            "get",
            "gpiochip0",
            "6",
        ]));
        assert_eq!(cli.trim(), want);
        let theirs_low = run(Command::new(debian_tool("gpioget")).args(["-l", "gpiochip0", "6"]));
        let cli_low = run(Command::new(env!("CARGO_BIN_EXE_ferroio")).args([
            "gpio",
            "get",
            "-l",
            "gpiochip0",
            "6",
        ]));
        assert_eq!(cli_low, theirs_low);
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn edge_events_carry_offsets_kinds_and_seqnos() {
    require_vm();
    sim_pull(1, false);
    sim_pull(6, false);
    let req = Request::builder()
        .on_chip(CHIP0)
        .with_consumer("vm-edges")
        .with_lines(&[1, 6])
        .with_edge_detection(EdgeDetection::Both)
        .request()
        .unwrap();
    assert!(!req.has_edge_event().unwrap(), "no edge yet");
    assert!(!req
        .wait_edge_event(Some(Duration::from_millis(50)))
        .unwrap());

    sim_pull(1, true);
    assert!(req.wait_edge_event(WAIT).unwrap());
    let e = req.read_edge_event().unwrap();
    assert_eq!(
        (e.offset, e.kind, e.seqno, e.line_seqno),
        (1, EdgeKind::Rising, 1, 1)
    );

    sim_pull(6, true);
    sim_pull(1, false);
    sim_pull(6, false);
    let mut got = Vec::new();
    let mut buf = EdgeEventBuffer::with_capacity(8);
    while got.len() < 3 {
        assert!(req.wait_edge_event(WAIT).unwrap(), "events so far: {got:?}");
        req.read_edge_events(&mut buf).unwrap();
        got.extend(buf.iter().copied());
    }
    let summary: Vec<_> = got
        .iter()
        .map(|e| (e.offset, e.kind, e.seqno, e.line_seqno))
        .collect();
    assert_eq!(
        summary,
        vec![
            (6, EdgeKind::Rising, 2, 1),
            (1, EdgeKind::Falling, 3, 2),
            (6, EdgeKind::Falling, 4, 2),
        ]
    );
    assert!(got
        .windows(2)
        .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns));
    assert!(e.timestamp_ns <= got[0].timestamp_ns);

    // The blocking iterator sees the next one.
    sim_pull(1, true);
    let next = req.edge_events().next().unwrap().unwrap();
    assert_eq!(
        (next.offset, next.kind, next.seqno),
        (1, EdgeKind::Rising, 5)
    );
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn edge_events_under_v1() {
    require_vm();
    sim_pull(1, false);
    let req = Request::builder()
        .on_chip(CHIP0)
        .with_abi(AbiVersion::V1)
        .with_line(1)
        .with_edge_detection(EdgeDetection::Both)
        .request()
        .unwrap();
    sim_pull(1, true);
    sim_pull(1, false);
    let kinds: Vec<_> = req
        .edge_events()
        .take(2)
        .map(|e| {
            let e = e.unwrap();
            assert_eq!((e.offset, e.seqno), (1, 0));
            e.kind
        })
        .collect();
    assert_eq!(kinds, [EdgeKind::Rising, EdgeKind::Falling]);
    assert_eq!(req.value(1).unwrap(), Value::Inactive);
    assert!(matches!(
        req.set_value(1, Value::Active),
        Err(Error::Kernel { .. })
    ));

    let two = Request::builder()
        .on_chip(CHIP0)
        .with_abi(AbiVersion::V1)
        .with_lines(&[1, 6])
        .with_edge_detection(EdgeDetection::Both)
        .request();
    match two {
        Err(Error::AbiUnsupported { feature, .. }) => assert!(feature.contains("edge")),
        other => panic!("expected AbiUnsupported, got {other:?}"),
    }
    let debounce = Request::builder()
        .on_chip(CHIP0)
        .with_abi(AbiVersion::V1)
        .with_line(6)
        .with_debounce_period(Duration::from_millis(1))
        .request();
    assert!(matches!(debounce, Err(Error::AbiUnsupported { .. })));
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn debounce_filters_glitches() {
    require_vm();
    sim_pull(3, false);
    let period = Duration::from_millis(30);
    let req = Request::builder()
        .on_chip(CHIP0)
        .with_line(3)
        .with_edge_detection(EdgeDetection::Both)
        .with_debounce_period(period)
        .request()
        .unwrap();
    let info = Chip::open(CHIP0).unwrap().line_info(3).unwrap();
    assert_eq!(info.debounce_period, Some(period));

    // A stable change is reported once, after the period.
    sim_pull(3, true);
    assert!(req.wait_edge_event(WAIT).unwrap());
    let e = req.read_edge_event().unwrap();
    assert_eq!((e.offset, e.kind), (3, EdgeKind::Rising));
    // A glitch shorter than the period is not.
    sim_pull(3, false);
    sim_pull(3, true);
    assert!(
        !req.wait_edge_event(Some(period * 5)).unwrap(),
        "a glitch came through: {:?}",
        req.read_edge_event()
    );
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn reconfigure_keeps_the_lines_both_abis() {
    require_vm();
    for abi in ABIS {
        let chip = Chip::open(CHIP0).unwrap().with_abi(abi);
        let req = Request::builder()
            .with_chip(&chip)
            .with_consumer("vm-reconf")
            .with_line(4)
            .as_output(Value::Active)
            .request()
            .unwrap();
        assert_eq!(sim_value(4), "1");
        req.reconfigure(
            &Config::new()
                .with_line(4)
                .as_output(Value::Inactive)
                .as_active_low(true),
        )
        .unwrap();
        assert_eq!(
            sim_value(4),
            "1",
            "{abi}: inactive + active-low drives high"
        );
        let info = chip.line_info(4).unwrap();
        assert!(info.active_low && info.used, "{abi}: {info:?}");
        assert_eq!(info.consumer, "vm-reconf");
        req.reconfigure(&Config::new().with_line(4).as_input())
            .unwrap();
        assert_eq!(chip.line_info(4).unwrap().direction, Direction::Input);
        // gpio-sim applies a pull to a line only while it is an input.
        sim_pull(4, false);
        assert_eq!(req.value(4).unwrap(), Value::Inactive);
        assert!(matches!(
            req.reconfigure(&Config::new().with_line(5).as_input()),
            Err(Error::NotRequested { offset: 5, .. })
        ));
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn info_watch_reports_request_reconfigure_release_both_abis() {
    require_vm();
    for abi in ABIS {
        let chip = Chip::open(CHIP0).unwrap().with_abi(abi);
        let before = chip.watch_line_info(2).unwrap();
        assert!(!before.used);
        assert!(!chip
            .wait_info_change(Some(Duration::from_millis(20)))
            .unwrap());

        let req = Request::builder()
            .on_chip(CHIP0)
            .with_abi(abi)
            .with_consumer("vm-watch")
            .with_line(2)
            .as_output(Value::Inactive)
            .request()
            .unwrap();
        assert!(chip.wait_info_change(WAIT).unwrap());
        let ev = chip.read_info_change().unwrap();
        assert_eq!(ev.kind, InfoChangeKind::Requested, "{abi}");
        assert_eq!((ev.info.offset, ev.info.consumer.as_str()), (2, "vm-watch"));
        assert!(ev.info.used);

        req.reconfigure(&Config::new().with_line(2).as_input())
            .unwrap();
        let ev = chip.read_info_change().unwrap();
        assert_eq!(ev.kind, InfoChangeKind::Reconfigured, "{abi}");
        assert_eq!(ev.info.direction, Direction::Input);

        drop(req);
        let ev = chip.info_changes().next().unwrap().unwrap();
        assert_eq!(ev.kind, InfoChangeKind::Released, "{abi}");
        assert!(!ev.info.used);

        chip.unwatch_line_info(2).unwrap();
        let again = Request::builder()
            .on_chip(CHIP0)
            .with_line(2)
            .as_input()
            .request()
            .unwrap();
        drop(again);
        assert!(
            !chip
                .wait_info_change(Some(Duration::from_millis(50)))
                .unwrap(),
            "{abi}: unwatched line still reported"
        );
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn busy_lines_name_their_holder() {
    require_vm();
    for abi in ABIS {
        let first = Request::builder()
            .on_chip(CHIP0)
            .with_abi(abi)
            .with_consumer("first-holder")
            .with_line(0)
            .as_output(Value::Inactive)
            .request()
            .unwrap();
        match Request::builder()
            .on_chip(CHIP0)
            .with_abi(abi)
            .with_lines(&[3, 0])
            .as_input()
            .request()
        {
            Err(e @ Error::LineBusy { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("/dev/gpiochip0") && msg.contains("line 0"),
                    "{msg}"
                );
                assert!(msg.contains("first-holder"), "{msg}");
                assert_eq!(e.errno(), Some(16));
            }
            other => panic!("{abi}: expected LineBusy, got {other:?}"),
        }
        drop(first);
        match Request::builder()
            .on_chip(CHIP0)
            .with_abi(abi)
            .with_line(5)
            .as_input()
            .request()
        {
            Err(Error::LineBusy {
                offset, consumer, ..
            }) => assert_eq!((offset, consumer.as_str()), (5, "hog5")),
            other => panic!("{abi}: the hog should be busy, got {other:?}"),
        }
    }
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn bad_input_gives_typed_errors() {
    require_vm();
    let b = || Request::builder().on_chip(CHIP0);
    match b().with_line(8).as_input().request() {
        Err(e @ Error::OffsetOutOfRange { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("/dev/gpiochip0") && msg.contains("line 8"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    let many: Vec<u32> = (0..65).collect();
    assert!(matches!(
        b().with_lines(&many).as_input().request(),
        Err(Error::TooManyLines { count: 65, .. })
    ));
    match b()
        .with_line(2)
        .as_input()
        .with_drive(Drive::OpenDrain)
        .request()
    {
        Err(Error::InvalidConfig { offset, reason, .. }) => {
            assert_eq!(offset, Some(2));
            assert!(reason.contains("open-drain"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        b().with_line(2).with_bias(Bias::PullUp).request(),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        Chip::open("/dev/null"),
        Err(Error::NotAGpioChip { .. })
    ));
    assert!(matches!(
        Chip::open("/dev/iio:device0"),
        Err(Error::NotAGpioChip { .. })
    ));
    let req = b().with_line(2).as_input().request().unwrap();
    assert!(matches!(
        req.value(3),
        Err(Error::NotRequested { offset: 3, .. })
    ));
    assert!(matches!(b().request(), Err(Error::NoLines { .. })));
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn ten_thousand_requests_leak_no_fd() {
    require_vm();
    let chip = Chip::open(CHIP0).unwrap();
    let before = open_fds();
    for i in 0..10_000u32 {
        let req = Request::builder()
            .with_chip(&chip)
            .with_abi(if i % 2 == 0 {
                AbiVersion::V2
            } else {
                AbiVersion::V1
            })
            .with_line(2)
            .as_output(Value::from(i % 3 == 0))
            .request()
            .unwrap();
        drop(req);
        // Failed requests must not leak either.
        assert!(Request::builder()
            .with_chip(&chip)
            .with_line(5)
            .as_input()
            .request()
            .is_err());
    }
    assert_eq!(open_fds(), before);
    assert!(!chip.line_info(2).unwrap().used);
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn compat_api_reads_writes_and_monitors() {
    require_vm();
    use ferroio::gpio::compat::{Chip, EventRequestFlags, EventType, LineRequestFlags};
    let mut chip = Chip::new(CHIP0).unwrap();
    assert_eq!(
        (chip.name(), chip.label(), chip.num_lines()),
        ("gpiochip0", "sim0-bank0", 8)
    );
    assert_eq!(ferroio::gpio::compat::chips().unwrap().count(), 2);
    let info = chip.get_line(5).unwrap().info().unwrap();
    assert!(info.is_used());
    assert_eq!(info.consumer(), Some("hog5"));

    let out = chip
        .get_line(2)
        .unwrap()
        .request(LineRequestFlags::OUTPUT, 1, "compat-out")
        .unwrap();
    assert_eq!(sim_value(2), "1");
    out.set_value(0).unwrap();
    assert_eq!(sim_value(2), "0");

    let multi = chip
        .get_lines(&[3, 4])
        .unwrap()
        .request(LineRequestFlags::OUTPUT, &[1, 0], "compat-multi")
        .unwrap();
    assert_eq!((sim_value(3), sim_value(4)), ("1".into(), "0".into()));
    multi.set_values(&[0, 1]).unwrap();
    assert_eq!(multi.get_values().unwrap(), vec![0, 1]);

    sim_pull(1, false);
    let mut events = chip
        .get_line(1)
        .unwrap()
        .events(
            LineRequestFlags::INPUT,
            EventRequestFlags::BOTH_EDGES,
            "compat-mon",
        )
        .unwrap();
    sim_pull(1, true);
    assert_eq!(
        events.get_event().unwrap().event_type(),
        EventType::RisingEdge
    );
    assert_eq!(events.get_value().unwrap(), 1);
    sim_pull(1, false);
    assert_eq!(
        events.next().unwrap().unwrap().event_type(),
        EventType::FallingEdge
    );
    assert!(chip.get_line(8).is_err());
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn cli_matches_debian_tools() {
    require_vm();
    let ferroio = || Command::new(env!("CARGO_BIN_EXE_ferroio"));
    assert_eq!(
        run(ferroio().args(["gpio", "detect"])),
        run(&mut Command::new(debian_tool("gpiodetect")))
    );
    assert_eq!(
        run(ferroio().args(["gpio", "info", "gpiochip0"])),
        run(Command::new(debian_tool("gpioinfo")).arg("gpiochip0"))
    );
    assert_eq!(
        run(ferroio().args(["gpio", "find", "button0"])),
        run(Command::new(debian_tool("gpiofind")).arg("button0"))
    );
    let json = run(ferroio().args(["gpio", "info", "--json", "sim0-bank1"]));
    assert!(json.starts_with("[{\"name\":\"gpiochip1\""), "{json}");

    sim_pull(1, true);
    sim_pull(6, false);
    assert_eq!(run(ferroio().args(["gpio", "get", "button0"])).trim(), "1");
    assert_eq!(
        run(ferroio().args(["gpio", "get", "--json", "-c", "0", "1", "6"])).trim(),
        "{\"chip\":\"gpiochip0\",\"values\":{\"1\":1,\"6\":0}}"
    );
    run(ferroio().args(["gpio", "set", "--mode", "exit", "gpiochip0", "2=1"]));

    // set holds the line until it is killed.
    let mut holder = ferroio()
        .args(["gpio", "set", "-C", "cli-hold", "gpiochip0", "2=1", "3=0"])
        .spawn()
        .unwrap();
    let mut held = false;
    for _ in 0..200 {
        if gpioinfo_line(2).contains("\"cli-hold\"") {
            held = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(held, "ferroio gpio set did not hold line 2");
    assert_eq!((sim_value(2), sim_value(3)), ("1".into(), "0".into()));
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(gpioinfo_line(2).contains("unused"));

    // mon prints timestamped edges like gpiomon.
    sim_pull(1, false);
    let mon = ferroio()
        .args(["gpio", "mon", "-n", "2", "gpiochip0", "button0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut requested = false;
    for _ in 0..200 {
        if gpioinfo_line(1).contains("ferroio-gpiomon") {
            requested = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(requested, "mon did not request the line");
    sim_pull(1, true);
    sim_pull(1, false);
    let out = mon.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("event:  RISING EDGE offset: 1 timestamp: ["),
        "{text}"
    );
    assert!(
        lines[1].starts_with("event: FALLING EDGE offset: 1 timestamp: ["),
        "{text}"
    );

    let err = ferroio()
        .args(["gpio", "get", "gpiochip0", "9"])
        .output()
        .unwrap();
    assert!(!err.status.success());
    let msg = String::from_utf8_lossy(&err.stderr);
    assert!(msg.contains("line 9") && msg.lines().count() == 1, "{msg}");
}
