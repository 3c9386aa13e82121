//! [`Buffer`]: a device's buffer opened for capture or output, with the block of scans it
//! moves and typed access to each channel's values in that block. Backend-agnostic: the
//! data moves through the backend's buffer stream (`backend::BufferStream`).

use crate::backend::BufferSpec;
use crate::buffer::demux::{self, ArrayIter, ChannelIter, ConvertedIter, DemuxOutput, Sample};
use crate::buffer::mask::{ChannelMask, ElementLayout, ScanLayout};
use crate::buffer::{CancelHandle, Transfer, TransferRequest};
use crate::channel_type::ChannelType;
use crate::context::{Channel, Device};
use crate::error::{Error, Result};
use std::time::Duration;

/// Blocks the kernel-side buffer holds unless told otherwise (libiio's default).
pub const DEFAULT_KERNEL_BUFFERS: usize = 4;

/// Configures and opens a [`Buffer`]; made by [`Device::buffer_builder`]. Keeps the first
/// mistake and reports it from [`BufferBuilder::build`].
#[derive(Debug)]
pub struct BufferBuilder {
    dev: Device,
    mask: ChannelMask,
    samples: usize,
    cyclic: bool,
    index: u32,
    kernel_buffers: usize,
    transfer: TransferRequest,
    timeout: Option<Option<Duration>>,
    blocking: bool,
    trigger: Option<Option<String>>,
    error: Option<Error>,
}

impl BufferBuilder {
    fn new(dev: &Device) -> BufferBuilder {
        let mask = dev.channel_mask();
        BufferBuilder {
            dev: dev.clone(),
            mask,
            samples: 0,
            cyclic: false,
            index: 0,
            kernel_buffers: DEFAULT_KERNEL_BUFFERS,
            transfer: TransferRequest::Auto,
            timeout: None,
            blocking: true,
            trigger: None,
            error: None,
        }
    }

    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Adds a channel to the mask (it must belong to this device).
    pub fn channel(mut self, channel: &Channel) -> Self {
        if channel.device() != &self.dev {
            let e = Error::InvalidValue {
                what: format!("channel {} for a buffer of {}", channel.id(), self.dev.id()),
                reason: format!("it belongs to device {}", channel.device().id()),
            };
            self.fail(e);
        } else {
            self.mask.enable(channel.index());
        }
        self
    }

    /// Uses exactly the channels of `mask` (positions in the device's channel list, as in
    /// iiod's `OPEN`), replacing those chosen so far and any enabled with
    /// [`Channel::enable`].
    pub fn mask(mut self, mask: &ChannelMask) -> Self {
        self.mask = ChannelMask::from_words(self.dev.num_channels(), mask.words());
        self
    }

