//! Writing a snapshot as the XML libiio 0.24 writes (`iio_genxml`, the `PRINT` answer of
//! `iiod`): one line, 0.24's DTD, elements in snapshot order.
//!
//! The rules, checked against the real 0.24 `iio_genxml`:
//! - `<context>` always carries `version-major`, `version-minor`, `version-git`; a snapshot
//!   without a version gets 0.24's own (`0`, `24`, `v0.24`), as 0.24 does for sources that
//!   have none. The git tag is cut to 7 bytes (0.24 copies it through an 8-byte buffer).
//!   `description` is written only when not empty.
//! - Inside `<device>`: channels, then `attribute`, `buffer-attribute`, `debug-attribute`.
//!   Inside `<channel>`: the scan element, then the attributes with their `filename`.
//! - Channel labels (libiio 1.x XML, kept by the parser) are not written: 0.24's DTD has no
//!   place for them. An empty description is left out (0.24 writes `description=""` when a
//!   source had an empty one; the snapshot does not tell empty from absent).
//! - A scan element's format is printed as libiio prints it (`S`/`U` when fully defined,
//!   `X<repeat>` when repeated) with `>>` as `&gt;&gt;`; its scale, when present, with C's
//!   `%f`.
//! - 0.24 escapes `& < > " '` in the context description, context attribute values,
//!   channel ids and channel attribute file names, and nothing elsewhere. We do the same,
//!   except that `&`, `<` and `"` are escaped everywhere: in the other places 0.24 writes
//!   them raw and produces XML that does not read back (or reads back as something else).
//!   For every snapshot whose 0.24 output is well-formed the bytes are identical.

use crate::model::{ChannelData, ContextData, DeviceData, ScanData};
use std::fmt::Write as _;

/// The XML declaration and DTD libiio 0.24 starts every description with.
const HEADER: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    "<!DOCTYPE context [",
    "<!ELEMENT context (device | context-attribute)*>",
    "<!ELEMENT context-attribute EMPTY>",
    "<!ELEMENT device (channel | attribute | debug-attribute | buffer-attribute)*>",
    "<!ELEMENT channel (scan-element?, attribute*)>",
    "<!ELEMENT attribute EMPTY>",
    "<!ELEMENT scan-element EMPTY>",
    "<!ELEMENT debug-attribute EMPTY>",
    "<!ELEMENT buffer-attribute EMPTY>",
    "<!ATTLIST context name CDATA #REQUIRED version-major CDATA #REQUIRED ",
    "version-minor CDATA #REQUIRED version-git CDATA #REQUIRED description CDATA #IMPLIED>",
    "<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>",
    "<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED label CDATA #IMPLIED>",
    "<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED>",
    "<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>",
    "<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED>",
    "<!ATTLIST debug-attribute name CDATA #REQUIRED>",
    "<!ATTLIST buffer-attribute name CDATA #REQUIRED>",
    "]>"
);

/// The version libiio 0.24 reports for contexts whose source names none.
pub(crate) const LIBIIO_VERSION: (u32, u32, &str) = (0, 24, "v0.24");

/// Writes a snapshot as libiio 0.24's `iio_genxml` does.
pub(crate) fn write(data: &ContextData) -> String {
    let mut out = String::with_capacity(HEADER.len() + 256 + 128 * data.devices.len());
    out.push_str(HEADER);
    let (major, minor, git) = version_of(data);
    out.push_str("<context name=\"");
    escape_into(&mut out, &data.name, Escape::Minimal);
    let _ = write!(
        out,
        "\" version-major=\"{major}\" version-minor=\"{minor}\" version-git=\""
    );
    escape_into(&mut out, git, Escape::Minimal);
    out.push('"');
    if !data.description.is_empty() {
        out.push_str(" description=\"");
        escape_into(&mut out, &data.description, Escape::Full);
        out.push('"');
    }
    out.push_str(" >");
    for (name, value) in &data.attrs {
        out.push_str("<context-attribute name=\"");
        escape_into(&mut out, name, Escape::Minimal);
        out.push_str("\" value=\"");
        escape_into(&mut out, value, Escape::Full);
        out.push_str("\" />");
    }
    for dev in &data.devices {
        write_device(&mut out, dev);
    }
    out.push_str("</context>");
    out
}

