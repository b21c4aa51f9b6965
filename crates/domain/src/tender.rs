//! Tenders (means of payment) and the rules that tie them to a ticket's total.

use serde::{Deserialize, Serialize};

use crate::error::SaleError;
use crate::money::Money;

/// A means of payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenderKind {
    Cash,
    Card,
    GiftCard,
    Voucher,
    Cheque,
    StoreCredit,
}

impl TenderKind {
    pub const ALL: [TenderKind; 6] = [
        TenderKind::Cash,
        TenderKind::Card,
        TenderKind::GiftCard,
        TenderKind::Voucher,
        TenderKind::Cheque,
        TenderKind::StoreCredit,
    ];

    /// The French label printed on receipts.
    pub fn label_fr(self) -> &'static str {
        match self {
            TenderKind::Cash => "Especes",
            TenderKind::Card => "Carte bancaire",
            TenderKind::GiftCard => "Carte cadeau",
            TenderKind::Voucher => "Bon d'achat",
            TenderKind::Cheque => "Cheque",
            TenderKind::StoreCredit => "Avoir",
        }
    }
}

impl std::str::FromStr for TenderKind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(text.to_lowercase())).map_err(|_| {
            format!(
                "unknown means of payment `{text}`: use cash, card, gift_card, voucher, cheque \
                 or store_credit"
            )
        })
    }
}

/// One payment (positive) or refund (negative) on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tender {
    pub kind: TenderKind,
    pub amount: Money,
    /// Card authorisation number, gift card or voucher number, cheque number...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The terminal transaction a card tender consumed (its intent's reference): one approval
    /// pays one ticket only. Absent on other tenders and on records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
}

/// How a shop takes one means of payment, as head office sets it. A kind with no entry is
/// taken, without limit, under its French label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderType {
    pub kind: TenderKind,
    /// Whether the shop takes it as payment. Refunds are not limited by this: a refund goes back
    /// where the customer's money came from.
    pub accepted: bool,
    /// The name shown on the payment screen, when not the French default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The most one ticket may take in it (cheques, meal vouchers...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<Money>,
}

impl TenderType {
    /// The built-in rule of a kind: taken, no limit.
    pub fn default_for(kind: TenderKind) -> TenderType {
        TenderType {
            kind,
            accepted: true,
            label: None,
            max_amount: None,
        }
    }

    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(self.kind.label_fr())
    }

    /// Checks what head office is about to distribute; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.kind == TenderKind::Cash && !self.accepted {
            return Err("cash cannot be refused: change and refunds are given in cash".to_string());
        }
        crate::limits::check_optional_text(
            "the tender label",
            self.label.as_deref(),
            crate::limits::MAX_LABEL_CHARS,
        )
        .map_err(|e| e.to_string())?;
        match self.max_amount {
            Some(max) if !max.is_positive() => Err(format!(
                "the limit for {} must be more than zero (leave it out for no limit)",
                self.label()
            )),
            Some(max) => {
                crate::limits::check_amount(format_args!("the limit for {}", self.label()), max)
                    .map_err(|e| e.to_string())
            }
            None => Ok(()),
        }
    }
}

/// Checks a ticket's payments against the shop's tender types: each kind taken, and the amount
/// paid in it (summed over the ticket) within its limit. Refunds (negative amounts) pass.
pub fn check_accepted(tenders: &[Tender], types: &[TenderType]) -> Result<(), SaleError> {
    for tender_type in types {
        let paid: Money = tenders
            .iter()
            .filter(|t| t.kind == tender_type.kind && t.amount.is_positive())
            .map(|t| t.amount)
            .sum();
        if !paid.is_positive() {
            continue;
        }
        let label = tender_type.label().to_string();
        if !tender_type.accepted {
            return Err(SaleError::TenderNotAccepted {
                kind: tender_type.kind,
                label,
            });
        }
        if let Some(max) = tender_type.max_amount
            && paid > max
        {
            return Err(SaleError::TenderAboveLimit {
                kind: tender_type.kind,
                label,
                amount: paid,
                max,
            });
        }
    }
    Ok(())
}

/// Checks tenders against a ticket total and returns the change to give back in cash.
///
/// A payment (total ≥ 0) takes positive tenders that must cover the total; any excess is change,
/// and change is only ever given in cash, so the excess may not exceed the cash tendered. A
/// refund (total < 0) takes negative tenders that add up to the total exactly: no change.
pub fn settle(total: Money, tenders: &[Tender]) -> Result<Money, SaleError> {
    let tendered: Money = tenders.iter().map(|t| t.amount).sum();
    if total.is_negative() {
        if let Some(bad) = tenders.iter().find(|t| !t.amount.is_negative()) {
            return Err(SaleError::RefundTenderNotNegative {
                kind: bad.kind,
                amount: bad.amount,
            });
        }
        if tendered != total {
            return Err(SaleError::RefundMismatch { total, tendered });
        }
        return Ok(Money::ZERO);
    }
    if let Some(bad) = tenders.iter().find(|t| !t.amount.is_positive()) {
        return Err(SaleError::TenderNotPositive {
            kind: bad.kind,
            amount: bad.amount,
        });
    }
    if tendered < total {
        return Err(SaleError::TendersShort {
            total,
            tendered,
            missing: total - tendered,
        });
    }
    let change = tendered - total;
    let cash: Money = tenders
        .iter()
        .filter(|t| t.kind == TenderKind::Cash)
        .map(|t| t.amount)
        .sum();
    if change > cash {
        return Err(SaleError::ChangeWithoutCash { change, cash });
    }
    Ok(change)
}

