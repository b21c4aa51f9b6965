//! The logistics spoke's rules: advance shipping notices taken in from logistics (HTTP or a
//! drop-folder file), sent to their shop's tills through the changes feed, and the
//! differences a till's goods receipt found against its notice, reported back to logistics.
//!
//! A notice is stored once under its id, as its canonical JSON: the same id arriving again
//! with the same content changes nothing (a retry), with other content is a conflict (a new
//! delivery takes a new id). Its state is derived, never edited: `received` once a till's
//! goods receipt names it, else `withdrawn` once logistics withdrew it, else `open`.
//!
//! A drop-folder file ([`read_notice_file`]) is CSV with a header, one line per notice line:
//!
//! ```text
//! notice,shop,product,quantity,unit,imeis
//! ASN-1001,PARIS-OPERA,ACC-COQ-IP16,10,units,
//! ASN-1001,PARIS-OPERA,TEL-IP16-128,2,,356938035643809|356938035643817
//! ```
//!
//! `unit` (`units`, the default, or `grams`) and `imeis` (`|`-separated, one per unit, or
//! none) are optional columns; the lines of one notice share its id and shop. A file is
//! taken whole or not at all: each bad line is named with its number and why.

use std::collections::BTreeMap;

use pos_domain::codes::Imei;
use pos_domain::stock::{GoodsReceipt, NoticeLine, ShippingNotice, StockOperation, StockUnit};
use pos_domain::wire::kinds;
use serde::{Deserialize, Serialize};

use crate::distribution::NewChange;
use crate::events::OutboxEvent;

/// A notice was received at its shop: the receipt's lines against it, for logistics.
pub const NOTICE_RECEIVED_TYPE: &str = "pos.logistics.notice.received";

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

/// A till's goods receipt naming a notice, as an upload brings it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptAgainstNotice {
    pub shop_id: String,
    pub notice_id: String,
    pub receipt: GoodsReceipt,
    /// The record it came in: `tills/<till>/stock/<seq>`.
    pub source: String,
    /// When the till recorded it (RFC 3339).
    pub at: String,
}

/// A till's goods receipt against a notice, measured against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeReceipt {
    pub receipt_id: String,
    /// The record it came in: `tills/<till>/stock/<seq>`.
    pub source: String,
    /// When the till recorded it.
    pub at: String,
    pub lines: Vec<LineDifference>,
}

/// The goods receipt of an accepted stock-chain record, when it names a notice.
pub fn against_notice(
    shop_id: &str,
    accepted: &crate::ingest::Accepted,
    operation: &StockOperation,
) -> Option<ReceiptAgainstNotice> {
    let StockOperation::GoodsReceipt(receipt) = operation else {
        return None;
    };
    let record = &accepted.record.record;
    Some(ReceiptAgainstNotice {
        shop_id: shop_id.to_string(),
        notice_id: receipt.asn.clone()?,
        receipt: receipt.clone(),
        source: crate::stock::record_source(&record.till, record.chain, accepted.seq),
        at: pos_domain::record::timestamp::format(&record.at),
    })
}

impl ReceiptAgainstNotice {
    /// The receipt measured against head office's copy of its notice.
    pub fn measure(&self, notice: &ShippingNotice) -> NoticeReceipt {
        NoticeReceipt {
            receipt_id: self.receipt.receipt_id.clone(),
            source: self.source.clone(),
            at: self.at.clone(),
            lines: receipt_differences(notice, &self.receipt),
        }
    }
}

/// The event telling logistics a notice was received, with every line's differences; one per
/// notice (its first receipt), whatever the differences.
pub fn notice_received(notice: &ShippingNotice, receipt: &NoticeReceipt) -> OutboxEvent {
    let differs = receipt.lines.iter().any(LineDifference::differs);
    OutboxEvent::new(
        format!("notice-received/{}", notice.id),
        NOTICE_RECEIVED_TYPE,
        format!("/shops/{}", notice.shop_id),
        format!("shops/{}/notices/{}", notice.shop_id, notice.id),
        receipt.at.clone(),
        serde_json::json!({
            "notice": notice.id,
            "shop": notice.shop_id,
            "receipt": receipt.receipt_id,
            "source": receipt.source,
            "at": receipt.at,
            "differs": differs,
            "lines": receipt.lines,
        }),
    )
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

/// The largest drop-folder file read, in bytes: far above a day's notices for a chain.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A drop-folder file read: its notices in the order they first appear, and for each notice
/// the file line of each of its lines (for a report naming them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeFile {
    pub notices: Vec<ShippingNotice>,
    pub file_lines: Vec<Vec<u64>>,
}

impl NoticeFile {
    /// How many notice lines the file holds.
    pub fn line_count(&self) -> u64 {
        self.notices.iter().map(|n| n.lines.len() as u64).sum()
    }

    /// The file lines of notice `index`, or of its line naming `product` when given.
    pub fn lines_of(&self, index: usize, product: Option<&str>) -> Vec<u64> {
        let notice = &self.notices[index];
        notice
            .lines
            .iter()
            .zip(&self.file_lines[index])
            .filter(|(line, _)| product.is_none_or(|p| line.product_id == p))
            .map(|(_, at)| *at)
            .collect()
    }
}

/// A line of a drop-folder file that cannot be applied, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// 1 is the header.
    pub line: u64,
    pub reason: String,
}

#[derive(Deserialize)]
struct CsvNoticeLine {
    notice: String,
    shop: String,
    product: String,
    quantity: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    imeis: String,
}

