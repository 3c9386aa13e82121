//! DMABUF transfers (the `IIO_BUFFER_DMABUF_*` ioctls of recent kernels — 6.12 is what the
//! VM tier tests — on buffers of DMA buffer drivers): the kernel-side blocks of a buffer are
//! dma-bufs this process allocates from the system dma-heap (`/dev/dma_heap/system`),
//! attaches to the IIO buffer and maps. The device DMAs straight into (or out of) them; a
//! block is queued with `IIO_BUFFER_DMABUF_ENQUEUE`, its completion is waited for with
//! `poll()` on the dma-buf (which waits on the fence the IIO core attached: `POLLIN` waits
//! for the device's write fence of a capture, `POLLOUT` for every fence), and CPU access is
//! bracketed by `DMA_BUF_IOCTL_SYNC`.
//!
//! Blocks are used in the order they were queued (the IIO core completes them in order).
//! Capture queues every block before the buffer is enabled (as libiio 1.x does), lends
//! each completed block to the `Buffer` (its scans are read in place) and re-queues it at
//! the next refill; output copies the pushed scans into the next free block and queues it
//! with the bytes pushed.
//!
//! A fence can be signalled with an error (the transfer was aborted: the buffer was
//! disabled under us, or the driver failed it). Right after queueing a block its fence is
//! exported as a sync_file (`DMA_BUF_IOCTL_EXPORT_SYNC_FILE`, kernels with
//! `CONFIG_SYNC_FILE`), whose status is read once the block is done: a failed block is
//! an error, never handed out as data. Without sync_file support that check is skipped.
//!
//! Kernel quirk (6.12): attaching a dma-buf frees the buffer's file-I/O blocks, and
//! detaching releases the dma-buf blocks later, from a work item. Until it has run the
//! buffer cannot do `read()`/`write()` again (and a non-blocking `read()` then reaches a
//! NULL block in `iio_dma_buffer_dequeue`). So once a dma-buf was attached, a failed setup
//! does not fall back to read/write, and closing waits (at most [`RELEASE_WAIT`]) until the
//! kernel has let go of every dma-buf.

use crate::buffer::uapi::{self, IioDmabuf, Mapping};
use rustix::io::Errno;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// The dma-heap DMABUF blocks come from (libiio 1.x uses the same one).
pub(crate) const SYSTEM_HEAP: &str = "/dev/dma_heap/system";

/// Most dma-bufs one buffer gets (each is an fd and a block of pinned memory).
pub(crate) const MAX_BLOCKS: usize = 64;

/// How long closing waits for the kernel to let go of the dma-bufs.
pub(crate) const RELEASE_WAIT: Duration = Duration::from_millis(500);

/// One block: a dma-buf, its mapping, and where it stands.
#[derive(Debug)]
struct DmaBlock {
    fd: OwnedFd,
    map: Mapping,
    /// Queued to the device and not taken back since.
    queued: bool,
    /// The fence of the last queueing, as a sync_file (for its status).
    fence: Option<OwnedFd>,
}

/// What a step of the DMABUF or mmap-block setup or transfer was, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Too many blocks asked for.
    Count,
    /// Opening the dma-heap.
    OpenHeap,
    /// `DMA_HEAP_IOCTL_ALLOC`.
    Alloc,
    /// mmap of a dma-buf.
    Map,
    /// `IIO_BUFFER_DMABUF_ATTACH_IOCTL`.
    Attach,
    /// `IIO_BUFFER_DMABUF_ENQUEUE_IOCTL`.
    Enqueue,
    /// `DMA_BUF_IOCTL_SYNC`.
    Sync,
    /// A transfer whose fence was signalled with an error.
    Transfer,
    /// Too many mmap blocks asked for (ADI block API, `mmap_blocks.rs`).
    BlockCount,
    /// `BLOCK_FREE_IOCTL` as the probe for the ADI block API.
    BlockProbe,
    /// `BLOCK_ALLOC_IOCTL`.
    BlockAlloc,
    /// A block smaller than asked for (the kernel's maximum block size).
    BlockSize,
    /// `BLOCK_QUERY_IOCTL`.
    BlockQuery,
    /// mmap of a kernel block.
    BlockMap,
    /// `BLOCK_ENQUEUE_IOCTL`.
    BlockEnqueue,
    /// `BLOCK_DEQUEUE_IOCTL`.
    BlockDequeue,
    /// `BLOCK_DEQUEUE_IOCTL` gave an empty capture block (the transfer was aborted).
    BlockEmpty,
}

