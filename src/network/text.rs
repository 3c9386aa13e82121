//! The iiod text protocol of libiio 0.x as pure functions: building command lines (refusing
//! names the server's lexer would read differently), and decoding replies. No I/O here.
//!
//! A command is one line: words separated by spaces, ended by `\r\n`. The server's lexer
//! accepts a word of `[-_.A-Za-z0-9]` characters, optionally prefixed by `iio:` or by letters
//! and a comma (`phy,model`), and reads the words `DEBUG`, `BUFFER`,
//! `INPUT` and `OUTPUT` (upper or lower case) as keywords where they can start a selector.
//! A name outside that language cannot be addressed: sending it would either be refused
//! (`-22`) or, worse, address something else (`WRITE dev buffer 4` writes *all* buffer
//! attributes). Such names are refused here, before anything is sent.

use crate::backend::AttrLoc;

/// Why a name cannot be put on a command line, or `Ok`.
pub(crate) fn check_word(kind: &str, word: &str) -> Result<(), String> {
    let body = if let Some(rest) = word.strip_prefix("iio:") {
        rest
    } else if let Some((prefix, rest)) = word.split_once(',') {
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!(
                "{kind} '{}' cannot be sent in iiod's text protocol (only letters may come before a comma)",
                word.escape_debug()
            ));
        }
        rest
    } else {
        word
    };
    if body.is_empty() {
        return Err(format!("{kind} '{}' is empty", word.escape_debug()));
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "{kind} '{}' cannot be sent in iiod's text protocol (it contains {:?})",
            word.escape_debug(),
            c
        ));
    }
    Ok(())
}

/// Whether the lexer reads this word as a selector keyword.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "DEBUG" | "debug" | "BUFFER" | "buffer" | "INPUT" | "input" | "OUTPUT" | "output"
    )
}

/// The part of a READ/WRITE line after the verb: `DEV [DEBUG|BUFFER|INPUT CHN|OUTPUT CHN] ATTR`.
pub(crate) fn attr_target(loc: &AttrLoc<'_>) -> Result<String, String> {
    let (dev, selector, name) = match loc {
        AttrLoc::Device { dev, name } => {
            if is_keyword(name) {
                return Err(format!(
                    "device attribute '{name}' cannot be addressed in iiod's text protocol (the server reads it as a keyword)"
                ));
            }
            (*dev, String::new(), *name)
        }
        AttrLoc::Buffer { dev, name } => (*dev, "BUFFER ".to_string(), *name),
        AttrLoc::Event { .. } => {
            return Err("event attributes have no command in iiod's text protocol".into())
        }
        AttrLoc::Debug { dev, name } => (*dev, "DEBUG ".to_string(), *name),
        AttrLoc::Channel {
            dev,
            channel,
            output,
            name,
            ..
        } => {
            check_word("channel", channel)?;
            let dir = if *output { "OUTPUT" } else { "INPUT" };
            (*dev, format!("{dir} {channel} "), *name)
        }
    };
    check_word("device", dev)?;
    check_word("attribute", name)?;
    Ok(format!("{dev} {selector}{name}"))
}

/// `READ <target>\r\n`.
pub(crate) fn read_command(loc: &AttrLoc<'_>) -> Result<String, String> {
    Ok(format!("READ {}\r\n", attr_target(loc)?))
}

/// `WRITE <target> <len>\r\n`; the value bytes follow it.
pub(crate) fn write_command(loc: &AttrLoc<'_>, len: usize) -> Result<String, String> {
    Ok(format!("WRITE {} {len}\r\n", attr_target(loc)?))
}

/// `GETTRIG DEV\r\n`.
pub(crate) fn gettrig_command(dev: &str) -> Result<String, String> {
    check_word("device", dev)?;
    Ok(format!("GETTRIG {dev}\r\n"))
}

/// `SETTRIG DEV [TRIGGER]\r\n`. The server finds the trigger by id, name or label.
pub(crate) fn settrig_command(dev: &str, trigger: Option<&str>) -> Result<String, String> {
    check_word("device", dev)?;
    match trigger {
        None => Ok(format!("SETTRIG {dev}\r\n")),
        Some(t) => {
            check_word("trigger", t)?;
            Ok(format!("SETTRIG {dev} {t}\r\n"))
        }
    }
}

/// Parses a reply line as the server's `%li`: an optional `-` and decimal digits.
pub(crate) fn parse_int(line: &[u8]) -> Result<i64, String> {
    let text = std::str::from_utf8(line).map_err(|_| "reply is not text".to_string())?;
    let t = text.trim_end_matches('\r');
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected a number, got '{}'", shorten(t)));
    }
    t.parse::<i64>().map_err(|e| e.to_string())
}

/// An attribute value as the backends hand it out: up to the first NUL, one trailing
/// newline removed, UTF-8.
pub(crate) fn decode_value(bytes: &[u8]) -> Result<String, String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut v = &bytes[..end];
    if v.last() == Some(&b'\n') {
        v = &v[..v.len() - 1];
    }
    String::from_utf8(v.to_vec()).map_err(|_| "the value is not UTF-8".to_string())
}

