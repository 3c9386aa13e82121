//! Line configuration: [`LineSettings`] for one line, [`Config`] for the lines of a request, and
//! the pure functions that encode them into the kernel's v2 `gpio_v2_line_config` or v1 flags.
//!
//! A `Config` keeps lines in request order. Options apply to the lines selected most recently
//! (by [`Config::with_line`] / [`Config::with_lines`]); options given before any line is
//! selected set the defaults that lines added later start from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use super::line::{Bias, Direction, Drive, EdgeDetection, EventClock, Value};
use super::uapi;

/// The complete configuration of one line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LineSettings {
    /// Input, output, or `None` to leave the direction as it is.
    pub direction: Option<Direction>,
    /// Invert values: active means low.
    pub active_low: bool,
    /// Bias, or `None` to leave it as it is.
    pub bias: Option<Bias>,
    /// Drive mode (outputs only).
    pub drive: Drive,
    /// Edge detection (inputs only).
    pub edge_detection: Option<EdgeDetection>,
    /// Debounce period (inputs only); `Some(ZERO)` disables debouncing.
    pub debounce_period: Option<Duration>,
    /// Clock of edge event timestamps.
    pub event_clock: EventClock,
    /// Output value set when the line is requested or reconfigured as an output.
    pub value: Option<Value>,
}

impl LineSettings {
    /// The v2 flags for these settings (values and debounce go in attributes).
    pub fn v2_flags(&self) -> u64 {
        let mut f = 0;
        match self.direction {
            Some(Direction::Input) => f |= uapi::V2_FLAG_INPUT,
            Some(Direction::Output) => f |= uapi::V2_FLAG_OUTPUT,
            None => {}
        }
        if self.active_low {
            f |= uapi::V2_FLAG_ACTIVE_LOW;
        }
        f |= match self.bias {
            Some(Bias::PullUp) => uapi::V2_FLAG_BIAS_PULL_UP,
            Some(Bias::PullDown) => uapi::V2_FLAG_BIAS_PULL_DOWN,
            Some(Bias::Disabled) => uapi::V2_FLAG_BIAS_DISABLED,
            None => 0,
        };
        f |= match self.drive {
            Drive::PushPull => 0,
            Drive::OpenDrain => uapi::V2_FLAG_OPEN_DRAIN,
            Drive::OpenSource => uapi::V2_FLAG_OPEN_SOURCE,
        };
        f |= match self.edge_detection {
            Some(EdgeDetection::Rising) => uapi::V2_FLAG_EDGE_RISING,
            Some(EdgeDetection::Falling) => uapi::V2_FLAG_EDGE_FALLING,
            Some(EdgeDetection::Both) => uapi::V2_FLAG_EDGE_RISING | uapi::V2_FLAG_EDGE_FALLING,
            None => 0,
        };
        f |= match self.event_clock {
            EventClock::Monotonic => 0,
            EventClock::Realtime => uapi::V2_FLAG_EVENT_CLOCK_REALTIME,
            EventClock::Hte => uapi::V2_FLAG_EVENT_CLOCK_HTE,
        };
        f
    }

