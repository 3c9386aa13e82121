//! What `ferroio info` prints: the text of libiio 0.24's `iio_info` for a [`Context`], and a
//! JSON rendering of the same facts.
//!
//! The text is byte-for-byte what `iio_info` 0.24 prints for the same context, so scripts
//! written against `iio_info` keep working. That includes its first lines:
//! `Library version: 0.24 (git tag: v0.24)` and `Compiled with backends: local xml ip usb`
//! name the libiio release (and the backends of Debian's build of it) whose output ferroio
//! reproduces, not ferroio's own version. `Backend version` is the version recorded in the
//! snapshot, or 0.24's when the source gives none, as libiio reports it. Everything libiio
//! prints, `ERROR: checking for trigger : ...` included, goes to `out` (stdout in the CLI);
//! only ferroio's own diagnostics go to `err`.
//!
//! Attribute values are read through the public API at the moment of the call; an error
//! prints as libiio prints it, `ERROR: <strerror> (<errno>)`. The JSON (feature
//! `utilities`, `serde_json`) carries what the text does plus the derived channel type and
//! modifier.

use crate::channel_type::ChannelType;
use crate::context::{Channel, Context, Device};
use crate::error::{strerror, Result};
use std::io::{self, Write};

/// Writes `iio_info`'s description of the context to `out`; diagnostics of ferroio's own
/// that libiio has no line for (a malformed scan element) go to `err`.
pub fn write_info(ctx: &Context, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
    let data = ctx.data();
    writeln!(out, "Library version: 0.24 (git tag: v0.24)")?;
    writeln!(out, "Compiled with backends: local xml ip usb")?;
    writeln!(out, "IIO context created with {} backend.", ctx.name())?;
    let (major, minor, git) = crate::xml::version_of(data);
    writeln!(out, "Backend version: {major}.{minor} (git tag: {git})")?;
    writeln!(out, "Backend description string: {}", ctx.description())?;
    if !data.attrs.is_empty() {
        writeln!(out, "IIO context has {} attributes:", data.attrs.len())?;
        for (key, value) in ctx.attrs() {
            writeln!(out, "\t{key}: {value}")?;
        }
    }
    writeln!(out, "IIO context has {} devices:", ctx.num_devices())?;
    for dev in ctx.devices() {
        write_device(&dev, out, err)?;
    }
    Ok(())
}

fn write_device(dev: &Device, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
    write!(out, "\t{}:", dev.id())?;
    if let Some(name) = dev.name() {
        write!(out, " {name}")?;
    }
    if let Some(label) = dev.label() {
        write!(out, " (label: {label})")?;
    }
    if dev.is_buffer_capable() {
        write!(out, " (buffer capable)")?;
    }
    writeln!(out)?;
    writeln!(out, "\t\t{} channels found:", dev.num_channels())?;
    for chn in dev.channels() {
        write_channel(dev, &chn, out, err)?;
    }
    let groups: [(&str, &str, Vec<&str>); 3] = [
        ("device-specific", "attr", dev.attrs().collect()),
        ("buffer-specific", "attr", dev.buffer_attrs().collect()),
        ("debug", "debug attr", dev.debug_attrs().collect()),
    ];
    for (kind, prefix, names) in groups {
        if names.is_empty() {
            continue;
        }
        writeln!(out, "\t\t{} {kind} attributes found:", names.len())?;
        for (i, name) in names.iter().enumerate() {
            let value = match kind {
                "device-specific" => dev.attr_read_str(name),
                "buffer-specific" => dev.buffer_attr_read_str(name),
                _ => dev.debug_attr_read_str(name),
            };
            writeln!(out, "\t\t\t\t{prefix} {i:2}: {name} {}", value_text(&value))?;
        }
    }
    match dev.trigger() {
        Ok(None) => writeln!(out, "\t\tNo trigger assigned to device"),
        Ok(Some(t)) => writeln!(
            out,
            "\t\tCurrent trigger: {}({})",
            t.id(),
            t.name().unwrap_or("")
        ),
        Err(e) if e.has_errno(rustix::io::Errno::NOENT) => {
            writeln!(out, "\t\tNo trigger on this device")
        }
        // libiio prints this one on stdout, in line with the rest.
        Err(e) => writeln!(out, "ERROR: checking for trigger : {}", strerror(e.errno())),
    }
}

