//! One client's socket, as the server uses it: nonblocking, read through a fixed receive
//! buffer (command lines, payloads) and written with `writev`, every wait bounded by a
//! deadline and woken by the server's shutdown. Nothing here knows a command.
//!
//! Bounds: a command line is at most [`MAX_LINE`] bytes (a longer one is read and thrown
//! away up to its newline, and reported as such), payloads go straight into the caller's
//! memory, and the receive buffer never grows.

use crate::buffer::{wait_fd, Cancel, EventFdCancel, Waited};
use crate::error::Error;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::net::{recv, RecvFlags};
use std::io::{self, IoSlice};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Size of the receive buffer.
const RECV_BUF: usize = 16 * 1024;

/// The longest command line served (iiod's longest real command, a WRITE of a channel
/// attribute with long names, is far below this).
pub(super) const MAX_LINE: usize = 4096;

/// How long a write may wait for the client to make room once the server is shutting down.
const SHUTDOWN_WRITE_GRACE: Duration = Duration::from_secs(1);

/// Why a wire operation stopped.
#[derive(Debug)]
pub(super) enum WireError {
    /// The client closed its end (or reset it).
    Closed,
    /// The server is shutting down.
    Shutdown,
    /// The deadline passed.
    TimedOut,
    /// Any other socket error.
    Io(io::Error),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Closed => f.write_str("the client closed the connection"),
            WireError::Shutdown => f.write_str("the server is shutting down"),
            WireError::TimedOut => f.write_str("timed out"),
            WireError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// A command line, or what was wrong with it.
#[derive(Debug)]
pub(super) enum Line {
    /// The line without its `\n` (a `\r` before it is kept; the parser drops it).
    Text(String),
    /// Longer than [`MAX_LINE`]: discarded through its newline.
    TooLong(usize),
    /// Not UTF-8 (so not a command of the protocol).
    NotText,
}

/// One client's socket with its receive buffer.
pub(super) struct Wire {
    sock: TcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    shutdown: Arc<EventFdCancel>,
    /// Bytes read from and written to the client.
    pub(super) bytes_in: u64,
    pub(super) bytes_out: u64,
    /// The client's address.
    pub(super) peer: SocketAddr,
}

/// What a wait on the socket saw.
enum Ready {
    Yes,
    Shutdown,
    TimedOut,
}

impl Wire {
    /// Wraps an accepted socket (made nonblocking here).
    pub(super) fn new(
        sock: TcpStream,
        peer: SocketAddr,
        shutdown: Arc<EventFdCancel>,
    ) -> io::Result<Wire> {
        sock.set_nonblocking(true)?;
        Ok(Wire {
            sock,
            buf: vec![0; RECV_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            shutdown,
            bytes_in: 0,
            bytes_out: 0,
            peer,
        })
    }

    /// Waits for `events` on the socket until `deadline`; the shutdown wakes it too.
    fn wait(&self, events: PollFlags, deadline: Option<Instant>) -> Result<Ready, WireError> {
        match wait_fd(
            &self.shutdown,
            "client connection",
            Path::new("tcp"),
            self.sock.as_fd(),
            events,
            deadline,
        ) {
            Ok(Waited::Ready) => Ok(Ready::Yes),
            Ok(Waited::TimedOut) => Ok(Ready::TimedOut),
            Err(Error::Cancelled { .. }) => Ok(Ready::Shutdown),
            Err(e) => Err(WireError::Io(std::io::Error::from_raw_os_error(e.errno()))),
        }
    }

    /// Reads more bytes into the buffer (which must have room). `Ok(false)`: nothing came
    /// before the deadline.
    fn fill(&mut self, deadline: Option<Instant>) -> Result<(), WireError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match recv(&self.sock, &mut self.buf[self.end..], RecvFlags::empty()) {
                Ok((0, _)) => return Err(WireError::Closed),
                Ok((n, _)) => {
                    self.end += n;
                    self.bytes_in += n as u64;
                    return Ok(());
                }
                Err(Errno::AGAIN) => match self.wait(PollFlags::IN, deadline)? {
                    Ready::Yes => {}
                    Ready::Shutdown => return Err(WireError::Shutdown),
                    Ready::TimedOut => return Err(WireError::TimedOut),
                },
                Err(Errno::INTR) => {}
                Err(Errno::CONNRESET) => return Err(WireError::Closed),
                Err(e) => return Err(WireError::Io(e.into())),
            }
        }
    }

    /// Waits up to `idle` (`None`: for ever) for a command to start, then up to `rest` for
    /// the rest of its line.
    pub(super) fn read_line(
        &mut self,
        idle: Option<Duration>,
        rest: Duration,
    ) -> Result<Line, WireError> {
        let idle_deadline = idle.map(|d| Instant::now() + d);
        let mut line_deadline = None;
        let mut discarded = 0usize;
        loop {
            if let Some(i) = self.buf[self.start..self.end]
                .iter()
                .position(|&b| b == b'\n')
            {
                let line = &self.buf[self.start..self.start + i];
                let out = if discarded > 0 {
                    Line::TooLong(discarded + i)
                } else {
                    match std::str::from_utf8(line) {
                        Ok(s) => Line::Text(s.to_string()),
                        Err(_) => Line::NotText,
                    }
                };
                self.start += i + 1;
                return Ok(out);
            }
            let pending = self.end - self.start;
            if pending > MAX_LINE || discarded > 0 {
                // Too long to be a command: drop what is here and keep looking for its end.
                discarded += pending;
                self.start = self.end;
            }
            if line_deadline.is_none() && (self.end > self.start || discarded > 0) {
                line_deadline = Some(Instant::now() + rest);
            }
            self.fill(line_deadline.or(idle_deadline))?;
        }
    }

