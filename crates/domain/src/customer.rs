//! The shop's customers: who they are (a name and a phone number or an e-mail address), how
//! contact details are checked and normalized, how a customer id is made, and how what the
//! cashier types becomes a search.
//!
//! Customers are personal data, so they are never part of a signed record: a ticket names the
//! customer by id only ([`crate::ticket::Ticket::customer`]), and a customer can be erased
//! without touching the ledger. Ids are made at the till, offline, from 16 random bytes given by
//! the caller (a random UUID), so two tills never make the same id.
//!
//! Phone numbers are parsed with libphonenumber's metadata (the `phonenumber` crate): a number
//! written the French way ("06 12 34 56 78") is read as a French number, one starting with `+` or
//! `00` as international; both are stored in E.164 form (`+33612345678`). A search for a phone
//! number matches the digits of the national form (`0612…`) and of the international one
//! (`33612…`), so the cashier can type it either way.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use phonenumber::{Mode, country};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::record::timestamp;

/// Longest name kept, in characters.
pub const MAX_NAME_CHARS: usize = 120;
/// Longest e-mail address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A customer as the till and head office store and exchange it (the `customer` kind of the
/// changes feed, and the customer upload of a till).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// A random UUID made by the till that created the customer.
    pub id: String,
    pub name: String,
    /// E.164 (`+33612345678`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// When the details last changed: between two versions of a customer, the later change
    /// wins, wherever it was made.
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Customer {
    /// Whether `self` replaces `other` (another version of the same customer): the later
    /// change wins; at the same instant the details decide, so every copy keeps the same one.
    pub fn supersedes(&self, other: &Customer) -> bool {
        (self.updated_at, self.contact_key()) > (other.updated_at, other.contact_key())
    }

    fn contact_key(&self) -> (&str, Option<&str>, Option<&str>) {
        (&self.name, self.phone.as_deref(), self.email.as_deref())
    }

    /// The checked contact details of this customer.
    pub fn contact(&self) -> Contact {
        Contact {
            name: self.name.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
        }
    }
}

/// Contact details as the cashier typed them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// Checked and normalized contact details: a trimmed name, an E.164 phone number, an e-mail
/// address with its domain in lower case; at least one of phone and e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// Why contact details were refused; each message says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CustomerError {
    #[error("give the customer's name")]
    NameMissing,
    #[error("the name is longer than {MAX_NAME_CHARS} characters: shorten it")]
    NameTooLong,
    #[error("give a phone number or an e-mail address, so the customer can be found again")]
    ContactMissing,
    #[error(
        "`{0}` is not a phone number: type a French number (06 12 34 56 78) or an international one starting with + (+44 20 7946 0958)"
    )]
    PhoneInvalid(String),
    #[error("`{0}` is not an e-mail address: check it (name@example.fr)")]
    EmailInvalid(String),
    #[error("`{0}` is not a customer id")]
    IdInvalid(String),
}

impl CustomerError {
    /// A stable code the UI and scripts can match on.
    pub fn code(&self) -> &'static str {
        match self {
            CustomerError::NameMissing => "customer_name_missing",
            CustomerError::NameTooLong => "customer_name_too_long",
            CustomerError::ContactMissing => "customer_contact_missing",
            CustomerError::PhoneInvalid(_) => "customer_phone_invalid",
            CustomerError::EmailInvalid(_) => "customer_email_invalid",
            CustomerError::IdInvalid(_) => "customer_id_invalid",
        }
    }
}

fn blank_to_none(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// Checks and normalizes what was typed: the whole input is refused on the first problem.
pub fn validate(input: &ContactInput) -> Result<Contact, CustomerError> {
    let name = input.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(CustomerError::NameMissing);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(CustomerError::NameTooLong);
    }
    let phone = blank_to_none(input.phone.as_deref())
        .map(normalize_phone)
        .transpose()?;
    let email = blank_to_none(input.email.as_deref())
        .map(normalize_email)
        .transpose()?;
    if phone.is_none() && email.is_none() {
        return Err(CustomerError::ContactMissing);
    }
    Ok(Contact { name, phone, email })
}

/// A phone number in E.164 form. Numbers without a country code are read as French; `00`
/// (the international prefix dialled from France) counts as `+`.
pub fn normalize_phone(text: &str) -> Result<String, CustomerError> {
    let invalid = || CustomerError::PhoneInvalid(text.trim().to_string());
    let trimmed = text.trim();
    let written = match trimmed.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => trimmed.to_string(),
    };
    if !written
        .chars()
        .all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
    {
        return Err(invalid());
    }
    let number = phonenumber::parse(Some(country::Id::FR), &written).map_err(|_| invalid())?;
    if !number.is_valid() {
        return Err(invalid());
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

/// An e-mail address with surrounding spaces removed and its domain in lower case (the local
/// part is the mail server's business, so it is kept as typed). A domain without a dot is
/// refused: at a shop counter it is a typing mistake.
pub fn normalize_email(text: &str) -> Result<String, CustomerError> {
    let trimmed = text.trim();
    let invalid = || CustomerError::EmailInvalid(trimmed.to_string());
    if trimmed.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid());
    }
    let address = email_address::EmailAddress::from_str(trimmed).map_err(|_| invalid())?;
    let domain = address.domain();
    let labels_ok = domain.split('.').count() > 1
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if !labels_ok {
        return Err(invalid());
    }
    Ok(format!(
        "{}@{}",
        address.local_part(),
        domain.to_lowercase()
    ))
}

