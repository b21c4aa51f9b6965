//! Stored value: credit notes (avoirs) and gift cards (cartes cadeaux), the customer's money the
//! chain holds until it is spent in any shop.
//!
//! # Instruments and their numbers
//!
//! An instrument is named by an [`InstrumentNumber`]: a two-letter prefix saying its kind (`AV`
//! avoir, `CC` carte cadeau), 18 digits drawn from the operating system's random source (about
//! 60 bits: guessing a live number is hopeless, and head office rate-limits lookups) and two
//! ISO 7064 MOD 97-10 check digits computed over the kind and the digits, so any single mistyped
//! digit, any swap of two neighbours and a number read with the wrong prefix are refused before
//! any lookup. The random bytes are given by the caller ([`InstrumentNumber::generate`]): the
//! domain draws nothing itself. The printed slip carries the canonical number as a Code 128
//! barcode and as a QR code ([`InstrumentNumber::scan_payload`]); a scanner types it back as it
//! is, and the parser also takes it grouped with spaces or dashes, in any case.
//!
//! # Movements and the chains that carry them
//!
//! Every change of an instrument's balance is an [`InstrumentMovement`] in a signed record of
//! the till that made it, so it syncs exactly once like any record:
//!
//! - what is part of a ticket rides on the ticket, in [`crate::ticket::Ticket::stored_value`]:
//!   a credit note issued by a refund or an exchange (its tender is a negative `store_credit`
//!   naming the note), a gift card sold or topped up (no tender: the customer pays for it, and
//!   it is no ticket line, so it carries no VAT and is not in the sales totals), a redemption
//!   (its tender is a positive `gift_card` or `store_credit` naming the instrument), and the
//!   credit back to a card when a sale paid with it is returned;
//! - what no ticket carries, expiry and cancellation, is the payload of a record of the
//!   non-fiscal [`crate::record::Chain::StoredValue`] chain.
//!
//! A multi-purpose voucher (Directive 2016/1065, CGI art. 256 ter: a gift card or credit note
//! usable for goods at several rates) is not a supply when sold: no VAT then, VAT on the goods
//! when it is spent. So a gift card's sale is a liability (4191), never revenue; the goods it
//! later pays for are priced and taxed as any sale, and the redemption is the tender.
//!
//! # Balances
//!
//! An instrument's balance is the sum of its movements' [`InstrumentMovement::effect`]s
//! ([`balance`]); [`InstrumentState`] folds them in order and is what a redemption is checked
//! against ([`check_redemption`]). A till knows only the movements it made or was told of; head
//! office knows them all. A redemption with no answer from head office is *offline*: allowed
//! within the caps head office sets ([`StoredValueRules`]), flagged on the movement, and
//! reconciled (an overdraft is alarmed) after sync, never refused once the customer has left.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::{self, LimitError};
use crate::money::Money;
use crate::tender::{Tender, TenderKind};

/// What an instrument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstrumentKind {
    /// An avoir: issued by a refund or an exchange to store credit.
    CreditNote,
    /// A carte cadeau: sold at a till, loaded with an amount.
    GiftCard,
}

impl InstrumentKind {
    pub const ALL: [InstrumentKind; 2] = [InstrumentKind::CreditNote, InstrumentKind::GiftCard];

    /// The two letters a number of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            InstrumentKind::CreditNote => "AV",
            InstrumentKind::GiftCard => "CC",
        }
    }

    /// The digit standing for the kind in the check-digit computation, so a number read with
    /// the other kind's prefix fails its check.
    fn check_code(self) -> u32 {
        match self {
            InstrumentKind::CreditNote => 1,
            InstrumentKind::GiftCard => 2,
        }
    }

    /// The tender that spends (or, negative, fills) an instrument of this kind.
    pub fn tender_kind(self) -> TenderKind {
        match self {
            InstrumentKind::CreditNote => TenderKind::StoreCredit,
            InstrumentKind::GiftCard => TenderKind::GiftCard,
        }
    }

    /// The French name printed on slips and receipts.
    pub fn label_fr(self) -> &'static str {
        match self {
            InstrumentKind::CreditNote => "Avoir",
            InstrumentKind::GiftCard => "Carte cadeau",
        }
    }
}

