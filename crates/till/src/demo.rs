//! Demo data: a telecom boutique's catalog, realistic days of trading, and large catalogs for
//! benchmarks.
//!
//! [`run`] records sales, returns, cash movements and closures **through the same [`Till`]
//! API as the CLI's `sell`**, with a seeded random generator and a clock it moves forward, so a
//! given seed always produces the same ledger content; it is never a shortcut around the
//! ledger.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Utc};
use pos_domain::Money;
use pos_domain::clock::{Clock, ManualClock};
use pos_domain::closure::ClosureLevel;
use pos_domain::codes::{Gtin, Imei};
use pos_domain::journal::CashMovementKind;
use pos_domain::product::{Product, SerialCapture, SoldBy, StockKeeping};
use pos_domain::record::Chain;
use pos_domain::tender::{Tender, TenderKind};
use pos_domain::ticket::{Discount, ReturnLine, TicketKind};
use pos_domain::vat::VatCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::catalog::{self, CatalogFormat};
use crate::engine::Till;
use crate::error::{Result, TillError};
use crate::requests::{RecordedTicket, ReturnRequest, SaleLineRequest, SaleRequest};

/// The demo catalog of a telecom boutique, as shipped in `fixtures/demo-catalog.csv`.
pub const DEMO_CATALOG_CSV: &str = include_str!("../fixtures/demo-catalog.csv");

/// Parses the shipped demo catalog.
pub fn demo_catalog() -> Result<Vec<Product>> {
    catalog::read(CatalogFormat::Csv, DEMO_CATALOG_CSV.as_bytes())
}

const SELLERS: [&str; 4] = ["S101", "S102", "S103", "S104"];
const CASHIERS: [&str; 2] = ["alice", "bruno"];

/// What [`run`] is asked to generate.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub tickets: u64,
    pub seed: u64,
    pub days: u32,
}

/// What [`run`] recorded.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DemoSummary {
    pub sales: u64,
    pub returns: u64,
    pub day_closures: u64,
    pub month_closures: u64,
    pub first_ticket: Option<u64>,
    pub last_ticket: Option<u64>,
    pub turnover: Money,
}

/// A valid IMEI drawn from `rng` (a GSMA test TAC followed by random digits).
pub fn random_imei(rng: &mut impl Rng) -> String {
    let mut digits: Vec<u32> = vec![3, 5, 2, 0, 9, 9, 0, 0];
    digits.extend((0..6).map(|_| rng.random_range(0..10)));
    let check = Imei::luhn_digit(&digits);
    digits.push(check);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap_or('0'))
        .collect()
}

/// The EAN-13 for `payload` (12 digits).
fn ean13(payload: u64) -> Gtin {
    let text = format!("{payload:012}");
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    let code = format!("{text}{}", Gtin::check_digit(&digits));
    code.parse()
        .unwrap_or_else(|_| unreachable!("a computed check digit is valid"))
}

/// `count` synthetic products with unique EAN-13 barcodes (in-store prefix 2) and French,
/// accented labels, for benchmarks. Deterministic for a given seed.
pub fn large_catalog(count: u64, seed: u64) -> impl Iterator<Item = Product> {
    const KINDS: [&str; 12] = [
        "Coque",
        "Câble",
        "Chargeur",
        "Écouteurs",
        "Protection d'écran",
        "Batterie",
        "Support",
        "Étui",
        "Enceinte",
        "Adaptateur",
        "Montre",
        "Clé",
    ];
    const QUALIFIERS: [&str; 10] = [
        "renforcé",
        "élégant",
        "rapide",
        "sans fil",
        "magnétique",
        "étanche",
        "recyclé",
        "pliable",
        "fin",
        "lumineux",
    ];
    const BRANDS: [&str; 8] = [
        "Apple",
        "Samsung",
        "Xiaomi",
        "Google",
        "Belkin",
        "Anker",
        "Fairphone",
        "Nokia",
    ];
    const COLOURS: [&str; 6] = ["noir", "blanc", "bleu", "rose", "vert", "doré"];
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count).map(move |i| {
        let kind = KINDS[rng.random_range(0..KINDS.len())];
        let label = format!(
            "{kind} {} {} {} {i}",
            QUALIFIERS[rng.random_range(0..QUALIFIERS.len())],
            BRANDS[rng.random_range(0..BRANDS.len())],
            COLOURS[rng.random_range(0..COLOURS.len())],
        );
        Product {
            id: format!("P{i:07}"),
            barcodes: vec![ean13(200_000_000_000 + i)],
            label,
            category: kind.to_string(),
            vat_code: if i % 10 == 0 {
                VatCode::Reduced
            } else {
                VatCode::Standard
            },
            price: Money::from_cents(rng.random_range(99..20_000)),
            sold_by: SoldBy::Unit,
            serial: SerialCapture::None,
            stock: StockKeeping::Kept,
        }
    })
}

