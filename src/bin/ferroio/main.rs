//! The `ferroio` command-line tool: libiio's `iio_info`, `iio_attr`, `iio_genxml`,
//! `iio_readdev`, `iio_writedev` and `iiod` (and libgpiod's tools under `ferroio gpio`) in
//! one static binary.

mod attr;
mod events;
mod gpio;
mod read;
mod serve;
mod stop;
mod trigger;
mod write;

use clap::{Args, Parser, Subcommand};
use ferroio::Context;
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ferroio",
    version,
    about = "Linux IIO and GPIO from the command line, without libiio or libgpiod"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Describe a context and read every attribute (like libiio's iio_info).
    Info(InfoArgs),
    /// Read or write context, device, channel, buffer or debug attributes (like iio_attr).
    Attr(attr::AttrArgs),
    /// Print a context as libiio XML (like iio_genxml).
    Xml(XmlArgs),
    /// GPIO character device tools (like libgpiod's gpiodetect, gpioinfo, gpioget ...).
    #[command(subcommand)]
    Gpio(gpio::GpioCommand),
    /// Capture scans from a device's buffer to stdout (like iio_readdev).
    Read(read::ReadArgs),
    /// Push scans from stdin to an output buffer (like iio_writedev).
    Write(write::WriteArgs),
    /// Watch a device's IIO events.
    Events(events::EventsArgs),
    /// List, create, remove, set and fire triggers.
    #[command(subcommand)]
    Trigger(trigger::TriggerCommand),
    /// Serve a context to libiio's network clients (like iiod), until SIGINT or SIGTERM.
    Serve(serve::ServeArgs),
}

/// `ferroio xml`: the context, and which libiio's XML to write.
#[derive(Args, Clone)]
struct XmlArgs {
    #[command(flatten)]
    ctx: ContextArgs,
    /// The XML of libiio 0.24 (`0`, the default: what 0.x and 1.x clients read) or of
    /// libiio 1.x (`1`: buffers, event attributes, sorted attribute lists; what 1.x's
    /// iio_genxml writes).
    #[arg(long = "format", value_name = "0|1", default_value = "0",
          value_parser = ["0", "1"])]
    format: String,
}

/// How to reach the context: shared by the IIO subcommands.
#[derive(Args, Clone)]
pub struct ContextArgs {
    /// Context URI: `local:` (default), `local:PATH` (a directory laid out like /sys),
    /// `xml:FILE`, `ip:HOST[:PORT]`.
    #[arg(short = 'u', long = "uri")]
    uri: Option<String>,
    /// Use the XML backend with this file (same as `-u xml:FILE`).
    #[arg(short = 'x', long = "xml", conflicts_with = "uri")]
    xml: Option<String>,
    /// Say on stderr how the context is reached (for `ip:`, the iiod protocol and its opcode
    /// numbering) and, for buffers, the transfer method and scan layout.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

impl ContextArgs {
    /// The URI to open.
    fn uri(&self) -> String {
        match (&self.uri, &self.xml) {
            (Some(u), _) => u.clone(),
            (None, Some(x)) => format!("xml:{x}"),
            (None, None) => "local:".to_string(),
        }
    }

    /// Opens the context, or prints libiio's one-line error.
    pub fn open(&self) -> Result<Context, ExitCode> {
        let uri = self.uri();
        let ctx = Context::from_uri(&uri).map_err(|e| {
            eprintln!("ferroio: unable to create IIO context {uri}: {e}");
            ExitCode::FAILURE
        })?;
        if self.verbose {
            match ctx.iiod_dialect() {
                Some(dialect) => eprintln!("ferroio: context {uri} (iiod): {dialect}"),
                None => eprintln!("ferroio: context {uri} ({})", ctx.name()),
            }
        }
        Ok(ctx)
    }
}

#[derive(Args)]
struct InfoArgs {
    #[command(flatten)]
    context: ContextArgs,
    /// Print JSON instead of iio_info's text.
    #[arg(long)]
    json: bool,
    /// List the contexts a scan finds (iio_info -S): `local`, `ip` (DNS-SD) or both
    /// (`local,ip`, the default).
    #[arg(short = 'S', long = "scan", num_args = 0..=1, default_missing_value = "",
          value_name = "BACKENDS", conflicts_with_all = ["uri", "xml", "auto"])]
    scan: Option<String>,
    /// Scan and use the context found when it is the only one (iio_info -a).
    #[arg(short = 'a', long = "auto", num_args = 0..=1, default_missing_value = "",
          value_name = "BACKENDS", conflicts_with_all = ["uri", "xml"])]
    auto: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Info(args) => info(args),
        Command::Attr(args) => attr::run(args),
        Command::Xml(args) => xml(args),
        Command::Gpio(cmd) => gpio::run(cmd),
        Command::Read(args) => read::run(args),
        Command::Write(args) => write::run(args),
        Command::Events(args) => events::run(args),
        Command::Trigger(cmd) => trigger::run(cmd),
        Command::Serve(args) => serve::run(args),
    }
}

