//! `ferroio gpio set`: like gpioset: drive lines and hold them.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ferroio::gpio::{Drive, Value};
use serde_json::json;

use super::{builder, print_json, resolve, BiasArg, CmdResult, Common, DriveArg};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum SetMode {
    /// Set and exit at once (the lines may revert).
    Exit,
    /// Hold until Enter is pressed.
    Wait,
    /// Hold for --sec/--usec.
    Time,
    /// Hold until interrupted (Ctrl-C, SIGTERM).
    Signal,
}

/// `set`
#[derive(Args, Debug)]
pub struct SetArgs {
    /// The chip (path, gpiochipN, number or label).
    #[arg(short, long)]
    chip: Option<String>,
    /// `[CHIP] LINE=VALUE...`: lines by offset or name, values 0/1 (also active/inactive, on/off).
    #[arg(required = true)]
    assignments: Vec<String>,
    /// Active-low: values are inverted.
    #[arg(short = 'l', long)]
    active_low: bool,
    /// Bias of the lines.
    #[arg(short = 'B', long, value_enum)]
    bias: Option<BiasArg>,
    /// Drive mode of the lines.
    #[arg(short = 'D', long, value_enum)]
    drive: Option<DriveArg>,
    /// What to do after setting (default: hold the lines until interrupted).
    #[arg(short, long, value_enum, default_value = "signal")]
    mode: SetMode,
    /// Seconds to hold the lines (mode time).
    #[arg(short, long, default_value_t = 0)]
    sec: u64,
    /// Microseconds to hold the lines (mode time).
    #[arg(short, long, default_value_t = 0)]
    usec: u64,
    /// Consumer label shown for the lines.
    #[arg(short = 'C', long, default_value = "ferroio-gpioset")]
    consumer: String,
    #[command(flatten)]
    common: Common,
}

fn parse_value(s: &str) -> Result<Value, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "active" | "on" | "true" | "high" => Ok(Value::Active),
        "0" | "inactive" | "off" | "false" | "low" => Ok(Value::Inactive),
        _ => Err(format!("invalid value {s:?}: use 0 or 1")),
    }
}

pub(super) fn run(a: SetArgs) -> CmdResult {
    let (chip, offsets) = resolve(a.chip.as_deref(), &a.assignments, &a.common)?;
    let assigns: Vec<&String> = a.assignments.iter().filter(|s| s.contains('=')).collect();
    if assigns.len() != offsets.len() {
        return Err("every line needs a value: LINE=VALUE".into());
    }
    let mut b = builder(&chip, &a.common).with_consumer(&a.consumer);
    for (o, s) in offsets.iter().zip(&assigns) {
        let v = parse_value(s.split_once('=').map(|x| x.1).unwrap_or(""))?;
        b = b.with_line(*o).as_output(v);
    }
    b = b.with_lines(&offsets);
    if a.active_low {
        b = b.as_active_low();
    }
    if let Some(bias) = a.bias {
        b = b.with_bias(bias.bias());
    }
    if let Some(d) = a.drive {
        b = b.with_drive(match d {
            DriveArg::PushPull => Drive::PushPull,
            DriveArg::OpenDrain => Drive::OpenDrain,
            DriveArg::OpenSource => Drive::OpenSource,
        });
    }
    let req = b.request().map_err(|e| e.to_string())?;
    if a.common.json {
        let set: serde_json::Map<_, _> = offsets
            .iter()
            .map(|o| {
                let v = req
                    .config()
                    .line(*o)
                    .and_then(|s| s.value)
                    .unwrap_or_default();
                (o.to_string(), json!(v.as_u8()))
            })
            .collect();
        print_json(
            &mut std::io::stdout().lock(),
            &json!({ "chip": chip.name(), "set": set }),
        );
    }
    match a.mode {
        SetMode::Exit => {}
        SetMode::Wait => {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        }
        SetMode::Time => {
            std::thread::sleep(Duration::from_secs(a.sec) + Duration::from_micros(a.usec))
        }
        SetMode::Signal => loop {
            // SIGINT/SIGTERM end the process; the kernel releases the lines with its fds.
            std::thread::park();
        },
    }
    drop(req);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse() {
        assert_eq!(parse_value("1"), Ok(Value::Active));
        assert_eq!(parse_value("off"), Ok(Value::Inactive));
        assert!(parse_value("2").is_err());
    }
}
