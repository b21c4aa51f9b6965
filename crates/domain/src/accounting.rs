//! Accounting exports derived from day closures: the balanced daily journal entry of a till,
//! and its FEC and hledger renderings (see `shared/specs/fiscal.md`, "Accounting export").
//!
//! # The daily entry
//!
//! [`daily_entry`] turns one day (Z) closure of one till into one double-entry
//! [`JournalEntry`] (the tax authority accepts aggregated daily cash-sale entries when the
//! line-level data are archived, which the ticket chain and the archives do):
//!
//! | side   | account ([`AccountPlan::french_default`])                  | amount                       |
//! |--------|-----------------------------------------------------------|------------------------------|
//! | debit  | per tender: 530 cash (or the shop's 532x), 5115 cards, ...  | the tender's net amount      |
//! | credit | 707x sales, one account per VAT rate                       | the amount excluding VAT     |
//! | credit | 44571x VAT collected, one account per VAT rate             | the VAT                      |
//! | debit / credit | 530 and 758 (cash over) or 658 and 530 (cash short) | the count difference     |
//! | credit | 4191 gift cards (the gift card tender's account)          | gift cards sold and topped up |
//!
//! **Stored value.** A gift card sold is an advance received (a multi-purpose voucher: no VAT
//! at sale, VAT on the goods it later pays for), so the customer's payment for it is credited
//! to 4191, never to sales; its redemption is a gift card tender, debited to 4191. A credit
//! note issued is a negative store-credit tender (credit 4197), its redemption a positive one.
//!
//! **Signs.** FEC amounts are never negative, so every line carries a non-negative amount on
//! one side only: a net amount that comes out negative (a day where refunds by card exceed card
//! payments, or where returns at a rate exceed sales at that rate) is written *on the other
//! side* with its absolute value. A tender refunded more than it took is therefore a credit of
//! its account, and net returns at a rate are a debit of the sales and VAT accounts of that
//! rate. Lines whose amount is zero are left out.
//!
//! **Cash over and short.** The count difference comes from the day's cash movements
//! ([`day_cash_difference`]: the last count's, as counts do not move the expected cash). It is
//! posted on its own pair of lines, so the cash account moves by the closure's net cash plus
//! the difference, and 658/758 hold the differences alone.
//!
//! **Goods and services.** A closure carries per-rate totals but not the split between goods
//! and services, so every sale goes to the 707x account of its rate; 706 (services) needs a
//! per-category split in the closure first.
//!
//! **Balance.** Each ticket's tenders net of change equal its total, and its per-rate amounts
//! including VAT add up to the same total, so the debits equal the credits to the cent for any
//! closure built by [`crate::closure::TotalsBuilder`]. [`daily_entry`] checks it anyway and
//! refuses an inconsistent closure ([`AccountingError::Unbalanced`]).
//!
//! **Corrections.** Entries are append-only. A correction is a reversing entry
//! ([`reverse`]: same accounts, debits and credits swapped, dated on the day of the
//! correction), followed by a new entry if needed.
//!
//! # FEC
//!
//! [`render_fec`] writes the Fichier des Écritures Comptables (LPF art. A47 A-1):
//!
//! - a header line with the 18 columns of [`FEC_COLUMNS`], in order;
//! - the separator is `|` ([`FEC_SEPARATOR`]); records end with CR LF;
//! - dates are `YYYYMMDD`; amounts have a decimal comma, two decimals and no thousands
//!   separator (`1234,50`); both `Debit` and `Credit` are filled, one of them `0,00`;
//! - entries are sorted by validation date, then entry date (ties keep the given order), and
//!   numbered 1, 2, 3... in that order (`EcritureNum`); entries without lines are skipped and
//!   take no number;
//! - `PieceRef` is the Z closure number and `PieceDate` the closed day;
//! - the optional pairs (`CompAuxNum`/`CompAuxLib`, `EcritureLet`/`DateLet`,
//!   `Montantdevise`/`Idevise`) are left empty together;
//! - `ValidDate` is [`JournalEntry::validated`];
//! - the bytes are ISO-8859-15 (Latin-9, where `€` is `0xA4`, `é` is `0xE9`, `Œ` is `0xBC`),
//!   written by `encoding_rs`'s ISO-8859-15 encoder with replacement turned off.
//!
//! **Text fields** go through [`sanitize_text`]: the separator `|` becomes `/`, tabs, line
//! breaks and other control characters become spaces, runs of spaces collapse to one and the
//! ends are trimmed; a few typographic characters that Latin-9 lacks are replaced by their
//! plain equivalents (curly quotes by straight ones, en and em dashes by `-`, the ellipsis by
//! `...`, narrow and thin spaces by a space). Any other character outside Latin-9 (Cyrillic,
//! CJK, emoji, and the eight Latin-1 signs Latin-9 replaced such as `¤` or `½`) is an error
//! ([`AccountingError::NotLatin9`]) naming the character and the text: never a silent `?`.
//!
//! # hledger
//!
//! [`render_hledger`] writes the same entries as an hledger journal: one `account` directive
//! per account used, then one transaction per entry, debits positive and credits negative, in
//! `EUR` with two decimals, and no commodity directive, so `hledger check` only passes when
//! every transaction balances exactly. Account names are `NUMBER Label` (colons, which would
//! make sub-accounts, become `.`); descriptions and comments have `;` and `|` replaced.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use encoding_rs::{EncoderResult, ISO_8859_15};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::closure::{Closure, ClosureLevel};
use crate::journal::{CashMovement, CashMovementKind};
use crate::money::Money;
use crate::tender::TenderKind;
use crate::vat::VatRate;