    /// The v1 handle flags for these settings, or the name of the setting v1 cannot express.
    pub fn v1_handle_flags(&self) -> Result<u32, &'static str> {
        if self.debounce_period.is_some_and(|d| !d.is_zero()) {
            return Err("debounce");
        }
        if self.event_clock != EventClock::Monotonic {
            return Err("a non-monotonic event clock");
        }
        let mut f = 0;
        match self.direction {
            Some(Direction::Input) => f |= uapi::V1_REQUEST_INPUT,
            Some(Direction::Output) => f |= uapi::V1_REQUEST_OUTPUT,
            None => {}
        }
        if self.active_low {
            f |= uapi::V1_REQUEST_ACTIVE_LOW;
        }
        f |= match self.bias {
            Some(Bias::PullUp) => uapi::V1_REQUEST_BIAS_PULL_UP,
            Some(Bias::PullDown) => uapi::V1_REQUEST_BIAS_PULL_DOWN,
            Some(Bias::Disabled) => uapi::V1_REQUEST_BIAS_DISABLE,
            None => 0,
        };
        f |= match self.drive {
            Drive::PushPull => 0,
            Drive::OpenDrain => uapi::V1_REQUEST_OPEN_DRAIN,
            Drive::OpenSource => uapi::V1_REQUEST_OPEN_SOURCE,
        };
        Ok(f)
    }

    /// The v1 event flags (0 without edge detection).
    pub fn v1_event_flags(&self) -> u32 {
        match self.edge_detection {
            Some(EdgeDetection::Rising) => uapi::V1_EVENT_REQUEST_RISING_EDGE,
            Some(EdgeDetection::Falling) => uapi::V1_EVENT_REQUEST_FALLING_EDGE,
            Some(EdgeDetection::Both) => {
                uapi::V1_EVENT_REQUEST_RISING_EDGE | uapi::V1_EVENT_REQUEST_FALLING_EDGE
            }
            None => 0,
        }
    }

    /// Checks the rules the kernel enforces, so the user gets a reason instead of `EINVAL`.
    pub fn validate(&self) -> Result<(), String> {
        let input = self.direction == Some(Direction::Input);
        let output = self.direction == Some(Direction::Output);
        if self.edge_detection.is_some() && !input {
            return Err("edge detection needs the line configured as input".into());
        }
        if self.debounce_period.is_some_and(|d| !d.is_zero()) && !input {
            return Err("a debounce period needs the line configured as input".into());
        }
        if self.drive != Drive::PushPull && !output {
            return Err(format!(
                "{} drive needs the line configured as output",
                match self.drive {
                    Drive::OpenDrain => "open-drain",
                    _ => "open-source",
                }
            ));
        }
        if self.bias.is_some() && self.direction.is_none() {
            return Err("a bias needs an explicit direction (input or output)".into());
        }
        if let Some(d) = self.debounce_period {
            if d.as_micros() > u128::from(u32::MAX) {
                return Err(format!(
                    "debounce period {d:?} exceeds u32::MAX microseconds"
                ));
            }
        }
        Ok(())
    }
}

/// The configuration of the lines of a request, in request order.
#[derive(Clone, Default)]
pub struct Config {
    base: LineSettings,
    lines: Vec<(u32, LineSettings)>,
    selected: Vec<usize>,
    /// The v2 encoding of `lines`, made when a request first needs it and dropped by every
    /// change. Clones share it, id included, until they change: equal ids mean equal configs,
    /// which lets a request recognise a configuration it applied before without comparing.
    encoded: OnceLock<EncodedV2>,
}

/// A configuration's v2 encoding; see [`Config::encoded_v2`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct EncodedV2 {
    /// Unique to one encoding run (never 0).
    pub id: u64,
    pub config: uapi::GpioV2LineConfig,
}

impl PartialEq for Config {
    fn eq(&self, other: &Self) -> bool {
        // The cached encoding follows from `lines`.
        self.base == other.base && self.lines == other.lines && self.selected == other.selected
    }
}

impl Eq for Config {}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("base", &self.base)
            .field("lines", &self.lines)
            .field("selected", &self.selected)
            .finish()
    }
}

impl Config {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `offset` (if new) and selects it alone for the options that follow.
    pub fn with_line(self, offset: u32) -> Self {
        self.with_lines(&[offset])
    }

    /// Adds the `offsets` not yet present and selects all of them for the options that follow.
    /// An offset listed twice in one call is kept once.
    pub fn with_lines(mut self, offsets: &[u32]) -> Self {
        self.changed();
        self.selected.clear();
        for &o in offsets {
            let idx = match self.lines.iter().position(|(x, _)| *x == o) {
                Some(i) => i,
                None => {
                    self.lines.push((o, self.base.clone()));
                    self.lines.len() - 1
                }
            };
            if !self.selected.contains(&idx) {
                self.selected.push(idx);
            }
        }
        self
    }

    /// Removes `offset` from the configuration.
    pub fn without_line(mut self, offset: u32) -> Self {
        self.changed();
        if let Some(i) = self.lines.iter().position(|(x, _)| *x == offset) {
            self.lines.remove(i);
            self.selected.retain(|&s| s != i);
            for s in &mut self.selected {
                if *s > i {
                    *s -= 1;
                }
            }
        }
        self
    }

    /// Every change goes through here: the cached encoding no longer holds.
    fn changed(&mut self) {
        self.encoded = OnceLock::new();
    }

    fn apply(mut self, f: impl Fn(&mut LineSettings)) -> Self {
        self.changed();
        if self.selected.is_empty() {
            f(&mut self.base);
        } else {
            for &i in &self.selected {
                f(&mut self.lines[i].1);
            }
        }
        self
    }