impl Step {
    /// The kernel interface the step uses, as named in its header.
    pub(crate) fn ioctl(self) -> &'static str {
        match self {
            Step::Count => "the number of DMABUF blocks (at most 64)",
            Step::OpenHeap => "open of the dma-heap",
            Step::Alloc => "DMA_HEAP_IOCTL_ALLOC",
            Step::Map => "mmap of a dma-buf",
            Step::Attach => "IIO_BUFFER_DMABUF_ATTACH_IOCTL",
            Step::Enqueue => "IIO_BUFFER_DMABUF_ENQUEUE_IOCTL",
            Step::Sync => "DMA_BUF_IOCTL_SYNC",
            Step::Transfer => "a DMABUF transfer (its fence was signalled with an error)",
            Step::BlockCount => "the number of mmap blocks (at most 64)",
            Step::BlockProbe => "BLOCK_FREE_IOCTL (the ADI mmap block API)",
            Step::BlockAlloc => "BLOCK_ALLOC_IOCTL (ADI mmap block API)",
            Step::BlockSize => {
                "BLOCK_ALLOC_IOCTL (ADI mmap block API): the kernel has no blocks as large as \
                 one buffer block"
            }
            Step::BlockQuery => "BLOCK_QUERY_IOCTL (ADI mmap block API)",
            Step::BlockMap => "mmap of a kernel block (ADI mmap block API)",
            Step::BlockEnqueue => "BLOCK_ENQUEUE_IOCTL (ADI mmap block API)",
            Step::BlockDequeue => "BLOCK_DEQUEUE_IOCTL (ADI mmap block API)",
            Step::BlockEmpty => {
                "BLOCK_DEQUEUE_IOCTL (ADI mmap block API): an empty capture block (the transfer \
                 was aborted: buffer disabled or device gone?)"
            }
        }
    }
}

/// Why [`Dmabufs::setup`] failed, and whether the kernel already took a dma-buf (then the
/// buffer must not fall back to `read()`/`write()` in this opening).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SetupError {
    pub(crate) step: Step,
    pub(crate) errno: Errno,
    pub(crate) attached_any: bool,
}

/// The dma-bufs of one open buffer and where the transfer stands.
#[derive(Debug)]
pub(crate) struct Dmabufs {
    blocks: Vec<DmaBlock>,
    block_bytes: usize,
    /// The block to take next (capture) or to fill next (output).
    next: usize,
    /// `blocks[next]` is held by this process (synced for CPU access).
    held: bool,
    /// Bytes of `blocks[next]` already lent (capture) or filled (output).
    pos: usize,
    /// Capture: where the bytes lent from the held block start.
    lent_from: usize,
    output: bool,
    cyclic: bool,
    /// Every block in `blocks` is attached until [`Dmabufs::detach`] ran.
    detached: bool,
    /// Whether the kernel exports fences as sync_files (`CONFIG_SYNC_FILE`).
    sync_files: bool,
    /// A transfer failed: every later call reports it.
    failed: Option<Errno>,
}

/// Allocates one dma-buf of `bytes` from `heap`.
fn alloc(heap: BorrowedFd<'_>, bytes: usize) -> Result<OwnedFd, (Step, Errno)> {
    uapi::dma_heap_alloc(heap, bytes as u64).map_err(|e| (Step::Alloc, e))
}

/// A dma-buf of `bytes` from `heap`, mapped.
fn alloc_mapped(heap: BorrowedFd<'_>, bytes: usize) -> Result<(OwnedFd, Mapping), (Step, Errno)> {
    uapi::dma_heap_alloc_mapped(heap, bytes)
        .map_err(|(mapping, e)| (if mapping { Step::Map } else { Step::Alloc }, e))
}

impl Dmabufs {
    /// Allocates `count` dma-bufs of `block_bytes` from `heap`, maps them and attaches them
    /// to `buffer` (before the buffer is enabled, so the kernel leaves file I/O mode). A
    /// one-page dma-buf is offered first, so a buffer that takes none (kfifo) costs no
    /// block allocations. On failure nothing stays attached.
    pub(crate) fn setup(
        buffer: BorrowedFd<'_>,
        heap: &str,
        count: usize,
        block_bytes: usize,
        output: bool,
        cyclic: bool,
    ) -> Result<Dmabufs, SetupError> {
        let fail = |(step, errno): (Step, Errno), attached_any| SetupError {
            step,
            errno,
            attached_any,
        };
        if count > MAX_BLOCKS {
            return Err(fail((Step::Count, Errno::TOOBIG), false));
        }
        if block_bytes == 0 || count == 0 {
            return Err(fail((Step::Alloc, Errno::INVAL), false));
        }
        let heap = rustix::fs::open(
            heap,
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| fail((Step::OpenHeap, e), false))?;
        // The probe: does this buffer take dma-bufs at all?
        let probe = alloc(heap.as_fd(), 4096).map_err(|e| fail(e, false))?;
        uapi::dmabuf_attach(buffer, probe.as_fd()).map_err(|e| fail((Step::Attach, e), false))?;
        let _ = uapi::dmabuf_detach(buffer, probe.as_fd());
        drop(probe);

        let mut bufs = Dmabufs {
            blocks: Vec::with_capacity(count),
            block_bytes,
            next: 0,
            held: false,
            pos: 0,
            lent_from: 0,
            output,
            cyclic,
            detached: false,
            sync_files: true,
            failed: None,
        };
        for _ in 0..count {
            let block = alloc_mapped(heap.as_fd(), block_bytes).and_then(|(fd, map)| {
                uapi::dmabuf_attach(buffer, fd.as_fd()).map_err(|e| (Step::Attach, e))?;
                Ok(DmaBlock {
                    fd,
                    map,
                    queued: false,
                    fence: None,
                })
            });
            match block {
                Ok(b) => bufs.blocks.push(b),
                Err(e) => {
                    bufs.detach(buffer);
                    return Err(fail(e, true));
                }
            }
        }
        Ok(bufs)
    }