/// A channel mask as iiod writes it: 8 hex digits per 32 channels, most significant word
/// first. `words[0]` holds channels 0–31.
pub(crate) fn format_mask(words: &[u32]) -> String {
    words.iter().rev().map(|w| format!("{w:08x}")).collect()
}

/// A server's line cut to something printable in an error message.
pub(crate) fn shorten(s: &str) -> String {
    let cut: String = s.chars().take(40).collect();
    let cut = cut.escape_debug().to_string();
    if s.chars().count() > 40 {
        format!("{cut}...")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chan<'a>(name: &'a str, channel: &'a str) -> AttrLoc<'a> {
        AttrLoc::Channel {
            dev: "iio:device0",
            channel,
            output: false,
            name,
            filename: "",
        }
    }

    #[test]
    fn commands_as_libiio_sends_them() {
        let dev = AttrLoc::Device {
            dev: "iio:device0",
            name: "sampling_frequency",
        };
        assert_eq!(
            read_command(&dev).unwrap(),
            "READ iio:device0 sampling_frequency\r\n"
        );
        assert_eq!(
            read_command(&chan("raw", "voltage0")).unwrap(),
            "READ iio:device0 INPUT voltage0 raw\r\n"
        );
        let dbg = AttrLoc::Debug {
            dev: "iio:device0",
            name: "direct_reg_access",
        };
        assert_eq!(
            write_command(&dbg, 4).unwrap(),
            "WRITE iio:device0 DEBUG direct_reg_access 4\r\n"
        );
        let buf = AttrLoc::Buffer {
            dev: "iio:device0",
            name: "length",
        };
        assert_eq!(
            read_command(&buf).unwrap(),
            "READ iio:device0 BUFFER length\r\n"
        );
        assert_eq!(
            read_command(&chan("raw", "voltage2-voltage3")).unwrap(),
            "READ iio:device0 INPUT voltage2-voltage3 raw\r\n"
        );
        assert_eq!(
            gettrig_command("iio:device0").unwrap(),
            "GETTRIG iio:device0\r\n"
        );
        assert_eq!(
            settrig_command("iio:device0", Some("fake-trig")).unwrap(),
            "SETTRIG iio:device0 fake-trig\r\n"
        );
        assert_eq!(
            settrig_command("iio:device0", None).unwrap(),
            "SETTRIG iio:device0\r\n"
        );
        // Letters then a comma lex as one word; the real iiod answers -22 to anything else
        // before a comma (`ad9361-phy,model`, `ab1,cd`).
        let comma = |name| AttrLoc::Device {
            dev: "iio:device0",
            name,
        };
        assert!(read_command(&comma("ab,cd")).is_ok());
        assert!(read_command(&comma("ad9361-phy,model")).is_err());
        assert!(read_command(&comma("ab1,cd")).is_err());
    }

    #[test]
    fn names_that_would_break_the_line_are_refused() {
        for bad in [
            "raw 5",
            "raw\r\nEXIT",
            "raw\n",
            "ra\0w",
            "",
            "a/b",
            "a:b",
            "1,x",
            "ünï",
            "raw\tx",
        ] {
            assert!(read_command(&chan(bad, "voltage0")).is_err(), "{bad:?}");
            assert!(read_command(&chan("raw", bad)).is_err(), "{bad:?}");
            assert!(gettrig_command(bad).is_err(), "{bad:?}");
            assert!(
                settrig_command("iio:device0", Some(bad)).is_err(),
                "{bad:?}"
            );
        }
        for keyword in ["buffer", "DEBUG", "input", "OUTPUT"] {
            let loc = AttrLoc::Device {
                dev: "iio:device0",
                name: keyword,
            };
            assert!(write_command(&loc, 1).is_err(), "{keyword}");
        }
    }

    #[test]
    fn integers_and_values() {
        assert_eq!(parse_int(b"3189"), Ok(3189));
        assert_eq!(parse_int(b"-22"), Ok(-22));
        assert_eq!(parse_int(b"0\r"), Ok(0));
        for bad in [
            &b""[..],
            b"-",
            b"12a",
            b"ERROR: x",
            b"99999999999999999999",
            b" 1",
        ] {
            assert!(parse_int(bad).is_err(), "{bad:?}");
        }
        assert_eq!(decode_value(b"1234\0"), Ok("1234".into()));
        assert_eq!(decode_value(b"realtime\n\0junk"), Ok("realtime".into()));
        assert_eq!(decode_value(b"a b\n\n"), Ok("a b\n".into()));
        assert!(decode_value(b"\xff\xfe").is_err());
    }

    #[test]
    fn masks() {
        assert_eq!(format_mask(&[7]), "00000007");
        assert_eq!(format_mask(&[1, 0x8000_0000]), "8000000000000001");
    }
}
