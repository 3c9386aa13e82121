//! ADI's "high-speed mmap" block API of IIO buffers against a real kernel: the qemu tier run
//! with Debian's 6.12 kernel source (`FERROIO_KERNEL_SRC_PKG=linux-source-6.12
//! tests/kernel/run.sh --test adi_blocks`). Mainline has no such API; the tier's
//! test-only core patch (tests/kernel/patches/6.12/) lets `ferroio_mmapsim`
//! (tests/kernel/driver/) emulate it: configfs device types `mmapsim` (input,
//! `in_voltage0..3`) and `mmapsim_out` (output, `out_voltage0..1`), whose one buffer moves
//! data only through mmap()ed blocks (`read()`/`write()` are refused).
//!
//! Two clients drive the devices: Debian's libiio 0.24 tools (the first tests), which check
//! the emulation against a real client of the API, and ferroio's own `Buffer` (the tests
//! after them, `ferroio_*` and the ones on waiting and failed setups), which must give the
//! same bytes. libiio's local backend probes the API with `BLOCK_FREE` and, when that works,
//! uses nothing else: the sim's `sim_trace` (A F Q E D for the ioctls, M a mapping, `+`/`-`
//! enable and disable) shows, for a buffer of n blocks (4 unless cyclic, then 1):
//!
//! ```text
//! open   F A (Q E M)×n +     free, allocate n, query + enqueue + mmap each, enable
//! input  D, then E D         each refill: give the last block back, take the next
//! output D, then E D         the first block at buffer creation, then one E D per push
//! cyclic D, then E           the block is queued once, with the CYCLIC flag
//! close  F -                 (munmap), free, disable
//! ```
//!
//! So libiio queues all n blocks before enabling: the input pattern starts at scan 0 in
//! block 0, and an output device first consumes the n zero-filled blocks, then what was
//! pushed. The sim's FREE lets queued blocks finish first, so everything pushed is consumed
//! by the time the tool exits.
//!
//! On kernels before 6.12, or without the sim, the tests say why and return.

use ferroio::buffer::{Transfer, TransferRequest};
use ferroio::{Channel, Context, Device};
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::vm;
use vm::{
    chan, check_waiting_refill, fnv1a, pattern, push_cyclic_once, refill_until_disabled, tool, Sim,
    FNV_OFFSET,
};

/// Blocks libiio 0.24 allocates per buffer unless told otherwise (`NB_BLOCKS`).
const LIBIIO_BLOCKS: usize = 4;

/// A new instance of `kind` (`mmapsim`, `mmapsim_out`) named `name`; `None`, after saying
/// why, before the 6.12 tier.
fn mmapsim(kind: &str, name: &str) -> Option<Sim> {
    Sim::new(kind, name)
}

/// After a tool exited: no block is mapped and the buffer is off.
fn assert_released(sim: &Sim) {
    assert_eq!(sim.attr("sim_mapped"), "0", "blocks still mapped");
    assert_eq!(sim.attr("buffer/enable"), "0", "buffer left enabled");
}

/// Clears the sim's trace (any write does).
fn clear_trace(sim: &Sim) {
    fs::write(sim.dir.join("sim_trace"), "0").unwrap();
}