/// Why an entry or an export could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountingError {
    #[error("a {level:?} closure cannot be posted: daily entries are made from day (Z) closures")]
    NotADayClosure { level: ClosureLevel },
    #[error("closure period `{0}` is not a day written YYYY-MM-DD")]
    BadPeriod(String),
    #[error("the account plan has no sales account for VAT rate {0} %: add one to `sales`")]
    NoSalesAccount(VatRate),
    #[error(
        "the account plan has no VAT-collected account for VAT rate {0} %: add one to `vat_collected`"
    )]
    NoVatAccount(VatRate),
    #[error("the account plan has no account for tender `{0:?}`: add one to `tenders`")]
    NoTenderAccount(TenderKind),
    #[error(
        "entry `{entry}` does not balance: debits {debit}, credits {credit}; the closure's tenders \
         do not add up to its per-rate totals"
    )]
    Unbalanced {
        entry: String,
        debit: Money,
        credit: Money,
    },
    #[error(
        "entry `{entry}` has a negative amount or a line with both a debit and a credit: FEC \
         amounts are non-negative, one side per line"
    )]
    BadLine { entry: String },
    #[error(
        "character `{character}` (U+{code:04X}) in `{text}` has no ISO-8859-15 code: change the \
         text (shop, till or account label)"
    )]
    NotLatin9 {
        character: char,
        code: u32,
        text: String,
    },
    #[error("`{0}` is not a SIREN: nine digits expected")]
    BadSiren(String),
}

/// An account of the chart of accounts: its number and its French label.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Account {
    pub number: String,
    pub label: String,
}

impl Account {
    pub fn new(number: impl Into<String>, label: impl Into<String>) -> Account {
        Account {
            number: number.into(),
            label: label.into(),
        }
    }
}

/// The accounts a till's day is posted to. Every account is configurable; see
/// [`AccountPlan::french_default`] for the defaults and why they were chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPlan {
    /// `JournalCode` of the daily entries.
    pub journal_code: String,
    /// `JournalLib` of the daily entries.
    pub journal_label: String,
    /// Cash for shops without an account of their own.
    pub cash: Account,
    /// Cash per shop (PCG 532x "caisse succursale"), keyed by the shop identifier given to
    /// [`daily_entry`].
    #[serde(default)]
    pub shop_cash: BTreeMap<String, Account>,
    /// Every tender other than cash.
    pub tenders: BTreeMap<TenderKind, Account>,
    /// Sales (amounts excluding VAT) per VAT rate.
    pub sales: BTreeMap<VatRate, Account>,
    /// VAT collected per VAT rate.
    pub vat_collected: BTreeMap<VatRate, Account>,
    /// Cash counted above what was expected.
    pub cash_over: Account,
    /// Cash counted below what was expected.
    pub cash_short: Account,
}

