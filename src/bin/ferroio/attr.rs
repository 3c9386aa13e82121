//! `ferroio attr`: libiio's `iio_attr` — list, read and write context, device, channel,
//! buffer and debug attributes, with the same arguments, wildcards and output lines.

use crate::ContextArgs;
use clap::Args;
use ferroio::error::strerror;
use ferroio::{Channel, Context, Device, Error};
use std::process::ExitCode;

/// Arguments of `ferroio attr` (iio_attr's).
#[derive(Args)]
#[command(group = clap::ArgGroup::new("kind").required(true).args(["device", "channel", "buffer", "debug", "context_attrs"]))]
pub struct AttrArgs {
    #[command(flatten)]
    context: ContextArgs,
    /// Device attributes: `-d [device] [attr] [value]`.
    #[arg(short = 'd', long = "device-attr")]
    device: bool,
    /// Channel attributes: `-c [device] [channel] [attr] [value]`.
    #[arg(short = 'c', long = "channel-attr")]
    channel: bool,
    /// Buffer attributes: `-B [device] [attr] [value]`.
    #[arg(short = 'B', long = "buffer-attr")]
    buffer: bool,
    /// Debug attributes: `-D [device] [attr] [value]`.
    #[arg(short = 'D', long = "debug-attr")]
    debug: bool,
    /// Context attributes: `-C [attr]`.
    #[arg(short = 'C', long = "context-attr")]
    context_attrs: bool,
    /// Only input channels.
    #[arg(short = 'i', long = "input-channel", conflicts_with = "output_only")]
    input_only: bool,
    /// Only output channels.
    #[arg(short = 'o', long = "output-channel")]
    output_only: bool,
    /// Only scan elements.
    #[arg(short = 's', long = "scan-channel")]
    scan_only: bool,
    /// Ignore case when matching names.
    #[arg(short = 'I', long = "ignore-case")]
    ignore_case: bool,
    /// Print values only.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// Names to match (`*` and `.` wildcards as in iio_attr), then the value to write.
    #[arg(value_name = "ARGS")]
    args: Vec<String>,
}

/// iio_attr's matching: `.` or `*` match anything, `key*`, `*key`, `*key*`, else exact.
fn matches(haystack: &str, needle: &str, ignore_case: bool) -> bool {
    if haystack.is_empty() || needle.is_empty() {
        return false;
    }
    if needle == "." || needle == "*" {
        return true;
    }
    let (h, n) = if ignore_case {
        (haystack.to_lowercase(), needle.to_lowercase())
    } else {
        (haystack.to_string(), needle.to_string())
    };
    match (n.strip_prefix('*'), n.strip_suffix('*')) {
        (Some(_), Some(_)) if n.len() >= 2 => h.contains(&n[1..n.len() - 1]),
        (None, Some(prefix)) => h.starts_with(prefix),
        (Some(suffix), None) => h.ends_with(suffix),
        _ => h == n,
    }
}

fn is_wildcard(s: &str) -> bool {
    s == "." || s.contains('*')
}

/// The name iio_attr shows for a device: its name, or its id when it has none.
fn dev_label(dev: &Device) -> &str {
    dev.name().unwrap_or(dev.id())
}

fn dev_matches(dev: &Device, pattern: &str, ic: bool) -> bool {
    matches(dev.id(), pattern, ic)
        || dev.name().is_some_and(|n| matches(n, pattern, ic))
        || dev.label().is_some_and(|l| matches(l, pattern, ic))
}

fn chan_matches(ch: &Channel, pattern: &str, ic: bool) -> bool {
    matches(ch.id(), pattern, ic)
        || ch.name().is_some_and(|n| matches(n, pattern, ic))
        || ch.label().is_some_and(|l| matches(l, pattern, ic))
}

/// libiio's error text: `ERROR: Permission denied (13)`.
fn error_text(e: &Error) -> String {
    format!("ERROR: {}", strerror(e.errno()))
}

/// Tracks whether everything asked for was found and worked.
struct Outcome {
    failed: bool,
}

