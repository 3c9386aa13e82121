//! Buffers over the network: iiod's `OPEN`/`READBUF`/`WRITEBUF`/`CLOSE` on a connection of
//! their own (as libiio does), behind the same [`BufferStream`] the local backend provides.
//!
//! Capture is pipelined: several `READBUF` requests are kept in flight, so while we copy one
//! block the server is already reading and sending the next ones, and the link rather than
//! the round trip sets the rate (libiio 0.x waits for each block before asking for the next:
//! libiio #305). Output waits for the server's go-ahead (`0`) before sending a block, since
//! data sent before it would be read as commands if the server refused, but it does not wait
//! for the byte count of one block before announcing the next.
//!
//! Every wait has the stream's timeout; the server is told half of it (`TIMEOUT`) so that a
//! device without data makes the server answer `-110` rather than stay silent. A transport
//! failure or a timeout in the middle of a reply leaves the connection out of step: it is
//! dropped and the next call opens the buffer again on a new one. [`CancelHandle::cancel`]
//! shuts the socket down, which wakes a call blocked in another thread.

use super::conn::Endpoint;
use super::{Options, Protocol, Session};
use crate::backend::{BufferSpec, BufferStream};
use crate::buffer::{Cancel, CancelHandle, Transfer};
use crate::error::{Error, Result};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `READBUF` requests kept in flight.
const PIPELINE_DEPTH: usize = 3;

/// libiio's default kernel buffer count: not worth a `SET ... BUFFERS_COUNT`.
const SERVER_DEFAULT_BUFFERS: usize = 4;

/// Cancels a network stream: a flag, and the socket shut down under the waiter.
#[derive(Debug, Default)]
struct NetCancel {
    flag: AtomicBool,
    socket: Mutex<Option<TcpStream>>,
}

