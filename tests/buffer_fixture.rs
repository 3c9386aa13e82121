//! Buffers on fixtures: a FIFO in `<root>/dev/` stands in for `/dev/iio:deviceN`, fed with
//! recorded or computed bytes. This proves the read path (whole scans, partial writes,
//! timeouts, non-blocking mode, cancel from another thread), the demux and conversion of
//! every data format, and the sysfs writes of the setup and of its undoing.

mod common;

use ferroio::buffer::{Buffer, TransferRequest};
use ferroio::{Context, DataFormat, Error};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Opens the FIFO for writing (the buffer holds it open for reading and writing, so this
/// does not block once the buffer is open).
fn feeder(path: &Path) -> fs::File {
    fs::OpenOptions::new().write(true).open(path).unwrap()
}

/// The real-kernel fixture with a FIFO as iio:device0's node.
struct Dummy {
    root: tempfile::TempDir,
}

impl Dummy {
    fn new() -> Dummy {
        let root = common::fixture_copy("iio-dummy-6.1");
        common::mkfifo(&root.path().join("dev/iio:device0"));
        Dummy { root }
    }
    fn ctx(&self) -> Context {
        Context::from_uri(&common::local_uri(self.root.path())).unwrap()
    }
    fn dev_dir(&self) -> PathBuf {
        self.root.path().join("bus/iio/devices/iio:device0")
    }
    fn fifo(&self) -> PathBuf {
        self.root.path().join("dev/iio:device0")
    }
    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.dev_dir().join(rel))
            .unwrap()
            .trim()
            .to_string()
    }
}

/// One scan of iio_dummy as its driver pushes it: 7, -33, -2, 344, then the timestamp.
fn dummy_scan(ts: i64) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[0..2].copy_from_slice(&7u16.to_le_bytes());
    s[2..4].copy_from_slice(&(-33i16).to_le_bytes());
    s[4..6].copy_from_slice(&(-2i16).to_le_bytes());
    s[6..8].copy_from_slice(&344i16.to_le_bytes());
    s[8..16].copy_from_slice(&ts.to_le_bytes());
    s
}

fn all_inputs(ctx: &Context, samples: usize) -> ferroio::Result<Buffer> {
    ctx.get_device("dummy0")?
        .buffer_builder()
        .all_channels(false)
        .samples(samples)
        .build()
}

