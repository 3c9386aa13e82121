//! `ferroio gpio ...`: libgpiod 1.6's tools (gpiodetect, gpioinfo, gpioget, gpioset, gpiomon,
//! gpiofind, and libgpiod 2's gpionotify) on top of `ferroio::gpio`, with `--json` output.
//!
//! Chips are named by path, `gpiochipN`, number or label; lines by offset or name. As with
//! libgpiod 1.6 the chip may come first among the positional arguments (`get gpiochip0 3`),
//! or be given with `--chip`; without either, line names are looked up on every chip.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use ferroio::gpio::{
    self, AbiVersion, Bias, Chip, Direction, Drive, EdgeDetection, EdgeKind, EventClock,
    InfoChangeKind, LineInfo, Request, Value,
};

/// The GPIO subcommands.
#[derive(Subcommand, Debug)]
pub enum GpioCommand {
    /// List GPIO chips, their labels and number of lines (like gpiodetect).
    Detect(DetectArgs),
    /// Describe the lines of chips (like gpioinfo).
    Info(InfoArgs),
    /// Read line values (like gpioget).
    Get(GetArgs),
    /// Drive lines and hold them (like gpioset).
    Set(SetArgs),
    /// Print edge events of input lines (like gpiomon).
    Mon(MonArgs),
    /// Print requests, releases and reconfigurations of lines (like gpionotify).
    Notify(NotifyArgs),
    /// Find a line by name: prints its chip and offset (like gpiofind).
    Find(FindArgs),
}

