//! IIO events: the decoded `struct iio_event_data` ([`Event`]), a device's [`EventStream`],
//! and the event configuration attributes (`in_voltage0_thresh_rising_en`, `_value`,
//! `_hysteresis` ...).
//!
//! Streams and event attributes are backend operations (as libiio 1.x's `open_ev` and
//! `read_ev`): the local backend opens the device's event fd (`IIO_GET_EVENT_FD_IOCTL` on
//! `/dev/iio:deviceN`) and hands it to `FdEvents`, which reads it waiting with `poll()` on
//! the fd and a cancel eventfd, like buffer refills. Other backends refuse for now (libiio
//! 0.24's iiod has no events). Decoding ([`Event::from_code`]) is pure.

use crate::backend::{AttrLoc, EventSource};
use crate::buffer::cancel::{wait_fd, Waited};
use crate::buffer::uapi::IioEventData;
use crate::buffer::{Cancel, CancelHandle, EventFdCancel};
use crate::channel_type::{ChannelType, EventDirection, EventType, Modifier};
use crate::context::{Channel, Device};
use crate::error::{Error, Result};
use rustix::event::PollFlags;
use rustix::io::Errno;
use std::collections::VecDeque;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One IIO event, decoded from its 64-bit code (`IIO_EVENT_CODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// The raw event code as the kernel sent it.
    pub code: u64,
    /// When it happened: ns in the device's `current_timestamp_clock`.
    pub timestamp: i64,
    /// The channel type (bits 32–39).
    pub channel_type: ChannelType,
    /// The modifier (bits 40–47), `Modifier::None` when there is none.
    pub modifier: Modifier,
    /// The event type (bits 56–63).
    pub event_type: EventType,
    /// The direction (bits 48–54).
    pub direction: EventDirection,
    /// The channel number (bits 0–15, signed; -1 when the channel has none).
    pub channel: i16,
    /// The second channel of a differential pair (bits 16–31).
    pub channel2: i16,
    /// Whether the channel is a differential pair (bit 55).
    pub differential: bool,
}

impl Event {
    /// Decodes an event code and timestamp.
    pub fn from_code(code: u64, timestamp: i64) -> Event {
        Event {
            code,
            timestamp,
            channel: (code & 0xffff) as u16 as i16,
            channel2: ((code >> 16) & 0xffff) as u16 as i16,
            channel_type: ChannelType::from_raw(((code >> 32) & 0xff) as u32),
            modifier: Modifier::from_raw(((code >> 40) & 0xff) as u32),
            direction: EventDirection::from_raw(((code >> 48) & 0x7f) as u32),
            differential: (code >> 55) & 1 == 1,
            event_type: EventType::from_raw((code >> 56) as u32),
        }
    }

    /// Decodes what `read()` returned from an event fd.
    pub fn from_data(data: IioEventData) -> Event {
        Event::from_code(data.id, data.timestamp)
    }

    /// The id of the channel the event is about, named as sysfs names channels: `voltage0`,
    /// `voltage1-voltage2`, `accel_x`, `activity_running`, `steps` (a negative channel
    /// number means the channel has none). `None` for a type or modifier this crate does
    /// not know.
    pub fn channel_id(&self) -> Option<String> {
        let t = self.channel_type.sysfs_name()?;
        if self.modifier != Modifier::None {
            return Some(format!("{t}_{}", self.modifier.sysfs_name()?));
        }
        if self.differential {
            return Some(format!("{t}{}-{t}{}", self.channel, self.channel2));
        }
        if self.channel < 0 {
            return Some(t.to_string());
        }
        Some(format!("{t}{}", self.channel))
    }
}

impl fmt::Display for Event {
    /// One line, like the kernel's `iio_event_monitor`:
    /// `time: 1700000000123456789, channel: voltage0, type: thresh, direction: rising`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chan = self
            .channel_id()
            .unwrap_or_else(|| format!("unknown-{:#x}", self.code));
        let ty = self.event_type.sysfs_name().unwrap_or("unknown");
        let dir = self.direction.sysfs_name().unwrap_or("unknown");
        write!(
            f,
            "time: {}, channel: {chan}, type: {ty}, direction: {dir}",
            self.timestamp
        )
    }
}

/// A device's event stream: one per device at a time on a local device (the kernel answers
/// `EBUSY` to a second). Blocking reads wait at most the timeout (none by default); a
/// [`CancelHandle`] stops them from another thread.
#[derive(Debug)]
pub struct EventStream {
    what: String,
    source: Box<dyn EventSource>,
    blocking: bool,
    timeout: Option<Duration>,
}

impl EventStream {
    /// Blocking (default) or non-blocking reads.
    pub fn set_blocking(&mut self, blocking: bool) {
        self.blocking = blocking;
    }

    /// Timeout of blocking reads (`None`, the default: wait forever).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// A handle that stops a blocked (and every later) read from another thread.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.source.cancel_handle()
    }

    /// The next event. Blocking mode waits (at most the timeout, then [`Error::Timeout`]);
    /// non-blocking mode returns `Ok(None)` when none is pending.
    pub fn read(&mut self) -> Result<Option<Event>> {
        let deadline = self.timeout.map(|t| Instant::now() + t);
        match self.source.next(self.blocking, deadline)? {
            None if self.blocking => Err(Error::Timeout {
                what: format!("reading {}", self.what),
                after: self.timeout.unwrap_or_default(),
            }),
            e => Ok(e),
        }
    }
}

impl Iterator for EventStream {
    type Item = Result<Event>;

    /// Blocking iteration; ends at a timeout or cancellation (reported once as an error).
    fn next(&mut self) -> Option<Result<Event>> {
        match self.read() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

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

impl Device {
    /// Opens the device's event stream (local contexts).
    pub fn event_stream(&self) -> Result<EventStream> {
        let source = self.context().backend().open_events(self.id())?;
        Ok(EventStream {
            what: format!("events of {}", self.id()),
            source,
            blocking: true,
            timeout: None,
        })
    }

    /// The event configuration attributes of the device (the files of its `events/`
    /// directory on a local device), sorted; empty when the device has none.
    pub fn event_attrs(&self) -> Result<Vec<String>> {
        self.context().backend().event_attrs(self.id())
    }

    fn event_loc<'a>(&'a self, name: &'a str) -> Result<AttrLoc<'a>> {
        if name.contains('/') || name.starts_with('.') || name.is_empty() || name.contains('\0') {
            return Err(Error::InvalidValue {
                what: format!("event attribute of device {}", self.id()),
                reason: format!("'{}' is not a file name", name.escape_debug()),
            });
        }
        Ok(AttrLoc::Event {
            dev: self.id(),
            name,
        })
    }

    /// Reads an event configuration attribute (`in_voltage0_thresh_rising_value`).
    pub fn event_attr_read_str(&self, name: &str) -> Result<String> {
        self.context().backend().read_attr(&self.event_loc(name)?)
    }

    /// Writes an event configuration attribute.
    pub fn event_attr_write_str(&self, name: &str, value: &str) -> Result<()> {
        self.context()
            .backend()
            .write_attr(&self.event_loc(name)?, value)
    }
}

impl Channel {
    /// The event file of this channel for an event type, direction and item (`en`,
    /// `value`, `hysteresis`, `period` ...): the channel's own
    /// (`in_voltage0_thresh_rising_value`) or, failing that, the one shared by its type
    /// (`in_voltage_thresh_rising_value`). `None` when the device has neither.
    pub fn event_attr_name(
        &self,
        event_type: EventType,
        direction: EventDirection,
        item: &str,
    ) -> Result<Option<String>> {
        let files = self.device().event_attrs()?;
        let dir = if self.is_output() { "out" } else { "in" };
        let ty = event_type.sysfs_name().unwrap_or("");
        let d = direction.sysfs_name().unwrap_or("");
        let tail = if direction == EventDirection::None {
            format!("{ty}_{item}")
        } else {
            format!("{ty}_{d}_{item}")
        };
        let own = format!("{dir}_{}_{tail}", self.id());
        if files.contains(&own) {
            return Ok(Some(own));
        }
        if let Some(t) = self.channel_type().sysfs_name() {
            let shared = format!("{dir}_{t}_{tail}");
            if files.contains(&shared) {
                return Ok(Some(shared));
            }
        }
        Ok(None)
    }

    fn event_attr(&self, ty: EventType, dir: EventDirection, item: &str) -> Result<String> {
        self.event_attr_name(ty, dir, item)?
            .ok_or_else(|| Error::NoAttribute {
                owner: format!("events of channel {} of {}", self.id(), self.device().id()),
                attr: format!(
                    "{}_{}_{item}",
                    ty.sysfs_name().unwrap_or("?"),
                    dir.sysfs_name().unwrap_or("?")
                ),
            })
    }

    /// Enables or disables an event of this channel (`..._en`).
    pub fn set_event_enabled(&self, ty: EventType, dir: EventDirection, on: bool) -> Result<()> {
        let name = self.event_attr(ty, dir, "en")?;
        self.device()
            .event_attr_write_str(&name, if on { "1" } else { "0" })
    }

    /// Whether an event of this channel is enabled.
    pub fn is_event_enabled(&self, ty: EventType, dir: EventDirection) -> Result<bool> {
        let name = self.event_attr(ty, dir, "en")?;
        Ok(self.device().event_attr_read_str(&name)?.trim() == "1")
    }

    /// Reads an event item of this channel (`value`, `hysteresis` ...) as text.
    pub fn event_attr_read_str(
        &self,
        ty: EventType,
        dir: EventDirection,
        item: &str,
    ) -> Result<String> {
        let name = self.event_attr(ty, dir, item)?;
        self.device().event_attr_read_str(&name)
    }

    /// Writes an event item of this channel (e.g. the threshold `value`).
    pub fn event_attr_write_str(
        &self,
        ty: EventType,
        dir: EventDirection,
        item: &str,
        value: &str,
    ) -> Result<()> {
        let name = self.event_attr(ty, dir, item)?;
        self.device().event_attr_write_str(&name, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_event_codes() {
        // iio_evgen poke_ev0 = 0 on iio_dummy: voltage0, thresh, rising
        let e = Event::from_code(0x0001_0000_0000_0000, 42);
        assert_eq!(e.channel_type, ChannelType::Voltage);
        assert_eq!(e.event_type, EventType::Thresh);
        assert_eq!(e.direction, EventDirection::Rising);
        assert_eq!(e.modifier, Modifier::None);
        assert_eq!((e.channel, e.channel2, e.differential), (0, 0, false));
        assert_eq!(e.channel_id().as_deref(), Some("voltage0"));
        assert_eq!(
            e.to_string(),
            "time: 42, channel: voltage0, type: thresh, direction: rising"
        );
        // activity running (modifier 27), thresh rising
        let e = Event::from_code((19 << 32) | (27 << 40) | (1 << 48), 0);
        assert_eq!(e.channel_id().as_deref(), Some("activity_running"));
        // steps change, direction none, no channel number (-1)
        let e = Event::from_code((20 << 32) | (3 << 48) | (5 << 56) | 0xffff, 0);
        assert_eq!(e.event_type, EventType::Change);
        assert_eq!(e.direction, EventDirection::None);
        assert_eq!(e.channel, -1);
        assert_eq!(e.channel_id().as_deref(), Some("steps"));
        // differential voltage1-voltage2, falling, mag
        let e = Event::from_code((1 << 56) | (1 << 55) | (2 << 48) | (2 << 16) | 1, 0);
        assert!(e.differential);
        assert_eq!(e.event_type, EventType::Mag);
        assert_eq!(e.channel_id().as_deref(), Some("voltage1-voltage2"));
        // unknown numbers are kept
        let e = Event::from_code((200 << 32) | (99 << 56), 0);
        assert_eq!(e.channel_type, ChannelType::Unknown(200));
        assert_eq!(e.event_type, EventType::Unknown(99));
        assert_eq!(e.channel_id(), None);
    }
}
