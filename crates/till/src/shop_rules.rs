//! Rules head office sets for the shop and the till applies by itself: the VAT rates of its
//! territory from a day on, the means of payment it takes, promotions, the cash office's
//! rules (pay-out limit, closing hour), and the limits of credit notes, gift cards and returns
//! of other tills' tickets. They come through the changes feed (kinds `vat_rate`, `tender`,
//! `promotion`, `cash_office`, `stored_value_rules`, `return_rules`) and are kept in
//! `shop_rules`.
//!
//! A change of the rules that set how the till works (VAT rates, tenders, the cash office's)
//! is journaled as a settings change; none of the rules is a ledger record itself: what a rule changes is recorded on each ticket it touches
//! (each line's VAT rate, each promotion's discount and name), so a ticket reads the same
//! whatever the rules become. Without any rule from head office the till sells as the law and
//! its defaults say: the built-in VAT rates, every means of payment, no promotion.

use chrono::NaiveDate;
use pos_domain::journal::{CASH_OFFICE_RULES, CASH_OFFICE_RULES_KEY, CashOfficeRules, EventKind};
use pos_domain::promotion::Promotion;
use pos_domain::tender::{TenderKind, TenderType};
use pos_domain::vat::{Territory, VatCode, VatRate, VatRateEntry, rate_on};
use pos_domain::wire::kinds;
use rusqlite::{Connection, params};
use serde::de::DeserializeOwned;

use crate::engine::{Till, append_event};
use crate::error::{Result, TillError};
use crate::ledger::Author;

/// The VAT rates in force at the till on one day.
#[derive(Clone, Debug)]
pub struct VatTable {
    territory: Territory,
    entries: Vec<VatRateEntry>,
    day: NaiveDate,
}

impl VatTable {
    pub fn rate(&self, code: VatCode) -> VatRate {
        rate_on(code, self.territory, &self.entries, self.day)
    }
}

/// Stores or removes (`body: None`) one rule received from head office. A rule this till cannot
/// read (made by newer head-office software) is not kept, and any older version of it is
/// dropped rather than applied out of date; that is logged and `Ok(false)` returned, so the
/// rest of the feed still comes down.
pub(crate) fn apply(tx: &Connection, kind: &str, key: &str, body: Option<&str>) -> Result<bool> {
    tx.execute(
        "DELETE FROM shop_rules WHERE kind = ?1 AND key = ?2",
        params![kind, key],
    )?;
    let Some(body) = body else {
        return Ok(true);
    };
    let days = match kind {
        kinds::PROMOTION => parse::<Promotion>(kind, key, body)
            .map(|p| (Some(p.starts.to_string()), Some(p.ends.to_string()))),
        kinds::VAT_RATE => parse::<VatRateEntry>(kind, key, body).map(|_| (None, None)),
        kinds::TENDER => parse::<TenderType>(kind, key, body).map(|_| (None, None)),
        kinds::RETURN_RULES => parse::<pos_domain::returns_anywhere::ReturnRules>(kind, key, body)
            .map(|_| (None, None)),
        kinds::STORED_VALUE_RULES => {
            parse::<pos_domain::stored_value::StoredValueRules>(kind, key, body)
                .map(|_| (None, None))
        }
        CASH_OFFICE_RULES => parse::<CashOfficeRules>(kind, key, body).and_then(|rules| {
            rules.is_valid().then_some((None, None)).ok_or_else(|| {
                TillError::Corrupt(format!("{kind} `{key}`: a negative limit or no such hour"))
            })
        }),
        other => Err(TillError::Corrupt(format!("`{other}` is not a shop rule"))),
    };
    let (starts, ends) = match days {
        Ok(days) => days,
        Err(e) => {
            tracing::warn!(error = %e, "a shop rule from head office was not applied");
            return Ok(false);
        }
    };
    tx.execute(
        "INSERT INTO shop_rules (kind, key, body, starts, ends) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind, key, body, starts, ends],
    )?;
    Ok(true)
}

