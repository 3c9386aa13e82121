//! Buffers over the network: iiod's `OPEN`/`READBUF`/`WRITEBUF`/`CLOSE` on a connection of
//! their own (as libiio does), behind the same [`BufferStream`] the local backend provides.
//!
//! Capture is pipelined so that the link, not round trips, sets the rate (libiio 0.x asks
//! for one block, waits for it, then asks for the next: libiio #305). iiod serves one request
//! of a connection at a time, and each request costs it a hand-over between its parser
//! thread and its device thread, so keeping one-block requests in flight saves our round
//! trip but not that cost. But a `READBUF` may ask for many blocks: iiod's device thread then
//! refills and sends them back to back, one chunk (`LEN\n` + data) per block, the mask line
//! only before the first. So each request asks for several blocks (doubling from one block
//! up to about [`MAX_REQUEST`] bytes, so a short capture does not make the server read much
//! more than it takes), two requests are kept in flight, and the replies are read as one
//! stream of chunks straight into the caller's blocks. At most two requests' worth of scans
//! is asked for ahead of the caller: like a queue of kernel buffers, a reader slower than the
//! device gets scans that old, not a gap.
//!
//! Output goes through a thread of the stream that sends the queued blocks in batches, one
//! `WRITEBUF` each (`sender.rs`). Cyclic output (one block the server repeats) is sent
//! directly: the go-ahead (`0`) is awaited before the block, since data sent before it would
//! be read as commands if the server refused.
//!
//! Every wait has the stream's timeout; the server is told half of it (`TIMEOUT`) so that a
//! device without data makes the server answer `-110` rather than stay silent. A transport
//! failure, a timeout in the middle of a reply or an error reply (after which iiod has shut
//! the device down) leaves the connection out of step: it is dropped and the next call opens
//! the buffer again on a new one. [`CancelHandle::cancel`] shuts the socket down, which wakes
//! a call blocked in another thread.

use super::codec::{text, Command};
use super::conn::{Endpoint, DIRECT_READ};
use super::link::{Link, NetCancel};
use super::sender::Sender;
use super::session::Session;
use crate::backend::{BufferSpec, BufferStream};
use crate::buffer::{Cancel, CancelHandle, Transfer};
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// `READBUF` requests kept in flight.
const PIPELINE_DEPTH: usize = 2;

/// About the most one `READBUF` asks for (a request is at least one block).
const MAX_REQUEST: usize = 1 << 20;

/// libiio's default kernel buffer count: not worth a `SET ... BUFFERS_COUNT`.
const SERVER_DEFAULT_BUFFERS: usize = 4;

/// An open iiod buffer.
#[derive(Debug)]
pub(crate) struct NetStream {
    link: Arc<Link>,
    dev: String,
    /// The mask line the server sends before the first chunk of each READBUF reply: the
    /// channels OPEN asked for (a different one means another client changed what the
    /// server sends).
    mask_line: Vec<u8>,
    /// `READBUF DEV`, for messages.
    readbuf_what: String,
    /// Bytes of one block (one WRITEBUF request; READBUF asks for whole blocks).
    block: usize,
    /// Bytes of one scan: every chunk holds whole scans.
    scan_bytes: usize,
    output: bool,
    timeout: Option<Duration>,
    session: Option<Session>,
    /// READBUF requests sent whose replies are not over: bytes still to come of each, the
    /// reply being read first.
    requests: VecDeque<usize>,
    /// Bytes left of the chunk being read.
    chunk_left: usize,
    /// Whether the first chunk header of the reply being read has come (and its mask line).
    reply_started: bool,
    /// Blocks the next READBUF asks for, and the most one asks for.
    next_blocks: usize,
    max_blocks: usize,
    /// A block was sent whose byte count reply is not read yet (cyclic output).
    write_unacked: bool,
    /// The thread that sends output (all but cyclic output).
    sender: Option<Sender>,
    closed: bool,
}

