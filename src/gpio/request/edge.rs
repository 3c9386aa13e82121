//! Edge events: what the kernel reports ([`EdgeEvent`]), reading them one at a time, in
//! batches ([`EdgeEventBuffer`]) or as a blocking iterator ([`EdgeEvents`]).

use std::os::fd::AsFd;
use std::time::Duration;

use super::Request;
use crate::gpio::error::{Error, Result};
use crate::gpio::{uapi, AbiVersion};

impl Request {
    /// Bytes of one edge event record as the kernel writes it for this request.
    #[inline]
    pub fn edge_event_size(&self) -> usize {
        match self.abi {
            AbiVersion::V2 => std::mem::size_of::<uapi::GpioV2LineEvent>(),
            AbiVersion::V1 => std::mem::size_of::<uapi::GpioeventData>(),
        }
    }

    /// Waits for an edge event to be readable, at most `timeout` (`None`: forever). Returns
    /// whether one is.
    pub fn wait_edge_event(&self, timeout: Option<Duration>) -> Result<bool> {
        crate::gpio::wait_readable(self.fd.as_fd(), timeout).map_err(|e| self.err(None, "poll", e))
    }

    /// Whether an edge event can be read now, without blocking.
    pub fn has_edge_event(&self) -> Result<bool> {
        self.wait_edge_event(Some(Duration::ZERO))
    }

    /// Reads one edge event, blocking until there is one.
    #[inline]
    pub fn read_edge_event(&self) -> Result<EdgeEvent> {
        if self.abi == AbiVersion::V2 {
            // One read into a stack buffer, decoded in place. Anything unusual (a signal, a
            // non-blocking fd with nothing queued, an error) takes the general path, which
            // reads again: a failed read consumed nothing.
            let mut buf = [0u8; std::mem::size_of::<uapi::GpioV2LineEvent>()];
            if let Ok(n) = uapi::read_events(&self.fd, &mut buf) {
                // Whole record or not (no slicing: one comparison fewer per event).
                return if n == buf.len() {
                    self.decode_v2_event(&buf)
                } else {
                    Err(self.short_event(n))
                };
            }
        }
        self.read_edge_event_blocking()
    }

    #[inline(never)]
    fn read_edge_event_blocking(&self) -> Result<EdgeEvent> {
        let mut buf = [0u8; std::mem::size_of::<uapi::GpioV2LineEvent>()];
        let size = self.edge_event_size();
        let n = crate::gpio::read_blocking(self.fd.as_fd(), &mut buf[..size])
            .map_err(|e| self.err(None, "read", e))?;
        self.decode_event(&buf[..n])
    }

    /// Reads as many edge events as are queued and fit in `buffer` (at least one: blocks until
    /// there is one). Returns how many were read; iterate them with [`EdgeEventBuffer::iter`].
    pub fn read_edge_events(&self, buffer: &mut EdgeEventBuffer) -> Result<usize> {
        let size = self.edge_event_size();
        buffer.prepare(size);
        let n = crate::gpio::read_blocking(self.fd.as_fd(), &mut buffer.bytes)
            .map_err(|e| self.err(None, "read", e))?;
        self.fill_buffer(buffer, n)
    }

    pub(crate) fn fill_buffer(&self, buffer: &mut EdgeEventBuffer, n: usize) -> Result<usize> {
        let size = self.edge_event_size();
        if !n.is_multiple_of(size) {
            return Err(Error::UnexpectedData {
                chip: self.chip.clone(),
                call: "read",
                detail: format!("{n} bytes is not a whole number of {size}-byte events"),
            });
        }
        buffer.events.clear();
        for chunk in buffer.bytes[..n].chunks_exact(size) {
            let ev = self.decode_event(chunk)?;
            buffer.events.push(ev);
        }
        Ok(buffer.events.len())
    }

    pub(crate) fn decode_event(&self, bytes: &[u8]) -> Result<EdgeEvent> {
        match self.abi {
            AbiVersion::V2 => self.decode_v2_event(bytes),
            AbiVersion::V1 => {
                let Some(e) = uapi::GpioeventData::from_bytes(bytes) else {
                    return Err(self.short_event(bytes.len()));
                };
                self.edge_event(e.timestamp, e.id, self.offsets[0], 0, 0)
            }
        }
    }

