//! Integer attribute values parse as libiio parses them (`strtoll(s, &end, 0)` with the whole
//! string consumed): checked against glibc's own `strtoll`, called through Python's ctypes
//! (no C compiler, no unsafe Rust), over generated strings that mix digits, base prefixes,
//! signs and white space. Without python3 the test says it is skipped.

use ferroio::FromAttr;
use std::io::Write;
use std::process::{Command, Stdio};

/// glibc's verdict on each string: `Some(value)` when `strtoll(s, &end, 0)` consumed it all
/// (after dropping trailing white space, as attribute reads do) without `ERANGE`.
fn glibc(strings: &[String]) -> Option<Vec<Option<i64>>> {
    let script = r#"
import ctypes, ctypes.util, sys, json
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.strtoll.restype = ctypes.c_longlong
libc.strtoll.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
for line in sys.stdin:
    s = json.loads(line).rstrip(" \t\n\v\f\r").encode()
    buf = ctypes.create_string_buffer(s)
    end = ctypes.c_char_p()
    ctypes.set_errno(0)
    v = libc.strtoll(ctypes.cast(buf, ctypes.c_char_p), ctypes.byref(end), 0)
    used = ctypes.cast(end, ctypes.c_void_p).value - ctypes.addressof(buf)
    ok = len(s) > 0 and used == len(s) and ctypes.get_errno() == 0
    print(v if ok else "None")
"#;
    let mut child = match Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("skipped: python3 cannot be run ({e})");
            return None;
        }
    };
    let mut input = String::new();
    for s in strings {
        input.push_str(&json_string(s));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "python3 failed");
    let text = String::from_utf8(out.stdout).unwrap();
    Some(
        text.lines()
            .map(|l| {
                if l == "None" {
                    None
                } else {
                    Some(l.parse().unwrap())
                }
            })
            .collect(),
    )
}

/// A JSON string literal of ASCII text.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn integer_attributes_parse_as_glibc_strtoll() {
    let alphabet = [
        "0", "1", "7", "8", "9", "a", "f", "g", "x", "X", "+", "-", " ", "\t", "0x", "-0x",
    ];
    let mut strings: Vec<String> = [
        "0x-5",
        "0x+5",
        "+-5",
        "0x",
        "-0x",
        "08",
        "077",
        "0x7fffffffffffffff",
        "-0x8000000000000000",
        "9223372036854775808",
        "-9223372036854775809",
        "  42",
        "42  ",
        "\u{b}12",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..4000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 7) as usize;
        let mut s = String::new();
        let mut y = x;
        for _ in 0..len {
            y = y.rotate_left(9) ^ 0x9e37_79b9_7f4a_7c15;
            s.push_str(alphabet[(y % alphabet.len() as u64) as usize]);
        }
        strings.push(s);
    }
    let Some(theirs) = glibc(&strings) else {
        return;
    };
    assert_eq!(theirs.len(), strings.len());
    let mut accepted = 0;
    for (s, want) in strings.iter().zip(&theirs) {
        assert_eq!(i64::from_attr(s), *want, "{s:?}");
        accepted += want.is_some() as usize;
    }
    // The generator must reach both outcomes often.
    assert!(
        accepted > 300 && accepted < strings.len() - 300,
        "{accepted}"
    );
}
