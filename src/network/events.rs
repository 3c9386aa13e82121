//! Device events over libiio 1.x's binary protocol: `CREATE_EVSTREAM`, then `READ_EVENT`
//! answered when the device has an event (16 bytes: the kernel's `u64` code and `s64`
//! timestamp), `FREE_EVSTREAM`. Each stream has a connection of its own (libiio 1.x puts
//! them on the context's, under ids of their own; a connection apiece keeps the context's
//! one-reply-at-a-time session simple, and iiod frees a stream whose connection ends).
//!
//! One blocking `READ_EVENT` is always outstanding, as libiio's client keeps one: a wait
//! that ends before its response header came leaves it outstanding and the stream in step,
//! and a non-blocking call only looks whether that response is already there.

use super::codec::binary::{self, Header, Numbering, Op, HEADER_LEN, RESPONSE};
use super::codec::Dialect;
use super::conn::{protocol_error, remote_error, Deadline, Endpoint};
use super::link::NetCancel;
use super::session::Session;
use crate::backend::EventSource;
use crate::buffer::event::Event;
use crate::buffer::{Cancel, CancelHandle};
use crate::error::{Error, Result};
use rustix::io::Errno;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The client id of the stream on its connection.
const STREAM_ID: u16 = 1;

/// How long a non-blocking call looks for a response that is already on its way.
const GLANCE: Duration = Duration::from_millis(1);

/// An event stream on a libiio 1.x iiod.
#[derive(Debug)]
pub(crate) struct NetEvents {
    what: String,
    peer: String,
    numbering: Numbering,
    dev: u8,
    session: Option<Session>,
    cancel: Arc<NetCancel>,
}

/// Opens the event stream of the device at index `dev` on a new connection.
pub(crate) fn open(
    ep: &Endpoint,
    timeout: Option<Duration>,
    numbering: Numbering,
    dev: u8,
    dev_id: &str,
) -> Result<Box<dyn EventSource>> {
    let mut s = Session::resume(ep, timeout, Dialect::Binary(numbering))?;
    s.set_timeout(timeout)?;
    let cancel = Arc::new(NetCancel::default());
    *cancel.socket.lock().unwrap_or_else(|p| p.into_inner()) = Some(s.conn.clone_stream()?);
    let mut ev = NetEvents {
        what: format!("event stream of device {dev_id} on {}", ep.display()),
        peer: ep.display(),
        numbering,
        dev,
        session: Some(s),
        cancel,
    };
    let create = ev.frame(Op::CreateEvstream, 0)?;
    ev.send(&create, "CREATE_EVSTREAM")?;
    let d = Deadline::after(timeout);
    let f = ev.read_frame("CREATE_EVSTREAM", d)?;
    if f.code < 0 {
        return Err(ev.remote_err("CREATE_EVSTREAM", f.code));
    }
    if f.code > 0 {
        return Err(ev.proto_err("CREATE_EVSTREAM", "a payload in its reply"));
    }
    ev.request()?;
    Ok(Box::new(ev))
}

impl NetEvents {
    fn frame(&self, op: Op, code: i32) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        binary::encode_op(op, self.numbering, STREAM_ID, self.dev, code, &[], &mut out)?;
        Ok(out)
    }

    fn proto_err(&mut self, what: &str, reason: impl Into<String>) -> Error {
        self.session = None;
        protocol_error(&self.peer, what, reason)
    }

    fn remote_err(&mut self, what: &str, code: i32) -> Error {
        if !(-4095..0).contains(&code) {
            self.session = None;
        }
        remote_error(&self.peer, what, i64::from(code))
    }

    fn closed(&self) -> Error {
        if self.cancel.is_cancelled() {
            return Error::Cancelled {
                what: self.what.clone(),
            };
        }
        Error::InvalidValue {
            what: self.what.clone(),
            reason: "its connection failed; open the stream again".into(),
        }
    }

    fn send(&mut self, bytes: &[u8], what: &str) -> Result<()> {
        let Some(s) = self.session.as_mut() else {
            return Err(self.closed());
        };
        let d = s.deadline();
        let r = s.conn.send(bytes, what, d);
        if r.is_err() {
            self.session = None;
        }
        r
    }

    /// The next response header of the stream (a reply under another id is not the
    /// server's to send here). A deadline passing before the header is whole keeps the
    /// stream in step.
    fn read_frame(&mut self, what: &str, d: Deadline) -> Result<Header> {
        let Some(s) = self.session.as_mut() else {
            return Err(self.closed());
        };
        let mut raw = [0u8; HEADER_LEN];
        if let Err(e) = s.conn.read_whole(&mut raw, what, d) {
            if !e.has_errno(Errno::TIMEDOUT) {
                self.session = None;
            }
            return Err(e);
        }
        let h = Header::decode(&raw);
        if h.op != RESPONSE || h.client_id != STREAM_ID {
            return Err(self.proto_err(
                what,
                format!("opcode {} for client {} in reply", h.op, h.client_id),
            ));
        }
        Ok(h)
    }

    /// Asks for the next event (blocking on the server).
    fn request(&mut self) -> Result<()> {
        let read = self.frame(Op::ReadEvent, 0)?;
        self.send(&read, "READ_EVENT")
    }
}

impl EventSource for NetEvents {
    fn next(&mut self, blocking: bool, deadline: Option<Instant>) -> Result<Option<Event>> {
        if self.cancel.is_cancelled() || self.session.is_none() {
            return Err(self.closed());
        }
        let d = if blocking {
            Deadline::at(deadline)
        } else {
            Deadline::after(Some(GLANCE))
        };
        let h = match self.read_frame("READ_EVENT", d) {
            Ok(h) => h,
            Err(e) if self.session.is_some() && e.has_errno(Errno::TIMEDOUT) => return Ok(None),
            Err(_) if self.cancel.is_cancelled() => return Err(self.closed()),
            Err(e) => return Err(e),
        };
        if h.code < 0 {
            // The request is answered: ask again, then report.
            let e = self.remote_err("READ_EVENT", h.code);
            self.request()?;
            return Err(e);
        }
        if h.code != 16 {
            return Err(self.proto_err("READ_EVENT", format!("{} bytes for an event", h.code)));
        }
        let mut raw = [0u8; 16];
        let s = self.session.as_mut().expect("read a header on it");
        let d = s.deadline();
        if let Err(e) = s.conn.read_exact(&mut raw, "READ_EVENT", d) {
            self.session = None;
            return Err(e);
        }
        let code = u64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
        let timestamp = i64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
        self.request()?;
        Ok(Some(Event::from_code(code, timestamp)))
    }

    fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::new(self.cancel.clone())
    }
}

impl Drop for NetEvents {
    fn drop(&mut self) {
        // A READ_EVENT is outstanding: FREE_EVSTREAM would be answered after it, if ever.
        // Ending the connection frees the stream on the server.
        if let Some(s) = self.session.take() {
            s.conn.shutdown();
        }
    }
}
