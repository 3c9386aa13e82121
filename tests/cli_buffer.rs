//! `ferroio read`, `write`, `trigger` on the real-kernel fixture with a FIFO as the device
//! node: the bytes that come out, CSV conversion, Ctrl-C restoring the device.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ferroio() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferroio"))
}

fn scan(i: u16) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[0..2].copy_from_slice(&i.to_le_bytes());
    s[2..4].copy_from_slice(&(-33i16).to_le_bytes());
    s[4..6].copy_from_slice(&(-2i16).to_le_bytes());
    s[6..8].copy_from_slice(&344i16.to_le_bytes());
    s[8..16].copy_from_slice(&(1_000 + i64::from(i)).to_le_bytes());
    s
}

fn dev_file(root: &Path, rel: &str) -> String {
    fs::read_to_string(root.join("bus/iio/devices/iio:device0").join(rel))
        .unwrap()
        .trim()
        .to_string()
}

/// Feeds the FIFO from a thread once the reader has it open.
fn feed(fifo: &Path, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    let fifo = fifo.to_path_buf();
    std::thread::spawn(move || {
        // opening for writing blocks until the CLI has opened the FIFO
        let mut w = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        w.write_all(&bytes).unwrap();
        // keep the writer open a little so the reader never sees end-of-file early
        std::thread::sleep(Duration::from_millis(300));
    })
}

#[test]
fn read_raw_bytes_like_iio_readdev() {
    let root = common::fixture_copy("iio-dummy-6.1");
    let fifo = root.path().join("dev/iio:device0");
    common::mkfifo(&fifo);
    let bytes: Vec<u8> = (0..10).flat_map(scan).collect();
    let feeder = feed(&fifo, bytes.clone());
    let out = ferroio()
        .args(["read", "-u", &common::local_uri(root.path())])
        .args(["-b", "4", "-s", "6", "-T", "5000", "dummy0"])
        .output()
        .unwrap();
    feeder.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, bytes[..6 * 16]);
    assert_eq!(dev_file(root.path(), "buffer/enable"), "0");
    assert_eq!(dev_file(root.path(), "buffer/length"), "2");
    assert_eq!(dev_file(root.path(), "scan_elements/in_voltage0_en"), "0");
}

#[test]
fn read_csv_and_json_converted() {
    let root = common::fixture_copy("iio-dummy-6.1");
    let fifo = root.path().join("dev/iio:device0");
    common::mkfifo(&fifo);
    // the layout of voltage0, accel_x, timestamp: u16 @0, s16 @2, padding, s64 @8
    let mut bytes = Vec::new();
    for i in 0..2u16 {
        bytes.extend_from_slice(&i.to_le_bytes());
        bytes.extend_from_slice(&344i16.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&(1_000 + i64::from(i)).to_le_bytes());
    }
    let feeder = feed(&fifo, bytes);
    let out = ferroio()
        .args(["read", "-u", &common::local_uri(root.path())])
        .args([
            "-b",
            "2",
            "-s",
            "2",
            "--csv",
            "dummy0",
            "voltage0",
            "accel_x",
            "timestamp",
        ])
        .output()
        .unwrap();
    feeder.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "voltage0,accel_x,timestamp");
    // voltage0: (0 + 7) × 0.001333; accel_x has no scale: raw; timestamp in ns
    assert_eq!(lines[1], format!("{},344,1000", 7.0 * 0.001333));
    assert_eq!(lines[2], format!("{},344,1001", 8.0 * 0.001333));

    let feeder = feed(&fifo, scan(5).to_vec());
    let out = ferroio()
        .args(["read", "-u", &common::local_uri(root.path())])
        .args([
            "-b",
            "1",
            "-s",
            "1",
            "--json",
            "dummy0",
            "voltage1-voltage2",
        ])
        .output()
        .unwrap();
    feeder.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a lone voltage1-voltage2 scan is 2 bytes: the FIFO's first two bytes (5 as u16)
    let text = String::from_utf8(out.stdout).unwrap();
    let row: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(
        row["voltage1-voltage2"].as_f64(),
        Some(5.0 * 0.000001344),
        "{text}"
    );
    assert_eq!(row.as_object().map(|o| o.len()), Some(1), "{text}");
}

