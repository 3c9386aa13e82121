//! The events of a kernel event fd (`IIO_GET_EVENT_FD_IOCTL`), read in batches and waited
//! for with `poll()` on the fd and a cancel eventfd, like buffer refills: the engine behind
//! a local device's event stream. The local backend opens the fd and hands it over.

use crate::backend::EventSource;
use crate::buffer::cancel::{wait_fd, Cancel, CancelHandle, EventFdCancel, Waited};
use crate::buffer::event::Event;
use crate::buffer::uapi::IioEventData;
use crate::error::{Error, Result};
use rustix::event::PollFlags;
use rustix::io::Errno;
use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Events read in one `read()` at most.
const BATCH: usize = 64;

/// The events of a kernel event fd (from `IIO_GET_EVENT_FD_IOCTL`), read in batches.
#[derive(Debug)]
pub(crate) struct FdEvents {
    what: String,
    node: PathBuf,
    fd: OwnedFd,
    queue: VecDeque<Event>,
    cancel: Arc<EventFdCancel>,
}

impl FdEvents {
    /// Reads `fd`, the event fd of the device node `node` (named in errors).
    pub(crate) fn new(fd: OwnedFd, node: PathBuf, what: String) -> Result<FdEvents> {
        rustix::io::ioctl_fionbio(&fd, true).map_err(|e| Error::io(&node, e.into()))?;
        let cancel = EventFdCancel::new().map_err(|e| Error::io(&node, e))?;
        Ok(FdEvents {
            what,
            node,
            fd,
            queue: VecDeque::new(),
            cancel,
        })
    }
}

impl EventSource for FdEvents {
    fn next(&mut self, blocking: bool, deadline: Option<Instant>) -> Result<Option<Event>> {
        loop {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    what: self.what.clone(),
                });
            }
            if let Some(e) = self.queue.pop_front() {
                return Ok(Some(e));
            }
            let mut raw = [0u8; BATCH * IioEventData::SIZE];
            match rustix::io::read(&self.fd, &mut raw) {
                Ok(n) => {
                    for chunk in raw[..n].chunks_exact(IioEventData::SIZE) {
                        let data = IioEventData::from_bytes(chunk.try_into().expect("16 bytes"));
                        self.queue.push_back(Event::from_data(data));
                    }
                    continue;
                }
                Err(Errno::AGAIN) => {}
                Err(Errno::INTR) => continue,
                Err(e) => return Err(Error::io(&self.node, e.into())),
            }
            if !blocking {
                return Ok(None);
            }
            if let Waited::TimedOut = wait_fd(
                &self.cancel,
                &self.what,
                &self.node,
                self.fd.as_fd(),
                PollFlags::IN,
                deadline,
            )? {
                return Ok(None);
            }
        }
    }

    fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::new(self.cancel.clone())
    }
}
