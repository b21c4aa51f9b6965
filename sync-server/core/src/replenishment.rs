//! Replenishment: the min/max levels head office sets per shop and product, and the
//! proposals made from them. A product whose position (on hand + in transit − reserved) is
//! below its min is proposed up to its max: `max − position`. A min/max file is CSV with a
//! header, `shop,product,min,max,unit` (`unit` optional: `units` or `grams`), taken whole or
//! not at all.

use std::collections::BTreeMap;

use pos_domain::limits::MAX_QUANTITY;
use pos_domain::stock::StockUnit;
use serde::{Deserialize, Serialize};

use crate::logistics::BadLine;

/// The levels of one product at one shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinMax {
    pub shop_id: String,
    pub product_id: String,
    #[serde(default)]
    pub unit: StockUnit,
    /// Below this position, replenish.
    pub min: u32,
    /// Replenish up to this position.
    pub max: u32,
}

impl MinMax {
    /// Checks the rule: ids given, `min ≤ max ≤` the domain's largest quantity.
    pub fn check(&self) -> Result<(), String> {
        if self.shop_id.trim().is_empty() || self.product_id.trim().is_empty() {
            return Err("name the shop and the product".into());
        }
        if self.max > MAX_QUANTITY {
            return Err(format!("max {} is beyond {MAX_QUANTITY}", self.max));
        }
        if self.min > self.max {
            return Err(format!(
                "min {} is above max {}: set min at most max",
                self.min, self.max
            ));
        }
        Ok(())
    }
}

/// A product's stock at a shop, as the proposal reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub on_hand: i64,
    pub in_transit: i64,
    pub reserved: i64,
}

impl Position {
    /// What the shop will have to sell once what is on its way arrives.
    pub fn net(&self) -> i64 {
        self.on_hand + self.in_transit - self.reserved
    }
}

/// A product to send to a shop, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub shop_id: String,
    pub product_id: String,
    pub unit: StockUnit,
    pub on_hand: i64,
    pub in_transit: i64,
    pub reserved: i64,
    /// on hand + in transit − reserved.
    pub position: i64,
    pub min: u32,
    pub max: u32,
    /// max − position.
    pub quantity: i64,
}

/// The proposals of `levels` (min/max lines) against `positions` (a product with no stock line
/// stands at zero), in the order of `levels`.
pub fn propose(
    levels: &[MinMax],
    positions: &BTreeMap<(String, StockUnit), Position>,
) -> Vec<Proposal> {
    levels
        .iter()
        .filter_map(|l| {
            let p = positions
                .get(&(l.product_id.clone(), l.unit))
                .copied()
                .unwrap_or_default();
            let position = p.net();
            (position < i64::from(l.min)).then(|| Proposal {
                shop_id: l.shop_id.clone(),
                product_id: l.product_id.clone(),
                unit: l.unit,
                on_hand: p.on_hand,
                in_transit: p.in_transit,
                reserved: p.reserved,
                position,
                min: l.min,
                max: l.max,
                quantity: i64::from(l.max) - position,
            })
        })
        .collect()
}

/// The proposals as the CSV file logistics takes.
pub fn proposals_csv(proposals: &[Proposal]) -> String {
    let mut out =
        String::from("shop,product,unit,quantity,on_hand,in_transit,reserved,position,min,max\n");
    for p in proposals {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&p.shop_id),
            csv_field(&p.product_id),
            p.unit.name(),
            p.quantity,
            p.on_hand,
            p.in_transit,
            p.reserved,
            p.position,
            p.min,
            p.max
        ));
    }
    out
}

/// A field quoted when it must be, and never read as a formula by a spreadsheet.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[derive(Deserialize)]
struct CsvMinMax {
    shop: String,
    product: String,
    min: String,
    max: String,
    #[serde(default)]
    unit: String,
}

/// Reads a min/max file (`shop,product,min,max,unit`): its lines, or every bad one.
pub fn read_minmax_csv(bytes: &[u8]) -> Result<Vec<MinMax>, Vec<BadLine>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![BadLine {
                line: 1,
                reason: format!("the header cannot be read: {e}"),
            }]);
        }
    };
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let at = reader.position().line();
        let row = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => record
                .deserialize::<CsvMinMax>(Some(&headers))
                .map_err(|e| {
                    format!("the line cannot be read (header `shop,product,min,max,unit`): {e}")
                }),
            Err(e) => Err(format!("the line cannot be read: {e}")),
        };
        let at = record.position().map_or(at, |p| p.line());
        match row.and_then(|r| minmax_line(&r)) {
            Ok(line) => lines.push(line),
            Err(reason) => bad.push(BadLine { line: at, reason }),
        }
    }
    if bad.is_empty() { Ok(lines) } else { Err(bad) }
}

fn minmax_line(row: &CsvMinMax) -> Result<MinMax, String> {
    let number = |what: &str, text: &str| {
        text.parse::<u32>()
            .map_err(|_| format!("{what} `{text}` is not a whole number"))
    };
    let unit = match row.unit.as_str() {
        "" | "units" => StockUnit::Units,
        "grams" => StockUnit::Grams,
        other => {
            return Err(format!(
                "unit `{other}`: use units, grams or leave it empty"
            ));
        }
    };
    let line = MinMax {
        shop_id: row.shop.clone(),
        product_id: row.product.clone(),
        unit,
        min: number("min", &row.min)?,
        max: number("max", &row.max)?,
    };
    line.check()?;
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(product: &str, min: u32, max: u32) -> MinMax {
        MinMax {
            shop_id: "A".into(),
            product_id: product.into(),
            unit: StockUnit::Units,
            min,
            max,
        }
    }

    #[test]
    fn below_min_is_proposed_up_to_max() {
        let positions = BTreeMap::from([
            (
                ("P1".to_string(), StockUnit::Units),
                Position {
                    on_hand: 3,
                    in_transit: 2,
                    reserved: 1,
                },
            ),
            (
                ("P2".to_string(), StockUnit::Units),
                Position {
                    on_hand: 10,
                    in_transit: 0,
                    reserved: 0,
                },
            ),
        ]);
        let proposals = propose(
            &[level("P1", 5, 12), level("P2", 5, 12), level("P3", 1, 4)],
            &positions,
        );
        let got: Vec<_> = proposals
            .iter()
            .map(|p| (p.product_id.as_str(), p.position, p.quantity))
            .collect();
        assert_eq!(
            got,
            vec![("P1", 4, 8), ("P3", 0, 4)],
            "position = on hand + in transit − reserved; below min, up to max; at or above min, nothing"
        );
        assert!(proposals_csv(&proposals).starts_with("shop,product,unit,quantity"));
    }

    #[test]
    fn a_minmax_file_names_its_bad_lines() {
        let bad =
            read_minmax_csv(b"shop,product,min,max\nA,P1,2,5\nA,P2,9,5\nA,P3,x,5\n").unwrap_err();
        let lines: Vec<u64> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![3, 4], "{bad:?}");
        assert_eq!(
            read_minmax_csv(b"shop,product,min,max,unit\nA,P1,2,5,\n").unwrap(),
            vec![level("P1", 2, 5)]
        );
    }
}
