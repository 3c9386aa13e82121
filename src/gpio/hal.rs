//! embedded-hal 1.0 digital traits for a requested line (feature `embedded-hal`):
//! [`Pin`] implements `InputPin`, `OutputPin` and `StatefulOutputPin`; with feature
//! `async-tokio` as well, [`AsyncPin`] implements embedded-hal-async's `Wait`.
//!
//! "High" here is the line's logical value: active, after the active-low inversion the request
//! asked for. Request the line active-high (the default) to get electrical levels.

use super::{EdgeKind, Error, Request, Result, Value};

impl embedded_hal::digital::Error for Error {
    fn kind(&self) -> embedded_hal::digital::ErrorKind {
        embedded_hal::digital::ErrorKind::Other
    }
}

/// One line of a request, as an embedded-hal pin.
#[derive(Debug)]
pub struct Pin {
    request: Request,
    offset: u32,
}

fn check_offset(request: &Request, offset: u32) -> Result<()> {
    if request.offsets().contains(&offset) {
        Ok(())
    } else {
        Err(Error::NotRequested {
            chip: request.chip_path().to_path_buf(),
            offset,
        })
    }
}

impl Pin {
    /// The line `offset` of `request`.
    pub fn new(request: Request, offset: u32) -> Result<Pin> {
        check_offset(&request, offset)?;
        Ok(Pin { request, offset })
    }

    /// The request underneath.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Gives the request back.
    pub fn into_inner(self) -> Request {
        self.request
    }
}

impl TryFrom<Request> for Pin {
    type Error = Error;

    /// A single-line request as a pin.
    fn try_from(request: Request) -> Result<Pin> {
        let offset = request.offsets()[0];
        if request.offsets().len() != 1 {
            return Err(Error::invalid(
                request.chip_path(),
                None,
                "a pin needs a single-line request (use Pin::new to pick a line)".into(),
            ));
        }
        Ok(Pin { request, offset })
    }
}

impl embedded_hal::digital::ErrorType for Pin {
    type Error = Error;
}

impl embedded_hal::digital::InputPin for Pin {
    fn is_high(&mut self) -> Result<bool> {
        Ok(self.request.value(self.offset)? == Value::Active)
    }

    fn is_low(&mut self) -> Result<bool> {
        Ok(self.request.value(self.offset)? == Value::Inactive)
    }
}

impl embedded_hal::digital::OutputPin for Pin {
    fn set_low(&mut self) -> Result<()> {
        self.request.set_value(self.offset, Value::Inactive)
    }

    fn set_high(&mut self) -> Result<()> {
        self.request.set_value(self.offset, Value::Active)
    }
}

impl embedded_hal::digital::StatefulOutputPin for Pin {
    fn is_set_high(&mut self) -> Result<bool> {
        // The kernel reads an output back as the value it drives.
        Ok(self.request.value(self.offset)? == Value::Active)
    }

    fn is_set_low(&mut self) -> Result<bool> {
        Ok(self.request.value(self.offset)? == Value::Inactive)
    }
}

/// One line of a request with edge detection, as an embedded-hal-async pin that waits without
/// blocking the tokio runtime.
#[cfg(feature = "async-tokio")]
#[derive(Debug)]
pub struct AsyncPin {
    events: super::tokio::EdgeEventStream,
    offset: u32,
}

#[cfg(feature = "async-tokio")]
impl AsyncPin {
    /// The line `offset` of `request`, which must have edge detection on that line (both
    /// edges for all `Wait` methods to work). Must be called inside a tokio runtime.
    pub fn new(request: Request, offset: u32) -> Result<AsyncPin> {
        check_offset(&request, offset)?;
        let edges = request.config().line(offset).and_then(|s| s.edge_detection);
        if edges.is_none() {
            return Err(Error::invalid(
                request.chip_path(),
                Some(offset),
                "waiting for a level or edge needs edge detection on the line".into(),
            ));
        }
        Ok(AsyncPin {
            events: super::tokio::EdgeEventStream::new(request)?,
            offset,
        })
    }

    /// The request underneath.
    pub fn request(&self) -> &Request {
        self.events.request()
    }

    fn drain(&mut self) -> Result<()> {
        while self.events.request().has_edge_event()? {
            self.events.request().read_edge_event()?;
        }
        Ok(())
    }

    async fn wait_level(&mut self, level: Value) -> Result<()> {
        loop {
            if self.events.request().value(self.offset)? == level {
                return Ok(());
            }
            self.events.next_event().await?;
        }
    }

    async fn wait_edge(&mut self, kind: Option<EdgeKind>) -> Result<()> {
        self.drain()?;
        loop {
            let ev = self.events.next_event().await?;
            if ev.offset == self.offset && kind.is_none_or(|k| k == ev.kind) {
                return Ok(());
            }
        }
    }
}

#[cfg(feature = "async-tokio")]
impl embedded_hal::digital::ErrorType for AsyncPin {
    type Error = Error;
}

#[cfg(feature = "async-tokio")]
impl embedded_hal_async::digital::Wait for AsyncPin {
    async fn wait_for_high(&mut self) -> Result<()> {
        self.wait_level(Value::Active).await
    }

    async fn wait_for_low(&mut self) -> Result<()> {
        self.wait_level(Value::Inactive).await
    }

    async fn wait_for_rising_edge(&mut self) -> Result<()> {
        self.wait_edge(Some(EdgeKind::Rising)).await
    }

    async fn wait_for_falling_edge(&mut self) -> Result<()> {
        self.wait_edge(Some(EdgeKind::Falling)).await
    }

    async fn wait_for_any_edge(&mut self) -> Result<()> {
        self.wait_edge(None).await
    }
}
