//! DMABUF transfers and a second buffer (`buffer1`) against a real kernel: the qemu tier run
//! with Debian's 6.12 kernel source (`FERROIO_KERNEL_SRC_PKG=linux-source-6.12
//! tests/kernel/run.sh --test dmabuf`), whose config builds in the dma-buf system heap,
//! the IIO DMA buffer and `ferroio_dmasim` (tests/kernel/driver/): a software device, made
//! through configfs like iio_dummy (`iio/devices/dmasim/NAME`, here with ferroio's
//! `Configfs`), whose buffer0 captures a known pattern and whose buffer1 (output) counts and
//! hashes what it consumes. Both buffers are the IIO core's DMA buffers, so they take dma-bufs and
//! `read()`/`write()` alike.
//!
//! On the 6.1 tier only the fallback test runs (iio_dummy's kfifo buffer refuses
//! dma-bufs); the others need the 6.12 kernel and say so.

use ferroio::buffer::{Buffer, Transfer, TransferRequest};
use ferroio::{Context, Device, Error};
use std::path::Path;

use crate::vm;
use vm::{
    chan, check_waiting_refill, fnv1a, kernel_version, push_cyclic_once, read,
    refill_until_disabled, require_vm, state, tool, Served, Sim, FNV_OFFSET, IIO,
};

/// Scans `ferroio_dmasim` puts in one buffer0 block per channel: `(n * 16 + c) mod 65536`.
fn pattern(n: u64, chan: u32) -> i16 {
    vm::pattern(n, u64::from(chan)) as i16
}

/// A new sim device named `name` on the 6.12 tier; `None` (after saying why) on older
/// kernels, where the harness builds no DMA buffer driver.
fn dmasim(name: &str) -> Option<Sim> {
    Sim::new("dmasim", name)
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn the_snapshot_sees_two_buffers_and_their_channels() {
    let Some(sim) = dmasim("dmasim_snapshot") else {
        return;
    };
    let (dev, dir) = (sim.device(), sim.dir.clone());
    assert_eq!(dev.data().buffer_count, 2);
    assert!(dir.join("buffer1/enable").exists());
    for i in 0..4 {
        let c = chan(&dev, &format!("voltage{i}"), false);
        assert_eq!(c.data().scan.as_ref().unwrap().format_text, "le:s16/16>>0");
    }
    for i in 4..6 {
        assert!(chan(&dev, &format!("voltage{i}"), true).is_output());
    }
}

/// Captures `refills` blocks of `samples` scans of voltage0 and voltage2 and checks every
/// value against the sim's pattern.
fn capture(dev: &Device, request: TransferRequest, expect: Transfer) {
    let (v0, v2) = (chan(dev, "voltage0", false), chan(dev, "voltage2", false));
    let samples = 256;
    let mut buf: Buffer = dev
        .buffer_builder()
        .channel(&v0)
        .channel(&v2)
        .samples(samples)
        .kernel_buffers(4)
        .transfer(request)
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), expect);
    assert_eq!(buf.scan_bytes(), 4);
    let mut n = 0u64;
    let mut blocks = Vec::new();
    for _ in 0..12 {
        assert_eq!(buf.refill().unwrap(), samples);
        blocks.push(buf.data().as_ptr() as usize);
        let a: Vec<i16> = v0.read(&buf).unwrap();
        let b: Vec<i16> = v2.read(&buf).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (*x, *y),
                (pattern(n, 0), pattern(n, 2)),
                "scan {n} ({expect})"
            );
            n += 1;
        }
    }
    let mut distinct = blocks.clone();
    distinct.sort();
    distinct.dedup();
    if expect == Transfer::Dmabuf {
        // No copy: each refill lends the next of the 4 mapped dma-bufs, round and round.
        assert_eq!(distinct.len(), 4, "{blocks:x?}");
        assert!(blocks.windows(5).all(|w| w[0] == w[4]), "{blocks:x?}");
    } else {
        assert_eq!(distinct.len(), 1, "read() fills the buffer's own block");
    }
    buf.close().unwrap();
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn capture_through_dmabuf_and_read_gives_the_device_pattern() {
    let Some(sim) = dmasim("dmasim_capture") else {
        return;
    };
    let (dev, dir) = (sim.device(), sim.dir.clone());
    let before = state(&dir);
    // Auto prefers DMABUF where the buffer takes dma-bufs.
    capture(&dev, TransferRequest::Auto, Transfer::Dmabuf);
    assert_eq!(state(&dir), before);
    capture(
        &dev,
        TransferRequest::Force(Transfer::ReadWrite),
        Transfer::ReadWrite,
    );
    assert_eq!(state(&dir), before);
    // The dma-bufs were detached on close: read() works again and DMABUF can start over.
    capture(
        &dev,
        TransferRequest::Force(Transfer::Dmabuf),
        Transfer::Dmabuf,
    );
    assert_eq!(state(&dir), before);
}