/// A new customer id from 16 random bytes: a version 4 UUID, lower case.
pub fn new_id(random: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(random)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Checks that `text` is a customer id as [`new_id`] makes them (any UUID, lower case).
pub fn check_id(text: &str) -> Result<(), CustomerError> {
    match uuid::Uuid::try_parse(text) {
        Ok(id) if id.hyphenated().to_string() == text => Ok(()),
        _ => Err(CustomerError::IdInvalid(text.to_string())),
    }
}

/// Text folded for search: decomposed, accents and other combining marks dropped, lower case
/// ("Zoé LEFÈVRE" → "zoe lefevre").
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A stored (E.164) phone number as a French cashier reads it: the national form for a
/// French number (`06 12 34 56 78`), the international form otherwise (`+44 20 7946 0958`).
pub fn display_phone(e164: &str) -> String {
    match phonenumber::parse(None, e164) {
        Ok(number) if number.code().value() == 33 => {
            number.format().mode(Mode::National).to_string()
        }
        Ok(number) => number.format().mode(Mode::International).to_string(),
        Err(_) => e164.to_string(),
    }
}

/// The digit strings a phone number is found by: its national form as dialled in its country
/// (`0612345678`) and its international digits (`33612345678`).
pub fn phone_search_keys(e164: &str) -> Vec<String> {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let mut keys = vec![digits(e164)];
    if let Ok(number) = phonenumber::parse(None, e164) {
        let national = digits(&number.format().mode(Mode::National).to_string());
        if !national.is_empty() && !keys.contains(&national) {
            keys.insert(0, national);
        }
    }
    keys
}

/// What the cashier typed in the customer search, as search terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchQuery {
    /// Nothing to search for yet.
    Empty,
    /// Words (folded), each the start of a word of the name or the e-mail address.
    Words(Vec<String>),
    /// The start of a phone number, as digits: typed as a number (digits, spaces, dots,
    /// dashes, a leading `+` or `00`) with at least two digits.
    Phone(String),
}