/// Random digits in a number (the check digits come after them).
pub const RANDOM_DIGITS: usize = 18;
const CHECK_DIGITS: usize = 2;
const NUMBER_CHARS: usize = 2 + RANDOM_DIGITS + CHECK_DIGITS;

/// Why a text is not an instrument number. Each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("no number given: scan the slip's barcode or type the number printed under it")]
    Empty,
    #[error(
        "`{0}` is not a credit note or gift card number: they start with AV or CC; scan the \
         barcode on the slip or card"
    )]
    UnknownPrefix(String),
    #[error(
        "`{0}` has the wrong length: a number is two letters and 20 digits; check the number \
         and type it again"
    )]
    Length(String),
    #[error(
        "`{0}` has a check-digit error: a digit is mistyped; check the number and type it again"
    )]
    CheckDigits(String),
}

impl NumberError {
    pub fn code(&self) -> &'static str {
        "instrument_number_invalid"
    }
}

/// A credit note's or gift card's number, in canonical form (`AV` or `CC`, then 20 digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstrumentNumber(String);

impl InstrumentNumber {
    /// A new number of `kind` from 16 random bytes (the caller takes them from the OS random
    /// source). The 128 bits are reduced to 18 digits: the bias is below 10^-20.
    pub fn generate(kind: InstrumentKind, random: [u8; 16]) -> InstrumentNumber {
        let value = u128::from_be_bytes(random) % 10u128.pow(RANDOM_DIGITS as u32);
        let digits = format!("{value:0width$}", width = RANDOM_DIGITS);
        let check = check_digits(kind, &digits);
        InstrumentNumber(format!("{}{digits}{check:02}", kind.prefix()))
    }

    /// Reads a number as scanned or typed: spaces and dashes are ignored, letters in any case.
    pub fn parse(text: &str) -> Result<InstrumentNumber, NumberError> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_uppercase();
        if compact.is_empty() {
            return Err(NumberError::Empty);
        }
        let shown = || text.chars().take(40).collect::<String>();
        let kind = InstrumentKind::ALL
            .into_iter()
            .find(|k| compact.starts_with(k.prefix()))
            .ok_or_else(|| NumberError::UnknownPrefix(shown()))?;
        let digits = &compact[2..];
        if compact.chars().count() != NUMBER_CHARS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NumberError::Length(shown()));
        }
        let (random, check) = digits.split_at(RANDOM_DIGITS);
        if format!("{:02}", check_digits(kind, random)) != check {
            return Err(NumberError::CheckDigits(shown()));
        }
        Ok(InstrumentNumber(compact))
    }

    pub fn kind(&self) -> InstrumentKind {
        if self.0.starts_with(InstrumentKind::GiftCard.prefix()) {
            InstrumentKind::GiftCard
        } else {
            InstrumentKind::CreditNote
        }
    }

    /// The canonical form: what records hold, what the barcode and the QR code carry.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the slip's Code 128 barcode and QR code carry: the canonical number, so a scanner
    /// types exactly what [`InstrumentNumber::parse`] reads.
    pub fn scan_payload(&self) -> &str {
        &self.0
    }

    /// The number grouped for reading aloud and typing: `AV 1234 5678 9012 3456 7890`.
    pub fn grouped(&self) -> String {
        let (prefix, digits) = self.0.split_at(2);
        let groups: Vec<&str> = digits
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!("{prefix} {}", groups.join(" "))
    }
}

/// ISO 7064 MOD 97-10 over the kind's digit followed by `digits`: `98 − (n × 100 mod 97)`.
fn check_digits(kind: InstrumentKind, digits: &str) -> u32 {
    let remainder = std::iter::once(kind.check_code())
        .chain(digits.chars().filter_map(|c| c.to_digit(10)))
        .fold(0u32, |acc, d| (acc * 10 + d) % 97);
    98 - (remainder * 100) % 97
}

impl fmt::Display for InstrumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for InstrumentNumber {
    type Err = NumberError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        InstrumentNumber::parse(text)
    }
}

impl Serialize for InstrumentNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for InstrumentNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let number = InstrumentNumber::parse(&text).map_err(serde::de::Error::custom)?;
        if number.0 != text {
            return Err(serde::de::Error::custom(format!(
                "instrument number `{text}` is not canonical"
            )));
        }
        Ok(number)
    }
}

