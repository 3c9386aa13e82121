//! IIO events for users: a device's [`EventStream`] and the event configuration attributes
//! (`in_voltage0_thresh_rising_en`, `_value`, `_hysteresis` ...), on [`Device`] and
//! [`Channel`]; the event itself is [`Event`].
//!
//! Streams and event attributes are backend operations (as libiio 1.x's `open_ev` and
//! `read_ev`): the local backend opens the device's event fd (`IIO_GET_EVENT_FD_IOCTL` on
//! `/dev/iio:deviceN`) and hands it to the engine in `event_fd.rs`; a network context on a
//! libiio 1.x server reads iiod's event stream (libiio 0.24's iiod has none).

use crate::attr_loc::AttrLoc;
use crate::backend::EventSource;
use crate::buffer::cancel::CancelHandle;
pub use crate::buffer::event::Event;
use crate::channel_type::{EventDirection, EventType};
use crate::context::{Channel, Device};
use crate::error::{Error, Result};
use std::time::{Duration, Instant};

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

impl Device {
    /// Opens the device's event stream: the kernel's event fd on a local context, iiod's
    /// event stream (`CREATE_EVSTREAM`/`READ_EVENT`) on a libiio 1.x server.
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