impl Default for AccountPlan {
    fn default() -> AccountPlan {
        AccountPlan::french_default()
    }
}

/// The VAT rates of `fiscal.md` with the digit that ends their sales and VAT accounts.
const FRENCH_RATES: [(i64, u32, char, &str); 10] = [
    (0, 0, '0', "0 %"),
    (20, 0, '1', "20 %"),
    (10, 0, '2', "10 %"),
    (55, 1, '3', "5,5 %"),
    (21, 1, '4', "2,1 %"),
    (13, 0, '5', "13 % (Corse)"),
    (9, 1, '6', "0,9 % (Corse)"),
    (85, 1, '7', "8,5 % (DOM)"),
    (175, 2, '8', "1,75 % (DOM)"),
    (105, 2, '9', "1,05 % (DOM)"),
];

impl AccountPlan {
    /// French PCG defaults (fiscal.md, "Accounting export"):
    ///
    /// - journal `VT` "Ventes caisse";
    /// - cash 530 "Caisse"; a shop's own cash account (532x) goes in `shop_cash`
    ///   ([`AccountPlan::with_shop_cash`]);
    /// - card 5115 "Cartes bancaires à encaisser", cheque 5112 "Chèques à encaisser";
    /// - gift card 4191 "Clients - cartes cadeaux (avances reçues)": a gift card sold is an
    ///   advance received from a customer, and paying with it settles that advance;
    /// - store credit ("avoir") 4197 "Clients - avoirs": the credit note given on a return is a
    ///   debt to the customer like a gift card, but kept in its own customer-credit account
    ///   so the two liabilities can be followed apart;
    /// - voucher 5118 "Bons d'achat à encaisser": third-party vouchers, collected from their
    ///   issuer (map them to 4191 if the chain sells its own vouchers, or to 709 if they are
    ///   free promotional vouchers);
    /// - sales 707x "Ventes de marchandises TVA t %" and VAT collected 44571x "TVA collectée
    ///   t %", the last digit per rate: 1 for 20 %, 2 for 10 %, 3 for 5,5 %, 4 for 2,1 %,
    ///   5 and 6 for the Corsican 13 % and 0,9 %, 7, 8 and 9 for the overseas 8,5 %, 1,75 %
    ///   and 1,05 %, 0 for sales without VAT (7070, whose VAT line is always zero and left
    ///   out);
    /// - cash over 758 "Produits divers de gestion courante", cash short 658 "Charges diverses
    ///   de gestion courante".
    pub fn french_default() -> AccountPlan {
        let mut sales = BTreeMap::new();
        let mut vat_collected = BTreeMap::new();
        for (units, scale, digit, label) in FRENCH_RATES {
            let rate = VatRate::percent(Decimal::new(units, scale));
            let sales_label = if units == 0 {
                "Ventes de marchandises sans TVA".to_string()
            } else {
                format!("Ventes de marchandises TVA {label}")
            };
            sales.insert(rate, Account::new(format!("707{digit}"), sales_label));
            if units != 0 {
                vat_collected.insert(
                    rate,
                    Account::new(format!("44571{digit}"), format!("TVA collectée {label}")),
                );
            }
        }
        let tenders = BTreeMap::from([
            (
                TenderKind::Card,
                Account::new("5115", "Cartes bancaires à encaisser"),
            ),
            (
                TenderKind::GiftCard,
                Account::new("4191", "Clients - cartes cadeaux (avances reçues)"),
            ),
            (
                TenderKind::Voucher,
                Account::new("5118", "Bons d'achat à encaisser"),
            ),
            (
                TenderKind::Cheque,
                Account::new("5112", "Chèques à encaisser"),
            ),
            (
                TenderKind::StoreCredit,
                Account::new("4197", "Clients - avoirs"),
            ),
        ]);
        AccountPlan {
            journal_code: "VT".into(),
            journal_label: "Ventes caisse".into(),
            cash: Account::new("530", "Caisse"),
            shop_cash: BTreeMap::new(),
            tenders,
            sales,
            vat_collected,
            cash_over: Account::new("758", "Produits divers de gestion courante"),
            cash_short: Account::new("658", "Charges diverses de gestion courante"),
        }
    }