fn write_channel(
    dev: &Device,
    chn: &Channel,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    write!(
        out,
        "\t\t\t{}: {} ({}",
        chn.id(),
        chn.name().unwrap_or(""),
        if chn.is_output() { "output" } else { "input" }
    )?;
    if libiio_type_unknown(dev.id(), chn.id()) {
        write!(out, ", WARN:iio_channel_get_type()=UNKNOWN")?;
    }
    let mut scan_problem = None;
    match (chn.scan_index(), chn.data_format()) {
        (Some(Ok(index)), Some(Ok(format))) => {
            writeln!(out, ", index: {index}, format: {format})")?;
        }
        (Some(Err(e)), _) | (_, Some(Err(e))) => {
            writeln!(out, ")")?;
            scan_problem = Some(e);
        }
        _ => writeln!(out, ")")?,
    }
    if let Some(e) = scan_problem {
        writeln!(err, "ERROR: scan element of channel {}: {e}", chn.id())?;
    }
    let names: Vec<&str> = chn.attrs().collect();
    if names.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\t\t\t{} channel-specific attributes found:",
        names.len()
    )?;
    for (i, name) in names.iter().enumerate() {
        let value = chn.attr_read_str(name);
        writeln!(out, "\t\t\t\tattr {i:2}: {name} {}", value_text(&value))?;
    }
    Ok(())
}

/// `value: V` or libiio's `ERROR: <strerror> (<errno>)`.
fn value_text(value: &Result<String>) -> String {
    match value {
        Ok(v) => format!("value: {v}"),
        Err(e) => format!("ERROR: {}", strerror(e.errno())),
    }
}

/// Whether libiio 0.24 would give the channel the type `IIO_CHAN_TYPE_UNKNOWN`, for which
/// `iio_info` prints a warning: no type name of 0.24's table (hwmon's table for `hwmon*`
/// devices) starts the id followed by a digit, `_` or the end.
fn libiio_type_unknown(dev_id: &str, chn_id: &str) -> bool {
    const HWMON: [&str; 9] = [
        "in",
        "fan",
        "pwm",
        "temp",
        "curr",
        "power",
        "energy",
        "humidity",
        "intrusion",
    ];
    // 0.24's table ends with IIO_MASSCONCENTRATION (34); later kernel types are unknown to it.
    let iio = ChannelType::all()
        .filter(|t| t.to_raw() <= 34)
        .filter_map(ChannelType::sysfs_name);
    let matches = |name: &str| {
        chn_id.starts_with(name)
            && matches!(
                chn_id.as_bytes().get(name.len()),
                None | Some(b'0'..=b'9' | b'_')
            )
    };
    if dev_id.starts_with("hwmon") {
        !HWMON.iter().any(|n| matches(n))
    } else {
        !iio.into_iter().any(matches)
    }
}

/// The context as JSON: context name, description, version and attributes; for each
/// device its id, name, label, whether it is a trigger, whether it can buffer, its current
/// trigger, its channels (id, name, label, direction, type, modifier, scan index, format,
/// scale, attributes) and its device, buffer and debug attributes. Every attribute maps its
/// name to `{"value": "..."}` or to `{"error": "...", "errno": N, "detail": "..."}`.
/// (Feature `utilities`, which brings `serde_json`.)
#[cfg(feature = "utilities")]
pub fn info_json(ctx: &Context) -> String {
    json::context(ctx).to_string()
}

#[cfg(feature = "utilities")]
mod json {
    use super::*;
    use crate::error::Error;
    use serde_json::{json, Map, Value};

