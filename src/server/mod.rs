//! `ferroio serve`: an iiod server, so that libiio's clients (its tools, IIO Oscilloscope,
//! pyadi-iio, GNU Radio, MATLAB, ferroio's own `ip:` contexts) reach a board's devices
//! without libiio's C daemon.
//!
//! [`Server::bind`] takes any [`Context`] (local devices, a `local:PATH` tree, an XML
//! description, or another server's `ip:` context for a relay) and listens on TCP port
//! 30431; [`Server::run`] serves until a [`ShutdownHandle`] fires, then closes every client's
//! buffers (the devices are put back) and returns. Each client gets a thread speaking iiod
//! 0.x's text protocol (`connection.rs`) over a bounded, deadline-driven socket
//! (`wire.rs`); attribute and trigger requests are answered through the context API, by name,
//! after checking the snapshot (`ops.rs`), never by path; buffers go through ferroio's
//! [`crate::buffer::Buffer`], an input device shared by all the clients reading it
//! (`capture.rs`, `devices.rs`). DNS-SD answers come from `announce.rs`.
//!
//! Bounds against hostile clients: [`ServerOptions::max_clients`] connections (when full, a
//! newcomer takes the place of the connection idle longest, if it has been idle long enough
//! and holds no buffer; otherwise it is turned away), lines, values and buffers per
//! connection (see `connection.rs`), the time a started command may take, an optional idle
//! timeout, and TCP keepalive for peers that vanished.

mod announce;
mod binary;
mod capture;
mod connection;
mod devices;
mod log;
mod ops;
mod wire;

use crate::buffer::{wait_fd, Cancel, EventFdCancel};
use crate::context::Context;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// iiod's TCP port.
pub use crate::network::DEFAULT_PORT;

/// How long a command line or payload may take once it has started, and how long a reply
/// may wait for a client that does not read (default of [`ServerOptions::io_timeout`]).
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The slice of long waits, between checks that the client is still there.
pub(crate) const SLICE: Duration = Duration::from_millis(200);

/// The answer to `VERSION`: iiod 0.24's protocol, the git-tag field naming us.
pub(crate) const VERSION_LINE: &str = "0.24.ferroio";

/// By default, a full server makes room for a newcomer by closing a connection idle at
/// least this long (one without a buffer open).
const EVICT_IDLE: Duration = Duration::from_secs(10);

/// How long [`Server::run`] waits for its clients' threads after a shutdown.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// Peers whose `TIMEOUT` is remembered for their next connections.
const MAX_REMEMBERED: usize = 1024;

/// Where log lines go.
pub type Logger = Arc<dyn Fn(&str) + Send + Sync>;

/// How a [`Server`] listens and what it allows.
#[derive(Clone)]
pub struct ServerOptions {
    port: u16,
    bind: Option<IpAddr>,
    read_only: bool,
    max_clients: usize,
    idle_timeout: Option<Duration>,
    io_timeout: Duration,
    evict_idle: Duration,
    announce: bool,
    binary: bool,
    verbose: bool,
    logger: Option<Logger>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            port: DEFAULT_PORT,
            bind: None,
            read_only: false,
            max_clients: 16,
            idle_timeout: None,
            io_timeout: IO_TIMEOUT,
            evict_idle: EVICT_IDLE,
            announce: true,
            binary: true,
            verbose: false,
            logger: None,
        }
    }
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("port", &self.port)
            .field("bind", &self.bind)
            .field("read_only", &self.read_only)
            .field("max_clients", &self.max_clients)
            .field("idle_timeout", &self.idle_timeout)
            .field("io_timeout", &self.io_timeout)
            .field("evict_idle", &self.evict_idle)
            .field("announce", &self.announce)
            .field("binary", &self.binary)
            .field("verbose", &self.verbose)
            .finish_non_exhaustive()
    }
}

impl ServerOptions {
    /// The defaults: port 30431 on every address, read-write, 16 clients, no idle timeout,
    /// announced over DNS-SD, no log.
    pub fn new() -> ServerOptions {
        ServerOptions::default()
    }

    /// The TCP port (0: any free one; see [`Server::local_addrs`]).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Listen on this address only (default: every address, IPv6 and IPv4).
    pub fn bind(mut self, addr: IpAddr) -> Self {
        self.bind = Some(addr);
        self
    }

