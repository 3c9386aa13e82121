//! libiio 1.x's binary protocol, server side: after a client's `BINARY` is answered `0`,
//! the connection carries 8-byte frames in the opcode numbering of libiio main (2026), the
//! one current 1.x clients send.
//!
//! Clients built from libiio 1.0 (an earlier numbering) cannot be told from current ones on
//! the wire: their first commands (`TIMEOUT`, `PRINT`) have the same opcodes in both. They
//! are not served in binary mode; what they would send later is checked as far as the
//! frames allow (a device-level operation whose channel half is not 0 is refused), but
//! such a client must use the text protocol (libiio 1.0 clients fall back to it against any
//! server that refuses `BINARY`, e.g. `ferroio serve` before this, or iiod 0.x).
//!
//! Attributes are addressed by index, in the order of libiio 1.x's lists: sorted by name
//! (libiio 1.x sorts the lists it reads). Indexes are resolved against a sorted copy of
//! the snapshot; the description a binary client gets (`PRINT`: 1.x's XML,
//! zstd-compressed) keeps the board's order.
//!
//! Buffers are libiio 1.x's: `OPEN_BUFFER` with a channel mask, blocks made with
//! `CREATE_BLOCK` under a client id each, `TRANSFER_BLOCK` (`ENQUEUE_BLOCK_CYCLIC`) answered
//! when the block is done, `RETRY_DEQUEUE_BLOCK` after a failed wait. As in iiod 1.x a
//! buffer belongs to the server, not to a connection: libiio opens it on a connection of
//! its own and frees its blocks and closes it on the context's; it is closed when the
//! connection that opened it ends. Each buffer has a thread that works through its queued
//! blocks in order and answers each on the connection that made the block, so commands
//! keep being read meanwhile. The device side is the text protocol's: a capture shares
//! the device's kernel buffer with every other reader (`capture.rs`), an output owns it.
//!
//! Event streams (`CREATE_EVSTREAM`) belong to the connection, under the client id of the
//! command; a thread per stream answers each blocking `READ_EVENT` with the next event of
//! the device, a non-blocking one is answered at once (`-EAGAIN` when none is pending).

use super::capture::{Chunk, InputShare, SubId, MAX_BLOCK_BYTES};
use super::connection::{Connection, End, Stop};
use super::devices::{OpenRequest, Opened};
use super::ops::{self, neg, neg_err, Answer};
use super::wire::{write_parts, WireError};
use super::{Shared, SLICE};
use crate::buffer::{Cancel, ChannelMask, EventFdCancel};
use crate::context::Device;
use crate::model::{AttrData, ContextData};
use crate::network::codec::binary::{self, Follows, Header, Numbering, Op, HEADER_LEN};
use crate::network::codec::{Command, Dialect, Reply};
use rustix::io::Errno;
use std::collections::{HashMap, VecDeque};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The numbering served.
pub(super) const NUMBERING: Numbering = Numbering::Main2026;

/// Blocks one buffer may have.
const MAX_BLOCKS: usize = 64;

/// The snapshot with every attribute list sorted by name, as libiio 1.x holds it: binary
/// attribute indexes are positions in these lists.
pub(super) fn sorted_snapshot(data: &ContextData) -> ContextData {
    let sort = |v: &mut Vec<AttrData>| v.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut d = data.clone();
    d.attrs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for dev in &mut d.devices {
        sort(&mut dev.attrs);
        sort(&mut dev.buffer_attrs);
        sort(&mut dev.debug_attrs);
        sort(&mut dev.event_attrs);
        for chn in &mut dev.channels {
            sort(&mut chn.attrs);
            sort(&mut chn.event_attrs);
        }
    }
    d
}

/// The description binary clients get: libiio 1.x's XML with the lists in the board's
/// order (1.x sorts them as it reads; attribute indexes are sorted positions either way),
/// naming the version the text protocol's `VERSION` and XML name (0.24) when the source
/// names none, so that a client reports the same server whichever protocol it speaks.
pub(super) fn description_v1(data: &ContextData) -> String {
    let mut d = data.clone();
    if d.version.is_none() {
        let (major, minor, git) = crate::xml::version_of(data);
        d.version = Some((major, minor, git.to_string()));
    }
    crate::xml::write_v1_unsorted(&d)
}

/// Writes frames to one client from any thread, a whole frame at a time.
pub(super) struct Writer {
    sock: Mutex<TcpStream>,
    shutdown: Arc<EventFdCancel>,
    step: Duration,
    pub(super) bytes_out: AtomicU64,
    /// A write failed, possibly half done: the stream is out of step, nothing more goes out
    /// (and the socket is shut down, which ends the session).
    broken: std::sync::atomic::AtomicBool,
}

