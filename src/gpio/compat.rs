//! The `gpio-cdev` crate's API on top of ferroio, so that a gpio-cdev user migrates by changing
//! `use gpio_cdev::...` into `use ferroio::gpio::compat::...`.
//!
//! The names, signatures and value conventions (`u8` values, `LineRequestFlags`,
//! `EventRequestFlags`) are gpio-cdev's; underneath, requests go through [`crate::gpio`] and
//! therefore use uAPI v2 when the kernel has it (gpio-cdev itself only speaks v1). Errors are
//! [`crate::gpio::Error`], which says which chip, line and call failed.

use std::ops::Index;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bitflags::bitflags;

use super::{Direction, Drive, EdgeDetection, EdgeKind, Request, Value};

pub use super::Error;

/// `Result` with [`Error`], as `gpio_cdev::Result`.
pub type Result<T> = std::result::Result<T, Error>;

/// gpio-cdev's `errors` module.
pub mod errors {
    pub use super::{Error, Result};
}

#[cfg(feature = "async-tokio")]
pub use self::async_handle::AsyncLineEventHandle;

bitflags! {
    /// How a line is requested (gpio-cdev's `LineRequestFlags`, the kernel's
    /// `GPIOHANDLE_REQUEST_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct LineRequestFlags: u32 {
        /// Input.
        const INPUT = 1 << 0;
        /// Output.
        const OUTPUT = 1 << 1;
        /// Active-low.
        const ACTIVE_LOW = 1 << 2;
        /// Open drain.
        const OPEN_DRAIN = 1 << 3;
        /// Open source.
        const OPEN_SOURCE = 1 << 4;
    }
}

bitflags! {
    /// Which edges to report (gpio-cdev's `EventRequestFlags`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct EventRequestFlags: u32 {
        /// Rising edges.
        const RISING_EDGE = 1 << 0;
        /// Falling edges.
        const FALLING_EDGE = 1 << 1;
        /// Both edges.
        const BOTH_EDGES = Self::RISING_EDGE.bits() | Self::FALLING_EDGE.bits();
    }
}

bitflags! {
    /// Line state reported by [`LineInfo::flags`] (the kernel's `GPIOLINE_FLAG_*`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct LineFlags: u32 {
        /// In use (by the kernel or user space).
        const KERNEL = 1 << 0;
        /// Output.
        const IS_OUT = 1 << 1;
        /// Active-low.
        const ACTIVE_LOW = 1 << 2;
        /// Open drain.
        const OPEN_DRAIN = 1 << 3;
        /// Open source.
        const OPEN_SOURCE = 1 << 4;
    }
}

/// Input or output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineDirection {
    /// Input.
    In,
    /// Output.
    Out,
}

/// Rising or falling edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Rising edge.
    RisingEdge,
    /// Falling edge.
    FallingEdge,
}

#[derive(Debug)]
struct InnerChip {
    chip: super::Chip,
}

/// A GPIO chip.
#[derive(Debug, Clone)]
pub struct Chip {
    inner: Arc<InnerChip>,
}

/// Iterator over all chips; see [`chips`].
#[derive(Debug)]
pub struct ChipIterator {
    paths: std::vec::IntoIter<PathBuf>,
}

impl Iterator for ChipIterator {
    type Item = Result<Chip>;

    fn next(&mut self) -> Option<Result<Chip>> {
        self.paths.next().map(Chip::new)
    }
}

/// Iterates over the GPIO chips of the system (`/dev/gpiochip*`).
pub fn chips() -> Result<ChipIterator> {
    Ok(ChipIterator {
        paths: super::chip_paths()?.into_iter(),
    })
}

impl Chip {
    /// Opens the chip at `path`.
    pub fn new<P: AsRef<Path>>(path: P) -> Result<Chip> {
        Ok(Chip {
            inner: Arc::new(InnerChip {
                chip: super::Chip::open(path)?,
            }),
        })
    }

    /// The path of the chip.
    pub fn path(&self) -> &Path {
        self.inner.chip.path()
    }

    /// Kernel name (`gpiochipN`).
    pub fn name(&self) -> &str {
        self.inner.chip.name()
    }

    /// Label.
    pub fn label(&self) -> &str {
        self.inner.chip.label()
    }

    /// Number of lines.
    pub fn num_lines(&self) -> u32 {
        self.inner.chip.num_lines()
    }

    /// A line of the chip.
    pub fn get_line(&mut self, offset: u32) -> Result<Line> {
        Line::new(self.inner.clone(), offset)
    }