    /// Reads exactly `out.len()` bytes of payload, each piece within `step` of the last.
    pub(super) fn read_exact(&mut self, out: &mut [u8], step: Duration) -> Result<(), WireError> {
        let mut got = 0;
        while got < out.len() {
            let have = self.end - self.start;
            if have > 0 {
                let n = have.min(out.len() - got);
                out[got..got + n].copy_from_slice(&self.buf[self.start..self.start + n]);
                self.start += n;
                got += n;
                continue;
            }
            // Large payloads go straight into the caller's memory.
            if out.len() - got >= RECV_BUF / 2 {
                match recv(&self.sock, &mut out[got..], RecvFlags::empty()) {
                    Ok((0, _)) => return Err(WireError::Closed),
                    Ok((n, _)) => {
                        got += n;
                        self.bytes_in += n as u64;
                        continue;
                    }
                    Err(Errno::AGAIN) => {}
                    Err(Errno::INTR) => continue,
                    Err(Errno::CONNRESET) => return Err(WireError::Closed),
                    Err(e) => return Err(WireError::Io(e.into())),
                }
                match self.wait(PollFlags::IN, Some(Instant::now() + step))? {
                    Ready::Yes => continue,
                    Ready::Shutdown => return Err(WireError::Shutdown),
                    Ready::TimedOut => return Err(WireError::TimedOut),
                }
            }
            self.fill(Some(Instant::now() + step))?;
        }
        Ok(())
    }

    /// Reads and drops `n` bytes of payload.
    pub(super) fn discard(&mut self, mut n: u64, step: Duration) -> Result<(), WireError> {
        let mut sink = [0u8; 4096];
        while n > 0 {
            let k = n.min(sink.len() as u64) as usize;
            self.read_exact(&mut sink[..k], step)?;
            n -= k as u64;
        }
        Ok(())
    }

    /// Writes all of `parts`, in order, each stall of the client at most `step` long.
    pub(super) fn write_all(&mut self, parts: &[&[u8]], step: Duration) -> Result<(), WireError> {
        let r = write_parts(&self.sock, &self.shutdown, parts, step);
        let (sent, r) = match r {
            Ok(n) => (n, Ok(())),
            Err((n, e)) => (n, Err(e)),
        };
        self.bytes_out += sent;
        r
    }

    /// A second handle on the socket and the shutdown signal, for replies written from
    /// other threads (the binary protocol answers blocks when they are done).
    pub(super) fn writer_parts(&self) -> io::Result<(TcpStream, Arc<EventFdCancel>)> {
        Ok((self.sock.try_clone()?, self.shutdown.clone()))
    }

    /// Reads exactly `out.len()` bytes (a frame header), waiting up to `idle` (`None`: for
    /// ever) for the first and up to `rest` for the others.
    pub(super) fn read_header(
        &mut self,
        out: &mut [u8],
        idle: Option<Duration>,
        rest: Duration,
    ) -> Result<(), WireError> {
        let idle_deadline = idle.map(|d| Instant::now() + d);
        while self.end == self.start {
            self.fill(idle_deadline)?;
        }
        self.read_exact(out, rest)
    }

    /// Whether the client has hung up (checked without waiting; bytes it sent are not
    /// a hang-up).
    pub(super) fn peer_gone(&self) -> bool {
        let mut fds = [PollFd::new(
            &self.sock,
            PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR,
        )];
        let zero = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
    }

    /// Bytes of the next command already received (pipelined by the client).
    pub(super) fn has_buffered(&self) -> bool {
        self.end > self.start
    }
}

/// Writes all of `parts` to `sock` (nonblocking), each stall of the client at most `step`
/// long; once the server is shutting down, a write in progress gets a short grace. Returns
/// the bytes written, also with the error that stopped it.
pub(super) fn write_parts(
    sock: &TcpStream,
    shutdown: &EventFdCancel,
    parts: &[&[u8]],
    step: Duration,
) -> Result<u64, (u64, WireError)> {
    let mut slices: Vec<IoSlice<'_>> = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| IoSlice::new(p))
        .collect();
    let mut rest = &mut slices[..];
    let mut grace: Option<Instant> = None;
    let mut sent = 0u64;
    while !rest.is_empty() {
        match rustix::io::writev(sock.as_fd(), rest) {
            Ok(n) => {
                sent += n as u64;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(Errno::AGAIN) => {
                let mut deadline = Instant::now() + step;
                if shutdown.is_cancelled() {
                    // Finish a reply in progress, but do not wait long for it.
                    let g = *grace.get_or_insert_with(|| Instant::now() + SHUTDOWN_WRITE_GRACE);
                    deadline = deadline.min(g);
                }
                match wait_writable(sock, deadline) {
                    Ok(true) => {}
                    Ok(false) => return Err((sent, WireError::TimedOut)),
                    Err(e) => return Err((sent, e)),
                }
            }
            Err(Errno::INTR) => {}
            Err(Errno::PIPE | Errno::CONNRESET) => return Err((sent, WireError::Closed)),
            Err(e) => return Err((sent, WireError::Io(e.into()))),
        }
    }
    Ok(sent)
}

/// Waits for room to write until `deadline` (`false`: it passed); the shutdown does not
/// cut a write short (see [`write_parts`]).
fn wait_writable(sock: &TcpStream, deadline: Instant) -> Result<bool, WireError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let timeout = rustix::time::Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(sock, PollFlags::OUT)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::INTR) => {}
            Err(e) => return Err(WireError::Io(e.into())),
        }
    }
}
