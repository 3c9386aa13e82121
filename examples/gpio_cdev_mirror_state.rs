//! gpio-cdev's README example "Mirror State (Read/Write)", ported: only the import changed.
//!
//! Follows the edges of one line of gpiochip0 and drives another line to match.
//! Usage: `gpio_cdev_mirror_state INPUT OUTPUT` (offsets on `/dev/gpiochip0`).

use ferroio::gpio::compat::{Chip, EventRequestFlags, EventType, LineRequestFlags};

fn mirror_gpio(inputline: u32, outputline: u32) -> ferroio::gpio::compat::errors::Result<()> {
    let mut chip = Chip::new("/dev/gpiochip0")?;
    let input = chip.get_line(inputline)?;
    let output = chip.get_line(outputline)?;
    let output_handle = output.request(LineRequestFlags::OUTPUT, 0, "mirror-gpio")?;
    for event in input.events(
        LineRequestFlags::INPUT,
        EventRequestFlags::BOTH_EDGES,
        "mirror-gpio",
    )? {
        let evt = event?;
        println!("{:?}", evt);
        match evt.event_type() {
            EventType::RisingEdge => {
                output_handle.set_value(1)?;
            }
            EventType::FallingEdge => {
                output_handle.set_value(0)?;
            }
        }
    }

    Ok(())
}

fn main() -> ferroio::gpio::compat::errors::Result<()> {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let [input, output] = args[..] else {
        eprintln!("usage: gpio_cdev_mirror_state INPUT OUTPUT");
        std::process::exit(2);
    };
    mirror_gpio(input, output)
}
