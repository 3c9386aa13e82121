//! Toggle an output line every half second. Usage: `gpio_toggle_line_value CHIP LINE`.

use std::time::Duration;

use ferroio::gpio::{Request, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let chip = args.next().unwrap_or_else(|| "/dev/gpiochip0".into());
    let offset: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let request = Request::builder()
        .on_chip(chip)
        .with_consumer("toggle-line-value")
        .with_line(offset)
        .as_output(Value::Inactive)
        .request()?;
    let mut value = Value::Inactive;
    loop {
        value = !value;
        request.set_value(offset, value)?;
        println!("{offset}={value}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