    /// Adds channels to the mask.
    pub fn channels<'c>(mut self, channels: impl IntoIterator<Item = &'c Channel>) -> Self {
        for c in channels {
            self = self.channel(c);
        }
        self
    }

    /// Adds a channel by id or name (input channels, or output ones for `output`).
    pub fn channel_named(mut self, key: &str, output: bool) -> Self {
        match self.dev.get_channel(key, output) {
            Ok(c) => self.channel(&c),
            Err(e) => {
                self.fail(e);
                self
            }
        }
    }

    /// Adds every scan element of one direction (inputs unless `output`).
    pub fn all_channels(mut self, output: bool) -> Self {
        for c in self.dev.channels() {
            if c.is_scan_element() && c.is_output() == output {
                self.mask.enable(c.index());
            }
        }
        self
    }

    /// Scans per block (required, above 0).
    pub fn samples(mut self, samples: usize) -> Self {
        self.samples = samples;
        self
    }

    /// Cyclic output: the first block pushed repeats until the buffer is dropped.
    pub fn cyclic(mut self, cyclic: bool) -> Self {
        self.cyclic = cyclic;
        self
    }

    /// Which of the device's buffers (`bufferY`, kernel ≥ 5.11); 0 by default.
    pub fn buffer_index(mut self, index: u32) -> Self {
        self.index = index;
        self
    }

    /// Blocks the kernel-side buffer holds (its `length` is `samples ×` this); 4 by default.
    pub fn kernel_buffers(mut self, count: usize) -> Self {
        self.kernel_buffers = count;
        self
    }

    /// The transfer method: [`TransferRequest::Auto`] (default) or a forced one.
    pub fn transfer(mut self, transfer: TransferRequest) -> Self {
        self.transfer = transfer;
        self
    }

    /// Timeout of blocking refills and pushes (`None`: wait forever). Default: 5 s, as
    /// libiio.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Blocking (default) or non-blocking refills and pushes.
    pub fn blocking(mut self, blocking: bool) -> Self {
        self.blocking = blocking;
        self
    }

    /// Sets the device's trigger while the buffer is open (`None` detaches it); the previous
    /// trigger is restored when the buffer is dropped or fails to open.
    pub fn trigger(mut self, trigger: Option<&Device>) -> Self {
        match trigger.map(|t| (t, t.name())) {
            Some((t, None)) => {
                let e = Error::InvalidValue {
                    what: format!("trigger for device {}", self.dev.id()),
                    reason: format!("device {} has no name to select it by", t.id()),
                };
                self.fail(e);
            }
            Some((_, Some(name))) => self.trigger = Some(Some(name.to_string())),
            None => self.trigger = Some(None),
        }
        self
    }

    /// Like [`BufferBuilder::trigger`], by trigger name (one created after the context was,
    /// for example).
    pub fn trigger_name(mut self, name: Option<&str>) -> Self {
        self.trigger = Some(name.map(str::to_string));
        self
    }

    /// Opens the buffer: sets the trigger (if asked), writes the scan elements, buffer length,
    /// watermark and kernel buffer count, and enables the buffer. A failure anywhere undoes
    /// what was done.
    pub fn build(self) -> Result<Buffer> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let dev = self.dev;
        let what = || format!("buffer of device {}", dev.id());
        if self.samples == 0 {
            return Err(Error::InvalidValue {
                what: what(),
                reason: "the sample count must be above 0".into(),
            });
        }
        let mut output = None;
        for pos in self.mask.iter() {
            let Some(c) = dev.channel(pos) else { continue };
            match output {
                None => output = Some(c.is_output()),
                Some(o) if o != c.is_output() => {
                    return Err(Error::InvalidValue {
                        what: what(),
                        reason: "input and output channels cannot share a buffer".into(),
                    })
                }
                Some(_) => {}
            }
        }
        let output = output.unwrap_or(false);
        let layout = ScanLayout::new(dev.data(), &self.mask)?;
        let conversions = layout
            .elements()
            .iter()
            .map(|e| conversion(&dev, e.channel))
            .collect();

        let backend = dev.context().backend();
        let mut restore_trigger = None;
        if let Some(t) = &self.trigger {
            let old = backend.current_trigger(dev.id())?;
            let new = t.as_deref();
            if old.as_deref() != new {
                backend.set_trigger(dev.id(), new)?;
                restore_trigger = Some(old);
            }
        }
        let spec = BufferSpec {
            dev: dev.data(),
            index: self.index,
            mask: &self.mask,
            scan_bytes: layout.scan_bytes(),
            samples: self.samples,
            kernel_buffers: self.kernel_buffers,
            output,
            cyclic: self.cyclic,
            transfer: self.transfer,
        };
        let opened = backend.open_buffer(&spec).and_then(|mut s| {
            if let Some(t) = self.timeout {
                s.set_timeout(t);
            }
            s.set_blocking(self.blocking)?;
            Ok(s)
        });
        let stream = match opened {
            Ok(s) => s,
            Err(e) => {
                if let Some(old) = restore_trigger {
                    let _ = backend.set_trigger(dev.id(), old.as_deref());
                }
                return Err(e);
            }
        };
        let cancel = stream.cancel_handle();
        let lent = !output && stream.lends_blocks();
        Ok(Buffer {
            // A lent block replaces the buffer's own for capture.
            data: if lent {
                Vec::new()
            } else {
                vec![0; self.samples * layout.scan_bytes()]
            },
            valid: 0,
            lent,
            samples: self.samples,
            output,
            cyclic: self.cyclic,
            mask: self.mask,
            layout,
            conversions,
            stream: Some(stream),
            cancel,
            restore_trigger,
            dev,
        })
    }
}