    /// Gives a shop its own cash account, such as `5321` "Caisse magasin Lyon".
    pub fn with_shop_cash(mut self, shop: impl Into<String>, account: Account) -> AccountPlan {
        self.shop_cash.insert(shop.into(), account);
        self
    }

    /// The cash account of a shop: its own, or the common one.
    pub fn cash_account(&self, shop: &str) -> &Account {
        self.shop_cash.get(shop).unwrap_or(&self.cash)
    }

    /// The account a tender is posted to in a shop.
    pub fn tender_account(
        &self,
        kind: TenderKind,
        shop: &str,
    ) -> Result<&Account, AccountingError> {
        match kind {
            TenderKind::Cash => Ok(self.cash_account(shop)),
            other => self
                .tenders
                .get(&other)
                .ok_or(AccountingError::NoTenderAccount(other)),
        }
    }

    pub fn sales_account(&self, rate: VatRate) -> Result<&Account, AccountingError> {
        self.sales
            .get(&rate)
            .ok_or(AccountingError::NoSalesAccount(rate))
    }

    pub fn vat_account(&self, rate: VatRate) -> Result<&Account, AccountingError> {
        self.vat_collected
            .get(&rate)
            .ok_or(AccountingError::NoVatAccount(rate))
    }
}

/// One line of a journal entry: an account and a non-negative amount on one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLine {
    pub account: Account,
    /// `EcritureLib` of the line.
    pub label: String,
    pub debit: Money,
    pub credit: Money,
}

impl EntryLine {
    /// A line from a signed amount: positive is a debit, negative a credit of its absolute
    /// value (see the module docs on signs).
    pub fn signed(account: Account, label: impl Into<String>, amount: Money) -> EntryLine {
        let (debit, credit) = if amount.is_negative() {
            (Money::ZERO, -amount)
        } else {
            (amount, Money::ZERO)
        };
        EntryLine {
            account,
            label: label.into(),
            debit,
            credit,
        }
    }

    /// Debit minus credit.
    pub fn balance(&self) -> Money {
        self.debit - self.credit
    }
}

/// A double-entry journal entry: the daily entry of a till, or its reversal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// `JournalCode`.
    pub journal_code: String,
    /// `JournalLib`.
    pub journal_label: String,
    /// `EcritureDate`: the closed day, or the day of a correction.
    pub date: NaiveDate,
    /// `ValidDate`: when the entry was validated in the accounts. [`daily_entry`] sets the
    /// closed day (a Z closure is final when made); the server may set the day it posted the
    /// entry, which is what orders and numbers the FEC.
    pub validated: NaiveDate,
    /// `PieceRef`: the Z closure number.
    pub piece_ref: String,
    /// `PieceDate`: the closed day.
    pub piece_date: NaiveDate,
    /// The entry's description (the hledger transaction's description).
    pub label: String,
    pub till: String,
    pub shop: String,
    pub lines: Vec<EntryLine>,
}

impl JournalEntry {
    pub fn total_debit(&self) -> Money {
        self.lines.iter().map(|l| l.debit).sum()
    }

    pub fn total_credit(&self) -> Money {
        self.lines.iter().map(|l| l.credit).sum()
    }

    /// Debits equal credits to the cent.
    pub fn is_balanced(&self) -> bool {
        self.total_debit() == self.total_credit()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Debit minus credit per account number.
    pub fn balances(&self) -> BTreeMap<String, Money> {
        let mut out: BTreeMap<String, Money> = BTreeMap::new();
        for line in &self.lines {
            *out.entry(line.account.number.clone()).or_default() += line.balance();
        }
        out
    }

    /// Checks the entry can be exported: balanced, non-negative amounts on one side per line.
    pub fn check(&self) -> Result<(), AccountingError> {
        let bad_line = |l: &EntryLine| {
            l.debit.is_negative()
                || l.credit.is_negative()
                || (!l.debit.is_zero() && !l.credit.is_zero())
        };
        if self.lines.iter().any(bad_line) {
            return Err(AccountingError::BadLine {
                entry: self.label.clone(),
            });
        }
        if !self.is_balanced() {
            return Err(AccountingError::Unbalanced {
                entry: self.label.clone(),
                debit: self.total_debit(),
                credit: self.total_credit(),
            });
        }
        Ok(())
    }
}

fn tender_label(kind: TenderKind) -> &'static str {
    match kind {
        TenderKind::Cash => "Espèces",
        TenderKind::Card => "Carte bancaire",
        TenderKind::GiftCard => "Carte cadeau",
        TenderKind::Voucher => "Bon d'achat",
        TenderKind::Cheque => "Chèque",
        TenderKind::StoreCredit => "Avoir",
    }
}