/// What a movement does to an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// A credit note issued (on a refund or exchange ticket).
    Issue,
    /// A gift card sold with its first amount (on a sale ticket).
    Load,
    /// More money put on a gift card (on a sale ticket).
    TopUp,
    /// Spent as a tender (on a ticket).
    Redeem,
    /// A redemption given back to the instrument when what it paid for is returned.
    Credit,
    /// The rest removed at the end of its validity (stored-value chain).
    Expire,
    /// Cancelled by a manager (a card sold in error, a note issued in error) (stored-value chain).
    Cancel,
}

impl MovementKind {
    /// Whether the movement adds to the balance.
    pub fn adds(self) -> bool {
        matches!(
            self,
            MovementKind::Issue | MovementKind::Load | MovementKind::TopUp | MovementKind::Credit
        )
    }

    /// Whether a ticket carries it (otherwise the stored-value chain does).
    pub fn on_ticket(self) -> bool {
        !matches!(self, MovementKind::Expire | MovementKind::Cancel)
    }

    /// Whether it is money the customer pays for on the ticket (not a tender).
    pub fn is_load(self) -> bool {
        matches!(self, MovementKind::Load | MovementKind::TopUp)
    }
}

/// One change of one instrument's balance. `amount` is positive; [`MovementKind::adds`] says
/// which way it goes. On a stored-value-chain record it is the whole payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentMovement {
    pub number: InstrumentNumber,
    pub kind: MovementKind,
    pub amount: Money,
    /// The last day it may be spent: set when a credit note is issued or a gift card loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// A redemption made without head office's answer, within the offline caps.
    #[serde(default, skip_serializing_if = "is_false")]
    pub offline: bool,
    /// Why (a cancellation's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The online hold head office granted for this redemption (its id, see
    /// [`crate::wire::RedemptionHold`]): head office ends exactly that hold when the record
    /// arrives, not another of the same instrument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(amount: &Money) -> bool {
    amount.is_zero()
}

impl InstrumentMovement {
    pub fn new(number: InstrumentNumber, kind: MovementKind, amount: Money) -> InstrumentMovement {
        InstrumentMovement {
            number,
            kind,
            amount,
            expires: None,
            offline: false,
            reason: None,
            hold: None,
        }
    }

    /// The signed change of the balance.
    pub fn effect(&self) -> Money {
        if self.kind.adds() {
            self.amount
        } else {
            -self.amount
        }
    }

    /// Checks the amount and the reason against [`crate::limits`]; amounts are positive.
    pub fn check_limits(&self) -> Result<(), LimitError> {
        limits::check_amount(format_args!("the amount of {}", self.number), self.amount)?;
        limits::check_optional_text("the reason", self.reason.as_deref(), limits::MAX_NOTE_CHARS)?;
        limits::check_optional_text("the hold", self.hold.as_deref(), limits::MAX_ID_CHARS)
    }
}

/// The balance of an instrument: the sum of its movements' effects.
pub fn balance<'a>(movements: impl IntoIterator<Item = &'a InstrumentMovement>) -> Money {
    movements.into_iter().map(InstrumentMovement::effect).sum()
}

/// What a till knows of one instrument, folded from its movements in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentState {
    pub number: InstrumentNumber,
    pub balance: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<NaiveDate>,
    /// Expired or cancelled: nothing more may be spent or loaded.
    pub closed: bool,
}

impl InstrumentState {
    pub fn new(number: InstrumentNumber) -> InstrumentState {
        InstrumentState {
            number,
            balance: Money::ZERO,
            expires: None,
            closed: false,
        }
    }

    /// Folds `movements` (of this instrument, oldest first).
    pub fn from_movements<'a>(
        number: InstrumentNumber,
        movements: impl IntoIterator<Item = &'a InstrumentMovement>,
    ) -> InstrumentState {
        let mut state = InstrumentState::new(number);
        for movement in movements {
            state.apply(movement);
        }
        state
    }

    pub fn apply(&mut self, movement: &InstrumentMovement) {
        self.balance += movement.effect();
        if let Some(expires) = movement.expires {
            self.expires = Some(expires);
        }
        if matches!(movement.kind, MovementKind::Expire | MovementKind::Cancel) {
            self.closed = true;
        }
    }

    /// Whether it may still be spent on `day`.
    pub fn usable_on(&self, day: NaiveDate) -> bool {
        !self.closed && self.expires.is_none_or(|last| day <= last)
    }
}