/// Whether `kind` is one of the rules this module keeps.
pub(crate) fn is_rule(kind: &str) -> bool {
    matches!(
        kind,
        kinds::PROMOTION
            | kinds::VAT_RATE
            | kinds::TENDER
            | kinds::STORED_VALUE_RULES
            | kinds::RETURN_RULES
            | CASH_OFFICE_RULES
    )
}

/// Journals a rule head office changed as a settings change, for the rules that set how the
/// till works (VAT rates, means of payment, the cash office's limits): promotions are
/// commercial and recorded on every ticket they touch instead.
pub(crate) fn journal_change(
    tx: &Connection,
    author: &Author<'_>,
    kind: &str,
    key: &str,
    removed: bool,
) -> Result<()> {
    if kind == kinds::PROMOTION {
        return Ok(());
    }
    append_event(
        tx,
        author,
        EventKind::SettingsChanged,
        serde_json::json!({"source": "head office", "rule": kind, "key": key, "removed": removed}),
    )?;
    Ok(())
}

fn parse<T: DeserializeOwned>(kind: &str, key: &str, body: &str) -> Result<T> {
    serde_json::from_str(body)
        .map_err(|e| TillError::Corrupt(format!("{kind} `{key}` from head office: {e}")))
}

fn bodies<T: DeserializeOwned>(conn: &Connection, kind: &str, day: Option<&str>) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, body FROM shop_rules WHERE kind = ?1
           AND (?2 IS NULL OR (starts <= ?2 AND ends >= ?2)) ORDER BY key",
    )?;
    let rows = stmt.query_map(params![kind, day], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    rows.map(|row| {
        let (key, body) = row?;
        parse(kind, &key, &body)
    })
    .collect()
}

/// The promotions in force on `day`.
pub(crate) fn promotions_on(conn: &Connection, day: NaiveDate) -> Result<Vec<Promotion>> {
    bodies(conn, kinds::PROMOTION, Some(&day.to_string()))
}

/// Every kind of tender with the shop's rule for it (the default where head office set none).
pub(crate) fn tender_types(conn: &Connection) -> Result<Vec<TenderType>> {
    let set: Vec<TenderType> = bodies(conn, kinds::TENDER, None)?;
    Ok(TenderKind::ALL
        .iter()
        .map(|kind| {
            set.iter()
                .find(|t| t.kind == *kind)
                .cloned()
                .unwrap_or_else(|| TenderType::default_for(*kind))
        })
        .collect())
}

pub(crate) fn vat_table(
    conn: &Connection,
    territory: Territory,
    day: NaiveDate,
) -> Result<VatTable> {
    Ok(VatTable {
        territory,
        entries: bodies(conn, kinds::VAT_RATE, None)?,
        day,
    })
}

impl Till {
    /// Today in the shop's time zone, by the till's clock: the day rules are looked up for.
    pub fn shop_day(&self) -> NaiveDate {
        self.now()
            .with_timezone(&self.identity.timezone)
            .date_naive()
    }

    /// The VAT rates in force today.
    pub fn vat_table(&self) -> Result<VatTable> {
        vat_table(&self.conn, self.identity.territory, self.shop_day())
    }

    /// Every means of payment with whether the shop takes it, its label and its limit.
    pub fn tender_types(&self) -> Result<Vec<TenderType>> {
        tender_types(&self.conn)
    }

    /// The promotions in force today.
    pub fn promotions(&self) -> Result<Vec<Promotion>> {
        promotions_on(&self.conn, self.shop_day())
    }

    /// The cash office's rules head office set for the shop (the safe defaults without).
    pub fn cash_office_rules(&self) -> Result<CashOfficeRules> {
        let set: Vec<CashOfficeRules> = bodies(&self.conn, CASH_OFFICE_RULES, None)?;
        Ok(set.into_iter().next().unwrap_or_default())
    }