    #[inline]
    fn decode_v2_event(&self, bytes: &[u8]) -> Result<EdgeEvent> {
        // Only the first 24 of the 48 bytes carry data; skip decoding the padding.
        let Some(e) = uapi::GpioV2LineEvent::head_from_bytes(bytes) else {
            return Err(self.short_event(bytes.len()));
        };
        self.edge_event(e.timestamp_ns, e.id, e.offset, e.seqno, e.line_seqno)
    }

    #[inline]
    fn edge_event(
        &self,
        timestamp_ns: u64,
        id: u32,
        offset: u32,
        seqno: u32,
        line_seqno: u32,
    ) -> Result<EdgeEvent> {
        // Written to become one range check and a flag, rather than a jump per edge kind.
        if id != uapi::EVENT_RISING_EDGE && id != uapi::EVENT_FALLING_EDGE {
            return Err(self.bad_event(format_args!("unknown edge event id {id}")));
        }
        let kind = if id == uapi::EVENT_RISING_EDGE {
            EdgeKind::Rising
        } else {
            EdgeKind::Falling
        };
        Ok(EdgeEvent {
            timestamp_ns,
            kind,
            offset,
            seqno,
            line_seqno,
        })
    }

    #[cold]
    #[inline(never)]
    fn short_event(&self, len: usize) -> Error {
        self.bad_event(format_args!("short edge event ({len} bytes)"))
    }

    #[cold]
    #[inline(never)]
    fn bad_event(&self, detail: std::fmt::Arguments<'_>) -> Error {
        Error::UnexpectedData {
            chip: self.chip.clone(),
            call: "read",
            detail: detail.to_string(),
        }
    }

    /// A blocking iterator over edge events (reads up to 16 at a time).
    pub fn edge_events(&self) -> EdgeEvents<'_> {
        EdgeEvents {
            request: self,
            buffer: EdgeEventBuffer::with_capacity(16),
            next: 0,
        }
    }
}

/// Which edge an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// The line became active.
    Rising,
    /// The line became inactive.
    Falling,
}

/// An edge on a requested line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EdgeEvent {
    /// When, in nanoseconds of the request's event clock.
    pub timestamp_ns: u64,
    /// Rising or falling.
    pub kind: EdgeKind,
    /// Offset of the line on the chip.
    pub offset: u32,
    /// Sequence number of this event among all lines of the request (v2; 0 under v1).
    pub seqno: u32,
    /// Sequence number of this event on its line (v2; 0 under v1).
    pub line_seqno: u32,
}

/// Room to read several edge events with one `read`; see [`Request::read_edge_events`].
#[derive(Clone, Debug)]
pub struct EdgeEventBuffer {
    capacity: usize,
    bytes: Vec<u8>,
    events: Vec<EdgeEvent>,
}

impl EdgeEventBuffer {
    /// Room for `events` events (at least one).
    pub fn with_capacity(events: usize) -> Self {
        let capacity = events.max(1);
        EdgeEventBuffer {
            capacity,
            bytes: Vec::new(),
            events: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn prepare(&mut self, event_size: usize) {
        self.bytes.resize(self.capacity * event_size, 0);
    }

    #[cfg_attr(not(feature = "async-tokio"), allow(dead_code))]
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The events of the last read.
    pub fn iter(&self) -> std::slice::Iter<'_, EdgeEvent> {
        self.events.iter()
    }

    /// The events of the last read.
    pub fn events(&self) -> &[EdgeEvent] {
        &self.events
    }

    /// Number of events of the last read.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// No events read.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// How many events fit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Blocking iterator over a request's edge events; see [`Request::edge_events`].
#[derive(Debug)]
pub struct EdgeEvents<'a> {
    request: &'a Request,
    buffer: EdgeEventBuffer,
    next: usize,
}

impl Iterator for EdgeEvents<'_> {
    type Item = Result<EdgeEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.buffer.len() {
            self.next = 0;
            if let Err(e) = self.request.read_edge_events(&mut self.buffer) {
                return Some(Err(e));
            }
        }
        let ev = self.buffer.events.get(self.next).copied();
        self.next += 1;
        ev.map(Ok)
    }
}