impl Writer {
    pub(super) fn new(sock: TcpStream, shutdown: Arc<EventFdCancel>, step: Duration) -> Writer {
        Writer {
            sock: Mutex::new(sock),
            shutdown,
            step,
            bytes_out: AtomicU64::new(0),
            broken: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Ends the connection: no more frames, and the client sees it closed.
    pub(super) fn shut(&self) {
        self.broken.store(true, Ordering::SeqCst);
        let sock = self.sock.lock().unwrap_or_else(|p| p.into_inner());
        let _ = sock.shutdown(std::net::Shutdown::Both);
    }

    /// One response frame: `code`, and `payload` after it.
    fn respond(&self, client_id: u16, code: i32, payload: &[u8]) -> Result<(), WireError> {
        self.respond_parts(client_id, code, &[payload])
    }

    /// One response frame whose payload lies in pieces (one `writev`).
    fn respond_parts(&self, client_id: u16, code: i32, payload: &[&[u8]]) -> Result<(), WireError> {
        let h = Header {
            client_id,
            op: binary::RESPONSE,
            dev: 0,
            code,
        }
        .encode();
        let mut parts = Vec::with_capacity(payload.len() + 1);
        parts.push(&h[..]);
        parts.extend_from_slice(payload);
        self.send(&parts)
    }

    fn send(&self, parts: &[&[u8]]) -> Result<(), WireError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(WireError::Closed);
        }
        let sock = self.sock.lock().unwrap_or_else(|p| p.into_inner());
        let r = write_parts(&sock, &self.shutdown, parts, self.step);
        let n = match &r {
            Ok(n) | Err((n, _)) => *n,
        };
        self.bytes_out.fetch_add(n, Ordering::Relaxed);
        if r.is_err() {
            self.broken.store(true, Ordering::SeqCst);
            let _ = sock.shutdown(std::net::Shutdown::Both);
        }
        r.map(|_| ()).map_err(|(_, e)| e)
    }
}

/// A filled capture block: the chunks of the device's share that hold its scans.
struct Scans {
    share: Arc<InputShare>,
    sub: SubId,
    chunks: Vec<(Chunk, usize)>,
}

/// A queued block transfer.
struct Job {
    block: u16,
    /// Capture: bytes wanted. Output: the scans, and whether the block repeats.
    kind: JobKind,
    timeout: Option<Duration>,
}

enum JobKind {
    Capture(usize),
    Output { data: Vec<u8>, cyclic: bool },
}

/// A block: its size, the connection (and id) its answers go to, its last capture size
/// (for `RETRY_DEQUEUE_BLOCK`).
struct Block {
    size: usize,
    writer: Arc<Writer>,
    last: usize,
    /// A job of it is queued or being worked on (a block is queued once at a time).
    busy: bool,
}

struct BufState {
    blocks: HashMap<u16, Block>,
    jobs: VecDeque<Job>,
    opened: Option<Opened>,
    /// The output buffer's cancel handle while a push may block in it.
    cancel: Option<crate::buffer::CancelHandle>,
    closed: bool,
}

/// A buffer a binary client opened.
pub(super) struct BinBuffer {
    dev: Device,
    mask: ChannelMask,
    scan_bytes: usize,
    output: bool,
    /// The connection that opened it.
    owner: u64,
    st: Mutex<BufState>,
    work: Condvar,
    /// Held while the device side is being opened (by the worker or by ENABLE), so that
    /// it is opened once.
    opening: Mutex<()>,
}

fn lock_buf(m: &Mutex<BufState>) -> MutexGuard<'_, BufState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The server's binary buffers, by (device index, buffer index).
#[derive(Default)]
pub(super) struct Buffers {
    map: Mutex<HashMap<(usize, u16), Arc<BinBuffer>>>,
    next_owner: AtomicU64,
}

impl Buffers {
    fn lock(&self) -> MutexGuard<'_, HashMap<(usize, u16), Arc<BinBuffer>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An id for a connection that may own buffers.
    pub(super) fn new_owner(&self) -> u64 {
        self.next_owner.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Buffers `owner` has open (a connection with buffers is never closed to make room).
    pub(super) fn owned_by(&self, owner: u64) -> usize {
        self.lock().values().filter(|b| b.owner == owner).count()
    }

    fn get(&self, dev: usize, index: u16) -> Option<Arc<BinBuffer>> {
        self.lock().get(&(dev, index)).cloned()
    }

    /// Closes every buffer `owner` opened (its connection ended).
    pub(super) fn close_owned(&self, srv: &Shared, owner: u64) {
        let mine: Vec<Arc<BinBuffer>> = {
            let mut map = self.lock();
            let keys: Vec<(usize, u16)> = map
                .iter()
                .filter(|(_, b)| b.owner == owner)
                .map(|(k, _)| *k)
                .collect();
            keys.iter().filter_map(|k| map.remove(k)).collect()
        };
        for b in mine {
            b.close(srv);
        }
    }
}

impl BinBuffer {
    /// Stops the worker and gives the device back.
    fn close(&self, srv: &Shared) {
        // Closed first, so that an open or a push in progress stops; then the device.
        {
            let mut st = lock_buf(&self.st);
            st.closed = true;
            st.jobs.clear();
            if let Some(c) = st.cancel.take() {
                c.cancel();
            }
        }
        self.work.notify_all();
        let _once = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        let opened = lock_buf(&self.st).opened.take();
        match opened {
            Some(o) => srv.devices.close(self.dev.index(), o),
            None if self.output => srv.devices.unreserve(self.dev.index()),
            None => {}
        }
    }

    /// DISABLE_BUFFER: the device is given back; queued blocks are answered as failed
    /// waits.
    fn disable(&self, srv: &Shared) {
        let jobs = {
            let mut st = lock_buf(&self.st);
            if let Some(c) = st.cancel.take() {
                c.cancel();
            }
            std::mem::take(&mut st.jobs)
        };
        let _once = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        let opened = lock_buf(&self.st).opened.take();
        if let Some(o) = opened {
            // An output stays this buffer's (reserved) until it is closed.
            srv.devices.close_keeping_output(self.dev.index(), o);
        }
        // The blocks dropped from the queue are the client's again: enqueue failures.
        let mut st = lock_buf(&self.st);
        for j in jobs {
            if let Some(b) = st.blocks.get_mut(&j.block) {
                b.busy = false;
                let _ = b.writer.respond(j.block + 1, neg32(Errno::BADF) << 16, &[]);
            }
        }
    }

