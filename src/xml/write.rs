//! Writing a snapshot as the XML libiio 0.24 writes (`iio_genxml`, the `PRINT` answer of
//! `iiod`): one line, 0.24's DTD, elements in snapshot order; and, with [`write_v1`], as
//! libiio 1.x writes it (its rules are there).
//!
//! The rules, checked against the real 0.24 `iio_genxml`:
//! - `<context>` always carries `version-major`, `version-minor`, `version-git`; a snapshot
//!   without a version gets 0.24's own (`0`, `24`, `v0.24`), as 0.24 does for sources that
//!   have none. The git tag is cut to 7 bytes (0.24 copies it through an 8-byte buffer).
//!   `description` is written when the source gave one, an empty one included.
//! - Inside `<device>`: channels, then `attribute`, `buffer-attribute`, `debug-attribute`.
//!   Inside `<channel>`: the scan element, then the attributes with their `filename`.
//! - Channel labels (libiio 1.x XML, kept by the parser) are not written: 0.24's DTD has no
//!   place for them.
//! - A scan element's format is printed as libiio prints it (`S`/`U` when fully defined,
//!   `X<repeat>` when repeated) with `>>` as `&gt;&gt;`; its scale, when present, with C's
//!   `%f`.
//! - 0.24 escapes `& < > " '` in the context description, context attribute values,
//!   channel ids and channel attribute file names, and nothing elsewhere. We do the same,
//!   except that `&`, `<` and `"` are escaped everywhere: in the other places 0.24 writes
//!   them raw and produces XML that does not read back (or reads back as something else).
//!   For every snapshot whose 0.24 output is well-formed the bytes are identical.

use crate::model::{AttrData, ChannelData, ContextData, DeviceData, ScanData};
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

/// The XML declaration and DTD libiio 1.x (main, 4e3cfe61) starts every description with:
/// 0.24's, plus buffers, event attributes, channel labels and attribute values.
const HEADER_1: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    "<!DOCTYPE context [",
    "<!ELEMENT context (device | context-attribute)*>",
    "<!ELEMENT context-attribute EMPTY>",
    "<!ELEMENT device (channel | buffer | attribute | debug-attribute | event-attribute | ",
    "buffer-attribute)*>",
    "<!ELEMENT channel (scan-element?, attribute*, event-attribute*)>",
    "<!ELEMENT buffer (attribute*, channel+)>",
    "<!ELEMENT attribute EMPTY>",
    "<!ELEMENT scan-element EMPTY>",
    "<!ELEMENT debug-attribute EMPTY>",
    "<!ELEMENT event-attribute EMPTY>",
    "<!ELEMENT buffer-attribute EMPTY>",
    "<!ATTLIST context name CDATA #REQUIRED version-major CDATA #REQUIRED ",
    "version-minor CDATA #REQUIRED version-git CDATA #REQUIRED description CDATA #IMPLIED>",
    "<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>",
    "<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED label CDATA #IMPLIED>",
    "<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED ",
    "label CDATA #IMPLIED>",
    "<!ATTLIST buffer index CDATA #REQUIRED direction (in|out) #IMPLIED>",
    "<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>",
    "<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED value CDATA #IMPLIED>",
    "<!ATTLIST debug-attribute name CDATA #REQUIRED value CDATA #IMPLIED>",
    "<!ATTLIST event-attribute name CDATA #REQUIRED filename CDATA #IMPLIED ",
    "value CDATA #IMPLIED>",
    "<!ATTLIST buffer-attribute name CDATA #REQUIRED value CDATA #IMPLIED>",
    "]>"
);

/// The version libiio 1.x reports for contexts whose source names none: that of the
/// snapshot whose XML [`write_v1`] follows.
pub(crate) const LIBIIO1_VERSION: (u32, u32, &str) = (1, 0, "4e3cfe61");

/// The version libiio 0.24 reports for contexts whose source names none.
pub(crate) const LIBIIO_VERSION: (u32, u32, &str) = (0, 24, "v0.24");

/// Writes a snapshot as libiio 0.24's `iio_genxml` does.
pub(crate) fn write(data: &ContextData) -> String {
    let mut out = String::with_capacity(HEADER.len() + 256 + 128 * data.devices.len());
    out.push_str(HEADER);
    // libiio writes a description the source gave, an empty one included.
    let description =
        (data.has_description || !data.description.is_empty()).then_some(data.description.as_str());
    write_context_start(&mut out, &data.name, version_of(data), description);
    for (name, value) in &data.attrs {
        write_context_attr(&mut out, name, value);
    }
    for dev in &data.devices {
        write_device(&mut out, dev);
    }
    out.push_str("</context>");
    out
}

