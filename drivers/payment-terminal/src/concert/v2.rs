//! Concert V2 (protocol E and E+) messages: fixed-width ASCII fields.
//!
//! Request (E+ 34 chars; E stops after the private field, 26 chars):
//! terminal number (2) amount in cents (8) IND (1) mode (1) type (1) currency (3) private (10)
//! delay (4, `A010`/`A011`) authorisation (4, `B010`/`B011`).
//! Response: terminal number (2) status (1) amount (8) mode (1) [card data (55)] currency (3)
//! private (10): 80 chars with card data, 25 without (83 and 28 bytes once framed).

use crate::request::Kind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Request {
    pub terminal: u8,
    pub amount_cents: u64,
    /// IND: `1` asks for card data in the answer.
    pub return_card_data: bool,
    /// `1` card, `C` cheque.
    pub mode: u8,
    pub kind: Kind,
    pub currency: [u8; 3],
    /// Exactly 10 bytes, space padded.
    pub private: [u8; 10],
    /// E+ fields; `None` for protocol E.
    pub extended: Option<Extended>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extended {
    /// `A011`: answer at once instead of at the end of the transaction.
    pub answer_at_once: bool,
    /// `B011`: force an authorisation call.
    pub forced_authorisation: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Response {
    pub terminal: u8,
    /// `0` accepted, `7` refused, `9` handled in A011 mode.
    pub status: u8,
    pub amount_cents: u64,
    pub mode: u8,
    /// 55 bytes when present.
    pub card_data: Option<Vec<u8>>,
    pub currency: [u8; 3],
    pub private: [u8; 10],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V2Error {
    #[error("message of {0} bytes: expected {1}")]
    Length(usize, &'static str),
    #[error("field {field} is not numeric: {value:?}")]
    NotNumeric { field: &'static str, value: String },
    #[error("field {field} has unknown value {value:?}")]
    BadValue { field: &'static str, value: String },
    #[error("value out of range for field {0}")]
    Range(&'static str),
}

fn digits(field: &'static str, bytes: &[u8]) -> Result<u64, V2Error> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(V2Error::NotNumeric {
            field,
            value: String::from_utf8_lossy(bytes).into_owned(),
        });
    }
    bytes
        .iter()
        .try_fold(0u64, |acc, b| {
            acc.checked_mul(10)
                .and_then(|a| a.checked_add(u64::from(b - b'0')))
        })
        .ok_or(V2Error::Range(field))
}

fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [b' '; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// Pads or truncates to a 10-byte private field.
pub fn private_field(text: &str) -> [u8; 10] {
    let mut out = [b' '; 10];
    for (slot, b) in out.iter_mut().zip(text.bytes()) {
        *slot = b;
    }
    out
}

fn check_currency(bytes: &[u8]) -> Result<[u8; 3], V2Error> {
    digits("currency", bytes)?;
    Ok(fixed(bytes))
}

impl V2Request {
    pub fn encode(&self) -> Result<Vec<u8>, V2Error> {
        if self.terminal > 99 {
            return Err(V2Error::Range("terminal number"));
        }
        if self.amount_cents > 99_999_999 {
            return Err(V2Error::Range("amount"));
        }
        let mut out = format!("{:02}{:08}", self.terminal, self.amount_cents).into_bytes();
        out.push(if self.return_card_data { b'1' } else { b'0' });
        out.push(self.mode);
        out.push(self.kind.code());
        out.extend_from_slice(&self.currency);
        out.extend_from_slice(&self.private);
        if let Some(e) = self.extended {
            out.extend_from_slice(if e.answer_at_once { b"A011" } else { b"A010" });
            out.extend_from_slice(if e.forced_authorisation {
                b"B011"
            } else {
                b"B010"
            });
        }
        Ok(out)
    }

    pub fn decode(m: &[u8]) -> Result<Self, V2Error> {
        if m.len() != 26 && m.len() != 34 {
            return Err(V2Error::Length(m.len(), "26 (protocol E) or 34 (E+)"));
        }
        let terminal = digits("terminal number", &m[0..2])? as u8;
        let amount_cents = digits("amount", &m[2..10])?;
        let return_card_data = match m[10] {
            b'0' => false,
            b'1' => true,
            v => {
                return Err(V2Error::BadValue {
                    field: "IND",
                    value: (v as char).to_string(),
                });
            }
        };
        let mode = m[11];
        let kind = Kind::from_code(m[12]).ok_or_else(|| V2Error::BadValue {
            field: "type",
            value: (m[12] as char).to_string(),
        })?;
        let currency = check_currency(&m[13..16])?;
        let private = fixed(&m[16..26]);
        let extended = if m.len() == 34 {
            let answer_at_once = match &m[26..30] {
                b"A010" => false,
                b"A011" => true,
                v => {
                    return Err(V2Error::BadValue {
                        field: "delay",
                        value: String::from_utf8_lossy(v).into_owned(),
                    });
                }
            };
            let forced_authorisation = match &m[30..34] {
                b"B010" => false,
                b"B011" => true,
                v => {
                    return Err(V2Error::BadValue {
                        field: "authorisation",
                        value: String::from_utf8_lossy(v).into_owned(),
                    });
                }
            };
            Some(Extended {
                answer_at_once,
                forced_authorisation,
            })
        } else {
            None
        };
        Ok(V2Request {
            terminal,
            amount_cents,
            return_card_data,
            mode,
            kind,
            currency,
            private,
            extended,
        })
    }
}

impl V2Response {
    pub fn encode(&self) -> Result<Vec<u8>, V2Error> {
        if self.terminal > 99 {
            return Err(V2Error::Range("terminal number"));
        }
        if self.amount_cents > 99_999_999 {
            return Err(V2Error::Range("amount"));
        }
        let mut out = format!("{:02}", self.terminal).into_bytes();
        out.push(self.status);
        out.extend_from_slice(format!("{:08}", self.amount_cents).as_bytes());
        out.push(self.mode);
        if let Some(card) = &self.card_data {
            let mut field = [b' '; 55];
            for (slot, b) in field.iter_mut().zip(card) {
                *slot = *b;
            }
            out.extend_from_slice(&field);
        }
        out.extend_from_slice(&self.currency);
        out.extend_from_slice(&self.private);
        Ok(out)
    }

    pub fn decode(m: &[u8]) -> Result<Self, V2Error> {
        let card_len = match m.len() {
            25 => 0,
            80 => 55,
            n => {
                return Err(V2Error::Length(
                    n,
                    "25 (without card data) or 80 (with card data)",
                ));
            }
        };
        let terminal = digits("terminal number", &m[0..2])? as u8;
        let status = m[2];
        let amount_cents = digits("amount", &m[3..11])?;
        let mode = m[11];
        let card_data = (card_len > 0).then(|| m[12..12 + card_len].to_vec());
        let rest = &m[12 + card_len..];
        let currency = check_currency(&rest[0..3])?;
        let private = fixed(&rest[3..13]);
        Ok(V2Response {
            terminal,
            status,
            amount_cents,
            mode,
            card_data,
            currency,
            private,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_spec_example_for_12_50_eur() {
        let req = V2Request {
            terminal: 1,
            amount_cents: 1250,
            return_card_data: true,
            mode: b'1',
            kind: Kind::Debit,
            currency: *b"978",
            private: private_field(""),
            extended: Some(Extended {
                answer_at_once: false,
                forced_authorisation: false,
            }),
        };
        let bytes = req.encode().unwrap();
        assert_eq!(
            bytes, b"0100001250110978          A010B010",
            "spec example, 34 chars E+"
        );
        assert_eq!(
            V2Request::decode(&bytes).unwrap(),
            req,
            "decode inverts encode"
        );
        let mut plain_e = req.clone();
        plain_e.extended = None;
        assert_eq!(
            plain_e.encode().unwrap().len(),
            26,
            "protocol E stops after the private field"
        );
    }

    #[test]
    fn decodes_both_response_sizes() {
        // Annotated fixture, 28-byte answer without card data:
        //   "01" terminal  "7" refused  "00001313" amount  "1" card  "978" EUR  "REF0000042" private
        let short = V2Response::decode(b"017000013131978REF0000042").unwrap();
        assert_eq!(
            (short.terminal, short.status, short.amount_cents),
            (1, b'7', 1313)
        );
        assert_eq!(short.card_data, None);
        assert_eq!(&short.private, b"REF0000042");
        let card = format!("{:<55}", "497010XXXXXX0019 2812");
        let long = format!("010000012501{card}978          ");
        let r = V2Response::decode(long.as_bytes()).unwrap();
        assert_eq!(r.card_data.as_deref(), Some(card.as_bytes()));
        assert_eq!(
            r.encode().unwrap(),
            long.as_bytes(),
            "encode inverts decode"
        );
    }

    #[test]
    fn rejects_malformed_messages() {
        assert!(matches!(
            V2Response::decode(b"short"),
            Err(V2Error::Length(5, _))
        ));
        assert!(matches!(
            V2Response::decode(b"0170000X3131978REF0000042"),
            Err(V2Error::NotNumeric {
                field: "amount",
                ..
            })
        ));
        assert!(matches!(
            V2Request::decode(b"0100001250110978          A099B010"),
            Err(V2Error::BadValue { field: "delay", .. })
        ));
        assert!(matches!(
            V2Request::decode(b"0100001250119978          A010B010"),
            Err(V2Error::BadValue { field: "type", .. })
        ));
    }
}