#[test]
fn capture_demux_and_convert_iio_dummy_scans() {
    let d = Dummy::new();
    let ctx = d.ctx();
    let before = common::sysfs_state(&d.dev_dir());
    let dev = ctx.get_device("dummy0").unwrap();
    for id in [
        "voltage0",
        "voltage1-voltage2",
        "voltage3-voltage4",
        "accel_x",
        "timestamp",
    ] {
        dev.get_channel(id, false).unwrap().enable();
    }
    assert_eq!(dev.sample_size().unwrap(), 16);
    let mut buf = dev.create_buffer(4, false).unwrap();
    assert_eq!(buf.scan_bytes(), 16);
    assert_eq!(buf.transfer(), ferroio::buffer::Transfer::ReadWrite);
    // the setup's sysfs writes
    assert_eq!(d.read("buffer/enable"), "1");
    assert_eq!(d.read("buffer/length"), "16"); // 4 samples × 4 kernel buffers
    assert_eq!(d.read("buffer/watermark"), "4");
    for f in ["in_voltage0_en", "in_accel_x_en", "in_timestamp_en"] {
        assert_eq!(d.read(&format!("scan_elements/{f}")), "1", "{f}");
    }

    let mut w = feeder(&d.fifo());
    for i in 0..4 {
        w.write_all(&dummy_scan(1_000 + i)).unwrap();
    }
    assert_eq!(buf.refill().unwrap(), 4);
    assert_eq!(buf.len(), 4);
    let v0 = dev.get_channel("voltage0", false).unwrap();
    let v12 = dev.get_channel("voltage1-voltage2", false).unwrap();
    let accel = dev.get_channel("accel_x", false).unwrap();
    assert_eq!(v0.read::<u16>(&buf).unwrap(), vec![7; 4]);
    assert_eq!(
        buf.channel_iter::<i16>(&v12).unwrap().collect::<Vec<_>>(),
        vec![-33; 4]
    );
    assert_eq!(accel.read::<i32>(&buf).unwrap(), vec![344; 4]);
    assert_eq!(
        buf.timestamps().unwrap().collect::<Vec<_>>(),
        vec![1000, 1001, 1002, 1003]
    );
    // (7 + offset 7) × scale 0.001333; differential channels share in_voltage-voltage_scale
    let conv = v0.read_converted(&buf).unwrap();
    assert!(
        conv.iter().all(|&v| (v - 14.0 * 0.001333).abs() < 1e-12),
        "{conv:?}"
    );
    let mut c12 = [0f64; 4];
    assert_eq!(buf.channel_convert_into(&v12, &mut c12).unwrap(), 4);
    assert!(c12.iter().all(|&v| (v + 33.0 * 0.000001344).abs() < 1e-15));
    // a narrower type than the format is refused
    assert!(buf.channel_iter::<i8>(&v12).is_err());
    assert!(buf.channel_iter::<u16>(&v12).is_err());
    assert_eq!(
        buf.data(),
        &[
            dummy_scan(1000),
            dummy_scan(1001),
            dummy_scan(1002),
            dummy_scan(1003)
        ]
        .concat()[..]
    );

    drop(buf);
    assert_eq!(
        common::sysfs_state(&d.dev_dir()),
        before,
        "drop must restore every file"
    );
}

