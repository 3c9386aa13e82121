//! Captures scans from a device through a trigger and prints each channel's values in
//! physical units, with the timestamps. The device is restored when the buffer drops.
//!
//! `cargo run --example capture_buffer -- dummy0 trig0 8` (as root, on a machine with
//! `iio_dummy` and an hrtimer trigger: see `tests/kernel/README.md`)

use std::time::Duration;

fn main() -> Result<(), ferroio::Error> {
    let mut args = std::env::args().skip(1);
    let device = args.next().unwrap_or_else(|| "iio:device0".into());
    let trigger = args.next().unwrap_or_else(|| "trig0".into());
    let samples: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);

    let ctx = ferroio::Context::new()?;
    let dev = ctx.get_device(&device)?;
    let trig = ctx.get_device(&trigger)?;
    let mut buf = dev
        .buffer_builder()
        .all_channels(false)
        .samples(samples)
        .trigger(Some(&trig))
        .timeout(Some(Duration::from_secs(5)))
        .build()?;
    let scans = buf.refill()?;
    println!("{scans} scans of {} bytes", buf.scan_bytes());
    for ch in dev.channels().filter(|c| c.is_scan_element()) {
        if ch.channel_type() == ferroio::ChannelType::Timestamp {
            let ts: Vec<i64> = buf.timestamps()?.collect();
            println!("{:>20}: {ts:?}", ch.id());
        } else {
            println!("{:>20}: {:?}", ch.id(), ch.read_converted(&buf)?);
        }
    }
    Ok(())
}