    /// Input.
    pub fn as_input(self) -> Self {
        self.apply(|s| {
            s.direction = Some(Direction::Input);
            s.value = None;
        })
    }

    /// Output, driven to `value` at request or reconfigure time.
    pub fn as_output(self, value: Value) -> Self {
        self.apply(|s| {
            s.direction = Some(Direction::Output);
            s.value = Some(value);
        })
    }

    /// Leave the direction as the line has it.
    pub fn as_is(self) -> Self {
        self.apply(|s| s.direction = None)
    }

    /// Active-low (values inverted) or active-high.
    pub fn as_active_low(self, active_low: bool) -> Self {
        self.apply(|s| s.active_low = active_low)
    }

    /// Bias (`None`: as it is).
    pub fn with_bias(self, bias: Option<Bias>) -> Self {
        self.apply(|s| s.bias = bias)
    }

    /// Drive mode.
    pub fn with_drive(self, drive: Drive) -> Self {
        self.apply(|s| s.drive = drive)
    }

    /// Edge detection; also makes the line an input, which the kernel requires.
    pub fn with_edge_detection(self, edges: Option<EdgeDetection>) -> Self {
        self.apply(|s| {
            s.edge_detection = edges;
            if edges.is_some() {
                s.direction = Some(Direction::Input);
                s.value = None;
            }
        })
    }

    /// Debounce period; also makes the line an input. `Duration::ZERO` disables debouncing.
    pub fn with_debounce_period(self, period: Duration) -> Self {
        self.apply(|s| {
            s.debounce_period = Some(period);
            if !period.is_zero() {
                s.direction = Some(Direction::Input);
                s.value = None;
            }
        })
    }

    /// Clock of edge event timestamps.
    pub fn with_event_clock(self, clock: EventClock) -> Self {
        self.apply(|s| s.event_clock = clock)
    }

    /// Output value, without changing the direction.
    pub fn with_value(self, value: Value) -> Self {
        self.apply(|s| s.value = Some(value))
    }

    /// Replaces the settings of the selected lines (or the defaults) wholesale.
    pub fn with_settings(self, settings: &LineSettings) -> Self {
        self.apply(|s| *s = settings.clone())
    }

    /// The lines and their settings, in request order.
    pub fn lines(&self) -> &[(u32, LineSettings)] {
        &self.lines
    }

    /// The settings of one line.
    pub fn line(&self, offset: u32) -> Option<&LineSettings> {
        self.lines
            .iter()
            .find(|(o, _)| *o == offset)
            .map(|(_, s)| s)
    }

    /// Makes `self` a copy of `other`, reusing `self`'s allocations.
    pub(crate) fn assign_from(&mut self, other: &Config) {
        self.base.clone_from(&other.base);
        self.lines.clone_from(&other.lines);
        self.selected.clone_from(&other.selected);
        self.encoded.clone_from(&other.encoded);
    }

    /// The encoding of [`Self::lines`] (in this order) for uAPI v2, made on the first call.
    #[inline]
    pub(crate) fn encoded_v2(&self) -> Result<&EncodedV2, EncodeError> {
        match self.encoded.get() {
            Some(e) => Ok(e),
            None => self.encode_v2_now(),
        }
    }

    /// The encoding if [`Self::encoded_v2`] made it and nothing changed since.
    #[inline]
    pub(crate) fn cached_v2(&self) -> Option<&EncodedV2> {
        self.encoded.get()
    }

    #[inline(never)]
    fn encode_v2_now(&self) -> Result<&EncodedV2, EncodeError> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let config = encode_v2(&self.lines)?;
        Ok(self.encoded.get_or_init(|| EncodedV2 {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            config,
        }))
    }

    /// The offsets, in request order.
    pub fn offsets(&self) -> Vec<u32> {
        self.lines.iter().map(|(o, _)| *o).collect()
    }
}

/// Why a configuration cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// One line is misconfigured.
    Line(u32, String),
    /// The whole configuration is impossible.
    Config(String),
}

