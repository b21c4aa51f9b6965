//! What the caller asks the terminal to do: a debit, refund or cancellation of an amount in
//! cents, tagged with our unique reference.

use serde::{Deserialize, Serialize};

/// The kind of transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The customer pays.
    Debit,
    /// Money goes back to the card ("crédit" in Concert).
    Refund,
    /// Cancels an earlier debit of the same amount ("annulation").
    Cancellation,
}

impl Kind {
    /// The digit both Concert V2 (type field) and Caisse-AP (`CD`) use.
    pub fn code(self) -> u8 {
        match self {
            Kind::Debit => b'0',
            Kind::Refund => b'1',
            Kind::Cancellation => b'2',
        }
    }

    pub fn from_code(code: u8) -> Option<Kind> {
        match code {
            b'0' => Some(Kind::Debit),
            b'1' => Some(Kind::Refund),
            b'2' => Some(Kind::Cancellation),
            _ => None,
        }
    }
}

/// One transaction to run. Amounts are integer cents in the request's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    pub kind: Kind,
    pub amount_cents: u64,
    /// ISO 4217 numeric code, e.g. "978" for EUR.
    pub currency: String,
    /// Our unique reference, sent in the Concert V2 private field / Caisse-AP `CF`; the intent
    /// journal is keyed by it. Concert V2 carries at most 10 printable ASCII characters.
    pub reference: String,
    /// Caisse-AP only: the terminal may approve less than asked (`BF`).
    pub allow_partial: bool,
}

impl PaymentRequest {
    pub fn debit(amount_cents: u64, reference: impl Into<String>) -> Self {
        PaymentRequest {
            kind: Kind::Debit,
            amount_cents,
            currency: "978".into(),
            reference: reference.into(),
            allow_partial: false,
        }
    }

    pub fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    pub fn allowing_partial(mut self) -> Self {
        self.allow_partial = true;
        self
    }
}

/// Why a request was refused before anything was journaled or sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("amount must be at least 1 cent")]
    ZeroAmount,
    #[error("amount {amount_cents} cents does not fit in {digits} digits")]
    AmountTooLarge { amount_cents: u64, digits: usize },
    #[error("currency must be a 3-digit ISO 4217 numeric code (978 for EUR), got {0:?}")]
    BadCurrency(String),
    #[error("reference must be 1 to {max} printable ASCII characters, got {got:?}")]
    BadReference { got: String, max: usize },
    #[error("partial payment is only possible with Caisse-AP (Concert V3)")]
    PartialNotSupported,
    #[error("the request does not fit the protocol: {0}")]
    Unencodable(String),
}

impl PaymentRequest {
    /// Checks what every protocol needs; each client adds its own limits.
    pub fn validate(
        &self,
        max_amount_digits: usize,
        max_reference_len: usize,
    ) -> Result<(), RequestError> {
        if self.amount_cents == 0 {
            return Err(RequestError::ZeroAmount);
        }
        if self.amount_cents.to_string().len() > max_amount_digits {
            return Err(RequestError::AmountTooLarge {
                amount_cents: self.amount_cents,
                digits: max_amount_digits,
            });
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RequestError::BadCurrency(self.currency.clone()));
        }
        let printable = self.reference.bytes().all(|b| (0x20..0x7f).contains(&b));
        if self.reference.trim().is_empty()
            || self.reference.len() > max_reference_len
            || !printable
        {
            return Err(RequestError::BadReference {
                got: self.reference.clone(),
                max: max_reference_len,
            });
        }
        Ok(())
    }
}

/// A fresh 10-character reference (fits the Concert V2 private field): milliseconds since the
/// Unix epoch and the process id, in base 36, so two tills or two runs do not collide in practice.
pub fn new_reference() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut n = (millis % 36u128.pow(8)) * 1296 + u128::from(std::process::id() % 1296);
    let mut out = [b'0'; 10];
    for slot in out.iter_mut().rev() {
        *slot = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_rejects_what_no_terminal_accepts() {
        let ok = PaymentRequest::debit(1250, "REF1");
        assert_eq!(ok.validate(8, 10), Ok(()));
        assert_eq!(
            PaymentRequest::debit(0, "R").validate(8, 10),
            Err(RequestError::ZeroAmount)
        );
        assert!(matches!(
            PaymentRequest::debit(100_000_000, "R").validate(8, 10),
            Err(RequestError::AmountTooLarge { .. })
        ));
        assert!(matches!(
            PaymentRequest::debit(1, "ELEVENCHARS").validate(8, 10),
            Err(RequestError::BadReference { .. })
        ));
        assert!(matches!(
            PaymentRequest::debit(1, "é").validate(8, 10),
            Err(RequestError::BadReference { .. })
        ));
        let mut eur = PaymentRequest::debit(1, "R");
        eur.currency = "EUR".into();
        assert!(matches!(
            eur.validate(8, 10),
            Err(RequestError::BadCurrency(_))
        ));
    }

    #[test]
    fn generated_references_fit_the_v2_private_field() {
        let r = new_reference();
        assert_eq!(
            r.len(),
            10,
            "the Concert V2 private field holds 10 characters"
        );
        assert!(
            PaymentRequest::debit(1, r.clone()).validate(8, 10).is_ok(),
            "{r}"
        );
    }
}
