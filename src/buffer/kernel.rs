//! The kernel transfer engine of local buffers: moving whole scans between this process and
//! an IIO buffer's file descriptor, by `read()`/`write()`, by DMABUF (`super::dmabuf`) or by
//! ADI's mmap block API (`super::mmap_blocks`), waiting with `poll()` on the fd and a cancel
//! eventfd.
//!
//! It knows file descriptors, not sysfs: the local backend (`crate::sysfs`) opens the device
//! node, configures the buffer's attributes through a [`Settings`] and calls [`prepare`]
//! between writing the buffer length and enabling it (dma-bufs must be attached and capture
//! blocks queued before the device starts); [`Prepared::into_stream`] then takes the
//! `Settings`, which the stream puts back (disable first) when it closes, before it lets go
//! of the kernel blocks.
//!
//! [`TransferRequest::Auto`] tries DMABUF, then mmap blocks, then read/write, as libiio 1.x
//! does; each can be forced.

use crate::attr_io::Settings;
use crate::backend::{BufferSpec, BufferStream};
use crate::buffer::cancel::{wait_fd, Waited};
use crate::buffer::dmabuf::{self, Dmabufs, SetupError, Step};
use crate::buffer::mmap_blocks::{self, MmapBlocks};
use crate::buffer::{Cancel, CancelHandle, EventFdCancel, Transfer, TransferRequest};
use crate::error::{Error, Result};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The timeout of blocking calls until the user sets one: libiio's default.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5000);

/// A buffer of a local device, open and enabled.
#[derive(Debug)]
pub(crate) struct KernelStream {
    what: String,
    node: PathBuf,
    fd: OwnedFd,
    /// What configured the buffer, put back at close (disable first).
    settings: Settings,
    scan_bytes: usize,
    /// Bytes of a scan that arrived incompletely (FIFOs); handed out first next time.
    carry: Vec<u8>,
    blocking: bool,
    timeout: Option<Duration>,
    cancel: Arc<EventFdCancel>,
    transfer: Transfer,
    /// Cyclic output over read/write: the first block pushed, repeated by a thread.
    cyclic: bool,
    pusher: Option<Pusher>,
    /// The kernel blocks when the transfer is DMABUF or mmap blocks.
    blocks: Option<Blocks>,
    /// A cyclic block-transfer buffer got its block.
    cyclic_pushed: bool,
    closed: bool,
}