/// `(scale, offset)` of a channel as the IIO ABI defines them: its `scale` and `offset`
/// attributes, 1 and 0 when absent (the snapshot's scale for XML contexts).
fn conversion(dev: &Device, pos: usize) -> Result<(f64, f64), String> {
    match dev.channel(pos) {
        Some(c) => c.scale_offset().map_err(|e| e.to_string()),
        None => Ok((1.0, 0.0)),
    }
}

/// An open buffer of a device: the block of scans it moves, and the channel layout of those
/// scans. Capture with [`Buffer::refill`], output with [`Buffer::push`]. Dropping it (or
/// [`Buffer::close`]) disables the buffer and restores the scan elements, buffer settings
/// and trigger it changed.
///
/// `Send`: refill in a worker thread, and stop it from another with a [`CancelHandle`]
/// ([`Buffer::cancel_handle`]).
#[derive(Debug)]
pub struct Buffer {
    dev: Device,
    stream: Option<Box<dyn crate::backend::BufferStream>>,
    cancel: CancelHandle,
    mask: ChannelMask,
    layout: ScanLayout,
    /// Per layout element: `(scale, offset)`, or why they could not be read.
    conversions: Vec<Result<(f64, f64), String>>,
    data: Vec<u8>,
    /// Bytes of `data` holding scans from the last refill.
    valid: usize,
    /// Capture reads the stream's lent blocks in place (DMABUF) instead of `data`.
    lent: bool,
    samples: usize,
    output: bool,
    cyclic: bool,
    restore_trigger: Option<Option<String>>,
}

impl Buffer {
    fn stream(&mut self) -> Result<&mut Box<dyn crate::backend::BufferStream>> {
        let id = self.dev.id().to_string();
        self.stream.as_mut().ok_or_else(|| Error::InvalidValue {
            what: format!("buffer of device {id}"),
            reason: "the buffer is closed".into(),
        })
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// The enabled channels.
    pub fn mask(&self) -> &ChannelMask {
        &self.mask
    }

    /// Where each enabled channel sits in a scan.
    pub fn layout(&self) -> &ScanLayout {
        &self.layout
    }

    /// Bytes of one scan (libiio's sample size).
    pub fn scan_bytes(&self) -> usize {
        self.layout.scan_bytes()
    }

    /// Scans per block.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Whether this is an output buffer.
    pub fn is_output(&self) -> bool {
        self.output
    }

    /// Whether this is a cyclic output buffer.
    pub fn is_cyclic(&self) -> bool {
        self.cyclic
    }

    /// The transfer method in use.
    pub fn transfer(&self) -> Transfer {
        self.stream
            .as_ref()
            .map_or(Transfer::ReadWrite, |s| s.transfer())
    }

    /// Switches between blocking and non-blocking refills and pushes.
    pub fn set_blocking(&mut self, blocking: bool) -> Result<()> {
        self.stream()?.set_blocking(blocking)
    }

    /// Sets the timeout of blocking refills and pushes (`None`: wait forever).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.stream()?.set_timeout(timeout);
        Ok(())
    }