    /// Opens the device side for blocks of `size` bytes, unless open.
    fn ensure_open(
        &self,
        srv: &Arc<Shared>,
        size: usize,
        cyclic: bool,
        who: &str,
    ) -> Result<(), i64> {
        let _once = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        {
            let st = lock_buf(&self.st);
            if st.closed {
                return Err(neg(Errno::BADF));
            }
            if st.opened.is_some() {
                return Ok(());
            }
        }
        let samples = (size / self.scan_bytes).max(1) as u64;
        let mut req = OpenRequest::new(&self.dev, samples, self.mask.words(), false)?;
        req.cyclic = cyclic && self.output;
        let closed = || lock_buf(&self.st).closed || srv.shutdown.is_cancelled();
        let opened = if self.output {
            // Reserved at OPEN_BUFFER.
            srv.devices.open_reserved_output(&self.dev, req)?
        } else {
            srv.devices.open(&self.dev, req, who, closed)?
        };
        let mut st = lock_buf(&self.st);
        if st.closed {
            drop(st);
            srv.devices.close(self.dev.index(), opened);
            return Err(neg(Errno::BADF));
        }
        if let Opened::Output(b) = &opened {
            st.cancel = Some(b.cancel_handle());
        }
        st.opened = Some(opened);
        Ok(())
    }

    /// The worker: takes queued blocks in order and answers each when done.
    fn run(self: Arc<Self>, srv: Arc<Shared>, who: String) {
        loop {
            let (job, writer, size) = {
                let mut st = lock_buf(&self.st);
                loop {
                    if st.closed {
                        return;
                    }
                    if let Some(j) = st.jobs.pop_front() {
                        match st.blocks.get(&j.block) {
                            Some(b) => {
                                let (w, size) = (b.writer.clone(), b.size);
                                break (j, w, size);
                            }
                            None => continue,
                        }
                    }
                    st = self.work.wait(st).unwrap_or_else(|p| p.into_inner());
                }
            };
            let id = job.block + 1;
            let done = match job.kind {
                JobKind::Capture(bytes) => {
                    self.capture(&srv, bytes, size, job.timeout, &who).map(Some)
                }
                JobKind::Output { data, cyclic } => self
                    .output(&srv, &data, size, cyclic, job.timeout, &who)
                    .map(|()| None),
            };
            if let Some(b) = lock_buf(&self.st).blocks.get_mut(&job.block) {
                b.busy = false;
            }
            // A failed send: the connection that waits for it is gone, and its end closes
            // the buffer.
            let _ = match done {
                // The scans go out from the capture's own blocks, then back to it.
                Ok(Some(Scans { share, sub, chunks })) => {
                    let total: usize = chunks.iter().map(|(_, len)| len).sum();
                    let parts: Vec<&[u8]> = chunks
                        .iter()
                        .map(|(c, len)| &c.data[c.off..c.off + len])
                        .collect();
                    let sent = writer.respond_parts(id, total as i32, &parts);
                    drop(parts);
                    share.give_back(sub, chunks);
                    sent
                }
                Ok(None) => writer.respond(id, 0, &[]),
                Err(code) => writer.respond(id, clamp(code), &[]),
            };
        }
    }

    /// Fills one capture block of `bytes`: the share's chunks that hold its scans (sent as
    /// they are, then handed back), or a failed wait (`-errno`: the block stays queued
    /// for a retry).
    fn capture(
        &self,
        srv: &Arc<Shared>,
        bytes: usize,
        size: usize,
        timeout: Option<Duration>,
        who: &str,
    ) -> Result<Scans, i64> {
        self.ensure_open(srv, size, false, who)
            .map_err(|e| e << 16)?;
        let (share, sub) = match &lock_buf(&self.st).opened {
            Some(Opened::Input { share, sub, .. }) => (share.clone(), *sub),
            _ => return Err(neg(Errno::BADF)),
        };
        let bytes = bytes - bytes % self.scan_bytes;
        share.request(sub, bytes);
        let mut chunks = Vec::new();
        let r = self.fill(&share, sub, &mut chunks, bytes, timeout, srv);
        share.finish(sub);
        if let Err(e) = r {
            // Nothing went out of them.
            share.give_back(sub, chunks.into_iter().map(|(c, _)| (c, 0)).collect());
            return Err(e);
        }
        if chunks.is_empty() {
            return Err(neg(Errno::TIMEDOUT));
        }
        Ok(Scans { share, sub, chunks })
    }

    /// Takes chunks of scans, `bytes` in all, until the timeout.
    fn fill(
        &self,
        share: &InputShare,
        sub: SubId,
        out: &mut Vec<(Chunk, usize)>,
        bytes: usize,
        timeout: Option<Duration>,
        srv: &Shared,
    ) -> Result<(), i64> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut got = 0;
        while got < bytes {
            if lock_buf(&self.st).closed || srv.shutdown.is_cancelled() {
                return Err(neg(Errno::BADF));
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            let until = deadline.map_or(now + SLICE, |d| d.min(now + SLICE));
            for (chunk, len) in share.take(sub, bytes - got, until)? {
                got += len;
                out.push((chunk, len));
            }
        }
        Ok(())
    }

