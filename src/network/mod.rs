//! Remote contexts: `ip:HOST[:PORT]` through libiio's network daemon `iiod` (default port
//! 30431). The context's structure comes from the server's XML (PRINT, or zstd-compressed
//! ZPRINT), parsed by the XML module; attribute and trigger calls then go over the same
//! connection.
//!
//! Two protocols: the text protocol of libiio 0.x (every server; see
//! `shared/protocol/iiod.md` §2) and the binary protocol of libiio 1.x, detected by sending
//! `BINARY` first (a 0.x server answers `-22` and the connection stays text). The binary
//! protocol has no version, and its opcodes were renumbered in 2026 (`binary.rs`): the same
//! byte is a write of one attribute under one numbering and of another under the other. So
//! no binary command is sent before the numbering is established, without side effects
//! under either known numbering: the session sends `NOP` of the 2026 numbering (opcode 32).
//! A 2026 server answers it with code 0; a libiio 1.0 server has 27 opcodes and ends the
//! session on an unknown one before doing anything, so a connection closed in reply to the
//! probe means the 1.0 numbering, which the session then speaks on a new connection. Any
//! other reply, or none within the timeout, is a server of neither numbering: the session
//! speaks the text protocol (which 1.x servers keep) on a new connection rather than guess.
//! [`crate::Context::iiod_dialect`] tells which one is in use (`ferroio -v` prints it).
//! Binary covers PRINT, TIMEOUT, attributes and triggers; buffers use the text commands,
//! which 1.x servers still accept.
//!
//! What a hostile or broken server can do to us is bounded: every call has a deadline (the
//! context timeout, 5 s by default, set with [`crate::Context::set_timeout`]; a zero timeout
//! waits for ever, as in libiio), every length a server announces is checked against a limit
//! before anything is read, payloads are read in pieces (never allocated at the size claimed),
//! and anything that is not the protocol is an [`Error::Protocol`]. After a transport or
//! protocol failure the connection is dropped and the next call opens a new one, so one bad
//! reply cannot leave later calls reading the rest of it. Names that the server's lexer would
//! misread are refused before anything is sent (`text.rs`).
//!
//! Servers are found with DNS-SD (`mdns.rs`): `ip:` with no host takes the first that
//! announces itself, and `.local` names the system resolver does not know are asked for on
//! the link.
//!
//! Buffers (`stream.rs`) use a connection of their own each, as libiio's do: capture asks
//! for many blocks per request with two requests in flight, output is sent in batches by a
//! thread of the stream (`sender.rs`), so neither waits a round trip per block.

use crate::backend::{AttrLoc, Backend};
use crate::error::{Error, Result};
use crate::model::ContextData;
use rustix::io::Errno;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub(crate) mod binary;
pub(crate) mod conn;
pub mod mdns;
mod sender;
mod stream;
pub(crate) mod text;

pub use binary::Numbering;
use binary::{Header, Op};
use conn::{Conn, Deadline, Endpoint};

/// iiod's TCP port.
pub const DEFAULT_PORT: u16 = 30431;

/// libiio's default network timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest reply line accepted where a number is expected.
const MAX_LINE: usize = 64;
/// Largest attribute value accepted (as for local attributes).
const MAX_ATTR: usize = 1 << 20;
/// Largest context description accepted, compressed or not (the largest real one known is
/// about 250 KB).
const MAX_XML: usize = 32 << 20;
/// Largest trigger name accepted (libiio's own buffer size).
const MAX_TRIGGER_NAME: usize = 1024;

/// Which iiod protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// Ask for the binary protocol and fall back to text when the server refuses (libiio
    /// 1.x clients do the same).
    #[default]
    Auto,
    /// The text protocol only (what libiio 0.x clients speak).
    Text,
    /// The binary protocol only; a server that refuses it is an error.
    Binary,
}

/// How to open a remote context.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Timeout of the connection and of every call; `None` (or zero) waits for ever.
    pub timeout: Option<Duration>,
    /// The protocol to speak.
    pub protocol: Protocol,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Some(DEFAULT_TIMEOUT),
            protocol: Protocol::Auto,
        }
    }
}

impl Options {
    /// libiio's defaults: 5 s timeout, binary protocol when the server offers it.
    pub fn new() -> Options {
        Options::default()
    }

