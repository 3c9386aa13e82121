//! What a network buffer needs to (re)open its connection: the [`Link`] (server, device,
//! OPEN's arguments) and its [`NetCancel`], shared by the stream (`stream.rs`) and its
//! output thread (`sender.rs`).

use super::codec::Command;
use super::conn::Endpoint;
use super::session::Session;
use super::{Options, Protocol};
use crate::buffer::Cancel;
use crate::error::{Error, Result};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Cancels a network stream: a flag, and the socket shut down under the waiter.
#[derive(Debug, Default)]
pub(super) struct NetCancel {
    flag: AtomicBool,
    /// The socket of the stream's connection (replaced on a reconnect).
    pub(super) socket: Mutex<Option<TcpStream>>,
}

impl Cancel for NetCancel {
    fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(s) = self
            .socket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// What it takes to open a buffer on a new connection (again after a failure).
#[derive(Debug)]
pub(super) struct Link {
    pub(super) ep: Endpoint,
    pub(super) dev: String,
    /// OPEN's scans per block, hex mask and cyclic flag.
    pub(super) samples: u64,
    pub(super) mask: String,
    pub(super) cyclic: bool,
    /// `SET DEV BUFFERS_COUNT N` when the count is not the server's default.
    pub(super) buffers_count: Option<i64>,
    pub(super) cancel: Arc<NetCancel>,
}

impl Link {
    /// `buffer of device D on ip:HOST:PORT`, for messages.
    pub(super) fn what(&self) -> String {
        format!("buffer of device {} on {}", self.dev, self.ep.display())
    }

    /// Connects and opens the buffer: TIMEOUT, the kernel buffer count and OPEN go in one
    /// write. The new socket is the one [`CancelHandle::cancel`] shuts down.
    pub(super) fn open_session(&self, timeout: Option<Duration>) -> Result<Session> {
        let options = Options {
            timeout,
            protocol: Protocol::Text,
        };
        let mut session = Session::open(&self.ep, &options)?;
        *self.cancel.socket.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(session.conn.clone_stream()?);
        let timeout = Command::Timeout {
            ms: session.remote_timeout_ms(),
        };
        let count = self.buffers_count.map(|count| Command::SetBuffersCount {
            dev: &self.dev,
            count,
        });
        let open = Command::Open {
            dev: &self.dev,
            samples: self.samples,
            mask: &self.mask,
            cyclic: self.cyclic,
        };
        let batch: Vec<(Command<'_>, &[u8])> = [Some(timeout), count, Some(open)]
            .into_iter()
            .flatten()
            .map(|c| (c, &[][..]))
            .collect();
        session.send(&batch, None)?;
        // libiio ignores TIMEOUT refusals; the others must succeed.
        let _ = session.read_int(&timeout.describe())?;
        for cmd in count.iter().chain([&open]) {
            session.read_ok(&cmd.describe())?;
        }
        Ok(session)
    }

    /// Turns a failure into what the buffer API reports: cancelled once cancelled, a
    /// timeout for ETIMEDOUT (the server's or ours).
    pub(super) fn error(&self, e: Error, timeout: Option<Duration>) -> Error {
        if self.cancel.is_cancelled() {
            return Error::Cancelled { what: self.what() };
        }
        if e.has_errno(rustix::io::Errno::TIMEDOUT) {
            return Error::Timeout {
                what: self.what(),
                after: timeout.unwrap_or_default(),
            };
        }
        e
    }
}
