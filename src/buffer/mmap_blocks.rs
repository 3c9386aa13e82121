//! ADI's high-speed block API (the out-of-tree `IIO_BUFFER_BLOCK_*_IOCTL`s `0xa0`–`0xa4` of
//! Analog Devices' kernels, which libiio 0.x's local backend calls "high-speed mode"): the
//! kernel allocates the buffer's blocks itself, this process maps each one (`mmap` of the
//! buffer fd at the block's offset) and hands them back and forth by id. The device fills
//! (or drains) a block in place, so no copy is made on the way in and one on the way out.
//!
//! The sequence, as libiio uses it: `BLOCK_FREE` first, which never fails where the API
//! exists (the probe; elsewhere the kernel refuses the number), `BLOCK_ALLOC` for `count`
//! blocks of one scan block each (the kernel may give fewer, and clamps the size),
//! `BLOCK_QUERY` for each block's size and mmap offset, then the transfer: capture queues
//! every block before the buffer is enabled and from then on takes finished blocks with
//! `BLOCK_DEQUEUE` after `poll()` said the buffer fd is readable, lends each to the
//! `Buffer` (its scans are read in the mapping) and queues it again at the next refill;
//! output fills a block this process owns (a fresh one, or one `BLOCK_DEQUEUE` gave back
//! once the device drained it) and queues it with the bytes pushed (`bytes_used`), cyclic
//! output with `IIO_BUFFER_BLOCK_FLAG_CYCLIC`. Closing unmaps every block and frees them
//! with `BLOCK_FREE` after the buffer was disabled.
//!
//! Blocks are found by the id the kernel returns, never assumed to come back in order, and
//! what the kernel says of a block (its id, size, offset, bytes used) is checked before it
//! is used.

use crate::buffer::dmabuf::Step;
use crate::buffer::uapi::{self, Block, BlockMapError, Mapping};
use rustix::event::PollFlags;
use rustix::io::Errno;
use std::os::fd::BorrowedFd;

/// Most blocks one buffer gets (ADI kernels allow 64 per buffer).
pub(crate) const MAX_BLOCKS: usize = 64;

/// One kernel block mapped into this process.
#[derive(Debug)]
struct MappedBlock {
    /// The kernel's id of the block.
    id: u32,
    /// The block's bytes, as mapped.
    map: Mapping,
    /// Queued to the device and not taken back since.
    queued: bool,
}

/// The mapped blocks of one open buffer and where the transfer stands.
#[derive(Debug)]
pub(crate) struct MmapBlocks {
    blocks: Vec<MappedBlock>,
    /// The bytes of a block this buffer uses (one `Buffer` block).
    block_bytes: usize,
    output: bool,
    cyclic: bool,
    /// The block this process holds: capture, the one lent to the `Buffer`; output, the
    /// one being filled.
    held: Option<usize>,
    /// Capture: bytes of data in the held block. Output: bytes filled so far.
    pos: usize,
    /// Capture: the held block was lent (it goes back at the next refill).
    lent: bool,
    /// Blocks were freed (`BLOCK_FREE`) and unmapped.
    freed: bool,
}

impl MmapBlocks {
    /// Probes for the API on `buffer` (disabled), allocates `count` blocks of
    /// `block_bytes` and maps them. On failure every block allocated is unmapped and freed
    /// again. A failed probe ([`Step::BlockProbe`]) means the kernel has no block API.
    pub(crate) fn setup(
        buffer: BorrowedFd<'_>,
        count: usize,
        block_bytes: usize,
        output: bool,
        cyclic: bool,
    ) -> Result<MmapBlocks, (Step, Errno)> {
        uapi::block_free(buffer).map_err(|e| (Step::BlockProbe, e))?;
        if count > MAX_BLOCKS {
            return Err((Step::BlockCount, Errno::TOOBIG));
        }
        if count == 0 || block_bytes == 0 {
            return Err((Step::BlockAlloc, Errno::INVAL));
        }
        let size = u32::try_from(block_bytes).map_err(|_| (Step::BlockSize, Errno::FBIG))?;
        let mut blocks = MmapBlocks {
            blocks: Vec::with_capacity(count),
            block_bytes,
            output,
            cyclic,
            held: None,
            pos: 0,
            lent: false,
            freed: false,
        };
        let mapped = (|| {
            let (first, got) =
                uapi::block_alloc(buffer, size, count as u32).map_err(|e| (Step::BlockAlloc, e))?;
            if got == 0 {
                return Err((Step::BlockAlloc, Errno::NOMEM));
            }
            // Never more than asked for (a kernel answering more is not believed).
            for id in first..first.saturating_add(got.min(count as u32)) {
                let (_, map) =
                    uapi::block_query_map(buffer, id, block_bytes).map_err(|e| match e {
                        BlockMapError::Query(e) => (Step::BlockQuery, e),
                        BlockMapError::WrongId(_) => (Step::BlockQuery, Errno::IO),
                        BlockMapError::TooSmall(_) => (Step::BlockSize, Errno::FBIG),
                        BlockMapError::Map(e) => (Step::BlockMap, e),
                    })?;
                blocks.blocks.push(MappedBlock {
                    id,
                    map,
                    queued: false,
                });
            }
            Ok(())
        })();
        match mapped {
            Ok(()) => Ok(blocks),
            Err(e) => {
                blocks.free(buffer);
                Err(e)
            }
        }
    }

    /// Whether the blocks carry output.
    pub(crate) fn is_output(&self) -> bool {
        self.output
    }

