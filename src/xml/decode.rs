//! Turning the bytes of an XML document into text as libxml2 does before libiio sees it:
//! UTF-8 (with or without BOM), UTF-16 with a BOM, ISO-8859-1 when the XML declaration
//! says so; anything else is an error with the position where it went wrong.

use super::lex::locate;
use std::borrow::Cow;

/// Where a decoding problem is: line, column, message.
pub(super) type DecodeError = (usize, usize, String);

/// Turns the input into text: UTF-8 (with or without BOM), UTF-16 with a BOM, or ISO-8859-1
/// when the XML declaration says so.
pub(super) fn decode(bytes: &[u8]) -> std::result::Result<Cow<'_, str>, DecodeError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return decode_utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    match declared_encoding(bytes) {
        None => decode_utf8(bytes),
        Some(enc) => {
            let lower = enc.to_ascii_lowercase();
            match lower.as_str() {
                "utf-8" | "utf8" | "us-ascii" | "ascii" => decode_utf8(bytes),
                "iso-8859-1" | "latin1" | "latin-1" | "iso_8859-1" | "iso8859-1" => {
                    Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
                }
                _ => {
                    let at = find(bytes, enc.as_bytes()).unwrap_or(0);
                    let prefix = String::from_utf8_lossy(&bytes[..at]);
                    let (line, column) = locate(&prefix, prefix.len());
                    Err((
                        line,
                        column,
                        format!("unsupported encoding '{enc}' (UTF-8, UTF-16 and ISO-8859-1 are)"),
                    ))
                }
            }
        }
    }
}

fn decode_utf8(bytes: &[u8]) -> std::result::Result<Cow<'_, str>, DecodeError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(e) => {
            let good = e.valid_up_to();
            // The prefix is valid UTF-8 by construction.
            let prefix = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
            let (line, column) = locate(prefix, prefix.len());
            Err((
                line,
                column,
                format!(
                    "the input is not valid UTF-8 (byte 0x{:02X} at offset {good})",
                    bytes[good]
                ),
            ))
        }
    }
}

fn decode_utf16(
    bytes: &[u8],
    unit: fn([u8; 2]) -> u16,
) -> std::result::Result<Cow<'static, str>, DecodeError> {
    let units = bytes.chunks(2).map(|c| match c {
        [a, b] => Ok(unit([*a, *b])),
        _ => Err(()),
    });
    let mut out = String::with_capacity(bytes.len());
    let mut pending = Vec::new();
    for u in units {
        match u {
            Ok(u) => pending.push(u),
            Err(()) => {
                let (line, column) = locate(&out, out.len());
                return Err((
                    line,
                    column,
                    "UTF-16 input with an odd number of bytes".into(),
                ));
            }
        }
    }
    for c in char::decode_utf16(pending) {
        match c {
            Ok(c) => out.push(c),
            Err(e) => {
                let (line, column) = locate(&out, out.len());
                return Err((
                    line,
                    column,
                    format!(
                        "invalid UTF-16: unpaired surrogate 0x{:04X}",
                        e.unpaired_surrogate()
                    ),
                ));
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// The `encoding` of an XML declaration at the very start of the input, if any.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(256)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = find(head, b"?>")?;
    let decl = &head[..end];
    let at = find(decl, b"encoding")? + "encoding".len();
    let rest = &decl[at..];
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let rest = rest.strip_prefix(b"=")?;
    let rest = &rest[rest.iter().position(|b| !b.is_ascii_whitespace())?..];
    let quote = *rest.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &rest[1..];
    let close = value.iter().position(|&b| b == quote)?;
    Some(String::from_utf8_lossy(&value[..close]).into_owned())
}

/// Where `needle` first occurs in `hay`.
pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
