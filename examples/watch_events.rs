//! Prints a device's IIO events as they come, for ten seconds.
//!
//! `cargo run --example watch_events -- dummy0` (as root; with `iio_dummy`, make it push an
//! event with `echo 0 > /sys/bus/iio/devices/iio_evgen/poke_ev0`)

use std::time::Duration;

fn main() -> Result<(), ferroio::Error> {
    let device = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "iio:device0".into());
    let ctx = ferroio::Context::new()?;
    let mut events = ctx.get_device(&device)?.event_stream()?;
    events.set_timeout(Some(Duration::from_secs(10)));
    loop {
        match events.read() {
            Ok(Some(e)) => println!("{e}"),
            Ok(None) => {}
            Err(ferroio::Error::Timeout { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
