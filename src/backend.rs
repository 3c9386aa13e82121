//! The one interface local sysfs, XML and network contexts share: reading and writing
//! attributes and the current trigger, and opening buffer streams. The context/device/channel
//! API in [`crate::context`] and the [`crate::buffer::Buffer`] type are written once on top
//! of it.

use crate::attr_loc::AttrLoc;
use crate::buffer::{CancelHandle, ChannelMask, Transfer, TransferRequest};
use crate::error::{Error, Result};
use crate::model::DeviceData;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What a backend does for the shared API. Implementations must be thread-safe: one
/// [`crate::Context`] may be used from several threads at once.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    /// The backend's name in messages (`local`, `xml`, `network`).
    fn kind(&self) -> &'static str;
    /// Reads an attribute's value (one trailing newline removed).
    fn read_attr(&self, loc: &AttrLoc<'_>) -> Result<String>;
    /// Writes an attribute's value.
    fn write_attr(&self, loc: &AttrLoc<'_>, value: &str) -> Result<()>;
    /// The name of the device's current trigger, `None` when it has none.
    fn current_trigger(&self, dev: &str) -> Result<Option<String>>;
    /// Sets (or with `None`, clears) the device's current trigger, by trigger name.
    fn set_trigger(&self, dev: &str, trigger: Option<&str>) -> Result<()>;
    /// Sets the timeout of blocking operations.
    fn set_timeout(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
    /// An independent backend for the same source (a new connection for the network).
    fn try_clone(&self) -> Result<Arc<dyn Backend>>;

    /// Opens a buffer stream: configures the device for streaming `spec.mask` (scan elements,
    /// buffer length, kernel buffer count), enables it and returns the stream that moves whole
    /// blocks. On any failure the backend undoes what it changed before returning the error.
    ///
    /// The default refuses with ENOSYS: the XML backend describes structure only.
    fn open_buffer(&self, spec: &BufferSpec<'_>) -> Result<Box<dyn BufferStream>> {
        Err(Error::Unsupported {
            backend: self.kind(),
            what: format!("opening a buffer of device {}", spec.dev.id),
        })
    }

    /// Opens the event stream of device `dev` (libiio 1.x's `open_ev`); ENOSYS by default.
    fn open_events(&self, dev: &str) -> Result<Box<dyn EventSource>> {
        Err(Error::Unsupported {
            backend: self.kind(),
            what: format!("opening the event stream of device {dev}"),
        })
    }

    /// The names of the event attributes of device `dev` (read and written through
    /// [`AttrLoc::Event`]), sorted; ENOSYS by default.
    fn event_attrs(&self, dev: &str) -> Result<Vec<String>> {
        Err(Error::Unsupported {
            backend: self.kind(),
            what: format!("listing the event attributes of device {dev}"),
        })
    }

    /// Reads a register of device `dev` (libiio's `iio_device_reg_read`). By default
    /// through the `direct_reg_access` debug attribute: the address written, then the
    /// value read back (two steps another client can come between; iiod 1.x does both in
    /// one `REG_READ`).
    fn reg_read(&self, dev: &str, address: u32) -> Result<u32> {
        reg_read_by_attr(self, dev, address)
    }

    /// Writes a register of device `dev` (libiio's `iio_device_reg_write`); by default
    /// `ADDRESS VALUE` into `direct_reg_access`.
    fn reg_write(&self, dev: &str, address: u32, value: u32) -> Result<()> {
        reg_write_by_attr(self, dev, address, value)
    }

    /// A round trip that changes nothing, to tell that a remote context still answers
    /// (libiio 1.x's `iio_context_ping`); nothing to check by default.
    fn ping(&self) -> Result<()> {
        Ok(())
    }

    /// The protocol a network context speaks to iiod; `None` for other backends.
    fn iiod_dialect(&self) -> Option<crate::network::codec::Dialect> {
        None
    }
}

/// [`Backend::reg_read`] through the `direct_reg_access` debug attribute.
pub(crate) fn reg_read_by_attr<B: Backend + ?Sized>(b: &B, dev: &str, address: u32) -> Result<u32> {
    let loc = AttrLoc::Debug {
        dev,
        name: "direct_reg_access",
    };
    b.write_attr(&loc, &format!("0x{address:x}"))?;
    let text = b.read_attr(&loc)?;
    parse_register(&text).ok_or_else(|| Error::Parse {
        value: text.clone(),
        what: format!("direct_reg_access of device {dev}"),
        ty: "u32",
    })
}

/// [`Backend::reg_write`] through the `direct_reg_access` debug attribute.
pub(crate) fn reg_write_by_attr<B: Backend + ?Sized>(
    b: &B,
    dev: &str,
    address: u32,
    value: u32,
) -> Result<()> {
    let loc = AttrLoc::Debug {
        dev,
        name: "direct_reg_access",
    };
    b.write_attr(&loc, &format!("0x{address:x} 0x{value:x}"))
}

/// A register value as drivers print it in `direct_reg_access`: `0x`-prefixed hex, or
/// decimal.
pub(crate) fn parse_register(text: &str) -> Option<u32> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// An open event stream of a device: libiio 1.x's `read_ev` behind one interface. Local
/// streams read the device's event fd; network ones will read iiod's event stream.
pub(crate) trait EventSource: Send + fmt::Debug {
    /// The next event. Blocking: waits until one comes or `deadline` passes (`Ok(None)`
    /// then; no deadline waits for ever). Non-blocking: `Ok(None)` when none is pending.
    /// After [`CancelHandle::cancel`], [`Error::Cancelled`].
    fn next(
        &mut self,
        blocking: bool,
        deadline: Option<std::time::Instant>,
    ) -> Result<Option<crate::buffer::event::Event>>;
    /// A handle that cancels this stream from any thread.
    fn cancel_handle(&self) -> CancelHandle;
}

/// What [`Backend::open_buffer`] is asked for. The generic layer ([`crate::buffer`]) has
/// already checked the mask and computed the scan layout with the kernel's rules.
#[derive(Debug, Clone)]
pub(crate) struct BufferSpec<'a> {
    /// The device's snapshot: channel ids and directions, scan elements and their `_en` files.
    pub dev: &'a DeviceData,
    /// Which buffer of the device (`bufferY`); 0 is also the legacy `buffer/` layout.
    pub index: u32,
    /// The channels to enable, by position in `dev.channels` (libiio's mask; iiod's `OPEN`
    /// mask). Every other scan element of the buffer's direction is disabled.
    pub mask: &'a ChannelMask,
    /// Bytes of one scan with this mask.
    pub scan_bytes: usize,
    /// Scans per block (the `samples_count` of libiio and iiod).
    pub samples: usize,
    /// Blocks the kernel-side buffer holds (the buffer `length` is `samples × this`).
    pub kernel_buffers: usize,
    /// An output (DAC) buffer: blocks are written, not read.
    pub output: bool,
    /// Cyclic output: the first block pushed repeats until the buffer is closed.
    pub cyclic: bool,
    /// Which transfer method the user wants.
    pub transfer: TransferRequest,
}

/// An open buffer: moves whole blocks between the caller and the device, and undoes the
/// device setup when closed or dropped. Local streams read the `/dev` node (or use mmap /
/// DMABUF blocks), network streams talk to iiod (`OPEN`/`READBUF`/`WRITEBUF`/`CLOSE`).
///
/// Blocking mode (the default) waits for a whole block, at most the timeout (none: forever);
/// non-blocking mode moves what the device has now. Either way only whole scans are
/// returned; a partial scan (possible on FIFOs and sockets) is kept for the next call.
/// After [`CancelHandle::cancel`] every call fails with [`Error::Cancelled`] promptly, also a
/// call blocked in another thread.
pub(crate) trait BufferStream: Send + std::fmt::Debug {
    /// Reads scans into `buf` (a whole number of scans long). Returns the bytes stored, a
    /// multiple of the scan size: `buf.len()` in blocking mode unless the timeout expired
    /// after some scans arrived (then fewer; with none, [`Error::Timeout`]); in non-blocking
    /// mode whatever was there, possibly 0. End of stream (a FIFO's writer went away) returns
    /// what is left, then 0.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize>;
    /// Writes scans from `buf`; returns the bytes taken, with the same blocking rules as
    /// [`BufferStream::read`].
    fn write(&mut self, buf: &[u8]) -> Result<usize>;
    /// Switches between blocking and non-blocking mode.
    fn set_blocking(&mut self, blocking: bool) -> Result<()>;
    /// Sets the timeout of blocking calls (`None`: wait forever).
    fn set_timeout(&mut self, timeout: Option<Duration>);
    /// A handle that cancels this stream from any thread.
    fn cancel_handle(&self) -> CancelHandle;
    /// The transfer method in use.
    fn transfer(&self) -> Transfer;
    /// Disables the buffer and restores what opening it changed. Idempotent; dropping the
    /// stream does the same and ignores errors.
    fn close(&mut self) -> Result<()>;
    /// Whether capture can skip the copy: the stream lends its own blocks (memory shared
    /// with the device, DMABUF), and `Buffer` uses [`BufferStream::acquire`] and
    /// [`BufferStream::lent`] instead of [`BufferStream::read`].
    fn lends_blocks(&self) -> bool {
        false
    }
    /// Capture without copying: gives the block lent last back to the device and lends the
    /// next one once it is filled; returns its bytes (a whole number of scans). Blocking,
    /// timeout and end-of-data rules as in [`BufferStream::read`].
    fn acquire(&mut self) -> Result<usize> {
        Err(Error::Unsupported {
            backend: "buffer stream",
            what: "lending blocks".into(),
        })
    }
    /// The block lent by the last [`BufferStream::acquire`] (empty when none is).
    fn lent(&self) -> &[u8] {
        &[]
    }
}