fn check(cmd: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{cmd}: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `iio_writedev ARGS` with `input` on its stdin until it exits.
fn iio_writedev(args: &[&str], input: &[u8]) -> Output {
    with_input(Command::new(tool("iio_writedev")).args(args), input)
}

/// Runs `cmd` with `input` on its stdin until it exits.
fn with_input(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// The trace of one libiio 0.24 buffer of `blocks` blocks, `middle` being what happened
/// between enable and close.
fn libiio_trace(blocks: usize, middle: &str) -> String {
    format!("FA{}+{middle}F-", "QEM".repeat(blocks))
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn iio_readdev_reads_the_pattern_through_mapped_blocks() {
    let Some(sim) = mmapsim("mmapsim", "adi_in") else {
        return;
    };
    assert_eq!(sim.num("sim_block_ioctls"), 0);
    // The buffer has no read(): libiio cannot fall back to it unnoticed.
    let mut node = fs::File::open(Path::new("/dev").join(&sim.id)).unwrap();
    let e = node.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(22), "read() of the node: {e}");
    drop(node);

    let (samples, per_block) = (1000u64, 256u64);
    let out = Command::new(tool("iio_readdev"))
        .args([
            "-b",
            &per_block.to_string(),
            "-s",
            &samples.to_string(),
            &sim.name,
        ])
        .output()
        .unwrap();
    check("iio_readdev", &out);
    let trace = sim.attr("sim_trace");
    println!("sim_trace: {trace}");

    let want: Vec<u8> = (0..samples)
        .flat_map(|n| (0..4).flat_map(move |c| pattern(n, c).to_le_bytes()))
        .collect();
    assert_eq!(out.stdout.len(), want.len(), "bytes from iio_readdev");
    if let Some(i) = (0..want.len()).find(|&i| out.stdout[i] != want[i]) {
        let n = i / 8;
        panic!(
            "scan {n} differs: got {:02x?}, want {:02x?}",
            &out.stdout[n * 8..n * 8 + 8],
            &want[n * 8..n * 8 + 8]
        );
    }
    // 4 refills of 256 scans: the first takes a block filled at enable, each later one gives
    // the previous block back first.
    let refills = samples.div_ceil(per_block) as usize;
    let middle = format!("D{}", "ED".repeat(refills - 1));
    assert_eq!(trace, libiio_trace(LIBIIO_BLOCKS, &middle));
    assert_eq!(
        sim.num("sim_block_ioctls"),
        trace.chars().filter(|c| "AFQED".contains(*c)).count() as u64
    );
    assert_released(&sim);
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn iio_writedev_pushes_through_mapped_blocks() {
    let Some(sim) = mmapsim("mmapsim_out", "adi_out") else {
        return;
    };
    // 3 whole buffers of 100 scans of out_voltage0..1 (4 bytes), then end of input.
    let (per_block, pushes) = (100usize, 3usize);
    let block_bytes = per_block * 4;
    let input: Vec<u8> = (0..pushes * block_bytes)
        .map(|i| (i * 37 + 11) as u8)
        .collect();
    let out = iio_writedev(&["-b", &per_block.to_string(), &sim.name], &input);
    check("iio_writedev", &out);
    let trace = sim.attr("sim_trace");
    println!("sim_trace: {trace}");

    // libiio queued its 4 blocks, zero-filled, before enabling: the device consumed those
    // first, then every pushed buffer (FREE let the last ones finish before the tool exited).
    let zeros = vec![0u8; LIBIIO_BLOCKS * block_bytes];
    let want = (
        (zeros.len() + input.len()) as u64,
        fnv1a(fnv1a(FNV_OFFSET, &zeros), &input),
    );
    assert_eq!(sim.consumed(), want, "(bytes, FNV-1a) the device consumed");
    assert_eq!(
        trace,
        libiio_trace(LIBIIO_BLOCKS, &format!("D{}", "ED".repeat(pushes)))
    );
    assert!(sim.num("sim_block_ioctls") > 0);
    assert_released(&sim);
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn cyclic_iio_writedev_holds_its_block_until_it_exits() {
    let Some(sim) = mmapsim("mmapsim_out", "adi_cyclic") else {
        return;
    };
    let per_block = 64usize;
    let input: Vec<u8> = (0..per_block * 4).map(|i| (i * 5 + 3) as u8).collect();
    let mut child = Command::new(tool("iio_writedev"))
        .args(["-c", "-b", &per_block.to_string(), &sim.name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();

    // One block: consumed zero-filled at enable, then refilled, queued with CYCLIC and held.
    let t0 = Instant::now();
    while sim.num("sim_cyclic_held") == 0 {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "iio_writedev -c exited early ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no cyclic block held after 30 s; trace {}",
            sim.attr("sim_trace")
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let zeros = vec![0u8; input.len()];
    let want = (
        (zeros.len() + input.len()) as u64,
        fnv1a(fnv1a(FNV_OFFSET, &zeros), &input),
    );
    assert_eq!(sim.consumed(), want, "(bytes, FNV-1a) the device consumed");
    assert_eq!(sim.attr("sim_trace"), "FAQEM+DE");
    assert_eq!(sim.attr("sim_mapped"), "1");
    assert_eq!(sim.attr("buffer/enable"), "1");

    // iio_writedev -c runs until a signal; on SIGTERM it closes the buffer.
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "iio_writedev ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    println!(
        "iio_writedev -c after SIGTERM: {}, stderr {:?}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sim.attr("sim_trace"), "FAQEM+DEF-");
    assert_eq!(
        sim.num("sim_cyclic_held"),
        0,
        "FREE released the held block"
    );
    assert_eq!(sim.consumed(), want, "the held block was consumed once");
    assert_released(&sim);
}

// ---- ferroio's own client of the block API ----------------------------------------------
// ferroio maps each block before queueing any, queues capture blocks (only) before enabling,
// and queues an output block only once something was pushed into it (libiio 0.24 sends its
// zero-filled blocks first).

/// Captures 12 blocks of voltage0, voltage1 and voltage3 from an `mmapsim` instance with
/// `request` and checks every value against the pattern; returns the addresses of the blocks
/// `data()` handed out.
fn capture_mmap(dev: &Device, request: TransferRequest) -> Vec<usize> {
    let chans: Vec<Channel> = ["voltage0", "voltage1", "voltage3"]
        .iter()
        .map(|k| chan(dev, k, false))
        .collect();
    let samples = 200;
    let mut buf = dev
        .buffer_builder()
        .channels(&chans)
        .samples(samples)
        .kernel_buffers(4)
        .transfer(request)
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), Transfer::MmapBlocks);
    assert_eq!(buf.scan_bytes(), 6);
    let mut n = 0u64;
    let mut blocks = Vec::new();
    for _ in 0..12 {
        assert_eq!(buf.refill().unwrap(), samples);
        blocks.push(buf.data().as_ptr() as usize);
        let cols: Vec<Vec<i16>> = chans.iter().map(|c| c.read(&buf).unwrap()).collect();
        assert!(cols.iter().all(|c| c.len() == samples));
        for ((a, b), c) in cols[0].iter().zip(&cols[1]).zip(&cols[2]) {
            assert_eq!(
                [*a as u16, *b as u16, *c as u16],
                [pattern(n, 0), pattern(n, 1), pattern(n, 3)],
                "scan {n}"
            );
            n += 1;
        }
    }
    buf.close().unwrap();
    blocks
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn ferroio_captures_through_mmap_blocks_without_copying() {
    let Some(sim) = mmapsim("mmapsim", "ferroio_mmap_capture") else {
        return;
    };
    let dev = sim.device();
    let before = sim.state();
    // Auto: the buffer takes no dma-buf, so the block API is next.
    let blocks = capture_mmap(&dev, TransferRequest::Auto);
    // No copy: every refill lends the next of the 4 mapped kernel blocks, round and round.
    let mut distinct = blocks.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{blocks:x?}");
    assert!(blocks.windows(5).all(|w| w[0] == w[4]), "{blocks:x?}");
    // Probe and allocate, query and map each block, queue all 4, enable; the first refill
    // takes a block, each later one gives the last back first; close disables (unmaps)
    // and frees.
    assert_eq!(
        sim.attr("sim_trace"),
        format!("FA{}EEEE+D{}-F", "QM".repeat(4), "ED".repeat(11))
    );
    assert_eq!(sim.attr("sim_mapped"), "0", "every block unmapped on close");
    assert_eq!(sim.state(), before);
    // Forced, and again after close: the blocks were freed, the buffer starts over.
    clear_trace(&sim);
    capture_mmap(&dev, TransferRequest::Force(Transfer::MmapBlocks));
    assert!(
        sim.attr("sim_trace").starts_with("FAQM"),
        "{}",
        sim.attr("sim_trace")
    );
    assert_released(&sim);
    assert_eq!(sim.state(), before);
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn ferroio_pushes_through_mmap_blocks() {
    let Some(sim) = mmapsim("mmapsim_out", "ferroio_mmap_output") else {
        return;
    };
    let dev = sim.device();
    let before = sim.state();
    let (o0, o1) = (chan(&dev, "voltage0", true), chan(&dev, "voltage1", true));
    let samples = 1000;
    let mut buf = dev
        .buffer_builder()
        .channel(&o0)
        .channel(&o1)
        .samples(samples)
        .kernel_buffers(2)
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), Transfer::MmapBlocks);
    let mut hash = FNV_OFFSET;
    let mut total = 0u64;
    // More pushes than blocks: later pushes wait for drained blocks (BLOCK_DEQUEUE).
    for k in 0..6i32 {
        let a: Vec<i16> = (0..samples as i32)
            .map(|i| (i * 5 - k * 333) as i16)
            .collect();
        let b: Vec<i16> = (0..samples as i32).map(|i| (k - i) as i16).collect();
        o0.write(&mut buf, &a).unwrap();
        o1.write(&mut buf, &b).unwrap();
        assert_eq!(buf.push().unwrap(), samples);
        hash = fnv1a(hash, buf.data_mut());
        total += (samples * 4) as u64;
    }
    // A block carries what was pushed, however little (bytes_used).
    assert_eq!(buf.push_partial(37).unwrap(), 37);
    hash = fnv1a(hash, &buf.data_mut()[..37 * 4]);
    total += 37 * 4;
    assert_eq!(sim.consumed_after(total), hash, "bytes the device consumed");
    buf.close().unwrap();
    // No block goes out before something was pushed into it: 2 fresh blocks, then one
    // drained block (D) per push.
    assert_eq!(
        sim.attr("sim_trace"),
        format!("FA{}+EE{}-F", "QM".repeat(2), "DE".repeat(5))
    );
    assert_released(&sim);
    assert_eq!(sim.state(), before);

    // Cyclic: one block, flagged; the device keeps it, a second push is refused.
    let buf = push_cyclic_once(&sim, &dev, &o0, 0, Transfer::MmapBlocks);
    assert_eq!(sim.num("sim_cyclic_held"), 1);
    buf.close().unwrap();
    assert_eq!(sim.num("sim_cyclic_held"), 0);
    assert_released(&sim);
    assert_eq!(sim.state(), before);
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn a_waiting_mmap_refill_times_out_returns_nothing_non_blocking_and_is_cancelled() {
    let Some(sim) = mmapsim("mmapsim", "ferroio_mmap_wait") else {
        return;
    };
    check_waiting_refill(&sim, Transfer::MmapBlocks);
    assert_released(&sim);
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn a_failed_mmap_setup_leaves_nothing_behind() {
    let Some(sim) = mmapsim("mmapsim", "ferroio_mmap_fail") else {
        return;
    };
    let dev = sim.device();
    let before = sim.state();
    let v0 = chan(&dev, "voltage0", false);
    // 65 blocks: refused before anything is allocated.
    let e = dev
        .buffer_builder()
        .channel(&v0)
        .samples(16)
        .kernel_buffers(65)
        .transfer(TransferRequest::Force(Transfer::MmapBlocks))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("at most 64"), "{e}");
    assert_eq!(sim.attr("sim_trace"), "F", "only the probe");
    assert_eq!(sim.state(), before);
    clear_trace(&sim);
    // Blocks larger than the kernel gives (the emulation clamps at 16 MiB): allocated,
    // found too small, and freed again (nothing was mapped).
    let e = dev
        .buffer_builder()
        .channel(&v0)
        .samples(10 << 20)
        .kernel_buffers(1)
        .transfer(TransferRequest::Force(Transfer::MmapBlocks))
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no blocks as large as one buffer block"),
        "{e}"
    );
    assert_eq!(sim.attr("sim_trace"), "FAQF", "probe, alloc, query, free");
    assert_released(&sim);
    assert_eq!(sim.state(), before);
    // A kfifo buffer (iio_dummy) has no block API: forcing it names the probe, Auto reads.
    let ctx = Context::new().unwrap();
    let dummy = ctx.find_device("dummy0").expect("the harness's iio_dummy");
    let e = dummy
        .buffer_builder()
        .all_channels(false)
        .samples(4)
        .transfer(TransferRequest::Force(Transfer::MmapBlocks))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("BLOCK_FREE_IOCTL"), "{e}");
}

#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn ferroio_read_over_mmap_blocks_equals_iio_readdev() {
    let Some(sim) = mmapsim("mmapsim", "ferroio_mmap_cli") else {
        return;
    };
    let scans = 1000;
    let ours = std::process::Command::new(env!("CARGO_BIN_EXE_ferroio"))
        .args(["read", "-v", "--transfer", "mmap", "-b", "250", "-s"])
        .arg(scans.to_string())
        .args(["ferroio_mmap_cli", "voltage0", "voltage2"])
        .output()
        .unwrap();
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert!(
        String::from_utf8_lossy(&ours.stderr).contains("transfer mmap blocks"),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let theirs = std::process::Command::new(tool("iio_readdev"))
        .args(["-b", "250", "-s"])
        .arg(scans.to_string())
        .args(["ferroio_mmap_cli", "voltage0", "voltage2"])
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(ours.stdout.len(), scans * 4);
    assert!(
        ours.stdout == theirs.stdout,
        "ferroio and iio_readdev read different bytes"
    );
    assert_released(&sim);
}

/// With every block queued and the device paused, a push has no block to fill: non-blocking
/// it sends nothing, blocking it times out, and neither touches a queued block (the device
/// later consumes exactly the two blocks pushed before). Resumed, pushing works again.
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn a_push_waits_for_a_drained_mmap_block() {
    let Some(sim) = mmapsim("mmapsim_out", "ferroio_mmap_full") else {
        return;
    };
    let dev = sim.device();
    let before = sim.state();
    let o0 = chan(&dev, "voltage0", true);
    let samples = 100;
    let mut buf = dev
        .buffer_builder()
        .channel(&o0)
        .samples(samples)
        .kernel_buffers(2)
        .timeout(Some(Duration::from_millis(200)))
        .build()
        .unwrap();
    assert_eq!(buf.transfer(), Transfer::MmapBlocks);
    fs::write(sim.dir.join("sim_paused"), "1").unwrap();
    let block = |k: i16| -> Vec<i16> { (0..samples as i16).map(|i| i * 11 + k).collect() };
    let mut hash = FNV_OFFSET;
    for k in 0..2 {
        o0.write(&mut buf, &block(k)).unwrap();
        assert_eq!(buf.push().unwrap(), samples);
        hash = fnv1a(hash, buf.data_mut());
    }
    o0.write(&mut buf, &block(7)).unwrap();
    buf.set_blocking(false).unwrap();
    assert_eq!(buf.push().unwrap(), 0, "no free block: nothing sent");
    buf.set_blocking(true).unwrap();
    let t0 = Instant::now();
    let e = buf.push().unwrap_err();
    assert!(matches!(e, ferroio::Error::Timeout { .. }), "{e}");
    assert!(
        t0.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t0.elapsed()
    );
    fs::write(sim.dir.join("sim_paused"), "0").unwrap();
    assert_eq!(
        sim.consumed_after(2 * samples as u64 * 2),
        hash,
        "the two queued blocks, untouched"
    );
    // A drained block comes back (D) and takes the third push.
    assert_eq!(buf.push().unwrap(), samples);
    hash = fnv1a(hash, buf.data_mut());
    assert_eq!(sim.consumed_after(3 * samples as u64 * 2), hash);
    buf.close().unwrap();
    assert_eq!(sim.attr("sim_trace"), "FAQMQM+EEDE-F");
    assert_released(&sim);
    assert_eq!(sim.state(), before);
}

/// ADI kernels abort the queued blocks when the buffer is disabled and hand capture blocks
/// back empty: a refill waiting when another program disables the buffer gets an error
/// naming the aborted transfer, not an empty block or a timeout.
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn an_aborted_mmap_capture_is_an_error() {
    let Some(sim) = mmapsim("mmapsim", "ferroio_mmap_abort") else {
        return;
    };
    fs::write(sim.dir.join("sim_abort_on_disable"), "1").unwrap();
    let (e, got) = refill_until_disabled(&sim, Transfer::MmapBlocks);
    println!("after {got} blocks: {e}");
    assert!(e.to_string().contains("empty capture block"), "{e}");
    assert_released(&sim);
}

/// `ferroio write --transfer mmap` delivers exactly the bytes piped in: no block goes out
/// before it holds data (libiio 0.24 sends its zero-filled blocks first, test above), and
/// closing lets the last pushed blocks finish before the blocks are freed.
#[test]
#[ignore = "needs the qemu tier: tests/kernel/run.sh"]
fn ferroio_write_over_mmap_blocks_delivers_exactly_the_input() {
    let Some(sim) = mmapsim("mmapsim_out", "ferroio_mmap_write") else {
        return;
    };
    // 3 whole blocks and a partial one of 100 scans of voltage0..1 (4 bytes each).
    let input: Vec<u8> = (0..(3 * 100 + 37) * 4)
        .map(|i| (i * 37 + 11) as u8)
        .collect();
    let out = with_input(
        Command::new(env!("CARGO_BIN_EXE_ferroio")).args([
            "write",
            "-v",
            "--transfer",
            "mmap",
            "-b",
            "100",
            "ferroio_mmap_write",
            "voltage0",
            "voltage1",
        ]),
        &input,
    );
    check("ferroio write", &out);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("transfer mmap blocks"), "{said}");
    assert_eq!(
        sim.consumed(),
        (input.len() as u64, fnv1a(FNV_OFFSET, &input)),
        "(bytes, FNV-1a) the device consumed"
    );
    assert_released(&sim);
}