/// Opens a buffer of `spec.dev` on a new connection to `ep`.
pub(crate) fn open(
    ep: &Endpoint,
    timeout: Option<Duration>,
    spec: &BufferSpec<'_>,
) -> Result<Box<dyn BufferStream>> {
    let dev = spec.dev.id.clone();
    text::check_word("device", &dev).map_err(|reason| Error::InvalidValue {
        what: format!("buffer of device {dev}"),
        reason,
    })?;
    if spec.index != 0 {
        return Err(Error::Unsupported {
            backend: "network",
            what: format!(
                "buffer {} of device {dev} (iiod 0.x serves buffer 0 only)",
                spec.index
            ),
        });
    }
    let words = spec.mask.words();
    let mask = text::format_mask(words);
    let buffers_count = (spec.kernel_buffers != SERVER_DEFAULT_BUFFERS)
        .then(|| i64::try_from(spec.kernel_buffers).unwrap_or(i64::MAX));
    let block = spec.samples * spec.scan_bytes;
    let mut s = NetStream {
        link: Arc::new(Link {
            ep: ep.clone(),
            dev: dev.clone(),
            samples: spec.samples as u64,
            mask: mask.clone(),
            cyclic: spec.cyclic,
            buffers_count,
            cancel: Arc::new(NetCancel::default()),
        }),
        readbuf_what: format!("READBUF {dev}"),
        dev,
        mask_line: mask.into_bytes(),
        block,
        scan_bytes: spec.scan_bytes.max(1),
        output: spec.output,
        timeout: timeout.filter(|t| !t.is_zero()),
        session: None,
        requests: VecDeque::with_capacity(PIPELINE_DEPTH),
        chunk_left: 0,
        reply_started: false,
        next_blocks: 1,
        max_blocks: (MAX_REQUEST / block.max(1)).max(1),
        write_unacked: false,
        sender: None,
        closed: false,
    };
    s.connect()?;
    if spec.output && !spec.cyclic {
        let session = s.session.take().expect("connected above");
        s.sender = Some(Sender::start(s.link.clone(), session, s.timeout, block)?);
    }
    Ok(Box::new(s))
}

impl NetStream {
    fn what(&self) -> String {
        self.link.what()
    }

    /// Opens the connection and the buffer.
    fn connect(&mut self) -> Result<()> {
        let session = self.link.open_session(self.timeout)?;
        self.session = Some(session);
        self.requests.clear();
        self.chunk_left = 0;
        self.reply_started = false;
        self.next_blocks = 1;
        self.write_unacked = false;
        Ok(())
    }

    /// The open session, reconnecting after a failure; errors once cancelled or closed.
    fn session(&mut self) -> Result<&mut Session> {
        if self.link.cancel.is_cancelled() {
            return Err(Error::Cancelled { what: self.what() });
        }
        if self.closed {
            return Err(Error::InvalidValue {
                what: self.what(),
                reason: "the buffer is closed".into(),
            });
        }
        if self.session.is_none() {
            self.connect()?;
        }
        Ok(self.session.as_mut().expect("connected above"))
    }

    /// Turns a failure into what the buffer API reports, and drops a broken connection.
    fn fail(&mut self, e: Error) -> Error {
        if self.session.as_ref().is_some_and(|s| s.broken) || self.link.cancel.is_cancelled() {
            self.session = None;
        }
        self.link.error(e, self.timeout)
    }

    /// Sends READBUF requests until [`PIPELINE_DEPTH`] are in flight, each for twice the
    /// blocks of the one before, up to `max_blocks`.
    fn fill_pipeline(&mut self) -> Result<()> {
        if self.requests.len() >= PIPELINE_DEPTH {
            return Ok(());
        }
        let mut batch = Vec::new();
        let mut asked = Vec::with_capacity(PIPELINE_DEPTH);
        while self.requests.len() + asked.len() < PIPELINE_DEPTH {
            let bytes = self.next_blocks * self.block;
            let cmd = Command::ReadBuf {
                dev: &self.dev,
                bytes: bytes as u64,
            };
            text::encode(&cmd, &[], &mut batch)?;
            asked.push(bytes);
            self.next_blocks = (self.next_blocks * 2).min(self.max_blocks);
        }
        let what = &self.readbuf_what;
        let s = self.session.as_mut().expect("connected");
        s.io(|c, d| c.send(&batch, what, d))?;
        self.requests.extend(asked);
        Ok(())
    }

    /// The reply being read is over.
    fn end_reply(&mut self) {
        self.requests.pop_front();
        self.chunk_left = 0;
        self.reply_started = false;
    }

