//! Remote contexts: `ip:HOST[:PORT]` through libiio's network daemon `iiod` (default port
//! 30431). The context's structure comes from the server's XML (PRINT, or zstd-compressed
//! ZPRINT), parsed by the XML module; attribute and trigger calls then go over the same
//! connection.
//!
//! Two protocols: the text protocol of libiio 0.x (every server; see
//! `shared/protocol/iiod.md` §2) and the binary protocol of libiio 1.x, detected by sending
//! `BINARY` first (a 0.x server answers `-22` and the connection stays text). Both are
//! codecs of one `Command`/`Reply` model (`codec/`), usable from either
//! side of a connection; a client `session` writes each operation once over whichever the
//! server speaks. The binary protocol has no version, and its opcodes were renumbered in 2026
//! (`codec/binary.rs`): the same byte is a write of one attribute under one numbering and of
//! another under the other. So no binary command is sent before the numbering is
//! established, without side effects under either known numbering: the session sends `NOP`
//! of the 2026 numbering (opcode 32). A 2026 server answers it with code 0; a libiio 1.0
//! server has 27 opcodes and ends the session on an unknown one before doing anything, so a
//! connection closed in reply to the probe means the 1.0 numbering, which the session then
//! speaks on a new connection. Any other reply, or none within the timeout, is a server of
//! neither numbering: the session speaks the text protocol (which 1.x servers keep) on a new
//! connection rather than guess. [`crate::Context::iiod_dialect`] tells which one is in use
//! (`ferroio -v` prints it). Binary covers PRINT, TIMEOUT, attributes, triggers, registers
//! (`REG_READ`/`REG_WRITE`), `NOP` ([`crate::Context::ping`]), buffers (`blocks.rs`: libiio
//! 1.x's blocks, all kept queued) and device events (`events.rs`).
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
//! Buffers use a connection of their own each, as libiio's do. In text (`stream.rs`),
//! capture asks for many blocks per request with two requests in flight, output is sent in
//! batches by a thread of the stream (`sender.rs`); in binary (`blocks.rs`) every block is
//! kept queued on the server. Neither waits a round trip per block.

use crate::attr_loc::AttrLoc;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::model::ContextData;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

mod blocks;
pub(crate) mod codec;
pub(crate) mod conn;
mod events;
mod link;
pub mod mdns;
mod sender;
mod session;
mod stream;

pub use codec::{Dialect, Numbering};
use conn::Endpoint;
use session::Session;

/// iiod's TCP port.
pub const DEFAULT_PORT: u16 = 30431;

/// libiio's default network timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

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
    data.has_description = true;
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
        timeout: Mutex::new(options.timeout),
        dialect: session.dialect(),
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

/// The backend of `ip:` contexts: one connection for attributes and triggers, opened again
/// after a failure.
#[derive(Debug)]
pub(crate) struct NetworkBackend {
    ep: Endpoint,
    timeout: Mutex<Option<Duration>>,
    /// The dialect established when the context was opened; later connections speak it
    /// without negotiating again.
    dialect: Dialect,
    session: Mutex<Option<Session>>,
    data: Arc<ContextData>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl NetworkBackend {
    /// A new connection in the context's dialect, its timeout set (a server that refuses
    /// TIMEOUT is still usable, as at creation).
    fn open_session(&self) -> Result<Session> {
        let timeout = *lock(&self.timeout);
        let mut s = Session::resume(&self.ep, timeout, self.dialect)?;
        match s.set_timeout(timeout) {
            Err(e) if s.broken => Err(e),
            _ => Ok(s),
        }
    }

    /// Runs `f` on the session, reconnecting first when the last one broke.
    fn with<T>(&self, f: impl FnOnce(&mut Session, &ContextData) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.session);
        let s = match &mut *guard {
            Some(s) => s,
            none => none.insert(self.open_session()?),
        };
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

    fn reg_read(&self, dev: &str, address: u32) -> Result<u32> {
        match self.dialect {
            Dialect::Binary(_) => self.with(|s, data| s.reg_read(dev, address, data)),
            Dialect::Text => crate::backend::reg_read_by_attr(self, dev, address),
        }
    }

    fn reg_write(&self, dev: &str, address: u32, value: u32) -> Result<()> {
        match self.dialect {
            Dialect::Binary(_) => self.with(|s, data| s.reg_write(dev, address, value, data)),
            Dialect::Text => crate::backend::reg_write_by_attr(self, dev, address, value),
        }
    }

    fn ping(&self) -> Result<()> {
        self.with(|s, _| s.ping())
    }

    fn set_timeout(&self, timeout: Duration) -> Result<()> {
        let t = Some(timeout).filter(|t| !t.is_zero());
        *lock(&self.timeout) = t;
        let mut guard = lock(&self.session);
        match &mut *guard {
            // A new session is told the timeout as it opens.
            None => *guard = Some(self.open_session()?),
            Some(s) => {
                let r = s.set_timeout(t);
                if s.broken {
                    *guard = None;
                }
                r?;
            }
        }
        Ok(())
    }

    fn open_buffer(
        &self,
        spec: &crate::backend::BufferSpec<'_>,
    ) -> Result<Box<dyn crate::backend::BufferStream>> {
        let timeout = *lock(&self.timeout);
        match self.dialect {
            // libiio 1.x's blocks; iiod 1.x also keeps the text READBUF/WRITEBUF, but its
            // WRITEBUF sends stale blocks first (../shared/peers/libiio-1.x/README.md).
            Dialect::Binary(numbering) => {
                let dev = codec::dev_index(&self.data, &spec.dev.id)?;
                blocks::open(&self.ep, timeout, numbering, dev, spec)
            }
            Dialect::Text => stream::open(&self.ep, timeout, spec),
        }
    }

    fn open_events(&self, dev: &str) -> Result<Box<dyn crate::backend::EventSource>> {
        match self.dialect {
            Dialect::Binary(numbering) => {
                let di = codec::dev_index(&self.data, dev)?;
                events::open(&self.ep, *lock(&self.timeout), numbering, di, dev)
            }
            // iiod 0.x has no events.
            Dialect::Text => Err(Error::Unsupported {
                backend: "network",
                what: format!("events of device {dev}: the server speaks libiio 0.x's protocol"),
            }),
        }
    }

    fn event_attrs(&self, dev: &str) -> Result<Vec<String>> {
        // What the server's description lists (libiio 1.x's): the device's own by name,
        // the channels' by file, as a local device's `events/` directory names them.
        let d = self
            .data
            .devices
            .iter()
            .find(|d| d.id == dev)
            .ok_or_else(|| Error::NoDevice(dev.to_string()))?;
        let mut names: Vec<String> = d
            .event_attrs
            .iter()
            .map(|a| a.name.clone())
            .chain(
                d.channels
                    .iter()
                    .flat_map(|c| c.event_attrs.iter().map(|a| a.filename.clone())),
            )
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn iiod_dialect(&self) -> Option<Dialect> {
        Some(self.dialect)
    }

    fn try_clone(&self) -> Result<Arc<dyn Backend>> {
        let s = self.open_session()?;
        Ok(Arc::new(NetworkBackend {
            ep: self.ep.clone(),
            timeout: Mutex::new(*lock(&self.timeout)),
            dialect: self.dialect,
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