/// A VAT rate written the French way: `5,5`.
fn rate_fr(rate: VatRate) -> String {
    rate.to_string().replace('.', ",")
}

/// The count difference to post for a day, from the day's cash movements in chain order (the
/// cash-chain records after the previous day closure's `through_cash`, up to this closure's):
/// the difference of the *last* count, or `None` without a count.
///
/// Counts do not change the expected cash (see the till's closing), so cash found missing at
/// noon is still missing in the evening and the last count reports the day's whole
/// difference: adding up the differences of several counts would post it twice.
pub fn day_cash_difference(movements: &[CashMovement]) -> Option<Money> {
    movements
        .iter()
        .rev()
        .find(|m| m.kind == CashMovementKind::Count)
        .map(|m| m.difference.unwrap_or_default())
}

/// The balanced daily entry of one till's day closure.
///
/// `closure_number` is the Z closure's number (its closure-chain sequence), written as the
/// `PieceRef`. `cash_difference` is the day's count difference (counted minus expected,
/// negative when cash is short; see [`day_cash_difference`]): an excess is a debit of
/// cash and a credit of `cash_over`, a shortage a debit of `cash_short` and a credit of cash.
/// See the module docs for the accounts and the signs. A day whose every amount nets to zero
/// (no tickets, or a sale refunded the same day to the same tender, and no count difference)
/// gives an entry without lines, which the renderings leave out.
pub fn daily_entry(
    till_id: &str,
    shop: &str,
    closure_number: u64,
    closure: &Closure,
    cash_difference: Option<Money>,
    plan: &AccountPlan,
) -> Result<JournalEntry, AccountingError> {
    if closure.level != ClosureLevel::Day {
        return Err(AccountingError::NotADayClosure {
            level: closure.level,
        });
    }
    let day = NaiveDate::parse_from_str(&closure.period, "%Y-%m-%d")
        .map_err(|_| AccountingError::BadPeriod(closure.period.clone()))?;
    let tag = format!("Z{closure_number} caisse {till_id}");
    let mut lines = Vec::new();
    let mut post = |account: &Account, what: &str, amount: Money| {
        if !amount.is_zero() {
            lines.push(EntryLine::signed(
                account.clone(),
                format!("{what} - {tag}"),
                amount,
            ));
        }
    };
    for tender in &closure.totals.tenders {
        let account = plan.tender_account(tender.kind, shop)?;
        post(account, tender_label(tender.kind), tender.amount);
    }
    // Gift cards sold: paid in the tenders above, owed to the holder until spent (VAT comes
    // with the goods they pay for). Credit notes and redemptions are already tenders.
    for liability in &closure.totals.stored_value {
        let kind = liability.kind.tender_kind();
        let account = plan.tender_account(kind, shop)?;
        post(
            account,
            &format!("{} vendues", tender_label(kind)),
            -liability.loaded,
        );
    }
    if let Some(difference) = cash_difference.filter(|d| !d.is_zero()) {
        let cash = plan.cash_account(shop);
        if difference.is_positive() {
            post(cash, "Excédent de caisse", difference);
            post(&plan.cash_over, "Excédent de caisse", -difference);
        } else {
            post(&plan.cash_short, "Manquant de caisse", -difference);
            post(cash, "Manquant de caisse", difference);
        }
    }
    for line in &closure.totals.vat {
        let rate = rate_fr(line.rate);
        if !line.excluding_vat.is_zero() {
            let account = plan.sales_account(line.rate)?;
            post(
                account,
                &format!("Ventes TVA {rate} %"),
                -line.excluding_vat,
            );
        }
        if !line.vat.is_zero() {
            let account = plan.vat_account(line.rate)?;
            post(account, &format!("TVA collectée {rate} %"), -line.vat);
        }
    }
    let entry = JournalEntry {
        journal_code: plan.journal_code.clone(),
        journal_label: plan.journal_label.clone(),
        date: day,
        validated: day,
        piece_ref: closure_number.to_string(),
        piece_date: day,
        label: format!(
            "Z{closure_number} caisse {till_id} {shop} du {}",
            day.format("%d/%m/%Y")
        ),
        till: till_id.to_string(),
        shop: shop.to_string(),
        lines,
    };
    entry.check()?;
    Ok(entry)
}

