//! libiio 0.x's text protocol, both directions: command lines (built by clients, refusing
//! names the server's lexer would read differently; parsed by servers) and replies (decimal
//! codes, length-framed payloads).
//!
//! A command is one line: words separated by spaces, ended by `\r\n`. iiod's lexer accepts
//! a word of `[-_.A-Za-z0-9]` characters, optionally prefixed by `iio:` or by letters and a
//! comma (`phy,model`); keywords are all upper or all lower case. After the device it reads
//! `DEBUG`, `BUFFER`, `INPUT`, `OUTPUT` and `BUFFERS_COUNT` as keywords, and `CYCLIC`
//! wherever an attribute may stand. A name outside that language cannot be addressed:
//! sending it would either be refused (`-22`) or, worse, address something else (`WRITE dev
//! buffer 4` writes *all* buffer attributes). Such names are refused here, before anything
//! is sent. Replies: `N\n` (a count, or `-errno`), payloads as `LEN\n` + LEN bytes + `\n`.

use super::{AttrGroup, Command, Reply};
use crate::attr_loc::AttrLoc;
use crate::error::{Error, Result};
use crate::network::conn::{Conn, Deadline};
use std::fmt::Write as _;

/// Longest reply line accepted where a number is expected.
const MAX_LINE: usize = 64;

/// Why a name cannot be put on a command line, or `Ok`.
pub(crate) fn check_word(kind: &str, word: &str) -> std::result::Result<(), String> {
    if is_word(word) {
        return Ok(());
    }
    let shown = word.escape_debug();
    let body = match word.strip_prefix("iio:") {
        Some(rest) => rest,
        None => match word.split_once(',') {
            Some((prefix, _))
                if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                return Err(format!(
                    "{kind} '{shown}' cannot be sent in iiod's text protocol (only letters may come before a comma)"
                ));
            }
            Some((_, rest)) => rest,
            None => word,
        },
    };
    match body.chars().find(|c| !is_word_char(*c)) {
        Some(c) => Err(format!(
            "{kind} '{shown}' cannot be sent in iiod's text protocol (it contains {c:?})"
        )),
        None => Err(format!("{kind} '{shown}' is empty")),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Whether the lexer reads `word` as one WORD: `(([[:alpha:]]+,)|(iio:))?[-_.[:alnum:]]+`.
fn is_word(word: &str) -> bool {
    let body = if let Some(rest) = word.strip_prefix("iio:") {
        rest
    } else if let Some((prefix, rest)) = word.split_once(',') {
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_alphabetic()) {
            return false;
        }
        rest
    } else {
        word
    };
    !body.is_empty() && body.chars().all(is_word_char)
}

/// A keyword in its two accepted spellings.
fn is_kw(word: &str, kw: &str) -> bool {
    word == kw || word.eq_ignore_ascii_case(kw) && word.bytes().all(|b| !b.is_ascii_uppercase())
}

/// Whether the lexer reads this word as a keyword where a channel selector or an attribute
/// may start (after the device).
fn is_selector_keyword(word: &str) -> bool {
    [
        "DEBUG",
        "BUFFER",
        "INPUT",
        "OUTPUT",
        "BUFFERS_COUNT",
        "CYCLIC",
    ]
    .iter()
    .any(|kw| is_kw(word, kw))
}

