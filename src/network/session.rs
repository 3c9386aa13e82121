//! One client connection to iiod and the operations on it, each written once for both wire
//! formats: a [`Session`] holds a [`Conn`] and the [`Dialect`] negotiated when it was opened,
//! and every operation is a [`Command`] encoded by the codec and a [`Reply`] read back.
//!
//! Negotiation (module documentation of [`crate::network`]): unless told to speak text, the
//! session sends `BINARY`; a 1.x server answers `0`, and before any binary command the
//! numbering is established with the `NOP` probe of the 2026 numbering, harmless under both
//! known ones.

use super::codec::binary::{self, Header, Numbering};
use super::codec::{self, neg, text, Command, Dialect, Reply};
use super::conn::{Conn, Deadline, Endpoint};
use super::{Options, Protocol};
use crate::attr_loc::AttrLoc;
use crate::error::{Error, Result};
use crate::model::ContextData;
use rustix::io::Errno;
use std::io::Read;
use std::time::Duration;

/// Largest attribute value accepted (as for local attributes).
const MAX_ATTR: usize = 1 << 20;
/// Largest context description accepted, compressed or not (the largest real one known is
/// about 250 KB).
pub(super) const MAX_XML: usize = 32 << 20;
/// Largest trigger name accepted (libiio's own buffer size).
const MAX_TRIGGER_NAME: usize = 1024;

/// One connection and the protocol it speaks.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) conn: Conn,
    pub(super) codec: Dialect,
    pub(super) timeout: Option<Duration>,
    /// Set by any transport or protocol failure: the stream may be out of step.
    pub(super) broken: bool,
}

/// The longest the numbering probe waits for its reply.
const PROBE_WINDOW: std::time::Duration = std::time::Duration::from_secs(5);

/// What the server did with the numbering probe.
#[derive(Debug)]
enum ProbeReply {
    /// `NOP` answered with code 0: the 2026 numbering.
    Nop,
    /// The connection ended without a byte in reply: a libiio 1.0 server.
    Closed,
    /// Anything else (described): neither known numbering.
    Other(String),
}

impl Session {
    /// Connects and, unless told to speak text, negotiates the binary protocol and
    /// establishes its opcode numbering; a server of no known numbering is spoken to in
    /// text on a new connection.
    pub(super) fn open(ep: &Endpoint, options: &Options) -> Result<Session> {
        let timeout = options.timeout.filter(|t| !t.is_zero());
        let mut s = Session::resume(ep, timeout, Dialect::Text)?;
        // A second connection goes where the first went (a `.local` name is not resolved
        // over multicast DNS twice).
        let again = Endpoint {
            host: s.conn.addr.ip().to_string(),
            port: s.conn.addr.port(),
        };
        let connect = || Session::resume(&again, timeout, Dialect::Text);
        if options.protocol == Protocol::Text {
            return Ok(s);
        }
        let refused = |s: &Session, why: String| Error::Unsupported {
            backend: "network",
            what: format!("{}: the binary protocol ({why})", s.conn.peer),
        };
        let reply = s.text_int(&Command::Binary)?;
        if reply != 0 {
            if options.protocol == Protocol::Binary {
                let why =
                    format!("the server answered {reply}; it speaks libiio 0.x's text protocol");
                return Err(refused(&s, why));
            }
            return Ok(s);
        }
        match s.probe_numbering()? {
            ProbeReply::Nop => {
                s.codec = Dialect::Binary(Numbering::Main2026);
                Ok(s)
            }
            ProbeReply::Closed => {
                // A 1.0 server ended that session (nothing more may be sent on it, not even
                // the farewell); speak its numbering on a new one.
                s.broken = true;
                drop(s);
                let mut s = connect()?;
                match s.text_int(&Command::Binary)? {
                    0 => {
                        s.codec = Dialect::Binary(Numbering::Libiio10);
                        Ok(s)
                    }
                    n => Err(s.proto_err(
                        "BINARY",
                        format!("accepted the binary protocol, then refused it ({n})"),
                    )),
                }
            }
            ProbeReply::Other(what) => {
                // The connection is in binary mode in an unknown state: the text farewell
                // would reach the server as a frame. Leave it without a word.
                s.broken = true;
                let why = format!("no known opcode numbering: {what}");
                if options.protocol == Protocol::Binary {
                    return Err(refused(&s, why));
                }
                drop(s);
                connect()
            }
        }
    }

