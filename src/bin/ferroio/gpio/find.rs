//! `ferroio gpio find`: like gpiofind: the chip and offset of a line found by name.

use std::process::ExitCode;

use clap::Args;
use ferroio::gpio;
use serde_json::json;

use super::{CmdResult, Common};

/// `find`
#[derive(Args, Debug)]
pub struct FindArgs {
    /// The line name.
    name: String,
    #[command(flatten)]
    common: Common,
}

pub(super) fn run(a: FindArgs) -> CmdResult {
    match gpio::find_line(&a.name) {
        Ok(f) => {
            if a.common.json {
                let j = json!({
                    "chip": f.chip_name,
                    "offset": f.info.offset,
                    "path": f.chip.to_string_lossy(),
                });
                println!("{j}");
            } else {
                println!("{} {}", f.chip_name, f.info.offset);
            }
            Ok(ExitCode::SUCCESS)
        }
        // gpiofind exits 1 silently when nothing matches; say why on stderr anyway.
        Err(e) => Err(e.to_string()),
    }
}
