//! `ferroio gpio ...`: libgpiod 1.6's tools (gpiodetect, gpioinfo, gpioget, gpioset, gpiomon,
//! gpiofind, and libgpiod 2's gpionotify) on top of `ferroio::gpio`, with `--json` output.
//!
//! Chips are named by path, `gpiochipN`, number or label; lines by offset or name. As with
//! libgpiod 1.6 the chip may come first among the positional arguments (`get gpiochip0 3`),
//! or be given with `--chip`; without either, line names are looked up on every chip.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use ferroio::gpio::{self, AbiVersion, Bias, Chip, Request};

mod detect;
mod find;
mod get;
mod info;
mod mon;
mod notify;
mod set;

/// The GPIO subcommands.
#[derive(Subcommand, Debug)]
pub enum GpioCommand {
    /// List GPIO chips, their labels and number of lines (like gpiodetect).
    Detect(detect::DetectArgs),
    /// Describe the lines of chips (like gpioinfo).
    Info(info::InfoArgs),
    /// Read line values (like gpioget).
    Get(get::GetArgs),
    /// Drive lines and hold them (like gpioset).
    Set(set::SetArgs),
    /// Print edge events of input lines (like gpiomon).
    Mon(mon::MonArgs),
    /// Print requests, releases and reconfigurations of lines (like gpionotify).
    Notify(notify::NotifyArgs),
    /// Find a line by name: prints its chip and offset (like gpiofind).
    Find(find::FindArgs),
}

/// Options shared by every subcommand.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Print JSON instead of libgpiod's text.
    #[arg(long)]
    pub(super) json: bool,
    /// Force the GPIO uAPI version (default: v2 when the kernel has it).
    #[arg(long, value_enum)]
    abi: Option<AbiArg>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub(super) enum AbiArg {
    V1,
    V2,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub(super) enum BiasArg {
    AsIs,
    Disable,
    PullDown,
    PullUp,
}

impl BiasArg {
    pub(super) fn bias(self) -> Option<Bias> {
        match self {
            BiasArg::AsIs => None,
            BiasArg::Disable => Some(Bias::Disabled),
            BiasArg::PullDown => Some(Bias::PullDown),
            BiasArg::PullUp => Some(Bias::PullUp),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub(super) enum DriveArg {
    PushPull,
    OpenDrain,
    OpenSource,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub(super) enum ClockArg {
    Monotonic,
    Realtime,
    Hte,
}

/// Runs one `ferroio gpio` subcommand.
pub fn run(cmd: GpioCommand) -> ExitCode {
    let (name, result) = match cmd {
        GpioCommand::Detect(a) => ("detect", detect::run(a)),
        GpioCommand::Info(a) => ("info", info::run(a)),
        GpioCommand::Get(a) => ("get", get::run(a)),
        GpioCommand::Set(a) => ("set", set::run(a)),
        GpioCommand::Mon(a) => ("mon", mon::run(a)),
        GpioCommand::Notify(a) => ("notify", notify::run(a)),
        GpioCommand::Find(a) => ("find", find::run(a)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferroio gpio {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(super) type CmdResult = Result<ExitCode, String>;

pub(super) fn open_chip(name: &str, common: &Common) -> Result<Chip, String> {
    let chip = Chip::find(name).map_err(|e| e.to_string())?;
    Ok(match common.abi {
        Some(AbiArg::V1) => chip.with_abi(AbiVersion::V1),
        Some(AbiArg::V2) => chip.with_abi(AbiVersion::V2),
        None => chip,
    })
}

pub(super) fn line_offset(chip: &Chip, line: &str) -> Result<u32, String> {
    match line.parse::<u32>() {
        Ok(o) => Ok(o),
        Err(_) => chip.line_offset(line).map_err(|e| e.to_string()),
    }
}

/// Splits `[CHIP] LINE...` (or uses `--chip`), and resolves lines to offsets on one chip.
pub(super) fn resolve(
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

pub(super) fn builder(chip: &Chip, common: &Common) -> gpio::RequestBuilder {
    let b = Request::builder().with_chip(chip);
    match common.abi {
        Some(AbiArg::V1) => b.with_abi(AbiVersion::V1),
        Some(AbiArg::V2) => b.with_abi(AbiVersion::V2),
        None => b,
    }
}

/// Prints one JSON document on a line of its own.
pub(super) fn print_json(out: &mut impl std::io::Write, value: &serde_json::Value) {
    let _ = writeln!(out, "{value}");
}