/// The part of a READ/WRITE line after the verb: `DEV [DEBUG|BUFFER|INPUT CHN|OUTPUT CHN] ATTR`.
pub(crate) fn attr_target(loc: &AttrLoc<'_>) -> std::result::Result<String, String> {
    let (dev, selector, name) = match loc {
        AttrLoc::Device { dev, name } => (*dev, String::new(), *name),
        AttrLoc::Buffer { dev, name } => (*dev, "BUFFER ".to_string(), *name),
        AttrLoc::Debug { dev, name } => (*dev, "DEBUG ".to_string(), *name),
        AttrLoc::Event { .. } => {
            return Err("event attributes have no command in iiod's text protocol".into())
        }
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
    // Right after the device the lexer reads the selector keywords; after a selector only
    // CYCLIC is a keyword.
    let keyword = match loc {
        AttrLoc::Device { .. } => is_selector_keyword(name),
        _ => is_kw(name, "CYCLIC"),
    };
    if keyword {
        return Err(format!(
            "attribute '{name}' cannot be addressed in iiod's text protocol (the server reads it as a keyword)"
        ));
    }
    Ok(format!("{dev} {selector}{name}"))
}

/// The part of a read-all/write-all line after the verb: `DEV [DEBUG|BUFFER|INPUT CHN|OUTPUT
/// CHN]`.
fn group_target(group: &AttrGroup<'_>) -> std::result::Result<String, String> {
    check_word("device", group.dev())?;
    Ok(match group {
        AttrGroup::Device { dev } => dev.to_string(),
        AttrGroup::Debug { dev } => format!("{dev} DEBUG"),
        AttrGroup::Buffer { dev } => format!("{dev} BUFFER"),
        AttrGroup::Channel {
            dev,
            channel,
            output,
        } => {
            check_word("channel", channel)?;
            let dir = if *output { "OUTPUT" } else { "INPUT" };
            format!("{dev} {dir} {channel}")
        }
    })
}

/// `READ <target>\r\n`.
pub(crate) fn read_command(loc: &AttrLoc<'_>) -> std::result::Result<String, String> {
    Ok(format!("READ {}\r\n", attr_target(loc)?))
}

/// `WRITE <target> <len>\r\n`; the value bytes follow it.
pub(crate) fn write_command(loc: &AttrLoc<'_>, len: u64) -> std::result::Result<String, String> {
    Ok(format!("WRITE {} {len}\r\n", attr_target(loc)?))
}

/// `GETTRIG DEV\r\n`.
pub(crate) fn gettrig_command(dev: &str) -> std::result::Result<String, String> {
    check_word("device", dev)?;
    Ok(format!("GETTRIG {dev}\r\n"))
}

/// `SETTRIG DEV [TRIGGER]\r\n`. The server finds the trigger by id, name or label.
pub(crate) fn settrig_command(
    dev: &str,
    trigger: Option<&str>,
) -> std::result::Result<String, String> {
    check_word("device", dev)?;
    match trigger {
        None => Ok(format!("SETTRIG {dev}\r\n")),
        Some(t) => {
            check_word("trigger", t)?;
            Ok(format!("SETTRIG {dev} {t}\r\n"))
        }
    }
}

/// Client side: appends the command line (and a write's value) to `out`.
pub(crate) fn encode(cmd: &Command<'_>, value: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let refused = |reason: String| Error::InvalidValue {
        what: cmd.describe(),
        reason,
    };
    let dev_word = |dev: &str| check_word("device", dev).map_err(refused);
    let line = match cmd {
        Command::Print { zstd: true } => "ZPRINT\r\n".to_string(),
        Command::Print { zstd: false } => "PRINT\r\n".to_string(),
        Command::Timeout { ms } => format!("TIMEOUT {ms}\r\n"),
        Command::ReadAttr(loc) => read_command(loc).map_err(refused)?,
        Command::WriteAttr { loc, len } => {
            if *len != value.len() as u64 {
                return Err(refused(format!(
                    "{len} bytes announced, {} given",
                    value.len()
                )));
            }
            write_command(loc, *len).map_err(refused)?
        }
        Command::ReadAll(group) => format!("READ {}\r\n", group_target(group).map_err(refused)?),
        Command::WriteAll { group, len } => {
            if *len != value.len() as u64 {
                return Err(refused(format!(
                    "{len} bytes announced, {} given",
                    value.len()
                )));
            }
            format!("WRITE {} {len}\r\n", group_target(group).map_err(refused)?)
        }
        Command::GetTrig { dev } => gettrig_command(dev).map_err(refused)?,
        Command::SetTrig { dev, trigger } => settrig_command(dev, *trigger).map_err(refused)?,
        Command::Version => "VERSION\r\n".to_string(),
        Command::Binary => "BINARY\r\n".to_string(),
        // An empty line first ends a half-sent command, as libiio does.
        Command::Exit => "\r\nEXIT\r\n".to_string(),
        Command::Help => "HELP\r\n".to_string(),
        Command::Open {
            dev,
            samples,
            mask,
            cyclic,
        } => {
            dev_word(dev)?;
            if mask.is_empty() || !mask.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(refused(format!("'{mask}' is not a hex channel mask")));
            }
            let cyclic = if *cyclic { " CYCLIC" } else { "" };
            format!("OPEN {dev} {samples} {mask}{cyclic}\r\n")
        }
        Command::Close { dev } => {
            dev_word(dev)?;
            format!("CLOSE {dev}\r\n")
        }
        Command::ReadBuf { dev, bytes } => {
            dev_word(dev)?;
            format!("READBUF {dev} {bytes}\r\n")
        }
        Command::WriteBuf { dev, bytes } => {
            dev_word(dev)?;
            format!("WRITEBUF {dev} {bytes}\r\n")
        }
        Command::SetBuffersCount { dev, count } => {
            dev_word(dev)?;
            format!("SET {dev} BUFFERS_COUNT {count}\r\n")
        }
        Command::Nop => {
            return Err(Error::Unsupported {
                backend: "network",
                what: "NOP in the text protocol".into(),
            })
        }
    };
    out.extend_from_slice(line.as_bytes());
    if let Command::WriteAttr { .. } | Command::WriteAll { .. } = cmd {
        // Command line and value in one write: the value is length-framed, so whatever it
        // holds (spaces, newlines) cannot be read as a command.
        out.extend_from_slice(value);
    }
    Ok(())
}