/// The rules head office sets for stored value (changes-feed kind `stored_value_rules`). Each
/// field has a safe default, used when head office has sent none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredValueRules {
    /// How long a credit note may be spent, from the day it is issued.
    pub credit_note_validity_days: u32,
    /// How long a gift card may be spent, from the day it is loaded or topped up.
    pub gift_card_validity_days: u32,
    /// The most one gift card may be loaded with at once.
    pub max_load: Money,
    /// The most a till spends from one instrument without head office's answer, over all its
    /// offline redemptions of that instrument.
    pub offline_cap_per_instrument: Money,
    /// The most a till spends from stored value without head office's answer in one day.
    pub offline_cap_per_till_day: Money,
}

impl Default for StoredValueRules {
    fn default() -> StoredValueRules {
        StoredValueRules {
            credit_note_validity_days: 365,
            gift_card_validity_days: 365,
            max_load: Money::from_cents(150_000),
            offline_cap_per_instrument: Money::from_cents(5_000),
            offline_cap_per_till_day: Money::from_cents(30_000),
        }
    }
}

impl StoredValueRules {
    /// Checks what head office is about to distribute; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        for (what, amount) in [
            ("the largest load", self.max_load),
            (
                "the offline cap per instrument",
                self.offline_cap_per_instrument,
            ),
            (
                "the offline cap per till and day",
                self.offline_cap_per_till_day,
            ),
        ] {
            if amount.is_negative() {
                return Err(format!("{what} cannot be negative (zero forbids it)"));
            }
            limits::check_amount(what, amount).map_err(|e| e.to_string())?;
        }
        if self.credit_note_validity_days == 0 || self.gift_card_validity_days == 0 {
            return Err("a validity must be at least one day".into());
        }
        Ok(())
    }

    /// The last day an instrument of `kind` issued or loaded on `day` may be spent.
    pub fn expiry(&self, kind: InstrumentKind, day: NaiveDate) -> NaiveDate {
        let days = match kind {
            InstrumentKind::CreditNote => self.credit_note_validity_days,
            InstrumentKind::GiftCard => self.gift_card_validity_days,
        };
        day + chrono::Days::new(u64::from(days))
    }
}

/// What the till has already spent without head office, for the offline caps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OfflineSpent {
    /// Offline redemptions of this instrument at this till.
    pub instrument: Money,
    /// Offline redemptions of any instrument at this till today.
    pub till_today: Money,
}

/// What the balance check of a redemption is made against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BalanceSource {
    /// Head office answered: its balance and validity are authoritative.
    HeadOffice(InstrumentState),
    /// No answer: what this till knows, if anything, and what it already spent offline.
    Offline {
        known: Option<InstrumentState>,
        spent: OfflineSpent,
    },
}

/// Why stored value cannot move. Each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredValueError {
    #[error(transparent)]
    Number(#[from] NumberError),
    #[error(
        "{number} holds {balance}, less than {asked}: take {balance} from it and the rest in another tender"
    )]
    InsufficientBalance {
        number: InstrumentNumber,
        balance: Money,
        asked: Money,
    },
    #[error(
        "{number} is no longer valid (expired or cancelled): it cannot be spent; take another tender"
    )]
    NotUsable { number: InstrumentNumber },
    #[error(
        "head office cannot be reached and {number} would pass the offline limit ({cap} per card, \
         {already} already spent offline): take at most {left} from it, or another tender"
    )]
    OfflineInstrumentCap {
        number: InstrumentNumber,
        cap: Money,
        already: Money,
        left: Money,
    },
    #[error(
        "head office cannot be reached and this till's offline limit for stored value today \
         ({cap}) is reached: take at most {left} from cards and notes, or another tender"
    )]
    OfflineTillCap { cap: Money, left: Money },
    #[error("the amount of {number} must be more than zero")]
    NotPositive { number: InstrumentNumber },
    #[error("a gift card is loaded with at most {max} at once: load less")]
    LoadAboveMax { max: Money },
    #[error("{number} is a {kind}: use it as a {kind} tender", kind = .number.kind().label_fr())]
    WrongKind { number: InstrumentNumber },
    #[error(
        "the {kind:?} tenders naming {number} come to {tenders} but the ticket moves {moved} on it: \
         name each card or note once per tender"
    )]
    TendersDisagree {
        kind: TenderKind,
        number: String,
        tenders: Money,
        moved: Money,
    },
    #[error("{number} is already a live card: top it up instead of selling it again")]
    AlreadyLoaded { number: InstrumentNumber },
    #[error(
        "{number} is unknown here: only a card sold here, or one head office knows, can be topped up"
    )]
    Unknown { number: InstrumentNumber },
}

