//! Find a line by name on any chip. Usage: `gpio_find_line_by_name NAME`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "led0".into());
    let found = ferroio::gpio::find_line(&name)?;
    println!(
        "{}: {} line {}",
        name,
        found.chip.display(),
        found.info.offset
    );
    Ok(())
}
