//! Who uses which device's buffer: a free device, an input shared by its readers
//! ([`InputShare`]), or an output owned by one client. Opening checks a client's mask
//! against the snapshot (scan elements only, one direction), serialises opens with the
//! close of the previous user (a device is handed on only after its buffer has put it
//! back), and keeps the kernel block count clients set with `SET ... BUFFERS_COUNT`.

use super::capture::{InputShare, SubId, SubSpec, MAX_BLOCK_BYTES};
use super::log::Log;
use super::ops::{neg, neg_err};
use crate::buffer::{Buffer, CancelHandle, ChannelMask, ScanLayout, DEFAULT_KERNEL_BUFFERS};
use crate::context::Device;
use rustix::io::Errno;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long an open waits for a device another client holds exclusively (iiod: 50 ms,
/// for a client whose close and reopen arrive out of order on two connections).
const BUSY_RETRY: Duration = Duration::from_millis(50);

/// How long an open or close waits for a closing buffer to put its device back.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// The most kernel blocks a client may ask for.
pub(super) const MAX_KERNEL_BUFFERS: i64 = 256;

enum Use {
    Free,
    /// Shared capture.
    Input(Arc<InputShare>),
    /// Output, owned by one client (its buffer's cancel handle, once open).
    Output(Option<CancelHandle>),
}

struct Slot {
    usage: Use,
    kernel_buffers: usize,
}

/// A buffer a client opened.
pub(super) enum Opened {
    /// Its subscription to the device's shared capture.
    Input {
        /// The share.
        share: Arc<InputShare>,
        /// The subscriber.
        sub: SubId,
        /// Bytes of one of its scans.
        scan_bytes: usize,
    },
    /// Its own output buffer.
    Output(Box<Buffer>),
}

/// The devices' buffer use, for the whole server.
pub(super) struct Devices {
    slots: Mutex<Vec<Slot>>,
    changed: Condvar,
    log: Log,
}

fn lock(m: &Mutex<Vec<Slot>>) -> MutexGuard<'_, Vec<Slot>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A client's `OPEN`, checked.
pub(super) struct OpenRequest {
    /// The channels (bits of channels that are not scan elements dropped, as iiod does).
    pub(super) mask: ChannelMask,
    /// The layout of those channels.
    pub(super) layout: ScanLayout,
    /// Output channels.
    pub(super) output: bool,
    /// Scans per block.
    pub(super) samples: usize,
    /// Cyclic output.
    pub(super) cyclic: bool,
}

impl OpenRequest {
    /// Checks an `OPEN`: `words` is the client's mask (word 0 = channels 0–31).
    pub(super) fn new(
        dev: &Device,
        samples: u64,
        words: &[u32],
        cyclic: bool,
    ) -> Result<OpenRequest, i64> {
        let inval = neg(Errno::INVAL);
        let mut mask = ChannelMask::from_words(dev.num_channels(), words);
        let mut output = None;
        for pos in mask.clone().iter() {
            let Some(c) = dev.channel(pos) else {
                continue;
            };
            if !c.is_scan_element() {
                mask.disable(pos);
                continue;
            }
            match output {
                None => output = Some(c.is_output()),
                Some(o) if o != c.is_output() => return Err(inval),
                Some(_) => {}
            }
        }
        let output = output.ok_or(inval)?;
        if cyclic && !output {
            return Err(inval);
        }
        let layout = ScanLayout::new(dev.data(), &mask).map_err(|e| neg_err(&e))?;
        let samples = usize::try_from(samples).map_err(|_| inval)?;
        if samples == 0 {
            return Err(inval);
        }
        if samples.saturating_mul(layout.scan_bytes()) > MAX_BLOCK_BYTES {
            return Err(neg(Errno::NOMEM));
        }
        Ok(OpenRequest {
            mask,
            layout,
            output,
            samples,
            cyclic,
        })
    }
}

impl Devices {
    pub(super) fn new(devices: usize, log: Log) -> Arc<Devices> {
        Arc::new(Devices {
            slots: Mutex::new(
                (0..devices)
                    .map(|_| Slot {
                        usage: Use::Free,
                        kernel_buffers: DEFAULT_KERNEL_BUFFERS,
                    })
                    .collect(),
            ),
            changed: Condvar::new(),
            log,
        })
    }

    /// Waits on the registry until `deadline`; `false` when it passed.
    fn wait<'a>(
        &'a self,
        slots: MutexGuard<'a, Vec<Slot>>,
        deadline: Instant,
    ) -> Option<MutexGuard<'a, Vec<Slot>>> {
        let left = deadline.checked_duration_since(Instant::now())?;
        Some(
            self.changed
                .wait_timeout(slots, left)
                .unwrap_or_else(|p| p.into_inner())
                .0,
        )
    }

    /// Opens `dev`'s buffer for a client. `stop` is polled while waiting for the device
    /// and ends the wait when the client or the server goes away.
    pub(super) fn open(
        self: &Arc<Devices>,
        dev: &Device,
        req: OpenRequest,
        who: &str,
        stop: impl FnMut() -> bool,
    ) -> Result<Opened, i64> {
        if req.output {
            self.open_output(dev, req)
        } else {
            self.open_input(dev, req, who, stop)
        }
    }

    fn open_output(&self, dev: &Device, req: OpenRequest) -> Result<Opened, i64> {
        self.reserve_output(dev.index())?;
        self.open_reserved_output(dev, req)
    }

    /// Takes output device `idx` for a client that will open its buffer later (a binary
    /// client learns its block size and whether it repeats only after `OPEN_BUFFER`):
    /// nobody else may open it meanwhile. Give it back with [`Devices::unreserve`] if the
    /// buffer is never opened.
    pub(super) fn reserve_output(&self, idx: usize) -> Result<(), i64> {
        let busy_until = Instant::now() + BUSY_RETRY;
        let mut slots = lock(&self.slots);
        loop {
            if let Use::Free = slots[idx].usage {
                break;
            }
            slots = self.wait(slots, busy_until).ok_or(neg(Errno::BUSY))?;
        }
        slots[idx].usage = Use::Output(None);
        Ok(())
    }

    /// Gives back a reservation whose buffer was never opened.
    pub(super) fn unreserve(&self, idx: usize) {
        let mut slots = lock(&self.slots);
        if let Use::Output(None) = slots[idx].usage {
            slots[idx].usage = Use::Free;
            self.changed.notify_all();
        }
    }

    /// Opens the output buffer of a device reserved with [`Devices::reserve_output`].
    pub(super) fn open_reserved_output(
        &self,
        dev: &Device,
        req: OpenRequest,
    ) -> Result<Opened, i64> {
        let idx = dev.index();
        let kernel_buffers = lock(&self.slots)[idx].kernel_buffers;
        let built = dev
            .buffer_builder()
            .mask(&req.mask)
            .samples(req.samples)
            .cyclic(req.cyclic)
            .kernel_buffers(kernel_buffers)
            .timeout(None)
            .build();
        match built {
            Ok(b) => {
                let mut slots = lock(&self.slots);
                slots[idx].usage = Use::Output(Some(b.cancel_handle()));
                Ok(Opened::Output(Box::new(b)))
            }
            Err(e) => {
                self.log
                    .error(&format!("{}: cannot open the output buffer: {e}", dev.id()));
                self.release(idx);
                Err(neg_err(&e))
            }
        }
    }

    fn open_input(
        self: &Arc<Devices>,
        dev: &Device,
        req: OpenRequest,
        who: &str,
        stop: impl FnMut() -> bool,
    ) -> Result<Opened, i64> {
        let idx = dev.index();
        let scan_bytes = req.layout.scan_bytes();
        let mut spec = Some(SubSpec {
            mask: req.mask,
            layout: req.layout,
            samples: req.samples,
            who: who.to_string(),
        });
        let busy_until = Instant::now() + BUSY_RETRY;
        let release_until = Instant::now() + RELEASE_WAIT;
        let mut slots = lock(&self.slots);
        let (share, sub) = loop {
            match &slots[idx].usage {
                Use::Free => {
                    let registry = Arc::downgrade(self);
                    let (share, sub) = InputShare::start(
                        dev.clone(),
                        slots[idx].kernel_buffers,
                        self.log.clone(),
                        spec.take().expect("one spec"),
                        move |share| {
                            if let Some(r) = registry.upgrade() {
                                r.share_ended(idx, share);
                            }
                        },
                    )
                    .map_err(|e| neg_err(&crate::error::Error::io("capture thread", e)))?;
                    slots[idx].usage = Use::Input(share.clone());
                    break (share, sub);
                }
                Use::Input(share) => {
                    let share = share.clone();
                    match share.join(spec.take().expect("one spec")) {
                        Ok(sub) => break (share, sub),
                        Err(back) => {
                            // The last reader is closing it: wait for the device to be put
                            // back, then start afresh.
                            spec = Some(back);
                            slots = self.wait(slots, release_until).ok_or(neg(Errno::BUSY))?;
                        }
                    }
                }
                Use::Output(_) => {
                    slots = self.wait(slots, busy_until).ok_or(neg(Errno::BUSY))?;
                }
            }
        };
        drop(slots);
        match share.wait_open(sub, stop) {
            Ok(()) => Ok(Opened::Input {
                share,
                sub,
                scan_bytes,
            }),
            Err(code) => {
                share.leave(sub);
                Err(code)
            }
        }
    }

    /// Called by a share's thread once its buffer is closed: the device is free.
    fn share_ended(&self, idx: usize, share: &InputShare) {
        let mut slots = lock(&self.slots);
        if matches!(&slots[idx].usage, Use::Input(s) if std::ptr::eq(Arc::as_ptr(s), share)) {
            slots[idx].usage = Use::Free;
        }
        drop(slots);
        self.changed.notify_all();
    }

    fn release(&self, idx: usize) {
        lock(&self.slots)[idx].usage = Use::Free;
        self.changed.notify_all();
    }

    /// Closes a client's buffer of device `idx`; when this was the last user, waits
    /// (bounded) until the device is back as it was.
    pub(super) fn close(&self, idx: usize, opened: Opened) {
        match opened {
            Opened::Input { share, sub, .. } => {
                share.leave(sub);
                if share.is_closing() {
                    let until = Instant::now() + RELEASE_WAIT;
                    let mut slots = lock(&self.slots);
                    while matches!(&slots[idx].usage, Use::Input(s) if Arc::ptr_eq(s, &share)) {
                        match self.wait(slots, until) {
                            Some(s) => slots = s,
                            None => return,
                        }
                    }
                }
            }
            Opened::Output(buf) => {
                // Dropping it disables the buffer and restores the device.
                drop(buf);
                self.release(idx);
            }
        }
    }

    /// Closes a binary client's output buffer on DISABLE: the device is put back and stays
    /// reserved for that client (never free in between, for another client to take).
    pub(super) fn close_keeping_output(&self, idx: usize, opened: Opened) {
        match opened {
            Opened::Output(buf) => {
                drop(buf);
                let mut slots = lock(&self.slots);
                slots[idx].usage = Use::Output(None);
            }
            input => self.close(idx, input),
        }
    }

    /// Cancels every output buffer's push (the server is stopping).
    pub(super) fn cancel_outputs(&self) {
        for slot in lock(&self.slots).iter() {
            if let Use::Output(Some(c)) = &slot.usage {
                c.cancel();
            }
        }
    }

    /// `SET DEV BUFFERS_COUNT n`: the kernel block count of the device's next buffer;
    /// `-EBUSY` while a buffer of it is open.
    pub(super) fn set_kernel_buffers(&self, idx: usize, count: i64) -> Result<(), i64> {
        if !(1..=MAX_KERNEL_BUFFERS).contains(&count) {
            return Err(neg(Errno::INVAL));
        }
        let busy_until = Instant::now() + BUSY_RETRY;
        let mut slots = lock(&self.slots);
        loop {
            if let Use::Free = slots[idx].usage {
                slots[idx].kernel_buffers = count as usize;
                return Ok(());
            }
            slots = self.wait(slots, busy_until).ok_or(neg(Errno::BUSY))?;
        }
    }
}