    /// Refuse attribute writes, `SETTRIG` and output buffers (`-EACCES`).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The most connections at once (each libiio client uses one, plus one per buffer).
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n.max(1);
        self
    }

    /// Close connections that send no command for this long (`None`: never, as iiod).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout.filter(|t| !t.is_zero());
        self
    }

    /// How long a command may take once its first byte came (the rest of its line, a
    /// written value), and how long a reply may wait for a client that does not read
    /// (default 30 s). A client that overruns it is disconnected.
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.io_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// When every place is taken (`max_clients`), a newcomer gets the place of the
    /// connection idle the longest if that one has been idle (no command, no buffer open)
    /// at least this long (default 10 s); otherwise the newcomer is refused.
    pub fn evict_idle_after(mut self, idle: Duration) -> Self {
        self.evict_idle = idle;
        self
    }

    /// Serve libiio 1.x's binary protocol to clients that ask for it (`BINARY`; default:
    /// yes), in libiio main's opcode numbering. Clients of libiio 1.0's earlier numbering
    /// cannot be told from them on the wire (their first commands are the same) and would
    /// be misunderstood, as by iiod 1.x itself; turn this off where such clients connect:
    /// they then speak the text protocol.
    pub fn binary(mut self, binary: bool) -> Self {
        self.binary = binary;
        self
    }

    /// Answer multicast DNS for `_iio._tcp` (default: yes).
    pub fn announce(mut self, announce: bool) -> Self {
        self.announce = announce;
        self
    }

    /// Log every command, not only connections and errors.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// Where log lines go (default: nowhere).
    pub fn logger(mut self, logger: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.logger = Some(Arc::new(logger));
        self
    }
}

/// Stops a running [`Server`] from any thread (a signal handler's thread, for example).
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    cancel: Arc<EventFdCancel>,
}