    /// Pushes one output block; `None` when the device took it.
    fn output(
        &self,
        srv: &Arc<Shared>,
        data: &[u8],
        size: usize,
        cyclic: bool,
        timeout: Option<Duration>,
        who: &str,
    ) -> Result<(), i64> {
        self.ensure_open(srv, size, cyclic, who)
            .map_err(|e| e << 16)?;
        // The buffer is taken out for the push, which may wait for the device: CLOSE and
        // DISABLE cancel it (`cancel`) rather than wait for it.
        let Some(Opened::Output(mut buf)) = lock_buf(&self.st).opened.take() else {
            return Err(neg(Errno::BADF) << 16);
        };
        let _ = buf.set_timeout(timeout);
        let scans = (data.len() / self.scan_bytes).min(buf.samples());
        let n = scans * self.scan_bytes;
        buf.data_mut()[..n].copy_from_slice(&data[..n]);
        let pushed = buf.push_partial(scans);
        {
            let mut st = lock_buf(&self.st);
            if !st.closed && st.opened.is_none() && st.cancel.is_some() {
                st.opened = Some(Opened::Output(buf));
            } else {
                // Closed or disabled meanwhile: the device goes back (still reserved
                // after a DISABLE, free after a CLOSE).
                let disabled = !st.closed;
                drop(st);
                let opened = Opened::Output(buf);
                if disabled {
                    srv.devices.close_keeping_output(self.dev.index(), opened);
                } else {
                    srv.devices.close(self.dev.index(), opened);
                }
            }
        }
        match pushed {
            Ok(_) => Ok(()),
            Err(e) => {
                srv.log.error(&format!(
                    "{}: writing to the device failed: {e}",
                    self.dev.id()
                ));
                // The block is the client's again.
                Err(neg_err(&e) << 16)
            }
        }
    }
}

fn clamp(code: i64) -> i32 {
    i32::try_from(code).unwrap_or(i32::MIN)
}

fn neg32(e: Errno) -> i32 {
    -e.raw_os_error()
}

/// Block and buffer halves of a block command's code.
fn split_code(code: i32) -> (u16, u16) {
    let c = code as u32;
    ((c & 0xffff) as u16, (c >> 16) as u16)
}

impl Connection {
    /// Serves the binary protocol on this connection until it ends.
    pub(super) fn serve_binary(&mut self) -> End {
        let writer = match self.wire.writer_parts() {
            Ok((sock, shutdown)) => {
                Arc::new(Writer::new(sock, shutdown, self.srv.options.io_timeout))
            }
            Err(e) => return End::Error(format!("socket error: {e}")),
        };
        let owner = self.srv.bin_buffers.new_owner();
        let end = self.binary_loop(&writer, owner);
        self.srv.bin_buffers.close_owned(&self.srv, owner);
        // Blocks of other connections' buffers may still hold this writer: the connection
        // ends now all the same.
        writer.shut();
        self.wire.bytes_out += writer.bytes_out.load(Ordering::Relaxed);
        end
    }

    fn binary_loop(&mut self, writer: &Arc<Writer>, owner: u64) -> End {
        let mut streams = Streams::new();
        let end = self.binary_frames(writer, owner, &mut streams);
        for s in streams.values() {
            s.close();
        }
        end
    }

    fn binary_frames(&mut self, writer: &Arc<Writer>, owner: u64, streams: &mut Streams) -> End {
        loop {
            self.state.set_busy(false);
            let mut raw = [0u8; HEADER_LEN];
            if let Err(e) = self.wire.read_header(
                &mut raw,
                self.srv.options.idle_timeout,
                self.srv.options.io_timeout,
            ) {
                return self.ended(e, true);
            }
            self.state.set_busy(true);
            self.commands += 1;
            if &raw == b"BINARY\r\n" {
                // A client that reconnects in binary mode without knowing it (serial).
                if let Err(e) = writer.send(&[b"0\r\n"]) {
                    return self.ended(e, false);
                }
                continue;
            }
            let h = Header::decode(&raw);
            let r = self.frame(&h, writer, owner, streams);
            // A connection with buffers or event streams is never closed to make room
            // (an event stream's connection is quiet while it waits).
            self.state
                .set_buffers(self.srv.bin_buffers.owned_by(owner) + streams.len());
            match r {
                Ok(()) => {}
                Err(Stop::Wire(e)) => return self.ended(e, false),
                Err(Stop::Drop(why)) => {
                    self.srv.log.error(&format!("{}: {why}", self.wire.peer));
                    return End::Error(why);
                }
            }
        }
    }