    /// Sets the timeout (`None` or zero: no timeout).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Options {
        self.timeout = timeout;
        self
    }

    /// Sets the protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Options {
        self.protocol = protocol;
        self
    }
}

/// The protocol a connection to iiod speaks, as established when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// libiio 0.x's text protocol (every iiod; 1.x servers keep it).
    Text,
    /// libiio 1.x's binary protocol with this opcode numbering.
    Binary(Numbering),
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dialect::Text => f.write_str("text protocol (libiio 0.x)"),
            Dialect::Binary(n) => write!(f, "binary protocol, {}", n.describe()),
        }
    }
}

/// How long `ip:` with no host listens for DNS-SD answers before taking the first server.
pub const DISCOVERY_WINDOW: Duration = Duration::from_millis(1500);

/// The parts of the context served by `iiod` at `host` (`HOST`, `HOST:PORT`, `[IPV6]:PORT`
/// or a bare IPv6 address: what follows `ip:` in a URI), for [`Context::from_network`]. An
/// empty `host` finds a server with DNS-SD (the first `_iio._tcp` service that answers and
/// accepts a connection, as libiio's `ip:` does); a `.local` name the system resolver does
/// not know is resolved with multicast DNS, once per context.
///
/// [`Context::from_network`]: crate::Context::from_network
pub(crate) fn open(host: &str, options: &Options) -> Result<(ContextData, Arc<dyn Backend>)> {
    let (mut session, mut ep) = if host.is_empty() {
        open_discovered(options)?
    } else {
        let ep = parse_host(host).map_err(|reason| Error::InvalidUri {
            uri: format!("ip:{host}"),
            reason,
        })?;
        (Session::open(&ep, options)?, ep)
    };
    let uri_host = ep.host.clone();
    if mdns::is_local_name(&ep.host) {
        // Buffers open connections of their own: resolve a `.local` name once, not per
        // connection (multicast DNS may be what resolved it).
        ep.host = session.conn.addr.ip().to_string();
    }
    let xml = session.handshake()?;
    let mut data = crate::xml::parse(&xml, &format!("{} (PRINT)", session.conn.peer))?;
    let addr = session.conn.addr.ip().to_string();
    data.name = "network".into();
    data.description = if data.description.is_empty() {
        addr.clone()
    } else {
        format!("{addr} {}", data.description)
    };
    set_attr(&mut data.attrs, "ip,ip-addr", addr);
    set_attr(&mut data.attrs, "uri", format!("ip:{uri_host}"));
    let data_for_backend = Arc::new(data.clone());
    let backend = NetworkBackend {
        ep,
        protocol: options.protocol,
        timeout: Mutex::new(options.timeout),
        dialect: Mutex::new(session.dialect),
        session: Mutex::new(Some(session)),
        data: data_for_backend,
    };
    Ok((data, Arc::new(backend)))
}

/// The first iiod announced with DNS-SD that can be connected to (libiio also drops the
/// ones it cannot reach before taking the first), with its endpoint.
fn open_discovered(options: &Options) -> Result<(Session, Endpoint)> {
    let what = format!("DNS-SD discovery of {}", mdns::IIO_SERVICE);
    let found = mdns::browse(DISCOVERY_WINDOW).map_err(|e| Error::Network {
        peer: "ip:".into(),
        what: what.clone(),
        source: e,
    })?;
    let mut last = None;
    for s in &found {
        for addr in &s.addrs {
            let ep = Endpoint {
                host: addr.to_string(),
                port: s.port,
            };
            match Session::open(&ep, options) {
                Ok(session) => return Ok((session, ep)),
                Err(e) => last = Some(e),
            }
        }
    }
    Err(last.unwrap_or_else(|| Error::Network {
        peer: "ip:".into(),
        what,
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no iiod server announced itself on the local networks",
        ),
    }))
}

/// Replaces a context attribute in place, or appends it (libiio's `iio_context_add_attr`).
fn set_attr(attrs: &mut Vec<(String, String)>, key: &str, value: String) {
    match attrs.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => attrs.push((key.to_string(), value)),
    }
}