    /// Several lines of the chip, to request together.
    pub fn get_lines(&mut self, offsets: &[u32]) -> Result<Lines> {
        let lines = offsets
            .iter()
            .map(|&o| Line::new(self.inner.clone(), o))
            .collect::<Result<Vec<_>>>()?;
        Ok(Lines { lines })
    }

    /// All lines of the chip.
    pub fn get_all_lines(&mut self) -> Result<Lines> {
        let offsets: Vec<u32> = (0..self.num_lines()).collect();
        self.get_lines(&offsets)
    }

    /// Iterator over all lines of the chip.
    pub fn lines(&self) -> LineIterator {
        LineIterator {
            chip: self.inner.clone(),
            next: 0,
        }
    }
}

/// Iterator over a chip's lines; see [`Chip::lines`].
#[derive(Debug)]
pub struct LineIterator {
    chip: Arc<InnerChip>,
    next: u32,
}

impl Iterator for LineIterator {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        (self.next < self.chip.chip.num_lines()).then(|| {
            self.next += 1;
            Line {
                chip: self.chip.clone(),
                offset: self.next - 1,
            }
        })
    }
}

/// One line of a chip, not yet requested.
#[derive(Debug, Clone)]
pub struct Line {
    chip: Arc<InnerChip>,
    offset: u32,
}

fn settings_builder(
    chip: &super::Chip,
    offsets: &[u32],
    flags: LineRequestFlags,
    consumer: &str,
) -> super::RequestBuilder {
    let mut b = Request::builder()
        .with_chip(chip)
        .with_consumer(consumer)
        .with_lines(offsets);
    if flags.contains(LineRequestFlags::OUTPUT) {
        b = b.as_output(Value::Inactive);
    } else if flags.contains(LineRequestFlags::INPUT) {
        b = b.as_input();
    }
    if flags.contains(LineRequestFlags::ACTIVE_LOW) {
        b = b.as_active_low();
    }
    if flags.contains(LineRequestFlags::OPEN_DRAIN) {
        b = b.with_drive(Drive::OpenDrain);
    } else if flags.contains(LineRequestFlags::OPEN_SOURCE) {
        b = b.with_drive(Drive::OpenSource);
    }
    b
}

impl Line {
    fn new(chip: Arc<InnerChip>, offset: u32) -> Result<Line> {
        chip.chip.check_offset(offset)?;
        Ok(Line { chip, offset })
    }

    /// Offset on the chip.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The chip.
    pub fn chip(&self) -> Chip {
        Chip {
            inner: self.chip.clone(),
        }
    }

    /// The line's info from the kernel.
    pub fn info(&self) -> Result<LineInfo> {
        let info = self.chip.chip.line_info(self.offset)?;
        Ok(LineInfo {
            line: self.clone(),
            info,
        })
    }

    /// Requests the line; `default` is the output value (non-zero: active).
    pub fn request(
        &self,
        flags: LineRequestFlags,
        default: u8,
        consumer: &str,
    ) -> Result<LineHandle> {
        let request = settings_builder(&self.chip.chip, &[self.offset], flags, consumer)
            .with_value(Value::from(default != 0))
            .request()?;
        Ok(LineHandle {
            line: self.clone(),
            flags,
            request,
        })
    }

    /// Requests the line as an input with edge events.
    pub fn events(
        &self,
        handle_flags: LineRequestFlags,
        event_flags: EventRequestFlags,
        consumer: &str,
    ) -> Result<LineEventHandle> {
        let edges = match (
            event_flags.contains(EventRequestFlags::RISING_EDGE),
            event_flags.contains(EventRequestFlags::FALLING_EDGE),
        ) {
            (true, true) => Some(EdgeDetection::Both),
            (true, false) => Some(EdgeDetection::Rising),
            (false, true) => Some(EdgeDetection::Falling),
            (false, false) => None,
        };
        let request = settings_builder(&self.chip.chip, &[self.offset], handle_flags, consumer)
            .as_input()
            .with_edge_detection(edges)
            .request()?;
        Ok(LineEventHandle {
            line: self.clone(),
            request,
        })
    }

    /// Requests the line for edge events read asynchronously (tokio).
    #[cfg(feature = "async-tokio")]
    pub fn async_events(
        &self,
        handle_flags: LineRequestFlags,
        event_flags: EventRequestFlags,
        consumer: &str,
    ) -> Result<AsyncLineEventHandle> {
        AsyncLineEventHandle::new(self.events(handle_flags, event_flags, consumer)?)
    }
}

/// Info about a line, as gpio-cdev presents it.
#[derive(Debug, Clone)]
pub struct LineInfo {
    line: Line,
    info: super::LineInfo,
}

impl LineInfo {
    /// The line.
    pub fn line(&self) -> &Line {
        &self.line
    }

