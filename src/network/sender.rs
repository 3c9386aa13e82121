//! Output over the network without a round trip per block.
//!
//! iiod takes output with `WRITEBUF DEV N`: it answers `0` when it is ready, then reads N
//! bytes and answers how many it took. Data sent before the `0` would be read as commands if
//! the server refused, so each `WRITEBUF` costs at least one round trip, plus a hand-over
//! between iiod's parser and device threads. But one `WRITEBUF` may carry many blocks: iiod's
//! device thread reads and pushes them one block at a time as they arrive.
//!
//! So a push only queues its block, and a thread of the stream sends what is queued: one
//! `WRITEBUF` for all the blocks queued while the previous one was on its way (up to
//! [`MAX_WRITE`] bytes). A lone push goes out at once; a fast writer's pushes travel in
//! batches, and the link rather than the round trip sets the rate. A partial push (fewer
//! scans than a block) ends its batch, so the server pushes it to the device as a block of
//! its own, as it would have alone. At most [`MAX_QUEUED`] bytes wait (a push waits for room,
//! within the stream's timeout): like a queue of kernel buffers.
//!
//! A failure is reported by the next push or by close; the blocks queued then are dropped,
//! and the next push opens the buffer again on a new connection. Close sends what is queued,
//! waits for the server to take it and closes the buffer.

use super::codec::Command;
use super::link::Link;
use super::session::Session;
use crate::buffer::Cancel;
use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The most one `WRITEBUF` carries (at least one push).
const MAX_WRITE: usize = 1 << 20;

/// The most bytes queued (a larger push is queued when nothing else is).
const MAX_QUEUED: usize = 1 << 20;

/// How often waiters look at the cancel flag.
const TICK: Duration = Duration::from_millis(20);

/// Queued pushes, shared by the stream and its thread.
#[derive(Debug, Default)]
struct State {
    /// Pushes not taken by the thread yet, oldest first.
    queue: VecDeque<Vec<u8>>,
    /// Their bytes.
    queued: usize,
    /// Buffers of pushes sent, for reuse.
    spare: Vec<Vec<u8>>,
    /// The first failure not reported yet.
    error: Option<Error>,
    /// Set by close: send what is queued, then close the buffer.
    closing: bool,
    /// The thread has ended.
    done: bool,
    /// Timeout of every wait of the thread.
    timeout: Option<Duration>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, st: MutexGuard<'a, State>, at_most: Duration) -> MutexGuard<'a, State> {
        self.cond
            .wait_timeout(st, at_most)
            .map(|(g, _)| g)
            .unwrap_or_else(|p| p.into_inner().0)
    }
}

/// The sending side of an output stream: a queue and the thread that empties it.
#[derive(Debug)]
pub(super) struct Sender {
    shared: Arc<Shared>,
    link: Arc<Link>,
    thread: Option<JoinHandle<()>>,
}

impl Sender {
    /// Starts the thread on the session the buffer was opened on.
    pub(super) fn start(
        link: Arc<Link>,
        session: Session,
        timeout: Option<Duration>,
        block: usize,
    ) -> Result<Sender> {
        let shared = Arc::new(Shared::default());
        shared.lock().timeout = timeout;
        let (sh, ln) = (shared.clone(), link.clone());
        let thread = std::thread::Builder::new()
            .name("ferroio-net-out".into())
            .spawn(move || run(&sh, &ln, Some(session), block))
            .map_err(|e| Error::Network {
                peer: link.ep.display(),
                what: "starting the output thread".into(),
                source: e,
            })?;
        Ok(Sender {
            shared,
            link,
            thread: Some(thread),
        })
    }