/// The version libiio 0.24 would report for the snapshot: its own, git tag cut to 7 bytes,
/// or 0.24's when it has none.
pub(crate) fn version_of(data: &ContextData) -> (u32, u32, &str) {
    version_cut(data, 7, LIBIIO_VERSION)
}

/// The version of the snapshot with the tag cut to `keep` bytes (libiio 0.24 hands it out
/// through an 8-byte buffer, 1.x through a 9-byte one), or `default` when it has none.
fn version_cut<'a>(
    data: &'a ContextData,
    keep: usize,
    default: (u32, u32, &'static str),
) -> (u32, u32, &'a str) {
    match &data.version {
        Some((major, minor, git)) => {
            let mut end = git.len().min(keep);
            while !git.is_char_boundary(end) {
                end -= 1;
            }
            (*major, *minor, &git[..end])
        }
        None => default,
    }
}

/// Writes a snapshot as libiio 1.x's `iio_genxml` does (main at 4e3cfe61, without `-e`):
/// 1.x's DTD; context attributes, channel, device, debug, buffer and event attributes each
/// sorted by name (1.x sorts every attribute list; channels and devices keep their order);
/// after a device's channels its buffers (`<buffer index="N" >`: buffer 0's attributes,
/// then the channels with a scan element), then its attributes, debug and event attributes,
/// and, for a device with a single buffer, that buffer's attributes again as 0.x's
/// `<buffer-attribute>` for older clients. A device has a buffer when the snapshot says so
/// or, as 1.x reads a 0.x description, when it has buffer attributes. The git tag is cut
/// to 8 bytes; a snapshot without a version gets [`LIBIIO1_VERSION`]. A network context is
/// named `ip`, with the server's address after its description, as 1.x's client has it.
pub(crate) fn write_v1(data: &ContextData) -> String {
    write_v1_with(data, true)
}

/// [`write_v1`] with every list in snapshot order: what `ferroio serve` sends binary
/// clients. libiio 1.x sorts the lists it reads (and addresses attributes by their sorted
/// position, as the server does), while a client that shows the lists as sent, as
/// ferroio's `info` does, shows the order the board has.
pub(crate) fn write_v1_unsorted(data: &ContextData) -> String {
    write_v1_with(data, false)
}