/// The version libiio would report for the snapshot: its own, git tag cut to 7 bytes, or
/// 0.24's when it has none.
pub(crate) fn version_of(data: &ContextData) -> (u32, u32, &str) {
    match &data.version {
        Some((major, minor, git)) => {
            let mut end = git.len().min(7);
            while !git.is_char_boundary(end) {
                end -= 1;
            }
            (*major, *minor, &git[..end])
        }
        None => LIBIIO_VERSION,
    }
}

fn write_device(out: &mut String, dev: &DeviceData) {
    out.push_str("<device id=\"");
    escape_into(out, &dev.id, Escape::Minimal);
    out.push('"');
    if let Some(name) = &dev.name {
        out.push_str(" name=\"");
        escape_into(out, name, Escape::Minimal);
        out.push('"');
    }
    if let Some(label) = &dev.label {
        out.push_str(" label=\"");
        escape_into(out, label, Escape::Minimal);
        out.push('"');
    }
    out.push_str(" >");
    for chn in &dev.channels {
        write_channel(out, chn);
    }
    for (element, attrs) in [
        ("attribute", &dev.attrs),
        ("buffer-attribute", &dev.buffer_attrs),
        ("debug-attribute", &dev.debug_attrs),
    ] {
        for attr in attrs {
            let _ = write!(out, "<{element} name=\"");
            escape_into(out, &attr.name, Escape::Minimal);
            out.push_str("\" />");
        }
    }
    out.push_str("</device>");
}

fn write_channel(out: &mut String, chn: &ChannelData) {
    out.push_str("<channel id=\"");
    escape_into(out, &chn.id, Escape::Full);
    out.push('"');
    if let Some(name) = &chn.name {
        out.push_str(" name=\"");
        escape_into(out, name, Escape::Minimal);
        out.push('"');
    }
    out.push_str(if chn.output {
        " type=\"output\" >"
    } else {
        " type=\"input\" >"
    });
    // A scan element whose index or format could not be read is left out: 0.24 never
    // holds such a channel as a scan element.
    if let Some(ScanData {
        index: Ok(index),
        format: Some(format),
        scale,
        ..
    }) = &chn.scan
    {
        let printed = format.to_string().replace('>', "&gt;");
        let _ = write!(out, "<scan-element index=\"{index}\" format=\"{printed}\"");
        if let Some(scale) = scale {
            let _ = write!(out, " scale=\"{}\"", c_percent_f(*scale));
        }
        out.push_str(" />");
    }
    for attr in &chn.attrs {
        out.push_str("<attribute name=\"");
        escape_into(out, &attr.name, Escape::Minimal);
        out.push_str("\" filename=\"");
        escape_into(out, &attr.filename, Escape::Full);
        out.push_str("\" />");
    }
    out.push_str("</channel>");
}

/// A float as C's `printf("%f")` prints it: six decimals, `inf`, `nan`, `-nan`.
pub(crate) fn c_percent_f(v: f64) -> String {
    if v.is_nan() {
        if v.is_sign_negative() { "-nan" } else { "nan" }.to_string()
    } else {
        format!("{v:.6}")
    }
}

#[derive(Clone, Copy)]
enum Escape {
    /// 0.24's sanitising: `& < > " '`.
    Full,
    /// Where 0.24 writes text raw: only what would break the XML.
    Minimal,
}

fn escape_into(out: &mut String, text: &str, how: Escape) {
    let special = |c: char| match how {
        Escape::Full => matches!(c, '&' | '<' | '>' | '"' | '\''),
        Escape::Minimal => matches!(c, '&' | '<' | '"'),
    };
    let mut rest = text;
    while let Some(i) = rest.find(special) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or('&');
        out.push_str(match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            _ => "&apos;",
        });
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}
