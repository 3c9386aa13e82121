//! One TCP connection to an `iiod`: connecting with a timeout, sending bytes, and reading
//! replies through a small buffer with a deadline on every call. Nothing here knows a command;
//! the text and binary codecs sit on top.
//!
//! Every read is bounded twice: in time (the deadline of the call, checked before each
//! `recv`) and in size (callers pass the most they accept, and payloads are read in pieces,
//! never allocated at the size a server claims).

use crate::error::{Error, Result};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Size of the receive buffer.
const RECV_BUF: usize = 64 * 1024;

/// Payload reads at least this long go straight into the caller's memory, not through the
/// receive buffer.
pub(crate) const DIRECT_READ: usize = RECV_BUF / 2;

/// How long a `.local` name may take to resolve over multicast DNS.
const MDNS_RESOLVE_WINDOW: Duration = Duration::from_millis(1500);

/// When a call must be over: `None` waits for ever (a timeout of zero, as in libiio).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// The deadline at `when` (`None`: none).
    pub(crate) fn at(when: Option<Instant>) -> Deadline {
        Deadline(when)
    }

    /// The deadline `timeout` from now; `None` or zero means none.
    pub(crate) fn after(timeout: Option<Duration>) -> Deadline {
        Deadline(timeout.filter(|t| !t.is_zero()).map(|t| Instant::now() + t))
    }

    /// Time left, `Ok(None)` for no deadline, `Err` when it has passed.
    fn remaining(&self) -> io::Result<Option<Duration>> {
        match self.0 {
            None => Ok(None),
            Some(at) => {
                let now = Instant::now();
                if now >= at {
                    Err(timed_out())
                } else {
                    Ok(Some(at - now))
                }
            }
        }
    }
}

/// Where a server is: the host as the user wrote it and the port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Host name or address, without IPv6 brackets.
    pub(crate) host: String,
    /// TCP port.
    pub(crate) port: u16,
}

impl Endpoint {
    /// `ip:HOST:PORT` for messages (`ip:[::1]:30431` for IPv6).
    pub(crate) fn display(&self) -> String {
        if self.host.contains(':') {
            format!("ip:[{}]:{}", self.host, self.port)
        } else {
            format!("ip:{}:{}", self.host, self.port)
        }
    }
}

/// A connected socket with its receive buffer.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// The read timeout currently set on the socket, to skip redundant `setsockopt`s.
    sock_read_timeout: Option<Duration>,
    sock_write_timeout: Option<Duration>,
    /// `ip:HOST:PORT`, for error messages.
    pub(crate) peer: String,
    /// The numeric address connected to.
    pub(crate) addr: SocketAddr,
}