#[test]
fn partial_writes_are_assembled_into_whole_scans() {
    let d = Dummy::new();
    let ctx = d.ctx();
    let mut buf = all_inputs(&ctx, 3).unwrap();
    let bytes: Vec<u8> = (0..3).flat_map(dummy_scan).collect();
    let fifo = d.fifo();
    let t = std::thread::spawn(move || {
        let mut w = feeder(&fifo);
        for chunk in bytes.chunks(5) {
            w.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    assert_eq!(buf.refill().unwrap(), 3);
    t.join().unwrap();
    assert_eq!(buf.timestamps().unwrap().collect::<Vec<_>>(), vec![0, 1, 2]);
}

#[test]
fn timeout_returns_the_whole_scans_that_came_then_times_out() {
    let d = Dummy::new();
    let ctx = d.ctx();
    let mut buf = all_inputs(&ctx, 8).unwrap();
    buf.set_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut w = feeder(&d.fifo());
    // two whole scans and half of a third
    w.write_all(&dummy_scan(10)).unwrap();
    w.write_all(&dummy_scan(11)).unwrap();
    w.write_all(&dummy_scan(12)[..8]).unwrap();
    let t0 = Instant::now();
    assert_eq!(buf.refill().unwrap(), 2);
    assert!(t0.elapsed() >= Duration::from_millis(90));
    assert_eq!(buf.timestamps().unwrap().collect::<Vec<_>>(), vec![10, 11]);
    // nothing more: a timeout error naming the buffer
    match buf.refill() {
        Err(Error::Timeout { what, after }) => {
            assert!(what.contains("iio:device0"), "{what}");
            assert_eq!(after, Duration::from_millis(100));
        }
        other => panic!("{other:?}"),
    }
    // the half scan is kept for the next refill
    w.write_all(&dummy_scan(12)[8..]).unwrap();
    buf.set_blocking(false).unwrap();
    assert_eq!(buf.refill().unwrap(), 1);
    assert_eq!(buf.timestamps().unwrap().next(), Some(12));
    // non-blocking with nothing there: 0 scans, at once
    let t0 = Instant::now();
    assert_eq!(buf.refill().unwrap(), 0);
    assert!(t0.elapsed() < Duration::from_millis(50));
    assert!(buf.is_empty());
}

#[test]
fn cancel_from_another_thread_wakes_a_blocked_refill_within_10_ms() {
    let d = Dummy::new();
    let ctx = d.ctx();
    let mut buf = all_inputs(&ctx, 4).unwrap();
    buf.set_timeout(None).unwrap();
    let cancel = buf.cancel_handle();
    let t = std::thread::spawn(move || {
        let r = buf.refill();
        (r, Instant::now(), buf)
    });
    std::thread::sleep(Duration::from_millis(100));
    let at = Instant::now();
    cancel.cancel();
    let (r, woke, buf) = t.join().unwrap();
    let latency = woke.duration_since(at);
    assert!(matches!(r, Err(Error::Cancelled { .. })), "{r:?}");
    assert!(
        latency < Duration::from_millis(10),
        "woke after {latency:?}"
    );
    // cancellation is permanent; closing still restores the device
    let mut buf = buf;
    assert!(matches!(buf.refill(), Err(Error::Cancelled { .. })));
    buf.close().unwrap();
    assert_eq!(d.read("buffer/enable"), "0");
}

#[test]
fn a_failed_setup_leaves_sysfs_as_it_was() {
    let d = Dummy::new();
    let ctx = d.ctx();
    // length cannot be written: the _en writes before it must be undone
    use std::os::unix::fs::PermissionsExt;
    let length = d.dev_dir().join("buffer/length");
    fs::set_permissions(&length, fs::Permissions::from_mode(0o444)).unwrap();
    let before = common::sysfs_state(&d.dev_dir());
    let err = all_inputs(&ctx, 4).unwrap_err();
    assert_eq!(err.errno(), 13, "{err}");
    assert_eq!(common::sysfs_state(&d.dev_dir()), before);
    fs::set_permissions(&length, fs::Permissions::from_mode(0o644)).unwrap();

    // no device node at all: nothing is written
    fs::remove_file(d.fifo()).unwrap();
    let before = common::sysfs_state(&d.dev_dir());
    let err = all_inputs(&ctx, 4).unwrap_err();
    assert_eq!(err.errno(), 2, "{err}");
    assert_eq!(common::sysfs_state(&d.dev_dir()), before);
}

#[test]
fn an_enabled_buffer_is_not_taken_over() {
    let d = Dummy::new();
    fs::write(d.dev_dir().join("buffer/enable"), "1\n").unwrap();
    let before = common::sysfs_state(&d.dev_dir());
    let err = all_inputs(&d.ctx(), 4).unwrap_err();
    assert!(err.to_string().contains("already enabled"), "{err}");
    assert_eq!(common::sysfs_state(&d.dev_dir()), before);
}

#[test]
fn trigger_is_set_while_open_and_restored() {
    let d = Dummy::new();
    let ctx = d.ctx();
    let dev = ctx.get_device("dummy0").unwrap();
    let trig = ctx.get_device("trig0").unwrap();
    let before = common::sysfs_state(&d.dev_dir());
    let buf = dev
        .buffer_builder()
        .channel_named("voltage0", false)
        .samples(2)
        .trigger(Some(&trig))
        .build()
        .unwrap();
    assert_eq!(d.read("trigger/current_trigger"), "trig0");
    assert_eq!(buf.scan_bytes(), 2);
    assert_eq!(d.read("scan_elements/in_voltage0_en"), "1");
    assert_eq!(d.read("scan_elements/in_accel_x_en"), "0");
    buf.close().unwrap();
    assert_eq!(common::sysfs_state(&d.dev_dir()), before);

    // a failed open restores the trigger too
    fs::remove_file(d.fifo()).unwrap();
    let r = dev
        .buffer_builder()
        .all_channels(false)
        .samples(2)
        .trigger(Some(&trig))
        .build();
    assert!(r.is_err());
    assert_eq!(common::sysfs_state(&d.dev_dir()), before);
}

#[test]
fn builder_mistakes_are_reported() {
    let d = Dummy::new();
    let ctx = d.ctx();
    let dev = ctx.get_device("dummy0").unwrap();
    let e = dev.buffer_builder().samples(4).build().unwrap_err();
    assert!(e.to_string().contains("no scan element is enabled"), "{e}");
    let e = dev
        .buffer_builder()
        .all_channels(false)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("above 0"), "{e}");
    let e = dev
        .buffer_builder()
        .channel_named("nope", false)
        .all_channels(false)
        .samples(1)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::NoChannel { .. }), "{e}");
    let e = dev
        .buffer_builder()
        .all_channels(false)
        .samples(1)
        .transfer(TransferRequest::Force(ferroio::buffer::Transfer::Dmabuf))
        .build()
        .unwrap_err();
    // No system dma-heap on this machine (ENOENT), or the FIFO standing in for the device
    // refuses the attach ioctl (ENOTTY): either way the step that failed is named.
    let msg = e.to_string();
    assert!(matches!(e.errno(), 2 | 25), "{e}");
    assert!(
        msg.contains("dma_heap") || msg.contains("IIO_BUFFER_DMABUF_ATTACH_IOCTL"),
        "{msg}"
    );
    assert_eq!(d.read("buffer/enable"), "0");
    // ADI's mmap block API: the probe (BLOCK_FREE) is refused, and named.
    let e = dev
        .buffer_builder()
        .all_channels(false)
        .samples(1)
        .transfer(TransferRequest::Force(
            ferroio::buffer::Transfer::MmapBlocks,
        ))
        .build()
        .unwrap_err();
    assert_eq!(e.errno(), 25, "{e}");
    assert!(e.to_string().contains("BLOCK_FREE_IOCTL"), "{e}");
    assert_eq!(d.read("buffer/enable"), "0");
    // XML contexts describe structure only
    let xctx = Context::from_xml_str(&ctx.to_xml()).unwrap();
    let e = all_inputs(&xctx, 4).unwrap_err();
    assert_eq!(e.errno(), 38, "{e}");
}