    pub(super) fn context(ctx: &Context) -> Value {
        let (major, minor, git) = crate::xml::version_of(ctx.data());
        let attrs: Map<String, Value> = ctx
            .attrs()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let devices: Vec<Value> = ctx.devices().map(|d| device(&d)).collect();
        json!({
            "name": ctx.name(),
            "description": ctx.description(),
            "version": { "major": major, "minor": minor, "git_tag": git },
            "attributes": attrs,
            "devices": devices,
        })
    }

    fn device(dev: &Device) -> Value {
        let trigger = match dev.trigger() {
            Ok(None) => Value::Null,
            Ok(Some(t)) => json!({ "id": t.id(), "name": t.name() }),
            Err(e) => error(&e),
        };
        let channels: Vec<Value> = dev.channels().map(|c| channel(&c)).collect();
        let names: Vec<&str> = dev.attrs().collect();
        let buffer_names: Vec<&str> = dev.buffer_attrs().collect();
        let debug_names: Vec<&str> = dev.debug_attrs().collect();
        json!({
            "id": dev.id(),
            "name": dev.name(),
            "label": dev.label(),
            "is_trigger": dev.is_trigger(),
            "buffer_capable": dev.is_buffer_capable(),
            "trigger": trigger,
            "channels": channels,
            "attributes": attrs(&names, |n| dev.attr_read_str(n)),
            "buffer_attributes": attrs(&buffer_names, |n| dev.buffer_attr_read_str(n)),
            "debug_attributes": attrs(&debug_names, |n| dev.debug_attr_read_str(n)),
        })
    }

    fn channel(chn: &Channel) -> Value {
        let scan_index = match chn.scan_index() {
            None => Value::Null,
            Some(Ok(i)) => json!(i),
            Some(Err(e)) => error(&e),
        };
        let format = match chn.data_format() {
            None => Value::Null,
            Some(Ok(f)) => json!(f.to_string()),
            Some(Err(e)) => error(&e),
        };
        let scale = match chn.data().scan.as_ref().and_then(|s| s.scale) {
            // A scale read as a C float (XML contexts) prints as that float's shortest form.
            Some(s) if s.is_finite() && f64::from(s as f32) == s => json!(s as f32),
            Some(s) if s.is_finite() => json!(s),
            _ => Value::Null,
        };
        let names: Vec<&str> = chn.attrs().collect();
        json!({
            "id": chn.id(),
            "name": chn.name(),
            "label": chn.label(),
            "direction": if chn.is_output() { "output" } else { "input" },
            "type": chn.channel_type().sysfs_name(),
            "modifier": chn.modifier().sysfs_name().filter(|m| !m.is_empty()),
            "scan_index": scan_index,
            "format": format,
            "scale": scale,
            "attributes": attrs(&names, |n| chn.attr_read_str(n)),
        })
    }

    fn attrs(names: &[&str], read: impl Fn(&str) -> Result<String>) -> Value {
        let map: Map<String, Value> = names
            .iter()
            .map(|name| {
                let v = match read(name) {
                    Ok(v) => json!({ "value": v }),
                    Err(e) => error(&e),
                };
                (name.to_string(), v)
            })
            .collect();
        Value::Object(map)
    }