/// Where a payment in progress stands: what was tendered, what is still due and the change to
/// give, as the payment screen shows it while tenders are added. Change follows [`settle`]'s
/// rule (cash only): tenders it would refuse show no change, and [`settle`] refuses them when
/// the ticket is recorded. A refund (total < 0) shows nothing due and no change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub tendered: Money,
    pub due: Money,
    pub change: Money,
}

/// The one rule for amount due and change, used by every quote (sale, exchange, web order).
pub fn settlement(total: Money, tenders: &[Tender]) -> Settlement {
    let tendered: Money = tenders.iter().map(|t| t.amount).sum();
    let (due, change) = if total.is_negative() {
        (Money::ZERO, Money::ZERO)
    } else if tendered >= total {
        (Money::ZERO, settle(total, tenders).unwrap_or(Money::ZERO))
    } else {
        (total - tendered, Money::ZERO)
    };
    Settlement {
        tendered,
        due,
        change,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tender(kind: TenderKind, cents: i64) -> Tender {
        Tender {
            kind,
            amount: Money::from_cents(cents),
            reference: None,
            payment: None,
        }
    }

    #[test]
    fn change_is_given_only_in_cash() {
        let total = Money::from_cents(1000);
        assert_eq!(
            settle(total, &[tender(TenderKind::Cash, 2000)]),
            Ok(Money::from_cents(1000))
        );
        assert_eq!(
            settle(
                total,
                &[
                    tender(TenderKind::Card, 500),
                    tender(TenderKind::Cash, 1000)
                ]
            ),
            Ok(Money::from_cents(500))
        );
        assert!(matches!(
            settle(total, &[tender(TenderKind::Card, 1200)]),
            Err(SaleError::ChangeWithoutCash { .. })
        ));
    }

    #[test]
    fn tenders_must_cover_the_total() {
        let err = settle(Money::from_cents(1000), &[tender(TenderKind::Card, 999)]).unwrap_err();
        assert!(matches!(err, SaleError::TendersShort { .. }), "{err}");
    }

    #[test]
    fn settlement_shows_what_is_due_and_the_change_in_cash_only() {
        let tender = |kind, cents| Tender {
            kind,
            amount: Money::from_cents(cents),
            reference: None,
            payment: None,
        };
        let total = Money::from_cents(4990);
        let partial = settlement(total, &[tender(TenderKind::Card, 2000)]);
        assert_eq!(
            (partial.due, partial.change),
            (Money::from_cents(2990), Money::ZERO)
        );
        let with_cash = settlement(
            total,
            &[
                tender(TenderKind::Card, 2000),
                tender(TenderKind::Cash, 5000),
            ],
        );
        assert_eq!(
            (with_cash.tendered, with_cash.due, with_cash.change),
            (
                Money::from_cents(7000),
                Money::ZERO,
                Money::from_cents(2010)
            )
        );
        let card_over = settlement(total, &[tender(TenderKind::Card, 6000)]);
        assert_eq!(
            card_over.change,
            Money::ZERO,
            "no change out of a card: settle refuses it when recorded"
        );
        let refund = settlement(Money::from_cents(-1000), &[]);
        assert_eq!((refund.due, refund.change), (Money::ZERO, Money::ZERO));
    }

    #[test]
    fn tender_types_refuse_kinds_and_amounts_above_their_limit() {
        let types = [
            TenderType {
                kind: TenderKind::Cheque,
                accepted: false,
                label: None,
                max_amount: None,
            },
            TenderType {
                kind: TenderKind::Voucher,
                accepted: true,
                label: Some("Titre-restaurant".into()),
                max_amount: Some(Money::from_cents(2500)),
            },
        ];
        let err = check_accepted(&[tender(TenderKind::Cheque, 1000)], &types).unwrap_err();
        assert_eq!(err.code(), "tender_not_accepted");
        // A refund to a kind no longer taken passes.
        assert!(check_accepted(&[tender(TenderKind::Cheque, -1000)], &types).is_ok());
        // The limit is per ticket: two vouchers add up.
        let vouchers = [
            tender(TenderKind::Voucher, 1500),
            tender(TenderKind::Voucher, 1001),
        ];
        let err = check_accepted(&vouchers, &types).unwrap_err();
        assert!(err.to_string().contains("Titre-restaurant"), "{err}");
        assert!(check_accepted(&vouchers[..1], &types).is_ok());
        assert!(check_accepted(&[tender(TenderKind::Card, 99_999)], &types).is_ok());
    }

    #[test]
    fn cash_cannot_be_refused() {
        let mut cash = TenderType::default_for(TenderKind::Cash);
        assert!(cash.validate().is_ok());
        cash.accepted = false;
        assert!(cash.validate().is_err());
    }

    #[test]
    fn refunds_must_match_exactly() {
        let total = Money::from_cents(-500);
        assert_eq!(
            settle(total, &[tender(TenderKind::Cash, -500)]),
            Ok(Money::ZERO)
        );
        assert!(settle(total, &[tender(TenderKind::Cash, -600)]).is_err());
        assert!(settle(total, &[tender(TenderKind::Cash, 500)]).is_err());
    }
}