/// Client side: reads the reply to `cmd`. READBUF's chunked reply and WRITEBUF's second
/// answer are the buffer stream's to read; HELP's free text and EXIT's silence are not read.
pub(crate) fn read_reply(
    conn: &mut Conn,
    cmd: &Command<'_>,
    max: usize,
    deadline: Deadline,
) -> Result<std::result::Result<Reply, i64>> {
    let what = cmd.describe();
    let int = |conn: &mut Conn| read_int(conn, &what, deadline);
    match cmd {
        Command::Version => {
            let line = conn.read_line_with(max.max(1), &what, deadline, |l| l.to_vec())?;
            let text = String::from_utf8(line)
                .map_err(|_| conn.proto_err(&what, "the version is not text"))?;
            Ok(Ok(Reply::Version(text)))
        }
        Command::Print { .. }
        | Command::ReadAttr(_)
        | Command::ReadAll(_)
        | Command::GetTrig { .. } => {
            let n = int(conn)?;
            if n < 0 {
                return Ok(Err(n));
            }
            if n == 0 {
                if let Command::GetTrig { .. } = cmd {
                    return Ok(Ok(Reply::Trigger(None)));
                }
            }
            let len = usize::try_from(n).unwrap_or(usize::MAX);
            let payload = conn.read_payload(len, max, &what, deadline)?;
            conn.expect_newline(&what, deadline)?;
            if let Command::GetTrig { .. } = cmd {
                let name = super::decode_value(&payload).map_err(|r| conn.proto_err(&what, r))?;
                return Ok(Ok(Reply::Trigger(Some(name))));
            }
            Ok(Ok(Reply::Data(payload)))
        }
        Command::Exit | Command::Help | Command::ReadBuf { .. } | Command::Nop => {
            Err(conn.proto_err(&what, "no reply of this command is read here"))
        }
        _ => {
            let n = int(conn)?;
            Ok(if n < 0 { Err(n) } else { Ok(Reply::Code(n)) })
        }
    }
}