impl Conn {
    /// Resolves the endpoint and connects to the first address that answers within the
    /// timeout (each address gets the whole timeout, as libiio's connect does).
    pub(crate) fn connect(ep: &Endpoint, timeout: Option<Duration>) -> Result<Conn> {
        let peer = ep.display();
        let net_err = |what: &str, source: io::Error| Error::Network {
            peer: peer.clone(),
            what: what.to_string(),
            source,
        };
        let addrs: Vec<SocketAddr> = match (ep.host.as_str(), ep.port).to_socket_addrs() {
            Ok(a) => a.collect(),
            // A `.local` name the system resolver does not know (a static binary, no
            // nss-mdns): ask the link with multicast DNS, as libiio's Avahi setups do.
            Err(e) if super::mdns::is_local_name(&ep.host) => {
                let window = timeout
                    .filter(|t| !t.is_zero())
                    .map_or(MDNS_RESOLVE_WINDOW, |t| t.min(MDNS_RESOLVE_WINDOW));
                let found = super::mdns::socket_addrs(&ep.host, ep.port, window)
                    .map_err(|m| net_err("resolving the host with multicast DNS", m))?;
                if found.is_empty() {
                    return Err(net_err(
                        "resolving the host (system resolver, then multicast DNS)",
                        e,
                    ));
                }
                found
            }
            Err(e) => return Err(net_err("resolving the host", e)),
        };
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
        for addr in addrs {
            let attempt = match timeout.filter(|t| !t.is_zero()) {
                Some(t) => TcpStream::connect_timeout(&addr, t),
                None => TcpStream::connect(addr),
            };
            match attempt {
                Ok(stream) => {
                    // Commands are small and written whole; Nagle would hold pipelined ones.
                    stream
                        .set_nodelay(true)
                        .map_err(|e| net_err("setting TCP_NODELAY", e))?;
                    return Ok(Conn {
                        stream,
                        buf: vec![0; RECV_BUF].into_boxed_slice(),
                        start: 0,
                        end: 0,
                        sock_read_timeout: None,
                        sock_write_timeout: None,
                        peer,
                        addr,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(net_err("connect", last))
    }

    /// A second handle on the socket, so another thread can shut it down (cancellation).
    pub(crate) fn clone_stream(&self) -> Result<TcpStream> {
        self.stream.try_clone().map_err(|e| self.io_err("dup", e))
    }

    /// Shuts the socket down both ways: any blocked call on it returns at once.
    pub(crate) fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    pub(crate) fn io_err(&self, what: &str, source: io::Error) -> Error {
        Error::Network {
            peer: self.peer.clone(),
            what: what.to_string(),
            source,
        }
    }

    pub(crate) fn proto_err(&self, what: &str, reason: impl Into<String>) -> Error {
        Error::Protocol {
            peer: self.peer.clone(),
            what: what.to_string(),
            reason: reason.into(),
        }
    }

    /// Sends all of `bytes` before the deadline.
    pub(crate) fn send(&mut self, bytes: &[u8], what: &str, deadline: Deadline) -> Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let r = with_deadline(&mut self.sock_write_timeout, deadline, |t| {
                if let Some(t) = t {
                    self.stream.set_write_timeout(t)?;
                }
                self.stream.write(rest)
            });
            match r {
                Ok(0) => {
                    return Err(self.io_err(what, io::Error::from(io::ErrorKind::WriteZero)));
                }
                Ok(n) => rest = &rest[n..],
                Err(e) => return Err(self.io_err(what, e)),
            }
        }
        Ok(())
    }

    /// One `recv` into `out` before the deadline; end of stream is an error.
    fn recv_into(
        stream: &mut TcpStream,
        sock_timeout: &mut Option<Duration>,
        out: &mut [u8],
        deadline: Deadline,
    ) -> io::Result<usize> {
        with_deadline(sock_timeout, deadline, |t| {
            if let Some(t) = t {
                stream.set_read_timeout(t)?;
            }
            stream.read(out)
        })
    }

    /// Waits for more bytes into the buffer; end of stream is an error.
    fn fill(&mut self, what: &str, deadline: Deadline) -> Result<()> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let r = Self::recv_into(
            &mut self.stream,
            &mut self.sock_read_timeout,
            &mut self.buf[self.end..],
            deadline,
        );
        match r {
            Ok(0) => Err(self.closed(what)),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e) => Err(self.io_err(what, e)),
        }
    }

    /// When the buffer is empty, takes in at most `max` bytes with one `recv`: what a reply
    /// header needs when a large payload follows, which then goes straight to the caller
    /// ([`Conn::read_exact`]) instead of through the buffer.
    pub(crate) fn prefetch(&mut self, max: usize, what: &str, deadline: Deadline) -> Result<()> {
        if self.start != self.end {
            return Ok(());
        }
        self.start = 0;
        self.end = 0;
        let max = max.clamp(1, self.buf.len());
        let r = Self::recv_into(
            &mut self.stream,
            &mut self.sock_read_timeout,
            &mut self.buf[..max],
            deadline,
        );
        match r {
            Ok(0) => Err(self.closed(what)),
            Ok(n) => {
                self.end = n;
                Ok(())
            }
            Err(e) => Err(self.io_err(what, e)),
        }
    }

    fn closed(&self, what: &str) -> Error {
        self.io_err(
            what,
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ),
        )
    }

