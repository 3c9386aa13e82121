//! C's integer parsing as libiio relies on it: `strtoll(s, &end, 0)` where the caller then
//! requires `*end == '\0'`. One function, so attribute values (`FromAttr`) and XML scan
//! indexes agree on every string, including the odd ones (`0x-5`, `+-5`, `0x`, `08`).

/// Parses `s` as `strtoll(s, &end, 0)` does when the whole string must be the number:
/// leading C white space, an optional sign, then `0x`/`0X` and hex digits, or `0` and octal
/// digits, or decimal digits; nothing after. A sign belongs before the base prefix only
/// (`0x-5` is `0` followed by junk). Values outside `i64` (C's `ERANGE`) are `None`.
pub(crate) fn strtoll_whole(s: &str) -> Option<i64> {
    let (negative, magnitude) = sign_and_magnitude(s)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// An unsigned 64-bit value by the same rules (up to `u64::MAX`, `0xffffffffffffffff`);
/// negative numbers are refused rather than wrapped as `strtoull` would.
pub(crate) fn strtoull_whole(s: &str) -> Option<u64> {
    match sign_and_magnitude(s)? {
        (true, m) if m != 0 => None,
        (_, m) => Some(m),
    }
}

/// The sign and the magnitude of a whole-string C integer.
fn sign_and_magnitude(s: &str) -> Option<(bool, u64)> {
    let t = s.trim_start_matches(is_c_space);
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let b = body.as_bytes();
    let (digits, radix) = if b.len() > 2 && b[0] == b'0' && matches!(b[1], b'x' | b'X') {
        (&body[2..], 16)
    } else if b.len() > 1 && b[0] == b'0' {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    // `from_str_radix` would take a sign here: only digits may follow the prefix.
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    Some((negative, u64::from_str_radix(digits, radix).ok()?))
}

/// C's `isspace` in the "C" locale.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

#[cfg(test)]
mod tests {
    use super::{strtoll_whole as p, strtoull_whole};

    #[test]
    fn the_c_rules() {
        assert_eq!(p("42"), Some(42));
        assert_eq!(p("-42"), Some(-42));
        assert_eq!(p("+42"), Some(42));
        assert_eq!(p(" \t\n42"), Some(42));
        assert_eq!(p("0x1f"), Some(31));
        assert_eq!(p("0X1F"), Some(31));
        assert_eq!(p("-0x10"), Some(-16));
        assert_eq!(p("010"), Some(8));
        assert_eq!(p("0"), Some(0));
        assert_eq!(p("-0"), Some(0));
        assert_eq!(p("9223372036854775807"), Some(i64::MAX));
        assert_eq!(p("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(p("-0x8000000000000000"), Some(i64::MIN));
        for junk in [
            "",
            " ",
            "-",
            "+",
            "0x",
            "0x-5",
            "0x+5",
            "+-5",
            "-+5",
            "--5",
            "08",
            "0b1",
            "1e3",
            "42 ",
            "4 2",
            "0xg",
            "9223372036854775808",
            "-9223372036854775809",
            "0x1_0",
        ] {
            assert_eq!(p(junk), None, "{junk:?}");
        }
        assert_eq!(strtoull_whole("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(strtoull_whole("18446744073709551615"), Some(u64::MAX));
        assert_eq!(strtoull_whole("-0"), Some(0));
        assert_eq!(strtoull_whole("-1"), None);
        assert_eq!(strtoull_whole("0x+5"), None);
    }
}
