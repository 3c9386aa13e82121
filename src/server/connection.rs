//! One client, on its own thread: iiod 0.x's text protocol, a command line at a time, the
//! reply written before the next line is read (pipelined commands wait in the socket);
//! after `BINARY`, libiio 1.x's binary protocol (`binary.rs`).
//! Commands are parsed by the protocol codec (`network::codec::text`), answered by `ops`
//! (attributes, triggers) or by the buffer code here (`OPEN`, `READBUF`, `WRITEBUF`,
//! `CLOSE`), and replies are encoded by the codec again, so the binary protocol can take the
//! same answers through its own codec.
//!
//! Everything a client sends is bounded: a line (`wire::MAX_LINE`), a written value
//! ([`MAX_VALUE`], read as it arrives), open buffers ([`MAX_BUFFERS`]), and the time a
//! started line or payload may take ([`super::ServerOptions::io_timeout`]). A client that
//! breaks a bound the stream cannot recover from (a value too long to skip) is disconnected;
//! everything else gets iiod's error code and the session goes on.

use super::devices::{OpenRequest, Opened};
use super::ops::{self, neg, neg_err, Answer};
use super::wire::{Line, Wire, WireError};
use super::{ClientState, Shared, SLICE};
use crate::buffer::Cancel;
use crate::network::codec::{text, Command, Dialect, Reply};
use rustix::io::Errno;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest attribute value (or packed block of values) a client may write.
pub(super) const MAX_VALUE: u64 = 1 << 20;

/// Buffers one connection may have open at once.
pub(super) const MAX_BUFFERS: usize = 8;

/// A buffer this connection opened.
struct OpenBuf {
    /// The device's index.
    idx: usize,
    opened: Opened,
    /// The client's mask as iiod echoes it before the first chunk of each READBUF.
    mask_line: String,
}

/// Why a session ended.
pub(super) enum End {
    /// `EXIT`/`QUIT`.
    Exit,
    /// The client closed the connection.
    Closed,
    /// No command for the idle timeout.
    Idle,
    /// The server is stopping.
    Shutdown,
    /// A client that broke a bound, or a socket error.
    Error(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exit => f.write_str("EXIT"),
            End::Closed => f.write_str("closed by the client"),
            End::Idle => f.write_str("idle timeout"),
            End::Shutdown => f.write_str("server shutdown"),
            End::Error(e) => f.write_str(e),
        }
    }
}

/// One client's session.
pub(super) struct Connection {
    pub(super) srv: Arc<Shared>,
    pub(super) wire: Wire,
    pub(super) state: Arc<ClientState>,
    /// The timeout of buffer waits (`TIMEOUT`; `None`: for ever).
    pub(super) timeout: Option<Duration>,
    opened: Vec<OpenBuf>,
    /// Commands served, for the log.
    pub(super) commands: u64,
    out: Vec<u8>,
}

/// The help text (HELP): the commands of the text protocol.
const HELP: &str = "\
Commands of the iiod text protocol (ferroio serve):
\tHELP\t\t\t\tthis text
\tEXIT | QUIT\t\t\tend the session
\tVERSION\t\t\t\tthe protocol version
\tPRINT | ZPRINT\t\t\tthe context description (ZPRINT: zstd-compressed)
\tTIMEOUT <ms>\t\t\ttimeout of buffer operations (0: none)
\tOPEN <dev> <samples> <mask> [CYCLIC]\topen a buffer with the channels of <mask>
\tCLOSE <dev>\t\t\tclose it
\tREADBUF <dev> <bytes>\t\tcaptured scans
\tWRITEBUF <dev> <bytes>\t\tscans to output (sent after the reply 0)
\tREAD <dev> [DEBUG|BUFFER|INPUT <chn>|OUTPUT <chn>] [<attr>]
\t\t\t\t\tone attribute, or all of them packed
\tWRITE <dev> [DEBUG|BUFFER|INPUT <chn>|OUTPUT <chn>] [<attr>] <bytes>
\t\t\t\t\tthe value (<bytes> of it) follows the line
\tGETTRIG <dev>\t\t\tthe device's trigger
\tSETTRIG <dev> [<trigger>]\tset it (none: detach)
\tSET <dev> BUFFERS_COUNT <n>\tkernel blocks of the next buffer
";

