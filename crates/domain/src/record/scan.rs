//! A one-pass check that bytes are already canonical JSON (see the parent module's docs),
//! without building a JSON tree and serializing it again.
//!
//! Reading a stored record is on the path of every record head office receives and of every
//! verification on a till; the full check (parse into a tree, serialize it, compare) costs as
//! much as the parse itself again. [`is_canonical`] is *strict*: it may say no to canonical
//! bytes it does not bother with (an escaped object key, nesting past [`MAX_DEPTH`]), and the caller then takes the full check, which also gives the exact
//! reason; it never says yes to bytes the full check would refuse. A property test in the
//! parent module holds it to that against the full check.

/// Deeper than this, the scan says no (the full check, with serde_json's own recursion
/// limit, decides).
const MAX_DEPTH: usize = 100;

/// Whether `bytes` are one JSON value exactly as serde_json would write it back: no
/// whitespace, object keys strictly ascending by their bytes (so no duplicates), strings with
/// serde_json's minimal escaping, integers that read back as integers, valid UTF-8.
pub(super) fn is_canonical(bytes: &[u8]) -> bool {
    let mut scan = Scan { bytes, at: 0 };
    std::str::from_utf8(bytes).is_ok() && scan.value(0) && scan.at == bytes.len()
}

struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, text: &[u8]) -> bool {
        if self.bytes[self.at..].starts_with(text) {
            self.at += text.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'a [u8]> = None;
        loop {
            // A key's bytes as written; one with an escape is left to the full check, which
            // compares keys unescaped.
            let Some((key, escaped)) = self.string() else {
                return false;
            };
            if escaped || previous.is_some_and(|p| p >= key) {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.value(depth + 1) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth + 1) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string as serde_json writes one: `"` and `\` escaped as `\"` and `\\`; control
    /// characters as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx` (lowercase hex) for the others;
    /// everything else raw. Returns its bytes between the quotes, and whether any is escaped.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        let bytes = self.bytes;
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let mut escaped = false;
        loop {
            match *bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some((&bytes[start..self.at - 1], escaped));
                }
                0x00..=0x1f => return None,
                b'\\' => {
                    escaped = true;
                    match *bytes.get(self.at + 1)? {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => self.at += 2,
                        b'u' => {
                            let hex = bytes.get(self.at + 2..self.at + 6)?;
                            let low = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'f');
                            let [b'0', b'0', high, last] = *hex else {
                                return None;
                            };
                            if !matches!(high, b'0' | b'1') || !low(last) {
                                return None;
                            }
                            // The five with a short escape are never written as `\u00xx`.
                            let code = (high - b'0') * 16
                                + if last.is_ascii_digit() {
                                    last - b'0'
                                } else {
                                    last - b'a' + 10
                                };
                            if matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            self.at += 6;
                        }
                        _ => return None,
                    }
                }
                _ => self.at += 1,
            }
        }
    }

    /// An integer as serde_json writes one: no leading zero, no `-0`, no fraction or exponent
    /// (those read back as floats, which records refuse), and within the range serde_json reads
    /// as an integer (`i64` when negative, `u64` otherwise).
    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = &self.bytes[start..self.at];
        // Digits of one length compare as numbers do.
        let (most, limit): (usize, &[u8]) = if negative {
            (19, b"9223372036854775808")
        } else {
            (20, b"18446744073709551615")
        };
        let fits = digits.len() < most || (digits.len() == most && digits <= limit);
        !digits.is_empty()
            && fits
            && (digits[0] != b'0' || (digits.len() == 1 && !negative))
            && !matches!(self.peek(), Some(b'.' | b'e' | b'E'))
    }
}

#[cfg(test)]
mod tests {
    use super::is_canonical;
    use crate::record::parse_canonical;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The full check's verdict: what the scan must never be more lenient than.
    fn fully_canonical(bytes: &[u8]) -> bool {
        parse_canonical(bytes).is_ok()
    }

    #[test]
    fn canonical_bytes_pass_and_every_other_form_of_them_fails() {
        let yes: [&[u8]; 10] = [
            br#"{}"#,
            br#"[]"#,
            br#"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            br#"-12"#,
            br#"0"#,
            br#""\"\\\b\t\n\f\r\u0000\u001f""#.as_slice(),
            "\"é \u{2028} \u{7f}\"".as_bytes(),
            br#"{"A":1,"a":2,"b":3}"#,
            br#"18446744073709551615"#,
            br#"-9223372036854775808"#,
        ];
        for bytes in yes {
            assert!(fully_canonical(bytes), "{}", String::from_utf8_lossy(bytes));
            assert!(is_canonical(bytes), "{}", String::from_utf8_lossy(bytes));
        }
        let no: [&[u8]; 23] = [
            br#"{"b":1,"a":2}"#,
            br#"{"a":1,"a":2}"#,
            br#"{ "a":1}"#,
            br#"{"a":1} "#,
            br#"[1,2,]"#,
            br#"-0"#,
            br#"01"#,
            br#"1.0"#,
            br#"1e5"#,
            br#"1E5"#,
            br#"18446744073709551616"#,
            br#"-9223372036854775809"#,
            br#""\/""#,
            br#""\u0041""#,
            br#""\u000a""#,
            br#""\u001F""#,
            br#""\u007f""#,
            b"\"\x01\"",
            b"\"\xff\"",
            br#"tru"#,
            br#"{"a"}"#,
            br#""abc"#,
            br#""#,
        ];
        for bytes in no {
            assert!(!is_canonical(bytes), "{}", String::from_utf8_lossy(bytes));
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            "(\\PC|[\u{0}-\u{1f}\"\\\\/\u{7f}\u{2028}])*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z_é\"\\\\\u{1}]{0,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Canonical bytes of any value pass, unless they hold what the scan leaves to the
        /// full check (an escaped key).
        #[test]
        fn the_canonical_bytes_of_any_value_pass(value in json_value()) {
            let bytes = serde_json::to_vec(&value).unwrap();
            let escaped_key = bytes.windows(2).any(|w| w == b"\\\"" || w == b"\\\\" || w == b"\\u");
            prop_assert!(is_canonical(&bytes) || escaped_key);
        }

        /// Whatever one changes in canonical bytes (a byte replaced, inserted or removed), the
        /// scan never passes what the full check refuses.
        #[test]
        fn the_scan_never_passes_what_the_full_check_refuses(
            value in json_value(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![
                Just(b' '), Just(b'"'), Just(b'\\'), Just(b'0'), Just(b'-'), Just(b'.'),
                Just(b'e'), Just(b','), Just(b'}'), Just(b']'), Just(b'u'), Just(b'/'),
                Just(0x01u8), Just(0xc3), Just(0xff), any::<u8>(),
            ],
            edit in 0..3u8,
        ) {
            let mut bytes = serde_json::to_vec(&value).unwrap();
            let i = at.index(bytes.len() + 1);
            match edit {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.push(byte),
            }
            if is_canonical(&bytes) {
                prop_assert!(fully_canonical(&bytes), "{}", String::from_utf8_lossy(&bytes));
            }
        }
    }
}
