//! `ferroio read`: libiio's `iio_readdev` — capture scans from a device's buffer and write
//! them to stdout, raw (the device's own layout, byte for byte what `iio_readdev` writes) or
//! converted to physical units as CSV or JSON lines. Ctrl-C stops cleanly: the buffer is
//! disabled and the scan elements, buffer settings and trigger are restored.

use crate::stop::StopOnSignal;
use crate::ContextArgs;
use clap::Args;
use ferroio::buffer::{Buffer, BufferBuilder, Transfer, TransferRequest};
use ferroio::channel_type::ChannelType;
use ferroio::{Channel, Context, Device, Error};
use std::io::Write;
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::time::Duration;

/// Buffer options shared by `read` and `write` (iio_readdev's and iio_writedev's).
#[derive(Args)]
pub struct StreamArgs {
    #[command(flatten)]
    pub context: ContextArgs,
    /// Trigger to use, by name or id (like iio_readdev -t); the previous one is restored.
    #[arg(short = 't', long = "trigger")]
    pub trigger: Option<String>,
    /// Scans per buffer block.
    #[arg(short = 'b', long = "buffer-size", default_value_t = 256)]
    pub buffer_size: usize,
    /// Scans to transfer; 0 means until Ctrl-C (or end of input).
    #[arg(short = 's', long = "samples", default_value_t = 0)]
    pub samples: u64,
    /// Timeout of each block in milliseconds; 0 waits forever (default: 5000, as libiio).
    #[arg(short = 'T', long = "timeout")]
    pub timeout: Option<u64>,
    /// Which buffer of the device (`bufferY`, kernel ≥ 5.11).
    #[arg(long = "buffer-index", default_value_t = 0)]
    pub buffer_index: u32,
    /// Blocks the kernel-side buffer holds.
    #[arg(long = "kernel-buffers")]
    pub kernel_buffers: Option<usize>,
    /// Transfer method: auto, read (read/write), mmap (ADI blocks), dmabuf.
    #[arg(long = "transfer", default_value = "auto")]
    pub transfer: String,
    /// The device: id, name or label.
    pub device: String,
    /// Channels to stream (ids or names); all scan elements of the direction when none.
    pub channels: Vec<String>,
}

/// Prints `ferroio: <what>: <error>` and gives the failure exit status.
pub fn fail(what: &str, e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("ferroio: {what}: {e}");
    ExitCode::FAILURE
}

impl StreamArgs {
    /// The context and device, or the exit status after an error message.
    pub fn device(&self) -> Result<(Context, Device), ExitCode> {
        let ctx = self.context.open()?;
        let dev = ctx
            .get_device(&self.device)
            .map_err(|e| fail("device", &e))?;
        Ok((ctx, dev))
    }

    /// A builder with every option applied, for a buffer of `output` channels.
    pub fn builder(
        &self,
        ctx: &Context,
        dev: &Device,
        output: bool,
    ) -> Result<BufferBuilder, ExitCode> {
        let mut b = dev.buffer_builder().samples(self.buffer_size.max(1));
        if self.channels.is_empty() {
            b = b.all_channels(output);
        }
        for c in &self.channels {
            b = b.channel_named(c, output);
        }
        if let Some(t) = &self.trigger {
            // a trigger of the snapshot by name or id; else take the name as given (one
            // created after the context was)
            b = match ctx.find_device(t).filter(Device::is_trigger) {
                Some(trig) => b.trigger(Some(&trig)),
                None => b.trigger_name(Some(t)),
            };
        }
        if let Some(ms) = self.timeout {
            b = b.timeout((ms > 0).then(|| Duration::from_millis(ms)));
        }
        if let Some(n) = self.kernel_buffers {
            b = b.kernel_buffers(n);
        }
        let transfer = match self.transfer.as_str() {
            "auto" => TransferRequest::Auto,
            "read" | "write" | "readwrite" => TransferRequest::Force(Transfer::ReadWrite),
            "mmap" => TransferRequest::Force(Transfer::MmapBlocks),
            "dmabuf" => TransferRequest::Force(Transfer::Dmabuf),
            other => {
                return Err(fail(
                    "--transfer",
                    &format!("unknown method '{other}' (auto, read, mmap, dmabuf)"),
                ))
            }
        };
        Ok(b.buffer_index(self.buffer_index).transfer(transfer))
    }

    /// Describes the open buffer on stderr (`-v`).
    pub fn describe(&self, buf: &Buffer) {
        if !self.context.verbose {
            return;
        }
        eprintln!(
            "ferroio: {} buffer {} of {}: {} scans of {} bytes, transfer {}",
            if buf.is_output() { "output" } else { "input" },
            self.buffer_index,
            buf.device().id(),
            buf.samples(),
            buf.scan_bytes(),
            buf.transfer()
        );
        for e in buf.layout().elements() {
            let id = buf.device().channel(e.channel).map(|c| c.id().to_string());
            eprintln!(
                "ferroio:   {:<20} index {:>3} offset {:>4} {}",
                id.unwrap_or_default(),
                e.scan_index,
                e.offset,
                e.format
            );
        }
    }
}

/// Arguments of `ferroio read`.
#[derive(Args)]
pub struct ReadArgs {
    #[command(flatten)]
    stream: StreamArgs,
    /// Converted values (physical units) as CSV with a header line.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// Converted values as one JSON object per scan.
    #[arg(long)]
    json: bool,
}

