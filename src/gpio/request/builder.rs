//! [`RequestBuilder`]: chip, consumer, lines and their options, checked and encoded into a
//! request.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Request;
use crate::gpio::chip::Chip;
use crate::gpio::config::Config;
use crate::gpio::error::{Error, Result};
use crate::gpio::line::{Bias, Drive, EdgeDetection, EventClock, Value};
use crate::gpio::AbiVersion;

enum ChipSource {
    Path(PathBuf),
    Chip(Chip),
}

/// Builds a [`Request`]: chip, consumer, lines and their options. Options apply to the lines
/// selected most recently (`with_line`, `with_lines`), or, before any line is selected, to the
/// lines added later. The first mistake is kept and reported by [`RequestBuilder::request`].
pub struct RequestBuilder {
    chip: Option<ChipSource>,
    consumer: String,
    config: Config,
    event_buffer_size: u32,
    abi: Option<AbiVersion>,
    first_error: Option<Error>,
}

impl std::fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field(
                "chip",
                &match &self.chip {
                    Some(ChipSource::Path(p)) => Some(p.as_path()),
                    Some(ChipSource::Chip(c)) => Some(c.path()),
                    None => None,
                },
            )
            .field("consumer", &self.consumer)
            .field("config", &self.config)
            .field("event_buffer_size", &self.event_buffer_size)
            .field("abi", &self.abi)
            .finish()
    }
}

impl RequestBuilder {
    pub(super) fn new() -> Self {
        RequestBuilder {
            chip: None,
            consumer: String::new(),
            config: Config::new(),
            event_buffer_size: 0,
            abi: None,
            first_error: None,
        }
    }

    fn keep_error(&mut self, e: Error) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    fn map_config(mut self, f: impl FnOnce(Config) -> Config) -> Self {
        self.config = f(std::mem::take(&mut self.config));
        self
    }

    /// The chip, by path; it is opened by [`RequestBuilder::request`].
    pub fn on_chip(mut self, path: impl AsRef<Path>) -> Self {
        self.chip = Some(ChipSource::Path(path.as_ref().to_path_buf()));
        self
    }

    /// The chip, already open (its uAPI choice is used unless [`Self::with_abi`] overrides it).
    pub fn with_chip(mut self, chip: &Chip) -> Self {
        match chip.try_clone() {
            Ok(c) => self.chip = Some(ChipSource::Chip(c)),
            Err(e) => self.keep_error(e),
        }
        self
    }

    /// The consumer label the kernel shows for the lines (truncated to 31 bytes).
    pub fn with_consumer(mut self, consumer: &str) -> Self {
        self.consumer = consumer.to_string();
        self
    }

    /// Forces uAPI v1 or v2 for this request.
    pub fn with_abi(mut self, abi: AbiVersion) -> Self {
        self.abi = Some(abi);
        self
    }

    /// Suggested size of the kernel's edge event queue, in events (v2 only; 0 = default).
    pub fn with_event_buffer_size(mut self, events: u32) -> Self {
        self.event_buffer_size = events;
        self
    }

    /// Adds one line and selects it for the options that follow.
    pub fn with_line(self, offset: u32) -> Self {
        self.map_config(|c| c.with_line(offset))
    }

    /// Adds lines and selects them for the options that follow (repeats are kept once).
    pub fn with_lines(self, offsets: &[u32]) -> Self {
        self.map_config(|c| c.with_lines(offsets))
    }

    /// Removes a line.
    pub fn without_line(self, offset: u32) -> Self {
        self.map_config(|c| c.without_line(offset))
    }

    /// Replaces the whole line configuration.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Input.
    pub fn as_input(self) -> Self {
        self.map_config(Config::as_input)
    }

    /// Output, driven to `value` when requested.
    pub fn as_output(self, value: Value) -> Self {
        self.map_config(|c| c.as_output(value))
    }

    /// Leave the direction as it is.
    pub fn as_is(self) -> Self {
        self.map_config(Config::as_is)
    }

    /// Active-low: values are inverted.
    pub fn as_active_low(self) -> Self {
        self.map_config(|c| c.as_active_low(true))
    }

    /// Active-high (the default).
    pub fn as_active_high(self) -> Self {
        self.map_config(|c| c.as_active_low(false))
    }

    /// Bias; `None` leaves it as it is.
    pub fn with_bias(self, bias: impl Into<Option<Bias>>) -> Self {
        let bias = bias.into();
        self.map_config(|c| c.with_bias(bias))
    }

    /// Drive mode (outputs).
    pub fn with_drive(self, drive: Drive) -> Self {
        self.map_config(|c| c.with_drive(drive))
    }

    /// Edge detection (makes the lines inputs); `None` turns it off.
    pub fn with_edge_detection(self, edges: impl Into<Option<EdgeDetection>>) -> Self {
        let edges = edges.into();
        self.map_config(|c| c.with_edge_detection(edges))
    }

    /// Debounce period (makes the lines inputs; v2 only).
    pub fn with_debounce_period(self, period: Duration) -> Self {
        self.map_config(|c| c.with_debounce_period(period))
    }

    /// Clock of edge event timestamps (realtime and HTE need v2).
    pub fn with_event_clock(self, clock: EventClock) -> Self {
        self.map_config(|c| c.with_event_clock(clock))
    }

    /// Output value, leaving the direction alone.
    pub fn with_value(self, value: Value) -> Self {
        self.map_config(|c| c.with_value(value))
    }

    /// The configuration built so far.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Asks the kernel for the lines.
    pub fn request(self) -> Result<Request> {
        if let Some(e) = self.first_error {
            return Err(e);
        }
        let chip = match self.chip {
            None => return Err(Error::NoChip),
            Some(ChipSource::Chip(c)) => c,
            Some(ChipSource::Path(p)) => Chip::open(p)?,
        };
        let abi = self.abi.unwrap_or(chip.abi());
        Request::new(
            &chip,
            abi,
            &self.consumer,
            self.config,
            self.event_buffer_size,
        )
    }
}