/// Options shared by every subcommand.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Print JSON instead of libgpiod's text.
    #[arg(long)]
    json: bool,
    /// Force the GPIO uAPI version (default: v2 when the kernel has it).
    #[arg(long, value_enum)]
    abi: Option<AbiArg>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum AbiArg {
    V1,
    V2,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum BiasArg {
    AsIs,
    Disable,
    PullDown,
    PullUp,
}

impl BiasArg {
    fn bias(self) -> Option<Bias> {
        match self {
            BiasArg::AsIs => None,
            BiasArg::Disable => Some(Bias::Disabled),
            BiasArg::PullDown => Some(Bias::PullDown),
            BiasArg::PullUp => Some(Bias::PullUp),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum DriveArg {
    PushPull,
    OpenDrain,
    OpenSource,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ClockArg {
    Monotonic,
    Realtime,
    Hte,
}

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

/// `detect`
#[derive(Args, Debug)]
pub struct DetectArgs {
    #[command(flatten)]
    common: Common,
}

/// `info`
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Chips to describe (default: all).
    chips: Vec<String>,
    #[command(flatten)]
    common: Common,
}

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

/// `find`
#[derive(Args, Debug)]
pub struct FindArgs {
    /// The line name.
    name: String,
    #[command(flatten)]
    common: Common,
}

/// Runs one `ferroio gpio` subcommand.
pub fn run(cmd: GpioCommand) -> ExitCode {
    let (name, result) = match cmd {
        GpioCommand::Detect(a) => ("detect", detect(a)),
        GpioCommand::Info(a) => ("info", info(a)),
        GpioCommand::Get(a) => ("get", get(a)),
        GpioCommand::Set(a) => ("set", set(a)),
        GpioCommand::Mon(a) => ("mon", mon(a)),
        GpioCommand::Notify(a) => ("notify", notify(a)),
        GpioCommand::Find(a) => ("find", find(a)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferroio gpio {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

type CmdResult = Result<ExitCode, String>;

fn open_chip(name: &str, common: &Common) -> Result<Chip, String> {
    let chip = Chip::find(name).map_err(|e| e.to_string())?;
    Ok(match common.abi {
        Some(AbiArg::V1) => chip.with_abi(AbiVersion::V1),
        Some(AbiArg::V2) => chip.with_abi(AbiVersion::V2),
        None => chip,
    })
}

fn line_offset(chip: &Chip, line: &str) -> Result<u32, String> {
    match line.parse::<u32>() {
        Ok(o) => Ok(o),
        Err(_) => chip.line_offset(line).map_err(|e| e.to_string()),
    }
}

/// Splits `[CHIP] LINE...` (or uses `--chip`), and resolves lines to offsets on one chip.
fn resolve(
    chip: Option<&str>,
    lines: &[String],
    common: &Common,
) -> Result<(Chip, Vec<u32>), String> {
    let key = |s: &String| s.split('=').next().unwrap_or("").to_string();
    if let Some(c) = chip {
        let chip = open_chip(c, common)?;
        let offsets = lines
            .iter()
            .map(|l| line_offset(&chip, &key(l)))
            .collect::<Result<_, _>>()?;
        return Ok((chip, offsets));
    }
    if lines.len() >= 2 && !lines[0].contains('=') {
        if let Ok(chip) = open_chip(&lines[0], common) {
            let offsets = lines[1..]
                .iter()
                .map(|l| line_offset(&chip, &key(l)))
                .collect::<Result<_, _>>()?;
            return Ok((chip, offsets));
        }
    }
    // Names only: find each line on any chip; they must share one.
    let mut found_chip: Option<std::path::PathBuf> = None;
    let mut offsets = Vec::new();
    for l in lines {
        let name = key(l);
        if name.parse::<u32>().is_ok() {
            return Err(format!(
                "line {name} is an offset: give the chip first or with --chip"
            ));
        }
        let f = gpio::find_line(&name).map_err(|e| e.to_string())?;
        match &found_chip {
            Some(c) if *c != f.chip => {
                return Err(format!(
                    "lines are on different chips ({} and {}): request them separately",
                    c.display(),
                    f.chip.display()
                ))
            }
            _ => found_chip = Some(f.chip.clone()),
        }
        offsets.push(f.info.offset);
    }
    let path = found_chip.ok_or("no lines given")?;
    let chip = open_chip(&path.to_string_lossy(), common)?;
    Ok((chip, offsets))
}

fn builder(chip: &Chip, common: &Common) -> gpio::RequestBuilder {
    let b = Request::builder().with_chip(chip);
    match common.abi {
        Some(AbiArg::V1) => b.with_abi(AbiVersion::V1),
        Some(AbiArg::V2) => b.with_abi(AbiVersion::V2),
        None => b,
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn detect(a: DetectArgs) -> CmdResult {
    let chips = gpio::chips().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    if a.common.json {
        let items: Vec<String> = chips
            .iter()
            .map(|c| {
                format!(
                    "{{\"name\":{},\"label\":{},\"lines\":{},\"path\":{}}}",
                    json_str(c.name()),
                    json_str(c.label()),
                    c.num_lines(),
                    json_str(&c.path().to_string_lossy())
                )
            })
            .collect();
        let _ = writeln!(out, "[{}]", items.join(","));
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

fn info_json(l: &LineInfo) -> String {
    let opt = |s: Option<&str>| s.map(json_str).unwrap_or_else(|| "null".into());
    format!(
        "{{\"offset\":{},\"name\":{},\"consumer\":{},\"used\":{},\"direction\":\"{}\",\
         \"active_low\":{},\"bias\":{},\"drive\":\"{}\",\"edge_detection\":{},\
         \"event_clock\":\"{}\",\"debounce_period_us\":{}}}",
        l.offset,
        opt((!l.name.is_empty()).then_some(l.name.as_str())),
        opt((!l.consumer.is_empty()).then_some(l.consumer.as_str())),
        l.used,
        match l.direction {
            Direction::Input => "input",
            Direction::Output => "output",
        },
        l.active_low,
        opt(l.bias.map(|b| match b {
            Bias::PullUp => "pull-up",
            Bias::PullDown => "pull-down",
            Bias::Disabled => "disabled",
        })),
        match l.drive {
            Drive::PushPull => "push-pull",
            Drive::OpenDrain => "open-drain",
            Drive::OpenSource => "open-source",
        },
        opt(l.edge_detection.map(|e| match e {
            EdgeDetection::Rising => "rising",
            EdgeDetection::Falling => "falling",
            EdgeDetection::Both => "both",
        })),
        match l.event_clock {
            EventClock::Monotonic => "monotonic",
            EventClock::Realtime => "realtime",
            EventClock::Hte => "hte",
        },
        l.debounce_period
            .map(|d| d.as_micros().to_string())
            .unwrap_or_else(|| "null".into())
    )
}

fn info(a: InfoArgs) -> CmdResult {
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
            let ls: Vec<String> = lines.iter().map(info_json).collect();
            json_chips.push(format!(
                "{{\"name\":{},\"label\":{},\"lines\":[{}]}}",
                json_str(chip.name()),
                json_str(chip.label()),
                ls.join(",")
            ));
        } else {
            let _ = writeln!(out, "{} - {} lines:", chip.name(), chip.num_lines());
            for l in &lines {
                let _ = writeln!(out, "{}", info_text(l));
            }
        }
    }
    if a.common.json {
        let _ = writeln!(out, "[{}]", json_chips.join(","));
    }
    Ok(ExitCode::SUCCESS)
}

fn get(a: GetArgs) -> CmdResult {
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
        let items: Vec<String> = values.iter().map(|(o, v)| format!("\"{o}\":{v}")).collect();
        let _ = writeln!(
            out,
            "{{\"chip\":{},\"values\":{{{}}}}}",
            json_str(chip.name()),
            items.join(",")
        );
    } else {
        let items: Vec<String> = values.iter().map(|(_, v)| v.to_string()).collect();
        let _ = writeln!(out, "{}", items.join(" "));
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_value(s: &str) -> Result<Value, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "active" | "on" | "true" | "high" => Ok(Value::Active),
        "0" | "inactive" | "off" | "false" | "low" => Ok(Value::Inactive),
        _ => Err(format!("invalid value {s:?}: use 0 or 1")),
    }
}

fn set(a: SetArgs) -> CmdResult {
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
        let items: Vec<String> = offsets
            .iter()
            .map(|o| {
                let v = req
                    .config()
                    .line(*o)
                    .and_then(|s| s.value)
                    .unwrap_or_default();
                format!("\"{o}\":{v}")
            })
            .collect();
        println!(
            "{{\"chip\":{},\"set\":{{{}}}}}",
            json_str(chip.name()),
            items.join(",")
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

fn mon(a: MonArgs) -> CmdResult {
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
                let _ = writeln!(
                    out,
                    "{{\"chip\":{},\"offset\":{},\"edge\":\"{}\",\"timestamp_ns\":{},\"seqno\":{},\"line_seqno\":{}}}",
                    json_str(chip.name()),
                    ev.offset,
                    if ev.kind == EdgeKind::Rising { "rising" } else { "falling" },
                    ev.timestamp_ns,
                    ev.seqno,
                    ev.line_seqno
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

fn notify(a: NotifyArgs) -> CmdResult {
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
            let _ = writeln!(
                out,
                "{{\"chip\":{},\"offset\":{},\"event\":\"{kind}\",\"timestamp_ns\":{},\"info\":{}}}",
                json_str(chip.name()),
                ev.info.offset,
                ev.timestamp_ns,
                info_json(&ev.info)
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

fn find(a: FindArgs) -> CmdResult {
    match gpio::find_line(&a.name) {
        Ok(f) => {
            if a.common.json {
                println!(
                    "{{\"chip\":{},\"offset\":{},\"path\":{}}}",
                    json_str(&f.chip_name),
                    f.info.offset,
                    json_str(&f.chip.to_string_lossy())
                );
            } else {
                println!("{} {}", f.chip_name, f.info.offset);
            }
            Ok(ExitCode::SUCCESS)
        }
        // gpiofind exits 1 silently when nothing matches; say why on stderr anyway.
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpioinfo_line_format() {
        let l = LineInfo {
            offset: 5,
            name: "hog5".into(),
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
            "\tline   5:       \"hog5\"       \"hog5\"  output  active-high [used]"
        );
        assert!(info_json(&l).contains("\"consumer\":\"hog5\""));
        assert_eq!(json_str("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
    }

    #[test]
    fn values_parse() {
        assert_eq!(parse_value("1"), Ok(Value::Active));
        assert_eq!(parse_value("off"), Ok(Value::Inactive));
        assert!(parse_value("2").is_err());
    }
}