/// One output column: a channel (one value of it, for repeat channels).
struct Column {
    chan: Channel,
    name: String,
    timestamp: bool,
    repeat: usize,
    /// Which value of a repeat channel.
    k: usize,
}

fn columns(buf: &Buffer) -> Vec<Column> {
    let mut out = Vec::new();
    for e in buf.layout().elements() {
        let Some(chan) = buf.device().channel(e.channel) else {
            continue;
        };
        let repeat = e.format.repeat as usize;
        let timestamp = chan.channel_type() == ChannelType::Timestamp;
        let base = chan.id().to_string();
        if repeat == 1 {
            out.push(Column {
                chan,
                name: base,
                timestamp,
                repeat,
                k: 0,
            });
        } else {
            for k in 0..repeat {
                out.push(Column {
                    chan: chan.clone(),
                    name: format!("{base}[{k}]"),
                    timestamp,
                    repeat,
                    k,
                });
            }
        }
    }
    out
}

/// Writes `scans` scans of the block as CSV rows or JSON objects.
fn write_converted(
    out: &mut impl Write,
    buf: &Buffer,
    cols: &[Column],
    scans: usize,
    json: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    // Per channel: its values for the block, converted once (the columns of a repeat
    // channel, which follow each other, share them).
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(cols.len());
    let mut stamps: Vec<Vec<i64>> = Vec::with_capacity(cols.len());
    let mut src: Vec<usize> = Vec::with_capacity(cols.len());
    for (i, c) in cols.iter().enumerate() {
        if c.k > 0 {
            src.push(src[i - 1]);
            values.push(Vec::new());
            stamps.push(Vec::new());
        } else if c.timestamp {
            src.push(i);
            stamps.push(c.chan.read::<i64>(buf)?);
            values.push(Vec::new());
        } else {
            src.push(i);
            values.push(c.chan.read_converted(buf)?);
            stamps.push(Vec::new());
        }
    }
    // JSON keys, escaped once.
    let keys: Vec<String> = if json {
        cols.iter()
            .map(|c| serde_json::to_string(&c.name))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let mut line = String::new();
    for s in 0..scans {
        line.clear();
        for (i, c) in cols.iter().enumerate() {
            let at = s * c.repeat + c.k;
            if json {
                line.push(if i == 0 { '{' } else { ',' });
                line.push_str(&keys[i]);
                line.push(':');
            } else if i > 0 {
                line.push(',');
            }
            // JSON: a missing or non-finite value (a scale of inf) is null, so the line stays
            // JSON (serde_json writes non-finite floats as null).
            let v = if c.timestamp {
                stamps[src[i]].get(at).map(|t| t.to_string())
            } else if json {
                values[src[i]]
                    .get(at)
                    .map(|v| serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
            } else {
                values[src[i]].get(at).map(|v| format!("{v}"))
            };
            match v {
                Some(v) => line.push_str(&v),
                None if json => line.push_str("null"),
                None => {}
            }
        }
        if json {
            if cols.is_empty() {
                line.push('{');
            }
            line.push('}');
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

pub fn run(args: ReadArgs) -> ExitCode {
    let s = &args.stream;
    let (ctx, dev) = match s.device() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let builder = match s.builder(&ctx, &dev, false) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let mut buf = match builder.build() {
        Ok(b) => b,
        Err(e) => return fail(&format!("cannot open the buffer of {}", dev.id()), &e),
    };
    s.describe(&buf);
    let cancel = buf.cancel_handle();
    let _stop = match StopOnSignal::new(move || cancel.cancel()) {
        Ok(h) => h,
        Err(e) => return fail("signal handler", &e),
    };
    let cols = columns(&buf);
    // Rust's stdout handle is line-buffered: it would search every block for newlines (a
    // quarter of the CPU time of a fast capture). Write through a handle of our own on the
    // same open file instead.
    let file = match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => std::fs::File::from(fd),
        Err(e) => return fail("stdout", &e),
    };
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
    if args.csv {
        let header: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        if let Err(e) = writeln!(out, "{}", header.join(",")) {
            return crate::finish_output(Err(e));
        }
    }
    let mut left = s.samples;
    let mut status = ExitCode::SUCCESS;
    loop {
        let scans = match buf.refill() {
            Ok(n) => n,
            Err(Error::Cancelled { .. }) => break,
            Err(e) => {
                status = fail("refill", &e);
                break;
            }
        };
        let take = if s.samples == 0 {
            scans
        } else {
            scans.min(usize::try_from(left).unwrap_or(usize::MAX))
        };
        let written = if args.csv || args.json {
            write_converted(&mut out, &buf, &cols, take, args.json).map_err(|e| e.to_string())
        } else {
            out.write_all(&buf.data()[..take * buf.scan_bytes()])
                .map_err(|e| e.to_string())
        };
        if let Err(e) = written.and_then(|_| out.flush().map_err(|e| e.to_string())) {
            // a closed pipe (`ferroio read ... | head -c 64`) ends the capture quietly
            if !e.contains("Broken pipe") {
                status = fail("write", &e);
            }
            break;
        }
        if s.samples != 0 {
            left -= take as u64;
            if left == 0 {
                break;
            }
        }
    }
    if let Err(e) = buf.close() {
        return fail("restoring the device", &e);
    }
    status
}