impl StoredValueError {
    pub fn code(&self) -> &'static str {
        match self {
            StoredValueError::Number(e) => e.code(),
            StoredValueError::InsufficientBalance { .. } => "instrument_balance_insufficient",
            StoredValueError::NotUsable { .. } => "instrument_not_usable",
            StoredValueError::OfflineInstrumentCap { .. } => "offline_cap_instrument",
            StoredValueError::OfflineTillCap { .. } => "offline_cap_till",
            StoredValueError::NotPositive { .. } => "instrument_amount_not_positive",
            StoredValueError::LoadAboveMax { .. } => "gift_card_load_above_max",
            StoredValueError::WrongKind { .. } => "instrument_wrong_kind",
            StoredValueError::TendersDisagree { .. } => "instrument_tenders_disagree",
            StoredValueError::AlreadyLoaded { .. } => "gift_card_already_loaded",
            StoredValueError::Unknown { .. } => "instrument_unknown",
        }
    }
}

/// Checks a redemption of `amount` from `number` on `day` and says whether it is offline.
///
/// With head office's answer, its balance and validity decide (a redemption above the balance
/// is refused). Without it, the till checks what it knows (a balance it saw, a note it issued)
/// and keeps within the offline caps, so the chain's loss from two tills spending one card
/// offline is bounded by the caps (issue 12; reconciled at head office after sync).
pub fn check_redemption(
    number: &InstrumentNumber,
    amount: Money,
    day: NaiveDate,
    source: &BalanceSource,
    rules: &StoredValueRules,
) -> Result<bool, StoredValueError> {
    if !amount.is_positive() {
        return Err(StoredValueError::NotPositive {
            number: number.clone(),
        });
    }
    let check_known = |state: &InstrumentState| {
        if !state.usable_on(day) {
            return Err(StoredValueError::NotUsable {
                number: number.clone(),
            });
        }
        if amount > state.balance {
            return Err(StoredValueError::InsufficientBalance {
                number: number.clone(),
                balance: state.balance,
                asked: amount,
            });
        }
        Ok(())
    };
    match source {
        BalanceSource::HeadOffice(state) => check_known(state).map(|()| false),
        BalanceSource::Offline { known, spent } => {
            if let Some(state) = known {
                check_known(state)?;
            }
            let cap = rules.offline_cap_per_instrument;
            if spent.instrument + amount > cap {
                return Err(StoredValueError::OfflineInstrumentCap {
                    number: number.clone(),
                    cap,
                    already: spent.instrument,
                    left: (cap - spent.instrument).max(Money::ZERO),
                });
            }
            let cap = rules.offline_cap_per_till_day;
            if spent.till_today + amount > cap {
                return Err(StoredValueError::OfflineTillCap {
                    cap,
                    left: (cap - spent.till_today).max(Money::ZERO),
                });
            }
            Ok(true)
        }
    }
}