/// Splits what follows `ip:` into host and port, as libiio does: no colon = host; one colon =
/// `host:port`; `[v6]:port`; several colons without brackets = a bare IPv6 address.
pub(crate) fn parse_host(rest: &str) -> std::result::Result<Endpoint, String> {
    let port_of = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("'{p}' is not a port number"))
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| "missing ']' after an IPv6 address".to_string())?;
        match after {
            "" => (host, DEFAULT_PORT),
            _ => match after.strip_prefix(':') {
                Some(p) => (host, port_of(p)?),
                None => return Err(format!("unexpected '{after}' after ']'")),
            },
        }
    } else {
        match rest.matches(':').count() {
            0 => (rest, DEFAULT_PORT),
            1 => {
                let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
                (h, port_of(p)?)
            }
            _ => (rest, DEFAULT_PORT),
        }
    };
    if host.is_empty() {
        return Err("no host given (a bare 'ip:' finds one with DNS-SD)".into());
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(format!("'{}' is not a host name", host.escape_debug()));
    }
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

/// One connection and the protocol it speaks.
#[derive(Debug)]
struct Session {
    conn: Conn,
    dialect: Dialect,
    timeout: Option<Duration>,
    /// Set by any transport or protocol failure: the stream may be out of step.
    broken: bool,
}

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
    /// establishes its opcode numbering (module documentation); a server of no known
    /// numbering is spoken to in text.
    fn open(ep: &Endpoint, options: &Options) -> Result<Session> {
        let timeout = options.timeout.filter(|t| !t.is_zero());
        let connect = || -> Result<Session> {
            Ok(Session {
                conn: Conn::connect(ep, timeout)?,
                dialect: Dialect::Text,
                timeout,
                broken: false,
            })
        };
        let mut s = connect()?;
        if options.protocol == Protocol::Text {
            return Ok(s);
        }
        let refused = |s: &Session, why: String| Error::Unsupported {
            backend: "network",
            what: format!("{}: the binary protocol ({why})", s.conn.peer),
        };
        let reply = s.text_int("BINARY\r\n")?;
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
                s.dialect = Dialect::Binary(Numbering::Main2026);
                Ok(s)
            }
            ProbeReply::Closed => {
                // A 1.0 server ended that session; speak its numbering on a new one.
                let mut s = connect()?;
                match s.text_int("BINARY\r\n")? {
                    0 => {
                        s.dialect = Dialect::Binary(Numbering::Libiio10);
                        Ok(s)
                    }
                    n => Err(s.proto_err(
                        "BINARY",
                        format!("accepted the binary protocol, then refused it ({n})"),
                    )),
                }
            }
            ProbeReply::Other(what) => {
                let why = format!("no known opcode numbering: {what}");
                if options.protocol == Protocol::Binary {
                    return Err(refused(&s, why));
                }
                // The first connection is in binary mode in an unknown state: leave it.
                s.broken = true;
                drop(s);
                connect()
            }
        }
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
        let deadline = self.deadline();
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
            (0, 0) => ProbeReply::Nop,
            (op, code) => ProbeReply::Other(format!("opcode {op} code {code} in reply")),
        })
    }

    /// The numbering in use, for a binary session.
    fn numbering(&self) -> Option<Numbering> {
        match self.dialect {
            Dialect::Binary(n) => Some(n),
            Dialect::Text => None,
        }
    }

    fn binary(&self) -> bool {
        self.numbering().is_some()
    }

    /// The header of a binary command: the operation's opcode under the session's
    /// numbering, or an error when it has none (nothing is sent then).
    fn header(&self, op: Op, dev: u8, code: i32) -> Result<Header> {
        let numbering = self.numbering().ok_or_else(|| Error::Unsupported {
            backend: "network",
            what: format!("{}: {op:?} outside the binary protocol", self.conn.peer),
        })?;
        let op = op.code(numbering).ok_or_else(|| Error::Unsupported {
            backend: "network",
            what: format!(
                "{}: {op:?} (the server speaks the {})",
                self.conn.peer,
                numbering.describe()
            ),
        })?;
        Ok(Header {
            client_id: 0,
            op,
            dev,
            code,
        })
    }

    fn deadline(&self) -> Deadline {
        Deadline::after(self.timeout)
    }

    /// Runs a transport step; any failure marks the session broken.
    fn io<T>(&mut self, f: impl FnOnce(&mut Conn, Deadline) -> Result<T>) -> Result<T> {
        let deadline = self.deadline();
        let r = f(&mut self.conn, deadline);
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    fn proto_err(&mut self, what: &str, reason: impl Into<String>) -> Error {
        self.broken = true;
        self.conn.proto_err(what, reason)
    }

    /// The error for a negative reply: the server's errno.
    fn remote_err(&mut self, what: &str, code: i64) -> Error {
        if (-4095..0).contains(&code) {
            self.conn
                .io_err(what, std::io::Error::from_raw_os_error((-code) as i32))
        } else {
            self.proto_err(what, format!("invalid reply {code}"))
        }
    }

    /// Reads a reply line and parses it as a number.
    fn read_int(&mut self, what: &str) -> Result<i64> {
        let parsed = self.io(|c, d| c.read_line_with(MAX_LINE, what, d, text::parse_int))?;
        parsed.map_err(|reason| self.proto_err(what, reason))
    }

    /// Sends a text command and reads its numeric reply.
    fn text_int(&mut self, cmd: &str) -> Result<i64> {
        let what = cmd.trim_end();
        self.io(|c, d| c.send(cmd.as_bytes(), what, d))?;
        self.read_int(what)
    }

    /// Reads `LEN\n` + LEN bytes + `\n`; a negative LEN is the server's error.
    fn read_text_payload(&mut self, what: &str, max: usize) -> Result<Vec<u8>> {
        let n = self.read_int(what)?;
        if n < 0 {
            return Err(self.remote_err(what, n));
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let payload = self.io(|c, d| c.read_payload(n, max, what, d))?;
        self.io(|c, d| c.expect_newline(what, d))?;
        Ok(payload)
    }

    /// The server-side timeout libiio asks for: half of its own (0 = none).
    fn remote_timeout_ms(&self) -> i32 {
        self.timeout
            .map(|t| (t.as_millis() / 2).min(i32::MAX as u128) as i32)
            .unwrap_or(0)
    }

    /// Sets the server-side timeout and fetches the context XML, in as few round trips as
    /// the protocol allows: TIMEOUT and (Z)PRINT are sent together.
    fn handshake(&mut self) -> Result<Vec<u8>> {
        let remote = self.remote_timeout_ms();
        if self.binary() {
            let mut out = Vec::with_capacity(16);
            out.extend_from_slice(&self.header(Op::Timeout, 0, remote)?.encode());
            out.extend_from_slice(&self.header(Op::Print, 0, 0)?.encode());
            self.io(|c, d| c.send(&out, "TIMEOUT + PRINT", d))?;
            // As in text mode, a server that cannot set its timeout still serves.
            let _ = self.bin_response("TIMEOUT", 0)?;
            let payload = match self.bin_response("PRINT", MAX_XML)? {
                Ok(p) => p,
                Err(code) => return Err(self.remote_err("PRINT", code.into())),
            };
            return if binary::is_zstd(&payload) {
                self.unzstd(&payload, "PRINT")
            } else {
                Ok(payload)
            };
        }
        let cmd = format!("TIMEOUT {remote}\r\nZPRINT\r\n");
        self.io(|c, d| c.send(cmd.as_bytes(), "TIMEOUT + ZPRINT", d))?;
        // libiio ignores the answer here: tinyiiod-based servers do not know TIMEOUT (-22),
        // and iiod serving an XML context answers -38.
        let _ = self.read_int(&format!("TIMEOUT {remote}"))?;
        match self.read_text_payload("ZPRINT", MAX_XML) {
            Ok(z) => self.unzstd(&z, "ZPRINT"),
            Err(e) if !self.broken => {
                // A server without zstd answers -22: ask for the plain XML.
                let _ = e;
                self.io(|c, d| c.send(b"PRINT\r\n", "PRINT", d))?;
                self.read_text_payload("PRINT", MAX_XML)
            }
            Err(e) => Err(e),
        }
    }

    /// Decompresses a zstd frame, refusing output beyond [`MAX_XML`].
    fn unzstd(&mut self, frame: &[u8], what: &str) -> Result<Vec<u8>> {
        let mut src = frame;
        let decoder = ruzstd::StreamingDecoder::new(&mut src)
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

    /// Sends the server-side timeout for a new client timeout.
    fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.timeout = timeout.filter(|t| !t.is_zero());
        let remote = self.remote_timeout_ms();
        if self.binary() {
            match self.bin_call(Op::Timeout, 0, remote, &[], "TIMEOUT", 0)? {
                Ok(_) => Ok(()),
                Err(code) => Err(self.remote_err("TIMEOUT", code.into())),
            }
        } else {
            let cmd = format!("TIMEOUT {remote}\r\n");
            match self.text_int(&cmd)? {
                n if n >= 0 || n == neg(Errno::INVAL) => Ok(()),
                n => Err(self.remote_err(cmd.trim_end(), n)),
            }
        }
    }

    /// Reads frames until the response to client 0 arrives: its payload (at most `max`
    /// bytes; `max == 0` for commands whose response carries none), or the negative code.
    /// Frames for other clients are skipped.
    fn bin_response(
        &mut self,
        what: &str,
        max: usize,
    ) -> Result<std::result::Result<Vec<u8>, i32>> {
        loop {
            let mut raw = [0u8; binary::HEADER_LEN];
            self.io(|c, d| c.read_exact(&mut raw, what, d))?;
            let h = Header::decode(&raw);
            if h.op != RESPONSE {
                return Err(
                    self.proto_err(what, format!("unexpected opcode {} from the server", h.op))
                );
            }
            if h.client_id != 0 {
                // Not ours (nothing else is in flight on this connection): drop its payload.
                let n = h.code.max(0) as usize;
                if n > MAX_XML {
                    return Err(self.proto_err(what, format!("stray response of {n} bytes")));
                }
                self.io(|c, d| c.skip(n, what, d))?;
                continue;
            }
            if h.code < 0 {
                return Ok(Err(h.code));
            }
            if max == 0 {
                // Commands without output (writes, TIMEOUT, SETTRIG): the code is a count
                // or a status, and nothing follows.
                return Ok(Ok(Vec::new()));
            }
            let n = h.code as usize;
            let payload = self.io(|c, d| c.read_payload(n, max, what, d))?;
            return Ok(Ok(payload));
        }
    }

    /// Sends one binary command with its payload and waits for its response.
    fn bin_call(
        &mut self,
        op: Op,
        dev: u8,
        code: i32,
        payload: &[u8],
        what: &str,
        max: usize,
    ) -> Result<std::result::Result<Vec<u8>, i32>> {
        let mut out = Vec::with_capacity(binary::HEADER_LEN + payload.len());
        out.extend_from_slice(&self.header(op, dev, code)?.encode());
        out.extend_from_slice(payload);
        self.io(|c, d| c.send(&out, what, d))?;
        self.bin_response(what, max)
    }

    fn read_attr(&mut self, loc: &AttrLoc<'_>, data: &ContextData) -> Result<String> {
        let (what, payload) = if self.binary() {
            let (op, dev, code) = bin_attr(loc, data, false)?;
            let what = format!("{op:?} {}", describe(loc));
            match self.bin_call(op, dev, code, &[], &what, MAX_ATTR)? {
                Ok(p) => (what, p),
                Err(code) => return Err(self.remote_err(&what, code.into())),
            }
        } else {
            let cmd = text::read_command(loc).map_err(|r| invalid(loc, r))?;
            let what = cmd.trim_end().to_string();
            self.io(|c, d| c.send(cmd.as_bytes(), &what, d))?;
            let p = self.read_text_payload(&what, MAX_ATTR)?;
            (what, p)
        };
        text::decode_value(&payload).map_err(|reason| self.conn.proto_err(&what, reason))
    }

    fn write_attr(&mut self, loc: &AttrLoc<'_>, value: &str, data: &ContextData) -> Result<()> {
        // As libiio's string API: the value and its terminating NUL.
        let mut bytes = Vec::with_capacity(value.len() + 1);
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0);
        if self.binary() {
            let (op, dev, code) = bin_attr(loc, data, true)?;
            let what = format!("{op:?} {}", describe(loc));
            let mut payload = Vec::with_capacity(8 + bytes.len());
            payload.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            payload.extend_from_slice(&bytes);
            return match self.bin_call(op, dev, code, &payload, &what, 0)? {
                Ok(_) => Ok(()),
                Err(code) => Err(self.remote_err(&what, code.into())),
            };
        }
        let cmd = text::write_command(loc, bytes.len()).map_err(|r| invalid(loc, r))?;
        let what = cmd.trim_end().to_string();
        // Command line and value in one write: the value is length-framed, so whatever it
        // holds (spaces, newlines) cannot be read as a command.
        let mut out = cmd.into_bytes();
        out.extend_from_slice(&bytes);
        self.io(|c, d| c.send(&out, &what, d))?;
        let n = self.read_int(&what)?;
        if n < 0 {
            return Err(self.remote_err(&what, n));
        }
        Ok(())
    }

    fn current_trigger(&mut self, dev: &str, data: &ContextData) -> Result<Option<String>> {
        if self.binary() {
            return self.bin_gettrig(dev, data);
        }
        let cmd = text::gettrig_command(dev).map_err(|reason| Error::InvalidValue {
            what: format!("device {dev}"),
            reason,
        })?;
        let what = cmd.trim_end().to_string();
        self.io(|c, d| c.send(cmd.as_bytes(), &what, d))?;
        let n = self.read_int(&what)?;
        if n < 0 {
            return Err(self.remote_err(&what, n));
        }
        if n == 0 {
            return Ok(None);
        }
        let len = usize::try_from(n).unwrap_or(usize::MAX);
        let name = self.io(|c, d| c.read_payload(len, MAX_TRIGGER_NAME, &what, d))?;
        self.io(|c, d| c.expect_newline(&what, d))?;
        let name = text::decode_value(&name).map_err(|r| self.proto_err(&what, r))?;
        Ok(Some(name))
    }

    fn set_trigger(&mut self, dev: &str, trigger: Option<&str>, data: &ContextData) -> Result<()> {
        // The server looks a trigger up by id, label or name; send the id when we know it,
        // it is the one word the lexer always accepts.
        let trig_dev = trigger.map(|name| {
            data.devices
                .iter()
                .enumerate()
                .find(|(_, d)| d.id.starts_with("trigger") && d.name.as_deref() == Some(name))
        });
        if self.binary() {
            let idx = dev_index(data, dev)?;
            let code = match trig_dev {
                None => -1,
                Some(Some((i, _))) => i as i32,
                Some(None) => {
                    return Err(Error::NoDevice(trigger.unwrap_or_default().to_string()));
                }
            };
            let what = format!("SETTRIG {dev}");
            return match self.bin_call(Op::SetTrig, idx, code, &[], &what, 0)? {
                Ok(_) => Ok(()),
                Err(code) => Err(self.remote_err(&what, code.into())),
            };
        }
        let trig_word = match trig_dev {
            None => None,
            Some(Some((_, d))) => Some(d.id.as_str()),
            Some(None) => trigger,
        };
        let cmd = text::settrig_command(dev, trig_word).map_err(|reason| Error::InvalidValue {
            what: format!("trigger of device {dev}"),
            reason,
        })?;
        match self.text_int(&cmd)? {
            n if n >= 0 => Ok(()),
            n => Err(self.remote_err(cmd.trim_end(), n)),
        }
    }

    /// Binary GETTRIG: the response code is the trigger's device index.
    fn bin_gettrig(&mut self, dev: &str, data: &ContextData) -> Result<Option<String>> {
        let idx = dev_index(data, dev)?;
        let what = format!("GETTRIG {dev}");
        let header = self.header(Op::GetTrig, idx, 0)?;
        self.io(|c, d| c.send(&header.encode(), &what, d))?;
        loop {
            let mut raw = [0u8; binary::HEADER_LEN];
            self.io(|c, d| c.read_exact(&mut raw, &what, d))?;
            let h = Header::decode(&raw);
            if h.op != RESPONSE {
                return Err(self.proto_err(&what, format!("unexpected opcode {}", h.op)));
            }
            if h.client_id != 0 {
                let n = h.code.max(0) as usize;
                if n > MAX_XML {
                    return Err(self.proto_err(&what, format!("stray response of {n} bytes")));
                }
                self.io(|c, d| c.skip(n, &what, d))?;
                continue;
            }
            if i64::from(h.code) == neg(Errno::NODEV) {
                // 1.x servers say ENODEV for "no trigger assigned" (libiio 1.x's own
                // local backend does, and its iio_info prints it so).
                return Ok(None);
            }
            if h.code < 0 {
                return Err(self.remote_err(&what, h.code.into()));
            }
            return match data.devices.get(h.code as usize) {
                Some(t) => Ok(Some(t.name.clone().unwrap_or_else(|| t.id.clone()))),
                None => Err(self.proto_err(
                    &what,
                    format!("trigger index {} is not a device of the context", h.code),
                )),
            };
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // As libiio: an empty line ends a half-sent command, then EXIT. Best effort, briefly.
        if !self.binary() && !self.broken {
            let d = Deadline::after(Some(Duration::from_millis(100)));
            let _ = self.conn.send(b"\r\nEXIT\r\n", "EXIT", d);
        }
    }
}

/// `-errno`, as replies carry it.
fn neg(e: Errno) -> i64 {
    -i64::from(e.raw_os_error())
}

/// The opcode of responses, the same in every numbering.
const RESPONSE: u8 = 0;

fn describe(loc: &AttrLoc<'_>) -> String {
    format!("'{}' of {}", loc.name(), loc.owner())
}

fn invalid(loc: &AttrLoc<'_>, reason: String) -> Error {
    Error::InvalidValue {
        what: format!(
            "attribute '{}' of {}",
            loc.name().escape_debug(),
            loc.owner()
        ),
        reason,
    }
}

/// The device's index in context order, as the binary protocol addresses it.
fn dev_index(data: &ContextData, dev: &str) -> Result<u8> {
    let i = data
        .devices
        .iter()
        .position(|d| d.id == dev)
        .ok_or_else(|| Error::NoDevice(dev.to_string()))?;
    u8::try_from(i).map_err(|_| Error::Unsupported {
        backend: "network",
        what: format!("device {dev}: the binary protocol addresses at most 256 devices"),
    })
}

/// Opcode, device index and code of a binary attribute command.
fn bin_attr(loc: &AttrLoc<'_>, data: &ContextData, write: bool) -> Result<(Op, u8, i32)> {
    let missing = || Error::NoAttribute {
        owner: loc.owner(),
        attr: loc.name().to_string(),
    };
    let (dev_id, name) = match loc {
        AttrLoc::Event { .. } => {
            return Err(Error::Unsupported {
                backend: "network",
                what: format!("{}: event attributes over iiod", describe(loc)),
            })
        }
        AttrLoc::Device { dev, name }
        | AttrLoc::Buffer { dev, name }
        | AttrLoc::Debug { dev, name }
        | AttrLoc::Channel { dev, name, .. } => (*dev, *name),
    };
    let di = dev_index(data, dev_id)?;
    let dev = &data.devices[di as usize];
    let pos = |list: &[crate::model::AttrData]| list.iter().position(|a| a.name == name);
    let (op, attr, low) = match loc {
        AttrLoc::Device { .. } => (
            if write { Op::WriteAttr } else { Op::ReadAttr },
            pos(&dev.attrs).ok_or_else(missing)?,
            0,
        ),
        AttrLoc::Debug { .. } => (
            if write {
                Op::WriteDbgAttr
            } else {
                Op::ReadDbgAttr
            },
            pos(&dev.debug_attrs).ok_or_else(missing)?,
            0,
        ),
        AttrLoc::Buffer { .. } => (
            if write {
                Op::WriteBufAttr
            } else {
                Op::ReadBufAttr
            },
            pos(&dev.buffer_attrs).ok_or_else(missing)?,
            0,
        ),
        AttrLoc::Event { .. } => {
            return Err(Error::Unsupported {
                backend: "network",
                what: format!("{}: event attributes over iiod", describe(loc)),
            })
        }
        AttrLoc::Channel {
            channel, output, ..
        } => {
            let ci = dev
                .channels
                .iter()
                .position(|c| c.id == *channel && c.output == *output)
                .ok_or_else(missing)?;
            (
                if write {
                    Op::WriteChnAttr
                } else {
                    Op::ReadChnAttr
                },
                pos(&dev.channels[ci].attrs).ok_or_else(missing)?,
                ci,
            )
        }
    };
    let code = binary::attr_code(attr, low).ok_or_else(|| Error::Unsupported {
        backend: "network",
        what: format!(
            "{}: index beyond the binary protocol's 16 bits",
            describe(loc)
        ),
    })?;
    Ok((op, di, code))
}

/// The backend of `ip:` contexts: one connection for attributes and triggers, opened again
/// after a failure.
#[derive(Debug)]
pub(crate) struct NetworkBackend {
    ep: Endpoint,
    protocol: Protocol,
    timeout: Mutex<Option<Duration>>,
    /// The dialect of the last session opened.
    dialect: Mutex<Dialect>,
    session: Mutex<Option<Session>>,
    data: Arc<ContextData>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl NetworkBackend {
    fn options(&self) -> Options {
        Options {
            timeout: *lock(&self.timeout),
            protocol: self.protocol,
        }
    }

    /// Runs `f` on the session, reconnecting first when the last one broke.
    fn with<T>(&self, f: impl FnOnce(&mut Session, &ContextData) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.session);
        if guard.is_none() {
            let options = self.options();
            let mut s = Session::open(&self.ep, &options)?;
            // As at creation, a server that refuses TIMEOUT is still usable.
            match s.set_timeout(options.timeout) {
                Err(e) if s.broken => return Err(e),
                _ => {}
            }
            *lock(&self.dialect) = s.dialect;
            *guard = Some(s);
        }
        let s = guard.as_mut().expect("session opened above");
        let r = f(s, &self.data);
        if s.broken {
            *guard = None;
        }
        r
    }
}

impl Backend for NetworkBackend {
    fn kind(&self) -> &'static str {
        "network"
    }

    fn read_attr(&self, loc: &AttrLoc<'_>) -> Result<String> {
        self.with(|s, data| s.read_attr(loc, data))
    }

    fn write_attr(&self, loc: &AttrLoc<'_>, value: &str) -> Result<()> {
        self.with(|s, data| s.write_attr(loc, value, data))
    }

    fn current_trigger(&self, dev: &str) -> Result<Option<String>> {
        self.with(|s, data| s.current_trigger(dev, data))
    }

    fn set_trigger(&self, dev: &str, trigger: Option<&str>) -> Result<()> {
        self.with(|s, data| s.set_trigger(dev, trigger, data))
    }

    fn set_timeout(&self, timeout: Duration) -> Result<()> {
        let t = Some(timeout).filter(|t| !t.is_zero());
        *lock(&self.timeout) = t;
        self.with(|s, _| s.set_timeout(t))
    }

    fn open_buffer(
        &self,
        spec: &crate::backend::BufferSpec<'_>,
    ) -> Result<Box<dyn crate::backend::BufferStream>> {
        stream::open(&self.ep, *lock(&self.timeout), spec)
    }

    fn iiod_dialect(&self) -> Option<Dialect> {
        Some(*lock(&self.dialect))
    }

    fn try_clone(&self) -> Result<Arc<dyn Backend>> {
        let options = self.options();
        let mut s = Session::open(&self.ep, &options)?;
        match s.set_timeout(options.timeout) {
            Err(e) if s.broken => return Err(e),
            _ => {}
        }
        Ok(Arc::new(NetworkBackend {
            ep: self.ep.clone(),
            protocol: self.protocol,
            timeout: Mutex::new(options.timeout),
            dialect: Mutex::new(s.dialect),
            session: Mutex::new(Some(s)),
            data: self.data.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_as_libiio_splits_them() {
        let ep = |h: &str, p| Endpoint {
            host: h.into(),
            port: p,
        };
        assert_eq!(parse_host("127.0.0.1"), Ok(ep("127.0.0.1", 30431)));
        assert_eq!(parse_host("pluto.local:1234"), Ok(ep("pluto.local", 1234)));
        assert_eq!(parse_host("[::1]:5000"), Ok(ep("::1", 5000)));
        assert_eq!(parse_host("[::1]"), Ok(ep("::1", 30431)));
        assert_eq!(parse_host("fe80::1:2"), Ok(ep("fe80::1:2", 30431)));
        for bad in [
            "",
            ":1",
            "host:",
            "host:99999",
            "host:x",
            "[::1",
            "[::1]x",
            "a b",
            "a/b",
        ] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
    }
}
