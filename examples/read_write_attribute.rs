//! Reads a device attribute, writes a new value and reads it back.
//!
//! `cargo run --example read_write_attribute -- local:/tmp/copy-of-a-fixture trig0 sampling_frequency 50`

fn main() -> Result<(), ferroio::Error> {
    let mut args = std::env::args().skip(1);
    let (Some(uri), Some(device), Some(attr)) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: read_write_attribute URI DEVICE ATTRIBUTE [NEW_VALUE]");
        std::process::exit(2);
    };
    let ctx = ferroio::Context::from_uri(&uri)?;
    let dev = ctx.get_device(&device)?;
    println!("{attr} = {}", dev.attr_read_str(&attr)?);
    if let Some(value) = args.next() {
        dev.attr_write(&attr, value.as_str())?;
        println!(
            "{attr} = {} (after writing {value})",
            dev.attr_read_str(&attr)?
        );
    }
    Ok(())
}