impl Connection {
    pub(super) fn new(srv: Arc<Shared>, wire: Wire, state: Arc<ClientState>) -> Connection {
        let timeout = srv.remembered_timeout(wire.peer.ip());
        Connection {
            srv,
            wire,
            state,
            timeout,
            opened: Vec::new(),
            commands: 0,
            out: Vec::new(),
        }
    }

    /// Bytes moved, for the log: `(from the client, to the client)`.
    pub(super) fn traffic(&self) -> (u64, u64) {
        (self.wire.bytes_in, self.wire.bytes_out)
    }

    /// Serves commands until the session ends, then closes what the client left open.
    pub(super) fn run(&mut self) -> End {
        let end = self.serve();
        self.close_all();
        end
    }

    fn serve(&mut self) -> End {
        loop {
            self.state.set_busy(false);
            let line = match self
                .wire
                .read_line(self.srv.options.idle_timeout, self.srv.options.io_timeout)
            {
                Ok(l) => l,
                Err(e) => return self.ended(e, true),
            };
            self.state.set_busy(true);
            let text = match line {
                Line::Text(t) => t,
                Line::TooLong(n) => {
                    self.srv.log.error(&format!(
                        "{}: a line of {n} bytes (the longest command is {} bytes)",
                        self.wire.peer,
                        super::wire::MAX_LINE
                    ));
                    if let Err(e) = self.reply_code(neg(Errno::INVAL)) {
                        return self.ended(e, false);
                    }
                    continue;
                }
                Line::NotText => {
                    if let Err(e) = self.reply_code(neg(Errno::INVAL)) {
                        return self.ended(e, false);
                    }
                    continue;
                }
            };
            let blank = text.trim_end_matches(['\r', ' ', '\t']).is_empty();
            if blank {
                continue; // iiod accepts an empty line silently (clients send one before EXIT)
            }
            self.commands += 1;
            let Some(cmd) = text::parse_line(&text) else {
                self.srv.log.detail(|| {
                    format!(
                        "{}: '{}' -> -22 (not a command)",
                        self.wire.peer,
                        text::shorten(&text)
                    )
                });
                if let Err(e) = self.reply_code(neg(Errno::INVAL)) {
                    return self.ended(e, false);
                }
                continue;
            };
            match self.command(&cmd) {
                Ok(Flow::Next) => {}
                Ok(Flow::Exit) => return End::Exit,
                Ok(Flow::Binary) => return self.serve_binary(),
                Err(Stop::Wire(e)) => return self.ended(e, false),
                Err(Stop::Drop(why)) => {
                    self.srv.log.error(&format!("{}: {why}", self.wire.peer));
                    return End::Error(why);
                }
            }
        }
    }

    /// How a wire error ends the session.
    pub(super) fn ended(&self, e: WireError, waiting: bool) -> End {
        match e {
            WireError::Closed => End::Closed,
            WireError::Shutdown => End::Shutdown,
            WireError::TimedOut if waiting && !self.wire.has_buffered() => End::Idle,
            WireError::TimedOut => End::Error("the client stalled mid-command".into()),
            WireError::Io(e) => End::Error(format!("socket error: {e}")),
        }
    }

    fn reply(&mut self, cmd: &Command<'_>, answer: &Answer) -> Result<(), WireError> {
        self.out.clear();
        Dialect::Text.encode_reply(
            0,
            answer.as_ref().map_err(|c| *c),
            self.srv.ctx.data(),
            &mut self.out,
        );
        if self.srv.log.verbose() {
            let shown = match answer {
                Ok(Reply::Code(n)) => n.to_string(),
                Ok(Reply::Data(d)) => format!("{} bytes", d.len()),
                Ok(Reply::Trigger(t)) => format!("{t:?}"),
                Ok(Reply::Version(v)) => v.clone(),
                Err(code) => format!("{code} ({})", crate::error::strerror((-code) as i32)),
            };
            self.srv
                .log
                .detail(|| format!("{}: {} -> {shown}", self.wire.peer, cmd.describe()));
        }
        let out = std::mem::take(&mut self.out);
        let r = self.wire.write_all(&[&out], self.srv.options.io_timeout);
        self.out = out;
        r
    }

    /// A bare code (for lines that are not commands).
    fn reply_code(&mut self, code: i64) -> Result<(), WireError> {
        let line = format!("{code}\n");
        self.wire
            .write_all(&[line.as_bytes()], self.srv.options.io_timeout)
    }

