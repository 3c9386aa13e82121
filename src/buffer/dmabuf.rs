//! DMABUF transfers (the `IIO_BUFFER_DMABUF_*` ioctls of recent kernels — 6.12 is what the
//! VM tier tests — on buffers of DMA buffer drivers): the kernel-side blocks of a buffer are dma-bufs this process allocates from the
//! system dma-heap (`/dev/dma_heap/system`), attaches to the IIO buffer and maps. The device
//! DMAs straight into (or out of) them; a block is queued with `IIO_BUFFER_DMABUF_ENQUEUE`,
//! its completion is waited for with `poll()` on the dma-buf (which waits on the fence the
//! IIO core attached), and CPU access is bracketed by `DMA_BUF_IOCTL_SYNC`.
//!
//! Blocks are used in the order they were queued (the IIO core completes them in order).
//! Capture queues every block at start, lends each completed block to the `Buffer` (its
//! scans are read in place) and re-queues it at the next refill; output copies the pushed
//! scans into the next free block and queues it with the bytes pushed.

use crate::buffer::uapi::{self, IioDmabuf, Mapping};
use rustix::io::Errno;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// The dma-heap DMABUF blocks come from (libiio 1.x uses the same one).
pub(crate) const SYSTEM_HEAP: &str = "/dev/dma_heap/system";

/// One block: a dma-buf and its mapping.
#[derive(Debug)]
struct DmaBlock {
    fd: OwnedFd,
    map: Mapping,
}

/// What a step of the DMABUF setup or transfer was, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
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
}

impl Step {
    /// The kernel interface the step uses, as named in its header.
    pub(crate) fn ioctl(self) -> &'static str {
        match self {
            Step::OpenHeap => "open of the dma-heap",
            Step::Alloc => "DMA_HEAP_IOCTL_ALLOC",
            Step::Map => "mmap of a dma-buf",
            Step::Attach => "IIO_BUFFER_DMABUF_ATTACH_IOCTL",
            Step::Enqueue => "IIO_BUFFER_DMABUF_ENQUEUE_IOCTL",
            Step::Sync => "DMA_BUF_IOCTL_SYNC",
        }
    }
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
    attached: usize,
}

impl Dmabufs {
    /// Allocates `count` dma-bufs of `block_bytes` from `heap`, maps them and attaches them
    /// to `buffer` (before the buffer is enabled, so the kernel leaves file I/O mode).
    /// On failure nothing stays attached.
    pub(crate) fn setup(
        buffer: BorrowedFd<'_>,
        heap: &str,
        count: usize,
        block_bytes: usize,
        output: bool,
        cyclic: bool,
    ) -> Result<Dmabufs, (Step, Errno)> {
        if block_bytes == 0 || count == 0 {
            return Err((Step::Alloc, Errno::INVAL));
        }
        let heap = rustix::fs::open(
            heap,
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| (Step::OpenHeap, e))?;
        let mut bufs = Dmabufs {
            blocks: Vec::with_capacity(count),
            block_bytes,
            next: 0,
            held: false,
            pos: 0,
            lent_from: 0,
            output,
            cyclic,
            attached: 0,
        };
        for _ in 0..count {
            let fd = uapi::dma_heap_alloc(&heap, block_bytes as u64).map_err(|e| (Step::Alloc, e));
            let block = fd.and_then(|fd| {
                let map = Mapping::new(&fd, 0, block_bytes).map_err(|e| (Step::Map, e))?;
                Ok(DmaBlock { fd, map })
            });
            let block = match block {
                Ok(b) => b,
                Err(e) => {
                    bufs.detach(buffer);
                    return Err(e);
                }
            };
            if let Err(e) = uapi::dmabuf_attach(buffer, block.fd.as_fd()) {
                bufs.detach(buffer);
                return Err((Step::Attach, e));
            }
            bufs.blocks.push(block);
            bufs.attached += 1;
        }
        Ok(bufs)
    }

    /// After the buffer is enabled: capture queues every block.
    pub(crate) fn start(&mut self, buffer: BorrowedFd<'_>) -> Result<(), (Step, Errno)> {
        if self.output {
            return Ok(());
        }
        for i in 0..self.blocks.len() {
            self.enqueue(buffer, i, self.block_bytes)?;
        }
        Ok(())
    }

    fn enqueue(&self, buffer: BorrowedFd<'_>, i: usize, bytes: usize) -> Result<(), (Step, Errno)> {
        let req = IioDmabuf {
            fd: self.blocks[i].fd.as_raw_fd() as u32,
            flags: if self.cyclic { uapi::DMABUF_CYCLIC } else { 0 },
            bytes_used: bytes as u64,
        };
        uapi::dmabuf_enqueue(buffer, req).map_err(|e| (Step::Enqueue, e))
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
    /// done.
    pub(crate) fn take(&mut self) -> Result<(), (Step, Errno)> {
        if self.held {
            return Ok(());
        }
        let dir = if self.output {
            uapi::DMA_BUF_SYNC_WRITE
        } else {
            uapi::DMA_BUF_SYNC_READ
        };
        uapi::dma_buf_sync(&self.blocks[self.next].fd, uapi::DMA_BUF_SYNC_START | dir)
            .map_err(|e| (Step::Sync, e))?;
        self.held = true;
        self.pos = 0;
        self.lent_from = 0;
        Ok(())
    }

    /// Whether the blocks carry output.
    pub(crate) fn is_output(&self) -> bool {
        self.output
    }

    /// Capture without copying: lends what is left of the held block (taken with
    /// [`Dmabufs::take`]) and counts it as consumed; the next lend or copy gives it back.
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
    /// when `last` (the end of this push). Returns the bytes taken.
    pub(crate) fn copy_in(
        &mut self,
        buffer: BorrowedFd<'_>,
        src: &[u8],
        last: bool,
    ) -> Result<usize, (Step, Errno)> {
        debug_assert!(self.held && self.output);
        let n = src.len().min(self.block_bytes - self.pos);
        let pos = self.pos;
        self.blocks[self.next].map.as_mut_slice()[pos..pos + n].copy_from_slice(&src[..n]);
        self.pos += n;
        if self.pos == self.block_bytes || (last && n == src.len()) {
            self.release(buffer, self.pos)?;
        }
        Ok(n)
    }

    /// Ends CPU access to the held block, queues it with `bytes` and moves on.
    fn release(&mut self, buffer: BorrowedFd<'_>, bytes: usize) -> Result<(), (Step, Errno)> {
        let dir = if self.output {
            uapi::DMA_BUF_SYNC_WRITE
        } else {
            uapi::DMA_BUF_SYNC_READ
        };
        self.held = false;
        uapi::dma_buf_sync(&self.blocks[self.next].fd, uapi::DMA_BUF_SYNC_END | dir)
            .map_err(|e| (Step::Sync, e))?;
        self.enqueue(buffer, self.next, bytes)?;
        self.next = (self.next + 1) % self.blocks.len();
        self.pos = 0;
        Ok(())
    }

    /// Detaches every attached dma-buf (the buffer must be disabled). Errors are ignored:
    /// closing the buffer's fd detaches them too.
    pub(crate) fn detach(&mut self, buffer: BorrowedFd<'_>) {
        for b in self.blocks.iter().take(self.attached) {
            let _ = uapi::dmabuf_detach(buffer, b.fd.as_fd());
        }
        self.attached = 0;
    }
}
