//! Buffers over libiio 1.x's binary protocol: `OPEN_BUFFER`, a few blocks made with
//! `CREATE_BLOCK`, `TRANSFER_BLOCK` (`ENQUEUE_BLOCK_CYCLIC`) to hand a block to the device
//! and get it back, `ENABLE_BUFFER`/`DISABLE_BUFFER`, `FREE_BLOCK`, `CLOSE_BUFFER`: on a
//! connection of the buffer's own, as libiio 1.x does, behind the [`BufferStream`] every
//! backend provides.
//!
//! Every block is kept queued: a capture queues all of them before enabling the buffer and
//! queues each again as soon as its scans are handed out, so the server always has blocks
//! to fill and the link carries data back to back (libiio's own stream does the same with
//! its block ring). Each block's requests and responses travel under its own client id
//! (block index + 1); control commands under id 0. The server fills one block after the
//! other, so the order responses come in is the order of the scans.
//!
//! A transfer that fails is told apart by iiod: an error shifted 16 bits left means the
//! block was not queued (it is ours again); a plain `-errno` means it was queued but waiting
//! for it failed, typically the server-side timeout, and the block is still the server's:
//! the next call asks again with `RETRY_DEQUEUE_BLOCK`. Our own timeout expiring before a
//! response header has come keeps the stream in step (the response comes later, and the
//! server was told half our timeout, so it comes soon); one in the middle of a response, a
//! transport failure or a reply out of place drops the connection, which makes iiod free
//! the buffer, and the next call opens it again on a new one.

use super::codec::binary::{self, BlockError, Header, Numbering, Op, HEADER_LEN, RESPONSE};
use super::codec::Dialect;
use super::conn::{protocol_error, remote_error, Deadline, Endpoint};
use super::link::NetCancel;
use super::session::Session;
use crate::backend::{BufferSpec, BufferStream};
use crate::buffer::{Cancel, CancelHandle, Transfer};
use crate::error::{Error, Result};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an `OPEN_BUFFER` answered "exists" is tried again: iiod frees the buffer of a
/// connection that ended only once it has noticed the end, which a reopen can overtake.
const OPEN_RETRY: Duration = Duration::from_secs(1);

/// The most blocks one buffer gets (client ids and block indexes are 16 bits; more than a
/// few buys nothing on a link).
const MAX_BLOCKS: usize = 64;

/// Where a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Ours: may be queued.
    Free,
    /// Queued on the server; its response has not come.
    Queued,
    /// Queued, but waiting for it failed on the server: ask again before waiting.
    Retry,
    /// Its response came; for a capture, its scans are waiting to be handed out.
    Done,
}

/// A response of a block, in the order they came.
#[derive(Debug, Clone, Copy)]
struct Done {
    block: u16,
    /// Bytes of scans in the block's memory (capture), or the failure.
    result: std::result::Result<usize, BlockError>,
    /// The read call during which it came ([`BlockStream::calls`]).
    call: u64,
}

/// A buffer open on a libiio 1.x iiod.
#[derive(Debug)]
pub(crate) struct BlockStream {
    ep: Endpoint,
    numbering: Numbering,
    /// `buffer N of device D on ip:HOST:PORT`, for messages.
    what: String,
    /// Device index in the context, buffer index of the device.
    dev: u8,
    index: u16,
    /// The channel mask as OPEN_BUFFER sends it (least significant word first).
    words: Vec<u32>,
    /// Bytes of one block and of one scan.
    block: usize,
    scan_bytes: usize,
    output: bool,
    cyclic: bool,
    timeout: Option<Duration>,
    cancel: Arc<NetCancel>,
    session: Option<Session>,
    /// Per block: where it is, and (capture) the scans its response brought.
    slots: Vec<Slot>,
    memory: Vec<Vec<u8>>,
    /// Responses not handed out yet.
    done: VecDeque<Done>,
    /// Bytes of the first done block already handed out.
    taken: usize,
    /// Read calls so far: a failed wait that came during an earlier call (every queued
    /// block's wait fails in turn while a device is silent) is not this call's failure.
    calls: u64,
    enabled: bool,
    cyclic_pushed: bool,
    closed: bool,
}