/// Reads what was typed: a number is a phone search, anything else words of a name or e-mail.
pub fn search_query(text: &str) -> SearchQuery {
    let trimmed = text.trim();
    let phone_like = !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
        && trimmed.chars().any(|c| c.is_ascii_digit());
    if phone_like {
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let digits = match digits.strip_prefix("00") {
            Some(rest) if !trimmed.starts_with('+') => rest.to_string(),
            _ => digits,
        };
        return if digits.len() >= 2 {
            SearchQuery::Phone(digits)
        } else {
            SearchQuery::Empty
        };
    }
    let words: Vec<String> = fold(trimmed)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    if words.is_empty() {
        SearchQuery::Empty
    } else {
        SearchQuery::Words(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, phone: Option<&str>, email: Option<&str>) -> ContactInput {
        ContactInput {
            name: name.into(),
            phone: phone.map(Into::into),
            email: email.map(Into::into),
        }
    }

    #[test]
    fn french_and_international_numbers_become_e164() {
        for (typed, expected) in [
            ("06 12 34 56 78", "+33612345678"),
            ("0612345678", "+33612345678"),
            ("06.12.34.56.78", "+33612345678"),
            ("+33 6 12 34 56 78", "+33612345678"),
            ("0033 6 12 34 56 78", "+33612345678"),
            ("01 42 68 53 00", "+33142685300"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+1 (212) 555-0123", "+12125550123"),
            ("+49 30 901820", "+4930901820"),
        ] {
            assert_eq!(normalize_phone(typed).as_deref(), Ok(expected), "{typed}");
        }
    }

    #[test]
    fn numbers_that_cannot_be_dialled_are_refused_with_what_to_type() {
        for typed in [
            "12",
            "06 12 34",
            "06 12 34 56 78 90",
            "abc",
            "+33 6 12 34 56 7x",
        ] {
            let err = normalize_phone(typed).unwrap_err();
            assert_eq!(err.code(), "customer_phone_invalid", "{typed}");
            assert!(err.to_string().contains("06 12 34 56 78"), "{err}");
        }
    }

    #[test]
    fn email_addresses_are_checked_and_their_domain_lowered() {
        assert_eq!(
            normalize_email("  Zoe.Lefevre@Example.FR ").as_deref(),
            Ok("Zoe.Lefevre@example.fr")
        );
        for typed in [
            "zoe",
            "zoe@",
            "@example.fr",
            "zoe@example",
            "zoe@@example.fr",
            "zoe @example.fr",
            "zoe@example..fr",
        ] {
            assert_eq!(
                normalize_email(typed).unwrap_err().code(),
                "customer_email_invalid",
                "{typed}"
            );
        }
    }

    #[test]
    fn a_customer_needs_a_name_and_a_phone_or_an_email() {
        let ok = validate(&input("  Zoé   Lefèvre ", Some("06 12 34 56 78"), Some(""))).unwrap();
        assert_eq!(ok.name, "Zoé Lefèvre");
        assert_eq!(ok.phone.as_deref(), Some("+33612345678"));
        assert_eq!(ok.email, None);
        let by_mail = validate(&input("Zoé", None, Some("zoe@example.fr"))).unwrap();
        assert_eq!(by_mail.email.as_deref(), Some("zoe@example.fr"));
        assert_eq!(
            validate(&input(" ", Some("0612345678"), None)),
            Err(CustomerError::NameMissing)
        );
        assert_eq!(
            validate(&input("Zoé", Some(" "), None)),
            Err(CustomerError::ContactMissing)
        );
        assert_eq!(
            validate(&input(&"x".repeat(121), Some("0612345678"), None)),
            Err(CustomerError::NameTooLong)
        );
        assert_eq!(
            validate(&input("Zoé", Some("0612345678"), Some("zoe@")))
                .unwrap_err()
                .code(),
            "customer_email_invalid"
        );
    }

    #[test]
    fn ids_are_random_uuids_made_from_the_given_bytes() {
        let a = new_id([7; 16]);
        assert_eq!(a, new_id([7; 16]));
        assert_ne!(a, new_id([8; 16]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "version 4");
        assert_eq!(check_id(&a), Ok(()));
        assert!(check_id("C00001").is_err());
        let letters = new_id([0xab; 16]);
        assert!(check_id(&letters.to_uppercase()).is_err());
    }

    #[test]
    fn search_folds_accents_and_case_and_reads_numbers_as_phones() {
        assert_eq!(fold("Zoé LEFÈVRE Ørsted"), "zoe lefevre ørsted");
        assert_eq!(
            search_query(" Zoé  lef"),
            SearchQuery::Words(vec!["zoe".into(), "lef".into()])
        );
        assert_eq!(
            search_query("zoe.lefevre@exa"),
            SearchQuery::Words(vec!["zoe".into(), "lefevre".into(), "exa".into()])
        );
        assert_eq!(search_query("06 12 3"), SearchQuery::Phone("06123".into()));
        assert_eq!(search_query("+33 6 12"), SearchQuery::Phone("33612".into()));
        assert_eq!(search_query("0033 6"), SearchQuery::Phone("336".into()));
        assert_eq!(search_query("6"), SearchQuery::Empty);
        assert_eq!(search_query("  "), SearchQuery::Empty);
    }

    #[test]
    fn phones_are_shown_as_written_in_france() {
        assert_eq!(display_phone("+33612345678"), "06 12 34 56 78");
        assert_eq!(display_phone("+442079460958"), "+44 20 7946 0958");
    }

    #[test]
    fn phones_are_found_by_national_and_international_digits() {
        assert_eq!(
            phone_search_keys("+33612345678"),
            vec!["0612345678".to_string(), "33612345678".to_string()]
        );
        assert_eq!(
            phone_search_keys("+442079460958"),
            vec!["02079460958".to_string(), "442079460958".to_string()]
        );
    }

    #[test]
    fn the_later_change_wins_and_ties_resolve_the_same_everywhere() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let base = Customer {
            id: new_id([1; 16]),
            name: "Zoé".into(),
            phone: Some("+33612345678".into()),
            email: None,
            created_at: at("2026-03-30T10:00:00Z"),
            updated_at: at("2026-03-30T10:00:00Z"),
        };
        let later = Customer {
            name: "Zoé Lefèvre".into(),
            updated_at: at("2026-03-30T11:00:00Z"),
            ..base.clone()
        };
        assert!(later.supersedes(&base));
        assert!(!base.supersedes(&later));
        assert!(!base.supersedes(&base));
        let tie = Customer {
            name: "Zoe".into(),
            ..base.clone()
        };
        assert_ne!(tie.supersedes(&base), base.supersedes(&tie));
    }

    #[test]
    fn json_is_stable() {
        let c = Customer {
            id: "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b".into(),
            name: "Zoé".into(),
            phone: Some("+33612345678".into()),
            email: None,
            created_at: "2026-03-30T10:00:00Z".parse().unwrap(),
            updated_at: "2026-03-30T10:00:00Z".parse().unwrap(),
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"id":"0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b","name":"Zoé","phone":"+33612345678","created_at":"2026-03-30T10:00:00.000000Z","updated_at":"2026-03-30T10:00:00.000000Z"}"#
        );
        assert_eq!(serde_json::from_str::<Customer>(&json).unwrap(), c);
    }
}
