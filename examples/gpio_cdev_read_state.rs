//! gpio-cdev's README example "Read State", ported: only the import changed.
//!
//! Reads a line three times. Usage: `gpio_cdev_read_state [CHIP] [LINE]`
//! (default `/dev/gpiochip0` line 4, GPIO4 of a Raspberry Pi).

use ferroio::gpio::compat::{Chip, LineRequestFlags};

fn main() -> Result<(), ferroio::gpio::compat::Error> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "/dev/gpiochip0".into());
    let line: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(4);

    let mut chip = Chip::new(path)?;
    let handle = chip
        .get_line(line)?
        .request(LineRequestFlags::INPUT, 0, "read-input")?;
    for _ in 1..4 {
        println!("Value: {:?}", handle.get_value()?);
    }
    Ok(())
}