/// Opens buffer `spec.index` of the device at index `dev` of the context on a new
/// connection speaking `numbering`.
pub(crate) fn open(
    ep: &Endpoint,
    timeout: Option<Duration>,
    numbering: Numbering,
    dev: u8,
    spec: &BufferSpec<'_>,
) -> Result<Box<dyn BufferStream>> {
    let what = format!(
        "buffer {} of device {} on {}",
        spec.index,
        spec.dev.id,
        ep.display()
    );
    let index = u16::try_from(spec.index).map_err(|_| Error::InvalidValue {
        what: what.clone(),
        reason: "buffer index beyond the binary protocol's 16 bits".into(),
    })?;
    let block = spec.samples * spec.scan_bytes;
    if block == 0 || block > i32::MAX as usize {
        return Err(Error::InvalidValue {
            what,
            reason: format!("a block of {block} bytes cannot travel in one response"),
        });
    }
    let count = spec.kernel_buffers.clamp(1, MAX_BLOCKS);
    let mut s = BlockStream {
        ep: ep.clone(),
        numbering,
        what,
        dev,
        index,
        words: spec.mask.words().to_vec(),
        block,
        scan_bytes: spec.scan_bytes.max(1),
        output: spec.output,
        cyclic: spec.cyclic,
        timeout: timeout.filter(|t| !t.is_zero()),
        cancel: Arc::new(NetCancel::default()),
        session: None,
        slots: vec![Slot::Free; count],
        memory: if spec.output {
            Vec::new()
        } else {
            vec![vec![0u8; block]; count]
        },
        done: VecDeque::with_capacity(count),
        taken: 0,
        calls: 0,
        enabled: false,
        cyclic_pushed: false,
        closed: false,
    };
    s.connect()?;
    Ok(Box::new(s))
}

/// A response frame: its client id (0: a control command; else block index + 1) and code.
#[derive(Debug, Clone, Copy)]
struct Frame {
    client_id: u16,
    code: i32,
}

impl BlockStream {
    /// Appends the frame of `op` about this buffer's device: under client `id`, with
    /// `code` and `payload`.
    fn op(&self, op: Op, id: u16, code: i32, payload: &[&[u8]], out: &mut Vec<u8>) -> Result<()> {
        binary::encode_op(op, self.numbering, id, self.dev, code, payload, out)
    }

    /// Whether a block is the server's (queued, or waiting to be asked for again).
    fn in_flight(&self) -> bool {
        self.slots
            .iter()
            .any(|s| matches!(s, Slot::Queued | Slot::Retry))
    }

    fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    /// Opens a connection and the buffer on it, and makes the blocks.
    fn connect(&mut self) -> Result<()> {
        let mut s = Session::resume(&self.ep, self.timeout, Dialect::Binary(self.numbering))?;
        s.set_timeout(self.timeout)?;
        *self.cancel.socket.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(s.conn.clone_stream()?);
        self.session = Some(s);
        self.slots.iter_mut().for_each(|s| *s = Slot::Free);
        self.done.clear();
        self.taken = 0;
        self.enabled = false;
        let r = self.open_buffer().and_then(|()| self.create_blocks());
        if r.is_err() {
            self.session = None;
        }
        r
    }