// ---- every data format, through a crafted device ----------------------------------------

/// A crafted device whose scan elements use every storage size, both byte orders, signs,
/// shifts, a repeat and a timestamp, with scale and offset files.
const FORMATS: &[(&str, &str, f64, f64)] = &[
    ("voltage0", "le:s8/8>>0", 0.5, 0.0),
    ("voltage1", "be:u7/8>>1", 1.0, 3.0),
    ("voltage2", "le:s12/16>>4", 0.25, -1.0),
    ("voltage3", "be:s16/16>>0", 1.0, 0.0),
    ("voltage4", "le:u16/16X3>>0", 2.0, 0.0),
    ("voltage5", "be:s24/32>>8", 0.001, 0.0),
    ("voltage6", "le:u24/32>>0", 1.0, 0.0),
    ("voltage7", "le:s32/32>>0", 1.0, 0.5),
    ("voltage8", "be:u64/64>>0", 1.0, 0.0),
    ("voltage9", "le:s48/64>>16", 1.0, 0.0),
    ("timestamp", "le:s64/64>>0", 1.0, 0.0),
];

fn crafted_device() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dev = root.path().join("bus/iio/devices/iio:device0");
    fs::create_dir_all(dev.join("buffer")).unwrap();
    fs::create_dir_all(dev.join("scan_elements")).unwrap();
    fs::write(dev.join("name"), "formats\n").unwrap();
    for (f, v) in [("enable", "0"), ("length", "0"), ("watermark", "1")] {
        fs::write(dev.join("buffer").join(f), format!("{v}\n")).unwrap();
    }
    for (i, (id, fmt, scale, offset)) in FORMATS.iter().enumerate() {
        let se = dev.join("scan_elements");
        fs::write(se.join(format!("in_{id}_en")), "0\n").unwrap();
        fs::write(se.join(format!("in_{id}_index")), format!("{i}\n")).unwrap();
        fs::write(se.join(format!("in_{id}_type")), format!("{fmt}\n")).unwrap();
        if *id != "timestamp" {
            fs::write(dev.join(format!("in_{id}_raw")), "0\n").unwrap();
            fs::write(dev.join(format!("in_{id}_scale")), format!("{scale}\n")).unwrap();
            fs::write(dev.join(format!("in_{id}_offset")), format!("{offset}\n")).unwrap();
        }
    }
    common::mkfifo(&root.path().join("dev/iio:device0"));
    root
}