/// Checks a gift card load (a sale or a top-up) against the rules and what is known of it.
pub fn check_load(
    movement: &InstrumentMovement,
    known: Option<&InstrumentState>,
    rules: &StoredValueRules,
) -> Result<(), StoredValueError> {
    let number = &movement.number;
    if number.kind() != InstrumentKind::GiftCard || !movement.kind.is_load() {
        return Err(StoredValueError::WrongKind {
            number: number.clone(),
        });
    }
    if !movement.amount.is_positive() {
        return Err(StoredValueError::NotPositive {
            number: number.clone(),
        });
    }
    if movement.amount > rules.max_load {
        return Err(StoredValueError::LoadAboveMax {
            max: rules.max_load,
        });
    }
    match (movement.kind, known) {
        (MovementKind::Load, Some(state)) if !state.closed => {
            Err(StoredValueError::AlreadyLoaded {
                number: number.clone(),
            })
        }
        (MovementKind::TopUp, None) => Err(StoredValueError::Unknown {
            number: number.clone(),
        }),
        (MovementKind::TopUp, Some(state)) if state.closed => Err(StoredValueError::NotUsable {
            number: number.clone(),
        }),
        _ => Ok(()),
    }
}

/// What the customer pays for gift cards sold or topped up on a ticket: due on top of its
/// total, never in it.
pub fn loads_total(movements: &[InstrumentMovement]) -> Money {
    movements
        .iter()
        .filter(|m| m.kind.is_load())
        .map(|m| m.amount)
        .sum()
}

/// Checks that a ticket's stored-value tenders and its movements tell the same story: per
/// instrument, the positive tenders naming it equal its redemptions and the negative ones its
/// issues and credits back. A tender of kind gift card or store credit naming no instrument
/// (a partner's voucher kept as today's label) moves nothing.
pub fn check_ticket_movements(
    tenders: &[Tender],
    movements: &[InstrumentMovement],
) -> Result<(), StoredValueError> {
    let mut by_tenders: BTreeMap<(TenderKind, String), Money> = BTreeMap::new();
    for tender in tenders {
        let Some(reference) = tender.reference.as_deref() else {
            continue;
        };
        let Ok(number) = InstrumentNumber::parse(reference) else {
            continue;
        };
        if number.kind().tender_kind() != tender.kind {
            return Err(StoredValueError::WrongKind { number });
        }
        *by_tenders
            .entry((tender.kind, number.as_str().to_string()))
            .or_default() += tender.amount;
    }
    let mut by_movements: BTreeMap<(TenderKind, String), Money> = BTreeMap::new();
    for movement in movements.iter().filter(|m| !m.kind.is_load()) {
        if !movement.kind.on_ticket() {
            return Err(StoredValueError::WrongKind {
                number: movement.number.clone(),
            });
        }
        let key = (
            movement.number.kind().tender_kind(),
            movement.number.as_str().to_string(),
        );
        // A redemption is a positive tender; an issue or credit a negative one.
        *by_movements.entry(key).or_default() -= movement.effect();
    }
    for key in by_tenders.keys().chain(by_movements.keys()) {
        let tendered = by_tenders.get(key).copied().unwrap_or_default();
        let moved = by_movements.get(key).copied().unwrap_or_default();
        if tendered != moved {
            return Err(StoredValueError::TendersDisagree {
                kind: key.0,
                number: key.1.clone(),
                tenders: tendered,
                moved,
            });
        }
    }
    Ok(())
}

/// A credit note to issue on a refund: its new number and its last valid day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCreditNote {
    pub number: InstrumentNumber,
    pub expires: NaiveDate,
}

/// The movements a ticket's tenders make on stored value, with each instrument tender's
/// reference written in canonical form:
///
/// - a positive tender naming an instrument spends it (a redemption; the caller checks the
///   balance and marks it offline when head office did not answer);
/// - a negative tender naming an instrument credits it back (a sale paid with it, returned);
/// - the negative store-credit tenders naming nothing are a refund to store credit: they are
///   given `new_note`'s number and issue it, once, for their sum. Without `new_note` they stay
///   as they are (a store-credit label that moves nothing, as before credit notes existed).
///
/// A reference that is not an instrument number (a partner's voucher) moves nothing.
pub fn movements_from_tenders(
    tenders: &mut [Tender],
    new_note: Option<NewCreditNote>,
) -> Vec<InstrumentMovement> {
    let mut movements = Vec::new();
    let mut issued = Money::ZERO;
    for tender in tenders.iter_mut() {
        let named = tender
            .reference
            .as_deref()
            .and_then(|r| InstrumentNumber::parse(r).ok());
        match named {
            Some(number) => {
                tender.reference = Some(number.to_string());
                let kind = if tender.amount.is_negative() {
                    MovementKind::Credit
                } else {
                    MovementKind::Redeem
                };
                movements.push(InstrumentMovement::new(number, kind, tender.amount.abs()));
            }
            None if tender.kind == TenderKind::StoreCredit
                && tender.reference.is_none()
                && tender.amount.is_negative() =>
            {
                if let Some(note) = &new_note {
                    tender.reference = Some(note.number.to_string());
                    issued += -tender.amount;
                }
            }
            None => {}
        }
    }
    if let Some(note) = new_note
        && issued.is_positive()
    {
        let mut issue = InstrumentMovement::new(note.number, MovementKind::Issue, issued);
        issue.expires = Some(note.expires);
        movements.push(issue);
    }
    movements
}

