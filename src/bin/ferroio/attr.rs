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

/// The name iio_attr shows for a device: its label, else its name, else its id (0.24 shows
/// `adc-label` for a device with both, locally and over the network).
fn dev_label(dev: &Device) -> &str {
    dev.label().or(dev.name()).unwrap_or(dev.id())
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

/// Tracks whether everything asked for worked. As in iio_attr, a failed read counts only when
/// an attribute was named; listing all attributes of something shows errors inline.
struct Outcome {
    failed: bool,
    /// An attribute name (or pattern) was given: read errors then fail the command.
    attr_given: bool,
}

impl Outcome {
    /// Prints a read result. With a named attribute only the value (or the error) is printed;
    /// otherwise iio_attr's full line: `<head><ok_word>'<value>'` or `<head><err_word>ERROR…`.
    /// A read-back after a successful write (of a write-only attribute, say) that fails is
    /// shown but does not make the command fail: the write happened.
    fn read(
        &mut self,
        head: &str,
        (ok_word, err_word): (&str, &str),
        named: bool,
        after_write: bool,
        r: ferroio::Result<String>,
    ) {
        match r {
            Ok(v) if named => println!("{v}"),
            Ok(v) => println!("{head}{ok_word}'{v}'"),
            Err(e) if named => {
                self.failed |= !after_write;
                println!("{}", error_text(&e));
            }
            Err(e) => {
                self.failed |= self.attr_given && !after_write;
                println!("{head}{err_word}{}", error_text(&e));
            }
        }
    }

    /// Reports a write; `Ok` when the value should be read back and shown.
    fn write(&mut self, attr: &str, value: &str, channel: bool, r: ferroio::Result<()>) -> bool {
        match r {
            Ok(()) => true,
            Err(e) => {
                self.failed = true;
                let word = if channel { "error" } else { "ERROR:" };
                println!(
                    "{word} {} while writing '{attr}' with '{value}'",
                    strerror(e.errno())
                );
                false
            }
        }
    }
}

fn not_found(what: &str, name: &str) -> ExitCode {
    eprintln!("ferroio attr: Error : could not find {what} ({name})");
    ExitCode::FAILURE
}

/// Runs `ferroio attr`.
pub fn run(a: AttrArgs) -> ExitCode {
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
    let names_len = max_args - usize::from(!a.context_attrs);
    let value = a.args.get(names_len).map(String::as_str);
    if value.is_some() && a.args[..names_len].iter().any(|s| is_wildcard(s)) {
        eprintln!("ferroio attr: can't write a value with a wildcard match");
        return ExitCode::FAILURE;
    }
    let ctx = match a.context.open() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut outcome = Outcome {
        failed: false,
        attr_given: a.args.len() >= names_len,
    };
    if a.context_attrs {
        if !context_attrs(&ctx, &a) {
            return not_found("attribute", &a.args[0]);
        }
    } else if let Err(code) = devices(&ctx, &a, value, &mut outcome) {
        return code;
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
            println!("{k}: {v}");
        }
    }
    found
}

