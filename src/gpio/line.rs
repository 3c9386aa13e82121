//! Line vocabulary shared by info and requests: direction, bias, drive, edges, event clock,
//! values, and [`LineInfo`] decoded from the kernel's v1 or v2 structs.
//!
//! The decoding functions here are pure (struct in, value out) and tested without a kernel.
//! Flag bits the kernel sets that this crate does not know are ignored, never an error.

use std::time::Duration;

use super::uapi;

/// Which way a line goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The line is read.
    Input,
    /// The line is driven.
    Output,
}

/// Internal bias (pull resistor) of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bias {
    /// Pull-up resistor enabled.
    PullUp,
    /// Pull-down resistor enabled.
    PullDown,
    /// Bias explicitly disabled.
    Disabled,
}

/// How an output line is driven.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Drive {
    /// Driven both high and low (the default).
    #[default]
    PushPull,
    /// Driven low only; high is left floating.
    OpenDrain,
    /// Driven high only; low is left floating.
    OpenSource,
}

/// Which edges of an input line produce events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EdgeDetection {
    /// Inactive to active transitions.
    Rising,
    /// Active to inactive transitions.
    Falling,
    /// Both.
    Both,
}

/// The clock edge event timestamps are taken from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EventClock {
    /// `CLOCK_MONOTONIC` (the kernel's default).
    #[default]
    Monotonic,
    /// `CLOCK_REALTIME` (Linux 5.11+).
    Realtime,
    /// The hardware timestamp engine (Linux 5.19+, only on some hardware).
    Hte,
}

/// The logical value of a line: active or not, after active-low inversion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Value {
    /// Inactive (0).
    #[default]
    Inactive,
    /// Active (1).
    Active,
}

impl Value {
    /// 1 for active, 0 for inactive.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl std::ops::Not for Value {
    type Output = Value;

    /// `Active` becomes `Inactive` and the other way round.
    fn not(self) -> Value {
        match self {
            Value::Active => Value::Inactive,
            Value::Inactive => Value::Active,
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        if b {
            Value::Active
        } else {
            Value::Inactive
        }
    }
}

impl From<Value> for bool {
    fn from(v: Value) -> Self {
        v == Value::Active
    }
}

impl From<Value> for u8 {
    fn from(v: Value) -> Self {
        v as u8
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", *self as u8)
    }
}

/// What the kernel reports about one line of a chip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// Offset of the line on its chip.
    pub offset: u32,
    /// Line name (from the device tree, ACPI or the driver), empty if none.
    pub name: String,
    /// Who requested the line, empty if nobody (or a nameless consumer).
    pub consumer: String,
    /// The line is in use, by the kernel or by user space.
    pub used: bool,
    /// Input or output.
    pub direction: Direction,
    /// Values are inverted (active means low).
    pub active_low: bool,
    /// Bias, if the kernel knows one was set.
    pub bias: Option<Bias>,
    /// Drive mode.
    pub drive: Drive,
    /// Edge detection enabled by the current consumer (always `None` through uAPI v1).
    pub edge_detection: Option<EdgeDetection>,
    /// Clock of edge event timestamps (always monotonic through uAPI v1).
    pub event_clock: EventClock,
    /// Debounce period, if one is set (never through uAPI v1).
    pub debounce_period: Option<Duration>,
}

impl LineInfo {
    /// Decodes `struct gpio_v2_line_info`.
    pub fn from_v2(info: &uapi::GpioV2LineInfo) -> Self {
        let f = info.flags;
        let debounce_period = info
            .attrs
            .iter()
            .take((info.num_attrs as usize).min(uapi::NUM_ATTRS_MAX))
            .find(|a| a.id == uapi::V2_ATTR_ID_DEBOUNCE)
            .map(|a| Duration::from_micros(a.debounce_period_us().into()))
            .filter(|d| !d.is_zero());
        LineInfo {
            offset: info.offset,
            name: uapi::name_str(&info.name),
            consumer: uapi::name_str(&info.consumer),
            used: f & uapi::V2_FLAG_USED != 0,
            direction: if f & uapi::V2_FLAG_OUTPUT != 0 {
                Direction::Output
            } else {
                Direction::Input
            },
            active_low: f & uapi::V2_FLAG_ACTIVE_LOW != 0,
            bias: bias_from_bits(
                f & uapi::V2_FLAG_BIAS_PULL_UP != 0,
                f & uapi::V2_FLAG_BIAS_PULL_DOWN != 0,
                f & uapi::V2_FLAG_BIAS_DISABLED != 0,
            ),
            drive: drive_from_bits(
                f & uapi::V2_FLAG_OPEN_DRAIN != 0,
                f & uapi::V2_FLAG_OPEN_SOURCE != 0,
            ),
            edge_detection: match (
                f & uapi::V2_FLAG_EDGE_RISING != 0,
                f & uapi::V2_FLAG_EDGE_FALLING != 0,
            ) {
                (true, true) => Some(EdgeDetection::Both),
                (true, false) => Some(EdgeDetection::Rising),
                (false, true) => Some(EdgeDetection::Falling),
                (false, false) => None,
            },
            event_clock: if f & uapi::V2_FLAG_EVENT_CLOCK_HTE != 0 {
                EventClock::Hte
            } else if f & uapi::V2_FLAG_EVENT_CLOCK_REALTIME != 0 {
                EventClock::Realtime
            } else {
                EventClock::Monotonic
            },
            debounce_period,
        }
    }

