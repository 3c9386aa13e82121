//! One input device captured for every client that opened it: iiod 0.x's shared kernel
//! buffer, with each client sent only its own channels.
//!
//! A capture thread owns the device's [`Buffer`], opened with the union of the clients'
//! channel masks and the largest block any of them asked for. Each client (a *subscriber*)
//! has its own queue of scans already repacked to its own layout, bounded like a kernel
//! FIFO of its own. The thread refills when some subscriber wants data, and hands each
//! block to every subscriber that has started reading and has room; one whose queue is full
//! misses that block, as a reader too slow for its kernel FIFO would. So a slow or stalled
//! client never slows another, and a single client gets the kernel's own back-pressure: the
//! thread waits for it, the device's FIFO fills.
//!
//! A subscriber's demand is its pending `READBUF` plus a read-ahead of its last request
//! (bounded), so that a client asking one block at a time finds the next one waiting.
//!
//! The union only grows while subscribers come (the buffer is reopened, losing what the
//! kernel FIFO held, as iiod does); when one leaves nothing is reopened, so the others lose
//! nothing. When the last leaves, the thread closes the buffer, which restores the device
//! (scan elements, length, watermark, enable), and only then gives the device back.

use super::log::Log;
use super::ops::{neg, neg_err};
use crate::buffer::{Buffer, CancelHandle, ChannelMask, ScanLayout};
use crate::context::Device;
use crate::error::Error;
use rustix::io::Errno;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// The largest kernel block the server opens (samples × scan bytes).
pub(super) const MAX_BLOCK_BYTES: usize = 64 << 20;

/// A subscriber's queue never holds more than this many bytes, nor more than this many
/// blocks of its own.
const QUEUE_BYTES: usize = 32 << 20;
const QUEUE_BLOCKS: usize = 4;

/// Spare chunk buffers kept for reuse: at most this many, holding at most this many bytes.
const POOL: usize = 8;
const POOL_BYTES: usize = 32 << 20;

/// The most chunks one take hands out (one write to the client).
const MAX_BATCH: usize = 16;

/// Above this many bytes per block, reading the device on the capture thread while the
/// client's thread sends pays for the hand-over between them even for a client asking a
/// block at a time; below it, the hand-over costs more than the overlap brings.
const DIRECT_MAX_BLOCK: usize = 64 << 10;

/// One subscriber's id within its share.
pub(super) type SubId = u64;

/// What a client asks of the shared capture when it opens the device.
pub(super) struct SubSpec {
    /// Its scan elements (bits of non-scan channels already dropped).
    pub(super) mask: ChannelMask,
    /// Its layout (of `mask`).
    pub(super) layout: ScanLayout,
    /// Scans per block it asked for.
    pub(super) samples: usize,
    /// Who it is, for the log.
    pub(super) who: String,
}

/// Scans for one subscriber, in its layout. Subscribers whose layout is the device's share
/// the block itself (taken from the buffer without a copy).
pub(super) struct Chunk {
    /// The bytes.
    pub(super) data: Arc<Vec<u8>>,
    /// Where the unsent part starts.
    pub(super) off: usize,
}

struct Sub {
    id: SubId,
    spec: SubSpec,
    /// `None` until the thread has opened a buffer holding this subscriber's channels.
    opened: Option<Result<(), i64>>,
    /// How to cut this subscriber's scans out of the device's.
    plan: Option<Repack>,
    queue: VecDeque<Chunk>,
    queued: usize,
    /// Bytes of the pending request not yet taken.
    want: usize,
    /// Read-ahead: bytes kept queued beyond `want`.
    ahead: usize,
    /// It has asked for scans: from then on it gets every block while its queue has room,
    /// as a kernel FIFO of its own would.
    streaming: bool,
    /// Blocks it missed for lack of room.
    missed: u64,
    /// The device failed: every later request gets this.
    error: Option<i64>,
}

impl Sub {
    /// The most bytes its queue may hold.
    fn limit(&self) -> usize {
        let block = self.spec.samples * self.spec.layout.scan_bytes();
        (block * QUEUE_BLOCKS).clamp(block, QUEUE_BYTES.max(block))
    }