impl Outcome {
    /// Prints a read result as iio_attr does: `<head><ok_word>'<value>'` or
    /// `<head><err_word>ERROR: ...`.
    fn read(
        &mut self,
        head: &str,
        (ok_word, err_word): (&str, &str),
        quiet: bool,
        r: ferroio::Result<String>,
    ) {
        match r {
            Ok(v) if quiet => println!("{v}"),
            Ok(v) => println!("{head}{ok_word}'{v}'"),
            Err(e) => {
                self.failed = true;
                if quiet {
                    println!("{}", error_text(&e));
                } else {
                    println!("{head}{err_word}{}", error_text(&e));
                }
                eprintln!("ferroio attr: {e}");
            }
        }
    }

    fn write(&mut self, attr: &str, value: &str, quiet: bool, r: ferroio::Result<()>) {
        match r {
            Ok(()) if !quiet => println!("wrote {} bytes to {attr}", value.len()),
            Ok(()) => {}
            Err(e) => {
                self.failed = true;
                println!("{} while writing '{attr}' with '{value}'", error_text(&e));
                eprintln!("ferroio attr: {e}");
            }
        }
    }
}

/// Runs `ferroio attr`.
pub fn run(a: AttrArgs) -> ExitCode {
    let kinds = [a.device, a.channel, a.buffer, a.debug, a.context_attrs];
    if kinds.iter().filter(|k| **k).count() > 1 {
        eprintln!("ferroio attr: the options -d, -c, -C, -B and -D are exclusive (use only one)");
        return ExitCode::FAILURE;
    }
    let max_args = if a.context_attrs {
        1
    } else if a.channel {
        4
    } else {
        3
    };
    if a.args.len() > max_args {
        eprintln!(
            "ferroio attr: too many arguments (at most {max_args} for this kind of attribute)"
        );
        return ExitCode::FAILURE;
    }
    let names_len = if a.context_attrs { 1 } else { max_args - 1 };
    let value = a.args.get(names_len).map(String::as_str);
    if value.is_some() && a.args[..names_len].iter().any(|s| is_wildcard(s)) {
        eprintln!("ferroio attr: can't write a value with a wildcard match");
        return ExitCode::FAILURE;
    }
    let ctx = match a.context.open() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut outcome = Outcome { failed: false };
    let found = if a.context_attrs {
        context_attrs(&ctx, &a)
    } else {
        devices(&ctx, &a, value, &mut outcome)
    };
    if !found {
        let what = a.args[..a.args.len().min(names_len)].join(" ");
        eprintln!("ferroio attr: nothing matches '{what}'");
        return ExitCode::FAILURE;
    }
    if outcome.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn context_attrs(ctx: &Context, a: &AttrArgs) -> bool {
    let pattern = a.args.first();
    let attrs: Vec<(&str, &str)> = ctx.attrs().collect();
    if pattern.is_none() && !attrs.is_empty() {
        println!("IIO context with {} attributes:", attrs.len());
    }
    let mut found = pattern.is_none();
    for (k, v) in attrs {
        if pattern.is_none_or(|p| matches(k, p, a.ignore_case)) {
            found = true;
            if a.quiet && pattern.is_some() {
                println!("{v}");
            } else {
                println!("{k}: {v}");
            }
        }
    }
    found
}

fn devices(ctx: &Context, a: &AttrArgs, value: Option<&str>, out: &mut Outcome) -> bool {
    let dev_pat = a.args.first().map(String::as_str);
    let ic = a.ignore_case;
    if dev_pat.is_none() {
        println!("IIO context has {} devices:", ctx.num_devices());
    }
    let mut found = dev_pat.is_none();
    for dev in ctx.devices() {
        if let Some(p) = dev_pat {
            if !dev_matches(&dev, p, ic) {
                continue;
            }
        }
        let Some(_) = dev_pat else {
            // Listing devices only.
            print!("\t{}:", dev.id());
            if let Some(n) = dev.name() {
                print!(" {n}");
            }
            print!(", ");
            if a.channel {
                println!("found {} channels", dev.num_channels());
            } else if a.device {
                println!("found {} device attributes", dev.attrs().count());
            } else if a.buffer {
                println!("found {} buffer attributes", dev.buffer_attrs().count());
            } else {
                println!("found {} debug attributes", dev.debug_attrs().count());
            }
            continue;
        };
        if a.channel {
            found |= channels(&dev, a, value, out);
            continue;
        }
        let attr_pat = a.args.get(1).map(String::as_str);
        let quiet = a.quiet && attr_pat.is_some();
        let (names, kind): (Vec<&str>, &str) = if a.device {
            (dev.attrs().collect(), "attr")
        } else if a.buffer {
            (dev.buffer_attrs().collect(), "buffer attr")
        } else {
            (dev.debug_attrs().collect(), "debug attr")
        };
        if attr_pat.is_none() {
            found = true;
        }
        for name in names {
            if attr_pat.is_some_and(|p| !matches(name, p, ic)) {
                continue;
            }
            found = true;
            let read = |n: &str| {
                if a.device {
                    dev.attr_read_str(n)
                } else if a.buffer {
                    dev.buffer_attr_read_str(n)
                } else {
                    dev.debug_attr_read_str(n)
                }
            };
            let prefix = format!("dev '{}', {kind} '{name}', ", dev_label(&dev));
            if let Some(v) = value {
                let r = if a.device {
                    dev.attr_write(name, v)
                } else if a.buffer {
                    dev.buffer_attr_write(name, v)
                } else {
                    dev.debug_attr_write(name, v)
                };
                out.write(name, v, quiet, r);
                if quiet {
                    continue;
                }
            }
            out.read(&prefix, ("value :", "value :"), quiet, read(name));
        }
    }
    found
}

fn channels(dev: &Device, a: &AttrArgs, value: Option<&str>, out: &mut Outcome) -> bool {
    let ic = a.ignore_case;
    let chan_pat = a.args.get(1).map(String::as_str);
    let attr_pat = a.args.get(2).map(String::as_str);
    let quiet = a.quiet && attr_pat.is_some();
    let mut found = chan_pat.is_none();
    for ch in dev.channels() {
        if (a.input_only && ch.is_output())
            || (a.output_only && ch.is_input())
            || (a.scan_only && !ch.is_scan_element())
        {
            continue;
        }
        if let Some(p) = chan_pat {
            if !chan_matches(&ch, p, ic) {
                continue;
            }
        }
        let dir = if ch.is_output() { "output" } else { "input" };
        let Some(_) = chan_pat else {
            print!("dev '{}', channel '{}'", dev_label(dev), ch.id());
            if let Some(n) = ch.name() {
                print!(", id '{n}'");
            }
            print!(" ({dir}");
            if let Some(fmt) = ch.data_format() {
                let index = ch.scan_index().and_then(|r| r.ok()).unwrap_or(0);
                match fmt {
                    Ok(f) => print!(", index: {index}, format: {f})"),
                    Err(e) => print!(", index: {index}, format: <{e}>)"),
                }
            } else {
                print!(")");
            }
            println!(", found {} channel-specific attributes", ch.attrs().count());
            continue;
        };
        if attr_pat.is_none() {
            found = true;
        }
        for name in ch.attrs() {
            if attr_pat.is_some_and(|p| !matches(name, p, ic)) {
                continue;
            }
            found = true;
            let mut prefix = format!("dev '{}', channel '{}' ({dir}), ", dev_label(dev), ch.id());
            if let Some(n) = ch.name() {
                prefix.push_str(&format!("id '{n}', "));
            }
            prefix.push_str(&format!("attr '{name}', "));
            if let Some(v) = value {
                out.write(name, v, quiet, ch.attr_write(name, v));
                if quiet {
                    continue;
                }
            }
            out.read(&prefix, ("value ", ""), quiet, ch.attr_read_str(name));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards_like_iio_attr() {
        assert!(matches("sampling_frequency", "*", false));
        assert!(matches("sampling_frequency", ".", false));
        assert!(matches("sampling_frequency", "sampling*", false));
        assert!(matches("sampling_frequency", "*frequency", false));
        assert!(matches("sampling_frequency", "*ing_freq*", false));
        assert!(!matches("sampling_frequency", "freq", false));
        assert!(matches("Dummy0", "dummy0", true));
        assert!(!matches("Dummy0", "dummy0", false));
    }
}