    /// Decodes v1's `struct gpioline_info`.
    pub fn from_v1(info: &uapi::GpiolineInfo) -> Self {
        let f = info.flags;
        LineInfo {
            offset: info.line_offset,
            name: uapi::name_str(&info.name),
            consumer: uapi::name_str(&info.consumer),
            used: f & uapi::V1_LINE_FLAG_KERNEL != 0,
            direction: if f & uapi::V1_LINE_FLAG_IS_OUT != 0 {
                Direction::Output
            } else {
                Direction::Input
            },
            active_low: f & uapi::V1_LINE_FLAG_ACTIVE_LOW != 0,
            bias: bias_from_bits(
                f & uapi::V1_LINE_FLAG_BIAS_PULL_UP != 0,
                f & uapi::V1_LINE_FLAG_BIAS_PULL_DOWN != 0,
                f & uapi::V1_LINE_FLAG_BIAS_DISABLE != 0,
            ),
            drive: drive_from_bits(
                f & uapi::V1_LINE_FLAG_OPEN_DRAIN != 0,
                f & uapi::V1_LINE_FLAG_OPEN_SOURCE != 0,
            ),
            edge_detection: None,
            event_clock: EventClock::Monotonic,
            debounce_period: None,
        }
    }
}

fn bias_from_bits(up: bool, down: bool, disabled: bool) -> Option<Bias> {
    if up {
        Some(Bias::PullUp)
    } else if down {
        Some(Bias::PullDown)
    } else if disabled {
        Some(Bias::Disabled)
    } else {
        None
    }
}

fn drive_from_bits(drain: bool, source: bool) -> Drive {
    if drain {
        Drive::OpenDrain
    } else if source {
        Drive::OpenSource
    } else {
        Drive::PushPull
    }
}

/// Why a line's info changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InfoChangeKind {
    /// The line was requested.
    Requested,
    /// The line was released.
    Released,
    /// The line's configuration changed.
    Reconfigured,
}

impl InfoChangeKind {
    pub(crate) fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            uapi::LINE_CHANGED_REQUESTED => Some(Self::Requested),
            uapi::LINE_CHANGED_RELEASED => Some(Self::Released),
            uapi::LINE_CHANGED_CONFIG => Some(Self::Reconfigured),
            _ => None,
        }
    }
}

/// A change of a watched line's info, read from the chip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoChangeEvent {
    /// The line's info after the change.
    pub info: LineInfo,
    /// `CLOCK_MONOTONIC` time of the change, in nanoseconds.
    pub timestamp_ns: u64,
    /// What happened.
    pub kind: InfoChangeKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_info_decodes_all_flags() {
        let mut raw = uapi::GpioV2LineInfo::zeroed();
        raw.name = uapi::name_field("led0");
        raw.consumer = uapi::name_field("me");
        raw.offset = 3;
        raw.flags = uapi::V2_FLAG_USED
            | uapi::V2_FLAG_INPUT
            | uapi::V2_FLAG_ACTIVE_LOW
            | uapi::V2_FLAG_BIAS_PULL_DOWN
            | uapi::V2_FLAG_EDGE_RISING
            | uapi::V2_FLAG_EDGE_FALLING
            | uapi::V2_FLAG_EVENT_CLOCK_REALTIME
            | (1 << 40); // unknown bits are ignored
        raw.num_attrs = 1;
        raw.attrs[0] = uapi::GpioV2LineAttribute::debounce(5000);
        let info = LineInfo::from_v2(&raw);
        assert_eq!(info.name, "led0");
        assert_eq!(info.consumer, "me");
        assert!(info.used && info.active_low);
        assert_eq!(info.direction, Direction::Input);
        assert_eq!(info.bias, Some(Bias::PullDown));
        assert_eq!(info.edge_detection, Some(EdgeDetection::Both));
        assert_eq!(info.event_clock, EventClock::Realtime);
        assert_eq!(info.debounce_period, Some(Duration::from_millis(5)));
        assert_eq!(info.drive, Drive::PushPull);
    }

    #[test]
    fn v2_attrs_beyond_num_attrs_are_ignored() {
        let mut raw = uapi::GpioV2LineInfo::zeroed();
        raw.attrs[0] = uapi::GpioV2LineAttribute::debounce(5000);
        raw.num_attrs = 0;
        assert_eq!(LineInfo::from_v2(&raw).debounce_period, None);
        raw.num_attrs = 200; // nonsense from the kernel must not panic
        assert!(LineInfo::from_v2(&raw).debounce_period.is_some());
    }

    #[test]
    fn v1_info_decodes() {
        let mut raw = uapi::GpiolineInfo::zeroed();
        raw.line_offset = 5;
        raw.flags = uapi::V1_LINE_FLAG_KERNEL
            | uapi::V1_LINE_FLAG_IS_OUT
            | uapi::V1_LINE_FLAG_OPEN_DRAIN
            | uapi::V1_LINE_FLAG_BIAS_PULL_UP;
        raw.consumer = uapi::name_field("hog5");
        let info = LineInfo::from_v1(&raw);
        assert!(info.used);
        assert_eq!(info.direction, Direction::Output);
        assert_eq!(info.drive, Drive::OpenDrain);
        assert_eq!(info.bias, Some(Bias::PullUp));
        assert_eq!(info.consumer, "hog5");
    }

    #[test]
    fn values_convert() {
        assert_eq!(Value::from(true), Value::Active);
        assert_eq!(u8::from(Value::Active), 1);
        assert_eq!(!Value::Active, Value::Inactive);
        assert_eq!(Value::Inactive.to_string(), "0");
    }
}
