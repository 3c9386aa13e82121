//! The `async-tokio` and `embedded-hal` features against gpio-sim in the qemu guest of
//! `tests/kernel/run.sh`. Built only with both features on (`--all-features`); without them
//! this binary holds no tests.

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use embedded_hal::digital::{InputPin, OutputPin, StatefulOutputPin};
use embedded_hal_async::digital::Wait;
use ferroio::gpio::hal::{AsyncPin, Pin};
use ferroio::gpio::tokio::{EdgeEventStream, InfoChangeStream};
use ferroio::gpio::{Chip, EdgeDetection, EdgeKind, InfoChangeKind, Request, Value};

use crate::vm;
use vm::require_vm;

const CHIP0: &str = "/dev/gpiochip0";

fn sim_file(line: u32, file: &str) -> PathBuf {
    for e in std::fs::read_dir("/sys/devices/platform").unwrap() {
        let p = e
            .unwrap()
            .path()
            .join(format!("gpiochip0/sim_gpio{line}/{file}"));
        if p.exists() {
            return p;
        }
    }
    panic!("no gpio-sim {file} for line {line}");
}

fn sim_pull(line: u32, up: bool) {
    std::fs::write(
        sim_file(line, "pull"),
        if up { "pull-up" } else { "pull-down" },
    )
    .unwrap();
}

fn sim_value(line: u32) -> String {
    std::fs::read_to_string(sim_file(line, "value"))
        .unwrap()
        .trim()
        .to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
}

/// Polls a future once: it must not be ready (and must not block).
fn assert_pending<F: Future>(f: F) {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(f.as_mut().poll(&mut cx).is_pending(), "future was ready");
}

/// Pulls `line` to `up` from another thread after a short delay.
fn pull_later(line: u32, up: bool) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        sim_pull(line, up);
    })
}

/// `line` of gpiochip0 requested as an input with both edges detected.
fn both_edges(line: u32) -> Request {
    Request::builder()
        .on_chip(CHIP0)
        .with_line(line)
        .with_edge_detection(EdgeDetection::Both)
        .request()
        .unwrap()
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn edge_event_stream_waits_without_blocking() {
    require_vm();
    sim_pull(1, false);
    runtime().block_on(async {
        let req = both_edges(1);
        let mut events = EdgeEventStream::new(req).unwrap();
        assert_pending(events.next_event());
        let t = pull_later(1, true);
        let e = events.next_event().await.unwrap();
        assert_eq!((e.offset, e.kind, e.seqno), (1, EdgeKind::Rising, 1));
        t.join().unwrap();
        // The Stream impl and the blocking methods still work on the same request.
        sim_pull(1, false);
        let e = std::future::poll_fn(|cx| {
            futures_core::Stream::poll_next(std::pin::Pin::new(&mut events), cx)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(e.kind, EdgeKind::Falling);
        assert_eq!(events.request().value(1).unwrap(), Value::Inactive);
    });
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn info_change_stream_reports_requests() {
    require_vm();
    runtime().block_on(async {
        let mut changes = InfoChangeStream::new(Chip::open(CHIP0).unwrap()).unwrap();
        changes.chip().watch_line_info(3).unwrap();
        assert_pending(changes.next_change());
        let req = Request::builder()
            .on_chip(CHIP0)
            .with_consumer("async-watch")
            .with_line(3)
            .as_input()
            .request()
            .unwrap();
        let c = changes.next_change().await.unwrap();
        assert_eq!(c.kind, InfoChangeKind::Requested);
        assert_eq!(c.info.consumer, "async-watch");
        drop(req);
        assert_eq!(
            changes.next_change().await.unwrap().kind,
            InfoChangeKind::Released
        );
    });
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn compat_async_line_event_handle() {
    require_vm();
    use ferroio::gpio::compat::{
        AsyncLineEventHandle, Chip, EventRequestFlags, EventType, LineRequestFlags,
    };
    sim_pull(6, false);
    runtime().block_on(async {
        let mut chip = Chip::new(CHIP0).unwrap();
        let line = chip.get_line(6).unwrap();
        let mut events = AsyncLineEventHandle::new(
            line.events(
                LineRequestFlags::INPUT,
                EventRequestFlags::BOTH_EDGES,
                "gpioevents",
            )
            .unwrap(),
        )
        .unwrap();
        let t = pull_later(6, true);
        let e = events.next_event().await.unwrap();
        assert_eq!(e.event_type(), EventType::RisingEdge);
        t.join().unwrap();
    });
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn embedded_hal_pins() {
    require_vm();
    let req = Request::builder()
        .on_chip(CHIP0)
        .with_line(2)
        .as_output(Value::Inactive)
        .request()
        .unwrap();
    let mut out = Pin::try_from(req).unwrap();
    out.set_high().unwrap();
    assert_eq!(sim_value(2), "1");
    assert!(out.is_set_high().unwrap());
    out.toggle().unwrap();
    assert_eq!(sim_value(2), "0");
    assert!(out.is_set_low().unwrap());

    sim_pull(4, true);
    let req = Request::builder()
        .on_chip(CHIP0)
        .with_lines(&[3, 4])
        .as_input()
        .request()
        .unwrap();
    let mut input = Pin::new(req, 4).unwrap();
    assert!(input.is_high().unwrap());
    sim_pull(4, false);
    assert!(input.is_low().unwrap());
    assert!(Pin::new(input.into_inner(), 7).is_err());
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn embedded_hal_async_wait() {
    require_vm();
    sim_pull(1, false);
    runtime().block_on(async {
        let req = both_edges(1);
        let mut pin = AsyncPin::new(req, 1).unwrap();
        pin.wait_for_low().await.unwrap(); // already low
        let t = pull_later(1, true);
        pin.wait_for_high().await.unwrap();
        t.join().unwrap();
        let t = pull_later(1, false);
        pin.wait_for_falling_edge().await.unwrap();
        t.join().unwrap();
        let t = pull_later(1, true);
        pin.wait_for_any_edge().await.unwrap();
        t.join().unwrap();
        assert_eq!(pin.request().value(1).unwrap(), Value::Active);

        let no_edges = Request::builder()
            .on_chip(CHIP0)
            .with_line(3)
            .as_input()
            .request()
            .unwrap();
        assert!(AsyncPin::new(no_edges, 3).is_err());
    });
}
