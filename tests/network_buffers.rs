//! Buffers over the network against the real Debian `iiod` 0.24 on the fake sysfs tree, and
//! against `ferroio serve` in its place:
//! bytes put into the fake ADC's FIFO come back bit-exact through our [`ferroio::Buffer`]
//! and through libiio's `iio_readdev`; blocks we push come out of the fake DAC's FIFO as
//! `iio_writedev`'s do; the same for the CLIs (`ferroio read`/`write -u ip:` next to
//! `iio_readdev`/`iio_writedev -u ip:`) over captures long enough for many pipelined
//! requests; timeouts and cancel end a refill that has no data. Root only (see
//! `network_harness`); otherwise each test says it is skipped.

mod common;
mod network_harness;

use ferroio::Context;
use network_harness::{each_peer, Peer, RealIiod};
use std::fs::File;
use std::io::{Read, Write};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const URI: &str = "ip:127.0.0.1";
const OURS: &str = env!("CARGO_BIN_EXE_ferroio");

#[test]
fn capture_matches_iio_readdev_bit_exact() {
    each_peer(capture_matches_iio_readdev_bit_exact_on);
}

fn capture_matches_iio_readdev_bit_exact_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    let fifo = srv.fake_root().join("dev/iio:device0");
    let mut feed = common::hold_fifo(&fifo);

    // libiio: 2 channels s12/16 + timestamp s64 = 16-byte scans, 4-scan blocks, 8 scans.
    let theirs_in = common::pattern(128, 1);
    feed.write_all(&theirs_in).unwrap();
    let out = srv.run_bytes(
        "iio_readdev",
        &["-u", URI, "-b", "4", "-s", "8", "iio:device0"],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, theirs_in, "iio_readdev");

    // Ours, same device, channels and block size.
    let ours_in = common::pattern(128 * 4, 7);
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
    each_peer(output_matches_iio_writedev_on);
}

fn output_matches_iio_writedev_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    let fifo = srv.fake_root().join("dev/iio:device1");
    let mut dac = common::hold_fifo(&fifo);

    // libiio: one be:u10/16 channel, 4-scan blocks, 8 scans = 16 bytes.
    let theirs = common::pattern(16, 3);
    let out = srv.run_bytes(
        "iio_writedev",
        &["-u", URI, "-b", "4", "-s", "8", "iio:device1"],
        &theirs,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(common::read_fifo(&mut dac, 16), theirs, "iio_writedev");

    let ours = common::pattern(8 * 6, 9);
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
    assert_eq!(common::read_fifo(&mut dac, ours.len()), ours, "ours");
}

#[test]
fn a_device_without_data_times_out() {
    each_peer(a_device_without_data_times_out_on);
}

// Each of these two tests opens the device once, on a server of its own: iiod 0.24 lets an
// OPEN that arrives before it has seen the previous client of the device hang up join that
// client's buffer, and then fails it with that buffer's refill error (or leaves it waiting
// on a refill without timeout), so a second buffer right after a broken one is a race there.
fn a_device_without_data_times_out_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    let _feed = common::hold_fifo(&srv.fake_root().join("dev/iio:device0"));
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
        // The context connection is untouched.
        assert_eq!(dev.attr_read_int("sampling_frequency").unwrap(), 1000);
    })
    .unwrap();
}

#[test]
fn cancel_wakes_a_refill_without_timeout() {
    each_peer(cancel_wakes_a_refill_without_timeout_on);
}

fn cancel_wakes_a_refill_without_timeout_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    let _feed = common::hold_fifo(&srv.fake_root().join("dev/iio:device0"));
    srv.in_netns(|| {
        let ctx = Context::from_uri(URI).unwrap();
        let dev = ctx.get_device("iio:device0").unwrap();
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
        drop(buf);
        // The context connection is untouched.
        assert_eq!(dev.attr_read_int("sampling_frequency").unwrap(), 1000);
    })
    .unwrap();
}

/// Writes `data` into a FIFO from a thread (it may be larger than the pipe), within 20 s.
fn feed_in_background(f: &File, data: Vec<u8>) -> JoinHandle<()> {
    let mut f = f.try_clone().unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut rest = &data[..];
        while !rest.is_empty() {
            match f.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "{} bytes not taken", rest.len());
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("FIFO write: {e}"),
            }
        }
    })
}

