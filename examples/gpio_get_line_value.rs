//! Read the value of one line. Usage: `gpio_get_line_value CHIP LINE`
//! (chip by path, name, number or label; line by offset or name).

use ferroio::gpio::{Chip, Request};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(chip), Some(line)) = (args.next(), args.next()) else {
        eprintln!("usage: gpio_get_line_value CHIP LINE");
        std::process::exit(2);
    };
    let chip = Chip::find(&chip)?;
    let offset = match line.parse() {
        Ok(o) => o,
        Err(_) => chip.line_offset(&line)?,
    };
    let request = Request::builder()
        .with_chip(&chip)
        .with_consumer("get-line-value")
        .with_line(offset)
        .as_input()
        .request()?;
    println!("{}={}", offset, request.value(offset)?);
    Ok(())
}
