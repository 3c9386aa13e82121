//! One IIO event ([`Event`]): the decoded `struct iio_event_data` (channel type, modifier,
//! event type, direction, channel numbers and timestamp). Pure decoding, no I/O.

use crate::buffer::uapi::IioEventData;
use crate::channel_type::{ChannelType, EventDirection, EventType, Modifier};
use std::fmt;

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