    /// OPEN_BUFFER with the mask; the server's mask must come back unchanged (another one
    /// would change the scan layout under the caller).
    fn open_buffer(&mut self) -> Result<()> {
        let started = Instant::now();
        let mask: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        loop {
            let mut out = Vec::new();
            self.op(Op::OpenBuffer, 0, i32::from(self.index), &[&mask], &mut out)?;
            let code = self.control(&out, "OPEN_BUFFER")?;
            if code == -(Errno::EXIST.raw_os_error()) && started.elapsed() < OPEN_RETRY {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            if code < 0 {
                return Err(self.remote_err("OPEN_BUFFER", code));
            }
            if code as usize != mask.len() {
                return Err(self.proto_err(
                    "OPEN_BUFFER",
                    format!("{code} bytes of mask back, {} sent", mask.len()),
                ));
            }
            let mut back = vec![0u8; mask.len()];
            let d = self.deadline();
            self.io(|s| s.conn.read_exact(&mut back, "OPEN_BUFFER", d))?;
            if back != mask {
                return Err(self.proto_err(
                    "OPEN_BUFFER",
                    "the server changed the channel mask (another scan layout than asked for)",
                ));
            }
            return Ok(());
        }
    }

    /// CREATE_BLOCK for every block, in one write; each answers under its own id.
    fn create_blocks(&mut self) -> Result<()> {
        let mut out = Vec::new();
        let size = (self.block as u64).to_le_bytes();
        for i in 0..self.slots.len() as u16 {
            self.op(
                Op::CreateBlock,
                i + 1,
                binary::block_code(self.index, i),
                &[&size],
                &mut out,
            )?;
        }
        self.send(&out, "CREATE_BLOCK")?;
        let mut made = vec![false; self.slots.len()];
        while made.iter().any(|m| !m) {
            let f = self.read_frame("CREATE_BLOCK")?;
            let i = usize::from(f.client_id).wrapping_sub(1);
            if f.client_id == 0 || i >= made.len() || made[i] || f.code > 0 {
                return Err(self.proto_err(
                    "CREATE_BLOCK",
                    format!("unexpected response (id {}, code {})", f.client_id, f.code),
                ));
            }
            if f.code < 0 {
                return Err(self.remote_err("CREATE_BLOCK", f.code));
            }
            made[i] = true;
        }
        Ok(())
    }

    /// Runs a transport step on the session; a failure drops the connection (the server
    /// then frees the buffer), except a deadline passing while nothing of a frame had come.
    fn io<T>(&mut self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let Some(s) = self.session.as_mut() else {
            return Err(self.proto_err("the buffer's connection", "it was closed"));
        };
        let r = f(s);
        if r.is_err() {
            self.session = None;
        }
        r
    }

    fn send(&mut self, bytes: &[u8], what: &str) -> Result<()> {
        let d = self.deadline();
        self.io(|s| s.conn.send(bytes, what, d))
    }

    /// A reply out of place: the connection is dropped (the stream is out of step).
    fn proto_err(&mut self, what: &str, reason: impl Into<String>) -> Error {
        self.session = None;
        protocol_error(&self.ep.display(), what, reason)
    }

    /// The server's `-errno`.
    fn remote_err(&mut self, what: &str, code: i32) -> Error {
        if !(-4095..0).contains(&code) {
            self.session = None;
        }
        remote_error(&self.ep.display(), what, i64::from(code))
    }

    /// Reads one response frame, and a block's scans into its memory. A deadline that
    /// passes before the header is whole leaves the stream in step.
    fn read_frame(&mut self, what: &str) -> Result<Frame> {
        let d = self.deadline();
        let mut raw = [0u8; HEADER_LEN];
        let Some(s) = self.session.as_mut() else {
            return Err(self.proto_err(what, "the buffer's connection was closed"));
        };
        if let Err(e) = s.conn.read_whole(&mut raw, what, d) {
            if !e.has_errno(Errno::TIMEDOUT) {
                self.session = None;
            }
            return Err(e);
        }
        let h = Header::decode(&raw);
        if h.op != RESPONSE {
            return Err(self.proto_err(what, format!("opcode {} where a response was due", h.op)));
        }
        let f = Frame {
            client_id: h.client_id,
            code: h.code,
        };
        if f.client_id == 0 || f.code <= 0 {
            return Ok(f);
        }
        let i = usize::from(f.client_id) - 1;
        let len = f.code as usize;
        if self.output
            || i >= self.memory.len()
            || len > self.block
            || !len.is_multiple_of(self.scan_bytes)
        {
            return Err(self.proto_err(
                what,
                format!(
                    "a response of {len} bytes for block {i} ({} blocks of {} bytes, {}-byte scans)",
                    self.slots.len(),
                    self.block,
                    self.scan_bytes
                ),
            ));
        }
        let mut memory = std::mem::take(&mut self.memory[i]);
        let r = self.io(|s| s.conn.read_exact(&mut memory[..len], what, d));
        self.memory[i] = memory;
        r.map(|()| f)
    }

    /// Sends `frames` (control commands) and returns the code of the first reply under id 0;
    /// block responses read meanwhile are kept.
    fn control(&mut self, frames: &[u8], what: &str) -> Result<i32> {
        self.send(frames, what)?;
        loop {
            let f = self.read_frame(what)?;
            if f.client_id == 0 {
                return Ok(f.code);
            }
            self.block_response(f, what)?;
        }
    }

    /// Records the response of a queued block.
    fn block_response(&mut self, f: Frame, what: &str) -> Result<()> {
        let i = f.client_id.wrapping_sub(1);
        let slot = self.slots.get(usize::from(i)).copied();
        if !matches!(slot, Some(Slot::Queued)) {
            return Err(self.proto_err(
                what,
                format!("a response for block {i}, which is not queued"),
            ));
        }
        let result = if f.code < 0 {
            Err(BlockError::of(f.code))
        } else {
            Ok(f.code as usize)
        };
        match result {
            Err(BlockError::Enqueue(_)) => {
                // Not queued after all: ours again.
                self.slots[usize::from(i)] = Slot::Free;
            }
            // Still queued: asked again before the next wait.
            Err(BlockError::Dequeue(_)) => self.slots[usize::from(i)] = Slot::Retry,
            // The server fills blocks one after the other: the order responses come in is
            // the order of the scans (after a failed wait, the next block may come first).
            Ok(_) => self.slots[usize::from(i)] = Slot::Done,
        }
        self.done.push_back(Done {
            block: i,
            result,
            call: self.calls,
        });
        Ok(())
    }

    /// The error a failed transfer gives the caller.
    fn transfer_err(&mut self, e: BlockError) -> Error {
        let (errno, stage) = match e {
            BlockError::Enqueue(n) => (n, "queueing a block"),
            BlockError::Dequeue(n) => (n, "waiting for a block"),
        };
        if errno == Errno::TIMEDOUT.raw_os_error() {
            return Error::Timeout {
                what: self.what.clone(),
                after: self.timeout.unwrap_or_default(),
            };
        }
        let what = format!("{stage} of the {}", self.what);
        self.remote_err(&what, -errno)
    }

    /// Queues every free block (capture) and asks again for those whose wait failed, in
    /// one write, then enables the buffer the first time.
    fn queue_capture(&mut self) -> Result<()> {
        let mut out = Vec::new();
        let used = (self.block as u64).to_le_bytes();
        for i in 0..self.slots.len() {
            let (op, payload): (Op, &[&[u8]]) = match self.slots[i] {
                Slot::Free => (Op::TransferBlock, &[&used]),
                Slot::Retry => (Op::RetryDequeueBlock, &[]),
                Slot::Queued | Slot::Done => continue,
            };
            let b = i as u16;
            self.op(
                op,
                b + 1,
                binary::block_code(self.index, b),
                payload,
                &mut out,
            )?;
            self.slots[i] = Slot::Queued;
        }
        if !out.is_empty() {
            self.send(&out, "TRANSFER_BLOCK")?;
        }
        self.enable()
    }

    fn enable(&mut self) -> Result<()> {
        if self.enabled {
            return Ok(());
        }
        let mut out = Vec::new();
        self.op(Op::EnableBuffer, 0, i32::from(self.index), &[], &mut out)?;
        let code = self.control(&out, "ENABLE_BUFFER")?;
        if code < 0 {
            return Err(self.remote_err("ENABLE_BUFFER", code));
        }
        self.enabled = true;
        Ok(())
    }

    /// Fails when cancelled or closed; reconnects after a dropped connection.
    fn ready(&mut self) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled {
                what: self.what.clone(),
            });
        }
        if self.closed {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: "the buffer is closed".into(),
            });
        }
        if self.session.is_none() {
            self.connect()?;
        }
        Ok(())
    }

    /// Turns a failure into what the buffer API reports.
    fn fail(&mut self, e: Error) -> Error {
        if self.cancel.is_cancelled() {
            self.session = None;
            return Error::Cancelled {
                what: self.what.clone(),
            };
        }
        if e.has_errno(Errno::TIMEDOUT) {
            return Error::Timeout {
                what: self.what.clone(),
                after: self.timeout.unwrap_or_default(),
            };
        }
        e
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.calls += 1;
        let mut got = 0;
        while got < buf.len() {
            self.ready()?;
            if let Some(d) = self.done.front().copied() {
                match d.result {
                    Ok(len) => {
                        let i = usize::from(d.block);
                        let n = (len - self.taken).min(buf.len() - got);
                        buf[got..got + n]
                            .copy_from_slice(&self.memory[i][self.taken..self.taken + n]);
                        got += n;
                        self.taken += n;
                        if self.taken == len {
                            self.done.pop_front();
                            self.taken = 0;
                            self.slots[i] = Slot::Free;
                        }
                    }
                    // An earlier call's failed wait: the block is asked for again.
                    Err(BlockError::Dequeue(_)) if d.call < self.calls => {
                        self.done.pop_front();
                    }
                    // Scans already handed out in this call go first; the error next time.
                    Err(_) if got > 0 => break,
                    Err(e) => {
                        self.done.pop_front();
                        return Err(self.transfer_err(e));
                    }
                }
                continue;
            }
            self.queue_capture()?;
            if !self.done.is_empty() {
                // Responses came while enabling.
                continue;
            }
            let f = self.read_frame("TRANSFER_BLOCK")?;
            if f.client_id == 0 {
                return Err(self.proto_err("TRANSFER_BLOCK", "a reply nothing asked for"));
            }
            self.block_response(f, "TRANSFER_BLOCK")?;
        }
        // The blocks handed out go back to the server at once, to be filled while the
        // caller works; should that fail, the connection is gone and the next call opens
        // the buffer again.
        if self.session.is_some()
            && self.slots.contains(&Slot::Free)
            && self.queue_capture().is_err()
        {
            self.session = None;
        }
        Ok(got)
    }

    /// Waits for the response of one queued output block.
    fn wait_output(&mut self) -> Result<()> {
        let f = self.read_frame("TRANSFER_BLOCK")?;
        if f.client_id == 0 || f.code > 0 {
            return Err(self.proto_err("TRANSFER_BLOCK", "a reply nothing asked for"));
        }
        self.block_response(f, "TRANSFER_BLOCK")?;
        self.settle_output()
    }

    /// Output responses carry no scans: a done block is free again, a failure is reported.
    fn settle_output(&mut self) -> Result<()> {
        while let Some(d) = self.done.pop_front() {
            match d.result {
                Ok(_) => self.slots[usize::from(d.block)] = Slot::Free,
                Err(e) => {
                    if let BlockError::Dequeue(_) = e {
                        // Waiting for the device to take it failed; it is still queued.
                        self.slots[usize::from(d.block)] = Slot::Retry;
                    }
                    return Err(self.transfer_err(e));
                }
            }
        }
        Ok(())
    }

    fn write_inner(&mut self, buf: &[u8]) -> Result<usize> {
        self.ready()?;
        let n = buf.len().min(self.block) / self.scan_bytes * self.scan_bytes;
        if n == 0 {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: format!("{} bytes are not one whole scan", buf.len()),
            });
        }
        if self.cyclic && self.cyclic_pushed {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: "a cyclic buffer takes one block, and it was pushed".into(),
            });
        }
        // A block whose wait failed is asked for again first.
        if let Some(i) = self.slots.iter().position(|s| *s == Slot::Retry) {
            let b = i as u16;
            let mut out = Vec::new();
            self.op(
                Op::RetryDequeueBlock,
                b + 1,
                binary::block_code(self.index, b),
                &[],
                &mut out,
            )?;
            self.send(&out, "RETRY_DEQUEUE_BLOCK")?;
            self.slots[i] = Slot::Queued;
        }
        let i = loop {
            if let Some(i) = self.slots.iter().position(|s| *s == Slot::Free) {
                break i;
            }
            self.wait_output()?;
        };
        let b = i as u16;
        let op = if self.cyclic {
            Op::EnqueueBlockCyclic
        } else {
            Op::TransferBlock
        };
        let mut out = Vec::with_capacity(HEADER_LEN + 8 + n);
        let code = binary::block_code(self.index, b);
        self.op(
            op,
            b + 1,
            code,
            &[&(n as u64).to_le_bytes(), &buf[..n]],
            &mut out,
        )?;
        self.send(&out, "TRANSFER_BLOCK")?;
        self.slots[i] = Slot::Queued;
        if self.cyclic {
            // The server answers a cyclic block once it is queued.
            self.wait_output()?;
            self.cyclic_pushed = true;
        }
        self.enable()?;
        Ok(n)
    }

    /// Output: waits until the device has taken every queued block.
    fn drain(&mut self) -> Result<()> {
        while self.in_flight() {
            // A block whose wait failed is asked for again, or no answer would come.
            for i in 0..self.slots.len() {
                if self.slots[i] == Slot::Retry {
                    let b = i as u16;
                    let mut out = Vec::new();
                    let code = binary::block_code(self.index, b);
                    self.op(Op::RetryDequeueBlock, b + 1, code, &[], &mut out)?;
                    self.send(&out, "RETRY_DEQUEUE_BLOCK")?;
                    self.slots[i] = Slot::Queued;
                }
            }
            self.wait_output()?;
        }
        Ok(())
    }

    /// DISABLE_BUFFER, FREE_BLOCK of each block and CLOSE_BUFFER in one write; the first
    /// failure is returned.
    fn shut(&mut self) -> Result<()> {
        let mut out = Vec::new();
        let mut replies = 0;
        if self.enabled {
            self.op(Op::DisableBuffer, 0, i32::from(self.index), &[], &mut out)?;
            replies += 1;
        }
        for b in 0..self.slots.len() as u16 {
            self.op(
                Op::FreeBlock,
                0,
                binary::block_code(self.index, b),
                &[],
                &mut out,
            )?;
            replies += 1;
        }
        self.op(Op::CloseBuffer, 0, i32::from(self.index), &[], &mut out)?;
        replies += 1;
        self.send(&out, "CLOSE_BUFFER")?;
        let mut first = None;
        while replies > 0 {
            let f = self.read_frame("CLOSE_BUFFER")?;
            if f.client_id != 0 {
                // A block's late response: of no use any more.
                continue;
            }
            replies -= 1;
            if f.code < 0 && first.is_none() {
                first = Some(f.code);
            }
        }
        match first {
            Some(code) => Err(self.remote_err("CLOSE_BUFFER", code)),
            None => Ok(()),
        }
    }
}