    /// Whether a wait should stop: the client hung up or the server is stopping.
    fn should_stop(&self) -> bool {
        self.srv.shutdown.is_cancelled() || self.wire.peer_gone()
    }

    /// Reads a value of `len` bytes as it arrives (never allocating more than has come).
    pub(super) fn read_value(&mut self, len: u64) -> Result<Vec<u8>, Stop> {
        if len > MAX_VALUE {
            return Err(Stop::Drop(format!(
                "a value of {len} bytes announced (at most {MAX_VALUE} are accepted); disconnected"
            )));
        }
        let len = len as usize;
        let mut v = Vec::new();
        while v.len() < len {
            let step = (len - v.len()).min(64 * 1024);
            let at = v.len();
            v.resize(at + step, 0);
            self.wire
                .read_exact(&mut v[at..], self.srv.options.io_timeout)?;
        }
        Ok(v)
    }

    fn command(&mut self, cmd: &Command<'_>) -> Result<Flow, Stop> {
        let ctx = self.srv.ctx.clone();
        let read_only = self.srv.options.read_only;
        let refused = neg(Errno::ACCESS);
        let answer: Answer = match *cmd {
            Command::Exit => return Ok(Flow::Exit),
            Command::Help => {
                self.wire
                    .write_all(&[HELP.as_bytes()], self.srv.options.io_timeout)?;
                return Ok(Flow::Next);
            }
            Command::Version => Ok(Reply::Version(super::VERSION_LINE.to_string())),
            Command::Print { zstd: false } => Ok(Reply::Data(self.srv.xml.clone())),
            Command::Print { zstd: true } => match self.srv.zxml() {
                Some(z) => Ok(Reply::Data(z.to_vec())),
                None => Err(neg(Errno::INVAL)),
            },
            Command::Timeout { ms } => {
                self.timeout = (ms > 0).then(|| Duration::from_millis(ms as u64));
                self.srv.remember_timeout(self.wire.peer.ip(), self.timeout);
                Ok(Reply::Code(0))
            }
            Command::Binary if !self.srv.options.binary => {
                // Refused as a 0.x iiod refuses it: the client stays in text.
                Err(neg(Errno::INVAL))
            }
            Command::Binary => {
                // libiio 1.x's binary protocol (`binary.rs`) from the next byte on.
                self.reply_code(0)?;
                return Ok(Flow::Binary);
            }
            Command::Nop => Err(neg(Errno::INVAL)),
            Command::ReadAttr(loc) => ops::read_attr(&ctx, &loc),
            Command::ReadAll(group) => ops::read_all(&ctx, &group),
            Command::WriteAttr { loc, len } => {
                let value = self.read_value(len)?;
                if read_only {
                    Err(refused)
                } else {
                    ops::write_attr(&ctx, &loc, &value)
                }
            }
            Command::WriteAll { group, len } => {
                let block = self.read_value(len)?;
                if read_only {
                    Err(refused)
                } else {
                    ops::write_all(&ctx, &group, &block)
                }
            }
            Command::GetTrig { dev } => ops::get_trigger(&ctx, dev),
            Command::SetTrig { dev, trigger } => {
                if read_only {
                    ops::device(&ctx, dev).and(Err(refused))
                } else {
                    ops::set_trigger(&ctx, dev, trigger)
                }
            }
            Command::SetBuffersCount { dev, count } => ops::device(&ctx, dev).and_then(|d| {
                self.srv
                    .devices
                    .set_kernel_buffers(d.index(), count)
                    .map(|()| Reply::Code(0))
            }),
            Command::Open {
                dev,
                samples,
                mask,
                cyclic,
            } => self.open(dev, samples, mask, cyclic),
            Command::Close { dev } => self.close(dev),
            Command::ReadBuf { dev, bytes } => {
                return self.readbuf(cmd, dev, bytes).map(|()| Flow::Next);
            }
            Command::WriteBuf { dev, bytes } => {
                return self.writebuf(cmd, dev, bytes).map(|()| Flow::Next);
            }
        };
        self.reply(cmd, &answer)?;
        Ok(Flow::Next)
    }