/// Reads a reply line and parses it as a number (`-errno`, a count, a status).
pub(crate) fn read_int(conn: &mut Conn, what: &str, deadline: Deadline) -> Result<i64> {
    let parsed = conn.read_line_with(MAX_LINE, what, deadline, parse_int)?;
    parsed.map_err(|reason| conn.proto_err(what, reason))
}

/// Server side: the command of one line (its `\r\n` or `\n` already removed), by iiod's
/// grammar; `None` for anything else (iiod answers `-22` and reads the next line). Devices,
/// channels and triggers are named as the client wrote them (id, name or label): resolving
/// them is the server's job. A channel attribute's `filename` is left empty.
pub(crate) fn parse_line(line: &str) -> Option<Command<'_>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let line = line.trim_end_matches([' ', '\t']);
    if line.starts_with([' ', '\t']) {
        return None;
    }
    let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
    let (&verb, rest) = words.split_first()?;
    let number = |w: &str| -> Option<u64> {
        (!w.is_empty() && w.len() <= 19 && w.bytes().all(|b| b.is_ascii_digit()))
            .then(|| w.parse().ok())
            .flatten()
    };
    let word = |w: &&str| is_word(w);
    if !rest.iter().all(word) {
        return None;
    }
    let kw = |w: &str, k: &str| is_kw(w, k);
    Some(match (verb, rest) {
        (v, []) if kw(v, "VERSION") => Command::Version,
        (v, []) if kw(v, "PRINT") => Command::Print { zstd: false },
        (v, []) if kw(v, "ZPRINT") => Command::Print { zstd: true },
        (v, []) if kw(v, "EXIT") || kw(v, "QUIT") => Command::Exit,
        (v, []) if kw(v, "HELP") => Command::Help,
        (v, []) if kw(v, "BINARY") => Command::Binary,
        (v, [ms]) if kw(v, "TIMEOUT") => Command::Timeout {
            ms: i32::try_from(number(ms)?).ok()?,
        },
        (v, [dev, samples, mask]) if kw(v, "OPEN") => Command::Open {
            dev,
            samples: number(samples)?,
            mask,
            cyclic: false,
        },
        (v, [dev, samples, mask, c]) if kw(v, "OPEN") && kw(c, "CYCLIC") => Command::Open {
            dev,
            samples: number(samples)?,
            mask,
            cyclic: true,
        },
        (v, [dev]) if kw(v, "CLOSE") => Command::Close { dev },
        (v, [dev, bytes]) if kw(v, "READBUF") => Command::ReadBuf {
            dev,
            bytes: number(bytes)?,
        },
        (v, [dev, bytes]) if kw(v, "WRITEBUF") => Command::WriteBuf {
            dev,
            bytes: number(bytes)?,
        },
        (v, [dev]) if kw(v, "GETTRIG") => Command::GetTrig { dev },
        (v, [dev]) if kw(v, "SETTRIG") => Command::SetTrig { dev, trigger: None },
        (v, [dev, trig]) if kw(v, "SETTRIG") => Command::SetTrig {
            dev,
            trigger: Some(trig),
        },
        (v, [dev, b, count]) if kw(v, "SET") && kw(b, "BUFFERS_COUNT") => {
            Command::SetBuffersCount {
                dev,
                count: i64::try_from(number(count)?).ok()?,
            }
        }
        (v, [dev, target @ ..]) if kw(v, "READ") => match parse_target(dev, target) {
            Some(loc) => Command::ReadAttr(loc),
            None => Command::ReadAll(parse_group(dev, target)?),
        },
        (v, [dev, target @ .., len]) if kw(v, "WRITE") => {
            let len = number(len)?;
            match parse_target(dev, target) {
                Some(loc) => Command::WriteAttr { loc, len },
                None => Command::WriteAll {
                    group: parse_group(dev, target)?,
                    len,
                },
            }
        }
        _ => return None,
    })
}

