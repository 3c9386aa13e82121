//! Buffers over the network against the real Debian `iiod` 0.24 on the fake sysfs tree:
//! bytes put into the fake ADC's FIFO come back bit-exact through our [`ferroio::Buffer`]
//! and through libiio's `iio_readdev`; blocks we push come out of the fake DAC's FIFO as
//! `iio_writedev`'s do; timeouts and cancel end a refill that has no data. Root only (see
//! `network_harness`); otherwise each test says it is skipped.

mod network_harness;

use ferroio::Context;
use network_harness::RealIiod;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const URI: &str = "ip:127.0.0.1";

/// Opens a fake device FIFO read-write (so neither side's open blocks) and keeps it open.
fn hold_fifo(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .expect("open the fake device FIFO")
}

/// Reads `n` bytes from a non-blocking FIFO, waiting at most 10 s.
fn read_fifo(f: &mut File, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        match f.read(&mut buf[..n - out.len()]) {
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "only {} of {n} bytes", out.len());
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("FIFO read: {e}"),
        }
    }
    out
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn capture_matches_iio_readdev_bit_exact() {
    let Some(srv) = RealIiod::start_fake() else {
        return;
    };
    let fifo = srv.fake_root().join("dev/iio:device0");
    let mut feed = hold_fifo(&fifo);

    // libiio: 2 channels s12/16 + timestamp s64 = 16-byte scans, 4-scan blocks, 8 scans.
    let theirs_in = pattern(128, 1);
    feed.write_all(&theirs_in).unwrap();
    let out = srv.run_bytes(
        "iio_readdev",
        &["-u", URI, "-b", "4", "-s", "8", "iio:device0"],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, theirs_in, "iio_readdev");

    // Ours, same device, channels and block size.
    let ours_in = pattern(128 * 4, 7);
    feed.write_all(&ours_in).unwrap();
    srv.in_netns(|| {
        let ctx = Context::from_uri(URI).unwrap();
        let dev = ctx.get_device("iio:device0").unwrap();
        let mut buf = dev
            .buffer_builder()
            .channel_named("voltage0", false)
            .channel_named("voltage1", false)
            .channel_named("timestamp", false)
            .samples(4)
            .build()
            .unwrap();
        assert_eq!(buf.transfer(), ferroio::buffer::Transfer::Network);
        let mut got = Vec::new();
        for _ in 0..8 {
            assert_eq!(buf.refill().unwrap(), 4);
            got.extend_from_slice(buf.data());
        }
        assert_eq!(got, ours_in, "ours");
        buf.close().unwrap();
    })
    .unwrap();
}

#[test]
fn output_matches_iio_writedev() {
    let Some(srv) = RealIiod::start_fake() else {
        return;
    };
    let fifo = srv.fake_root().join("dev/iio:device1");
    let mut dac = hold_fifo(&fifo);

    // libiio: one be:u10/16 channel, 4-scan blocks, 8 scans = 16 bytes.
    let theirs = pattern(16, 3);
    let out = srv.run_bytes(
        "iio_writedev",
        &["-u", URI, "-b", "4", "-s", "8", "iio:device1"],
        &theirs,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(read_fifo(&mut dac, 16), theirs, "iio_writedev");

    let ours = pattern(8 * 6, 9);
    srv.in_netns(|| {
        let ctx = Context::from_uri(URI).unwrap();
        let dev = ctx.get_device("fake-dac").unwrap();
        let mut buf = dev
            .buffer_builder()
            .channel_named("voltage0", true)
            .samples(4)
            .build()
            .unwrap();
        for block in ours.chunks(8) {
            buf.data_mut().copy_from_slice(block);
            assert_eq!(buf.push().unwrap(), 4);
        }
        buf.close().unwrap();
    })
    .unwrap();
    assert_eq!(read_fifo(&mut dac, ours.len()), ours, "ours");
}

#[test]
fn a_device_without_data_times_out_and_cancel_wakes_a_refill() {
    let Some(srv) = RealIiod::start_fake() else {
        return;
    };
    let _feed = hold_fifo(&srv.fake_root().join("dev/iio:device0"));
    srv.in_netns(|| {
        let ctx = Context::from_uri(URI).unwrap();
        let dev = ctx.get_device("iio:device0").unwrap();

        let mut buf = dev
            .buffer_builder()
            .channel_named("voltage0", false)
            .samples(16)
            .timeout(Some(Duration::from_millis(400)))
            .build()
            .unwrap();
        let t0 = Instant::now();
        let err = buf.refill().unwrap_err();
        assert!(matches!(err, ferroio::Error::Timeout { .. }), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        drop(buf);

        let mut buf = dev
            .buffer_builder()
            .channel_named("voltage0", false)
            .samples(16)
            .timeout(None)
            .build()
            .unwrap();
        let cancel = buf.cancel_handle();
        let t0 = Instant::now();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.cancel();
        });
        let err = buf.refill().unwrap_err();
        stopper.join().unwrap();
        assert!(matches!(err, ferroio::Error::Cancelled { .. }), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        // Cancellation is permanent.
        assert!(matches!(
            buf.refill().unwrap_err(),
            ferroio::Error::Cancelled { .. }
        ));
        // The context connection is untouched.
        assert_eq!(dev.attr_read_int("sampling_frequency").unwrap(), 1000);
    })
    .unwrap();
}