    /// A handle that cancels this buffer from any thread: a refill or push blocked now
    /// returns [`Error::Cancelled`] within milliseconds, and so does every later one.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Cancels the buffer (see [`Buffer::cancel_handle`]).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Fills the block with scans from the device; returns how many scans it now holds.
    /// Blocking mode waits for a whole block (at most the timeout: fewer scans if some came,
    /// [`Error::Timeout`] if none); non-blocking mode takes what is there, possibly 0.
    pub fn refill(&mut self) -> Result<usize> {
        if self.output {
            return Err(Error::InvalidValue {
                what: format!("refill of the buffer of device {}", self.dev.id()),
                reason: "it is an output buffer; use push".into(),
            });
        }
        self.valid = 0;
        let sb = self.layout.scan_bytes();
        let stream = self.stream.as_mut().ok_or_else(|| Error::InvalidValue {
            what: format!("buffer of device {}", self.dev.id()),
            reason: "the buffer is closed".into(),
        })?;
        let n = if self.lent {
            stream.acquire()?
        } else {
            stream.read(&mut self.data)?
        };
        self.valid = n;
        Ok(n / sb)
    }

    /// Sends the whole block to the device; returns the scans sent.
    pub fn push(&mut self) -> Result<usize> {
        self.push_partial(self.samples)
    }

    /// Sends the first `scans` scans of the block; returns the scans sent (fewer only in
    /// non-blocking mode or after a timeout).
    pub fn push_partial(&mut self, scans: usize) -> Result<usize> {
        if !self.output {
            return Err(Error::InvalidValue {
                what: format!("push to the buffer of device {}", self.dev.id()),
                reason: "it is an input buffer; use refill".into(),
            });
        }
        let sb = self.layout.scan_bytes();
        let bytes = scans.min(self.samples) * sb;
        let stream = self.stream.as_mut().ok_or_else(|| Error::InvalidValue {
            what: format!("buffer of device {}", self.dev.id()),
            reason: "the buffer is closed".into(),
        })?;
        let n = stream.write(&self.data[..bytes])?;
        Ok(n / sb)
    }

    /// The scans of the last refill, as raw bytes in the device's layout. With DMABUF
    /// capture this is the dma-buf the device filled, mapped (no copy was made); it goes
    /// back to the device at the next refill.
    pub fn data(&self) -> &[u8] {
        match &self.stream {
            Some(s) if self.lent => &s.lent()[..self.valid],
            Some(_) | None => &self.data[..self.valid],
        }
    }

    /// Hands the scans of the last refill over without copying them: the buffer's own
    /// block is exchanged for `spare` (made the block's size), and the filled one is
    /// returned cut to the scans it holds. `Err(spare)` when the block is not the buffer's
    /// to give (a DMABUF capture's blocks belong to the device; read those with
    /// [`Buffer::data`]) or this is an output buffer.
    pub(crate) fn take_block(&mut self, mut spare: Vec<u8>) -> Result<Vec<u8>, Vec<u8>> {
        if self.lent || self.output {
            return Err(spare);
        }
        spare.resize(self.samples * self.layout.scan_bytes(), 0);
        let mut filled = std::mem::replace(&mut self.data, spare);
        filled.truncate(self.valid);
        self.valid = 0;
        Ok(filled)
    }

    /// The whole block, writable (fill it before [`Buffer::push`]). Empty for a DMABUF
    /// capture buffer, whose blocks belong to the device.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Scans held after the last refill.
    pub fn len(&self) -> usize {
        self.valid / self.layout.scan_bytes().max(1)
    }

    /// Whether the last refill brought no scan.
    pub fn is_empty(&self) -> bool {
        self.valid == 0
    }