    /// Whether its channels go into the buffer: it waits for it or is served by it.
    fn in_union(&self) -> bool {
        self.error.is_none() && !matches!(self.opened, Some(Err(_)))
    }

    fn wants_more(&self) -> bool {
        matches!(self.opened, Some(Ok(())))
            && self.error.is_none()
            && self.queued < (self.want + self.ahead).min(self.limit())
    }
}

struct State {
    subs: Vec<Sub>,
    next_id: SubId,
    /// Subscribers changed so that the buffer must be (re)opened.
    reopen: bool,
    /// The last subscriber left: the thread is closing the buffer.
    closing: bool,
    /// The open buffer's mask, layout and block size (`None`: not open).
    current: Option<(ChannelMask, ScanLayout, usize)>,
    /// Cancels the open buffer's refill.
    cancel: Option<CancelHandle>,
    pool: Vec<Vec<u8>>,
    /// The capture thread waits for demand (wake it only then: a futex call per block
    /// otherwise).
    capture_waiting: bool,
    /// Subscriber threads waiting for data or for their buffer.
    readers_waiting: usize,
}

/// Gives the device back when the capture thread ends, however it ends.
struct Release<'a, F: FnOnce(&InputShare)> {
    share: &'a InputShare,
    released: Option<F>,
}

impl<F: FnOnce(&InputShare)> Drop for Release<'_, F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.share.abandon();
        }
        if let Some(f) = self.released.take() {
            f(self.share);
        }
    }
}

impl State {
    /// Whether the capture thread refills for `s`: when others read too, when `s` asks for
    /// more than a block at a time (a pipelined client: refilling ahead on another thread
    /// overlaps the device and the link), or when blocks are large. A client asking one
    /// small block per request (libiio's) waits for each anyway: it refills for itself, one
    /// hand-over between threads less per block.
    fn by_capture(&self, s: &Sub) -> bool {
        let block = self
            .current
            .as_ref()
            .map_or(0, |(_, _, samples)| samples * s.spec.layout.scan_bytes());
        self.subs.len() > 1 || s.ahead > block || block > DIRECT_MAX_BLOCK
    }
}

/// One input device shared by the clients that opened it.
pub(super) struct InputShare {
    dev: Device,
    state: Mutex<State>,
    /// The open buffer. Whoever refills holds this lock (the capture thread, or a single
    /// subscriber's thread); lock order: this, then `state`.
    engine: Mutex<Option<Buffer>>,
    /// Subscribers wait here for data and for their buffer to open.
    data_ready: Condvar,
    /// The capture thread waits here for demand.
    demand: Condvar,
    kernel_buffers: usize,
    log: Log,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic elsewhere while holding the lock leaves plain data behind: keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn lock_engine(m: &Mutex<Option<Buffer>>) -> MutexGuard<'_, Option<Buffer>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl InputShare {
    /// Starts sharing `dev` with `first` as its first subscriber: the capture thread runs
    /// until the last subscriber leaves, then closes the buffer and calls `released` with
    /// the share. Should the thread panic, the subscribers are told (`-EIO`), the buffer is
    /// closed and `released` is called all the same.
    pub(super) fn start(
        dev: Device,
        kernel_buffers: usize,
        log: Log,
        first: SubSpec,
        released: impl FnOnce(&InputShare) + Send + 'static,
    ) -> std::io::Result<(Arc<InputShare>, SubId)> {
        let share = Arc::new(InputShare {
            dev,
            state: Mutex::new(State {
                subs: Vec::new(),
                next_id: 1,
                reopen: false,
                closing: false,
                current: None,
                cancel: None,
                pool: Vec::new(),
                capture_waiting: false,
                readers_waiting: 0,
            }),
            engine: Mutex::new(None),
            data_ready: Condvar::new(),
            demand: Condvar::new(),
            kernel_buffers,
            log,
        });
        let Ok(sub) = share.join(first) else {
            unreachable!("a share without a thread is not closing")
        };
        let runner = share.clone();
        std::thread::Builder::new()
            .name(format!("capture {}", share.dev.id()))
            .spawn(move || {
                let _release = Release {
                    share: &runner,
                    released: Some(released),
                };
                runner.run();
            })?;
        Ok((share, sub))
    }