fn round_up_to(amount: Money, step_cents: i64) -> Money {
    let cents = amount.cents();
    Money::from_cents((cents + step_cents - 1) / step_cents * step_cents)
}

fn demo_sale(rng: &mut StdRng, catalog: &[Product], customers: &[String]) -> SaleRequest {
    let handsets: Vec<&Product> = catalog
        .iter()
        .filter(|p| p.serial == SerialCapture::Imei)
        .collect();
    let others: Vec<&Product> = catalog
        .iter()
        .filter(|p| p.serial == SerialCapture::None)
        .collect();
    let line_count = rng.random_range(1..=4);
    let mut lines = Vec::new();
    for index in 0..line_count {
        let product = if index == 0 && rng.random_bool(0.15) && !handsets.is_empty() {
            handsets[rng.random_range(0..handsets.len())]
        } else {
            others[rng.random_range(0..others.len())]
        };
        let mut line = SaleLineRequest {
            product_id: Some(product.id.clone()),
            ..Default::default()
        };
        if let Some(barcode) = product.barcodes.first().filter(|_| rng.random_bool(0.8)) {
            line.barcode = Some(barcode.to_string());
            line.product_id = None;
        }
        match (product.sold_by, product.serial) {
            (SoldBy::Weight, _) => line.grams = Some(rng.random_range(100..800)),
            (_, SerialCapture::Imei) => line.serials = vec![random_imei(rng)],
            _ => {
                line.quantity = Some(if rng.random_bool(0.85) {
                    1
                } else {
                    rng.random_range(2..4)
                })
            }
        }
        if rng.random_bool(0.1) {
            line.discount = Some(Discount::Percent((rng.random_range(1..4) * 5).into()));
        }
        line.seller = Some(SELLERS[rng.random_range(0..SELLERS.len())].to_string());
        lines.push(line);
    }
    SaleRequest {
        operator: Some(CASHIERS[rng.random_range(0..CASHIERS.len())].to_string()),
        lines,
        customer: rng
            .random_bool(0.3)
            .then(|| rng.random_range(1..5000usize))
            .and_then(|n| customers.get(n % customers.len().max(1)).cloned()),
        ..Default::default()
    }
}

/// Chooses tenders for `total`: card, cash (with change), or a split.
fn demo_tenders(rng: &mut StdRng, total: Money) -> Vec<Tender> {
    let tender = |kind, amount| Tender {
        kind,
        amount,
        reference: None,
        payment: None,
    };
    match rng.random_range(0..100) {
        0..60 => vec![Tender {
            reference: Some(format!("{:06}", rng.random_range(0..1_000_000))),
            payment: None,
            ..tender(TenderKind::Card, total)
        }],
        60..90 => vec![tender(TenderKind::Cash, round_up_to(total, 500))],
        90..95 if total.cents() > 2000 => {
            let card = Money::from_cents(total.cents() / 2);
            vec![
                tender(TenderKind::Card, card),
                tender(TenderKind::Cash, round_up_to(total - card, 100)),
            ]
        }
        _ => vec![tender(TenderKind::GiftCard, total)],
    }
}