    /// Queues `buf`, waiting (at most `timeout`) for room.
    pub(super) fn push(&self, buf: &[u8], timeout: Option<Duration>) -> Result<usize> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut st = self.shared.lock();
        loop {
            if let Some(e) = st.error.take() {
                return Err(e);
            }
            if self.link.cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    what: self.link.what(),
                });
            }
            if st.done {
                return Err(Error::InvalidValue {
                    what: self.link.what(),
                    reason: "the buffer is closed".into(),
                });
            }
            if st.queued == 0 || st.queued + buf.len() <= MAX_QUEUED {
                break;
            }
            let wait = match deadline {
                None => TICK,
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        return Err(Error::Timeout {
                            what: self.link.what(),
                            after: timeout.unwrap_or_default(),
                        });
                    }
                    TICK.min(at - now)
                }
            };
            st = self.shared.wait(st, wait);
        }
        let mut block = st.spare.pop().unwrap_or_default();
        block.clear();
        block.extend_from_slice(buf);
        st.queued += block.len();
        st.queue.push_back(block);
        self.shared.cond.notify_all();
        Ok(buf.len())
    }

    /// Sets the timeout of the thread's waits (from its next batch on).
    pub(super) fn set_timeout(&self, timeout: Option<Duration>) {
        self.shared.lock().timeout = timeout;
    }

    /// Sends what is queued, closes the buffer and ends the thread; the first failure not
    /// reported yet, if any.
    pub(super) fn close(&mut self) -> Result<()> {
        self.shared.lock().closing = true;
        self.shared.cond.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        match self.shared.lock().error.take() {
            Some(e) if !self.link.cancel.is_cancelled() => Err(e),
            _ => Ok(()),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The thread: takes batches off the queue and sends them, until closed or cancelled.
fn run(shared: &Shared, link: &Link, mut session: Option<Session>, block: usize) {
    let mut batch = Vec::new();
    loop {
        let timeout;
        {
            let mut st = shared.lock();
            while st.queue.is_empty() && !st.closing && !link.cancel.is_cancelled() {
                st = shared.wait(st, TICK);
            }
            if link.cancel.is_cancelled() || st.queue.is_empty() {
                break;
            }
            batch.clear();
            while let Some(next) = st.queue.front() {
                if !batch.is_empty() && batch.len() + next.len() > MAX_WRITE {
                    break;
                }
                let Some(push) = st.queue.pop_front() else {
                    break;
                };
                st.queued -= push.len();
                batch.extend_from_slice(&push);
                let partial = push.len() < block;
                if st.spare.len() < 64 {
                    st.spare.push(push);
                }
                if partial {
                    break;
                }
            }
            timeout = st.timeout;
            shared.cond.notify_all();
        }
        if let Err(e) = send(link, &mut session, &batch, timeout) {
            if session.as_ref().is_none_or(|s| s.broken) {
                session = None;
            }
            let e = link.error(e, timeout);
            let mut st = shared.lock();
            let dropped: Vec<Vec<u8>> = st.queue.drain(..).collect();
            st.spare.extend(dropped.into_iter().take(64));
            st.queued = 0;
            if st.error.is_none() {
                st.error = Some(e);
            }
            shared.cond.notify_all();
        }
    }
    let closed = match session {
        Some(mut s) if !s.broken && !link.cancel.is_cancelled() => {
            s.text_ok(&Command::Close { dev: &link.dev }).map(|_| ())
        }
        _ => Ok(()),
    };
    let mut st = shared.lock();
    if let Err(e) = closed {
        if st.error.is_none() {
            st.error = Some(e);
        }
    }
    st.done = true;
    shared.cond.notify_all();
}

/// One `WRITEBUF` with `batch`, on the session (opened again if it was dropped).
fn send(
    link: &Link,
    session: &mut Option<Session>,
    batch: &[u8],
    timeout: Option<Duration>,
) -> Result<()> {
    if session.is_none() {
        *session = Some(link.open_session(timeout)?);
    }
    let s = session.as_mut().expect("opened above");
    s.timeout = timeout;
    let cmd = Command::WriteBuf {
        dev: &link.dev,
        bytes: batch.len() as u64,
    };
    let what = &cmd.describe();
    // A refusal means iiod's device thread has stopped: the buffer is closed on this
    // connection.
    let ready = s.text_ok(&cmd);
    s.broken |= ready.is_err();
    ready?;
    s.io(|c, d| c.send(batch, what, d))?;
    let taken = s.read_ok(what);
    s.broken |= taken.is_err();
    let taken = taken?;
    if taken != batch.len() as i64 {
        return Err(s.proto_err(
            what,
            format!("the server took {taken} of {} bytes", batch.len()),
        ));
    }
    Ok(())
}