    /// One request frame.
    fn frame(
        &mut self,
        h: &Header,
        writer: &Arc<Writer>,
        owner: u64,
        streams: &mut Streams,
    ) -> Result<(), Stop> {
        let Some(op) = Op::from_code(h.op, NUMBERING) else {
            // As iiod: an opcode it does not know ends the session (what follows it cannot
            // be skipped).
            return Err(Stop::Drop(format!("unknown opcode {}", h.op)));
        };
        let reply = |c: &Connection, answer: &Answer| -> Result<(), Stop> {
            let mut out = Vec::new();
            Dialect::Binary(NUMBERING).encode_reply(
                h.client_id,
                answer.as_ref().map_err(|e| *e),
                &c.srv.data_v1,
                &mut out,
            );
            c.srv.log.detail(|| {
                let shown = match answer {
                    Ok(Reply::Data(d)) => format!("{} bytes", d.len()),
                    Ok(r) => format!("{r:?}"),
                    Err(e) => e.to_string(),
                };
                format!(
                    "{}: {op:?} dev {} code {:#x} -> {shown}",
                    c.wire.peer, h.dev, h.code
                )
            });
            writer.send(&[&out]).map_err(Stop::Wire)
        };
        let read_only = self.srv.options.read_only;
        let refused = neg(Errno::ACCESS);
        match op {
            Op::Response => {
                return Err(Stop::Drop("a response where a request was due".into()));
            }
            Op::Print => {
                let answer = match self.srv.zxml_v1() {
                    Some(z) => Ok(Reply::Data(z.to_vec())),
                    None => Ok(Reply::Data(self.srv.xml_v1.clone())),
                };
                return reply(self, &answer);
            }
            Op::Timeout => {
                self.timeout = u64::try_from(h.code).ok().map(Duration::from_millis);
                return reply(self, &Ok(Reply::Code(0)));
            }
            Op::Nop => return reply(self, &Ok(Reply::Code(0))),
            Op::ReadAttr
            | Op::ReadDbgAttr
            | Op::ReadBufAttr
            | Op::ReadChnAttr
            | Op::WriteAttr
            | Op::WriteDbgAttr
            | Op::WriteBufAttr
            | Op::WriteChnAttr
            | Op::GetTrig
            | Op::SetTrig => {}
            Op::ReadDevEvtAttr | Op::ReadChnEvtAttr | Op::WriteDevEvtAttr | Op::WriteChnEvtAttr => {
            }
            Op::RegRead => {
                let answer = match self.srv.ctx.devices().nth(usize::from(h.dev)) {
                    None => Err(neg(Errno::NODEV)),
                    Some(d) => match d.reg_read(h.code as u32) {
                        Ok(v) => Ok(Reply::Data(v.to_le_bytes().to_vec())),
                        Err(e) => Err(neg_err(&e)),
                    },
                };
                return reply(self, &answer);
            }
            Op::RegWrite => {
                let mut v = [0u8; 4];
                self.wire
                    .read_exact(&mut v, self.srv.options.io_timeout)
                    .map_err(Stop::Wire)?;
                let answer = match self.srv.ctx.devices().nth(usize::from(h.dev)) {
                    None => Err(neg(Errno::NODEV)),
                    Some(_) if read_only => Err(refused),
                    Some(d) => d
                        .reg_write(h.code as u32, u32::from_le_bytes(v))
                        .map(|()| Reply::Code(0))
                        .map_err(|e| neg_err(&e)),
                };
                return reply(self, &answer);
            }
            Op::RefreshFormat => {
                let answer = self.format_of(h);
                return reply(self, &answer);
            }
            Op::CreateEvstream => {
                let answer = self.create_evstream(h, writer, streams);
                return reply(self, &answer);
            }
            Op::FreeEvstream => {
                let found = u16::try_from(h.code)
                    .ok()
                    .and_then(|id| streams.remove(&(id, h.dev)));
                let answer = match found {
                    Some(s) => {
                        s.close();
                        Ok(Reply::Code(0))
                    }
                    None => Err(neg(Errno::BADF)),
                };
                return reply(self, &answer);
            }
            Op::ReadEvent => {
                let Some(s) = streams.get(&(h.client_id, h.dev)) else {
                    return writer
                        .respond(h.client_id, neg32(Errno::BADF), &[])
                        .map_err(Stop::Wire);
                };
                if h.code != 0 {
                    // Non-blocking: what is there now, or EAGAIN.
                    let (code, payload) = s.read_now();
                    return writer
                        .respond(h.client_id, code, &payload)
                        .map_err(Stop::Wire);
                }
                s.request();
                return Ok(());
            }
            Op::OpenBuffer => return self.open_buffer(h, owner, &reply),
            Op::CloseBuffer => {
                // Out of the table first, then closed: the table is never held while a
                // buffer's device is being given back.
                let removed = self.buffer_key(h.dev, h.code).and_then(|key| {
                    self.srv
                        .bin_buffers
                        .lock()
                        .remove(&key)
                        .ok_or(neg(Errno::BADF))
                });
                let answer = removed.map(|b| {
                    b.close(&self.srv);
                    Reply::Code(0)
                });
                return reply(self, &answer);
            }
            Op::EnableBuffer | Op::DisableBuffer => {
                let answer = match self.buffer_of(h.dev, h.code) {
                    Err(e) => Err(e),
                    Ok(b) if op == Op::DisableBuffer => {
                        b.disable(&self.srv);
                        Ok(Reply::Code(0))
                    }
                    Ok(b) if b.output => Ok(Reply::Code(0)),
                    Ok(b) => {
                        // A capture starts now, with blocks of the first block's size.
                        let size = lock_buf(&b.st).blocks.values().map(|k| k.size).max();
                        match size {
                            None => Ok(Reply::Code(0)),
                            Some(size) => b
                                .ensure_open(&self.srv, size, false, &self.wire.peer.to_string())
                                .map(|()| Reply::Code(0)),
                        }
                    }
                };
                return reply(self, &answer);
            }
            Op::CreateBlock => {
                let size = self.read_u64()?;
                let answer = self.create_block(h, size, writer);
                return reply(self, &answer);
            }
            Op::FreeBlock => {
                let (buf, blk) = split_code(h.code);
                let answer = match self.buffer_of(h.dev, i32::from(buf)) {
                    Err(e) => Err(e),
                    Ok(b) => {
                        let mut st = lock_buf(&b.st);
                        st.jobs.retain(|j| j.block != blk);
                        match st.blocks.remove(&blk) {
                            Some(_) => Ok(Reply::Code(0)),
                            None => Err(neg(Errno::BADF)),
                        }
                    }
                };
                return reply(self, &answer);
            }
            Op::TransferBlock | Op::EnqueueBlockCyclic => {
                return self.transfer(h, op == Op::EnqueueBlockCyclic, writer);
            }
            Op::RetryDequeueBlock => {
                let (buf, blk) = split_code(h.code);
                let timeout = self.timeout;
                let queued = self.buffer_of(h.dev, i32::from(buf)).and_then(|b| {
                    if b.output {
                        // An output block is never left queued after a failure.
                        return Err(neg(Errno::INVAL));
                    }
                    let mut st = lock_buf(&b.st);
                    let k = st.blocks.get_mut(&blk).ok_or(neg(Errno::BADF))?;
                    if k.busy {
                        return Err(neg(Errno::BUSY));
                    }
                    k.busy = true;
                    let last = k.last;
                    st.jobs.push_back(Job {
                        block: blk,
                        kind: JobKind::Capture(last),
                        timeout,
                    });
                    drop(st);
                    b.work.notify_all();
                    Ok(())
                });
                if let Err(code) = queued {
                    // Not queued: the block is the client's again.
                    writer
                        .respond(h.client_id, clamp(code << 16), &[])
                        .map_err(Stop::Wire)?;
                }
                return Ok(());
            }
        }
        // Attributes and triggers: through the codec's server half and `ops`.
        let srv = self.srv.clone();
        let Some((cmd, follows)) = binary::decode_command(h, NUMBERING, &srv.data_v1) else {
            return Err(Stop::Drop(format!("opcode {} not decoded", h.op)));
        };
        // A device-level operation carries no channel: a client of another numbering
        // (libiio 1.0's channel-attribute write is this numbering's debug-attribute write)
        // is refused here rather than served.
        let device_level = matches!(
            op,
            Op::ReadAttr
                | Op::WriteAttr
                | Op::ReadDbgAttr
                | Op::WriteDbgAttr
                | Op::ReadDevEvtAttr
                | Op::WriteDevEvtAttr
        );
        let cmd = if device_level && (h.code as u32) & 0xffff != 0 {
            Err(Errno::INVAL.raw_os_error())
        } else {
            cmd
        };
        let value = match follows {
            Follows::Nothing => None,
            Follows::LengthAndValue => Some(self.read_value_binary()?),
        };
        let ctx = self.srv.ctx.clone();
        let answer: Answer = match cmd {
            Err(errno) => Err(-i64::from(errno)),
            Ok(Command::ReadAttr(loc)) => ops::read_attr(&ctx, &loc),
            Ok(Command::WriteAttr { loc, .. }) if read_only => {
                let _ = loc;
                Err(refused)
            }
            Ok(Command::WriteAttr { loc, .. }) => {
                ops::write_attr(&ctx, &loc, value.as_deref().unwrap_or_default())
            }
            Ok(Command::GetTrig { dev }) => ops::get_trigger(&ctx, dev),
            Ok(Command::SetTrig { dev, .. }) if read_only => {
                ops::device(&ctx, dev).and(Err(refused))
            }
            Ok(Command::SetTrig { dev, trigger }) => ops::set_trigger(&ctx, dev, trigger),
            Ok(_) => Err(neg(Errno::INVAL)),
        };
        reply(self, &answer)
    }