fn write_v1_with(data: &ContextData, sort: bool) -> String {
    let mut out = String::with_capacity(HEADER_1.len() + 256 + 160 * data.devices.len());
    out.push_str(HEADER_1);
    let (major, minor, git) = version_cut(data, 8, LIBIIO1_VERSION);
    // A network context: libiio 1.x names it `ip` and puts the server's address after its
    // description (0.x, whose view the snapshot holds: `network`, address first).
    let mut description = std::borrow::Cow::Borrowed(data.description.as_str());
    let name = if data.name == "network" {
        let addr = data.attrs.iter().find(|(k, _)| k == "ip,ip-addr");
        if let Some((_, addr)) = addr {
            if let Some(rest) = data.description.strip_prefix(addr.as_str()) {
                description = match rest.strip_prefix(' ') {
                    Some(rest) => format!("{rest} {addr}").into(),
                    None if rest.is_empty() => addr.as_str().into(),
                    None => description,
                };
            }
        }
        "ip"
    } else {
        data.name.as_str()
    };
    let description =
        (data.has_description || !description.is_empty()).then_some(description.as_ref());
    write_context_start(&mut out, name, (major, minor, git), description);
    let mut attrs: Vec<&(String, String)> = data.attrs.iter().collect();
    if sort {
        attrs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
    for (name, value) in attrs {
        write_context_attr(&mut out, name, value);
    }
    for dev in &data.devices {
        write_device_v1(&mut out, dev, sort);
    }
    out.push_str("</context>");
    out
}

/// `<context name=".." version-major=".." version-minor=".." version-git=".."` and the
/// description when there is one, then ` >` (libiio 0.24 and 1.x write the same bytes).
fn write_context_start(
    out: &mut String,
    name: &str,
    (major, minor, git): (u32, u32, &str),
    description: Option<&str>,
) {
    out.push_str("<context name=\"");
    escape_into(out, name, Escape::Minimal);
    let _ = write!(
        out,
        "\" version-major=\"{major}\" version-minor=\"{minor}\" version-git=\""
    );
    escape_into(out, git, Escape::Minimal);
    out.push('"');
    if let Some(d) = description {
        out.push_str(" description=\"");
        escape_into(out, d, Escape::Full);
        out.push('"');
    }
    out.push_str(" >");
}

fn write_context_attr(out: &mut String, name: &str, value: &str) {
    out.push_str("<context-attribute name=\"");
    escape_into(out, name, Escape::Minimal);
    out.push_str("\" value=\"");
    escape_into(out, value, Escape::Full);
    out.push_str("\" />");
}

/// An attribute list as libiio 1.x holds it: sorted by name (byte order), or as it is.
fn listed(attrs: &[AttrData], sort: bool) -> Vec<&AttrData> {
    let mut v: Vec<&AttrData> = attrs.iter().collect();
    if sort {
        v.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    }
    v
}

fn write_device_v1(out: &mut String, dev: &DeviceData, sort: bool) {
    let sorted = |attrs| listed(attrs, sort);
    write_device_start(out, dev);
    for chn in &dev.channels {
        write_channel_start(out, chn, true);
        for attr in sorted(&chn.attrs) {
            write_named(out, "attribute", &attr.name, Some(&attr.filename));
        }
        for attr in sorted(&chn.event_attrs) {
            write_named(out, "event-attribute", &attr.name, Some(&attr.filename));
        }
        out.push_str("</channel>");
    }
    let buffers = if dev.buffer_count == 0 && !dev.buffer_attrs.is_empty() {
        1
    } else {
        dev.buffer_count
    };
    for index in 0..buffers {
        let _ = write!(out, "<buffer index=\"{index}\" >");
        if index == 0 {
            for attr in sorted(&dev.buffer_attrs) {
                write_named(out, "attribute", &attr.name, None);
            }
        }
        for chn in dev.channels.iter().filter(|c| is_scan_element(c)) {
            out.push_str("<channel id=\"");
            escape_into(out, &chn.id, Escape::Minimal);
            out.push_str(if chn.output {
                "\" type=\"output\" />"
            } else {
                "\" type=\"input\" />"
            });
        }
        out.push_str("</buffer>");
    }
    for (element, attrs) in [
        ("attribute", &dev.attrs),
        ("debug-attribute", &dev.debug_attrs),
        ("event-attribute", &dev.event_attrs),
    ] {
        for attr in sorted(attrs) {
            write_named(out, element, &attr.name, None);
        }
    }
    if buffers == 1 {
        for attr in sorted(&dev.buffer_attrs) {
            write_named(out, "buffer-attribute", &attr.name, None);
        }
    }
    out.push_str("</device>");
}

/// `<ELEMENT name="NAME" filename="FILE" />` (no `filename` when `None`).
fn write_named(out: &mut String, element: &str, name: &str, filename: Option<&str>) {
    let _ = write!(out, "<{element} name=\"");
    escape_into(out, name, Escape::Minimal);
    out.push('"');
    if let Some(file) = filename {
        out.push_str(" filename=\"");
        escape_into(out, file, Escape::Full);
        out.push('"');
    }
    out.push_str(" />");
}

/// Whether the channel is written with a scan element (one whose index and format were
/// read: libiio never holds another as one).
fn is_scan_element(chn: &ChannelData) -> bool {
    matches!(
        &chn.scan,
        Some(ScanData {
            index: Ok(_),
            format: Some(_),
            ..
        })
    )
}

fn write_device_start(out: &mut String, dev: &DeviceData) {
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
}

/// `<channel ...>` and its scan element; `label` only in 1.x (0.24's DTD has no place for
/// it).
fn write_channel_start(out: &mut String, chn: &ChannelData, label: bool) {
    out.push_str("<channel id=\"");
    escape_into(out, &chn.id, Escape::Full);
    out.push('"');
    if let Some(name) = &chn.name {
        out.push_str(" name=\"");
        escape_into(out, name, Escape::Minimal);
        out.push('"');
    }
    if let (true, Some(l)) = (label, &chn.label) {
        out.push_str(" label=\"");
        escape_into(out, l, Escape::Minimal);
        out.push('"');
    }
    out.push_str(if chn.output {
        " type=\"output\" >"
    } else {
        " type=\"input\" >"
    });
    // A scan element whose index or format could not be read is left out: libiio never
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
}

fn write_device(out: &mut String, dev: &DeviceData) {
    write_device_start(out, dev);
    for chn in &dev.channels {
        write_channel_start(out, chn, false);
        for attr in &chn.attrs {
            write_named(out, "attribute", &attr.name, Some(&attr.filename));
        }
        out.push_str("</channel>");
    }
    for (element, attrs) in [
        ("attribute", &dev.attrs),
        ("buffer-attribute", &dev.buffer_attrs),
        ("debug-attribute", &dev.debug_attrs),
    ] {
        for attr in attrs {
            write_named(out, element, &attr.name, None);
        }
    }
    out.push_str("</device>");
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