    /// After a panic of the capture thread: every subscriber is told, nobody may join, the
    /// buffer is closed (the device put back).
    fn abandon(&self) {
        drop(lock_engine(&self.engine).take());
        let mut st = lock(&self.state);
        st.closing = true;
        st.current = None;
        st.cancel = None;
        for s in st.subs.iter_mut() {
            s.opened.get_or_insert(Err(neg(Errno::IO)));
            s.error.get_or_insert(neg(Errno::IO));
        }
        self.data_ready.notify_all();
    }

    /// Wakes the capture thread if it waits and has something to do (call with the lock
    /// held): a reopen, the close, or refills for several readers or for one that asks for
    /// several blocks at a time. A reader asking a block at a time serves itself.
    fn wake_capture(&self, st: &State) {
        let work = st.reopen
            || st.current.is_none()
            || st.subs.len() != 1
            || st.subs.iter().any(|s| st.by_capture(s));
        if st.capture_waiting && work {
            self.demand.notify_one();
        }
    }

    /// Wakes the subscriber threads that wait (call with the lock held).
    fn wake_readers(&self, st: &State) {
        if st.readers_waiting > 0 {
            self.data_ready.notify_all();
        }
    }

    /// The capture thread's wait for demand.
    fn wait_demand<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        st.capture_waiting = true;
        st = self.demand.wait(st).unwrap_or_else(|p| p.into_inner());
        st.capture_waiting = false;
        st
    }

    /// A subscriber thread's wait for data, at most `d`.
    fn wait_data<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        d: std::time::Duration,
    ) -> MutexGuard<'a, State> {
        st.readers_waiting += 1;
        st = self
            .data_ready
            .wait_timeout(st, d)
            .unwrap_or_else(|p| p.into_inner())
            .0;
        st.readers_waiting -= 1;
        st
    }

    /// Adds a subscriber; gives the spec back when the share is closing (the caller waits
    /// for the device to be released and starts a new one). Wait for its buffer with
    /// [`InputShare::wait_open`].
    pub(super) fn join(&self, spec: SubSpec) -> Result<SubId, SubSpec> {
        let mut st = lock(&self.state);
        if st.closing {
            return Err(spec);
        }
        let id = st.next_id;
        st.next_id += 1;
        // Served by the open buffer as it is, or the buffer must grow.
        let plan = st.current.as_ref().and_then(|(mask, layout, samples)| {
            let covered = spec.mask.iter().all(|c| mask.is_enabled(c));
            (covered && spec.samples <= *samples)
                .then(|| Repack::new(layout, &spec.layout))
                .flatten()
        });
        let opened = plan.is_some().then_some(Ok(()));
        if plan.is_none() {
            st.reopen = true;
            if let Some(c) = &st.cancel {
                c.cancel();
            }
        }
        st.subs.push(Sub {
            id,
            spec,
            opened,
            plan,
            queue: VecDeque::new(),
            queued: 0,
            want: 0,
            ahead: 0,
            streaming: false,
            missed: 0,
            error: None,
        });
        self.wake_capture(&st);
        Ok(id)
    }

    /// Waits until the subscriber's buffer is open (or failed to open), at most until
    /// `deadline`; `check` is called every slice and stops the wait when it says so.
    pub(super) fn wait_open(&self, id: SubId, mut stop: impl FnMut() -> bool) -> Result<(), i64> {
        let mut st = lock(&self.state);
        loop {
            match st.subs.iter().find(|s| s.id == id) {
                None => return Err(neg(Errno::BADF)),
                Some(s) => {
                    if let Some(r) = s.opened {
                        return r;
                    }
                }
            }
            if stop() {
                return Err(neg(Errno::CONNABORTED));
            }
            st = self.wait_data(st, super::SLICE);
        }
    }

    /// Removes a subscriber (dropping what it had queued). The last one out starts the close.
    pub(super) fn leave(&self, id: SubId) {
        let mut st = lock(&self.state);
        if let Some(s) = st.subs.iter().find(|s| s.id == id) {
            if s.missed > 0 {
                self.log.info(&format!(
                    "{}: client {} missed {} blocks (it read slower than the device and the \
                     other readers)",
                    self.dev.id(),
                    s.spec.who,
                    s.missed
                ));
            }
        }
        st.subs.retain(|s| s.id != id);
        if st.subs.is_empty() {
            st.closing = true;
            if let Some(c) = &st.cancel {
                c.cancel();
            }
        }
        self.wake_capture(&st);
    }

    /// Whether the share is closing or closed (for the registry's bookkeeping).
    pub(super) fn is_closing(&self) -> bool {
        lock(&self.state).closing
    }

    /// Starts a request for `bytes`: the capture thread fills the subscriber's queue that
    /// far, and keeps as much read ahead afterwards.
    pub(super) fn request(&self, id: SubId, bytes: usize) {
        let mut st = lock(&self.state);
        if let Some(s) = st.subs.iter_mut().find(|s| s.id == id) {
            s.want = bytes;
            let limit = s.limit();
            s.ahead = bytes.min(limit);
            s.streaming = true;
        }
        self.wake_capture(&st);
    }

    /// The request is over (answered or abandoned): nothing more is wanted for it.
    pub(super) fn finish(&self, id: SubId) {
        let mut st = lock(&self.state);
        if let Some(s) = st.subs.iter_mut().find(|s| s.id == id) {
            s.want = 0;
        }
    }

    /// Takes queued scans, up to `max` bytes in all, waiting until `until` for the first:
    /// every chunk queued now, so that they go out in one write. Each comes with the bytes
    /// of it to send; hand each back with [`InputShare::give_back`]. An empty list: nothing
    /// came in time. `Err`: the device failed (its errno) or the subscriber is gone
    /// (`-EBADF`).
    pub(super) fn take(
        &self,
        id: SubId,
        max: usize,
        until: Instant,
    ) -> Result<Vec<(Chunk, usize)>, i64> {
        let mut st = lock(&self.state);
        loop {
            let s = st
                .subs
                .iter_mut()
                .find(|s| s.id == id)
                .ok_or(neg(Errno::BADF))?;
            let scan = s.spec.layout.scan_bytes();
            let mut left = max - max % scan;
            let mut out = Vec::new();
            while left > 0 && out.len() < MAX_BATCH {
                let Some(chunk) = s.queue.pop_front() else {
                    break;
                };
                let avail = chunk.data.len() - chunk.off;
                let len = avail.min(left);
                // The chunk is out of the queue until handed back with what was sent.
                s.queued -= avail;
                s.want = s.want.saturating_sub(len);
                left -= len;
                out.push((chunk, len));
            }
            if !out.is_empty() {
                self.wake_capture(&st);
                return Ok(out);
            }
            if let Some(e) = s.error {
                return Err(e);
            }
            let now = Instant::now();
            if now >= until || left == 0 {
                return Ok(out);
            }
            // A reader the capture thread does not serve refills for itself, if no one else
            // is refilling.
            let own = st
                .subs
                .iter()
                .find(|s| s.id == id)
                .is_some_and(|s| !st.by_capture(s));
            if own && st.current.is_some() && !st.reopen && !st.closing {
                drop(st);
                let engine = match self.engine.try_lock() {
                    Ok(g) => Some(g),
                    // A panic elsewhere left plain data behind: keep serving.
                    Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                    Err(std::sync::TryLockError::WouldBlock) => None,
                };
                if let Some(mut engine) = engine {
                    if let Some(b) = engine.as_mut() {
                        let _ = b.set_timeout(Some(until - now));
                        let filled = b.refill();
                        st = lock(&self.state);
                        self.after_refill(&mut st, &mut engine, filled);
                        continue;
                    }
                }
                st = lock(&self.state);
            }
            st = self.wait_data(st, until - now);
        }
    }

    /// Hands back chunks from [`InputShare::take`], each with the bytes of it that went
    /// out: what is left goes back to the front of the queue, in order; spent blocks no one
    /// else holds go to the pool.
    pub(super) fn give_back(&self, id: SubId, chunks: Vec<(Chunk, usize)>) {
        let mut st = lock(&self.state);
        let State { subs, pool, .. } = &mut *st;
        let sub = subs.iter_mut().find(|s| s.id == id);
        let mut unsent = Vec::new();
        for (mut chunk, sent) in chunks {
            chunk.off += sent;
            if chunk.off < chunk.data.len() {
                unsent.push(chunk);
            } else if let Ok(v) = Arc::try_unwrap(chunk.data) {
                let held: usize = pool.iter().map(Vec::capacity).sum();
                if pool.len() < POOL && held + v.capacity() <= POOL_BYTES {
                    pool.push(v);
                }
            }
        }
        if let Some(s) = sub {
            for chunk in unsent.into_iter().rev() {
                s.queued += chunk.data.len() - chunk.off;
                s.queue.push_front(chunk);
            }
        }
        self.wake_capture(&st);
    }

    /// The capture thread: opens and reopens the buffer, and refills it ahead for several
    /// readers or a pipelined one (`State::by_capture`); a reader asking a block at a time
    /// refills for itself, in [`InputShare::take`].
    fn run(&self) {
        let mut st = lock(&self.state);
        loop {
            // Wait for something to do.
            loop {
                if st.subs.is_empty() {
                    st.closing = true;
                    break;
                }
                if st.reopen || st.current.is_none() && st.subs.iter().any(Sub::in_union) {
                    break;
                }
                if st.subs.iter().any(|s| s.wants_more() && st.by_capture(s)) {
                    break;
                }
                st = self.wait_demand(st);
            }
            if st.closing {
                break;
            }
            if st.reopen || st.current.is_none() {
                st = self.reopen(st);
                continue;
            }
            // Refill, without the state lock.
            drop(st);
            let mut engine = lock_engine(&self.engine);
            let filled = match engine.as_mut() {
                Some(b) => {
                    let _ = b.set_timeout(None);
                    b.refill()
                }
                None => Err(Error::Cancelled {
                    what: format!("buffer of device {}", self.dev.id()),
                }),
            };
            st = lock(&self.state);
            self.after_refill(&mut st, &mut engine, filled);
        }
        st.cancel = None;
        st.current = None;
        drop(st);
        // Closing the buffer restores the device.
        drop(lock_engine(&self.engine).take());
        let st = lock(&self.state);
        self.wake_readers(&st);
    }

    /// (Re)opens the buffer with the union of the subscribers' channels and the largest
    /// block; tells the subscribers waiting for it how that went.
    fn reopen<'a>(&'a self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        st.reopen = false;
        st.cancel = None;
        st.current = None;
        // Union of the masks, largest block, of those still to be served.
        // Those who join while it opens are settled by the next reopen (theirs), not by this
        // one, which does not hold their channels.
        let mut mask = ChannelMask::new(self.dev.num_channels());
        let mut samples = 0;
        let mut served = Vec::new();
        for s in st.subs.iter().filter(|s| s.in_union()) {
            for c in s.spec.mask.iter() {
                mask.enable(c);
            }
            samples = samples.max(s.spec.samples);
            served.push(s.id);
        }
        if samples == 0 {
            // Everyone left has failed: nothing to open until someone new comes.
            return st;
        }
        drop(st);
        let mut engine = lock_engine(&self.engine);
        // The old buffer goes first: it puts the device back before the new one records
        // and changes it.
        drop(engine.take());
        let opened = self.open(&mask, samples);
        st = lock(&self.state);
        match opened {
            Ok(b) => {
                let layout = b.layout().clone();
                for s in st.subs.iter_mut() {
                    s.plan = Repack::new(&layout, &s.spec.layout);
                    if s.opened.is_none() && served.contains(&s.id) {
                        s.opened = Some(if s.plan.is_some() {
                            Ok(())
                        } else {
                            Err(neg(Errno::INVAL))
                        });
                    }
                }
                st.cancel = Some(b.cancel_handle());
                st.current = Some((mask, layout, samples));
                self.log.detail(|| {
                    format!(
                        "{}: buffer open, {} scans of {} bytes, {:?}",
                        self.dev.id(),
                        samples,
                        b.scan_bytes(),
                        b.transfer()
                    )
                });
                *engine = Some(b);
            }
            Err(e) => {
                let code = neg_err(&e);
                self.log
                    .error(&format!("{}: cannot open the buffer: {e}", self.dev.id()));
                // Those who asked for this buffer are told. Those served before get their
                // old buffer back (the union without the newcomers); if it was theirs that
                // failed, they lost it.
                let newcomers = st
                    .subs
                    .iter()
                    .any(|s| s.opened.is_none() && served.contains(&s.id));
                for s in st.subs.iter_mut().filter(|s| served.contains(&s.id)) {
                    match s.opened {
                        None => s.opened = Some(Err(code)),
                        Some(Ok(())) if !newcomers => s.error = Some(code),
                        _ => {}
                    }
                }
                // A reopen asked for meanwhile (a late joiner) stands.
                st.reopen |= newcomers;
            }
        }
        self.wake_readers(&st);
        st
    }

    /// What a refill's outcome means for the share, whoever refilled: scans go to the
    /// subscribers; a cancel asks for a reopen (a cancelled buffer stays cancelled); a
    /// failure of the device ends the buffer, and every subscriber gets its errno.
    fn after_refill(
        &self,
        st: &mut State,
        engine: &mut Option<Buffer>,
        filled: crate::error::Result<usize>,
    ) {
        match filled {
            Ok(scans) => {
                if let Some(b) = engine.as_mut() {
                    if scans > 0 {
                        self.deliver(st, b, scans);
                        self.wake_readers(st);
                    }
                }
            }
            Err(Error::Timeout { .. }) => {}
            Err(Error::Cancelled { .. }) => {
                if !st.subs.is_empty() {
                    st.reopen = true;
                }
                self.wake_capture(st);
            }
            Err(e) => {
                let code = neg_err(&e);
                self.log.error(&format!(
                    "{}: reading from the device failed: {e}",
                    self.dev.id()
                ));
                for s in st.subs.iter_mut() {
                    s.error = Some(code);
                }
                st.cancel = None;
                st.current = None;
                drop(engine.take());
                self.wake_readers(st);
            }
        }
    }

    fn open(&self, mask: &ChannelMask, samples: usize) -> crate::error::Result<Buffer> {
        let layout = ScanLayout::new(self.dev.data(), mask)?;
        if samples.saturating_mul(layout.scan_bytes()) > MAX_BLOCK_BYTES {
            return Err(Error::InvalidValue {
                what: format!("buffer of device {}", self.dev.id()),
                reason: format!(
                    "{samples} scans of {} bytes exceed the server's {} MiB per block",
                    layout.scan_bytes(),
                    MAX_BLOCK_BYTES >> 20
                ),
            });
        }
        self.dev
            .buffer_builder()
            .mask(mask)
            .samples(samples)
            .kernel_buffers(self.kernel_buffers)
            .timeout(None)
            .build()
    }

    /// Hands the scans of a refill to every streaming subscriber that has room: the block
    /// itself, shared, to those whose layout is the device's (taken from the buffer without
    /// a copy when it can be), a repacked copy to the others.
    fn deliver(&self, st: &mut State, b: &mut Buffer, scans: usize) {
        let State { subs, pool, .. } = st;
        let mut takers = Vec::new();
        for (i, s) in subs.iter_mut().enumerate() {
            if !matches!(s.opened, Some(Ok(()))) || s.error.is_some() || !s.streaming {
                continue;
            }
            if s.queued >= s.limit() {
                // Its queue is full: it misses this block, as a slow reader of a kernel FIFO
                // would.
                s.missed += 1;
            } else {
                takers.push(i);
            }
        }
        let same = |s: &Sub| s.plan.as_ref().is_some_and(Repack::is_same);
        let mut shared: Option<Arc<Vec<u8>>> = None;
        if takers.iter().any(|&i| same(&subs[i])) {
            let spare = pool.pop().unwrap_or_default();
            shared = Some(Arc::new(match b.take_block(spare) {
                Ok(block) => block,
                Err(mut copy) => {
                    copy.clear();
                    copy.extend_from_slice(b.data());
                    copy
                }
            }));
        }
        for i in takers {
            let s = &mut subs[i];
            let Some(plan) = &s.plan else { continue };
            let data = match (&shared, plan.is_same()) {
                (Some(block), true) => block.clone(),
                (Some(block), false) => {
                    let mut out = pool.pop().unwrap_or_default();
                    plan.apply(block, scans, &mut out);
                    Arc::new(out)
                }
                (None, _) => {
                    let mut out = pool.pop().unwrap_or_default();
                    plan.apply(b.data(), scans, &mut out);
                    Arc::new(out)
                }
            };
            if data.is_empty() {
                continue;
            }
            s.queued += data.len();
            s.queue.push_back(Chunk { data, off: 0 });
        }
    }
}