    /// The scans of the last refill, one slice each.
    pub fn scans(&self) -> std::slice::ChunksExact<'_, u8> {
        self.data().chunks_exact(self.layout.scan_bytes().max(1))
    }

    fn element(&self, chan: &Channel) -> Result<(usize, &ElementLayout)> {
        if chan.device() != &self.dev {
            return Err(Error::InvalidValue {
                what: format!("channel {} of device {}", chan.id(), chan.device().id()),
                reason: format!("not a channel of this buffer's device {}", self.dev.id()),
            });
        }
        self.layout
            .elements()
            .iter()
            .enumerate()
            .find(|(_, e)| e.channel == chan.index())
            .ok_or_else(|| Error::InvalidValue {
                what: format!("channel {} of device {}", chan.id(), self.dev.id()),
                reason: "not enabled in this buffer".into(),
            })
    }

    /// The channel's values in the last refill as `T` (byte order, shift, mask and sign
    /// handled; `T` must hold the format, e.g. `i16` for `le:s12/16`). Repeat channels give
    /// `REPEAT` values per scan, one after the other.
    pub fn channel_iter<T: Sample>(&self, chan: &Channel) -> Result<ChannelIter<'_, T>> {
        let (_, e) = self.element(chan)?;
        demux::check_fits::<T>(&e.format)?;
        Ok(ChannelIter::new(self.data(), self.layout.scan_bytes(), e))
    }

    /// A repeat channel's values as one `[T; N]` per scan (`N` must equal its `REPEAT`).
    pub fn channel_iter_array<T: Sample, const N: usize>(
        &self,
        chan: &Channel,
    ) -> Result<ArrayIter<'_, T, N>> {
        let (_, e) = self.element(chan)?;
        if e.format.repeat as usize != N {
            return Err(Error::InvalidValue {
                what: format!("channel {} of device {}", chan.id(), self.dev.id()),
                reason: format!("it repeats {} values per scan, not {N}", e.format.repeat),
            });
        }
        Ok(ArrayIter::new(self.channel_iter::<T>(chan)?))
    }

    fn conversion(&self, idx: usize, chan: &Channel) -> Result<(f64, f64)> {
        self.conversions[idx]
            .clone()
            .map_err(|reason| Error::Malformed {
                what: format!("scale/offset of channel {} of {}", chan.id(), self.dev.id()),
                reason,
            })
    }

    /// The channel's values in physical units: `(raw + offset) × scale` with the channel's
    /// `scale` and `offset` read when the buffer was opened.
    pub fn channel_iter_converted(&self, chan: &Channel) -> Result<ConvertedIter<'_>> {
        let (idx, e) = self.element(chan)?;
        let (scale, offset) = self.conversion(idx, chan)?;
        let raw = ChannelIter::new(self.data(), self.layout.scan_bytes(), e);
        Ok(ConvertedIter::new(raw, scale, offset))
    }

    /// Copies the channel's values into `out` (the fast path: one tight loop per call);
    /// returns how many were stored.
    pub fn channel_read_into<T: Sample>(&self, chan: &Channel, out: &mut [T]) -> Result<usize> {
        let (_, e) = self.element(chan)?;
        demux::read_into(self.data(), self.layout.scan_bytes(), e, out)
    }

    /// Demultiplexes the last refill's scans for every enabled channel in one pass:
    /// `outputs[i]` receives the values of `self.layout().elements()[i]` as the host integer
    /// of its storage width ([`demux::SampleKind::of`]; allocate with
    /// [`demux::Samples::for_element`]). Returns the scans demuxed. See [`demux::demux_into`].
    pub fn demux_into<O: DemuxOutput>(&self, outputs: &mut [O]) -> Result<usize> {
        demux::demux_into(
            self.data(),
            self.layout.scan_bytes(),
            self.layout.elements(),
            outputs,
        )
    }

    /// Converts the channel's values to physical units into `out`; returns how many.
    pub fn channel_convert_into(&self, chan: &Channel, out: &mut [f64]) -> Result<usize> {
        let (idx, e) = self.element(chan)?;
        let (scale, offset) = self.conversion(idx, chan)?;
        Ok(demux::convert_into(
            self.data(),
            self.layout.scan_bytes(),
            e,
            scale,
            offset,
            out,
        ))
    }

    /// The timestamps (ns, in the device's `current_timestamp_clock`) of the last refill's
    /// scans; fails when no timestamp channel is enabled.
    pub fn timestamps(&self) -> Result<ChannelIter<'_, i64>> {
        let e = self
            .layout
            .elements()
            .iter()
            .find(|e| {
                self.dev
                    .channel(e.channel)
                    .is_some_and(|c| c.channel_type() == ChannelType::Timestamp)
            })
            .ok_or_else(|| Error::InvalidValue {
                what: format!("timestamps of the buffer of {}", self.dev.id()),
                reason: "no timestamp channel is enabled".into(),
            })?;
        demux::check_fits::<i64>(&e.format)?;
        Ok(ChannelIter::new(self.data(), self.layout.scan_bytes(), e))
    }

    /// Writes `values` into the channel's slots of the block, scan after scan (repeat channels
    /// take `REPEAT` values per scan), masked to the format's bits; returns how many were
    /// written (at most `samples × REPEAT`).
    pub fn channel_write<T: Sample>(&mut self, chan: &Channel, values: &[T]) -> Result<usize> {
        let (_, e) = self.element(chan)?;
        let e = *e;
        let sb = self.layout.scan_bytes();
        Ok(demux::write_from(&mut self.data, sb, &e, values))
    }

    /// Disables the buffer and restores what opening it changed, reporting the first error
    /// (dropping does the same silently).
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let mut first = Ok(());
        if let Some(mut s) = self.stream.take() {
            first = s.close();
        }
        if let Some(old) = self.restore_trigger.take() {
            let r = self
                .dev
                .context()
                .backend()
                .set_trigger(self.dev.id(), old.as_deref());
            if first.is_ok() {
                first = r;
            }
        }
        first
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl Device {
    /// A builder for a buffer of this device, starting from the channels enabled with
    /// [`Channel::enable`].
    pub fn buffer_builder(&self) -> BufferBuilder {
        BufferBuilder::new(self)
    }

    /// Opens a buffer of `samples` scans per block for the channels enabled with
    /// [`Channel::enable`] (libiio's `iio_device_create_buffer`). See [`BufferBuilder`] for
    /// the other settings.
    pub fn create_buffer(&self, samples: usize, cyclic: bool) -> Result<Buffer> {
        self.buffer_builder()
            .samples(samples)
            .cyclic(cyclic)
            .build()
    }

    /// The channels enabled with [`Channel::enable`].
    pub fn channel_mask(&self) -> ChannelMask {
        self.context().with_mask(self.index(), |m| m.clone())
    }

    /// Bytes of one scan with the enabled channels, by the kernel's rules.
    pub fn sample_size(&self) -> Result<usize> {
        Ok(ScanLayout::new(self.data(), &self.channel_mask())?.scan_bytes())
    }
}

