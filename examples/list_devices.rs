//! Lists the devices of a context with their channels, like a short `iio_info`.
//!
//! `cargo run --example list_devices -- local:fixtures/iio-dummy-6.1`
//! (no argument: this machine's devices).

fn main() -> Result<(), ferroio::Error> {
    let uri = std::env::args().nth(1).unwrap_or_else(|| "local:".into());
    let ctx = ferroio::Context::from_uri(&uri)?;
    println!("{} devices in {}", ctx.num_devices(), ctx.name());
    for dev in ctx.devices() {
        let kind = if dev.is_trigger() {
            "trigger"
        } else {
            "device"
        };
        println!("{kind} {} ({})", dev.id(), dev.name().unwrap_or("no name"));
        for ch in dev.channels() {
            let dir = if ch.is_output() { "output" } else { "input" };
            match ch.data_format() {
                Some(Ok(fmt)) => println!("  {dir} {} [{fmt}]", ch.id()),
                _ => println!("  {dir} {}", ch.id()),
            }
        }
    }
    Ok(())
}