/// Encodes `lines` (in request order) into the kernel's v2 line config.
///
/// The most common flag set becomes the default `flags`; every other distinct flag set, the
/// output values and each distinct debounce period take one attribute each (at most 10).
/// Allocation-free: it runs on every reconfigure.
pub(crate) fn encode_v2(
    lines: &[(u32, LineSettings)],
) -> Result<uapi::GpioV2LineConfig, EncodeError> {
    let mut cfg = uapi::GpioV2LineConfig::zeroed();
    if lines.len() > uapi::LINES_MAX {
        return Err(EncodeError::Config(format!(
            "{} lines, at most {} fit in one request",
            lines.len(),
            uapi::LINES_MAX
        )));
    }
    for (o, s) in lines {
        s.validate().map_err(|r| EncodeError::Line(*o, r))?;
    }

    // Distinct flag sets with the lines (as a mask of request indices) using each.
    // More than NUM_ATTRS_MAX + 1 of them cannot be encoded, so that bounds the table (kept
    // small: it is zeroed on every call).
    let too_many = || {
        EncodeError::Config(format!(
            "the lines need more than {} kernel attributes (distinct flag sets, output values \
             and debounce periods)",
            uapi::NUM_ATTRS_MAX
        ))
    };
    let mut groups = [(0u64, 0u64); uapi::NUM_ATTRS_MAX + 1];
    let mut ngroups = 0;
    for (i, (_, s)) in lines.iter().enumerate() {
        let f = s.v2_flags();
        match groups[..ngroups].iter_mut().find(|(g, _)| *g == f) {
            Some((_, m)) => *m |= 1 << i,
            None if ngroups == uapi::NUM_ATTRS_MAX + 1 => return Err(too_many()),
            None => {
                groups[ngroups] = (f, 1 << i);
                ngroups += 1;
            }
        }
    }
    let default_idx = groups[..ngroups]
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, m))| (m.count_ones(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i);

    let mut needed = 0usize;
    let mut push = |attr: uapi::GpioV2LineAttribute, mask: u64| {
        if needed < uapi::NUM_ATTRS_MAX {
            cfg.attrs[needed] = uapi::GpioV2LineConfigAttribute { attr, mask };
        }
        needed += 1;
    };
    for (i, &(flags, mask)) in groups[..ngroups].iter().enumerate() {
        if Some(i) != default_idx {
            let attr = uapi::GpioV2LineAttribute {
                id: uapi::V2_ATTR_ID_FLAGS,
                padding: 0,
                value: flags,
            };
            push(attr, mask);
        }
    }

    let (mut out_bits, mut out_mask) = (0u64, 0u64);
    for (i, (_, s)) in lines.iter().enumerate() {
        if s.direction == Some(Direction::Output) {
            out_mask |= 1 << i;
            if s.value == Some(Value::Active) {
                out_bits |= 1 << i;
            }
        }
    }
    if out_mask != 0 {
        let attr = uapi::GpioV2LineAttribute {
            id: uapi::V2_ATTR_ID_OUTPUT_VALUES,
            padding: 0,
            value: out_bits,
        };
        push(attr, out_mask);
    }

    let mut debounces = [(0u32, 0u64); uapi::NUM_ATTRS_MAX];
    let mut ndebounces = 0;
    for (i, (_, s)) in lines.iter().enumerate() {
        if let Some(d) = s.debounce_period {
            // validate() bounded it to u32 microseconds.
            let us = d.as_micros() as u32;
            match debounces[..ndebounces].iter_mut().find(|(p, _)| *p == us) {
                Some((_, m)) => *m |= 1 << i,
                None if ndebounces == uapi::NUM_ATTRS_MAX => return Err(too_many()),
                None => {
                    debounces[ndebounces] = (us, 1 << i);
                    ndebounces += 1;
                }
            }
        }
    }
    for &(us, mask) in &debounces[..ndebounces] {
        push(uapi::GpioV2LineAttribute::debounce(us), mask);
    }

    if needed > uapi::NUM_ATTRS_MAX {
        return Err(EncodeError::Config(format!(
            "the lines need {needed} kernel attributes (distinct flag sets, output values and \
             debounce periods), at most {} fit",
            uapi::NUM_ATTRS_MAX
        )));
    }
    cfg.flags = default_idx.map(|i| groups[i].0).unwrap_or(0);
    cfg.num_attrs = needed as u32;
    Ok(cfg)
}

/// What a v1 request looks like: one set of handle flags for all lines, event flags when edge
/// detection is on (then only one line), and the initial values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct V1Encoding {
    pub handle_flags: u32,
    pub event_flags: u32,
    pub values: [u8; uapi::LINES_MAX],
}