/// Per instrument kind, what a period moved: what closures show as liability, never revenue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiabilityTotal {
    pub kind: InstrumentKind,
    /// Gift cards sold and topped up (paid for by the customer on top of the ticket total).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub loaded: Money,
    /// Credit notes issued and redemptions credited back (refunds: already in the tenders).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub issued: Money,
    /// Spent as tenders.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redeemed: Money,
    /// Of which spent without head office's answer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redeemed_offline: Money,
    pub movements: u64,
}

impl LiabilityTotal {
    pub fn new(kind: InstrumentKind) -> LiabilityTotal {
        LiabilityTotal {
            kind,
            loaded: Money::ZERO,
            issued: Money::ZERO,
            redeemed: Money::ZERO,
            redeemed_offline: Money::ZERO,
            movements: 0,
        }
    }

    /// What the chain owes customers more at the end of the period than at its start.
    pub fn net_change(&self) -> Money {
        self.loaded + self.issued - self.redeemed
    }

    pub fn add_movement(&mut self, movement: &InstrumentMovement) {
        match movement.kind {
            MovementKind::Load | MovementKind::TopUp => self.loaded += movement.amount,
            MovementKind::Issue | MovementKind::Credit => self.issued += movement.amount,
            MovementKind::Redeem => {
                self.redeemed += movement.amount;
                if movement.offline {
                    self.redeemed_offline += movement.amount;
                }
            }
            MovementKind::Expire | MovementKind::Cancel => return,
        }
        self.movements += 1;
    }

    pub fn add(&mut self, other: &LiabilityTotal) {
        self.loaded += other.loaded;
        self.issued += other.issued;
        self.redeemed += other.redeemed;
        self.redeemed_offline += other.redeemed_offline;
        self.movements += other.movements;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(kind: InstrumentKind, seed: u8) -> InstrumentNumber {
        InstrumentNumber::generate(kind, [seed; 16])
    }

    #[test]
    fn a_generated_number_reads_back_from_its_printed_and_grouped_forms() {
        let n = number(InstrumentKind::CreditNote, 7);
        assert_eq!(n.as_str().len(), 22);
        assert!(n.as_str().starts_with("AV"));
        assert_eq!(InstrumentNumber::parse(n.as_str()), Ok(n.clone()));
        assert_eq!(InstrumentNumber::parse(&n.grouped()), Ok(n.clone()));
        let lower = n.grouped().to_lowercase().replace(' ', "-");
        assert_eq!(InstrumentNumber::parse(&lower), Ok(n.clone()));
        assert_eq!(n.kind(), InstrumentKind::CreditNote);
    }

    #[test]
    fn a_mistyped_digit_a_swap_or_the_wrong_prefix_is_caught_before_any_lookup() {
        let n = number(InstrumentKind::GiftCard, 42);
        let text = n.as_str().to_string();
        for i in 2..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[i] = b'0' + (bytes[i] - b'0' + 1) % 10;
            let typo = String::from_utf8(bytes).unwrap();
            assert!(
                InstrumentNumber::parse(&typo).is_err(),
                "one digit changed at {i} must fail the check: {typo}"
            );
        }
        for i in 2..text.len() - 1 {
            let mut bytes = text.clone().into_bytes();
            if bytes[i] == bytes[i + 1] {
                continue;
            }
            bytes.swap(i, i + 1);
            let swapped = String::from_utf8(bytes).unwrap();
            assert!(
                InstrumentNumber::parse(&swapped).is_err(),
                "neighbours swapped at {i} must fail the check: {swapped}"
            );
        }
        let other_prefix = format!("AV{}", &text[2..]);
        assert!(matches!(
            InstrumentNumber::parse(&other_prefix),
            Err(NumberError::CheckDigits(_))
        ));
        assert!(matches!(
            InstrumentNumber::parse("XX1234"),
            Err(NumberError::UnknownPrefix(_))
        ));
        assert_eq!(InstrumentNumber::parse("  "), Err(NumberError::Empty));
    }