/// How to cut one subscriber's scans out of the device's: byte runs `(from, to, len)`
/// within a scan, or a plain copy when the layouts are the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Repack {
    runs: Vec<(usize, usize, usize)>,
    src_scan: usize,
    dst_scan: usize,
    same: bool,
}

impl Repack {
    /// The plan from `dev` (the buffer's layout) to `sub`; `None` when a channel of `sub`
    /// is not in `dev`.
    pub(super) fn new(dev: &ScanLayout, sub: &ScanLayout) -> Option<Repack> {
        let mut runs: Vec<(usize, usize, usize)> = Vec::new();
        for e in sub.elements() {
            let from = dev.element(e.channel)?.offset;
            let len = e.format.sample_bytes();
            // Channels sharing a scan index share their bytes too.
            if runs.iter().any(|&(_, to, _)| to == e.offset) {
                continue;
            }
            match runs.last_mut() {
                Some((f, t, l)) if *f + *l == from && *t + *l == e.offset => *l += len,
                _ => runs.push((from, e.offset, len)),
            }
        }
        let same = dev.scan_bytes() == sub.scan_bytes()
            && runs.len() == 1
            && runs[0] == (0, 0, dev.scan_bytes());
        let same = same
            || dev.scan_bytes() == sub.scan_bytes()
                && dev.elements().len() == sub.elements().len()
                && dev
                    .elements()
                    .iter()
                    .zip(sub.elements())
                    .all(|(a, b)| a.channel == b.channel && a.offset == b.offset);
        Some(Repack {
            runs,
            src_scan: dev.scan_bytes(),
            dst_scan: sub.scan_bytes(),
            same,
        })
    }

    /// Whether the subscriber's layout is the device's (its scans are the block's bytes).
    pub(super) fn is_same(&self) -> bool {
        self.same
    }

    /// Writes the first `scans` scans of `src` in the subscriber's layout into `out`
    /// (replacing what it held; padding is zero).
    pub(super) fn apply(&self, src: &[u8], scans: usize, out: &mut Vec<u8>) {
        out.clear();
        let scans = scans.min(src.len() / self.src_scan.max(1));
        if self.same {
            out.extend_from_slice(&src[..scans * self.src_scan]);
            return;
        }
        out.resize(scans * self.dst_scan, 0);
        for (s, d) in src
            .chunks_exact(self.src_scan)
            .zip(out.chunks_exact_mut(self.dst_scan))
            .take(scans)
        {
            for &(from, to, len) in &self.runs {
                d[to..to + len].copy_from_slice(&s[from..from + len]);
            }
        }
    }
}
