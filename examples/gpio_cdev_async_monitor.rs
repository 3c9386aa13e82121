//! gpio-cdev's async example (monitor a line with tokio), ported: only the imports changed,
//! and `StreamExt::next` is spelled with `std::future::poll_fn` to need no extra crate.
//!
//! Usage: `gpio_cdev_async_monitor CHIP LINE` (needs feature `async-tokio`).

use std::pin::Pin;

use ferroio::gpio::compat::{AsyncLineEventHandle, Chip, EventRequestFlags, LineRequestFlags};
use futures_core::Stream;

async fn do_main(chip: String, line: u32) -> Result<(), ferroio::gpio::compat::Error> {
    let mut chip = Chip::new(chip)?;
    let line = chip.get_line(line)?;
    let mut events = AsyncLineEventHandle::new(line.events(
        LineRequestFlags::INPUT,
        EventRequestFlags::BOTH_EDGES,
        "gpioevents",
    )?)?;

    // gpio-cdev's example reads `while let Some(event) = events.next().await`.
    while let Some(event) = std::future::poll_fn(|cx| Pin::new(&mut events).poll_next(cx)).await {
        println!("{:?}", event?);
    }

    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(chip), Some(line)) = (args.next(), args.next().and_then(|l| l.parse().ok())) else {
        eprintln!("usage: gpio_cdev_async_monitor CHIP LINE");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(do_main(chip, line)) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