/// Pushes through buffer1: `blocks` full blocks then, for DMABUF, a partial one; checks
/// the device consumed exactly those bytes.
fn output(dev: &Device, sim: &Sim, request: TransferRequest, expect: Transfer) {
    let (o4, o5) = (chan(dev, "voltage4", true), chan(dev, "voltage5", true));
    let samples = 1000;
    // Two kernel buffers: read/write DMA buffers split `length` into two blocks, so one
    // push of `samples` scans is exactly one block and reaches the device at once.
    let mut buf = dev
        .buffer_builder()
        .buffer_index(1)
        .channel(&o4)
        .channel(&o5)
        .samples(samples)
        .kernel_buffers(2)
        .transfer(request)
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), expect);
    let mut hash = FNV_OFFSET;
    let mut total = 0u64;
    for k in 0..5i32 {
        let a: Vec<i16> = (0..samples as i32)
            .map(|i| (i * 7 + k * 1000) as i16)
            .collect();
        let b: Vec<i16> = (0..samples as i32).map(|i| (-i - k) as i16).collect();
        o4.write(&mut buf, &a).unwrap();
        o5.write(&mut buf, &b).unwrap();
        assert_eq!(buf.push().unwrap(), samples);
        hash = fnv1a(hash, buf.data_mut());
        total += (samples * 4) as u64;
    }
    if expect == Transfer::Dmabuf {
        // A DMABUF block carries what was pushed, however little.
        assert_eq!(buf.push_partial(37).unwrap(), 37);
        hash = fnv1a(hash, &buf.data_mut()[..37 * 4]);
        total += 37 * 4;
    }
    assert_eq!(
        sim.consumed_after(total),
        hash,
        "{expect}: bytes the device consumed"
    );
    buf.close().unwrap();
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn output_through_dmabuf_and_write_reaches_the_device() {
    let Some(sim) = dmasim("dmasim_output") else {
        return;
    };
    let (dev, dir) = (sim.device(), sim.dir.clone());
    let before = state(&dir);
    output(
        &dev,
        &sim,
        TransferRequest::Force(Transfer::Dmabuf),
        Transfer::Dmabuf,
    );
    assert_eq!(state(&dir), before);
    output(
        &dev,
        &sim,
        TransferRequest::Force(Transfer::ReadWrite),
        Transfer::ReadWrite,
    );
    assert_eq!(state(&dir), before);
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn cyclic_dmabuf_output_takes_one_block() {
    let Some(sim) = dmasim("dmasim_cyclic") else {
        return;
    };
    let (dev, dir) = (sim.device(), sim.dir.clone());
    let o4 = chan(&dev, "voltage4", true);
    let buf = push_cyclic_once(&sim, &dev, &o4, 1, Transfer::Dmabuf);
    buf.close().unwrap();
    assert_eq!(read(&dir.join("buffer1/enable")), "0");
}

/// The IIO core runs one hardware-mode buffer of a device at a time: opening buffer1 while
/// buffer0 streams is refused by the kernel (EINVAL from `buffer1/enable`), buffer0 goes on,
/// and buffer1's settings are put back. Afterwards buffer1 works.
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn one_buffer_at_a_time_in_hardware_mode() {
    let Some(sim) = dmasim("dmasim_both") else {
        return;
    };
    let (dev, dir) = (sim.device(), sim.dir.clone());
    let before = state(&dir);
    let v1 = chan(&dev, "voltage1", false);
    let o5 = chan(&dev, "voltage5", true);
    let mut cap = dev
        .buffer_builder()
        .channel(&v1)
        .samples(128)
        .build()
        .unwrap();
    cap.refill().unwrap();
    let first: Vec<i16> = v1.read(&cap).unwrap();
    let e = dev
        .buffer_builder()
        .buffer_index(1)
        .channel(&o5)
        .samples(128)
        .build()
        .unwrap_err();
    assert_eq!(e.errno(), 22, "{e}");
    assert!(e.to_string().contains("buffer1/enable"), "{e}");
    let now = state(&dir);
    for (k, v) in before.iter().filter(|(k, _)| k.starts_with("buffer1/")) {
        assert_eq!(now.get(k), Some(v), "{k} after the refused open");
    }
    assert_eq!(now["buffer0/enable"], "1");
    cap.refill().unwrap();
    let second: Vec<i16> = v1.read(&cap).unwrap();
    let want: Vec<i16> = (0..256).map(|n| pattern(n, 1)).collect();
    assert_eq!([first, second].concat(), want, "buffer0 went on");
    cap.close().unwrap();

    let mut out = dev
        .buffer_builder()
        .buffer_index(1)
        .channel(&o5)
        .samples(128)
        .build()
        .unwrap();
    assert_eq!(out.transfer(), Transfer::Dmabuf);
    let v: Vec<i16> = (0..128).map(|n| pattern(n, 1)).collect();
    o5.write(&mut out, &v).unwrap();
    out.push().unwrap();
    let hash = fnv1a(FNV_OFFSET, out.data_mut());
    assert_eq!(sim.consumed_after(256), hash);
    out.close().unwrap();
    assert_eq!(state(&dir), before);
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn a_waiting_dmabuf_refill_times_out_and_cancels() {
    let Some(sim) = dmasim("dmasim_wait") else {
        return;
    };
    check_waiting_refill(&sim, Transfer::Dmabuf);
}

/// On a buffer that takes no dma-bufs (iio_dummy's kfifo, on either kernel) `Auto` falls
/// back to read/write and forcing DMABUF names the ioctl that refused.
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn a_kfifo_buffer_falls_back_to_read() {
    require_vm();
    let ctx = Context::new().unwrap();
    let dev = ctx
        .find_device("dummy0")
        .expect("the fixtures create dummy0");
    let dir = Path::new(IIO).join(dev.id());
    let before = state(&dir);
    let v = chan(&dev, "voltage0", false);
    // iio_dummy's triggered buffer only enables with a trigger.
    let trig = ctx.find_device("trig0").expect("the fixtures create trig0");
    let buf = dev
        .buffer_builder()
        .channel(&v)
        .samples(16)
        .trigger(Some(&trig))
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), Transfer::ReadWrite);
    drop(buf);
    let e = dev
        .buffer_builder()
        .channel(&v)
        .samples(16)
        .trigger(Some(&trig))
        .transfer(TransferRequest::Force(Transfer::Dmabuf))
        .build()
        .unwrap_err();
    let msg = e.to_string();
    // 6.1 has no dma-heap in the tier's config; 6.12 has one but kfifo refuses (EPERM).
    if kernel_version() >= (6, 12) {
        assert!(msg.contains("IIO_BUFFER_DMABUF_ATTACH_IOCTL"), "{msg}");
    } else {
        assert!(msg.contains("dma_heap"), "{msg}");
    }
    assert_eq!(
        state(&dir),
        before,
        "a refused setup leaves sysfs as it was"
    );
}