    /// Reads the next chunk header of the replies in flight into `chunk_left`. `Ok(false)`
    /// when it was the end of a reply cut short (`0`).
    fn next_chunk(&mut self) -> Result<bool> {
        let what = &self.readbuf_what;
        let s = self.session.as_mut().expect("connected");
        // A large chunk is read straight into the caller's block: take in no more than its
        // header, as long as iiod makes it (a chunk is one of its refills, our block).
        let expect = self.requests.front().copied().unwrap_or(0).min(self.block);
        if expect >= DIRECT_READ {
            let mut header = expect.to_string().len() + 1;
            if !self.reply_started {
                header += self.mask_line.len() + 1;
            }
            s.io(|c, d| c.prefetch(header, what, d))?;
        }
        let n = s.read_int(what)?;
        if n < 0 {
            // iiod's device thread has stopped: the buffer is closed on this connection.
            s.broken = true;
            return Err(s.remote_err(what, n));
        }
        if n == 0 {
            self.end_reply();
            return Ok(false);
        }
        if !self.reply_started {
            let mask = &self.mask_line;
            let same = s.io(|c, d| c.read_line_with(mask.len() + 1, what, d, |l| l == mask))?;
            if !same {
                return Err(s.proto_err(
                    what,
                    "expected the channel mask line of OPEN (another client of the device \
                     changed the channels the server sends?)",
                ));
            }
            self.reply_started = true;
        }
        let left = self.requests.front().copied().unwrap_or(0);
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > left {
            return Err(s.proto_err(
                what,
                format!("chunk of {n} bytes, only {left} more asked for"),
            ));
        }
        if n % self.scan_bytes != 0 {
            return Err(s.proto_err(
                what,
                format!(
                    "chunk of {n} bytes, not whole {}-byte scans",
                    self.scan_bytes
                ),
            ));
        }
        self.chunk_left = n;
        Ok(true)
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            self.session()?;
            self.fill_pipeline()?;
            if self.chunk_left == 0 && !self.next_chunk()? {
                // A reply cut short: what came is the block (the scans that came, as a
                // refill after a timeout has); with nothing yet, go on with the next one.
                if done > 0 {
                    break;
                }
                continue;
            }
            let n = self.chunk_left.min(buf.len() - done);
            let what = &self.readbuf_what;
            let s = self.session.as_mut().expect("connected");
            s.io(|c, d| c.read_exact(&mut buf[done..done + n], what, d))?;
            done += n;
            self.chunk_left -= n;
            let left = self.requests.front_mut().expect("a reply is being read");
            *left -= n;
            if *left == 0 {
                self.end_reply();
            }
        }
        Ok(done)
    }

    fn write_inner(&mut self, buf: &[u8]) -> Result<usize> {
        let dev = self.dev.clone();
        let unacked = std::mem::replace(&mut self.write_unacked, false);
        let s = self.session()?;
        let cmd = Command::WriteBuf {
            dev: &dev,
            bytes: buf.len() as u64,
        };
        let what = cmd.describe();
        if unacked {
            s.read_ok(&what)?;
        }
        s.text_ok(&cmd)?;
        s.io(|c, d| c.send(buf, &what, d))?;
        self.write_unacked = true;
        Ok(buf.len())
    }
}

impl BufferStream for NetStream {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.output {
            return Err(Error::InvalidValue {
                what: self.what(),
                reason: "it is an output buffer".into(),
            });
        }
        self.read_inner(buf).map_err(|e| self.fail(e))
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        if !self.output {
            return Err(Error::InvalidValue {
                what: self.what(),
                reason: "it is an input buffer".into(),
            });
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(sender) = &self.sender {
            if self.closed {
                return Err(Error::InvalidValue {
                    what: self.what(),
                    reason: "the buffer is closed".into(),
                });
            }
            return sender.push(buf, self.timeout);
        }
        self.write_inner(buf).map_err(|e| self.fail(e))
    }

    fn set_blocking(&mut self, blocking: bool) -> Result<()> {
        if blocking {
            Ok(())
        } else {
            // iiod has no way to ask "what is there now"; libiio refuses this too.
            Err(Error::Unsupported {
                backend: "network",
                what: format!("non-blocking mode for the {}", self.what()),
            })
        }
    }

    fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout.filter(|t| !t.is_zero());
        if let Some(s) = self.session.as_mut() {
            s.timeout = self.timeout;
        }
        if let Some(sender) = &self.sender {
            sender.set_timeout(self.timeout);
        }
    }

    fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::new(self.link.cancel.clone())
    }

    fn transfer(&self) -> Transfer {
        Transfer::Network
    }

    fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        if let Some(mut sender) = self.sender.take() {
            return sender.close();
        }
        let Some(mut s) = self.session.take() else {
            return Ok(());
        };
        if self.link.cancel.is_cancelled() {
            return Ok(());
        }
        if !self.requests.is_empty() {
            // Replies are still coming: dropping the connection closes the buffer on the
            // server without waiting for them.
            s.broken = true;
            s.conn.shutdown();
            return Ok(());
        }
        let mut result = Ok(());
        if self.write_unacked {
            let what = format!("WRITEBUF {}", self.dev);
            match s.read_int(&what) {
                Ok(n) if n < 0 => result = Err(s.remote_err(&what, n)),
                Ok(_) => {}
                Err(e) => result = Err(e),
            }
        }
        let cmd = Command::Close { dev: &self.dev };
        if !s.broken {
            match s.text_int(&cmd) {
                Ok(n) if n < 0 && result.is_ok() => result = Err(s.remote_err(&cmd.describe(), n)),
                Err(e) if result.is_ok() => result = Err(e),
                _ => {}
            }
        }
        result
    }
}

impl Drop for NetStream {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
