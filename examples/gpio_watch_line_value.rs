//! Print the edges of one or more lines, with their sequence numbers.
//! Usage: `gpio_watch_line_value CHIP LINE...` (offsets).

use std::time::Duration;

use ferroio::gpio::{EdgeDetection, Request};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let chip = args.next().unwrap_or_else(|| "/dev/gpiochip0".into());
    let lines: Vec<u32> = args.filter_map(|a| a.parse().ok()).collect();
    let request = Request::builder()
        .on_chip(chip)
        .with_consumer("watch-line-value")
        .with_lines(&lines)
        .with_edge_detection(EdgeDetection::Both)
        .with_debounce_period(Duration::from_millis(1))
        .request()?;
    for event in request.edge_events() {
        let e = event?;
        println!(
            "line {:>3} {:?} seqno {} (line seqno {}) at {} ns",
            e.offset, e.kind, e.seqno, e.line_seqno, e.timestamp_ns
        );
    }
    Ok(())
}