/// `ferroio read` through DMABUF and Debian's `iio_readdev` (libiio 0.24: `read()` on the
/// node) read the same bytes from the sim: the pattern from scan 0 of each run.
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn cli_read_through_dmabuf_equals_iio_readdev() {
    let Some(sim) = dmasim("dmasim_cli") else {
        return;
    };
    let args = [
        "-b",
        "256",
        "-s",
        "1024",
        "dmasim_cli",
        "voltage0",
        "voltage3",
    ];
    let ours = std::process::Command::new(env!("CARGO_BIN_EXE_ferroio"))
        .args(["read", "-v", "--transfer", "dmabuf"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let said = String::from_utf8_lossy(&ours.stderr);
    assert!(said.contains("transfer dmabuf"), "{said}");
    let theirs = std::process::Command::new(tool("iio_readdev"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(ours.stdout.len(), 1024 * 4);
    assert!(
        ours.stdout == theirs.stdout,
        "ferroio and iio_readdev read different bytes"
    );
    for (n, scan) in ours.stdout.chunks_exact(4).enumerate() {
        let v0 = i16::from_le_bytes([scan[0], scan[1]]);
        let v3 = i16::from_le_bytes([scan[2], scan[3]]);
        assert_eq!(
            (v0, v3),
            (pattern(n as u64, 0), pattern(n as u64, 3)),
            "scan {n}"
        );
    }
    assert_eq!(read(&sim.dir.join("buffer0/enable")), "0");
}

/// A transfer the kernel aborts (here: another program disables the buffer while a refill
/// waits) is an error, never the stale contents of the block handed out as new data.
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn an_aborted_transfer_is_an_error_not_stale_data() {
    let Some(sim) = dmasim("dmasim_abort") else {
        return;
    };
    let (e, got) = refill_until_disabled(&sim, Transfer::Dmabuf);
    println!("after {got} blocks: {e}");
    assert!(e.to_string().contains("DMABUF transfer"), "{e}");
    assert!(
        !matches!(e, Error::Timeout { .. }),
        "the abort was not seen: {e}"
    );
}

/// At most 64 dma-bufs per buffer: forcing DMABUF with more is refused before anything is
/// allocated; `Auto` then uses read()/write().
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn the_block_count_is_bounded() {
    let Some(sim) = dmasim("dmasim_count") else {
        return;
    };
    let (dev, dir) = (sim.device(), sim.dir.clone());
    let before = state(&dir);
    let v0 = chan(&dev, "voltage0", false);
    let e = dev
        .buffer_builder()
        .channel(&v0)
        .samples(16)
        .kernel_buffers(65)
        .transfer(TransferRequest::Force(Transfer::Dmabuf))
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
    assert_eq!(state(&dir), before);
    let mut buf = dev
        .buffer_builder()
        .channel(&v0)
        .samples(16)
        .kernel_buffers(65)
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), Transfer::ReadWrite);
    buf.refill().unwrap();
    let got: Vec<i16> = v0.read(&buf).unwrap();
    assert_eq!(got, (0..16).map(|n| pattern(n, 0)).collect::<Vec<_>>());
}

/// `ferroio serve` reads the sim through DMABUF (its log says so) and hands the scans to
/// Debian's `iio_readdev -u ip:` and to `ferroio read -u ip:` alike: the sim's pattern, from
/// scan 0 of each capture.
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn ferroio_serve_captures_through_dmabuf() {
    let Some(sim) = dmasim("dmasim_serve") else {
        return;
    };
    let srv = Served::start(&[]);
    let args = [
        "-u",
        &srv.uri,
        "-b",
        "256",
        "-s",
        "1024",
        "dmasim_serve",
        "voltage0",
        "voltage3",
    ];
    let theirs = std::process::Command::new(tool("iio_readdev"))
        .args(args)
        .output()
        .unwrap();
    let ours = std::process::Command::new(env!("CARGO_BIN_EXE_ferroio"))
        .arg("read")
        .args(args)
        .output()
        .unwrap();
    let (stopped, text) = srv.stop();
    assert!(stopped, "{text}");
    for (who, out) in [("iio_readdev", &theirs), ("ferroio read", &ours)] {
        assert!(
            out.status.success(),
            "{who}: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout.len(), 1024 * 4, "{who}");
        for (n, scan) in out.stdout.chunks_exact(4).enumerate() {
            let v0 = i16::from_le_bytes([scan[0], scan[1]]);
            let v3 = i16::from_le_bytes([scan[2], scan[3]]);
            assert_eq!(
                (v0, v3),
                (pattern(n as u64, 0), pattern(n as u64, 3)),
                "{who}: scan {n}"
            );
        }
    }
    assert!(
        text.contains("Dmabuf"),
        "the server did not use DMABUF:\n{text}"
    );
    assert_eq!(read(&sim.dir.join("buffer0/enable")), "0");
}