    /// CREATE_EVSTREAM: the device's event stream, answered under the stream's own id
    /// (the client's id of the command), which its READ_EVENTs carry.
    fn create_evstream(&self, h: &Header, writer: &Arc<Writer>, streams: &mut Streams) -> Answer {
        let dev = self
            .srv
            .ctx
            .devices()
            .nth(usize::from(h.dev))
            .ok_or(neg(Errno::NODEV))?;
        if streams.contains_key(&(h.client_id, h.dev)) {
            return Err(neg(Errno::EXIST));
        }
        if streams.len() >= MAX_STREAMS {
            return Err(neg(Errno::MFILE));
        }
        let stream = dev.event_stream().map_err(|e| neg_err(&e))?;
        let s = EvStream::start(stream, writer.clone(), h.client_id, &dev)
            .map_err(|_| neg(Errno::AGAIN))?;
        streams.insert((h.client_id, h.dev), s);
        Ok(Reply::Code(0))
    }

    /// A `u64` argument that follows a header.
    fn read_u64(&mut self) -> Result<u64, Stop> {
        let mut b = [0u8; 8];
        self.wire
            .read_exact(&mut b, self.srv.options.io_timeout)
            .map_err(Stop::Wire)?;
        Ok(u64::from_le_bytes(b))
    }

    /// A written value: `u64` length, then the bytes (read as the text protocol reads
    /// one: bounded, and grown as they come).
    fn read_value_binary(&mut self) -> Result<Vec<u8>, Stop> {
        let len = self.read_u64()?;
        self.read_value(len)
    }

