//! XML 1.0's lexical rules, shared by the document parser (`parse.rs`) and the DTD reader
//! (`dtd.rs`): which characters a document may hold, names, white space, the built-in and
//! character references, and positions as line and column.

/// The chars XML 1.0 allows in a document (production `Char`).
pub(super) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

pub(super) fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic()
        || c == '_'
        || c == ':'
        || (c >= '\u{C0}'
            && c != '\u{D7}'
            && c != '\u{F7}'
            && !matches!(c, '\u{2000}'..='\u{206F}'))
}

pub(super) fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.' || c == '\u{B7}'
}

pub(super) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

pub(super) fn is_space_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// 1-based line and column (in characters) of byte `offset` of `text`. A line ends at LF,
/// CR LF or a lone CR, as XML's end-of-line handling has it.
pub(super) fn locate(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut line_start = 0;
    for (i, &b) in bytes[..offset].iter().enumerate() {
        let newline = match b {
            b'\n' => true,
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            _ => false,
        };
        if newline {
            line += 1;
            line_start = i + 1;
        }
    }
    (line, text[line_start..offset].chars().count() + 1)
}

/// What a character or predefined-entity reference (`name` between `&` and `;`) stands
/// for; `Ok(None)` for a name that is none of those.
pub(super) fn resolve_builtin(name: &str) -> std::result::Result<Option<char>, String> {
    let code = if let Some(hex) = name.strip_prefix("#x") {
        u32::from_str_radix(hex, 16)
            .ok()
            .filter(|_| !hex.is_empty() && !hex.starts_with('+'))
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse::<u32>()
            .ok()
            .filter(|_| !dec.is_empty() && !dec.starts_with('+'))
    } else {
        return match name {
            "lt" => Ok(Some('<')),
            "gt" => Ok(Some('>')),
            "amp" => Ok(Some('&')),
            "apos" => Ok(Some('\'')),
            "quot" => Ok(Some('"')),
            _ if is_name(name) => Ok(None),
            _ => Err(format!("malformed reference '&{name};'")),
        };
    };
    code.and_then(char::from_u32)
        .filter(|&c| is_xml_char(c))
        .map(Some)
        .ok_or_else(|| format!("character reference '&{name};' is not an XML character"))
}
