//! The logistics spoke's rules: advance shipping notices taken in from logistics (HTTP or a
//! drop-folder file), sent to their shop's tills through the changes feed, and the
//! differences a till's goods receipt found against its notice, reported back to logistics.
//!
//! A notice is stored once under its id, as its canonical JSON: the same id arriving again
//! with the same content changes nothing (a retry), with other content is a conflict (a new
//! delivery takes a new id). Its state is derived, never edited: `received` once a till's
//! goods receipt names it, else `withdrawn` once logistics withdrew it, else `open`.

use std::collections::BTreeMap;

use pos_domain::stock::{GoodsReceipt, ShippingNotice, StockUnit};
use pos_domain::wire::kinds;
use serde::{Deserialize, Serialize};

use crate::distribution::NewChange;

/// Where a notice stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeState {
    /// Sent to the shop's tills, not received yet.
    Open,
    /// A till received a delivery against it.
    Received,
    /// Logistics withdrew it before any till received it.
    Withdrawn,
}

impl NoticeState {
    pub const ALL: [NoticeState; 3] = [
        NoticeState::Open,
        NoticeState::Received,
        NoticeState::Withdrawn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NoticeState::Open => "open",
            NoticeState::Received => "received",
            NoticeState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<NoticeState> {
        NoticeState::ALL.into_iter().find(|s| s.name() == text)
    }

    /// The one rule of a notice's state: a receipt wins over a withdrawal (the goods came).
    pub fn of(received: bool, withdrawn: bool) -> NoticeState {
        match (received, withdrawn) {
            (true, _) => NoticeState::Received,
            (false, true) => NoticeState::Withdrawn,
            (false, false) => NoticeState::Open,
        }
    }
}

/// The stored form of a notice, compared byte for byte when the same id arrives again.
pub fn canonical(notice: &ShippingNotice) -> String {
    serde_json::to_string(notice).expect("a shipping notice serializes")
}

/// The changes-feed entry sending a notice to its shop's tills (and only theirs).
pub fn notice_change(notice: &ShippingNotice) -> NewChange {
    NewChange {
        kind: kinds::SHIPPING_NOTICE,
        shop_id: notice.shop_id.clone(),
        key: notice.id.clone(),
        data: Some(serde_json::to_value(notice).expect("a shipping notice serializes")),
    }
}

/// The changes-feed entry telling a shop's tills a notice was withdrawn.
pub fn withdrawn_change(shop_id: &str, notice_id: &str) -> NewChange {
    NewChange {
        kind: kinds::SHIPPING_NOTICE,
        shop_id: shop_id.to_string(),
        key: notice_id.to_string(),
        data: None,
    }
}

/// One product of a notice as the shop received it: what logistics announced, what arrived,
/// and the differences logistics is told about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineDifference {
    pub product_id: String,
    pub unit: StockUnit,
    /// What the notice announced (0 for a product it did not name).
    pub expected: u32,
    pub received: u32,
    /// Received, but not sellable.
    pub damaged: u32,
    /// Announced, not arrived.
    pub missing: u32,
    /// Arrived, not announced.
    pub extra: u32,
}

impl LineDifference {
    pub fn differs(&self) -> bool {
        self.missing > 0 || self.extra > 0 || self.damaged > 0
    }
}

/// The lines of a goods receipt measured against the notice it names, every line of either,
/// in the notice's order then the receipt's. Measured against head office's copy of the
/// notice (not the till's `expected`), so a till that read an older notice cannot hide a
/// shortfall.
pub fn receipt_differences(notice: &ShippingNotice, receipt: &GoodsReceipt) -> Vec<LineDifference> {
    let mut received: BTreeMap<(&str, StockUnit), (u32, u32)> = BTreeMap::new();
    for l in &receipt.lines {
        let entry = received.entry((l.product_id.as_str(), l.unit)).or_default();
        entry.0 += l.received;
        entry.1 += l.damaged;
    }
    let line = |product_id: &str, unit, expected: u32, (got, damaged): (u32, u32)| LineDifference {
        product_id: product_id.to_string(),
        unit,
        expected,
        received: got,
        damaged,
        missing: expected.saturating_sub(got),
        extra: got.saturating_sub(expected),
    };
    let mut out: Vec<LineDifference> = notice
        .lines
        .iter()
        .map(|n| {
            let got = received
                .remove(&(n.product_id.as_str(), n.unit))
                .unwrap_or_default();
            line(&n.product_id, n.unit, n.quantity, got)
        })
        .collect();
    for l in &receipt.lines {
        if let Some(got) = received.remove(&(l.product_id.as_str(), l.unit)) {
            out.push(line(&l.product_id, l.unit, 0, got));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use pos_domain::stock::{NoticeLine, ReceivedLine};

    use super::*;

    fn notice() -> ShippingNotice {
        ShippingNotice {
            id: "ASN-1".into(),
            shop_id: "A".into(),
            lines: vec![
                NoticeLine {
                    product_id: "P1".into(),
                    unit: StockUnit::Units,
                    quantity: 10,
                    serials: vec![],
                },
                NoticeLine {
                    product_id: "P2".into(),
                    unit: StockUnit::Units,
                    quantity: 4,
                    serials: vec![],
                },
            ],
        }
    }

    fn received(product_id: &str, expected: u32, received: u32, damaged: u32) -> ReceivedLine {
        ReceivedLine {
            product_id: product_id.into(),
            unit: StockUnit::Units,
            expected,
            received,
            damaged,
            serials: vec![],
        }
    }

    #[test]
    fn differences_are_measured_against_head_offices_notice() {
        let receipt = GoodsReceipt {
            receipt_id: "T1-R1".into(),
            asn: Some("ASN-1".into()),
            // The till claims 8 were expected of P1: head office's notice says 10.
            lines: vec![received("P1", 8, 8, 1), received("P3", 0, 2, 0)],
        };
        let d = receipt_differences(&notice(), &receipt);
        let summary: Vec<_> = d
            .iter()
            .map(|l| {
                (
                    l.product_id.as_str(),
                    l.expected,
                    l.received,
                    l.damaged,
                    l.missing,
                    l.extra,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("P1", 10, 8, 1, 2, 0),
                ("P2", 4, 0, 0, 4, 0),
                ("P3", 0, 2, 0, 0, 2)
            ],
            "every line of the notice and of the receipt, missing and extra against the notice"
        );
    }

    #[test]
    fn a_receipt_wins_over_a_withdrawal() {
        assert_eq!(NoticeState::of(true, true), NoticeState::Received);
        assert_eq!(NoticeState::of(false, true), NoticeState::Withdrawn);
        assert_eq!(NoticeState::of(false, false), NoticeState::Open);
        for s in NoticeState::ALL {
            assert_eq!(NoticeState::parse(s.name()), Some(s));
        }
    }
}
