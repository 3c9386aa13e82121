//! Cancelling a blocked stream from another thread: a flag plus an `eventfd` that every
//! blocking wait polls next to its data fd, so `cancel()` wakes the waiter at once (libiio
//! users report refills that never return: libiio #1171, #1359, #985).

use crate::error::{Error, Result};
use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags};
use rustix::io::Errno;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Something that can be cancelled from any thread.
pub(crate) trait Cancel: Send + Sync + fmt::Debug {
    /// Requests cancellation; wakes a waiter. Idempotent.
    fn cancel(&self);
    /// Whether [`Cancel::cancel`] was called.
    fn is_cancelled(&self) -> bool;
}

/// Cancels a buffer (or event) stream from any thread: every blocked or later call on the
/// stream returns [`crate::Error::Cancelled`]. Cheap to clone; `Send + Sync`.
#[derive(Clone, Debug)]
pub struct CancelHandle {
    inner: Arc<dyn Cancel>,
}

impl CancelHandle {
    pub(crate) fn new(inner: Arc<dyn Cancel>) -> CancelHandle {
        CancelHandle { inner }
    }

    /// Cancels the stream. A call blocked in another thread returns within milliseconds.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether the stream was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// The usual [`Cancel`]: a flag and an eventfd to poll. Backends poll
/// [`EventFdCancel::fd`] for `POLLIN` next to their data fd and check
/// [`Cancel::is_cancelled`] before and after every wait.
#[derive(Debug)]
pub(crate) struct EventFdCancel {
    flag: AtomicBool,
    fd: OwnedFd,
}

impl EventFdCancel {
    /// A fresh, not cancelled, canceller.
    pub(crate) fn new() -> std::io::Result<Arc<EventFdCancel>> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Arc::new(EventFdCancel {
            flag: AtomicBool::new(false),
            fd,
        }))
    }

    /// The fd that becomes readable when cancelled.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Cancel for EventFdCancel {
    fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // An eventfd write only fails when the counter would overflow, which one write per
        // cancel cannot reach; the flag is set either way.
        let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
    }

    fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// What a wait ended with.
pub(crate) enum Waited {
    /// `fd` is ready.
    Ready,
    /// The deadline passed first.
    TimedOut,
}

/// Waits for `events` on `fd`, the cancel eventfd, or the deadline (`None`: for ever);
/// `what` names the stream in [`Error::Cancelled`], `node` the file in I/O errors.
pub(crate) fn wait_fd(
    cancel: &EventFdCancel,
    what: &str,
    node: &Path,
    fd: BorrowedFd<'_>,
    events: PollFlags,
    deadline: Option<Instant>,
) -> Result<Waited> {
    let cancelled = || Error::Cancelled {
        what: what.to_string(),
    };
    loop {
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            rustix::time::Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            }
        });
        let mut fds = [
            PollFd::from_borrowed_fd(fd, events),
            PollFd::from_borrowed_fd(cancel.fd(), PollFlags::IN),
        ];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) => return Ok(Waited::TimedOut),
            Ok(_) => {
                if cancel.is_cancelled() {
                    return Err(cancelled());
                }
                return Ok(Waited::Ready);
            }
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Error::io(node, e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::event::{poll, PollFd, PollFlags};

    #[test]
    fn cancel_sets_the_flag_and_wakes_poll() {
        let c = EventFdCancel::new().unwrap();
        let h = CancelHandle::new(c.clone());
        assert!(!h.is_cancelled());
        let mut fds = [PollFd::new(&c.fd, PollFlags::IN)];
        assert_eq!(
            poll(&mut fds, Some(&rustix::time::Timespec::default())).unwrap(),
            0
        );
        let h2 = h.clone();
        std::thread::spawn(move || h2.cancel()).join().unwrap();
        assert!(h.is_cancelled());
        let mut fds = [PollFd::new(&c.fd, PollFlags::IN)];
        assert_eq!(poll(&mut fds, None).unwrap(), 1);
        h.cancel();
    }
}