/// Records `options.tickets` tickets spread over `options.days` trading days through the
/// engine API, with an opening float and a count each day, a day closure every evening and a
/// month closure at each month's end. `clock` must be the clock `till` was opened with.
pub fn run(
    till: &mut Till,
    clock: &Arc<ManualClock>,
    options: &DemoOptions,
) -> Result<DemoSummary> {
    if options.days == 0 || options.days > 3660 {
        return Err(TillError::invalid(
            "days_invalid",
            "give between 1 and 3660 days",
        ));
    }
    if options.tickets > 10_000_000 {
        return Err(TillError::invalid(
            "tickets_invalid",
            "give at most 10,000,000 tickets",
        ));
    }
    if catalog::count(&till.conn)? == 0 {
        till.import_catalog(&demo_catalog()?, "demo catalog")?;
    }
    let products: Vec<Product> = demo_catalog()?
        .into_iter()
        .filter_map(|p| till.product_by_id(&p.id).ok().flatten())
        .collect();
    let customers = seed_customers(till, options.seed)?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let tz = till.identity.timezone;
    let today = clock.now().with_timezone(&tz).date_naive();
    // The D days end yesterday, so everything generated lies in the past of the real clock. On
    // a ledger that already holds sales, cash movements or closures, the days start after the
    // newest of them instead, so those chains stay in time order. (The events of `till init`
    // may be later than the generated history: they say when the file was made.)
    let newest = newest_fiscal_record_time(till)?;
    let mut day = today - Duration::days(i64::from(options.days));
    if let Some(newest) = newest {
        day = day.max(newest.with_timezone(&tz).date_naive() + Duration::days(1));
    }
    let mut summary = DemoSummary::default();
    let per_day = options.tickets / u64::from(options.days);
    let extra = options.tickets % u64::from(options.days);
    for index in 0..options.days {
        let opening = tz
            .from_local_datetime(
                &day.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()),
            )
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_else(|| clock.now());
        clock.set(opening.max(newest.map(|n| n + Duration::seconds(1)).unwrap_or(opening)));
        let count = per_day + u64::from(u64::from(index) < extra);
        trade_one_day(
            till,
            clock,
            &mut rng,
            &products,
            &customers,
            count,
            &mut summary,
        )?;
        let tomorrow = day.succ_opt().unwrap_or(day);
        if tomorrow.month() != day.month() {
            clock.advance(Duration::minutes(5));
            till.close("manager", ClosureLevel::Month)?;
            summary.month_closures += 1;
        }
        day = tomorrow;
    }
    Ok(summary)
}

/// The time of the newest sale, cash movement, closure or reprint, if any.
fn newest_fiscal_record_time(till: &Till) -> Result<Option<chrono::DateTime<Utc>>> {
    let mut newest = None;
    for chain in [
        Chain::Ticket,
        Chain::Training,
        Chain::Closure,
        Chain::Duplicate,
        Chain::Cash,
        Chain::Archive,
    ] {
        let head = till.chain_length(chain)?;
        if head > 0 {
            till.records(chain, head, head, |r| {
                newest = newest.max(Some(r.record.at));
                Ok(())
            })?;
        }
    }
    Ok(newest)
}