/// Values for scan `s`, value slot `k`, fitting the format.
fn value(fmt: &DataFormat, s: usize, k: usize) -> i64 {
    let span = if fmt.bits >= 63 {
        u64::MAX >> 2
    } else {
        (1u64 << fmt.bits) - 1
    };
    let mix = (s as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add((k as u64).wrapping_mul(0x1234_5678_9abc));
    let raw = mix % (span + 1);
    if fmt.is_signed {
        // centre the range on zero
        raw as i64 - (span / 2) as i64 - 1
    } else {
        raw as i64
    }
}

#[test]
fn every_format_demuxes_and_converts() {
    let root = crafted_device();
    let ctx = Context::from_uri(&common::local_uri(root.path())).unwrap();
    let dev = ctx.get_device("formats").unwrap();
    let scans = 9;
    let mut buf = dev
        .buffer_builder()
        .all_channels(false)
        .samples(scans)
        .build()
        .unwrap();
    // offsets: s8@0 u7@1 s12@2 s16@4 u16X3@6 s24@12 u24@16 s32@20 u64@24 s48@32 ts@40 → 48
    assert_eq!(buf.scan_bytes(), 48);
    let layout = buf.layout().clone();
    let mut block = vec![0u8; scans * 48];
    for s in 0..scans {
        for e in layout.elements() {
            for k in 0..e.format.repeat as usize {
                let at = s * 48 + e.offset + k * e.format.value_bytes();
                e.format.insert(value(&e.format, s, k), &mut block[at..]);
            }
        }
    }
    feeder(&root.path().join("dev/iio:device0"))
        .write_all(&block)
        .unwrap();
    assert_eq!(buf.refill().unwrap(), scans);
    for (id, fmt, scale, offset) in FORMATS {
        let ch = dev.get_channel(id, false).unwrap();
        let f = DataFormat::parse(fmt).unwrap();
        let expect: Vec<i64> = (0..scans)
            .flat_map(|s| (0..f.repeat as usize).map(move |k| (s, k)))
            .map(|(s, k)| value(&f, s, k))
            .collect();
        if f.is_signed || f.bits < 64 {
            assert_eq!(ch.read::<i64>(&buf).unwrap(), expect, "{id} {fmt}");
        } else {
            let got: Vec<i64> = ch
                .read::<u64>(&buf)
                .unwrap()
                .iter()
                .map(|&v| v as i64)
                .collect();
            assert_eq!(got, expect, "{id} {fmt}");
        }
        let conv = ch.read_converted(&buf).unwrap();
        for (c, r) in conv.iter().zip(&expect) {
            let raw = if f.is_signed {
                *r as f64
            } else {
                *r as u64 as f64
            };
            assert_eq!(*c, (raw + offset) * scale, "{id} {fmt}");
        }
        let mut fast = vec![0f64; expect.len()];
        assert_eq!(
            buf.channel_convert_into(&ch, &mut fast).unwrap(),
            expect.len()
        );
        assert_eq!(fast, conv, "{id} bulk");
    }
    let rep = dev.get_channel("voltage4", false).unwrap();
    let arrays: Vec<[u16; 3]> = buf.channel_iter_array::<u16, 3>(&rep).unwrap().collect();
    assert_eq!(arrays.len(), scans);
    assert_eq!(
        arrays[1][2] as i64,
        value(&DataFormat::parse("le:u16/16X3>>0").unwrap(), 1, 2)
    );
    assert!(buf.channel_iter_array::<u16, 2>(&rep).is_err());
    assert_eq!(buf.data(), &block[..]);
}

#[test]
fn output_buffers_fill_and_push() {
    let root = common::dac_fixture(
        "iio:device1",
        &[("voltage0", "le:u12/16>>4"), ("voltage1", "be:s16/16>>0")],
    );
    let dev = root.path().join("bus/iio/devices/iio:device1");
    let fifo = root.path().join("dev/iio:device1");
    let before = common::sysfs_state(&dev);
    let ctx = Context::from_uri(&common::local_uri(root.path())).unwrap();
    let d = ctx.get_device("dac").unwrap();
    let v0 = d.get_channel("voltage0", true).unwrap();
    let v1 = d.get_channel("voltage1", true).unwrap();
    v0.enable();
    v1.enable();
    let mut buf = d.create_buffer(4, false).unwrap();
    assert!(buf.is_output());
    assert_eq!(
        fs::read_to_string(dev.join("scan_elements/out_voltage1_en")).unwrap(),
        "1"
    );
    assert_eq!(v0.write(&mut buf, &[1u16, 2, 4095, 0]).unwrap(), 4);
    assert_eq!(buf.channel_write(&v1, &[-1i16, 300, -300, 7]).unwrap(), 4);
    assert!(buf.refill().is_err());
    let mut r = fs::OpenOptions::new().read(true).open(&fifo).unwrap();
    assert_eq!(buf.push_partial(3).unwrap(), 3);
    let mut got = [0u8; 12];
    std::io::Read::read_exact(&mut r, &mut got).unwrap();
    assert_eq!(
        got,
        [0x10, 0x00, 0xff, 0xff, 0x20, 0x00, 0x01, 0x2c, 0xf0, 0xff, 0xfe, 0xd4]
    );
    assert_eq!(buf.push().unwrap(), 4);
    let mut all = [0u8; 16];
    std::io::Read::read_exact(&mut r, &mut all).unwrap();
    assert_eq!(&all[12..], &[0x00, 0x00, 0x00, 0x07]);
    drop(buf);
    assert_eq!(common::sysfs_state(&dev), before);
}

#[test]
fn cyclic_output_repeats_the_block_until_dropped() {
    let root = common::dac_fixture("iio:device0", &[("voltage0", "le:s16/16>>0")]);
    let dev = root.path().join("bus/iio/devices/iio:device0");
    let fifo = root.path().join("dev/iio:device0");
    let before = common::sysfs_state(&dev);
    let ctx = Context::from_uri(&common::local_uri(root.path())).unwrap();
    let d = ctx.get_device("dac").unwrap();
    let v0 = d.get_channel("voltage0", true).unwrap();
    v0.enable();
    let mut buf = d.create_buffer(3, true).unwrap();
    assert!(buf.is_cyclic());
    v0.write(&mut buf, &[1i16, -2, 3]).unwrap();
    assert_eq!(buf.push().unwrap(), 3);
    // a second block is refused: the first one repeats
    assert!(buf.push().is_err());
    let mut r = fs::OpenOptions::new().read(true).open(&fifo).unwrap();
    let mut got = [0u8; 6 * 5];
    std::io::Read::read_exact(&mut r, &mut got).unwrap();
    let block = [1, 0, 0xfe, 0xff, 3, 0];
    for rep in got.chunks(6) {
        assert_eq!(rep, block);
    }
    drop(buf);
    assert_eq!(common::sysfs_state(&dev), before);
}

/// A device laid out as kernels ≥ 5.11 without the legacy directories: `buffer0/` and
/// `buffer1/`, each with its own attributes and scan elements.
fn multi_buffer_device() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dev = root.path().join("bus/iio/devices/iio:device0");
    fs::create_dir_all(&dev).unwrap();
    fs::write(dev.join("name"), "multi\n").unwrap();
    for b in ["buffer0", "buffer1"] {
        let d = dev.join(b);
        fs::create_dir_all(&d).unwrap();
        for (f, v) in [("enable", "0"), ("length", "0"), ("watermark", "1")] {
            fs::write(d.join(f), format!("{v}\n")).unwrap();
        }
        for (i, id) in ["voltage0", "voltage1"].iter().enumerate() {
            fs::write(d.join(format!("in_{id}_en")), "0\n").unwrap();
            fs::write(d.join(format!("in_{id}_index")), format!("{i}\n")).unwrap();
            fs::write(d.join(format!("in_{id}_type")), "le:u16/16>>0\n").unwrap();
        }
    }
    common::mkfifo(&root.path().join("dev/iio:device0"));
    root
}

