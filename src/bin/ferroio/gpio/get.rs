//! `ferroio gpio get`: like gpioget: read line values.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::{builder, print_json, resolve, BiasArg, CmdResult, Common};

/// `get`
#[derive(Args, Debug)]
pub struct GetArgs {
    /// The chip (path, gpiochipN, number or label).
    #[arg(short, long)]
    chip: Option<String>,
    /// `[CHIP] LINE...`: lines by offset or name.
    #[arg(required = true)]
    lines: Vec<String>,
    /// Active-low: print inverted values.
    #[arg(short = 'l', long)]
    active_low: bool,
    /// Bias of the lines.
    #[arg(short = 'B', long, value_enum)]
    bias: Option<BiasArg>,
    /// Read without switching the lines to input.
    #[arg(short = 'a', long)]
    as_is: bool,
    #[command(flatten)]
    common: Common,
}

pub(super) fn run(a: GetArgs) -> CmdResult {
    let (chip, offsets) = resolve(a.chip.as_deref(), &a.lines, &a.common)?;
    let mut b = builder(&chip, &a.common)
        .with_consumer("ferroio-gpioget")
        .with_lines(&offsets);
    b = if a.as_is { b.as_is() } else { b.as_input() };
    if a.active_low {
        b = b.as_active_low();
    }
    if let Some(bias) = a.bias {
        b = b.with_bias(bias.bias());
    }
    let req = b.request().map_err(|e| e.to_string())?;
    let values = req.values().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    if a.common.json {
        let values: serde_json::Map<_, _> = values
            .iter()
            .map(|(o, v)| (o.to_string(), json!(v.as_u8())))
            .collect();
        print_json(&mut out, &json!({ "chip": chip.name(), "values": values }));
    } else {
        let items: Vec<String> = values.iter().map(|(_, v)| v.to_string()).collect();
        let _ = writeln!(out, "{}", items.join(" "));
    }
    Ok(ExitCode::SUCCESS)
}