    /// Reads one reply line (without its `\n`) of at most `max` bytes and hands it to `f`
    /// where it lies in the receive buffer (no allocation: the buffer streams read a header
    /// line per chunk). Empty lines before it are skipped, as libiio's client does.
    pub(crate) fn read_line_with<T>(
        &mut self,
        max: usize,
        what: &str,
        deadline: Deadline,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Result<T> {
        loop {
            while self.start < self.end && self.buf[self.start] == b'\n' {
                self.start += 1;
            }
            if let Some(pos) = self.buf[self.start..self.end]
                .iter()
                .position(|&b| b == b'\n')
            {
                if pos > max {
                    return Err(self.proto_err(what, format!("reply line longer than {max} bytes")));
                }
                let line = &self.buf[self.start..self.start + pos];
                self.start += pos + 1;
                return Ok(f(line));
            }
            if self.end - self.start > max {
                return Err(self.proto_err(what, format!("reply line longer than {max} bytes")));
            }
            self.fill(what, deadline)?;
        }
    }

    /// Reads what is there, at most `out.len()` bytes, waiting for one `recv` when nothing
    /// is buffered. Unlike every other read here, the end of the stream is `Ok(0)`, not an
    /// error: for callers to whom a closed connection is an answer.
    pub(crate) fn read_some(
        &mut self,
        out: &mut [u8],
        what: &str,
        deadline: Deadline,
    ) -> Result<usize> {
        if self.start == self.end {
            let r = Self::recv_into(&mut self.stream, &mut self.sock_read_timeout, out, deadline);
            return r.map_err(|e| self.io_err(what, e));
        }
        let n = (self.end - self.start).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }

    /// Reads exactly `out.len()` bytes.
    pub(crate) fn read_exact(
        &mut self,
        out: &mut [u8],
        what: &str,
        deadline: Deadline,
    ) -> Result<()> {
        let mut done = 0;
        while done < out.len() {
            if self.start < self.end {
                let n = (self.end - self.start).min(out.len() - done);
                out[done..done + n].copy_from_slice(&self.buf[self.start..self.start + n]);
                self.start += n;
                done += n;
                continue;
            }
            // Large reads bypass the buffer.
            if out.len() - done >= DIRECT_READ {
                let r = Self::recv_into(
                    &mut self.stream,
                    &mut self.sock_read_timeout,
                    &mut out[done..],
                    deadline,
                );
                match r {
                    Ok(0) => return Err(self.closed(what)),
                    Ok(n) => done += n,
                    Err(e) => return Err(self.io_err(what, e)),
                }
            } else {
                self.fill(what, deadline)?;
            }
        }
        Ok(())
    }

    /// Reads a payload of `len` bytes the server announced, refusing more than `max` before
    /// reading anything. Memory grows with the bytes actually received, not with the claim.
    pub(crate) fn read_payload(
        &mut self,
        len: usize,
        max: usize,
        what: &str,
        deadline: Deadline,
    ) -> Result<Vec<u8>> {
        if len > max {
            return Err(self.proto_err(
                what,
                format!("announced {len} bytes, more than the {max} accepted"),
            ));
        }
        let mut out = Vec::with_capacity(len.min(RECV_BUF));
        let mut chunk = vec![0u8; len.min(RECV_BUF)];
        while out.len() < len {
            let n = (len - out.len()).min(chunk.len());
            self.read_exact(&mut chunk[..n], what, deadline)?;
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(out)
    }

    /// Reads exactly `out.len()` bytes (at most the receive buffer's size) or nothing: a
    /// deadline that passes first leaves what came in the buffer for the next call, so a
    /// frame header a slow server has not finished is not lost.
    pub(crate) fn read_whole(
        &mut self,
        out: &mut [u8],
        what: &str,
        deadline: Deadline,
    ) -> Result<()> {
        debug_assert!(out.len() <= self.buf.len());
        while self.end - self.start < out.len() {
            // `fill` makes room at the end without dropping buffered bytes.
            self.fill(what, deadline)?;
        }
        out.copy_from_slice(&self.buf[self.start..self.start + out.len()]);
        self.start += out.len();
        Ok(())
    }

    /// Reads and drops `len` bytes.
    pub(crate) fn skip(&mut self, mut len: usize, what: &str, deadline: Deadline) -> Result<()> {
        let mut sink = [0u8; 4096];
        while len > 0 {
            let n = len.min(sink.len());
            self.read_exact(&mut sink[..n], what, deadline)?;
            len -= n;
        }
        Ok(())
    }

    /// Expects the single `\n` that ends a payload reply.
    pub(crate) fn expect_newline(&mut self, what: &str, deadline: Deadline) -> Result<()> {
        let mut nl = [0u8; 1];
        self.read_exact(&mut nl, what, deadline)?;
        if nl[0] != b'\n' {
            return Err(self.proto_err(what, "payload not followed by a newline"));
        }
        Ok(())
    }
}

/// The error of a deadline that passed.
fn timed_out() -> io::Error {
    io::Error::from_raw_os_error(rustix::io::Errno::TIMEDOUT.raw_os_error())
}

/// Runs one socket call (`io` gets the socket timeout to set first, when it must change)
/// until it does something or the deadline passes; then the error is ETIMEDOUT.
///
/// Setting the socket timeout to the exact time left before every call would cost a
/// `setsockopt` per `recv`: the time left shrinks between any two. So the timeout set is
/// kept while it outlasts the deadline by little (at most 1/64 of it plus 2 ms), and a
/// socket timeout that expires before the deadline (one set for an earlier call) is retried.
fn with_deadline(
    sock_timeout: &mut Option<Duration>,
    deadline: Deadline,
    mut io: impl FnMut(Option<Option<Duration>>) -> io::Result<usize>,
) -> io::Result<usize> {
    loop {
        let left = deadline.remaining()?;
        let rearm = match (*sock_timeout, left) {
            (None, None) => false,
            (Some(set), Some(left)) => set > left + left / 64 + Duration::from_millis(2),
            _ => true,
        };
        let r = if rearm {
            *sock_timeout = left;
            io(Some(left))
        } else {
            io(None)
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if deadline.remaining().is_err() || left.is_none() {
                    return Err(timed_out());
                }
            }
            r => return r,
        }
    }
}

/// A reply out of place from `peer` (`ip:HOST:PORT`) to `what`.
pub(crate) fn protocol_error(peer: &str, what: &str, reason: impl Into<String>) -> Error {
    Error::Protocol {
        peer: peer.to_string(),
        what: what.to_string(),
        reason: reason.into(),
    }
}

/// The server's `-errno` for `what` (a code that is no errno is a protocol error).
pub(crate) fn remote_error(peer: &str, what: &str, code: i64) -> Error {
    if (-4095..0).contains(&code) {
        Error::Network {
            peer: peer.to_string(),
            what: what.to_string(),
            source: io::Error::from_raw_os_error((-code) as i32),
        }
    } else {
        protocol_error(peer, what, format!("invalid reply {code}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Reads from a silent server end at their deadline, whatever socket timeout an earlier
    /// call left behind: a shorter one is retried, a longer one set again.
    #[test]
    fn reads_end_at_their_deadline() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint {
            host: "127.0.0.1".into(),
            port: l.local_addr().unwrap().port(),
        };
        let mut c = Conn::connect(&ep, Some(Duration::from_secs(2))).unwrap();
        let _server = l.accept().unwrap();
        for ms in [30u64, 300, 1000, 40] {
            let t0 = Instant::now();
            let deadline = Deadline::after(Some(Duration::from_millis(ms)));
            let e = c.read_line_with(8, "x", deadline, |_| ()).unwrap_err();
            let took = t0.elapsed();
            assert_eq!(e.errno(), 110, "{e}");
            assert!(took >= Duration::from_millis(ms), "{ms} ms: {took:?}");
            assert!(
                took < Duration::from_millis(ms + ms / 16 + 150),
                "{ms} ms: {took:?}"
            );
        }
    }
}