/// Reads `n` bytes from a FIFO in a thread (see [`read_fifo`]).
fn drain_in_background(f: &File, n: usize) -> JoinHandle<Vec<u8>> {
    let mut f = f.try_clone().unwrap();
    std::thread::spawn(move || common::read_fifo(&mut f, n))
}

/// Waits (at most 10 s) until iiod has disabled the device's buffer: after a client that
/// left with requests in flight, the server tears its buffer down on its own time, and a
/// refill still running would take the next test's bytes.
fn wait_buffer_disabled(srv: &RealIiod, dev: &str) {
    let enable = srv.fake_device(dev).join("buffer/enable");
    let deadline = Instant::now() + Duration::from_secs(10);
    // The fake tree keeps what was written: "0" and the NUL libiio writes after it.
    while std::fs::read(&enable).unwrap().first() != Some(&b'0') {
        assert!(
            Instant::now() < deadline,
            "iiod kept the buffer of {dev} enabled"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn cli_read_moves_the_same_bytes_as_iio_readdev() {
    each_peer(cli_read_moves_the_same_bytes_as_iio_readdev_on);
}

fn cli_read_moves_the_same_bytes_as_iio_readdev_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    let mut fifo = common::hold_fifo(&srv.fake_root().join("dev/iio:device0"));
    let _ = rustix::pipe::fcntl_setpipe_size(&fifo, 1 << 20);
    // All channels (voltage0, voltage1, timestamp: 16-byte scans), as both tools enable
    // them by default; block sizes from one request per block to many blocks per request.
    for (block, blocks) in [(4usize, 300usize), (64, 100), (1024, 24)] {
        let scans = block * blocks;
        let (b, s) = (block.to_string(), scans.to_string());
        let args = ["-u", URI, "-b", &b, "-s", &s, "iio:device0"];
        let mut outputs = Vec::new();
        for (seed, program, sub) in [
            (block as u8, "iio_readdev", None),
            (!block as u8, OURS, Some("read")),
        ] {
            let input = common::pattern(scans * 16, seed);
            let feeder = feed_in_background(&fifo, input.clone());
            let argv: Vec<&str> = sub.into_iter().chain(args).collect();
            let t0 = Instant::now();
            let out = srv.run_bytes(program, &argv, b"");
            feeder.join().unwrap();
            assert!(out.status.success(), "{program} {argv:?}: {out:?}");
            assert!(
                out.stdout == input,
                "{program} -b {block}: {} bytes differ from the {} fed",
                out.stdout.len(),
                input.len()
            );
            assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
            wait_buffer_disabled(&srv, "iio:device0");
            outputs.push(out.stdout.len());
        }
        assert_eq!(outputs[0], outputs[1]);
        // Nothing was left in the FIFO: each tool took exactly what it was fed.
        let mut rest = [0u8; 16];
        assert!(fifo.read(&mut rest).is_err(), "bytes left in the FIFO");
    }
}

#[test]
fn cli_write_moves_the_same_bytes_as_iio_writedev() {
    each_peer(cli_write_moves_the_same_bytes_as_iio_writedev_on);
}

fn cli_write_moves_the_same_bytes_as_iio_writedev_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    let dac = common::hold_fifo(&srv.fake_root().join("dev/iio:device1"));
    let _ = rustix::pipe::fcntl_setpipe_size(&dac, 1 << 20);
    // fake-dac: one be:u10/16 channel, 2-byte scans. Whole blocks only: for a last partial
    // block iio_writedev sends a whole one (with what its buffer held), we send the scans
    // given.
    for (block, blocks) in [(4usize, 200usize), (256, 40), (4096, 8)] {
        let scans = block * blocks;
        let (b, s) = (block.to_string(), scans.to_string());
        let args = ["-u", URI, "-b", &b, "-s", &s, "iio:device1"];
        for (seed, program, sub) in [
            (block as u8, "iio_writedev", None),
            (!block as u8, OURS, Some("write")),
        ] {
            let input = common::pattern(scans * 2, seed);
            let drain = drain_in_background(&dac, input.len());
            let argv: Vec<&str> = sub.into_iter().chain(args).collect();
            let out = srv.run_bytes(program, &argv, &input);
            assert!(out.status.success(), "{program} {argv:?}: {out:?}");
            let got = drain.join().unwrap();
            assert!(
                got == input,
                "{program} -b {block}: the DAC got other bytes"
            );
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut rest = [0u8; 16];
        assert!(
            (&dac).read(&mut rest).is_err(),
            "more bytes than sent reached the DAC"
        );
    }
}