impl Channel {
    /// Enables the channel for the device's next buffer (a client-side mask, as in libiio;
    /// sysfs is written when the buffer opens).
    pub fn enable(&self) {
        self.device()
            .context()
            .with_mask(self.device().index(), |m| m.enable(self.index()));
    }

    /// Disables the channel for the device's next buffer.
    pub fn disable(&self) {
        self.device()
            .context()
            .with_mask(self.device().index(), |m| m.disable(self.index()));
    }

    /// Whether the channel is enabled for the device's next buffer.
    pub fn is_enabled(&self) -> bool {
        self.device()
            .context()
            .with_mask(self.device().index(), |m| m.is_enabled(self.index()))
    }

    /// The channel's values in the buffer's last refill, as `T` (through the bulk path of
    /// [`Buffer::channel_read_into`], into one allocation of the right size).
    pub fn read<T: Sample>(&self, buf: &Buffer) -> Result<Vec<T>> {
        let len = buf.channel_iter::<T>(self)?.len();
        let mut values = vec![T::default(); len];
        let n = buf.channel_read_into(self, &mut values)?;
        values.truncate(n);
        Ok(values)
    }

    /// The channel's values in the buffer's last refill, in physical units.
    pub fn read_converted(&self, buf: &Buffer) -> Result<Vec<f64>> {
        Ok(buf.channel_iter_converted(self)?.collect())
    }

    /// Writes values into the channel's slots of an output buffer's block.
    pub fn write<T: Sample>(&self, buf: &mut Buffer, values: &[T]) -> Result<usize> {
        buf.channel_write(self, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_is_send() {
        fn send<T: Send>() {}
        send::<Buffer>();
        send::<CancelHandle>();
    }
}