/// Runs a scan for `info -S`/`-a`; `None` after printing why it failed.
fn run_scan(backends: &str) -> Option<Vec<ferroio::ContextInfo>> {
    let list = (!backends.is_empty()).then_some(backends);
    match ferroio::scan(list) {
        Ok(found) => Some(found),
        Err(e) => {
            eprintln!("Scanning for IIO contexts failed: {e}");
            None
        }
    }
}

/// iio_info's list of scan results.
fn write_scan(out: &mut impl Write, found: &[ferroio::ContextInfo]) -> std::io::Result<()> {
    if found.is_empty() {
        return writeln!(out, "No IIO context found.");
    }
    writeln!(out, "Available contexts:")?;
    for (i, c) in found.iter().enumerate() {
        writeln!(out, "\t{i}: {} [{}]", c.description, c.uri)?;
    }
    Ok(())
}

fn info(args: InfoArgs) -> ExitCode {
    let stdout = std::io::stdout();
    if let Some(backends) = &args.scan {
        let mut out = stdout.lock();
        let header = writeln!(out, "Library version: 0.24 (git tag: v0.24)")
            .and_then(|_| writeln!(out, "Compiled with backends: local xml ip usb"));
        if let Err(e) = header {
            return finish_output(Err(e));
        }
        let Some(found) = run_scan(backends) else {
            return ExitCode::FAILURE;
        };
        return finish_output(write_scan(&mut out, &found).and_then(|_| out.flush()));
    }
    let ctx = if let Some(backends) = &args.auto {
        let Some(found) = run_scan(backends) else {
            return ExitCode::FAILURE;
        };
        match found.as_slice() {
            [one] => {
                println!("Using auto-detected IIO context at URI \"{}\"", one.uri);
                match Context::from_uri(&one.uri) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("ferroio: unable to create IIO context {}: {e}", one.uri);
                        return ExitCode::FAILURE;
                    }
                }
            }
            [] => {
                // iio_info prints this one on stdout.
                println!("No IIO context found.");
                return ExitCode::FAILURE;
            }
            many => {
                eprintln!("Multiple contexts found. Please select one using --uri:");
                for (i, c) in many.iter().enumerate() {
                    eprintln!("\t{i}: {} [{}]", c.description, c.uri);
                }
                return ExitCode::FAILURE;
            }
        }
    } else {
        match args.context.open() {
            Ok(c) => c,
            Err(code) => return code,
        }
    };
    let mut out = stdout.lock();
    let result = if args.json {
        writeln!(out, "{}", ferroio::info::info_json(&ctx))
    } else {
        let mut err = std::io::stderr();
        ferroio::info::write_info(&ctx, &mut out, &mut err)
    };
    finish_output(result.and_then(|_| out.flush()))
}

fn xml(args: XmlArgs) -> ExitCode {
    let ctx = match args.ctx.open() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = if args.format == "1" {
        ctx.to_xml_v1()
    } else {
        ctx.to_xml()
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    finish_output(writeln!(out, "{text}").and_then(|_| out.flush()))
}

/// A closed pipe (`ferroio info | head`) is not an error worth a message.
pub fn finish_output(result: std::io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferroio: cannot write output: {e}");
            ExitCode::FAILURE
        }
    }
}