    /// Sets the cash office's rules as head office's feed would (the `till` CLI's and tests'
    /// way to set them on a till not enrolled).
    pub fn set_cash_office_rules(&mut self, rules: &CashOfficeRules) -> Result<()> {
        let body = serde_json::to_string(rules).map_err(|e| TillError::Corrupt(e.to_string()))?;
        if !rules.is_valid() {
            return Err(TillError::invalid(
                "rules_invalid",
                "the pay-out limit must be a non-negative amount and the closing hour 0 to 23",
            ));
        }
        self.write(crate::engine::SYSTEM_OPERATOR, |tx, author| {
            apply(tx, CASH_OFFICE_RULES, CASH_OFFICE_RULES_KEY, Some(&body))?;
            append_event(
                tx,
                author,
                EventKind::SettingsChanged,
                serde_json::json!({"rule": CASH_OFFICE_RULES, "to": rules}),
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pos_domain::Money;
    use pos_domain::clock::ManualClock;
    use pos_domain::product::{Product, SerialCapture, SoldBy, StockKeeping};
    use pos_domain::tender::Tender;
    use serde_json::json;

    use super::*;
    use crate::identity::InitOptions;
    use crate::requests::{SaleLineRequest, SaleRequest};

    fn till() -> (tempfile::TempDir, Till, Arc<ManualClock>) {
        let dir = tempfile::tempdir().unwrap();
        // 23:30 in Paris on 30 November: the shop's day is the 30th, though it is the 1st in
        // no time zone yet, and the day after starts half an hour later.
        let clock = Arc::new(ManualClock::new("2026-11-30T22:30:00Z".parse().unwrap()));
        let mut till = Till::init(
            &dir.path().join("till.db"),
            InitOptions::new("Boutique", "Caisse 1"),
            clock.clone(),
            [7; 32],
        )
        .unwrap();
        let product = |id: &str, category: &str, cents| Product {
            id: id.into(),
            barcodes: vec![],
            label: format!("Article {id}"),
            category: category.into(),
            vat_code: VatCode::Standard,
            price: Money::from_cents(cents),
            sold_by: SoldBy::Unit,
            serial: SerialCapture::None,
            stock: StockKeeping::Kept,
        };
        till.import_catalog(
            &[product("P1", "Cables", 2000), product("P2", "Coques", 1000)],
            "test",
        )
        .unwrap();
        (dir, till, clock)
    }

    fn set(till: &Till, kind: &str, key: &str, body: serde_json::Value) -> bool {
        apply(&till.conn, kind, key, Some(&body.to_string())).unwrap()
    }

    fn sale(product: &str, tenders: Vec<Tender>) -> SaleRequest {
        SaleRequest {
            lines: vec![SaleLineRequest {
                product_id: Some(product.into()),
                quantity: Some(2),
                ..SaleLineRequest::default()
            }],
            tenders,
            ..SaleRequest::default()
        }
    }

    fn pay(kind: TenderKind, cents: i64) -> Tender {
        Tender {
            kind,
            amount: Money::from_cents(cents),
            reference: None,
            payment: None,
        }
    }

    fn cables_promotion(starts: &str, ends: &str) -> serde_json::Value {
        json!({"id": "NOEL", "label": "Noël -25 %", "starts": starts, "ends": ends,
               "categories": ["Cables"], "benefit": {"percent_off": "25"}})
    }

    #[test]
    fn promotions_apply_on_their_days_and_give_way_to_the_cashier() {
        let (_dir, mut till, clock) = till();
        assert!(set(
            &till,
            kinds::PROMOTION,
            "NOEL",
            cables_promotion("2026-11-30", "2026-11-30")
        ));

        let quoted = till.quote(&sale("P1", vec![])).unwrap();
        assert_eq!(quoted.total, Money::from_cents(3000));
        assert_eq!(quoted.lines[0].promotion.as_ref().unwrap().id, "NOEL");
        // Not in the promotion's categories.
        assert!(
            till.quote(&sale("P2", vec![])).unwrap().lines[0]
                .promotion
                .is_none()
        );

        let recorded = till
            .sell(&sale("P1", vec![pay(TenderKind::Cash, 3000)]))
            .unwrap();
        let receipt = till.receipt_preview(recorded.number).unwrap();
        assert!(
            receipt.text.contains("Promo Noël -25 %"),
            "{}",
            receipt.text
        );

        // A price the cashier enters replaces the promotion.
        let mut manual = sale("P1", vec![]);
        manual.lines[0].unit_price = Some(Money::from_cents(1800));
        let quoted = till.quote(&manual).unwrap();
        assert!(quoted.lines[0].promotion.is_none());
        assert_eq!(quoted.total, Money::from_cents(3600));

        // Midnight in Paris: the promotion is over.
        clock.advance(chrono::Duration::minutes(31));
        assert!(till.promotions().unwrap().is_empty());
        assert_eq!(
            till.quote(&sale("P1", vec![])).unwrap().total,
            Money::from_cents(4000)
        );
    }

    #[test]
    fn a_removed_or_unreadable_rule_no_longer_applies() {
        let (_dir, till, _) = till();
        set(
            &till,
            kinds::PROMOTION,
            "NOEL",
            cables_promotion("2026-11-01", "2026-12-31"),
        );
        assert_eq!(till.promotions().unwrap().len(), 1);
        // Newer head-office software: a benefit this till does not know.
        let unknown = json!({"id": "NOEL", "label": "3 pour 2", "starts": "2026-11-01",
                             "ends": "2026-12-31", "categories": ["Cables"],
                             "benefit": {"three_for_two": true}});
        assert!(!set(&till, kinds::PROMOTION, "NOEL", unknown));
        assert!(till.promotions().unwrap().is_empty());

        set(
            &till,
            kinds::PROMOTION,
            "NOEL",
            cables_promotion("2026-11-01", "2026-12-31"),
        );
        apply(&till.conn, kinds::PROMOTION, "NOEL", None).unwrap();
        assert!(till.promotions().unwrap().is_empty());
    }

    #[test]
    fn tenders_the_shop_refuses_are_refused_and_nothing_is_recorded() {
        let (_dir, mut till, _) = till();
        set(
            &till,
            kinds::TENDER,
            "cheque",
            json!({"kind": "cheque", "accepted": false}),
        );
        set(
            &till,
            kinds::TENDER,
            "voucher",
            json!({"kind": "voucher", "accepted": true,
            "label": "Titre-restaurant", "max_amount": "25.00"}),
        );

        let types = till.tender_types().unwrap();
        assert_eq!(types.len(), TenderKind::ALL.len());
        let voucher = types
            .iter()
            .find(|t| t.kind == TenderKind::Voucher)
            .unwrap();
        assert_eq!(voucher.label(), "Titre-restaurant");

        let err = till
            .sell(&sale("P2", vec![pay(TenderKind::Cheque, 2000)]))
            .unwrap_err();
        assert_eq!(err.code(), "tender_not_accepted", "{err}");
        let err = till
            .sell(&sale("P1", vec![pay(TenderKind::Voucher, 4000)]))
            .unwrap_err();
        assert_eq!(err.code(), "tender_above_limit", "{err}");
        assert_eq!(
            till.chain_length(pos_domain::record::Chain::Ticket)
                .unwrap(),
            0
        );

        let split = vec![pay(TenderKind::Voucher, 2500), pay(TenderKind::Card, 1500)];
        assert!(till.sell(&sale("P1", split)).is_ok());
    }

    #[test]
    fn a_vat_rate_sent_ahead_takes_effect_on_its_day() {
        let (_dir, mut till, clock) = till();
        set(
            &till,
            kinds::VAT_RATE,
            "standard@2026-12-01",
            json!({"code": "standard", "rate": "21", "valid_from": "2026-12-01"}),
        );
        let before = till.quote(&sale("P2", vec![])).unwrap();
        assert_eq!(before.lines[0].vat_rate.to_string(), "20");

        clock.advance(chrono::Duration::minutes(31));
        let recorded = till
            .sell(&sale("P2", vec![pay(TenderKind::Card, 2000)]))
            .unwrap();
        assert_eq!(recorded.ticket.lines[0].vat_rate.to_string(), "21");
        assert_eq!(recorded.ticket.vat[0].rate.to_string(), "21");
        assert_eq!(
            till.vat_table().unwrap().rate(VatCode::Reduced).to_string(),
            "5.5"
        );
    }
}
