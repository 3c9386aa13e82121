//! Opens the default context the way industrial-io users do: `IIOD_REMOTE=<host>` selects a
//! remote `iiod`, otherwise the local devices are used.
//!
//! `IIOD_REMOTE=192.168.2.1 cargo run --example remote_context`

fn main() {
    match ferroio::Context::new() {
        Ok(ctx) => {
            println!("context '{}': {}", ctx.name(), ctx.description());
            for dev in ctx.devices() {
                println!("  {} {}", dev.id(), dev.name().unwrap_or(""));
            }
        }
        Err(e) => {
            eprintln!("cannot open the default context: {e}");
            std::process::exit(1);
        }
    }
}