impl Cancel for NetCancel {
    fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(s) = self
            .socket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// An open iiod buffer.
#[derive(Debug)]
pub(crate) struct NetStream {
    ep: Endpoint,
    dev: String,
    /// `OPEN DEV SAMPLES MASK [CYCLIC]\r\n`, sent again after a reconnection.
    open_cmd: String,
    /// `SET DEV BUFFERS_COUNT N\r\n` when the count is not the server's default.
    count_cmd: Option<String>,
    /// Length of the mask line the server sends with the first chunk of each READBUF.
    mask_chars: usize,
    /// Bytes of one block (one READBUF/WRITEBUF request).
    block: usize,
    output: bool,
    timeout: Option<Duration>,
    session: Option<Session>,
    /// READBUF requests sent whose replies are not read yet.
    inflight: usize,
    /// A block was sent whose byte count reply is not read yet.
    write_unacked: bool,
    /// Bytes of a reply that did not fit the caller's buffer, and how far they were taken.
    spill: Vec<u8>,
    spill_pos: usize,
    cancel: Arc<NetCancel>,
    closed: bool,
}

/// Opens a buffer of `spec.dev` on a new connection to `ep`.
pub(crate) fn open(
    ep: &Endpoint,
    timeout: Option<Duration>,
    spec: &BufferSpec<'_>,
) -> Result<Box<dyn BufferStream>> {
    let dev = spec.dev.id.clone();
    super::text::check_word("device", &dev).map_err(|reason| Error::InvalidValue {
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
    let mask = super::text::format_mask(words);
    let open_cmd = format!(
        "OPEN {dev} {} {mask}{}\r\n",
        spec.samples,
        if spec.cyclic { " CYCLIC" } else { "" }
    );
    let count_cmd = (spec.kernel_buffers != SERVER_DEFAULT_BUFFERS)
        .then(|| format!("SET {dev} BUFFERS_COUNT {}\r\n", spec.kernel_buffers));
    let mut s = NetStream {
        ep: ep.clone(),
        dev,
        open_cmd,
        count_cmd,
        mask_chars: mask.len(),
        block: spec.samples * spec.scan_bytes,
        output: spec.output,
        timeout: timeout.filter(|t| !t.is_zero()),
        session: None,
        inflight: 0,
        write_unacked: false,
        spill: Vec::new(),
        spill_pos: 0,
        cancel: Arc::new(NetCancel::default()),
        closed: false,
    };
    s.connect()?;
    Ok(Box::new(s))
}

impl NetStream {
    fn what(&self) -> String {
        format!("buffer of device {} on {}", self.dev, self.ep.display())
    }

    /// Opens the connection and the buffer: TIMEOUT, the kernel buffer count and OPEN go in
    /// one write.
    fn connect(&mut self) -> Result<()> {
        let options = Options {
            timeout: self.timeout,
            protocol: Protocol::Text,
        };
        let mut session = Session::open(&self.ep, &options)?;
        *self.cancel.socket.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(session.conn.clone_stream()?);
        let timeout_cmd = format!("TIMEOUT {}\r\n", session.remote_timeout_ms());
        let mut batch = timeout_cmd.clone();
        if let Some(c) = &self.count_cmd {
            batch.push_str(c);
        }
        batch.push_str(&self.open_cmd);
        session.io(|c, d| c.send(batch.as_bytes(), "OPEN", d))?;
        // libiio ignores TIMEOUT refusals; the others must succeed.
        let _ = session.read_int(timeout_cmd.trim_end())?;
        for cmd in self.count_cmd.iter().chain([&self.open_cmd]) {
            let what = cmd.trim_end();
            let r = session.read_int(what)?;
            if r < 0 {
                return Err(session.remote_err(what, r));
            }
        }
        self.session = Some(session);
        self.inflight = 0;
        self.write_unacked = false;
        self.spill.clear();
        self.spill_pos = 0;
        Ok(())
    }

    /// The open session, reconnecting after a failure; errors once cancelled or closed.
    fn session(&mut self) -> Result<&mut Session> {
        if self.cancel.is_cancelled() {
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
        if self.session.as_ref().is_some_and(|s| s.broken) {
            self.session = None;
        }
        if self.cancel.is_cancelled() {
            self.session = None;
            return Error::Cancelled { what: self.what() };
        }
        if e.errno() == 110 {
            return Error::Timeout {
                what: self.what(),
                after: self.timeout.unwrap_or_default(),
            };
        }
        e
    }

    /// Reads the reply to one READBUF into `out` (one block long); returns the bytes stored
    /// (fewer when the server ended the transfer short).
    fn read_reply(&mut self, out: &mut [u8]) -> Result<usize> {
        let dev = self.dev.clone();
        let mask_chars = self.mask_chars;
        let s = self.session()?;
        let what = format!("READBUF {dev}");
        let mut got = 0;
        let mut first = true;
        let result = loop {
            let n = s.read_int(&what)?;
            if n < 0 {
                break Err(s.remote_err(&what, n));
            }
            if n == 0 {
                break Ok(got);
            }
            if first {
                // The mask of what the server sends: the same words OPEN was given.
                let line = s.io(|c, d| c.read_line(mask_chars + 1, &what, d))?;
                if line.len() != mask_chars || super::text::parse_mask(&line).is_err() {
                    break Err(s.proto_err(&what, "expected the channel mask line"));
                }
                first = false;
            }
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n > out.len() - got {
                break Err(s.proto_err(
                    &what,
                    format!("chunk of {n} bytes, only {} asked for", out.len() - got),
                ));
            }
            s.io(|c, d| c.read_exact(&mut out[got..got + n], &what, d))?;
            got += n;
            if got == out.len() {
                break Ok(got);
            }
        };
        self.inflight -= 1;
        result
    }

    /// Sends READBUF requests until the pipeline is full.
    fn fill_pipeline(&mut self) -> Result<()> {
        let want = PIPELINE_DEPTH - self.inflight;
        if want == 0 {
            return Ok(());
        }
        let cmd = format!("READBUF {} {}\r\n", self.dev, self.block);
        let batch = cmd.repeat(want);
        let s = self.session()?;
        s.io(|c, d| c.send(batch.as_bytes(), cmd.trim_end(), d))?;
        self.inflight += want;
        Ok(())
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        if self.spill_pos < self.spill.len() {
            let n = (self.spill.len() - self.spill_pos).min(buf.len());
            buf[..n].copy_from_slice(&self.spill[self.spill_pos..self.spill_pos + n]);
            self.spill_pos += n;
            done = n;
        }
        while done < buf.len() {
            self.session()?;
            self.fill_pipeline()?;
            let room = buf.len() - done;
            let (n, short) = if room >= self.block {
                let block = self.block;
                let n = self.read_reply(&mut buf[done..done + block])?;
                (n, n < block)
            } else {
                let mut tmp = std::mem::take(&mut self.spill);
                tmp.resize(self.block, 0);
                let got = match self.read_reply(&mut tmp) {
                    Ok(g) => g,
                    Err(e) => {
                        self.spill_pos = 0;
                        return Err(e);
                    }
                };
                tmp.truncate(got);
                let n = got.min(room);
                buf[done..done + n].copy_from_slice(&tmp[..n]);
                self.spill = tmp;
                self.spill_pos = n;
                (n, got < self.block)
            };
            done += n;
            if short {
                break;
            }
        }
        Ok(done)
    }

    fn write_inner(&mut self, buf: &[u8]) -> Result<usize> {
        let dev = self.dev.clone();
        let unacked = std::mem::replace(&mut self.write_unacked, false);
        let s = self.session()?;
        if unacked {
            let what = format!("WRITEBUF {dev}");
            let n = s.read_int(&what)?;
            if n < 0 {
                return Err(s.remote_err(&what, n));
            }
        }
        let cmd = format!("WRITEBUF {dev} {}\r\n", buf.len());
        let what = cmd.trim_end().to_string();
        s.io(|c, d| c.send(cmd.as_bytes(), &what, d))?;
        let ready = s.read_int(&what)?;
        if ready < 0 {
            return Err(s.remote_err(&what, ready));
        }
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
        let Some(mut s) = self.session.take() else {
            return Ok(());
        };
        if self.cancel.is_cancelled() {
            return Ok(());
        }
        if self.inflight > 0 {
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
        let cmd = format!("CLOSE {}\r\n", self.dev);
        if !s.broken {
            match s.text_int(&cmd) {
                Ok(n) if n < 0 && result.is_ok() => result = Err(s.remote_err(cmd.trim_end(), n)),
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
