//! Validated identifiers typed or scanned at the till: GTIN/EAN barcodes and IMEI serials.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a barcode or serial number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("barcode `{0}` must be 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14)")]
    GtinLength(String),
    #[error("barcode `{0}` has a wrong check digit: rescan it or type it again")]
    GtinCheckDigit(String),
    #[error("IMEI `{0}` must be exactly 15 digits (dial *#06# on the handset to read it)")]
    ImeiLength(String),
    #[error("IMEI `{0}` fails its Luhn check: a digit is wrong, read it again from the box")]
    ImeiCheckDigit(String),
}

fn digits(text: &str) -> Option<Vec<u32>> {
    text.chars().map(|c| c.to_digit(10)).collect()
}

/// A GTIN (EAN-8, UPC-A, EAN-13 or GTIN-14) whose check digit is valid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin(String);

impl Gtin {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The GS1 check digit for the given payload digits (all digits but the last).
    pub fn check_digit(payload: &[u32]) -> u32 {
        // GS1: weights 3 and 1 alternate starting from the rightmost payload digit.
        let sum: u32 = payload
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
            .sum();
        (10 - sum % 10) % 10
    }
}

impl FromStr for Gtin {
    type Err = CodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let Some(all) = digits(text).filter(|d| matches!(d.len(), 8 | 12 | 13 | 14)) else {
            return Err(CodeError::GtinLength(text.to_string()));
        };
        let (payload, check) = all.split_at(all.len() - 1);
        if Gtin::check_digit(payload) != check[0] {
            return Err(CodeError::GtinCheckDigit(text.to_string()));
        }
        Ok(Gtin(text.to_string()))
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A handset's IMEI: 15 digits, the last a Luhn check digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Imei(String);

impl Imei {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Luhn check digit for 14 payload digits.
    pub fn luhn_digit(payload: &[u32]) -> u32 {
        let sum: u32 = payload
            .iter()
            .rev()
            .enumerate()
            .map(|(i, d)| {
                if i % 2 == 0 {
                    let doubled = d * 2;
                    if doubled > 9 { doubled - 9 } else { doubled }
                } else {
                    *d
                }
            })
            .sum();
        (10 - sum % 10) % 10
    }
}

impl FromStr for Imei {
    type Err = CodeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let Some(all) = digits(text).filter(|d| d.len() == 15) else {
            return Err(CodeError::ImeiLength(text.to_string()));
        };
        if Imei::luhn_digit(&all[..14]) != all[14] {
            return Err(CodeError::ImeiCheckDigit(text.to_string()));
        }
        Ok(Imei(text.to_string()))
    }
}

impl fmt::Display for Imei {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_serde {
    ($ty:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
string_serde!(Gtin);
string_serde!(Imei);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_gtins_of_every_length() {
        for good in [
            "96385074",
            "036000291452",
            "4006381333931",
            "3760123456784",
            "10012345678902",
        ] {
            assert!(
                good.parse::<Gtin>().is_ok(),
                "{good} has a valid GS1 check digit"
            );
        }
    }

    #[test]
    fn rejects_bad_gtins_with_reason() {
        assert!(matches!(
            "4006381333932".parse::<Gtin>(),
            Err(CodeError::GtinCheckDigit(_))
        ));
        assert!(matches!(
            "40063813339".parse::<Gtin>(),
            Err(CodeError::GtinLength(_))
        ));
        assert!(matches!(
            "400638133393A".parse::<Gtin>(),
            Err(CodeError::GtinLength(_))
        ));
    }

    #[test]
    fn imei_luhn() {
        assert!(
            "490154203237518".parse::<Imei>().is_ok(),
            "the GSMA's example IMEI is valid"
        );
        assert!(matches!(
            "490154203237519".parse::<Imei>(),
            Err(CodeError::ImeiCheckDigit(_))
        ));
        assert!(matches!(
            "49015420323751".parse::<Imei>(),
            Err(CodeError::ImeiLength(_))
        ));
    }
}