#[test]
fn buffer0_only_layout_uses_its_own_files() {
    let root = multi_buffer_device();
    let dev_dir = root.path().join("bus/iio/devices/iio:device0");
    let ctx = Context::from_uri(&common::local_uri(root.path())).unwrap();
    let dev = ctx.get_device("multi").unwrap();
    assert_eq!(dev.data().buffer_count, 2);
    let mut buf = dev
        .buffer_builder()
        .channel_named("voltage1", false)
        .samples(2)
        .build()
        .unwrap();
    let rd = |p: &str| {
        fs::read_to_string(dev_dir.join(p))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(rd("buffer0/enable"), "1");
    assert_eq!(rd("buffer0/in_voltage1_en"), "1");
    assert_eq!(rd("buffer0/in_voltage0_en"), "0");
    assert_eq!(rd("buffer1/enable"), "0");
    feeder(&root.path().join("dev/iio:device0"))
        .write_all(&[5, 0, 6, 0])
        .unwrap();
    assert_eq!(buf.refill().unwrap(), 2);
    let v1 = dev.get_channel("voltage1", false).unwrap();
    assert_eq!(v1.read::<u16>(&buf).unwrap(), vec![5, 6]);
    drop(buf);
    assert_eq!(rd("buffer0/enable"), "0");
    assert_eq!(rd("buffer0/in_voltage1_en"), "0");
}

#[test]
fn a_second_buffer_needs_the_buffer_fd_ioctl() {
    // buffer1's fd comes from IIO_BUFFER_GET_FD_IOCTL, which a FIFO cannot answer: the open
    // fails naming the ioctl, before anything is written
    let root = multi_buffer_device();
    let dev_dir = root.path().join("bus/iio/devices/iio:device0");
    let before = common::sysfs_state(&dev_dir);
    let ctx = Context::from_uri(&common::local_uri(root.path())).unwrap();
    let err = ctx
        .get_device("multi")
        .unwrap()
        .buffer_builder()
        .all_channels(false)
        .samples(2)
        .buffer_index(1)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("IIO_BUFFER_GET_FD_IOCTL"), "{err}");
    assert_eq!(err.errno(), 25, "{err}"); // ENOTTY
    assert_eq!(common::sysfs_state(&dev_dir), before);
}

/// A device node that is not the character device (a captured tree's FIFO, no writer):
/// opening its event stream fails at once, it does not wait for a writer.
#[test]
fn an_event_stream_on_a_fifo_fails_at_once() {
    let root = common::fixture_copy("iio-dummy-6.1");
    common::mkfifo(&root.path().join("dev/iio:device0"));
    let uri = common::local_uri(root.path());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ctx = ferroio::Context::from_uri(&uri).unwrap();
        let dev = ctx.get_device("iio:device0").unwrap();
        let _ = tx.send(dev.event_stream().map(|_| ()).map_err(|e| e.to_string()));
    });
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("event_stream() returned");
    let e = r.unwrap_err();
    assert!(e.contains("IIO_GET_EVENT_FD_IOCTL"), "{e}");
}