    /// Before the buffer is enabled: capture queues every block (the device starts with
    /// somewhere to put its data).
    pub(crate) fn start(&mut self, buffer: BorrowedFd<'_>) -> Result<(), (Step, Errno)> {
        if self.output {
            return Ok(());
        }
        for i in 0..self.blocks.len() {
            self.enqueue(buffer, i, self.block_bytes)?;
        }
        Ok(())
    }

    fn enqueue(
        &mut self,
        buffer: BorrowedFd<'_>,
        i: usize,
        bytes: usize,
    ) -> Result<(), (Step, Errno)> {
        let req = IioDmabuf {
            fd: self.blocks[i].fd.as_raw_fd() as u32,
            flags: if self.cyclic { uapi::DMABUF_CYCLIC } else { 0 },
            bytes_used: bytes as u64,
        };
        uapi::dmabuf_enqueue(buffer, req).map_err(|e| (Step::Enqueue, e))?;
        let access = self.access();
        let block = &mut self.blocks[i];
        block.queued = true;
        block.fence = None;
        if self.sync_files {
            // Capture fences are "write" fences, which a reader waits for; output fences
            // are "read" fences, which only a writer waits for.
            let flags = access as u32;
            match uapi::dma_buf_export_sync_file(&block.fd, flags) {
                Ok(f) => block.fence = Some(f),
                Err(Errno::NOTTY) | Err(Errno::NOSYS) => self.sync_files = false,
                // Anything else: this block goes unchecked.
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Capture: queues `blocks[next]` again if giving it back failed earlier (so a block
    /// the device never refilled is not lent twice).
    pub(crate) fn requeue_if_needed(
        &mut self,
        buffer: BorrowedFd<'_>,
    ) -> Result<(), (Step, Errno)> {
        if let Some(e) = self.failed {
            return Err((Step::Transfer, e));
        }
        if !self.output && !self.held && !self.blocks[self.next].queued {
            self.enqueue(buffer, self.next, self.block_bytes)?;
        }
        Ok(())
    }

    /// The dma-buf the next transfer step waits on, and the `poll()` events that mean it
    /// is done: `POLLIN` (the device's write fence signalled) for capture, `POLLOUT` (every
    /// fence signalled) for output. `None` when that block is already held.
    pub(crate) fn pending(&self) -> Option<(BorrowedFd<'_>, rustix::event::PollFlags)> {
        if self.held {
            return None;
        }
        let ev = if self.output {
            rustix::event::PollFlags::OUT
        } else {
            rustix::event::PollFlags::IN
        };
        Some((self.blocks[self.next].fd.as_fd(), ev))
    }

    /// Takes `blocks[next]` for CPU access once [`Dmabufs::pending`]'s wait said it is
    /// done; a transfer that ended with an error is reported instead (and every later call
    /// reports it too).
    pub(crate) fn take(&mut self) -> Result<(), (Step, Errno)> {
        if self.held {
            return Ok(());
        }
        if let Some(e) = self.failed {
            return Err((Step::Transfer, e));
        }
        let dir = self.access();
        let block = &mut self.blocks[self.next];
        if let Some(fence) = block.fence.take() {
            if let Ok(status) = uapi::sync_file_status(&fence) {
                if status < 0 {
                    let e = Errno::from_raw_os_error(-status);
                    block.queued = false;
                    self.failed = Some(e);
                    return Err((Step::Transfer, e));
                }
            }
        }
        uapi::dma_buf_sync(&block.fd, uapi::DMA_BUF_SYNC_START | dir)
            .map_err(|e| (Step::Sync, e))?;
        block.queued = false;
        self.held = true;
        self.pos = 0;
        self.lent_from = 0;
        Ok(())
    }

    /// How this process touches the blocks: `DMA_BUF_SYNC_WRITE` for output,
    /// `DMA_BUF_SYNC_READ` for capture.
    fn access(&self) -> u64 {
        if self.output {
            uapi::DMA_BUF_SYNC_WRITE
        } else {
            uapi::DMA_BUF_SYNC_READ
        }
    }

    /// Whether the blocks carry output.
    pub(crate) fn is_output(&self) -> bool {
        self.output
    }

    /// Capture without copying: lends what is left of the held block (taken with
    /// [`Dmabufs::take`]) and counts it as consumed; the next lend gives it back.
    /// Returns the bytes lent.
    pub(crate) fn lend(&mut self) -> usize {
        debug_assert!(self.held && !self.output);
        self.lent_from = self.pos;
        self.pos = self.block_bytes;
        self.block_bytes - self.lent_from
    }

    /// The bytes lent by the last [`Dmabufs::lend`] (empty once given back).
    pub(crate) fn lent(&self) -> &[u8] {
        if !self.held || self.output {
            return &[];
        }
        &self.blocks[self.next].map.as_slice()[self.lent_from..self.block_bytes]
    }

    /// Capture: gives the held block back to the device once it was lent.
    pub(crate) fn give_back(&mut self, buffer: BorrowedFd<'_>) -> Result<(), (Step, Errno)> {
        if self.held && !self.output && self.pos == self.block_bytes {
            self.release(buffer, self.block_bytes)?;
        }
        Ok(())
    }

    /// Output: copies `src` into the held block; the block is queued when it is full or
    /// when `src` ends (the end of this push). Returns the bytes taken.
    pub(crate) fn copy_in(
        &mut self,
        buffer: BorrowedFd<'_>,
        src: &[u8],
    ) -> Result<usize, (Step, Errno)> {
        debug_assert!(self.held && self.output);
        let n = src.len().min(self.block_bytes - self.pos);
        let pos = self.pos;
        self.blocks[self.next].map.as_mut_slice()[pos..pos + n].copy_from_slice(&src[..n]);
        self.pos += n;
        if self.pos == self.block_bytes || n == src.len() {
            self.release(buffer, self.pos)?;
        }
        Ok(n)
    }

    /// Ends CPU access to the held block and queues it with `bytes`; moves on only when it
    /// was queued (a capture block that could not be queued is queued again before it is
    /// waited for).
    fn release(&mut self, buffer: BorrowedFd<'_>, bytes: usize) -> Result<(), (Step, Errno)> {
        let dir = self.access();
        self.held = false;
        uapi::dma_buf_sync(&self.blocks[self.next].fd, uapi::DMA_BUF_SYNC_END | dir)
            .map_err(|e| (Step::Sync, e))?;
        if let Err(e) = self.enqueue(buffer, self.next, bytes) {
            if self.output {
                // The pushed data is lost with the error; the block is free again.
                self.next = (self.next + 1) % self.blocks.len();
            }
            return Err(e);
        }
        self.next = (self.next + 1) % self.blocks.len();
        self.pos = 0;
        Ok(())
    }

    /// Detaches every attached dma-buf (the buffer must be disabled). Errors are ignored:
    /// closing the buffer's fd detaches them too.
    pub(crate) fn detach(&mut self, buffer: BorrowedFd<'_>) {
        if self.detached {
            return;
        }
        for b in &self.blocks {
            let _ = uapi::dmabuf_detach(buffer, b.fd.as_fd());
        }
        self.detached = true;
    }

    /// After [`Dmabufs::detach`]: waits until the kernel holds no reference to any of the
    /// dma-bufs (their `count` in `/proc/thread-self/fdinfo` is 2: our fd and our mapping), at most
    /// [`RELEASE_WAIT`], so the buffer can do `read()`/`write()` again (see the module
    /// documentation). Returns whether they were all released in time.
    pub(crate) fn wait_released(&self) -> bool {
        let deadline = Instant::now() + RELEASE_WAIT;
        loop {
            let busy = self
                .blocks
                .iter()
                .any(|b| fd_count(b.fd.as_fd()).is_some_and(|c| c > 2));
            if !busy {
                // The kernel frees its block bookkeeping from a work item it queued just
                // before dropping its reference; give that work a moment to run.
                std::thread::sleep(Duration::from_millis(2));
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The `count` the kernel shows for a dma-buf fd in fdinfo (references to its file, ours
/// included); `None` when it cannot be read.
fn fd_count(fd: BorrowedFd<'_>) -> Option<u64> {
    let text =
        std::fs::read_to_string(format!("/proc/thread-self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("count:"))
        .and_then(|v| v.trim().parse().ok())
}