    /// REFRESH_FORMAT: the channel's scan format as 1.x prints it (`le:s12/16>>4`).
    fn format_of(&self, h: &Header) -> Answer {
        let dev = self
            .srv
            .ctx
            .data()
            .devices
            .get(usize::from(h.dev))
            .ok_or(neg(Errno::NODEV))?;
        let chn = usize::try_from(h.code)
            .ok()
            .and_then(|i| dev.channels.get(i))
            .ok_or(neg(Errno::INVAL))?;
        let f = chn
            .scan
            .as_ref()
            .and_then(|s| s.format)
            .ok_or(neg(Errno::INVAL))?;
        let repeat = if f.repeat > 1 {
            format!("X{}", f.repeat)
        } else {
            String::new()
        };
        let text = format!(
            "{}e:{}{}/{}{repeat}>>{}",
            if f.is_be { 'b' } else { 'l' },
            if f.is_signed { 's' } else { 'u' },
            f.bits,
            f.length,
            f.shift
        );
        Ok(Reply::Data(text.into_bytes()))
    }

    /// The table key of the buffer a command names: device index, buffer index.
    fn buffer_key(&self, dev: u8, code: i32) -> Result<(usize, u16), i64> {
        let dev = usize::from(dev);
        if dev >= self.srv.ctx.num_devices() {
            return Err(neg(Errno::NODEV));
        }
        let index = u16::try_from(code).map_err(|_| neg(Errno::BADF))?;
        Ok((dev, index))
    }

    fn buffer_of(&self, dev: u8, code: i32) -> Result<Arc<BinBuffer>, i64> {
        let (dev, index) = self.buffer_key(dev, code)?;
        self.srv.bin_buffers.get(dev, index).ok_or(neg(Errno::BADF))
    }

    /// OPEN_BUFFER: the mask words follow; the answer is the mask kept (channels that are
    /// not scan elements dropped).
    fn open_buffer(
        &mut self,
        h: &Header,
        owner: u64,
        reply: &dyn Fn(&Connection, &Answer) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let dev = self.srv.ctx.devices().nth(usize::from(h.dev));
        let Some(dev) = dev else {
            // The mask's size is the device's: unknown, nothing can be skipped.
            return Err(Stop::Drop(format!(
                "OPEN_BUFFER of device {}, which does not exist",
                h.dev
            )));
        };
        let words = dev.num_channels().div_ceil(32);
        let mut raw = vec![0u8; words * 4];
        self.wire
            .read_exact(&mut raw, self.srv.options.io_timeout)
            .map_err(Stop::Wire)?;
        let words: Vec<u32> = raw
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let answer = (|| {
            if h.code != 0 {
                // Buffer 0 only: the snapshot knows that one.
                return Err(neg(Errno::NODEV));
            }
            let req = OpenRequest::new(&dev, 1, &words, false)?;
            if req.output && self.srv.options.read_only {
                return Err(neg(Errno::ACCESS));
            }
            let mut map = self.srv.bin_buffers.lock();
            let key = (dev.index(), 0u16);
            if map.contains_key(&key) {
                return Err(neg(Errno::EXIST));
            }
            if req.output {
                // An output is one client's from OPEN_BUFFER on, as in iiod.
                self.srv.devices.reserve_output(dev.index())?;
            }
            let kept: Vec<u8> = req
                .mask
                .words()
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect();
            let b = Arc::new(BinBuffer {
                dev: dev.clone(),
                scan_bytes: req.layout.scan_bytes().max(1),
                output: req.output,
                mask: req.mask,
                owner,
                st: Mutex::new(BufState {
                    blocks: HashMap::new(),
                    jobs: VecDeque::new(),
                    opened: None,
                    cancel: None,
                    closed: false,
                }),
                work: Condvar::new(),
                opening: Mutex::new(()),
            });
            let (worker, srv, who) = (b.clone(), self.srv.clone(), self.wire.peer.to_string());
            let spawned = std::thread::Builder::new()
                .name(format!("blocks {}", dev.id()))
                .spawn(move || worker.run(srv, who));
            if spawned.is_err() {
                if b.output {
                    self.srv.devices.unreserve(dev.index());
                }
                return Err(neg(Errno::AGAIN));
            }
            map.insert(key, b);
            Ok(Reply::Data(kept))
        })();
        reply(self, &answer)
    }

    fn create_block(&mut self, h: &Header, size: u64, writer: &Arc<Writer>) -> Answer {
        let (buf, blk) = split_code(h.code);
        let b = self.buffer_of(h.dev, i32::from(buf))?;
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s >= b.scan_bytes && s <= MAX_BLOCK_BYTES)
            .ok_or(neg(Errno::INVAL))?;
        let mut st = lock_buf(&b.st);
        if st.blocks.contains_key(&blk) {
            return Err(neg(Errno::EXIST));
        }
        if st.blocks.len() >= MAX_BLOCKS {
            return Err(neg(Errno::NOMEM));
        }
        st.blocks.insert(
            blk,
            Block {
                size,
                writer: writer.clone(),
                last: size,
                busy: false,
            },
        );
        Ok(Reply::Code(0))
    }

