//! `ferroio gpio notify`: like gpionotify: print requests, releases and reconfigurations of lines.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use ferroio::gpio::InfoChangeKind;
use serde_json::json;

use super::info::info_json;
use super::{print_json, resolve, CmdResult, Common};

/// `notify`
#[derive(Args, Debug)]
pub struct NotifyArgs {
    /// The chip (path, gpiochipN, number or label).
    #[arg(short, long)]
    chip: Option<String>,
    /// `[CHIP] LINE...`: lines by offset or name.
    #[arg(required = true)]
    lines: Vec<String>,
    /// Exit after this many events.
    #[arg(short, long)]
    num_events: Option<u64>,
    #[command(flatten)]
    common: Common,
}

pub(super) fn run(a: NotifyArgs) -> CmdResult {
    let (chip, offsets) = resolve(a.chip.as_deref(), &a.lines, &a.common)?;
    for &o in &offsets {
        chip.watch_line_info(o).map_err(|e| e.to_string())?;
    }
    if a.num_events == Some(0) {
        return Ok(ExitCode::SUCCESS);
    }
    for (i, ev) in (1u64..).zip(chip.info_changes()) {
        let ev = ev.map_err(|e| e.to_string())?;
        let kind = match ev.kind {
            InfoChangeKind::Requested => "requested",
            InfoChangeKind::Released => "released",
            InfoChangeKind::Reconfigured => "reconfigured",
        };
        let mut out = std::io::stdout().lock();
        if a.common.json {
            print_json(
                &mut out,
                &json!({
                    "chip": chip.name(),
                    "offset": ev.info.offset,
                    "event": kind,
                    "timestamp_ns": ev.timestamp_ns,
                    "info": info_json(&ev.info),
                }),
            );
        } else {
            let (s, ns) = (
                ev.timestamp_ns / 1_000_000_000,
                ev.timestamp_ns % 1_000_000_000,
            );
            let name = if ev.info.name.is_empty() {
                "unnamed".to_string()
            } else {
                format!("\"{}\"", ev.info.name)
            };
            let _ = writeln!(
                out,
                "{s}.{ns:09} {kind} {} {name} consumer=\"{}\"",
                ev.info.offset, ev.info.consumer
            );
        }
        let _ = out.flush();
        if a.num_events.is_some_and(|n| i >= n) {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