/// The reversing entry of `entry`, dated `on` (the day of the correction): the same accounts
/// with debits and credits swapped, the same piece, labels prefixed with "Extourne". Posting it
/// cancels the original in every account; the original stays in the journal.
pub fn reverse(entry: &JournalEntry, on: NaiveDate) -> JournalEntry {
    JournalEntry {
        journal_code: entry.journal_code.clone(),
        journal_label: entry.journal_label.clone(),
        date: on,
        validated: on,
        piece_ref: entry.piece_ref.clone(),
        piece_date: entry.piece_date,
        label: format!("Extourne {}", entry.label),
        till: entry.till.clone(),
        shop: entry.shop.clone(),
        lines: entry
            .lines
            .iter()
            .map(|line| EntryLine {
                account: line.account.clone(),
                label: format!("Extourne {}", line.label),
                debit: line.credit,
                credit: line.debit,
            })
            .collect(),
    }
}

/// The FEC columns, in the order of LPF art. A47 A-1.
pub const FEC_COLUMNS: [&str; 18] = [
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
];

/// The FEC field separator (the law allows a tab or `|`; `|` never occurs in our fields, see
/// [`sanitize_text`]).
pub const FEC_SEPARATOR: char = '|';

/// The FEC record terminator.
pub const FEC_LINE_END: &str = "\r\n";

/// `<SIREN>FEC<YYYYMMDD>.txt`, the closing date being the fiscal year's last day.
pub fn fec_file_name(siren: &str, closing_date: NaiveDate) -> Result<String, AccountingError> {
    if siren.len() != 9 || !siren.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AccountingError::BadSiren(siren.to_string()));
    }
    Ok(format!("{siren}FEC{}.txt", closing_date.format("%Y%m%d")))
}

/// Replacements for typographic characters Latin-9 lacks.
fn typographic(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => "\"",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' => "-",
        '\u{2026}' => "...",
        '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => " ",
        _ => return None,
    })
}

/// Makes a text safe for one FEC field (and an hledger description): `|` becomes `/`, tabs,
/// line breaks and other control characters become spaces, typographic characters Latin-9
/// lacks get their plain equivalents, runs of spaces collapse and the ends are trimmed. The
/// result may still hold characters outside Latin-9, which [`encode_latin9`] refuses.
pub fn sanitize_text(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => plain.push('/'),
            c if c.is_control() => plain.push(' '),
            c => match typographic(c) {
                Some(replacement) => plain.push_str(replacement),
                None => plain.push(c),
            },
        }
    }
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Encodes a text in ISO-8859-15 (Latin-9), refusing any character it cannot represent.
pub fn encode_latin9(text: &str) -> Result<Vec<u8>, AccountingError> {
    let mut encoder = ISO_8859_15.new_encoder();
    let capacity = encoder
        .max_buffer_length_from_utf8_without_replacement(text.len())
        .unwrap_or(text.len());
    let mut bytes = Vec::with_capacity(capacity);
    let (result, _read) =
        encoder.encode_from_utf8_to_vec_without_replacement(text, &mut bytes, true);
    match result {
        EncoderResult::InputEmpty => Ok(bytes),
        EncoderResult::Unmappable(character) => Err(AccountingError::NotLatin9 {
            character,
            code: character as u32,
            text: text.to_string(),
        }),
        // A single-byte encoding never needs more bytes than the UTF-8 input has.
        EncoderResult::OutputFull => unreachable!("Latin-9 output is never longer than UTF-8"),
    }
}

/// An amount the FEC way: decimal comma, two decimals, no thousands separator.
pub fn fec_amount(amount: Money) -> String {
    amount.to_string().replace('.', ",")
}

