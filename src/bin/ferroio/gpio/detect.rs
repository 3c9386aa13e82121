//! `ferroio gpio detect`: like gpiodetect: every chip, its label and number of lines.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use ferroio::gpio;
use serde_json::json;

use super::{print_json, CmdResult, Common};

/// `detect`
#[derive(Args, Debug)]
pub struct DetectArgs {
    #[command(flatten)]
    common: Common,
}

pub(super) fn run(a: DetectArgs) -> CmdResult {
    let chips = gpio::chips().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    if a.common.json {
        let items: Vec<_> = chips
            .iter()
            .map(|c| {
                json!({
                    "name": c.name(),
                    "label": c.label(),
                    "lines": c.num_lines(),
                    "path": c.path().to_string_lossy(),
                })
            })
            .collect();
        print_json(&mut out, &json!(items));
    } else {
        for c in &chips {
            let _ = writeln!(
                out,
                "{} [{}] ({} lines)",
                c.name(),
                c.label(),
                c.num_lines()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
