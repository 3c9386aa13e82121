//! Edge events and line-info changes as tokio [`Stream`]s (feature `async-tokio`).
//!
//! The wrapped file descriptor is switched to non-blocking and registered with tokio's reactor,
//! so waiting for an event never blocks a runtime thread. The synchronous methods of the
//! wrapped [`Request`] or [`Chip`] keep working (they poll before reading).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use rustix::fs::OFlags;
use tokio::io::unix::AsyncFd;

use super::{uapi, Chip, EdgeEvent, EdgeEventBuffer, Error, InfoChangeEvent, Request, Result};

fn set_nonblocking(fd: &impl std::os::fd::AsFd, path: &std::path::Path) -> Result<()> {
    let flags =
        rustix::fs::fcntl_getfl(fd).map_err(|e| Error::kernel(path, None, "fcntl(F_GETFL)", e))?;
    rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK)
        .map_err(|e| Error::kernel(path, None, "fcntl(F_SETFL)", e))
}

/// Registers a [`Request`] or [`Chip`] with tokio's reactor.
///
/// tokio 1.54 deprecated the safe `AsyncFd::new` for `unsafe fn register`, whose contract is
/// that the fd stays open and the same while registered. `T` here is always a `Request` or a
/// `Chip`, which own their `OwnedFd` and never replace it, and the `AsyncFd` owns `T`; so the
/// contract holds, and keeping the older call keeps `unsafe` out of this module and tokio
/// versions before 1.54 usable.
#[allow(deprecated)]
fn registered<T: std::os::fd::AsRawFd>(inner: T, path: &std::path::Path) -> Result<AsyncFd<T>> {
    AsyncFd::new(inner).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        call: "tokio AsyncFd::new (needs a tokio runtime with IO enabled)",
        source: e,
    })
}

/// A request's edge events as a [`Stream`]. Must be created inside a tokio runtime.
#[derive(Debug)]
pub struct EdgeEventStream {
    fd: AsyncFd<Request>,
    buffer: EdgeEventBuffer,
    next: usize,
}

impl EdgeEventStream {
    /// Wraps a request (which should have edge detection on).
    pub fn new(request: Request) -> Result<Self> {
        set_nonblocking(&request, request.chip_path())?;
        let path = request.chip_path().to_path_buf();
        Ok(EdgeEventStream {
            fd: registered(request, &path)?,
            buffer: EdgeEventBuffer::with_capacity(16),
            next: 0,
        })
    }

    /// The request, to read values or reconfigure.
    pub fn request(&self) -> &Request {
        self.fd.get_ref()
    }

    /// Unwraps the request (its fd stays non-blocking; the blocking methods cope).
    pub fn into_inner(self) -> Request {
        self.fd.into_inner()
    }

    /// The next event (`None` never happens: the stream does not end).
    pub async fn next_event(&mut self) -> Result<EdgeEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<EdgeEvent>> {
        loop {
            if let Some(ev) = self.buffer.events().get(self.next).copied() {
                self.next += 1;
                return Poll::Ready(Ok(ev));
            }
            let request = self.fd.get_ref();
            let mut guard = ready!(self.fd.poll_read_ready(cx)).map_err(|e| Error::Kernel {
                chip: request.chip_path().to_path_buf(),
                offset: None,
                call: "poll",
                source: e,
            })?;
            self.buffer.prepare(request.edge_event_size());
            let bytes = self.buffer.bytes_mut();
            match guard.try_io(|fd| uapi::read_events(fd, &mut *bytes).map_err(io::Error::from)) {
                Ok(Ok(n)) => {
                    self.next = 0;
                    request.fill_buffer(&mut self.buffer, n)?;
                }
                Ok(Err(e)) => {
                    return Poll::Ready(Err(Error::Kernel {
                        chip: request.chip_path().to_path_buf(),
                        offset: None,
                        call: "read",
                        source: e,
                    }))
                }
                Err(_would_block) => continue,
            }
        }
    }
}

impl Stream for EdgeEventStream {
    type Item = Result<EdgeEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_event(cx).map(Some)
    }
}

/// A chip's line-info changes as a [`Stream`]; watch lines with [`Chip::watch_line_info`]
/// (through [`InfoChangeStream::chip`]). Must be created inside a tokio runtime.
#[derive(Debug)]
pub struct InfoChangeStream {
    fd: AsyncFd<Chip>,
}

impl InfoChangeStream {
    /// Wraps a chip.
    pub fn new(chip: Chip) -> Result<Self> {
        set_nonblocking(&chip, chip.path())?;
        let path = chip.path().to_path_buf();
        Ok(InfoChangeStream {
            fd: registered(chip, &path)?,
        })
    }

    /// The chip, to watch or unwatch lines.
    pub fn chip(&self) -> &Chip {
        self.fd.get_ref()
    }

    /// The next change.
    pub async fn next_change(&mut self) -> Result<InfoChangeEvent> {
        std::future::poll_fn(|cx| self.poll_change(cx)).await
    }

    fn poll_change(&mut self, cx: &mut Context<'_>) -> Poll<Result<InfoChangeEvent>> {
        loop {
            let chip = self.fd.get_ref();
            let mut guard = ready!(self.fd.poll_read_ready(cx)).map_err(|e| Error::Kernel {
                chip: chip.path().to_path_buf(),
                offset: None,
                call: "poll",
                source: e,
            })?;
            let mut buf = [0u8; std::mem::size_of::<uapi::GpioV2LineInfoChanged>()];
            let size = chip.info_change_size();
            match guard
                .try_io(|fd| uapi::read_events(fd, &mut buf[..size]).map_err(io::Error::from))
            {
                Ok(Ok(n)) => return Poll::Ready(chip.decode_info_change(&buf[..n])),
                Ok(Err(e)) => {
                    return Poll::Ready(Err(Error::Kernel {
                        chip: chip.path().to_path_buf(),
                        offset: None,
                        call: "read",
                        source: e,
                    }))
                }
                Err(_would_block) => continue,
            }
        }
    }
}

impl Stream for InfoChangeStream {
    type Item = Result<InfoChangeEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_change(cx).map(Some)
    }
}