#[test]
fn ctrl_c_stops_and_restores_the_device() {
    let root = common::fixture_copy("iio-dummy-6.1");
    common::mkfifo(&root.path().join("dev/iio:device0"));
    let mut child = ferroio()
        .args(["read", "-u", &common::local_uri(root.path())])
        .args(["-T", "0", "-t", "trig0", "dummy0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // wait until the buffer is enabled, then interrupt
    let t0 = Instant::now();
    while dev_file(root.path(), "buffer/enable") != "1" {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the buffer was never enabled"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(dev_file(root.path(), "trigger/current_trigger"), "trig0");
    std::thread::sleep(Duration::from_millis(100)); // let the signal handler thread start
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{status}: {err}");
    assert_eq!(dev_file(root.path(), "buffer/enable"), "0");
    assert_eq!(dev_file(root.path(), "trigger/current_trigger"), "");
    assert_eq!(dev_file(root.path(), "buffer/length"), "2");
    assert_eq!(dev_file(root.path(), "scan_elements/in_timestamp_en"), "0");
}

#[test]
fn trigger_subcommands_on_the_fixture() {
    let root = common::fixture_copy("iio-dummy-6.1");
    let uri = common::local_uri(root.path());
    let out = ferroio()
        .args(["trigger", "list", "-u", &uri])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("trigger0: trig0"), "{text}");
    assert!(text.contains("trigger1: sysfstrig0"), "{text}");
    let ok = |args: &[&str]| {
        let out = ferroio().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&["trigger", "set", "-u", &uri, "dummy0", "trigger0"]);
    assert_eq!(dev_file(root.path(), "trigger/current_trigger"), "trig0");
    assert_eq!(
        ok(&["trigger", "get", "-u", &uri, "dummy0"]).trim(),
        "trig0"
    );
    ok(&["trigger", "set", "-u", &uri, "dummy0"]);
    assert_eq!(dev_file(root.path(), "trigger/current_trigger"), "");
    // configfs of a fixture: create and remove an hrtimer trigger directory
    fs::create_dir_all(root.path().join("kernel/config/iio/triggers/hrtimer")).unwrap();
    ok(&["trigger", "create", "-u", &uri, "hrtimer", "t9"]);
    assert!(root
        .path()
        .join("kernel/config/iio/triggers/hrtimer/t9")
        .is_dir());
    assert!(ok(&["trigger", "list", "-u", &uri]).contains("configfs: hrtimer/t9"));
    ok(&["trigger", "remove", "-u", &uri, "t9"]);
    assert!(!root
        .path()
        .join("kernel/config/iio/triggers/hrtimer/t9")
        .exists());
    let out = ferroio()
        .args(["trigger", "remove", "-u", &uri, "nothere"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn write_pushes_stdin_to_an_output_buffer() {
    // a DAC with one le:u16 output channel
    let root = common::dac_fixture("iio:device0", &[("voltage0", "le:u16/16>>0")]);
    let dev = root.path().join("bus/iio/devices/iio:device0");
    let fifo = root.path().join("dev/iio:device0");
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut r = fs::File::open(&fifo).unwrap();
            let mut got = vec![0u8; 20];
            r.read_exact(&mut got).unwrap();
            got
        })
    };
    let input: Vec<u8> = (0u8..20).collect();
    let mut child = ferroio()
        .args(["write", "-u", &common::local_uri(root.path())])
        .args(["-b", "4", "dac"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(reader.join().unwrap(), input);
    assert_eq!(
        fs::read_to_string(dev.join("buffer/enable"))
            .unwrap()
            .trim(),
        "0"
    );
}

#[test]
fn write_cyclic_repeats_until_ctrl_c() {
    let root = common::dac_fixture("iio:device0", &[("voltage0", "le:u16/16>>0")]);
    let dev = root.path().join("bus/iio/devices/iio:device0");
    let fifo = root.path().join("dev/iio:device0");
    let mut child = ferroio()
        .args([
            "write",
            "-c",
            "-b",
            "2",
            "-u",
            &common::local_uri(root.path()),
            "dac",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[1, 2, 3, 4])
        .unwrap();
    let mut r = fs::File::open(&fifo).unwrap();
    let mut got = [0u8; 4 * 6];
    r.read_exact(&mut got).unwrap();
    assert!(got.chunks(4).all(|c| c == [1, 2, 3, 4]), "{got:?}");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(dev.join("buffer/enable"))
            .unwrap()
            .trim(),
        "0"
    );
    assert_eq!(
        fs::read_to_string(dev.join("scan_elements/out_voltage0_en"))
            .unwrap()
            .trim(),
        "0"
    );
}