/// Encodes `lines` for uAPI v1, or names the feature that needs v2.
pub(crate) fn encode_v1(lines: &[(u32, LineSettings)]) -> Result<V1Encoding, V1Limit> {
    let Some((_, first)) = lines.first() else {
        return Err(V1Limit::Invalid(EncodeError::Config("no lines".into())));
    };
    for (o, s) in lines {
        s.validate()
            .map_err(|r| V1Limit::Invalid(EncodeError::Line(*o, r)))?;
    }
    let mut values = [0u8; uapi::LINES_MAX];
    for (i, (_, s)) in lines.iter().enumerate().take(uapi::LINES_MAX) {
        let same = LineSettings {
            value: first.value,
            ..s.clone()
        };
        if same != *first {
            return Err(V1Limit::Needs(
                "different settings for lines of one request",
            ));
        }
        values[i] = s.value.unwrap_or_default().as_u8();
    }
    let handle_flags = first.v1_handle_flags().map_err(|what| match what {
        "debounce" => V1Limit::Needs("debounce"),
        _ => V1Limit::Needs("a non-monotonic event clock"),
    })?;
    let event_flags = first.v1_event_flags();
    if event_flags != 0 && lines.len() > 1 {
        return Err(V1Limit::Needs(
            "edge detection on more than one line per request",
        ));
    }
    Ok(V1Encoding {
        handle_flags,
        event_flags,
        values,
    })
}

