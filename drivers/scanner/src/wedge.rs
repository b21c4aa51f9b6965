//! Keyboard-wedge scanners on French keyboards.
//!
//! A scanner set to a US layout sends the key codes of the digit row without Shift; on an
//! AZERTY keyboard those keys type `& é " ' ( - è _ ç à` instead of `1 2 3 4 5 6 7 8 9 0`.
//! We accept both: real digits pass through, the AZERTY characters map back to their digits.

/// The characters the unshifted AZERTY digit row types, for 1, 2, ..., 9, 0.
pub const AZERTY_DIGIT_ROW: [char; 10] = ['&', 'é', '"', '\'', '(', '-', 'è', '_', 'ç', 'à'];

/// The digit for one typed character, if it is a digit or an AZERTY digit-row character.
pub fn digit_of(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    let i = AZERTY_DIGIT_ROW.iter().position(|&a| a == c)?;
    // Position 0..=8 is 1..=9, position 9 is 0.
    char::from_digit(u32::try_from((i + 1) % 10).ok()?, 10)
}

/// The digits of a numeric code (EAN, UPC...) typed either way, or `None` if any character is
/// neither a digit nor an AZERTY digit-row character (then it is not a numeric code, and the
/// caller should keep the input as typed). Surrounding whitespace (the final Enter) is ignored.
pub fn azerty_digits(typed: &str) -> Option<String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return None;
    }
    typed.chars().map(digit_of).collect()
}

/// Maps every AZERTY digit-row character to its digit and keeps every other character: for
/// inputs known to be numeric where stray characters should be seen, not rejected.
pub fn normalize_azerty_digits(typed: &str) -> String {
    typed.chars().map(|c| digit_of(c).unwrap_or(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_row_table() {
        let table = [
            ('&', '1'),
            ('é', '2'),
            ('"', '3'),
            ('\'', '4'),
            ('(', '5'),
            ('-', '6'),
            ('è', '7'),
            ('_', '8'),
            ('ç', '9'),
            ('à', '0'),
        ];
        for (typed, digit) in table {
            assert_eq!(
                digit_of(typed),
                Some(digit),
                "{typed} is the AZERTY key for {digit}"
            );
            assert_eq!(
                digit_of(digit),
                Some(digit),
                "a real {digit} is accepted as is"
            );
        }
    }

    #[test]
    fn codes_table() {
        let cases = [
            ("(&&'\"-&\"\"\"ç\"&", Some("5114361333931")), // EAN-13 typed on AZERTY
            ("5114361333931", Some("5114361333931")),      // same code, US keyboard
            ("'àà-\"_&\"\"\"ç\"&\n", Some("4006381333931")), // with the final Enter
            ("37èààà&23'(-_", Some("3770001234568")),      // mixed (keyboard switched)
            ("ABC-123", None),                             // not a numeric code
            ("", None),
            ("   ", None),
        ];
        for (typed, want) in cases {
            assert_eq!(azerty_digits(typed).as_deref(), want, "{typed:?}");
        }
        assert_eq!(normalize_azerty_digits("ABC-&é\""), "ABC6123");
    }
}