impl BufferStream for BlockStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.output {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: "it is an output buffer".into(),
            });
        }
        self.read_inner(buf).map_err(|e| self.fail(e))
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        if !self.output {
            return Err(Error::InvalidValue {
                what: self.what.clone(),
                reason: "it is an input buffer".into(),
            });
        }
        if buf.is_empty() {
            return Ok(0);
        }
        self.write_inner(buf).map_err(|e| self.fail(e))
    }

    fn set_blocking(&mut self, blocking: bool) -> Result<()> {
        if blocking {
            Ok(())
        } else {
            Err(Error::Unsupported {
                backend: "network",
                what: format!("non-blocking mode for the {}", self.what),
            })
        }
    }

    fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout.filter(|t| !t.is_zero());
        // The server's half: on the next connection (TIMEOUT now would be answered amid
        // the blocks' responses).
        if let Some(s) = self.session.as_mut() {
            s.timeout = self.timeout;
        }
    }

    fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::new(self.cancel.clone())
    }

    fn transfer(&self) -> Transfer {
        Transfer::Network
    }

    fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if self.session.is_none() || self.cancel.is_cancelled() {
            self.session = None;
            return Ok(());
        }
        let r = (|| {
            if self.output {
                self.drain()?;
            } else if self.in_flight() {
                // Blocks are still being filled: ending the connection frees the buffer
                // without waiting for them.
                self.session = None;
                return Ok(());
            }
            self.shut()
        })();
        self.session = None;
        r.map_err(|e| self.fail(e))
    }
}

impl Drop for BlockStream {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