/// `[DEBUG|BUFFER|INPUT CHN|OUTPUT CHN]` after a device, without an attribute: a whole
/// family (read all, write all).
fn parse_group<'a>(dev: &'a str, words: &[&'a str]) -> Option<AttrGroup<'a>> {
    match words {
        [] => Some(AttrGroup::Device { dev }),
        [k] if is_kw(k, "DEBUG") => Some(AttrGroup::Debug { dev }),
        [k] if is_kw(k, "BUFFER") => Some(AttrGroup::Buffer { dev }),
        [k, channel] if is_kw(k, "INPUT") || is_kw(k, "OUTPUT") => Some(AttrGroup::Channel {
            dev,
            channel,
            output: is_kw(k, "OUTPUT"),
        }),
        _ => None,
    }
}

/// `[DEBUG|BUFFER|INPUT CHN|OUTPUT CHN] ATTR` after a device.
fn parse_target<'a>(dev: &'a str, words: &[&'a str]) -> Option<AttrLoc<'a>> {
    // Keywords as in `attr_target`: all the selectors right after the device, CYCLIC after.
    let attr = |w: &'a str| (!is_kw(w, "CYCLIC")).then_some(w);
    match words {
        [name] => Some(AttrLoc::Device {
            dev,
            name: (!is_selector_keyword(name)).then_some(*name)?,
        }),
        [k, name] if is_kw(k, "DEBUG") => Some(AttrLoc::Debug {
            dev,
            name: attr(name)?,
        }),
        [k, name] if is_kw(k, "BUFFER") => Some(AttrLoc::Buffer {
            dev,
            name: attr(name)?,
        }),
        [k, channel, name] if is_kw(k, "INPUT") || is_kw(k, "OUTPUT") => Some(AttrLoc::Channel {
            dev,
            channel,
            output: is_kw(k, "OUTPUT"),
            name: attr(name)?,
            filename: "",
        }),
        _ => None,
    }
}

/// Server side: appends a reply: `-errno\n`, a count, or a length-framed payload.
pub(crate) fn encode_reply(reply: std::result::Result<&Reply, i64>, out: &mut Vec<u8>) {
    let mut line = String::new();
    match reply {
        Err(code) => {
            let _ = writeln!(line, "{code}");
        }
        Ok(Reply::Code(n)) => {
            let _ = writeln!(line, "{n}");
        }
        Ok(Reply::Version(v)) => {
            line.push_str(v);
            line.push('\n');
        }
        Ok(Reply::Trigger(None)) => line.push_str("0\n"),
        Ok(Reply::Trigger(Some(name))) => {
            let _ = write!(line, "{}\n{name}\n", name.len());
        }
        Ok(Reply::Data(d)) => {
            let _ = writeln!(line, "{}", d.len());
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(d);
            out.push(b'\n');
            return;
        }
    }
    out.extend_from_slice(line.as_bytes());
}

/// Parses a reply line as the server's `%li`: an optional `-` and decimal digits.
pub(crate) fn parse_int(line: &[u8]) -> std::result::Result<i64, String> {
    let text = std::str::from_utf8(line).map_err(|_| "reply is not text".to_string())?;
    let t = text.trim_end_matches('\r');
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected a number, got '{}'", shorten(t)));
    }
    t.parse::<i64>().map_err(|e| e.to_string())
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
    use super::super::decode_value;
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
        for keyword in [
            "buffer",
            "DEBUG",
            "input",
            "OUTPUT",
            "cyclic",
            "BUFFERS_COUNT",
        ] {
            let loc = AttrLoc::Device {
                dev: "iio:device0",
                name: keyword,
            };
            assert!(write_command(&loc, 1).is_err(), "{keyword}");
        }
        // After a selector only CYCLIC is a keyword.
        assert!(read_command(&chan("input", "temp0")).is_ok());
        assert!(read_command(&chan("cyclic", "temp0")).is_err());
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