/// Reads a drop-folder file (the format is in this module's doc): its notices, each checked
/// by [`ShippingNotice::check`], or every bad line found.
pub fn read_notice_file(bytes: &[u8]) -> Result<NoticeFile, Vec<BadLine>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut bad = Vec::new();
    match reader.headers() {
        Ok(headers) => {
            for needed in ["notice", "shop", "product", "quantity"] {
                if !headers.iter().any(|h| h == needed) {
                    bad.push(BadLine {
                        line: 1,
                        reason: format!(
                            "the header has no `{needed}` column: start the file with `notice,shop,product,quantity,unit,imeis`"
                        ),
                    });
                }
            }
        }
        Err(e) => bad.push(BadLine {
            line: 1,
            reason: format!("the header cannot be read: {e}"),
        }),
    }
    if !bad.is_empty() {
        return Err(bad);
    }
    let mut file = NoticeFile {
        notices: Vec::new(),
        file_lines: Vec::new(),
    };
    let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut shop_of: BTreeMap<String, String> = BTreeMap::new();
    let headers = reader.headers().cloned().unwrap_or_default();
    let mut record = csv::StringRecord::new();
    loop {
        let at = reader.position().line();
        let row = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => record
                .deserialize::<CsvNoticeLine>(Some(&headers))
                .map_err(|e| format!("the line cannot be read: {e}")),
            Err(e) => Err(format!("the line cannot be read: {e}")),
        };
        let at = record.position().map_or(at, |p| p.line());
        let row = row.and_then(|row| {
            let first_shop = shop_of.entry(row.notice.clone()).or_insert(row.shop.clone());
            if *first_shop != row.shop {
                return Err(format!(
                    "notice `{}` goes to shop `{first_shop}` on its first line, not `{}`: a notice goes to one shop",
                    row.notice, row.shop
                ));
            }
            notice_line(&row).map(|line| (row, line))
        });
        match row {
            Err(reason) => bad.push(BadLine { line: at, reason }),
            Ok((row, notice_line)) => {
                let index = *index_of.entry(row.notice.clone()).or_insert_with(|| {
                    file.notices.push(ShippingNotice {
                        id: row.notice.clone(),
                        shop_id: row.shop.clone(),
                        lines: Vec::new(),
                    });
                    file.file_lines.push(Vec::new());
                    file.notices.len() - 1
                });
                file.notices[index].lines.push(notice_line);
                file.file_lines[index].push(at);
            }
        }
    }
    for (index, notice) in file.notices.iter().enumerate() {
        if let Err(e) = notice.check() {
            bad.push(BadLine {
                line: file.file_lines[index].first().copied().unwrap_or(1),
                reason: format!(
                    "notice `{}` (file lines {:?}): {e}",
                    notice.id, file.file_lines[index]
                ),
            });
        }
    }
    if file.notices.is_empty() && bad.is_empty() {
        bad.push(BadLine {
            line: 1,
            reason: "the file holds no notice line".into(),
        });
    }
    if bad.is_empty() {
        Ok(file)
    } else {
        bad.sort_by_key(|b| b.line);
        Err(bad)
    }
}

/// One CSV line as a notice line, or why it is not one.
fn notice_line(row: &CsvNoticeLine) -> Result<NoticeLine, String> {
    let quantity: u32 = row.quantity.parse().map_err(|_| {
        format!(
            "quantity `{}` is not a whole number of units (or grams)",
            row.quantity
        )
    })?;
    let unit = match row.unit.as_str() {
        "" | "units" => StockUnit::Units,
        "grams" => StockUnit::Grams,
        other => {
            return Err(format!(
                "unit `{other}`: use units, grams or leave it empty"
            ));
        }
    };
    let serials = row
        .imeis
        .split('|')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| i.parse::<Imei>().map_err(|e| format!("IMEI `{i}`: {e}")))
        .collect::<Result<Vec<Imei>, String>>()?;
    Ok(NoticeLine {
        product_id: row.product.clone(),
        unit,
        quantity,
        serials,
    })
}

#[cfg(test)]
mod tests {
    use pos_domain::stock::ReceivedLine;

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

    #[test]
    fn a_good_file_reads_as_its_notices() {
        let file = read_notice_file(
            b"notice,shop,product,quantity,unit,imeis\n\
              ASN-1,A,P1,10,units,\n\
              ASN-2,B,P1,1,,\n\
              ASN-1,A,P2,2,,356938035643809|356938035643817\n",
        )
        .unwrap();
        assert_eq!(file.notices.len(), 2);
        assert_eq!(file.notices[0].lines.len(), 2, "lines grouped by notice id");
        assert_eq!(file.notices[0].lines[1].serials.len(), 2);
        assert_eq!(file.file_lines[0], vec![2, 4], "each line's number is kept");
        assert_eq!(file.lines_of(0, Some("P2")), vec![4]);
        assert_eq!(file.line_count(), 3);
    }

    #[test]
    fn every_bad_line_is_named() {
        let bad = read_notice_file(
            b"notice,shop,product,quantity,unit,imeis\n\
              ASN-1,A,P1,ten,,\n\
              ASN-1,A,P2,1,boxes,\n\
              ASN-1,B,P3,1,,\n\
              ASN-1,A,P4,2,,123\n\
              ASN-2,A,P1,1,,\n",
        )
        .unwrap_err();
        let lines: Vec<u64> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5], "each bad line by number: {bad:?}");
        assert!(bad[0].reason.contains("ten"), "{bad:?}");
        assert!(bad[1].reason.contains("boxes"), "{bad:?}");
        assert!(bad[2].reason.contains("one shop"), "{bad:?}");
        assert!(bad[3].reason.contains("IMEI"), "{bad:?}");
        let headerless = read_notice_file(b"id,qty\nX,1\n").unwrap_err();
        assert_eq!(
            headerless[0].line, 1,
            "a wrong header is line 1: {headerless:?}"
        );
    }
}
