//! Reads one channel in physical units: `input` when the driver gives it, otherwise
//! `(raw + offset) * scale`.
//!
//! `cargo run --example read_channel_value -- local:fixtures/iio-dummy-6.1 dummy0 voltage0`

fn main() -> Result<(), ferroio::Error> {
    let mut args = std::env::args().skip(1);
    let uri = args.next().unwrap_or_else(|| "local:".into());
    let device = args.next().unwrap_or_else(|| "iio:device0".into());
    let channel = args.next().unwrap_or_else(|| "voltage0".into());

    let ctx = ferroio::Context::from_uri(&uri)?;
    let dev = ctx.get_device(&device)?;
    let ch = dev.get_channel(&channel, false)?;
    println!("{} {}: {}", dev.id(), ch.id(), ch.read_value()?);
    Ok(())
}