    #[test]
    fn a_number_in_a_record_must_be_canonical() {
        let n = number(InstrumentKind::CreditNote, 1);
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<InstrumentNumber>(&json).unwrap(), n);
        let grouped = serde_json::to_string(&n.grouped()).unwrap();
        assert!(
            serde_json::from_str::<InstrumentNumber>(&grouped).is_err(),
            "a signed record holds the canonical form only"
        );
    }

    #[test]
    fn offline_redemptions_stay_within_both_caps_and_online_ones_within_the_balance() {
        let n = number(InstrumentKind::GiftCard, 3);
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let rules = StoredValueRules::default();
        let mut state = InstrumentState::new(n.clone());
        state.apply(&InstrumentMovement::new(
            n.clone(),
            MovementKind::Load,
            Money::from_cents(10_000),
        ));
        let online = BalanceSource::HeadOffice(state.clone());
        assert_eq!(
            check_redemption(&n, Money::from_cents(10_000), day, &online, &rules),
            Ok(false)
        );
        let err =
            check_redemption(&n, Money::from_cents(10_001), day, &online, &rules).unwrap_err();
        assert_eq!(err.code(), "instrument_balance_insufficient");
        let offline = |instrument, till_today| BalanceSource::Offline {
            known: None,
            spent: OfflineSpent {
                instrument: Money::from_cents(instrument),
                till_today: Money::from_cents(till_today),
            },
        };
        assert_eq!(
            check_redemption(&n, Money::from_cents(5_000), day, &offline(0, 0), &rules),
            Ok(true),
            "an unknown card is spent offline up to the per-card cap"
        );
        let err = check_redemption(
            &n,
            Money::from_cents(2_000),
            day,
            &offline(4_000, 0),
            &rules,
        )
        .unwrap_err();
        assert_eq!(err.code(), "offline_cap_instrument");
        let err = check_redemption(
            &n,
            Money::from_cents(2_000),
            day,
            &offline(0, 29_000),
            &rules,
        )
        .unwrap_err();
        assert_eq!(err.code(), "offline_cap_till");
        state.apply(&InstrumentMovement::new(
            n.clone(),
            MovementKind::Cancel,
            Money::from_cents(10_000),
        ));
        let err = check_redemption(
            &n,
            Money::from_cents(100),
            day,
            &BalanceSource::HeadOffice(state),
            &rules,
        )
        .unwrap_err();
        assert_eq!(err.code(), "instrument_not_usable");
    }

    #[test]
    fn tenders_and_movements_must_agree_per_instrument() {
        let card = number(InstrumentKind::GiftCard, 9);
        let tender = |kind, cents, reference: &InstrumentNumber| Tender {
            kind,
            amount: Money::from_cents(cents),
            reference: Some(reference.to_string()),
            payment: None,
        };
        let redeem =
            InstrumentMovement::new(card.clone(), MovementKind::Redeem, Money::from_cents(700));
        assert_eq!(
            check_ticket_movements(
                &[tender(TenderKind::GiftCard, 700, &card)],
                std::slice::from_ref(&redeem)
            ),
            Ok(())
        );
        assert!(
            check_ticket_movements(
                &[tender(TenderKind::GiftCard, 800, &card)],
                std::slice::from_ref(&redeem)
            )
            .is_err(),
            "a tender above what the card moves is refused"
        );
        assert!(check_ticket_movements(&[], &[redeem]).is_err());
        assert!(
            check_ticket_movements(&[tender(TenderKind::StoreCredit, 700, &card)], &[]).is_err(),
            "a gift card number under a store-credit tender is refused"
        );
    }
}