    fn error(e: &Error) -> Value {
        let errno = e.errno();
        // The number has its own field here.
        let message = crate::error::errno_text(errno);
        json!({ "error": message, "errno": errno, "detail": e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names and values holding quotes, backslashes and control characters stay valid
    /// JSON (a local tree: sysfs hands out any bytes but `/` and NUL).
    #[cfg(feature = "utilities")]
    #[test]
    fn json_of_hostile_names_is_valid() {
        let root = tempfile::tempdir().unwrap();
        let dev = root.path().join("bus/iio/devices/iio:device0");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("name"), "a\"d\u{1f}c\\\n").unwrap();
        std::fs::write(dev.join("in_voltage0_raw"), "1\u{1}\"\\2\n").unwrap();
        std::fs::write(dev.join("sampling_frequency\"\\\u{7}"), "5\n").unwrap();
        let ctx = Context::from_uri(&format!("local:{}", root.path().display())).unwrap();
        let text = info_json(&ctx);
        let j: serde_json::Value = serde_json::from_str(&text).unwrap();
        let d = &j["devices"][0];
        assert_eq!(d["name"], "a\"d\u{1f}c\\");
        assert_eq!(
            d["channels"][0]["attributes"]["raw"]["value"],
            "1\u{1}\"\\2"
        );
        assert_eq!(d["attributes"]["sampling_frequency\"\\\u{7}"]["value"], "5");
    }

    #[test]
    fn unknown_types_as_libiio_024_sees_them() {
        assert!(!libiio_type_unknown("iio:device0", "voltage0"));
        assert!(!libiio_type_unknown("iio:device0", "illuminance"));
        assert!(!libiio_type_unknown("iio:device0", "accel_x"));
        assert!(libiio_type_unknown("iio:device0", "temperature"));
        assert!(libiio_type_unknown("iio:device0", "voltagex"));
        assert!(libiio_type_unknown("iio:device0", "out"));
        assert!(libiio_type_unknown("iio:device0", "in0"));
        assert!(libiio_type_unknown("iio:device0", "deltaangl_x"));
        assert!(!libiio_type_unknown("hwmon0", "in0"));
        assert!(!libiio_type_unknown("hwmonx", "fan1"));
        assert!(libiio_type_unknown("hwmon0", "voltage0"));
    }

    #[test]
    fn text_of_an_xml_context() {
        let xml = r#"<context name="x" description="d"><context-attribute name="k" value="v"/>
            <device id="iio:device0" name="adc" label="L"><channel id="voltage0" name="vccint" type="input">
            <scan-element index="0" format="le:s12/16&gt;&gt;4" scale="0.5"/><attribute name="raw"/></channel>
            <attribute name="sampling_frequency"/><debug-attribute name="direct_reg_access"/></device></context>"#;
        let ctx = Context::from_xml_str(xml).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_info(&ctx, &mut out, &mut err).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "Library version: 0.24 (git tag: v0.24)\n\
             Compiled with backends: local xml ip usb\n\
             IIO context created with xml backend.\n\
             Backend version: 0.24 (git tag: v0.24)\n\
             Backend description string: d\n\
             IIO context has 1 attributes:\n\
             \tk: v\n\
             IIO context has 1 devices:\n\
             \tiio:device0: adc (label: L) (buffer capable)\n\
             \t\t1 channels found:\n\
             \t\t\tvoltage0: vccint (input, index: 0, format: le:s12/16>>4)\n\
             \t\t\t1 channel-specific attributes found:\n\
             \t\t\t\tattr  0: raw ERROR: Function not implemented (38)\n\
             \t\t1 device-specific attributes found:\n\
             \t\t\t\tattr  0: sampling_frequency ERROR: Function not implemented (38)\n\
             \t\t1 debug attributes found:\n\
             \t\t\t\tdebug attr  0: direct_reg_access ERROR: Function not implemented (38)\n\
             ERROR: checking for trigger : Function not implemented (38)\n"
        );
        assert!(err.is_empty());
        #[cfg(feature = "utilities")]
        {
            let json = info_json(&ctx);
            assert!(json.starts_with(
            r#"{"name":"xml","description":"d","version":{"major":0,"minor":24,"git_tag":"v0.24"},"attributes":{"k":"v"},"devices":[{"id":"iio:device0","name":"adc","label":"L","is_trigger":false,"buffer_capable":true,"trigger":{"error":"Function not implemented","errno":38,"#
        ));
            assert!(json.contains(
            r#"{"id":"voltage0","name":"vccint","label":null,"direction":"input","type":"voltage","modifier":null,"scan_index":0,"format":"le:s12/16>>4","scale":0.5,"attributes":{"raw":{"error":"Function not implemented","errno":38,"#
        ));
            assert!(json.ends_with("}}]}"));
        }
    }
}