    fn open(&mut self, dev: &str, samples: u64, mask: &str, cyclic: bool) -> Answer {
        let ctx = self.srv.ctx.clone();
        let dev = ops::device(&ctx, dev)?;
        let inval = neg(Errno::INVAL);
        // iiod's mask: exactly 8 hex digits per 32 channels, most significant word first.
        let words_needed = dev.num_channels().div_ceil(32);
        if mask.len() != words_needed * 8 || !mask.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(inval);
        }
        let words: Vec<u32> = (0..words_needed)
            .rev()
            .map(|w| u32::from_str_radix(&mask[w * 8..w * 8 + 8], 16).map_err(|_| inval))
            .collect::<Result<_, _>>()?;
        let req = OpenRequest::new(&dev, samples, &words, cyclic)?;
        if req.output && self.srv.options.read_only {
            return Err(neg(Errno::ACCESS));
        }
        // Opening again replaces this connection's buffer of the device.
        if let Some(i) = self.opened.iter().position(|o| o.idx == dev.index()) {
            let old = self.opened.swap_remove(i);
            self.srv.devices.close(old.idx, old.opened);
        }
        if self.opened.len() >= MAX_BUFFERS {
            return Err(neg(Errno::MFILE));
        }
        let who = self.wire.peer.to_string();
        let srv = self.srv.clone();
        let opened = srv.devices.open(&dev, req, &who, || self.should_stop())?;
        self.opened.push(OpenBuf {
            idx: dev.index(),
            opened,
            mask_line: text::format_mask(&words),
        });
        self.state.set_buffers(self.opened.len());
        Ok(Reply::Code(0))
    }

    fn close(&mut self, dev: &str) -> Answer {
        let dev = ops::device(&self.srv.ctx, dev)?;
        let i = self
            .opened
            .iter()
            .position(|o| o.idx == dev.index())
            .ok_or(neg(Errno::NXIO))?;
        let o = self.opened.swap_remove(i);
        self.srv.devices.close(o.idx, o.opened);
        self.state.set_buffers(self.opened.len());
        Ok(Reply::Code(0))
    }

    /// Closes every buffer the client left open (its device is put back before this
    /// returns, or after a bounded wait).
    fn close_all(&mut self) {
        for o in self.opened.drain(..) {
            self.srv.devices.close(o.idx, o.opened);
        }
        self.state.set_buffers(0);
    }

    /// The open buffer of the device the client named, or the error iiod gives.
    fn find_open(&self, dev: &str) -> Result<usize, i64> {
        let dev = ops::device(&self.srv.ctx, dev)?;
        self.opened
            .iter()
            .position(|o| o.idx == dev.index())
            .ok_or(neg(Errno::BADF))
    }

    /// READBUF: chunks of `LEN\n` + scans until `bytes` went out, the client's mask line
    /// before the first; `-errno` instead of a chunk when the wait failed.
    fn readbuf(&mut self, cmd: &Command<'_>, dev: &str, bytes: u64) -> Result<(), Stop> {
        let i = match self.find_open(dev) {
            Ok(i) => i,
            Err(code) => {
                self.reply(cmd, &Err(code))?;
                return Ok(());
            }
        };
        let Opened::Input {
            share,
            sub,
            scan_bytes,
        } = &self.opened[i].opened
        else {
            self.reply(cmd, &Err(neg(Errno::BADF)))?;
            return Ok(());
        };
        let (share, sub, scan) = (share.clone(), *sub, *scan_bytes);
        let mask_line = self.opened[i].mask_line.clone();
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        if bytes < scan {
            self.reply(cmd, &Ok(Reply::Code(0)))?;
            return Ok(());
        }
        share.request(sub, bytes);
        self.srv
            .log
            .detail(|| format!("{}: {}: waiting for scans", self.wire.peer, cmd.describe()));
        let mut left = bytes;
        let mut first = true;
        let mut progress = Instant::now();
        let result = loop {
            if left < scan {
                break Ok(());
            }
            match share.take(sub, left, Instant::now() + SLICE) {
                Ok(chunks) if !chunks.is_empty() => {
                    // Every chunk ready goes out in one write: `LEN\n` + scans each, the
                    // mask line after the first header of the request.
                    let heads: Vec<String> = chunks
                        .iter()
                        .enumerate()
                        .map(|(i, (_, len))| {
                            if first && i == 0 {
                                format!("{len}\n{mask_line}\n")
                            } else {
                                format!("{len}\n")
                            }
                        })
                        .collect();
                    let mut parts: Vec<&[u8]> = Vec::with_capacity(2 * chunks.len());
                    for ((chunk, len), head) in chunks.iter().zip(&heads) {
                        parts.push(head.as_bytes());
                        parts.push(&chunk.data[chunk.off..chunk.off + len]);
                    }
                    let sent = self.wire.write_all(&parts, self.srv.options.io_timeout);
                    let bytes: usize = chunks.iter().map(|(_, len)| len).sum();
                    share.give_back(sub, chunks);
                    if let Err(e) = sent {
                        break Err(Stop::Wire(e));
                    }
                    left -= bytes;
                    first = false;
                    progress = Instant::now();
                }
                Ok(_) => {
                    if self.srv.shutdown.is_cancelled() {
                        let _ = self.reply_code(neg(Errno::CONNABORTED));
                        break Err(Stop::Wire(WireError::Shutdown));
                    }
                    if self.wire.peer_gone() {
                        break Err(Stop::Wire(WireError::Closed));
                    }
                    if self.timeout.is_some_and(|t| progress.elapsed() >= t) {
                        self.srv.log.detail(|| {
                            format!(
                                "{}: {} -> -110 (no scans within the timeout)",
                                self.wire.peer,
                                cmd.describe()
                            )
                        });
                        break self.reply_code(neg(Errno::TIMEDOUT)).map_err(Stop::Wire);
                    }
                }
                Err(code) => {
                    break self.reply_code(code).map_err(Stop::Wire);
                }
            }
        };
        share.finish(sub);
        result?;
        if left > 0 && left < bytes && left < scan {
            // iiod ends a request it could not fill with whole scans with a 0.
            self.reply_code(0)?;
        }
        self.srv.log.detail(|| {
            format!(
                "{}: {} -> {} bytes",
                self.wire.peer,
                cmd.describe(),
                bytes - left
            )
        });
        Ok(())
    }

    /// WRITEBUF: `0` (go ahead), then `bytes` of scans in the client's layout, pushed a
    /// block at a time; then the bytes taken, or `-errno` (the rest of the data is read
    /// and dropped, so the session stays in step).
    fn writebuf(&mut self, cmd: &Command<'_>, dev: &str, bytes: u64) -> Result<(), Stop> {
        let i = match self.find_open(dev) {
            Ok(i) => i,
            Err(code) => {
                self.reply(cmd, &Err(code))?;
                return Ok(());
            }
        };
        if !matches!(self.opened[i].opened, Opened::Output(_)) {
            self.reply(cmd, &Err(neg(Errno::BADF)))?;
            return Ok(());
        }
        if bytes > (1u64 << 40) {
            return Err(Stop::Drop(format!(
                "WRITEBUF of {bytes} bytes announced; disconnected"
            )));
        }
        self.reply_code(0)?;
        let timeout = self.timeout;
        let dev_id = self.srv.ctx.data().devices[self.opened[i].idx].id.clone();
        let Opened::Output(buf) = &mut self.opened[i].opened else {
            return Ok(());
        };
        let scan = buf.scan_bytes();
        let block = buf.samples() * scan;
        let _ = buf.set_timeout(timeout);
        let mut left = bytes;
        let mut pushed = 0u64;
        let mut failed = None;
        while left > 0 {
            let k = left.min(block as u64) as usize;
            if failed.is_some() {
                self.wire.discard(k as u64, self.srv.options.io_timeout)?;
                left -= k as u64;
                continue;
            }
            self.wire
                .read_exact(&mut buf.data_mut()[..k], self.srv.options.io_timeout)?;
            left -= k as u64;
            let whole = k / scan;
            if whole == 0 {
                continue;
            }
            match buf.push_partial(whole) {
                Ok(n) => pushed += (n * scan) as u64,
                Err(e) => {
                    self.srv
                        .log
                        .error(&format!("{dev_id}: writing to the device failed: {e}"));
                    failed = Some(neg_err(&e));
                }
            }
        }
        let answer = match failed {
            Some(code) => Err(code),
            None => Ok(Reply::Code(pushed as i64)),
        };
        self.reply(cmd, &answer)?;
        Ok(())
    }
}

/// What to do after a command.
enum Flow {
    Next,
    Exit,
    /// Speak the binary protocol from now on.
    Binary,
}

/// Why a command ended the session.
pub(super) enum Stop {
    /// The socket failed (or the server is stopping).
    Wire(WireError),
    /// The client broke a bound; disconnect it (the reason, for the log).
    Drop(String),
}

impl From<WireError> for Stop {
    fn from(e: WireError) -> Stop {
        Stop::Wire(e)
    }
}