    /// The state flags.
    pub fn flags(&self) -> LineFlags {
        let mut f = LineFlags::empty();
        f.set(LineFlags::KERNEL, self.info.used);
        f.set(LineFlags::IS_OUT, self.info.direction == Direction::Output);
        f.set(LineFlags::ACTIVE_LOW, self.info.active_low);
        f.set(LineFlags::OPEN_DRAIN, self.info.drive == Drive::OpenDrain);
        f.set(LineFlags::OPEN_SOURCE, self.info.drive == Drive::OpenSource);
        f
    }

    /// Line name, if it has one.
    pub fn name(&self) -> Option<&str> {
        (!self.info.name.is_empty()).then_some(self.info.name.as_str())
    }

    /// Consumer, if the line is requested with a label.
    pub fn consumer(&self) -> Option<&str> {
        (!self.info.consumer.is_empty()).then_some(self.info.consumer.as_str())
    }

    /// Input or output.
    pub fn direction(&self) -> LineDirection {
        match self.info.direction {
            Direction::Input => LineDirection::In,
            Direction::Output => LineDirection::Out,
        }
    }

    /// In use by anyone.
    pub fn is_used(&self) -> bool {
        self.info.used
    }

    /// In use (gpio-cdev's name; the kernel does not tell kernel from user space users).
    pub fn is_kernel(&self) -> bool {
        self.info.used
    }

    /// Active-low.
    pub fn is_active_low(&self) -> bool {
        self.info.active_low
    }

    /// Open drain.
    pub fn is_open_drain(&self) -> bool {
        self.info.drive == Drive::OpenDrain
    }

    /// Open source.
    pub fn is_open_source(&self) -> bool {
        self.info.drive == Drive::OpenSource
    }
}

/// A requested line (gpio-cdev's `LineHandle`).
#[derive(Debug)]
pub struct LineHandle {
    line: Line,
    flags: LineRequestFlags,
    request: Request,
}

impl LineHandle {
    /// The value: 0 or 1.
    pub fn get_value(&self) -> Result<u8> {
        Ok(self.request.value(self.line.offset)?.as_u8())
    }

    /// Drives the line: non-zero is active.
    pub fn set_value(&self, value: u8) -> Result<()> {
        self.request
            .set_value(self.line.offset, Value::from(value != 0))
    }

    /// The line.
    pub fn line(&self) -> &Line {
        &self.line
    }

    /// The flags it was requested with.
    pub fn flags(&self) -> LineRequestFlags {
        self.flags
    }

    /// The ferroio request underneath.
    pub fn request(&self) -> &Request {
        &self.request
    }
}

/// Several lines of one chip (gpio-cdev's `Lines`).
#[derive(Debug, Clone)]
pub struct Lines {
    lines: Vec<Line>,
}

impl Lines {
    /// Requests all the lines; `default` holds one output value per line.
    pub fn request(
        &self,
        flags: LineRequestFlags,
        default: &[u8],
        consumer: &str,
    ) -> Result<MultiLineHandle> {
        let Some(first) = self.lines.first() else {
            return Err(Error::NoLines {
                chip: PathBuf::new(),
            });
        };
        let chip = &first.chip.chip;
        if default.len() != self.lines.len() {
            return Err(Error::invalid(
                chip.path(),
                None,
                format!(
                    "{} default values for {} lines",
                    default.len(),
                    self.lines.len()
                ),
            ));
        }
        let offsets: Vec<u32> = self.lines.iter().map(|l| l.offset).collect();
        let mut b = settings_builder(chip, &offsets, flags, consumer);
        if flags.contains(LineRequestFlags::OUTPUT) {
            for (l, &v) in self.lines.iter().zip(default) {
                b = b.with_line(l.offset).with_value(Value::from(v != 0));
            }
        }
        Ok(MultiLineHandle {
            lines: self.clone(),
            request: b.request()?,
        })
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// No lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl Index<usize> for Lines {
    type Output = Line;

    fn index(&self, i: usize) -> &Line {
        &self.lines[i]
    }
}

/// Several requested lines (gpio-cdev's `MultiLineHandle`).
#[derive(Debug)]
pub struct MultiLineHandle {
    lines: Lines,
    request: Request,
}

impl MultiLineHandle {
    /// The values, one per line in request order.
    pub fn get_values(&self) -> Result<Vec<u8>> {
        let v = self.request.values()?;
        Ok(v.iter().map(|(_, x)| x.as_u8()).collect())
    }

