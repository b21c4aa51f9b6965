//! Caisse-AP (Concert V3) tag-length-value fields: a 2-character tag (A-Z, 0-9), a 3-digit ASCII
//! length, then that many value bytes. Messages have no length prefix, so the parser is
//! incremental: feed whatever each read returned and collect fields as they complete.

use std::fmt;

/// One field.
#[derive(Clone, PartialEq, Eq)]
pub struct Field {
    pub tag: [u8; 2],
    pub value: Vec<u8>,
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?}",
            String::from_utf8_lossy(&self.tag),
            String::from_utf8_lossy(&self.value)
        )
    }
}

impl Field {
    pub fn new(tag: &str, value: impl Into<Vec<u8>>) -> Self {
        let t = tag.as_bytes();
        Field {
            tag: [t[0], t[1]],
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    #[error("byte {byte:#04x} at offset {offset} is not a tag character (A-Z, 0-9)")]
    BadTag { byte: u8, offset: usize },
    #[error("byte {byte:#04x} at offset {offset} is not a length digit")]
    BadLength { byte: u8, offset: usize },
    #[error("value of {0} bytes does not fit a 3-digit length")]
    TooLong(usize),
    #[error("message ends inside a field")]
    Truncated,
}

/// Encodes fields in order.
pub fn encode(fields: &[Field]) -> Result<Vec<u8>, TlvError> {
    let mut out = Vec::new();
    for f in fields {
        if f.value.len() > 999 {
            return Err(TlvError::TooLong(f.value.len()));
        }
        out.extend_from_slice(&f.tag);
        out.extend_from_slice(format!("{:03}", f.value.len()).as_bytes());
        out.extend_from_slice(&f.value);
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Tag(usize),
    Length(usize),
    Value,
    Failed,
}

/// Incremental parser. After an error it stays failed: the message is garbled.
#[derive(Debug, Clone)]
pub struct TlvParser {
    state: State,
    tag: [u8; 2],
    length: usize,
    value: Vec<u8>,
    offset: usize,
    error: Option<TlvError>,
}

impl Default for TlvParser {
    fn default() -> Self {
        TlvParser {
            state: State::Tag(0),
            tag: [0; 2],
            length: 0,
            value: Vec::new(),
            offset: 0,
            error: None,
        }
    }
}

impl TlvParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no field is partly read: the bytes so far are a whole number of fields.
    pub fn at_boundary(&self) -> bool {
        self.state == State::Tag(0)
    }

    /// Feeds bytes; returns the fields completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Field>, TlvError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut fields = Vec::new();
        for &b in bytes {
            let offset = self.offset;
            self.offset += 1;
            match self.state {
                State::Tag(i) => {
                    if !(b.is_ascii_uppercase() || b.is_ascii_digit()) {
                        return Err(self.fail(TlvError::BadTag { byte: b, offset }));
                    }
                    self.tag[i] = b;
                    self.state = if i == 0 {
                        State::Tag(1)
                    } else {
                        State::Length(0)
                    };
                    self.length = 0;
                }
                State::Length(i) => {
                    if !b.is_ascii_digit() {
                        return Err(self.fail(TlvError::BadLength { byte: b, offset }));
                    }
                    self.length = self.length * 10 + usize::from(b - b'0');
                    if i < 2 {
                        self.state = State::Length(i + 1);
                    } else if self.length == 0 {
                        fields.push(Field {
                            tag: self.tag,
                            value: Vec::new(),
                        });
                        self.state = State::Tag(0);
                    } else {
                        self.value = Vec::with_capacity(self.length);
                        self.state = State::Value;
                    }
                }
                State::Value => {
                    self.value.push(b);
                    if self.value.len() == self.length {
                        fields.push(Field {
                            tag: self.tag,
                            value: std::mem::take(&mut self.value),
                        });
                        self.state = State::Tag(0);
                    }
                }
                State::Failed => unreachable!("a failed parser returns before this loop"),
            }
        }
        Ok(fields)
    }

    fn fail(&mut self, e: TlvError) -> TlvError {
        self.state = State::Failed;
        self.error = Some(e.clone());
        e
    }
}

/// Parses a complete message.
pub fn decode(bytes: &[u8]) -> Result<Vec<Field>, TlvError> {
    let mut p = TlvParser::new();
    let fields = p.push(bytes)?;
    if !p.at_boundary() {
        return Err(TlvError::Truncated);
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Annotated fixture: a 12.50 EUR debit request.
    //   CZ 004 0320          protocol version
    //   CJ 012 000000000001  our register's id
    //   CA 002 01            terminal number
    //   CB 004 1250          amount in cents
    //   CE 003 978           EUR
    //   CD 001 0             debit
    const REQUEST: &[u8] = b"CZ0040320CJ012000000000001CA00201CB0041250CE003978CD0010";

    #[test]
    fn parses_the_annotated_request() {
        let fields = decode(REQUEST).unwrap();
        let tags: Vec<_> = fields
            .iter()
            .map(|f| String::from_utf8_lossy(&f.tag).into_owned())
            .collect();
        assert_eq!(tags, ["CZ", "CJ", "CA", "CB", "CE", "CD"]);
        assert_eq!(fields[3].value, b"1250");
        assert_eq!(encode(&fields).unwrap(), REQUEST, "encode inverts decode");
    }

    #[test]
    fn incremental_parsing_gives_the_same_fields_for_every_split() {
        let whole = decode(REQUEST).unwrap();
        for a in 0..REQUEST.len() {
            for b in a..=REQUEST.len() {
                let mut p = TlvParser::new();
                let mut got = p.push(&REQUEST[..a]).unwrap();
                got.extend(p.push(&REQUEST[a..b]).unwrap());
                got.extend(p.push(&REQUEST[b..]).unwrap());
                assert_eq!(got, whole, "split at {a}/{b}");
                assert!(p.at_boundary());
            }
        }
    }

    #[test]
    fn partial_and_corrupt_messages() {
        let mut p = TlvParser::new();
        assert_eq!(
            p.push(b"CZ00403").unwrap(),
            vec![],
            "a field in progress yields nothing"
        );
        assert!(!p.at_boundary(), "mid-field is not a message boundary");
        assert_eq!(decode(b"CZ00403"), Err(TlvError::Truncated));
        assert_eq!(
            decode(b"cz0040320"),
            Err(TlvError::BadTag {
                byte: b'c',
                offset: 0
            })
        );
        assert_eq!(
            decode(b"CZ0x40320"),
            Err(TlvError::BadLength {
                byte: b'x',
                offset: 3
            })
        );
        let mut p = TlvParser::new();
        assert!(p.push(b"C\x05").is_err());
        assert!(
            p.push(b"CZ0040320").is_err(),
            "a failed parser stays failed"
        );
        assert_eq!(
            decode(b"AF000").unwrap(),
            vec![Field::new("AF", "")],
            "empty values are legal"
        );
    }
}
