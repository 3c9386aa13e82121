//! `ferroio gpio mon`: like gpiomon: print edge events of input lines.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ferroio::gpio::{EdgeDetection, EdgeKind, EventClock};
use serde_json::json;

use super::{builder, print_json, resolve, BiasArg, ClockArg, CmdResult, Common};

/// `mon`
#[derive(Args, Debug)]
pub struct MonArgs {
    /// The chip (path, gpiochipN, number or label).
    #[arg(short, long)]
    chip: Option<String>,
    /// `[CHIP] LINE...`: lines by offset or name.
    #[arg(required = true)]
    lines: Vec<String>,
    /// Exit after this many events.
    #[arg(short, long)]
    num_events: Option<u64>,
    /// Only rising edges.
    #[arg(short, long)]
    rising_edge: bool,
    /// Only falling edges.
    #[arg(short, long)]
    falling_edge: bool,
    /// Active-low: edges are inverted.
    #[arg(short = 'l', long)]
    active_low: bool,
    /// Bias of the lines.
    #[arg(short = 'B', long, value_enum)]
    bias: Option<BiasArg>,
    /// Debounce period in microseconds.
    #[arg(short = 'p', long)]
    debounce_us: Option<u64>,
    /// Clock of the timestamps.
    #[arg(short = 'E', long, value_enum)]
    event_clock: Option<ClockArg>,
    /// Print nothing (useful with --num-events to wait for edges).
    #[arg(short, long)]
    silent: bool,
    /// Consumer label shown for the lines.
    #[arg(short = 'C', long, default_value = "ferroio-gpiomon")]
    consumer: String,
    #[command(flatten)]
    common: Common,
}

pub(super) fn run(a: MonArgs) -> CmdResult {
    let (chip, offsets) = resolve(a.chip.as_deref(), &a.lines, &a.common)?;
    let edges = match (a.rising_edge, a.falling_edge) {
        (true, false) => EdgeDetection::Rising,
        (false, true) => EdgeDetection::Falling,
        _ => EdgeDetection::Both,
    };
    let mut b = builder(&chip, &a.common)
        .with_consumer(&a.consumer)
        .with_lines(&offsets)
        .with_edge_detection(edges);
    if a.active_low {
        b = b.as_active_low();
    }
    if let Some(bias) = a.bias {
        b = b.with_bias(bias.bias());
    }
    if let Some(us) = a.debounce_us {
        b = b.with_debounce_period(Duration::from_micros(us));
    }
    if let Some(c) = a.event_clock {
        b = b.with_event_clock(match c {
            ClockArg::Monotonic => EventClock::Monotonic,
            ClockArg::Realtime => EventClock::Realtime,
            ClockArg::Hte => EventClock::Hte,
        });
    }
    let req = b.request().map_err(|e| e.to_string())?;
    if a.num_events == Some(0) {
        return Ok(ExitCode::SUCCESS);
    }
    for (i, ev) in (1u64..).zip(req.edge_events()) {
        let ev = ev.map_err(|e| e.to_string())?;
        if !a.silent {
            let mut out = std::io::stdout().lock();
            let (s, ns) = (
                ev.timestamp_ns / 1_000_000_000,
                ev.timestamp_ns % 1_000_000_000,
            );
            if a.common.json {
                let edge = if ev.kind == EdgeKind::Rising {
                    "rising"
                } else {
                    "falling"
                };
                print_json(
                    &mut out,
                    &json!({
                        "chip": chip.name(),
                        "offset": ev.offset,
                        "edge": edge,
                        "timestamp_ns": ev.timestamp_ns,
                        "seqno": ev.seqno,
                        "line_seqno": ev.line_seqno,
                    }),
                );
            } else {
                let kind = match ev.kind {
                    EdgeKind::Rising => " RISING EDGE",
                    EdgeKind::Falling => "FALLING EDGE",
                };
                let _ = writeln!(
                    out,
                    "event: {kind} offset: {} timestamp: [{s:>8}.{ns:09}]",
                    ev.offset
                );
            }
            let _ = out.flush();
        }
        if a.num_events.is_some_and(|n| i >= n) {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