    /// Connects to a server whose dialect is already known (a reconnect, a clone of the
    /// context): text as it is, binary after `BINARY`, without probing the numbering again.
    pub(super) fn resume(
        ep: &Endpoint,
        timeout: Option<std::time::Duration>,
        dialect: Dialect,
    ) -> Result<Session> {
        let timeout = timeout.filter(|t| !t.is_zero());
        let mut s = Session {
            conn: Conn::connect(ep, timeout)?,
            codec: Dialect::Text,
            timeout,
            broken: false,
        };
        if let Dialect::Binary(n) = dialect {
            match s.text_int(&Command::Binary)? {
                0 => s.codec = Dialect::Binary(n),
                r => {
                    return Err(s.proto_err(
                        "BINARY",
                        format!(
                            "the server spoke the binary protocol before, now it refuses it ({r})"
                        ),
                    ))
                }
            }
        }
        Ok(s)
    }

    /// Sends the numbering probe ([`binary::PROBE_OPCODE`], `NOP` of the 2026 numbering,
    /// harmless under both) and classifies the reply.
    fn probe_numbering(&mut self) -> Result<ProbeReply> {
        let probe = Header {
            client_id: 0,
            op: binary::PROBE_OPCODE,
            dev: 0,
            code: 0,
        };
        let what = "numbering probe (NOP)";
        self.io(|c, d| c.send(&probe.encode(), what, d))?;
        let mut raw = [0u8; binary::HEADER_LEN];
        // Bounded even without a timeout: a binary server answers a NOP (or hangs up) at
        // once, so a silent one is not worth waiting for.
        let window = self.timeout.map_or(PROBE_WINDOW, |t| t.min(PROBE_WINDOW));
        let deadline = Deadline::after(Some(window));
        let mut got = 0;
        while got < raw.len() {
            match self.conn.read_some(&mut raw[got..], what, deadline) {
                Ok(0) if got == 0 => return Ok(ProbeReply::Closed),
                Ok(0) => {
                    return Ok(ProbeReply::Other(format!(
                        "the connection ended after {got} bytes of a reply"
                    )))
                }
                Ok(n) => got += n,
                Err(e) if got == 0 && e.has_errno(Errno::CONNRESET) => {
                    return Ok(ProbeReply::Closed)
                }
                Err(e) if e.has_errno(Errno::TIMEDOUT) => {
                    return Ok(ProbeReply::Other(format!(
                        "no reply within the timeout ({got} bytes)"
                    )))
                }
                Err(e) => {
                    self.broken = true;
                    return Err(e);
                }
            }
        }
        let h = Header::decode(&raw);
        Ok(match (h.op, h.code) {
            (binary::RESPONSE, 0) => ProbeReply::Nop,
            (op, code) => ProbeReply::Other(format!("opcode {op} code {code} in reply")),
        })
    }

    /// The protocol this session speaks.
    pub(super) fn dialect(&self) -> Dialect {
        self.codec
    }

