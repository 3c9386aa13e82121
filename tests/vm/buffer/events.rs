//! Events against a real kernel (the qemu tier): `iio_evgen` makes `iio_dummy` push events,
//! which must arrive through `IIO_GET_EVENT_FD_IOCTL` decoded as the driver coded them.

use ferroio::channel_type::{ChannelType, EventDirection, EventType, Modifier};
use ferroio::{Context, Error};
use std::fs;
use std::time::{Duration, Instant};

fn require_vm() {
    assert_eq!(
        std::env::var("FERROIO_VM").as_deref(),
        Ok("1"),
        "this test needs the qemu kernel tier: tests/kernel/run.sh"
    );
}

/// Makes iio_dummy push event number `n` (see iio_simple_dummy_events.c).
pub(super) fn poke(n: u32) {
    fs::write("/sys/bus/iio/devices/iio_evgen/poke_ev0", n.to_string()).expect("poke_ev0");
}

fn realtime_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn evgen_events_are_decoded() {
    require_vm();
    let ctx = Context::new().unwrap();
    let dev = ctx.get_device("dummy0").unwrap();
    let mut events = dev.event_stream().unwrap();
    events.set_timeout(Some(Duration::from_secs(5)));

    poke(0);
    let e = events.read().unwrap().unwrap();
    assert_eq!(e.code, 0x0001_0000_0000_0000, "{e:?}");
    assert_eq!(e.channel_type, ChannelType::Voltage);
    assert_eq!(e.event_type, EventType::Thresh);
    assert_eq!(e.direction, EventDirection::Rising);
    assert_eq!((e.channel, e.differential), (0, false));
    assert_eq!(e.channel_id().as_deref(), Some("voltage0"));
    assert!(
        (realtime_ns() - e.timestamp).abs() < 60_000_000_000,
        "{e:?}"
    );

    // activity_running (98) above the threshold value (0): thresh rising, modifier running
    poke(1);
    let e = events.read().unwrap().unwrap();
    assert_eq!(e.channel_type, ChannelType::Activity);
    assert_eq!(e.modifier, Modifier::Running);
    assert_eq!(e.direction, EventDirection::Rising);
    assert_eq!(e.channel_id().as_deref(), Some("activity_running"));

    // steps: change, no direction
    poke(3);
    let e = events.read().unwrap().unwrap();
    assert_eq!(e.channel_type, ChannelType::Steps);
    assert_eq!(e.event_type, EventType::Change);
    assert_eq!(e.direction, EventDirection::None);

    // several at once arrive in order
    poke(0);
    poke(3);
    poke(0);
    let kinds: Vec<ChannelType> = (0..3)
        .map(|_| events.read().unwrap().unwrap().channel_type)
        .collect();
    assert_eq!(
        kinds,
        vec![
            ChannelType::Voltage,
            ChannelType::Steps,
            ChannelType::Voltage
        ]
    );

    // nothing pending: non-blocking gives None, blocking times out
    events.set_blocking(false);
    assert_eq!(events.read().unwrap(), None);
    events.set_blocking(true);
    events.set_timeout(Some(Duration::from_millis(100)));
    let t0 = Instant::now();
    assert!(matches!(events.read(), Err(Error::Timeout { .. })));
    assert!(t0.elapsed() >= Duration::from_millis(90));
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn one_event_stream_per_device_and_next_to_a_buffer() {
    require_vm();
    let ctx = Context::new().unwrap();
    let dev = ctx.get_device("dummy0").unwrap();
    let first = dev.event_stream().unwrap();
    let err = dev.event_stream().unwrap_err();
    assert_eq!(err.errno(), 16, "{err}");
    assert!(err.to_string().contains("IIO_GET_EVENT_FD_IOCTL"), "{err}");
    drop(first);

    // the buffer keeps only its own fd, so events can be opened while it runs
    let trig = ctx.get_device("sysfstrig0").unwrap();
    let buf = dev
        .buffer_builder()
        .all_channels(false)
        .samples(4)
        .trigger(Some(&trig))
        .build()
        .unwrap();
    let mut events = dev.event_stream().unwrap();
    events.set_timeout(Some(Duration::from_secs(5)));
    poke(0);
    assert_eq!(
        events.read().unwrap().unwrap().channel_id().as_deref(),
        Some("voltage0")
    );
    drop(buf);
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn cancel_wakes_a_blocked_event_read() {
    require_vm();
    let ctx = Context::new().unwrap();
    let mut events = ctx.get_device("dummy0").unwrap().event_stream().unwrap();
    let cancel = events.cancel_handle();
    let t = std::thread::spawn(move || {
        let r = events.read();
        (r, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(100));
    let at = Instant::now();
    cancel.cancel();
    let (r, woke) = t.join().unwrap();
    assert!(matches!(r, Err(Error::Cancelled { .. })), "{r:?}");
    let latency = woke.saturating_duration_since(at);
    assert!(latency < Duration::from_millis(10), "{latency:?}");
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn event_configuration_files() {
    require_vm();
    let ctx = Context::new().unwrap();
    let dev = ctx.get_device("dummy0").unwrap();
    let attrs = dev.event_attrs().unwrap();
    assert!(
        attrs.contains(&"in_voltage0_thresh_rising_en".to_string()),
        "{attrs:?}"
    );
    let v0 = dev.get_channel("voltage0", false).unwrap();
    let (t, d) = (EventType::Thresh, EventDirection::Rising);
    let old_en = v0.is_event_enabled(t, d).unwrap();
    let old_value = v0.event_attr_read_str(t, d, "value").unwrap();
    v0.set_event_enabled(t, d, !old_en).unwrap();
    assert_eq!(v0.is_event_enabled(t, d).unwrap(), !old_en);
    v0.event_attr_write_str(t, d, "value", "17").unwrap();
    assert_eq!(v0.event_attr_read_str(t, d, "value").unwrap(), "17");
    v0.set_event_enabled(t, d, old_en).unwrap();
    v0.event_attr_write_str(t, d, "value", &old_value).unwrap();
    assert!(v0.event_attr_read_str(t, d, "hysteresis").is_err());
    let steps = dev.get_channel("steps", false).unwrap();
    assert_eq!(
        steps
            .event_attr_name(EventType::Change, EventDirection::None, "en")
            .unwrap()
            .as_deref(),
        Some("in_steps_change_en")
    );
}

#[test]
#[ignore = "needs the qemu kernel tier: tests/kernel/run.sh"]
fn cli_events_prints_decoded_events() {
    require_vm();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ferroio"))
        .args(["events", "-n", "2", "-T", "10000", "dummy0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // the stream must be open before the events are pushed: retry until it is
    let t0 = Instant::now();
    let mut child = child;
    loop {
        poke(0);
        std::thread::sleep(Duration::from_millis(50));
        if child.try_wait().unwrap().is_some() || t0.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for l in lines {
        assert!(l.starts_with("Event: time: "), "{l}");
        assert!(
            l.ends_with("channel: voltage0, type: thresh, direction: rising"),
            "{l}"
        );
    }
}