    /// Before the buffer is enabled: capture queues every block.
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
        let mut b = Block {
            id: self.blocks[i].id,
            size: self.block_bytes as u32,
            bytes_used: bytes as u32,
            flags: if self.cyclic {
                uapi::BLOCK_FLAG_CYCLIC
            } else {
                0
            },
            ..Default::default()
        };
        uapi::block_enqueue(buffer, &mut b).map_err(|e| (Step::BlockEnqueue, e))?;
        self.blocks[i].queued = true;
        Ok(())
    }

    /// Capture: gives the lent block back to the device, and queues again any block whose
    /// earlier queueing failed (so no block is lent twice without a refill in between).
    pub(crate) fn give_back(&mut self, buffer: BorrowedFd<'_>) -> Result<(), (Step, Errno)> {
        if self.output {
            return Ok(());
        }
        if let (Some(i), true) = (self.held, self.lent) {
            self.held = None;
            self.lent = false;
            self.pos = 0;
            self.enqueue(buffer, i, self.block_bytes)?;
        }
        for i in 0..self.blocks.len() {
            if !self.blocks[i].queued && self.held != Some(i) {
                self.enqueue(buffer, i, self.block_bytes)?;
            }
        }
        Ok(())
    }

    /// The `poll()` events on the buffer fd the next step waits for: `POLLIN` (a block is
    /// finished) for capture, `POLLOUT` (a block was drained) for output. `None` when this
    /// process already holds a block, or output has a block never queued.
    pub(crate) fn pending(&self) -> Option<PollFlags> {
        if self.held.is_some() {
            return None;
        }
        if self.output {
            if self.blocks.iter().any(|b| !b.queued) {
                return None;
            }
            return Some(PollFlags::OUT);
        }
        Some(PollFlags::IN)
    }

    /// Takes a block for this process once [`MmapBlocks::pending`]'s wait said one is
    /// ready: output first takes a block never queued; otherwise `BLOCK_DEQUEUE`.
    /// `Ok(false)` when the kernel had none after all (wait again).
    pub(crate) fn take(&mut self, buffer: BorrowedFd<'_>) -> Result<bool, (Step, Errno)> {
        if self.held.is_some() {
            return Ok(true);
        }
        if self.output {
            if let Some(i) = self.blocks.iter().position(|b| !b.queued) {
                self.held = Some(i);
                self.pos = 0;
                return Ok(true);
            }
        }
        let b = match uapi::block_dequeue(buffer) {
            Ok(b) => b,
            Err(Errno::AGAIN) => return Ok(false),
            Err(e) => return Err((Step::BlockDequeue, e)),
        };
        // The kernel's answer must name one of our blocks; from then on this process owns
        // it (so a block refused below is queued again at the next refill, not lost).
        let i = self
            .blocks
            .iter()
            .position(|m| m.id == b.id)
            .ok_or((Step::BlockDequeue, Errno::IO))?;
        self.blocks[i].queued = false;
        if b.bytes_used as usize > self.block_bytes {
            return Err((Step::BlockDequeue, Errno::IO));
        }
        if !self.output && b.bytes_used == 0 {
            // ADI kernels hand back aborted capture blocks empty (the buffer was disabled
            // under us, or the device went away): an error, never an empty refill.
            return Err((Step::BlockEmpty, Errno::CANCELED));
        }
        self.held = Some(i);
        self.pos = if self.output {
            0
        } else {
            b.bytes_used as usize
        };
        Ok(true)
    }

    /// Capture: lends the held block (taken with [`MmapBlocks::take`]); returns its bytes
    /// of data. It goes back to the device at the next [`MmapBlocks::give_back`].
    pub(crate) fn lend(&mut self) -> usize {
        debug_assert!(self.held.is_some() && !self.output);
        self.lent = true;
        self.pos
    }

    /// The bytes lent by the last [`MmapBlocks::lend`] (empty when none is lent).
    pub(crate) fn lent(&self) -> &[u8] {
        match self.held {
            Some(i) if self.lent && !self.output => &self.blocks[i].map.as_slice()[..self.pos],
            _ => &[],
        }
    }

    /// Output: copies `src` into the held block; the block is queued when it is full or
    /// when `src` ends (the end of this push). Returns the bytes taken. A block whose queueing
    /// failed is free again (its data is lost with the error).
    pub(crate) fn copy_in(
        &mut self,
        buffer: BorrowedFd<'_>,
        src: &[u8],
    ) -> Result<usize, (Step, Errno)> {
        let Some(i) = self.held.filter(|_| self.output) else {
            // Only reached if a caller skipped `take()`: refuse rather than write anywhere.
            return Err((Step::BlockEnqueue, Errno::INVAL));
        };
        let n = src.len().min(self.block_bytes - self.pos);
        let pos = self.pos;
        self.blocks[i].map.as_mut_slice()[pos..pos + n].copy_from_slice(&src[..n]);
        self.pos += n;
        if self.pos == self.block_bytes || n == src.len() {
            self.held = None;
            let bytes = std::mem::take(&mut self.pos);
            self.enqueue(buffer, i, bytes)?;
        }
        Ok(n)
    }

    /// After the buffer was disabled: unmaps every block and frees them (`BLOCK_FREE`).
    pub(crate) fn free(&mut self, buffer: BorrowedFd<'_>) {
        if self.freed {
            return;
        }
        self.freed = true;
        self.held = None;
        self.lent = false;
        // Unmapped first, as libiio does: the kernel may keep a mapped block's memory.
        self.blocks.clear();
        // Errors are ignored: the next opening's probe (another `BLOCK_FREE`) frees them.
        let _ = uapi::block_free(buffer);
    }
}