fn trade_one_day(
    till: &mut Till,
    clock: &Arc<ManualClock>,
    rng: &mut StdRng,
    products: &[Product],
    customers: &[String],
    count: u64,
    summary: &mut DemoSummary,
) -> Result<()> {
    till.cash_movement(
        "manager",
        CashMovementKind::OpeningFloat,
        Money::from_cents(15_000),
        None,
    )?;
    // Ten trading hours, tickets evenly spread with some jitter.
    let step = Duration::seconds(36_000 / (count as i64 + 1));
    let mut today: Vec<RecordedTicket> = Vec::new();
    for _ in 0..count {
        clock.advance(step + Duration::seconds(rng.random_range(0..30)));
        let recorded = if !today.is_empty() && rng.random_bool(0.04) {
            let original = &today[rng.random_range(0..today.len())];
            let line = &original.ticket.lines[rng.random_range(0..original.ticket.lines.len())];
            let request = ReturnRequest {
                operator: Some(CASHIERS[0].into()),
                original: original.number,
                lines: vec![ReturnLine {
                    line: line.line,
                    quantity: line.quantity.count(),
                    serials: vec![],
                }],
                ..Default::default()
            };
            match till.return_items(&request) {
                Ok(ticket) => {
                    summary.returns += 1;
                    ticket
                }
                // Already returned earlier today: sell instead.
                Err(TillError::Sale(_)) => sell(till, rng, products, customers, summary)?,
                Err(other) => return Err(other),
            }
        } else {
            sell(till, rng, products, customers, summary)?
        };
        summary.first_ticket.get_or_insert(recorded.number);
        summary.last_ticket = Some(recorded.number);
        summary.turnover += recorded.ticket.total;
        if recorded.ticket.kind == TicketKind::Sale {
            today.push(recorded);
        }
    }
    clock.advance(Duration::minutes(20));
    let expected = till.report_x()?.expected_cash;
    let difference =
        Money::from_cents(rng.random_range(-200..=100) * i64::from(rng.random_bool(0.2)));
    // What is counted can never be negative, whatever refunds took out of the drawer.
    let counted = (expected + difference).max(Money::ZERO);
    till.cash_movement("manager", CashMovementKind::Count, counted, None)?;
    till.close("manager", ClosureLevel::Day)?;
    summary.day_closures += 1;
    Ok(())
}

fn sell(
    till: &mut Till,
    rng: &mut StdRng,
    products: &[Product],
    customers: &[String],
    summary: &mut DemoSummary,
) -> Result<RecordedTicket> {
    let mut request = demo_sale(rng, products, customers);
    let total = till.quote(&request)?.total;
    request.tenders = demo_tenders(rng, total);
    summary.sales += 1;
    till.sell(&request)
}

/// First and last names of the demo customers.
const FIRST_NAMES: [&str; 8] = [
    "Zoé", "Léa", "Chloé", "Inès", "Hugo", "Théo", "Noël", "Jérôme",
];
const LAST_NAMES: [&str; 5] = ["Lefèvre", "Martin", "Bérard", "Dupont", "Gauthier"];

/// The demo customers (one per first and last name, with a mobile number and for every
/// other one an e-mail address), created unless the till knows customers already; their ids,
/// by name. Ids come from a generator seeded with `seed`, so a seed gives the same ids.
pub fn seed_customers(till: &mut Till, seed: u64) -> Result<Vec<String>> {
    if till.customer_count()? == 0 {
        let mut rng = StdRng::seed_from_u64(seed ^ 0xC057_0E12);
        for (i, (first, last)) in FIRST_NAMES
            .iter()
            .flat_map(|f| LAST_NAMES.iter().map(move |l| (f, l)))
            .enumerate()
        {
            let email = (i % 2 == 0).then(|| {
                format!(
                    "{}.{}@example.fr",
                    pos_domain::customer::fold(first),
                    pos_domain::customer::fold(last)
                )
            });
            let input = pos_domain::customer::ContactInput {
                name: format!("{first} {last}"),
                phone: Some(format!("06 12 {:02} {:02} {:02}", 10 + i, i, 2 * i)),
                email,
            };
            till.create_customer(&input, rng.random())?;
        }
    }
    Ok(till
        .customers(10_000, 0)?
        .into_iter()
        .map(|c| c.id)
        .collect())
}

/// The demo staff: id, name, role and PIN.
pub const DEMO_STAFF: [(&str, &str, crate::staff::StaffRole, &str); 2] = [
    ("alice", "Alice", crate::staff::StaffRole::Cashier, "1234"),
    ("bruno", "Bruno", crate::staff::StaffRole::Manager, "9999"),
];

/// Adds the demo staff (cashier Alice, PIN 1234; manager Bruno, PIN 9999) unless already
/// there, with salts from `salt`. Returns how many were added.
pub fn seed_staff(till: &mut Till, mut salt: impl FnMut() -> [u8; 16]) -> Result<u64> {
    let mut added = 0;
    for (id, name, role, pin) in DEMO_STAFF {
        if till.staff_member(id)?.is_none() {
            till.add_staff(id, name, role, pin, salt())?;
            added += 1;
        }
    }
    Ok(added)
}
