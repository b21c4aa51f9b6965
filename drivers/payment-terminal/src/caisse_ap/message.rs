//! Caisse-AP request and response messages on top of the TLV fields.

use super::tlv::Field;
use crate::request::Kind;

pub const VERSION: &str = "0320";

/// A decoded message: fields in wire order, looked up by tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub fields: Vec<Field>,
}

impl Message {
    pub fn get(&self, tag: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|f| f.tag == tag.as_bytes())
            .map(|f| f.value.as_slice())
    }

    pub fn text(&self, tag: &str) -> Option<String> {
        self.get(tag)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn has_all(&self, tags: &[&str]) -> bool {
        tags.iter().all(|t| self.get(t).is_some())
    }
}

/// Tags a request must carry before the terminal can act on it.
pub const REQUEST_TAGS: &[&str] = &["CZ", "CJ", "CA", "CB", "CE", "CD"];
/// A response is complete once it says what happened and echoes what it happened to: terminal
/// number, amount, kind and currency. An answer without them proves nothing. `CF` is not
/// required: real terminals answer it with their own private data, not our reference.
pub const RESPONSE_TAGS: &[&str] = &["AE", "CA", "CB", "CD", "CE"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub register_id: String,
    pub terminal: u8,
    pub amount_cents: u64,
    pub currency: String,
    pub kind: Kind,
    /// BA: `true` asks for an answer at once (`1`), `false` at the end (`0`).
    pub answer_at_once: bool,
    /// BF: accept a partial payment.
    pub allow_partial: bool,
    /// CF: private data; we send our reference, but terminals answer their own (no echo).
    pub reference: Option<String>,
    /// CK 100: ask for the customer receipt.
    pub want_receipt: bool,
}

impl Request {
    pub fn to_fields(&self) -> Vec<Field> {
        let mut f = vec![
            Field::new("CZ", VERSION),
            Field::new("CJ", self.register_id.as_bytes()),
            Field::new("CA", format!("{:02}", self.terminal)),
            Field::new("CB", self.amount_cents.to_string()),
            Field::new("CE", self.currency.as_bytes()),
            Field::new("CD", [self.kind.code()]),
            Field::new("BA", if self.answer_at_once { "1" } else { "0" }),
        ];
        if self.allow_partial {
            f.push(Field::new("BF", "1"));
        }
        if let Some(r) = &self.reference {
            f.push(Field::new("CF", r.as_bytes()));
        }
        if self.want_receipt {
            f.push(Field::new("CK", "100"));
        }
        f
    }

    /// Reads a request (the simulator's side); the error names the missing or bad field.
    pub fn from_message(m: &Message) -> Result<Request, String> {
        let text = |tag: &str| m.text(tag).ok_or_else(|| format!("missing {tag}"));
        let number = |tag: &str| -> Result<u64, String> {
            let t = text(tag)?;
            if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{tag} is not a number: {t:?}"));
            }
            t.parse().map_err(|_| format!("{tag} out of range"))
        };
        let kind = m
            .get("CD")
            .and_then(|v| (v.len() == 1).then(|| Kind::from_code(v[0])).flatten());
        Ok(Request {
            register_id: text("CJ")?,
            terminal: u8::try_from(number("CA")?).map_err(|_| "CA out of range".to_string())?,
            amount_cents: number("CB")?,
            currency: text("CE")?,
            kind: kind.ok_or("CD is not 0, 1 or 2")?,
            answer_at_once: m.get("BA") == Some(b"1"),
            allow_partial: m.get("BF") == Some(b"1"),
            reference: m.text("CF"),
            want_receipt: m.get("CK").is_some(),
        })
    }
}