/// Why [`encode_v1`] refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum V1Limit {
    /// The configuration is invalid under any uAPI.
    Invalid(EncodeError),
    /// The feature exists only in v2.
    Needs(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_apply_to_selected_lines_and_defaults() {
        let c = Config::new()
            .as_input()
            .with_bias(Some(Bias::PullUp))
            .with_lines(&[1, 2])
            .with_line(3)
            .as_output(Value::Active)
            .with_bias(None);
        assert_eq!(c.offsets(), vec![1, 2, 3]);
        assert_eq!(c.line(1).unwrap().direction, Some(Direction::Input));
        assert_eq!(c.line(2).unwrap().bias, Some(Bias::PullUp));
        let l3 = c.line(3).unwrap();
        assert_eq!(l3.direction, Some(Direction::Output));
        assert_eq!(l3.value, Some(Value::Active));
        assert_eq!(l3.bias, None);
        let c = c.without_line(2).with_line(1).as_active_low(true);
        assert_eq!(c.offsets(), vec![1, 3]);
        assert!(c.line(1).unwrap().active_low);
    }

    #[test]
    fn encoding_is_cached_until_a_change() {
        let c = Config::new().with_line(3).as_output(Value::Active);
        assert!(c.cached_v2().is_none());
        let id = c.encoded_v2().unwrap().id;
        assert_eq!(
            c.encoded_v2().unwrap().config,
            encode_v2(c.lines()).unwrap()
        );
        // Clones share the encoding; any change drops it, and equality ignores it.
        let d = c.clone();
        assert_eq!(d.cached_v2().map(|e| e.id), Some(id));
        let d = d.with_line(3).as_input();
        assert!(d.cached_v2().is_none());
        assert_ne!(d.encoded_v2().unwrap().id, id);
        let e = Config::new().with_line(3).as_output(Value::Active);
        assert!(e.cached_v2().is_none());
        assert_eq!(e, c);
        let mut f = Config::new();
        f.assign_from(&c);
        assert_eq!(f.cached_v2().map(|e| e.id), Some(id));
        assert!(c.clone().without_line(3).cached_v2().is_none());
        assert!(c.clone().with_lines(&[3]).cached_v2().is_none());
        assert!(format!("{c:?}").starts_with("Config { base: "));
    }

    #[test]
    fn encode_v2_uniform_lines() {
        let c = Config::new()
            .with_lines(&[0, 1, 2])
            .as_output(Value::Active)
            .with_drive(Drive::OpenDrain);
        let k = encode_v2(c.lines()).unwrap();
        assert_eq!(k.flags, uapi::V2_FLAG_OUTPUT | uapi::V2_FLAG_OPEN_DRAIN);
        assert_eq!(k.num_attrs, 1);
        assert_eq!(k.attrs[0].attr.id, uapi::V2_ATTR_ID_OUTPUT_VALUES);
        assert_eq!(k.attrs[0].attr.value, 0b111);
        assert_eq!(k.attrs[0].mask, 0b111);
    }

    #[test]
    fn encode_v2_mixed_lines() {
        let c = Config::new()
            .with_lines(&[4, 5, 6])
            .as_input()
            .with_line(7)
            .as_output(Value::Inactive)
            .with_line(6)
            .with_edge_detection(Some(EdgeDetection::Both))
            .with_debounce_period(Duration::from_millis(2))
            .with_event_clock(EventClock::Realtime);
        let k = encode_v2(c.lines()).unwrap();
        assert_eq!(k.flags, uapi::V2_FLAG_INPUT); // lines 4 and 5
        let a: Vec<_> = k.attrs[..k.num_attrs as usize].to_vec();
        assert_eq!(a.len(), 4);
        assert_eq!(
            a[0].attr.value,
            uapi::V2_FLAG_INPUT
                | uapi::V2_FLAG_EDGE_RISING
                | uapi::V2_FLAG_EDGE_FALLING
                | uapi::V2_FLAG_EVENT_CLOCK_REALTIME
        );
        assert_eq!(a[0].mask, 0b0100);
        assert_eq!(a[1].attr.value, uapi::V2_FLAG_OUTPUT);
        assert_eq!(a[1].mask, 0b1000);
        assert_eq!(a[2].attr.id, uapi::V2_ATTR_ID_OUTPUT_VALUES);
        assert_eq!((a[2].attr.value, a[2].mask), (0, 0b1000));
        assert_eq!(a[3].attr.debounce_period_us(), 2000);
        assert_eq!(a[3].mask, 0b0100);
    }

    #[test]
    fn encode_v2_rejects_conflicts() {
        let out_edge = Config::new()
            .with_line(1)
            .with_edge_detection(Some(EdgeDetection::Rising))
            .as_output(Value::Active);
        // as_output after edge detection keeps the edge flag: the kernel would say EINVAL.
        assert!(matches!(
            encode_v2(out_edge.lines()),
            Err(EncodeError::Line(1, r)) if r.contains("edge detection")
        ));
        let drain_in = Config::new()
            .with_line(2)
            .as_input()
            .with_drive(Drive::OpenDrain);
        assert!(matches!(
            encode_v2(drain_in.lines()),
            Err(EncodeError::Line(2, _))
        ));
        let bias_as_is = Config::new().with_line(2).with_bias(Some(Bias::PullUp));
        assert!(matches!(
            encode_v2(bias_as_is.lines()),
            Err(EncodeError::Line(2, _))
        ));
    }

    #[test]
    fn encode_v2_too_many_attributes() {
        let mut c = Config::new();
        for o in 0..12u32 {
            c = c
                .with_line(o)
                .as_input()
                .with_debounce_period(Duration::from_micros(u64::from(o) + 1));
        }
        assert!(matches!(encode_v2(c.lines()), Err(EncodeError::Config(_))));
    }

    #[test]
    fn encode_v1_rules() {
        let c = Config::new()
            .with_lines(&[0, 1])
            .as_output(Value::Inactive)
            .with_line(1)
            .with_value(Value::Active);
        let e = encode_v1(c.lines()).unwrap();
        assert_eq!(e.handle_flags, uapi::V1_REQUEST_OUTPUT);
        assert_eq!(&e.values[..2], &[0, 1]);

        let mixed = Config::new()
            .with_line(0)
            .as_input()
            .with_line(1)
            .as_output(Value::Active);
        assert!(matches!(encode_v1(mixed.lines()), Err(V1Limit::Needs(_))));
        let debounce = Config::new()
            .with_line(0)
            .with_debounce_period(Duration::from_millis(1));
        assert_eq!(encode_v1(debounce.lines()), Err(V1Limit::Needs("debounce")));
        let edges = Config::new()
            .with_lines(&[0, 1])
            .with_edge_detection(Some(EdgeDetection::Both));
        assert!(matches!(encode_v1(edges.lines()), Err(V1Limit::Needs(_))));
        let one_edge = Config::new()
            .with_line(3)
            .with_edge_detection(Some(EdgeDetection::Falling));
        let e = encode_v1(one_edge.lines()).unwrap();
        assert_eq!(e.handle_flags, uapi::V1_REQUEST_INPUT);
        assert_eq!(e.event_flags, uapi::V1_EVENT_REQUEST_FALLING_EDGE);
    }
}
