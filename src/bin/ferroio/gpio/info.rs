//! `ferroio gpio info`: like gpioinfo: every line of the chips, in libgpiod 1.6's columns.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use ferroio::gpio::{self, Bias, Chip, Direction, Drive, EdgeDetection, EventClock, LineInfo};
use serde_json::json;

use super::{open_chip, print_json, CmdResult, Common};

/// `info`
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Chips to describe (default: all).
    chips: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// libgpiod 1.6's column rule: right-align `s` in `width` columns, unless it or an earlier
/// column overflowed (then it and everything after are printed unpadded).
fn column(out: &mut String, overflowed: &mut bool, width: usize, s: &str) {
    if s.len() > width || *overflowed {
        *overflowed = true;
        out.push_str(s);
    } else {
        out.push_str(&format!("{s:>width$}"));
    }
}

/// One line of gpioinfo 1.6's output, byte for byte (trailing space included).
fn info_text(l: &LineInfo) -> String {
    let name = if l.name.is_empty() {
        "unnamed".to_string()
    } else {
        format!("\"{}\"", l.name)
    };
    let consumer = if !l.used {
        "unused".to_string()
    } else if l.consumer.is_empty() {
        "kernel".to_string()
    } else {
        format!("\"{}\"", l.consumer)
    };
    let dir = match l.direction {
        Direction::Input => "input ",
        Direction::Output => "output ",
    };
    let active = if l.active_low {
        "active-low "
    } else {
        "active-high "
    };
    let mut flags = Vec::new();
    if l.used {
        flags.push("used");
    }
    match l.drive {
        Drive::OpenDrain => flags.push("open-drain"),
        Drive::OpenSource => flags.push("open-source"),
        Drive::PushPull => {}
    }
    match l.bias {
        Some(Bias::PullUp) => flags.push("pull-up"),
        Some(Bias::PullDown) => flags.push("pull-down"),
        Some(Bias::Disabled) => flags.push("bias-disabled"),
        None => {}
    }
    let mut s = String::from("\tline ");
    let mut of = false;
    column(&mut s, &mut of, 3, &l.offset.to_string());
    s.push_str(": ");
    column(&mut s, &mut of, 12, &name);
    s.push(' ');
    column(&mut s, &mut of, 12, &consumer);
    s.push(' ');
    column(&mut s, &mut of, 8, dir);
    column(&mut s, &mut of, 13, active);
    if !flags.is_empty() {
        s.push_str(&format!("[{}]", flags.join(" ")));
    }
    s
}

/// One line as JSON (also in `notify`'s events).
pub(super) fn info_json(l: &LineInfo) -> serde_json::Value {
    json!({
        "offset": l.offset,
        "name": (!l.name.is_empty()).then_some(l.name.as_str()),
        "consumer": (!l.consumer.is_empty()).then_some(l.consumer.as_str()),
        "used": l.used,
        "direction": match l.direction {
            Direction::Input => "input",
            Direction::Output => "output",
        },
        "active_low": l.active_low,
        "bias": l.bias.map(|b| match b {
            Bias::PullUp => "pull-up",
            Bias::PullDown => "pull-down",
            Bias::Disabled => "disabled",
        }),
        "drive": match l.drive {
            Drive::PushPull => "push-pull",
            Drive::OpenDrain => "open-drain",
            Drive::OpenSource => "open-source",
        },
        "edge_detection": l.edge_detection.map(|e| match e {
            EdgeDetection::Rising => "rising",
            EdgeDetection::Falling => "falling",
            EdgeDetection::Both => "both",
        }),
        "event_clock": match l.event_clock {
            EventClock::Monotonic => "monotonic",
            EventClock::Realtime => "realtime",
            EventClock::Hte => "hte",
        },
        "debounce_period_us": l.debounce_period.map(|d| d.as_micros() as u64),
    })
}

pub(super) fn run(a: InfoArgs) -> CmdResult {
    let chips: Vec<Chip> = if a.chips.is_empty() {
        gpio::chip_paths()
            .map_err(|e| e.to_string())?
            .iter()
            .map(|p| open_chip(&p.to_string_lossy(), &a.common))
            .collect::<Result<_, _>>()?
    } else {
        a.chips
            .iter()
            .map(|c| open_chip(c, &a.common))
            .collect::<Result<_, _>>()?
    };
    let mut out = std::io::stdout().lock();
    let mut json_chips = Vec::new();
    for chip in &chips {
        let lines = chip.line_infos().map_err(|e| e.to_string())?;
        if a.common.json {
            let ls: Vec<_> = lines.iter().map(info_json).collect();
            json_chips.push(json!({
                "name": chip.name(),
                "label": chip.label(),
                "lines": ls,
            }));
        } else {
            let _ = writeln!(out, "{} - {} lines:", chip.name(), chip.num_lines());
            for l in &lines {
                let _ = writeln!(out, "{}", info_text(l));
            }
        }
    }
    if a.common.json {
        print_json(&mut out, &json!(json_chips));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpioinfo_line_format() {
        let l = LineInfo {
            offset: 5,
            name: "hog\"5".into(),
            consumer: "hog5".into(),
            used: true,
            direction: Direction::Output,
            active_low: false,
            bias: None,
            drive: Drive::PushPull,
            edge_detection: None,
            event_clock: EventClock::Monotonic,
            debounce_period: None,
        };
        assert_eq!(
            info_text(&l),
            "\tline   5:      \"hog\"5\"       \"hog5\"  output  active-high [used]"
        );
        let j = info_json(&l);
        assert_eq!(j["consumer"], "hog5");
        assert_eq!(j["name"], "hog\"5");
        assert!(j.to_string().contains(r#""name":"hog\"5""#), "{j}");
    }
}