    pub(super) fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    /// Runs a transport step; any failure marks the session broken.
    pub(super) fn io<T>(&mut self, f: impl FnOnce(&mut Conn, Deadline) -> Result<T>) -> Result<T> {
        let deadline = self.deadline();
        let r = f(&mut self.conn, deadline);
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    pub(super) fn proto_err(&mut self, what: &str, reason: impl Into<String>) -> Error {
        self.broken = true;
        self.conn.proto_err(what, reason)
    }

    /// The error for a negative reply: the server's errno.
    pub(super) fn remote_err(&mut self, what: &str, code: i64) -> Error {
        if !(-4095..0).contains(&code) {
            // Not an errno: the stream is out of step.
            self.broken = true;
        }
        super::conn::remote_error(&self.conn.peer, what, code)
    }

    /// Reads a text reply line and parses it as a number (the buffer streams' replies).
    pub(super) fn read_int(&mut self, what: &str) -> Result<i64> {
        self.io(|c, d| text::read_int(c, what, d))
    }

    /// Sends one text command and reads its numeric reply.
    pub(super) fn text_int(&mut self, cmd: &Command<'_>) -> Result<i64> {
        let mut out = Vec::new();
        text::encode(cmd, &[], &mut out)?;
        let what = cmd.describe();
        self.io(|c, d| c.send(&out, &what, d))?;
        self.read_int(&what)
    }

    /// Reads a numeric reply that must not be negative (a negative one is the server's
    /// errno, returned as the error).
    pub(super) fn read_ok(&mut self, what: &str) -> Result<i64> {
        let n = self.read_int(what)?;
        if n < 0 {
            return Err(self.remote_err(what, n));
        }
        Ok(n)
    }

    /// Sends one text command whose reply must not be negative, and reads that reply.
    pub(super) fn text_ok(&mut self, cmd: &Command<'_>) -> Result<i64> {
        let n = self.text_int(cmd)?;
        if n < 0 {
            return Err(self.remote_err(&cmd.describe(), n));
        }
        Ok(n)
    }

    /// Sends commands (each with the value it carries) in one write.
    pub(super) fn send(
        &mut self,
        cmds: &[(Command<'_>, &[u8])],
        data: Option<&ContextData>,
    ) -> Result<()> {
        let mut out = Vec::new();
        for (cmd, value) in cmds {
            self.codec.encode(cmd, value, data, &mut out)?;
        }
        let what = cmds
            .iter()
            .map(|(c, _)| c.describe())
            .collect::<Vec<_>>()
            .join(" + ");
        self.io(|c, d| c.send(&out, &what, d))
    }

    /// Reads the reply to `cmd` (sent before, in order).
    fn reply(
        &mut self,
        cmd: &Command<'_>,
        data: Option<&ContextData>,
        max: usize,
    ) -> Result<std::result::Result<Reply, i64>> {
        let codec = self.codec;
        self.io(|c, d| codec.read_reply(c, cmd, data, max, d))
    }

    /// One command and its reply; `max`: the largest payload accepted.
    fn call(
        &mut self,
        cmd: &Command<'_>,
        value: &[u8],
        data: Option<&ContextData>,
        max: usize,
    ) -> Result<std::result::Result<Reply, i64>> {
        self.send(&[(*cmd, value)], data)?;
        self.reply(cmd, data, max)
    }

    /// A reply that is not the kind the command has: the stream is out of step.
    fn unexpected(&mut self, cmd: &Command<'_>, reply: &Reply) -> Error {
        self.proto_err(&cmd.describe(), format!("unexpected reply {reply:?}"))
    }

    /// The server-side timeout libiio asks for: half of its own; none is 0 in text (iiod
    /// 0.x reads it unsigned) and -1 in binary (to iiod 1.x, 0 means "do not wait").
    pub(super) fn remote_timeout_ms(&self) -> i32 {
        match self.timeout {
            Some(t) => ((t.as_millis() / 2).min(i32::MAX as u128) as i32).max(1),
            None if self.codec == Dialect::Text => 0,
            None => -1,
        }
    }

    /// Sets the server-side timeout and fetches the context XML, in as few round trips as
    /// the protocol allows: TIMEOUT and PRINT are sent together. In text, the compressed
    /// form (`ZPRINT`) is asked for first and the plain one when the server has no zstd.
    pub(super) fn handshake(&mut self) -> Result<Vec<u8>> {
        let timeout = Command::Timeout {
            ms: self.remote_timeout_ms(),
        };
        let zprint = Command::Print { zstd: true };
        self.send(&[(timeout, &[]), (zprint, &[])], None)?;
        // libiio ignores the answer here: tinyiiod-based servers do not know TIMEOUT (-22),
        // and iiod serving an XML context answers -38.
        let _ = self.reply(&timeout, None, 0)?;
        let (cmd, reply) = match self.reply(&zprint, None, MAX_XML)? {
            Err(_) if self.codec == Dialect::Text => {
                // A text server without zstd answers -22: ask for the plain XML.
                let plain = Command::Print { zstd: false };
                (plain, self.call(&plain, &[], None, MAX_XML)?)
            }
            r => (zprint, r),
        };
        let payload = match reply {
            Ok(Reply::Data(p)) => p,
            Ok(other) => return Err(self.unexpected(&cmd, &other)),
            Err(code) => return Err(self.remote_err(&cmd.describe(), code)),
        };
        // Text ZPRINT is always a zstd frame; binary PRINT is whichever the server has.
        let compressed = match (self.codec, cmd) {
            (Dialect::Text, Command::Print { zstd }) => zstd,
            _ => binary::is_zstd(&payload),
        };
        if compressed {
            self.unzstd(&payload, &cmd.describe())
        } else {
            Ok(payload)
        }
    }

    /// Decompresses a zstd frame, refusing output beyond [`MAX_XML`].
    fn unzstd(&mut self, frame: &[u8], what: &str) -> Result<Vec<u8>> {
        let mut src = frame;
        let decoder = ruzstd::decoding::StreamingDecoder::new(&mut src)
            .map_err(|e| self.proto_err(what, format!("bad zstd frame: {e}")))?;
        let mut out = Vec::new();
        decoder
            .take(MAX_XML as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| self.proto_err(what, format!("bad zstd data: {e}")))?;
        if out.len() > MAX_XML {
            return Err(self.proto_err(
                what,
                format!("decompressed context larger than {MAX_XML} bytes"),
            ));
        }
        Ok(out)
    }

    /// Sends the server-side timeout for a new client timeout. A text server that does not
    /// know TIMEOUT (`-22`, tinyiiod) still serves.
    pub(super) fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.timeout = timeout.filter(|t| !t.is_zero());
        let cmd = Command::Timeout {
            ms: self.remote_timeout_ms(),
        };
        match self.call(&cmd, &[], None, 0)? {
            Ok(_) => Ok(()),
            Err(code) if self.codec == Dialect::Text && code == neg(Errno::INVAL) => Ok(()),
            Err(code) => Err(self.remote_err(&cmd.describe(), code)),
        }
    }

    /// One binary operation of those the `Command` model does not carry (registers,
    /// `NOP`), answered under id 0: its payload (at most `max` bytes) or `-errno`.
    fn binary_op(
        &mut self,
        op: binary::Op,
        dev: u8,
        code: i32,
        payload: &[u8],
        max: usize,
    ) -> Result<std::result::Result<Vec<u8>, i64>> {
        let Dialect::Binary(numbering) = self.codec else {
            return Err(Error::Unsupported {
                backend: "network",
                what: format!("{op:?} in the text protocol"),
            });
        };
        let what = format!("{op:?}");
        let mut out = Vec::new();
        binary::encode_op(op, numbering, 0, dev, code, &[payload], &mut out)?;
        self.io(|c, d| c.send(&out, &what, d))?;
        self.io(|c, d| binary::read_response(c, &what, max, d))
    }

    /// `REG_READ` (binary only): the register read and its value taken in one step.
    pub(super) fn reg_read(&mut self, dev: &str, address: u32, data: &ContextData) -> Result<u32> {
        let di = super::codec::dev_index(data, dev)?;
        let what = format!("REG_READ 0x{address:x} of {dev}");
        match self.binary_op(binary::Op::RegRead, di, address as i32, &[], 4)? {
            Ok(v) if v.len() == 4 => Ok(u32::from_le_bytes([v[0], v[1], v[2], v[3]])),
            Ok(v) => Err(self.proto_err(&what, format!("{} bytes for a u32", v.len()))),
            Err(code) => Err(self.remote_err(&what, code)),
        }
    }

    /// `REG_WRITE` (binary only).
    pub(super) fn reg_write(
        &mut self,
        dev: &str,
        address: u32,
        value: u32,
        data: &ContextData,
    ) -> Result<()> {
        let di = super::codec::dev_index(data, dev)?;
        let what = format!("REG_WRITE 0x{address:x} of {dev}");
        match self.binary_op(
            binary::Op::RegWrite,
            di,
            address as i32,
            &value.to_le_bytes(),
            0,
        )? {
            Ok(_) => Ok(()),
            Err(code) => Err(self.remote_err(&what, code)),
        }
    }

    /// A round trip that changes nothing: `NOP` where the numbering has it, `VERSION` in
    /// text, `TIMEOUT` with the timeout already set on a libiio 1.0 server.
    pub(super) fn ping(&mut self) -> Result<()> {
        match self.codec {
            Dialect::Binary(Numbering::Main2026) => {
                match self.binary_op(binary::Op::Nop, 0, 0, &[], 0)? {
                    Ok(_) => Ok(()),
                    Err(code) => Err(self.remote_err("NOP", code)),
                }
            }
            Dialect::Binary(_) => self.set_timeout(self.timeout),
            Dialect::Text => {
                let mut out = Vec::new();
                text::encode(&Command::Version, &[], &mut out)?;
                self.io(|c, d| c.send(&out, "VERSION", d))?;
                // iiod's version line: `MAJOR.MINOR.TAG`.
                let line = self.io(|c, d| c.read_line_with(256, "VERSION", d, |l| l.to_vec()))?;
                if line.contains(&b'.') {
                    Ok(())
                } else {
                    Err(self.proto_err(
                        "VERSION",
                        format!("'{}' is no version", String::from_utf8_lossy(&line)),
                    ))
                }
            }
        }
    }

    pub(super) fn read_attr(&mut self, loc: &AttrLoc<'_>, data: &ContextData) -> Result<String> {
        let cmd = Command::ReadAttr(*loc);
        match self.call(&cmd, &[], Some(data), MAX_ATTR)? {
            Ok(Reply::Data(p)) => codec::decode_value(&p)
                .map_err(|reason| self.conn.proto_err(&cmd.describe(), reason)),
            Ok(other) => Err(self.unexpected(&cmd, &other)),
            Err(code) => Err(self.remote_err(&cmd.describe(), code)),
        }
    }

    pub(super) fn write_attr(
        &mut self,
        loc: &AttrLoc<'_>,
        value: &str,
        data: &ContextData,
    ) -> Result<()> {
        // As libiio's string API: the value and its terminating NUL.
        let mut bytes = Vec::with_capacity(value.len() + 1);
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0);
        let cmd = Command::WriteAttr {
            loc: *loc,
            len: bytes.len() as u64,
        };
        match self.call(&cmd, &bytes, Some(data), 0)? {
            Ok(_) => Ok(()),
            Err(code) => Err(self.remote_err(&cmd.describe(), code)),
        }
    }

    pub(super) fn current_trigger(
        &mut self,
        dev: &str,
        data: &ContextData,
    ) -> Result<Option<String>> {
        let cmd = Command::GetTrig { dev };
        match self.call(&cmd, &[], Some(data), MAX_TRIGGER_NAME)? {
            Ok(Reply::Trigger(t)) => Ok(t),
            Ok(other) => Err(self.unexpected(&cmd, &other)),
            // libiio 1.x's servers answer ENODEV for "no trigger assigned" in the text
            // protocol too (the binary codec reads it so already): the device itself is one
            // of the server's, so it cannot mean that.
            Err(code) if code == neg(Errno::NODEV) => Ok(None),
            Err(code) => Err(self.remote_err(&cmd.describe(), code)),
        }
    }

    pub(super) fn set_trigger(
        &mut self,
        dev: &str,
        trigger: Option<&str>,
        data: &ContextData,
    ) -> Result<()> {
        // The server looks a trigger up by id, label or name; send the id when we know it,
        // it is the one word the text lexer always accepts.
        let word = trigger.map(|name| {
            data.trigger_named(name)
                .map_or(name, |i| data.devices[i].id.as_str())
        });
        let cmd = Command::SetTrig { dev, trigger: word };
        match self.call(&cmd, &[], Some(data), 0)? {
            Ok(_) => Ok(()),
            Err(code) => Err(self.remote_err(&cmd.describe(), code)),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // As libiio: an empty line ends a half-sent command, then EXIT. Best effort, briefly.
        if self.codec == Dialect::Text && !self.broken {
            let mut out = Vec::new();
            if text::encode(&Command::Exit, &[], &mut out).is_ok() {
                let d = Deadline::after(Some(Duration::from_millis(100)));
                let _ = self.conn.send(&out, "EXIT", d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::conn::Endpoint;
    use std::io::Write;
    use std::time::Duration;

    /// A session of `codec` over a socket pair; the other end is the test's.
    fn session(codec: Dialect) -> (Session, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint {
            host: "127.0.0.1".into(),
            port: l.local_addr().unwrap().port(),
        };
        let timeout = Some(Duration::from_secs(2));
        let conn = Conn::connect(&ep, timeout).unwrap();
        let s = Session {
            conn,
            codec,
            timeout,
            broken: false,
        };
        (s, l.accept().unwrap().0)
    }

    #[test]
    fn a_gettrig_answered_enodev_is_no_trigger_in_both_protocols() {
        // libiio 1.x's servers pass their local backend's "no trigger" (-ENODEV) on, in text
        // and in binary; any other error stays one.
        let data = crate::xml::parse(
            br#"<?xml version="1.0"?><context name="x"><device id="iio:device0" name="adc"/></context>"#,
            "test",
        )
        .unwrap();
        let (mut s, mut server) = session(Dialect::Text);
        server.write_all(b"-19\n-2\n").unwrap();
        assert_eq!(s.current_trigger("iio:device0", &data).unwrap(), None);
        let e = s.current_trigger("iio:device0", &data).unwrap_err();
        assert_eq!(e.errno(), 2, "{e}");
        let (mut s, mut server) = session(Dialect::Binary(Numbering::Main2026));
        for code in [-19i32, -2] {
            let h = Header {
                client_id: 0,
                op: binary::RESPONSE,
                dev: 0,
                code,
            };
            server.write_all(&h.encode()).unwrap();
        }
        assert_eq!(s.current_trigger("iio:device0", &data).unwrap(), None);
        assert_eq!(
            s.current_trigger("iio:device0", &data).unwrap_err().errno(),
            2
        );
    }
}