/// The thread that repeats a cyclic block: the kernel cannot repeat blocks pushed with
/// `write()`, so the block is written again and again until the buffer closes.
#[derive(Debug)]
struct Pusher {
    stop: Arc<EventFdCancel>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pusher {
    fn start(fd: OwnedFd, block: Vec<u8>, cancel: Arc<EventFdCancel>) -> std::io::Result<Pusher> {
        let stop = EventFdCancel::new()?;
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ferroio-cyclic".into())
            .spawn(move || {
                let mut at = 0;
                loop {
                    if stop2.is_cancelled() || cancel.is_cancelled() {
                        return;
                    }
                    match write_some(fd.as_fd(), &block[at..]) {
                        Ok(Some(n)) => at = (at + n) % block.len(),
                        Ok(None) => {
                            let mut fds = [
                                PollFd::from_borrowed_fd(fd.as_fd(), PollFlags::OUT),
                                PollFd::from_borrowed_fd(stop2.fd(), PollFlags::IN),
                                PollFd::from_borrowed_fd(cancel.fd(), PollFlags::IN),
                            ];
                            if matches!(poll(&mut fds, None), Err(e) if e != Errno::INTR) {
                                return;
                            }
                        }
                        // the device went away or the buffer was disabled under us
                        Err(_) => return,
                    }
                }
            })?;
        Ok(Pusher {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A buffer fd with its transfer chosen (and, for a block capture, its blocks queued), not
/// enabled yet.
#[derive(Debug)]
pub(crate) struct Prepared {
    fd: OwnedFd,
    node: PathBuf,
    transfer: Transfer,
    blocks: Option<Blocks>,
    cancel: Arc<EventFdCancel>,
}

/// Chooses the transfer for buffer fd `fd` (of device node `node`) and sets it up: call it
/// once the buffer's length is written and before it is enabled. On failure nothing stays
/// attached, mapped or allocated.
pub(crate) fn prepare(fd: OwnedFd, node: PathBuf, spec: &BufferSpec<'_>) -> Result<Prepared> {
    let cancel = EventFdCancel::new().map_err(|e| Error::io(&node, e))?;
    let (transfer, mut blocks) = choose_transfer(&fd, spec, &node)?;
    // Capture blocks are queued before the device starts, as libiio does.
    if let Some(b) = blocks.as_mut() {
        if let Err((step, e)) = b.start(fd.as_fd()) {
            b.finish(fd.as_fd());
            return Err(block_error(&node, step, e));
        }
    }
    Ok(Prepared {
        fd,
        node,
        transfer,
        blocks,
        cancel,
    })
}

impl Prepared {
    /// The setup failed after this (enabling the buffer, say): lets go of the blocks. Call
    /// it after the settings were put back (the buffer disabled).
    pub(crate) fn abort(mut self) {
        if let Some(mut b) = self.blocks.take() {
            b.finish(self.fd.as_fd());
        }
    }

    /// The stream of the enabled buffer. `settings` is what configured it: the stream puts
    /// it back when it closes.
    pub(crate) fn into_stream(
        self,
        what: String,
        spec: &BufferSpec<'_>,
        settings: Settings,
    ) -> KernelStream {
        KernelStream {
            what,
            node: self.node,
            fd: self.fd,
            settings,
            scan_bytes: spec.scan_bytes,
            carry: Vec::new(),
            blocking: true,
            timeout: Some(DEFAULT_TIMEOUT),
            cancel: self.cancel,
            transfer: self.transfer,
            cyclic: spec.cyclic,
            pusher: None,
            blocks: self.blocks,
            cyclic_pushed: false,
            closed: false,
        }
    }
}

/// The error of a failed step of a block transfer (DMABUF or mmap blocks).
fn block_error(node: &Path, step: Step, e: Errno) -> Error {
    match step {
        Step::OpenHeap => Error::io(dmabuf::SYSTEM_HEAP, e.into()),
        Step::Count | Step::BlockCount => Error::InvalidValue {
            what: format!("kernel buffers of {}", node.display()),
            reason: format!(
                "{} transfers take at most {} blocks",
                if step == Step::Count {
                    "DMABUF"
                } else {
                    "mmap block"
                },
                dmabuf::MAX_BLOCKS.min(mmap_blocks::MAX_BLOCKS)
            ),
        },
        _ => Error::Ioctl {
            path: node.to_path_buf(),
            ioctl: step.ioctl(),
            source: e.into(),
        },
    }
}

/// Picks the transfer method (before the buffer is enabled: dma-bufs must be attached and
/// capture blocks queued first). `Auto` takes DMABUF when the system dma-heap exists and the
/// buffer accepts dma-bufs (a DMA buffer driver on a kernel with the interface), else ADI's
/// mmap blocks when the kernel has them (probed with `BLOCK_FREE`, as libiio does), else
/// read/write. A forced method that is not available is an error naming the step that
/// failed.
fn choose_transfer(
    fd: &OwnedFd,
    spec: &BufferSpec<'_>,
    node: &Path,
) -> Result<(Transfer, Option<Blocks>)> {
    let unsupported = |what: String| Error::Unsupported {
        backend: "local",
        what,
    };
    let count = if spec.cyclic {
        1
    } else {
        spec.kernel_buffers.max(1)
    };
    let block_bytes = spec.samples.saturating_mul(spec.scan_bytes);
    let dmabufs = || {
        Dmabufs::setup(
            fd.as_fd(),
            dmabuf::SYSTEM_HEAP,
            count,
            block_bytes,
            spec.output,
            spec.cyclic,
        )
        .map(Blocks::Dmabuf)
    };
    let mmap = || {
        MmapBlocks::setup(fd.as_fd(), count, block_bytes, spec.output, spec.cyclic)
            .map(Blocks::Mmap)
    };
    let setup_error = |e: SetupError| block_error(node, e.step, e.errno);
    let chosen = |b: Blocks| Ok((b.transfer(), Some(b)));
    match spec.transfer {
        TransferRequest::Force(Transfer::ReadWrite) => Ok((Transfer::ReadWrite, None)),
        TransferRequest::Auto => match dmabufs() {
            Ok(b) => chosen(b),
            // Once the kernel took a dma-buf, file I/O stays off until it has released
            // them (dmabuf.rs): no fallback in this opening.
            Err(e) if e.attached_any => Err(setup_error(e)),
            Err(_) => match mmap() {
                Ok(b) => chosen(b),
                // No block API, or more blocks than it gives: read/write (as for DMABUF).
                Err((Step::BlockProbe | Step::BlockCount, _)) => Ok((Transfer::ReadWrite, None)),
                Err((step, e)) => Err(block_error(node, step, e)),
            },
        },
        TransferRequest::Force(Transfer::Dmabuf) => match dmabufs() {
            Ok(b) => chosen(b),
            Err(e) => Err(setup_error(e)),
        },
        TransferRequest::Force(Transfer::MmapBlocks) => match mmap() {
            Ok(b) => chosen(b),
            Err((step, e)) => Err(block_error(node, step, e)),
        },
        TransferRequest::Force(t) => {
            Err(unsupported(format!("{t} transfers on {}", node.display())))
        }
    }
}

/// The kernel blocks of a block transfer: attached dma-bufs or mapped ADI blocks. Both lend
/// capture blocks in place and copy output once.
#[derive(Debug)]
enum Blocks {
    Dmabuf(Dmabufs),
    Mmap(MmapBlocks),
}

impl Blocks {
    fn transfer(&self) -> Transfer {
        match self {
            Blocks::Dmabuf(_) => Transfer::Dmabuf,
            Blocks::Mmap(_) => Transfer::MmapBlocks,
        }
    }

    fn is_output(&self) -> bool {
        match self {
            Blocks::Dmabuf(d) => d.is_output(),
            Blocks::Mmap(m) => m.is_output(),
        }
    }

    /// Before the buffer is enabled: capture queues every block.
    fn start(&mut self, buffer: BorrowedFd<'_>) -> std::result::Result<(), (Step, Errno)> {
        match self {
            Blocks::Dmabuf(d) => d.start(buffer),
            Blocks::Mmap(m) => m.start(buffer),
        }
    }

    /// Capture: the lent block goes back to the device (and one whose queueing failed is
    /// queued again).
    fn give_back(&mut self, buffer: BorrowedFd<'_>) -> std::result::Result<(), (Step, Errno)> {
        match self {
            Blocks::Dmabuf(d) => d
                .give_back(buffer)
                .and_then(|()| d.requeue_if_needed(buffer)),
            Blocks::Mmap(m) => m.give_back(buffer),
        }
    }

    /// What the next step waits for, if anything: an fd (the dma-buf, or the buffer fd
    /// itself for mmap blocks) and its `poll()` events.
    fn pending<'a>(&'a self, buffer: BorrowedFd<'a>) -> Option<(BorrowedFd<'a>, PollFlags)> {
        match self {
            Blocks::Dmabuf(d) => d.pending(),
            Blocks::Mmap(m) => m.pending().map(|ev| (buffer, ev)),
        }
    }

    /// Takes the block the wait was for; `Ok(false)`: not there after all, wait again.
    fn take(&mut self, buffer: BorrowedFd<'_>) -> std::result::Result<bool, (Step, Errno)> {
        match self {
            Blocks::Dmabuf(d) => d.take().map(|()| true),
            Blocks::Mmap(m) => m.take(buffer),
        }
    }

    fn lend(&mut self) -> usize {
        match self {
            Blocks::Dmabuf(d) => d.lend(),
            Blocks::Mmap(m) => m.lend(),
        }
    }

    fn lent(&self) -> &[u8] {
        match self {
            Blocks::Dmabuf(d) => d.lent(),
            Blocks::Mmap(m) => m.lent(),
        }
    }

    fn copy_in(
        &mut self,
        buffer: BorrowedFd<'_>,
        src: &[u8],
    ) -> std::result::Result<usize, (Step, Errno)> {
        match self {
            Blocks::Dmabuf(d) => d.copy_in(buffer, src),
            Blocks::Mmap(m) => m.copy_in(buffer, src),
        }
    }

    /// After the buffer was disabled: dma-bufs are detached and waited for until the kernel
    /// let go of them (dmabuf.rs); mmap blocks are unmapped and freed.
    fn finish(&mut self, buffer: BorrowedFd<'_>) {
        match self {
            Blocks::Dmabuf(d) => {
                d.detach(buffer);
                d.wait_released();
            }
            Blocks::Mmap(m) => m.free(buffer),
        }
    }
}

impl KernelStream {
    fn cancelled(&self) -> Error {
        Error::Cancelled {
            what: self.what.clone(),
        }
    }

    /// Waits for `events` on the buffer fd, the cancel eventfd, or the deadline.
    fn wait(&self, events: PollFlags, deadline: Option<Instant>) -> Result<Waited> {
        wait_fd(
            &self.cancel,
            &self.what,
            &self.node,
            self.fd.as_fd(),
            events,
            deadline,
        )
    }

    /// Waits until the block transfer holds a block (capture: a finished one; output: a
    /// free one). `Ok(false)`: none came in time (non-blocking, or the deadline passed).
    fn wait_block(&mut self, deadline: Option<Instant>) -> Result<bool> {
        let fd = self.fd.as_fd();
        let b = self.blocks.as_mut().expect("a block transfer");
        loop {
            // Nothing to wait for when a block is at hand (held, or never queued).
            let waited = b.pending(fd).map(|(wfd, ev)| {
                let limit = wait_limit(self.blocking, deadline);
                wait_fd(&self.cancel, &self.what, &self.node, wfd, ev, limit)
            });
            let waited = waited.transpose()?;
            if let Some(Waited::TimedOut) = waited {
                return Ok(false);
            }
            if b.take(fd)
                .map_err(|(step, e)| block_error(&self.node, step, e))?
            {
                return Ok(true);
            }
            // Ready, yet the kernel had no block (another holder of the fd took it, or a
            // buffer whose readiness is not tied to finished blocks): never spin on it.
            let past_deadline = deadline.is_some_and(|d| Instant::now() >= d);
            if waited.is_none() || !self.blocking || past_deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Capture through kernel blocks without copying: the held block goes back to the
    /// device and the next finished one is lent (`lent()`).
    fn acquire_block(&mut self) -> Result<usize> {
        let deadline = self.deadline();
        let fd = self.fd.as_fd();
        let b = self.blocks.as_mut().expect("a block transfer");
        b.give_back(fd)
            .map_err(|(step, e)| block_error(&self.node, step, e))?;
        if !self.wait_block(deadline)? {
            if !self.blocking {
                return Ok(0);
            }
            return Err(self.timed_out("refill"));
        }
        // Whole scans only (a kernel may fill a block short of its end).
        let sb = self.scan_bytes.max(1);
        Ok(self.blocks.as_mut().expect("a block transfer").lend() / sb * sb)
    }

    /// Output through kernel blocks: copies `buf` (whole scans) into free blocks and queues
    /// each block when it is full or the data ends. A cyclic buffer takes one block.
    fn write_blocks(&mut self, buf: &[u8]) -> Result<usize> {
        if self.cyclic && self.cyclic_pushed {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: "a cyclic buffer takes one block; close it to push another".into(),
            });
        }
        let deadline = self.deadline();
        let mut done = 0;
        while done < buf.len() {
            if !self.wait_block(deadline)? {
                if done > 0 || !self.blocking {
                    break;
                }
                return Err(self.timed_out("push"));
            }
            let fd = self.fd.as_fd();
            let b = self.blocks.as_mut().expect("a block transfer");
            done += b
                .copy_in(fd, &buf[done..])
                .map_err(|(step, e)| block_error(&self.node, step, e))?;
        }
        if self.cyclic && done > 0 {
            self.cyclic_pushed = true;
        }
        Ok(done)
    }

    fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|t| Instant::now() + t)
    }

    fn timed_out(&self, op: &str) -> Error {
        Error::Timeout {
            what: format!("{op} of {}", self.what),
            after: self.timeout.unwrap_or_default(),
        }
    }
}

/// How long a DMABUF step may wait: until `deadline` in blocking mode, not at all
/// otherwise.
fn wait_limit(blocking: bool, deadline: Option<Instant>) -> Option<Instant> {
    if blocking {
        deadline
    } else {
        Some(Instant::now())
    }
}

/// `read()` without retrying: `Ok(None)` for EAGAIN.
fn read_some(fd: BorrowedFd<'_>, buf: &mut [u8]) -> std::result::Result<Option<usize>, Errno> {
    again_is_none(crate::ioctl::retry_intr(|| rustix::io::read(fd, &mut *buf)))
}

/// `write()` without retrying: `Ok(None)` for EAGAIN.
fn write_some(fd: BorrowedFd<'_>, buf: &[u8]) -> std::result::Result<Option<usize>, Errno> {
    again_is_none(crate::ioctl::retry_intr(|| rustix::io::write(fd, buf)))
}

/// EAGAIN (nothing to transfer now) as `Ok(None)`.
fn again_is_none(
    r: std::result::Result<usize, Errno>,
) -> std::result::Result<Option<usize>, Errno> {
    match r {
        Ok(n) => Ok(Some(n)),
        Err(Errno::AGAIN) => Ok(None),
        Err(e) => Err(e),
    }
}

impl BufferStream for KernelStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.closed {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: "the buffer is closed".into(),
            });
        }
        if self.cancel.is_cancelled() {
            return Err(self.cancelled());
        }
        if self.blocks.is_some() {
            // `Buffer` takes capture blocks in place (`acquire`/`lent`).
            return Err(Error::Unsupported {
                backend: "local",
                what: format!(
                    "copying reads of a {} capture (its blocks are lent)",
                    self.transfer
                ),
            });
        }
        let sb = self.scan_bytes.max(1);
        let want = buf.len() / sb * sb;
        let mut filled = self.carry.len().min(want);
        buf[..filled].copy_from_slice(&self.carry[..filled]);
        self.carry.drain(..filled);
        let deadline = self.deadline();
        let mut timed_out = false;
        while filled < want {
            match read_some(self.fd.as_fd(), &mut buf[filled..want]) {
                Ok(Some(0)) => break, // end of stream: a FIFO without writers
                Ok(Some(n)) => filled += n,
                Ok(None) => {
                    if !self.blocking || timed_out {
                        break;
                    }
                    if let Waited::TimedOut = self.wait(PollFlags::IN, deadline)? {
                        // One last look: the kernel signals readiness only at the watermark,
                        // but a non-blocking read hands out whatever is there.
                        timed_out = true;
                    }
                }
                Err(e) => return Err(Error::io(&self.node, e.into())),
            }
        }
        let whole = filled / sb * sb;
        self.carry.extend_from_slice(&buf[whole..filled]);
        if whole == 0 && timed_out {
            return Err(self.timed_out("refill"));
        }
        Ok(whole)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        if self.closed {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: "the buffer is closed".into(),
            });
        }
        if self.cancel.is_cancelled() {
            return Err(self.cancelled());
        }
        let sb = self.scan_bytes.max(1);
        let want = buf.len() / sb * sb;
        if self.blocks.is_some() {
            return self.write_blocks(&buf[..want]);
        }
        if self.cyclic {
            if self.pusher.is_some() {
                return Err(Error::InvalidValue {
                    what: self.what.clone(),
                    reason: "a cyclic buffer takes one block; close it to push another".into(),
                });
            }
            if want == 0 {
                return Ok(0);
            }
            let fd = self.fd.try_clone().map_err(|e| Error::io(&self.node, e))?;
            let pusher = Pusher::start(fd, buf[..want].to_vec(), self.cancel.clone())
                .map_err(|e| Error::io(&self.node, e))?;
            self.pusher = Some(pusher);
            return Ok(want);
        }
        let deadline = self.deadline();
        let mut done = 0;
        while done < want {
            match write_some(self.fd.as_fd(), &buf[done..want]) {
                Ok(Some(n)) => done += n,
                Ok(None) => {
                    // Non-blocking: stop at a scan boundary, finish a scan begun.
                    if !self.blocking && done % sb == 0 {
                        break;
                    }
                    if let Waited::TimedOut = self.wait(PollFlags::OUT, deadline)? {
                        if done % sb == 0 && done > 0 {
                            break;
                        }
                        return Err(self.timed_out("push"));
                    }
                }
                Err(e) => return Err(Error::io(&self.node, e.into())),
            }
        }
        Ok(done)
    }

    fn set_blocking(&mut self, blocking: bool) -> Result<()> {
        self.blocking = blocking;
        Ok(())
    }

    fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::new(self.cancel.clone())
    }

    fn transfer(&self) -> Transfer {
        self.transfer
    }

    fn lends_blocks(&self) -> bool {
        !self.closed && self.blocks.as_ref().is_some_and(|b| !b.is_output())
    }

    fn acquire(&mut self) -> Result<usize> {
        if self.closed || self.blocks.is_none() {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: "no block to lend: the buffer is closed or copies through read()".into(),
            });
        }
        if self.cancel.is_cancelled() {
            return Err(self.cancelled());
        }
        self.acquire_block()
    }

    fn lent(&self) -> &[u8] {
        self.blocks.as_ref().map_or(&[], |b| b.lent())
    }

    fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if let Some(mut p) = self.pusher.take() {
            p.stop();
        }
        let restored = self.settings.restore();
        // Disabled now: the kernel aborted every block in flight. Detach the dma-bufs (and
        // wait until the kernel let go of them, so the buffer can do read()/write() again,
        // dmabuf.rs) or unmap and free the mmap blocks.
        if let Some(mut b) = self.blocks.take() {
            b.finish(self.fd.as_fd());
        }
        restored
    }
}

impl Drop for KernelStream {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
