//! `ferroio events`: watch a device's IIO events (like the kernel's `iio_event_monitor`),
//! one line each, or JSON objects. Ctrl-C stops.

use crate::read::fail;
use crate::stop::StopOnSignal;
use crate::ContextArgs;
use clap::Args;
use ferroio::Error;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `ferroio events`.
#[derive(Args)]
pub struct EventsArgs {
    #[command(flatten)]
    context: ContextArgs,
    /// Stop after this many events (0: until Ctrl-C).
    #[arg(short = 'n', long = "count", default_value_t = 0)]
    count: u64,
    /// Give up after this many milliseconds without an event (0: wait forever).
    #[arg(short = 'T', long = "timeout", default_value_t = 0)]
    timeout: u64,
    /// One JSON object per event.
    #[arg(long)]
    json: bool,
    /// The device: id, name or label.
    device: String,
}

pub fn run(args: EventsArgs) -> ExitCode {
    let ctx = match args.context.open() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let dev = match ctx.get_device(&args.device) {
        Ok(d) => d,
        Err(e) => return fail("device", &e),
    };
    let mut events = match dev.event_stream() {
        Ok(s) => s,
        Err(e) => return fail(&format!("cannot watch the events of {}", dev.id()), &e),
    };
    events.set_timeout((args.timeout > 0).then(|| Duration::from_millis(args.timeout)));
    let cancel = events.cancel_handle();
    let _stop = match StopOnSignal::new(move || cancel.cancel()) {
        Ok(h) => h,
        Err(e) => return fail("signal handler", &e),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut seen = 0u64;
    loop {
        let e = match events.read() {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(Error::Cancelled { .. }) => return ExitCode::SUCCESS,
            Err(e) => return fail("events", &e),
        };
        let line = if args.json {
            serde_json::json!({
                "timestamp": e.timestamp,
                "code": format!("{:#018x}", e.code),
                "channel": e.channel_id().unwrap_or_default(),
                "channel_type": e.channel_type.sysfs_name().unwrap_or("unknown"),
                "modifier": e.modifier.sysfs_name().unwrap_or(""),
                "index": e.channel,
                "index2": e.channel2,
                "differential": e.differential,
                "type": e.event_type.sysfs_name().unwrap_or("unknown"),
                "direction": e.direction.sysfs_name().unwrap_or("unknown"),
            })
            .to_string()
        } else {
            format!("Event: {e}")
        };
        if let Err(e) = writeln!(out, "{line}").and_then(|_| out.flush()) {
            return crate::finish_output(Err(e));
        }
        seen += 1;
        if args.count != 0 && seen >= args.count {
            return ExitCode::SUCCESS;
        }
    }
}