impl ShutdownHandle {
    /// Asks the server to stop: it stops accepting, tells clients in the middle of a buffer
    /// transfer (`-ECONNABORTED`), closes every buffer, and [`Server::run`] returns.
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// Whether [`ShutdownHandle::shutdown`] was called.
    pub fn is_shutdown(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// A client, as the accept loop sees it (for eviction and the count).
pub(crate) struct ClientState {
    peer: SocketAddr,
    /// A clone of the socket, to shut it down from outside.
    sock: TcpStream,
    /// When the last command ended, in ms since the server started.
    idle_since: AtomicU64,
    busy: AtomicBool,
    buffers: AtomicUsize,
    evicted: AtomicBool,
    started: Instant,
}

impl ClientState {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// In a command (`true`) or waiting for the next one.
    pub(crate) fn set_busy(&self, busy: bool) {
        self.busy.store(busy, Ordering::SeqCst);
        if !busy {
            self.idle_since.store(self.now_ms(), Ordering::SeqCst);
        }
    }

    /// Buffers it has open.
    pub(crate) fn set_buffers(&self, n: usize) {
        self.buffers.store(n, Ordering::SeqCst);
    }

    /// How long it has been waiting for a command, `None` when it may not be evicted.
    fn evictable_idle(&self) -> Option<Duration> {
        if self.busy.load(Ordering::SeqCst)
            || self.buffers.load(Ordering::SeqCst) > 0
            || self.evicted.load(Ordering::SeqCst)
        {
            return None;
        }
        let since = self.idle_since.load(Ordering::SeqCst);
        Some(Duration::from_millis(self.now_ms().saturating_sub(since)))
    }
}

/// What every client thread shares.
pub(crate) struct Shared {
    ctx: Context,
    options: ServerOptions,
    /// The context description as PRINT sends it.
    xml: Vec<u8>,
    zxml: OnceLock<Option<Vec<u8>>>,
    /// The snapshot with libiio 1.x's sorted attribute lists (binary indexes point into
    /// them), and its description as binary PRINT sends it (compressed on first use).
    data_v1: crate::model::ContextData,
    xml_v1: Vec<u8>,
    zxml_v1: OnceLock<Option<Vec<u8>>>,
    /// Buffers opened in the binary protocol (server-wide, as iiod 1.x keeps them).
    bin_buffers: binary::Buffers,
    devices: Arc<devices::Devices>,
    log: log::Log,
    shutdown: Arc<EventFdCancel>,
    /// The last `TIMEOUT` of each peer address: a libiio client sets it on its context's
    /// connection and expects it on its buffers' connections too (iiod applies it to the
    /// whole context).
    timeouts: Mutex<HashMap<IpAddr, Option<Duration>>>,
}

impl Shared {
    /// The context description, zstd-compressed once, on first request (`None`: the
    /// encoder failed; ZPRINT then answers as a server without zstd does).
    fn zxml(&self) -> Option<&[u8]> {
        self.zxml.get_or_init(|| compress(&self.xml)).as_deref()
    }

    /// [`Shared::zxml`] of libiio 1.x's description (binary PRINT).
    fn zxml_v1(&self) -> Option<&[u8]> {
        self.zxml_v1
            .get_or_init(|| compress(&self.xml_v1))
            .as_deref()
    }

    fn remembered_timeout(&self, ip: IpAddr) -> Option<Duration> {
        let t = self.timeouts.lock().unwrap_or_else(|p| p.into_inner());
        t.get(&ip).copied().flatten()
    }

    fn remember_timeout(&self, ip: IpAddr, timeout: Option<Duration>) {
        let mut t = self.timeouts.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() >= MAX_REMEMBERED && !t.contains_key(&ip) {
            t.clear();
        }
        t.insert(ip, timeout);
    }
}

/// `xml` as one zstd frame with its content size (`None`: the encoder failed).
fn compress(xml: &[u8]) -> Option<Vec<u8>> {
    let owned = xml.to_vec();
    let frame = std::panic::catch_unwind(move || {
        ruzstd::encoding::compress_to_vec(&owned[..], ruzstd::encoding::CompressionLevel::Fastest)
    })
    .ok()?;
    with_content_size(frame, xml.len() as u64)
}

/// A zstd frame with its content size in the header. libiio 1.x sizes its output from it
/// (`ZSTD_getFrameContentSize`) and refuses a frame without it; the encoder leaves it out.
/// The header is rebuilt with a 4-byte `Frame_Content_Size` (RFC 8878 §3.1.1.1); blocks and
/// checksum stay as they are. `None` for a header of another shape than the encoder's.
fn with_content_size(frame: Vec<u8>, size: u64) -> Option<Vec<u8>> {
    const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    let size = u32::try_from(size).ok()?;
    let (&desc, rest) = frame.get(4..)?.split_first()?;
    // Expected: no content size, not single-segment, no dictionary id (checksum either way).
    if frame[..4] != MAGIC || desc & !0x04 != 0 {
        return None;
    }
    let (&window, blocks) = rest.split_first()?;
    let mut out = Vec::with_capacity(frame.len() + 4);
    out.extend_from_slice(&MAGIC);
    out.push(desc | 0b10 << 6); // Frame_Content_Size: 4 bytes
    out.push(window);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(blocks);
    Some(out)
}

/// An iiod server of one context, bound and ready to [`Server::run`].
pub struct Server {
    shared: Arc<Shared>,
    listener: TcpListener,
    addrs: [SocketAddr; 1],
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.addrs)
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

fn bind_err(addr: SocketAddr, source: std::io::Error) -> Error {
    Error::Network {
        peer: addr.to_string(),
        what: "listening for iiod clients".into(),
        source,
    }
}

impl Server {
    /// Binds the listening socket for `ctx` (the server takes its own handle on it).
    /// Fails with the address when it cannot listen (in use, not an address of this host,
    /// no permission).
    pub fn bind(ctx: &Context, options: ServerOptions) -> Result<Server> {
        let listener = match options.bind {
            Some(ip) => {
                let addr = SocketAddr::new(ip, options.port);
                TcpListener::bind(addr).map_err(|e| bind_err(addr, e))?
            }
            None => {
                // Every address: IPv6's wildcard takes IPv4 too (dual stack); a host
                // without IPv6 gets IPv4's.
                let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), options.port);
                let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), options.port);
                match TcpListener::bind(v6) {
                    Ok(l) => l,
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                        return Err(bind_err(v6, e))
                    }
                    Err(_) => TcpListener::bind(v4).map_err(|e| bind_err(v4, e))?,
                }
            }
        };
        listener
            .set_nonblocking(true)
            .map_err(|e| bind_err(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0), e))?;
        let addrs = [listener
            .local_addr()
            .map_err(|e| bind_err(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0), e))?];
        let shutdown = EventFdCancel::new().map_err(|e| Error::io("eventfd", e))?;
        let log = log::Log::new(options.logger.clone(), options.verbose);
        let ctx = ctx.clone();
        let shared = Arc::new(Shared {
            xml: ctx.to_xml().into_bytes(),
            zxml: OnceLock::new(),
            data_v1: binary::sorted_snapshot(ctx.data()),
            xml_v1: binary::description_v1(ctx.data()).into_bytes(),
            zxml_v1: OnceLock::new(),
            bin_buffers: binary::Buffers::default(),
            devices: devices::Devices::new(ctx.num_devices(), log.clone()),
            ctx,
            options,
            log,
            shutdown,
            timeouts: Mutex::new(HashMap::new()),
        });
        Ok(Server {
            shared,
            listener,
            addrs,
        })
    }

    /// The addresses the server listens on (with the port chosen when it was 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// A handle that stops [`Server::run`].
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            cancel: self.shared.shutdown.clone(),
        }
    }

    /// Serves clients until the shutdown handle fires; then closes every connection and
    /// buffer (devices put back) and returns.
    pub fn run(self) -> Result<()> {
        let srv = self.shared.clone();
        let port = self.addrs[0].port();
        srv.log.info(&format!(
            "serving {} ({} devices) on {}{}",
            if srv.ctx.description().is_empty() {
                srv.ctx.name()
            } else {
                srv.ctx.description()
            },
            srv.ctx.num_devices(),
            self.addrs[0],
            if srv.options.read_only {
                ", read-only"
            } else {
                ""
            }
        ));
        let announcer = if srv.options.announce {
            match announce::Announcer::start(port, srv.options.bind) {
                Ok(Some(a)) => {
                    srv.log.info(&format!(
                        "answering multicast DNS for '{}' (DNS-SD)",
                        a.instance()
                    ));
                    Some(a)
                }
                Ok(None) => {
                    srv.log
                        .info("not announced over DNS-SD: the server listens on loopback only");
                    None
                }
                Err(e) => {
                    srv.log
                        .error(&format!("not announced over DNS-SD (multicast DNS): {e}"));
                    None
                }
            }
        } else {
            None
        };
        let mut clients: Vec<(JoinHandle<()>, Arc<ClientState>)> = Vec::new();
        let started = Instant::now();
        // Wakes every second to reap finished clients; the shutdown wakes it at once.
        let mut wait_deadline = Instant::now();
        loop {
            wait_deadline = wait_deadline.max(Instant::now()) + Duration::from_secs(1);
            match wait_fd(
                &srv.shutdown,
                "server",
                std::path::Path::new("listening socket"),
                self.listener.as_fd(),
                rustix::event::PollFlags::IN,
                Some(wait_deadline),
            ) {
                Ok(_) => {}
                Err(Error::Cancelled { .. }) => break,
                Err(e) => {
                    srv.log.error(&format!("waiting for clients: {e}"));
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            clients.retain(|(h, _)| !h.is_finished());
            loop {
                match self.listener.accept() {
                    Ok((sock, peer)) => {
                        if let Some(c) = self.admit(sock, peer, &clients, started) {
                            clients.push(c);
                        }
                        clients.retain(|(h, _)| !h.is_finished());
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // Out of file descriptors, for one: wait rather than spin.
                        srv.log.error(&format!("accepting a client: {e}"));
                        std::thread::sleep(Duration::from_millis(100));
                        break;
                    }
                }
            }
        }
        srv.log.info(&format!(
            "stopping: {} client connection(s) to close",
            clients.len()
        ));
        drop(self.listener);
        srv.devices.cancel_outputs();
        let until = Instant::now() + SHUTDOWN_WAIT;
        for (h, c) in clients {
            while !h.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            if h.is_finished() {
                let _ = h.join();
            } else {
                srv.log
                    .error(&format!("client {} did not end in time", c.peer));
                let _ = c.sock.shutdown(std::net::Shutdown::Both);
            }
        }
        drop(announcer);
        srv.log.info("stopped");
        Ok(())
    }

    /// Takes a new connection, or turns it away when the server is full and no idle
    /// connection can make room.
    fn admit(
        &self,
        sock: TcpStream,
        peer: SocketAddr,
        clients: &[(JoinHandle<()>, Arc<ClientState>)],
        started: Instant,
    ) -> Option<(JoinHandle<()>, Arc<ClientState>)> {
        let srv = &self.shared;
        let mut live = clients
            .iter()
            .filter(|(h, c)| !h.is_finished() && !c.evicted.load(Ordering::SeqCst))
            .count();
        if live >= srv.options.max_clients {
            let idlest = clients
                .iter()
                .filter(|(h, _)| !h.is_finished())
                .filter_map(|(_, c)| c.evictable_idle().map(|d| (d, c)))
                .filter(|(d, _)| *d >= srv.options.evict_idle)
                .max_by_key(|(d, _)| *d);
            match idlest {
                Some((idle, c)) => {
                    srv.log.info(&format!(
                        "client {} closed after {} s idle, to make room for {peer}",
                        c.peer,
                        idle.as_secs()
                    ));
                    c.evicted.store(true, Ordering::SeqCst);
                    let _ = c.sock.shutdown(std::net::Shutdown::Both);
                    live -= 1;
                }
                None => {
                    srv.log.info(&format!(
                        "client {peer} refused: {live} clients connected (--max-clients {})",
                        srv.options.max_clients
                    ));
                    return None;
                }
            }
        }
        let setup = || -> std::io::Result<(TcpStream, wire::Wire)> {
            use rustix::net::sockopt;
            sockopt::set_tcp_nodelay(&sock, true)?;
            // Find peers that vanished (a board's client unplugged) within about a minute.
            sockopt::set_socket_keepalive(&sock, true)?;
            sockopt::set_tcp_keepidle(&sock, Duration::from_secs(30))?;
            sockopt::set_tcp_keepintvl(&sock, Duration::from_secs(10))?;
            sockopt::set_tcp_keepcnt(&sock, 3)?;
            let handle = sock.try_clone()?;
            let wire = wire::Wire::new(sock.try_clone()?, peer, srv.shutdown.clone())?;
            Ok((handle, wire))
        };
        let (handle, wire) = match setup() {
            Ok(x) => x,
            Err(e) => {
                srv.log
                    .error(&format!("client {peer}: setting up its socket: {e}"));
                return None;
            }
        };
        let state = Arc::new(ClientState {
            peer,
            sock: handle,
            idle_since: AtomicU64::new(0),
            busy: AtomicBool::new(false),
            buffers: AtomicUsize::new(0),
            evicted: AtomicBool::new(false),
            started,
        });
        state.set_busy(false);
        srv.log.info(&format!(
            "client {peer} connected ({} of {})",
            live + 1,
            srv.options.max_clients
        ));
        let shared = srv.clone();
        let st = state.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("iiod {peer}"))
            .spawn(move || {
                let t0 = Instant::now();
                let mut conn = connection::Connection::new(shared.clone(), wire, st.clone());
                let end = conn.run();
                let (bytes_in, bytes_out) = conn.traffic();
                let end = if st.evicted.load(Ordering::SeqCst) {
                    "closed to make room".to_string()
                } else {
                    end.to_string()
                };
                shared.log.info(&format!(
                    "client {peer} disconnected ({end}) after {:.1} s: {} commands, {bytes_in} bytes in, {bytes_out} bytes out",
                    t0.elapsed().as_secs_f64(),
                    conn.commands
                ));
            });
        match spawned {
            Ok(h) => Some((h, state)),
            Err(e) => {
                srv.log
                    .error(&format!("client {peer}: cannot start its thread: {e}"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_frames_carry_their_content_size() {
        let xml = "<?xml version=\"1.0\"?><context name=\"x\"></context>".repeat(50);
        let frame = ruzstd::encoding::compress_to_vec(
            xml.as_bytes(),
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let sized = with_content_size(frame, xml.len() as u64).unwrap();
        // The header says the size (descriptor's FCS flag 2: four bytes after the window).
        assert_eq!(sized[4] >> 6, 2);
        assert_eq!(
            u32::from_le_bytes(sized[6..10].try_into().unwrap()) as usize,
            xml.len()
        );
        // And the frame still decodes to the text.
        let mut src = &sized[..];
        let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut src).unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut dec, &mut out).unwrap();
        assert_eq!(out, xml);
        // A header of another shape is left alone.
        assert!(with_content_size(sized, xml.len() as u64).is_none());
        assert!(with_content_size(vec![1, 2, 3], 3).is_none());
    }
}