    /// TRANSFER_BLOCK / ENQUEUE_BLOCK_CYCLIC: `u64` bytes used (and, for output, the
    /// scans); queued for the buffer's worker, which answers when the block is done. An
    /// enqueue that fails is answered at once, its errno shifted 16 bits left.
    fn transfer(&mut self, h: &Header, cyclic: bool, writer: &Arc<Writer>) -> Result<(), Stop> {
        let (buf, blk) = split_code(h.code);
        let used = self.read_u64()?;
        let found = match self.buffer_of(h.dev, i32::from(buf)) {
            Ok(b) => b,
            // Whether scans follow (an output buffer) is unknown: what comes next cannot
            // be told from them.
            Err(_) => {
                return Err(Stop::Drop(format!(
                    "a block of a buffer of device {} that is not open",
                    h.dev
                )))
            }
        };
        let output = found.output;
        let size = lock_buf(&found.st).blocks.get(&blk).map(|k| k.size);
        // Output scans follow the header whatever happens to them: read (or skip) them.
        let mut data = Vec::new();
        if output {
            let keep = size.map_or(0, |s| (used as usize).min(s));
            if used > MAX_BLOCK_BYTES as u64 {
                return Err(Stop::Drop(format!(
                    "a block of {used} bytes announced (at most {MAX_BLOCK_BYTES})"
                )));
            }
            data = vec![0u8; keep];
            self.wire
                .read_exact(&mut data, self.srv.options.io_timeout)
                .map_err(Stop::Wire)?;
            self.wire
                .discard(used - keep as u64, self.srv.options.io_timeout)
                .map_err(Stop::Wire)?;
        }
        let fail = |code: i64| -> Result<(), Stop> {
            writer
                .respond(h.client_id, clamp(code << 16), &[])
                .map_err(Stop::Wire)
        };
        let b = found;
        let Some(size) = size else {
            return fail(neg(Errno::BADF));
        };
        if used < b.scan_bytes as u64 || used as usize > size || (cyclic && !b.output) {
            return fail(neg(Errno::INVAL));
        }
        let kind = if b.output {
            JobKind::Output { data, cyclic }
        } else {
            JobKind::Capture(used as usize)
        };
        let mut st = lock_buf(&b.st);
        if let Some(k) = st.blocks.get_mut(&blk) {
            if k.busy {
                // Queued already: a block is the server's until it is answered.
                drop(st);
                return fail(neg(Errno::BUSY));
            }
            k.busy = true;
            k.last = used as usize;
            // The block's answers go to the connection that queues it.
            k.writer = writer.clone();
        }
        st.jobs.push_back(Job {
            block: blk,
            kind,
            timeout: self.timeout,
        });
        drop(st);
        b.work.notify_all();
        Ok(())
    }
}

/// Event streams one connection may have open.
const MAX_STREAMS: usize = 16;

/// A connection's event streams, by (stream id, device index), as iiod keys them.
type Streams = HashMap<(u16, u8), Arc<EvStream>>;

/// A device's event stream served to one client: a thread answers each blocking
/// READ_EVENT with the next event (16 bytes: the kernel's code and timestamp).
struct EvStream {
    stream: Mutex<crate::buffer::EventStream>,
    /// Blocking READ_EVENTs not answered yet.
    pending: Mutex<usize>,
    asked: Condvar,
    closed: std::sync::atomic::AtomicBool,
    writer: Arc<Writer>,
    id: u16,
}

impl EvStream {
    fn start(
        mut stream: crate::buffer::EventStream,
        writer: Arc<Writer>,
        id: u16,
        dev: &Device,
    ) -> std::io::Result<Arc<EvStream>> {
        stream.set_blocking(true);
        stream.set_timeout(Some(SLICE));
        let s = Arc::new(EvStream {
            stream: Mutex::new(stream),
            pending: Mutex::new(0),
            asked: Condvar::new(),
            closed: std::sync::atomic::AtomicBool::new(false),
            writer,
            id,
        });
        let worker = s.clone();
        std::thread::Builder::new()
            .name(format!("events {}", dev.id()))
            .spawn(move || worker.run())?;
        Ok(s)
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    fn close(&self) {
        // Under the lock the worker checks it with, so that the wake-up is not lost.
        let _pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        self.closed.store(true, Ordering::SeqCst);
        self.asked.notify_all();
    }

    fn request(&self) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.asked.notify_all();
    }

    /// The 16 bytes of an event: code and timestamp, little-endian.
    fn encode(e: &crate::buffer::Event) -> Vec<u8> {
        let mut v = e.code.to_le_bytes().to_vec();
        v.extend_from_slice(&e.timestamp.to_le_bytes());
        v
    }

    /// A non-blocking READ_EVENT's answer.
    fn read_now(&self) -> (i32, Vec<u8>) {
        // The worker may hold the stream, waiting for an event: then none is here now.
        let mut stream = match self.stream.try_lock() {
            Ok(s) => s,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return (neg32(Errno::AGAIN), Vec::new()),
        };
        stream.set_blocking(false);
        let r = stream.read();
        stream.set_blocking(true);
        match r {
            Ok(Some(e)) => (16, Self::encode(&e)),
            Ok(None) => (neg32(Errno::AGAIN), Vec::new()),
            Err(e) => (clamp(neg_err(&e)), Vec::new()),
        }
    }

    fn run(self: Arc<Self>) {
        loop {
            {
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                while *pending == 0 && !self.is_closed() {
                    pending = self.asked.wait(pending).unwrap_or_else(|p| p.into_inner());
                }
                if self.is_closed() {
                    return;
                }
            }
            // One event for one request; the lock is held a slice at a time.
            let answer = loop {
                if self.is_closed() {
                    return;
                }
                let r = self.stream.lock().unwrap_or_else(|p| p.into_inner()).read();
                match r {
                    Ok(Some(e)) => break (16, Self::encode(&e)),
                    Ok(None) | Err(crate::Error::Timeout { .. }) => continue,
                    Err(e) => break (clamp(neg_err(&e)), Vec::new()),
                }
            };
            *self.pending.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
            if self.writer.respond(self.id, answer.0, &answer.1).is_err() {
                return;
            }
        }
    }
}