fn fec_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// Sorts entries by validation date, then entry date, keeping the given order for ties, and
/// leaves out entries without lines: the order in which [`render_fec`] numbers them.
pub fn fec_order(entries: &[JournalEntry]) -> Vec<&JournalEntry> {
    let mut ordered: Vec<&JournalEntry> = entries.iter().filter(|e| !e.is_empty()).collect();
    ordered.sort_by_key(|e| (e.validated, e.date));
    ordered
}

/// The FEC of a legal entity's fiscal year: header, then every line of every entry, numbered
/// in chronological order, in ISO-8859-15. Every entry is checked first (balanced,
/// non-negative amounts); see the module docs for the format.
pub fn render_fec(entries: &[JournalEntry]) -> Result<Vec<u8>, AccountingError> {
    let mut out = Vec::new();
    let separator = FEC_SEPARATOR.to_string();
    out.extend_from_slice(FEC_COLUMNS.join(&separator).as_bytes());
    out.extend_from_slice(FEC_LINE_END.as_bytes());
    for (index, entry) in fec_order(entries).into_iter().enumerate() {
        entry.check()?;
        let number = (index + 1).to_string();
        let date = fec_date(entry.date);
        let piece_date = fec_date(entry.piece_date);
        let validated = fec_date(entry.validated);
        for line in &entry.lines {
            let debit = fec_amount(line.debit);
            let credit = fec_amount(line.credit);
            let fields: [&str; 18] = [
                &entry.journal_code,
                &entry.journal_label,
                &number,
                &date,
                &line.account.number,
                &line.account.label,
                "",
                "",
                &entry.piece_ref,
                &piece_date,
                &line.label,
                &debit,
                &credit,
                "",
                "",
                &validated,
                "",
                "",
            ];
            for (column, field) in fields.iter().enumerate() {
                if column > 0 {
                    out.push(FEC_SEPARATOR as u8);
                }
                out.extend(encode_latin9(&sanitize_text(field))?);
            }
            out.extend_from_slice(FEC_LINE_END.as_bytes());
        }
    }
    Ok(out)
}

/// An hledger account name: `NUMBER Label`, single spaces, no `:` (the sub-account
/// separator) and no `;` (a comment start).
pub fn hledger_account(account: &Account) -> String {
    sanitize_text(&format!("{} {}", account.number, account.label))
        .replace(':', ".")
        .replace(';', ",")
}

/// Text safe in an hledger description or comment: no `;` (comment start), no `|`.
fn hledger_text(text: &str) -> String {
    sanitize_text(text).replace(';', ",")
}

/// A tag value: also no `,` (which ends a tag).
fn hledger_tag(text: &str) -> String {
    hledger_text(text).replace(',', " ")
}

/// The entries as an hledger journal (see the module docs). Entries are written in FEC order;
/// entries without lines are left out. Every entry is checked first.
pub fn render_hledger(entries: &[JournalEntry]) -> Result<String, AccountingError> {
    let ordered = fec_order(entries);
    for entry in &ordered {
        entry.check()?;
    }
    let mut accounts: BTreeMap<String, String> = BTreeMap::new();
    for line in ordered.iter().flat_map(|e| &e.lines) {
        accounts
            .entry(line.account.number.clone())
            .or_insert_with(|| hledger_account(&line.account));
    }
    let mut out = String::new();
    for name in accounts.values() {
        let _ = writeln!(out, "account {name}");
    }
    for entry in ordered {
        out.push('\n');
        let _ = writeln!(
            out,
            "{} * ({}) {}  ; journal:{}, till:{}, shop:{}",
            entry.date.format("%Y-%m-%d"),
            hledger_tag(&entry.piece_ref).replace(')', " "),
            hledger_text(&entry.label),
            hledger_tag(&entry.journal_code),
            hledger_tag(&entry.till),
            hledger_tag(&entry.shop),
        );
        for line in &entry.lines {
            let _ = writeln!(
                out,
                "    {:<48}  {:>14} EUR  ; {}",
                hledger_account(&line.account),
                line.balance().to_string(),
                hledger_text(&line.label),
            );
        }
    }
    Ok(out)
}
