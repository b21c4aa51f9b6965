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

/// One payment (positive) or refund (negative) on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tender {
    pub kind: TenderKind,
    pub amount: Money,
    /// Card authorisation number, gift card or voucher number, cheque number...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tender(kind: TenderKind, cents: i64) -> Tender {
        Tender {
            kind,
            amount: Money::from_cents(cents),
            reference: None,
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