    /// Drives all lines: one value per line in request order.
    pub fn set_values(&self, values: &[u8]) -> Result<()> {
        if values.len() != self.lines.len() {
            return Err(Error::invalid(
                self.request.chip_path(),
                None,
                format!("{} values for {} lines", values.len(), self.lines.len()),
            ));
        }
        let mut v = self.request.new_values();
        for (l, &x) in self.lines.lines.iter().zip(values) {
            v.set(l.offset, Value::from(x != 0));
        }
        self.request.set_values(&v)
    }

    /// Number of lines.
    pub fn num_lines(&self) -> usize {
        self.lines.len()
    }

    /// The lines.
    pub fn lines(&self) -> &Lines {
        &self.lines
    }

    /// The ferroio request underneath.
    pub fn request(&self) -> &Request {
        &self.request
    }
}

/// An edge event (gpio-cdev's `LineEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineEvent {
    timestamp: u64,
    event_type: EventType,
}

impl LineEvent {
    pub(crate) fn from_edge(e: &super::EdgeEvent) -> Self {
        LineEvent {
            timestamp: e.timestamp_ns,
            event_type: match e.kind {
                EdgeKind::Rising => EventType::RisingEdge,
                EdgeKind::Falling => EventType::FallingEdge,
            },
        }
    }

    /// Nanoseconds, `CLOCK_MONOTONIC` (Linux 5.7+) unless requested otherwise.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// Rising or falling.
    pub fn event_type(&self) -> EventType {
        self.event_type
    }
}

/// A line requested for edge events (gpio-cdev's `LineEventHandle`); iterating it blocks for
/// the next event.
#[derive(Debug)]
pub struct LineEventHandle {
    line: Line,
    request: Request,
}

impl LineEventHandle {
    /// Waits for and reads the next event.
    pub fn get_event(&mut self) -> Result<LineEvent> {
        Ok(LineEvent::from_edge(&self.request.read_edge_event()?))
    }

    /// The current value: 0 or 1.
    pub fn get_value(&self) -> Result<u8> {
        Ok(self.request.value(self.line.offset)?.as_u8())
    }

    /// The line.
    pub fn line(&self) -> &Line {
        &self.line
    }

    /// The ferroio request underneath.
    pub fn request(&self) -> &Request {
        &self.request
    }

    #[cfg_attr(not(feature = "async-tokio"), allow(dead_code))]
    pub(crate) fn into_request(self) -> (Line, Request) {
        (self.line, self.request)
    }
}

impl Iterator for LineEventHandle {
    type Item = Result<LineEvent>;

    fn next(&mut self) -> Option<Result<LineEvent>> {
        Some(self.get_event())
    }
}

macro_rules! fd_impls {
    ($($t:ty => $field:ident),*) => {$(
        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.$field.as_fd()
            }
        }
        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.$field.as_raw_fd()
            }
        }
    )*};
}

fd_impls!(LineHandle => request, MultiLineHandle => request, LineEventHandle => request);

impl AsFd for Chip {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.chip.as_fd()
    }
}

impl AsRawFd for Chip {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.chip.as_raw_fd()
    }
}

/// gpio-cdev's `AsyncLineEventHandle` (feature `async-tokio`), on top of
/// [`super::tokio::EdgeEventStream`].
#[cfg(feature = "async-tokio")]
mod async_handle {
    use super::{Line, LineEvent, LineEventHandle, Result};
    use crate::gpio::tokio::EdgeEventStream;
    use futures_core::Stream;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// gpio-cdev's `AsyncLineEventHandle`: a [`LineEventHandle`] as a [`Stream`] of
    /// [`LineEvent`]s.
    #[derive(Debug)]
    pub struct AsyncLineEventHandle {
        line: Line,
        events: EdgeEventStream,
    }

    impl AsyncLineEventHandle {
        /// Wraps an event handle. Must be called inside a tokio runtime.
        pub fn new(handle: LineEventHandle) -> Result<Self> {
            let (line, request) = handle.into_request();
            Ok(AsyncLineEventHandle {
                line,
                events: EdgeEventStream::new(request)?,
            })
        }

        /// The line.
        pub fn line(&self) -> &Line {
            &self.line
        }

        /// The current value: 0 or 1.
        pub fn get_value(&self) -> Result<u8> {
            Ok(self.events.request().value(self.line.offset())?.as_u8())
        }

        /// The next event.
        pub async fn next_event(&mut self) -> Result<LineEvent> {
            Ok(LineEvent::from_edge(&self.events.next_event().await?))
        }
    }

    impl Stream for AsyncLineEventHandle {
        type Item = Result<LineEvent>;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.get_mut()
                .events
                .poll_event(cx)
                .map(|r| Some(r.map(|e| LineEvent::from_edge(&e))))
        }
    }
}