fn devices(
    ctx: &Context,
    a: &AttrArgs,
    value: Option<&str>,
    out: &mut Outcome,
) -> Result<(), ExitCode> {
    let ic = a.ignore_case;
    let Some(dev_pat) = a.args.first().map(String::as_str) else {
        println!("IIO context has {} devices:", ctx.num_devices());
        for dev in ctx.devices() {
            match dev.label().or(dev.name()) {
                Some(n) => print!("\t{}, {n}: ", dev.id()),
                None => print!("\t{}: ", dev.id()),
            }
            if a.channel {
                println!("found {} channels", dev.num_channels());
            } else if a.device {
                println!("found {} device attributes", dev.attrs().count());
            } else if a.buffer {
                println!("found {} buffer attributes", dev.buffer_attrs().count());
            } else {
                println!("found {} debug attributes", dev.debug_attrs().count());
            }
        }
        return Ok(());
    };
    let devs: Vec<Device> = ctx
        .devices()
        .filter(|d| dev_matches(d, dev_pat, ic))
        .collect();
    if devs.is_empty() {
        return Err(not_found("device", dev_pat));
    }
    let mut chan_found = false;
    let mut attr_found = false;
    if a.debug && devs.iter().all(|d| d.debug_attrs().next().is_none()) {
        eprintln!("ferroio attr: Error : device ({dev_pat}) had 0 debug attributes");
        return Err(ExitCode::FAILURE);
    }
    for dev in &devs {
        if a.channel && dev.num_channels() == 0 {
            eprintln!(
                "ferroio attr: Found {} device, but it has 0 channels",
                dev.id()
            );
            out.failed |= !is_wildcard(dev_pat);
            chan_found |= a.args.len() < 2;
            continue;
        }
        if a.channel {
            let (c, at) = channels(dev, a, value, out);
            chan_found |= c;
            attr_found |= at;
            continue;
        }
        let attr_pat = a.args.get(1).map(String::as_str);
        let named = attr_pat.is_some() && !a.args.iter().any(|p| is_wildcard(p));
        let (names, kind): (Vec<&str>, &str) = if a.device {
            (dev.attrs().collect(), "attr")
        } else if a.buffer {
            (dev.buffer_attrs().collect(), "buffer attr")
        } else {
            (dev.debug_attrs().collect(), "debug attr")
        };
        if names.is_empty() && !a.debug && attr_pat.is_none() {
            // iio_attr's wording; an error unless a wildcard selected several devices.
            let what = if a.device { "device" } else { "buffer" };
            eprintln!(
                "ferroio attr: Found {} device, but it has 0 {what} attributes",
                dev_label(dev)
            );
            out.failed |= !is_wildcard(dev_pat);
            continue;
        }
        // iio_attr calls a trigger's device attributes "trig '<name>'".
        let owner = if a.device && dev.is_trigger() {
            "trig"
        } else {
            "dev"
        };
        for name in names {
            if attr_pat.is_some_and(|p| !matches(name, p, ic)) {
                continue;
            }
            attr_found = true;
            if let Some(v) = value {
                let r = if a.device {
                    dev.attr_write(name, v)
                } else if a.buffer {
                    dev.buffer_attr_write(name, v)
                } else {
                    dev.debug_attr_write(name, v)
                };
                if !out.write(name, v, false, r) || a.quiet {
                    continue;
                }
            }
            let r = if a.device {
                dev.attr_read_str(name)
            } else if a.buffer {
                dev.buffer_attr_read_str(name)
            } else {
                dev.debug_attr_read_str(name)
            };
            let head = format!("{owner} '{}', {kind} '{name}', ", dev_label(dev));
            out.read(&head, ("value :", "value :"), named, value.is_some(), r);
        }
    }
    if a.channel && a.args.len() > 1 && !chan_found {
        return Err(not_found("channel", &a.args[1]));
    }
    let attr_arg = if a.channel {
        a.args.get(2)
    } else {
        a.args.get(1)
    };
    match attr_arg {
        Some(name) if !attr_found => Err(not_found("attribute", name)),
        _ => Ok(()),
    }
}

/// Channel attributes of one device: `(a channel matched, an attribute matched)`.
fn channels(dev: &Device, a: &AttrArgs, value: Option<&str>, out: &mut Outcome) -> (bool, bool) {
    let ic = a.ignore_case;
    let chan_pat = a.args.get(1).map(String::as_str);
    let attr_pat = a.args.get(2).map(String::as_str);
    // Only the value is printed when one attribute is named without wildcards anywhere.
    let named = attr_pat.is_some() && !a.args.iter().any(|p| is_wildcard(p));
    let (mut chan_found, mut attr_found) = (false, false);
    for ch in dev.channels() {
        if (a.input_only && ch.is_output())
            || (a.output_only && ch.is_input())
            || (a.scan_only && !ch.is_scan_element())
        {
            continue;
        }
        if chan_pat.is_some_and(|p| !chan_matches(&ch, p, ic)) {
            continue;
        }
        chan_found = true;
        let dir = if ch.is_output() { "output" } else { "input" };
        if chan_pat.is_none() || a.scan_only && attr_pat.is_none() {
            print!("dev '{}', channel '{}'", dev_label(dev), ch.id());
            if let Some(n) = ch.name() {
                print!(", id '{n}'");
            }
            print!(" ({dir}");
            match ch.data_format() {
                Some(fmt) => {
                    let index = ch.scan_index().and_then(|r| r.ok()).unwrap_or(0);
                    match fmt {
                        Ok(f) => print!(", index: {index}, format: {f})"),
                        Err(e) => print!(", index: {index}, format: <{e}>)"),
                    }
                    print!("{}", if a.scan_only { "\n" } else { ", " });
                }
                None => print!("), "),
            }
            println!("found {} channel-specific attributes", ch.attrs().count());
            continue;
        }
        for name in ch.attrs() {
            if attr_pat.is_some_and(|p| !matches(name, p, ic)) {
                continue;
            }
            attr_found = true;
            if let Some(v) = value {
                if !out.write(name, v, true, ch.attr_write(name, v)) || a.quiet {
                    continue;
                }
            }
            let mut head = format!("dev '{}', channel '{}' ({dir}), ", dev_label(dev), ch.id());
            if let Some(n) = ch.name() {
                head.push_str(&format!("id '{n}', "));
            }
            head.push_str(&format!("attr '{name}', "));
            out.read(
                &head,
                ("value ", ""),
                named,
                value.is_some(),
                ch.attr_read_str(name),
            );
        }
    }
    (chan_found, attr_found)
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
