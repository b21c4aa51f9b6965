//! The shop's customers at the till (table `customers`, schema 7): created and changed here,
//! found as the cashier types (name, e-mail or phone digits; prefixes; accents and case
//! ignored; SQLite FTS5), uploaded to head office by the sync pass and received from it through
//! the changes feed.
//!
//! Customers are personal data, not ledger records: a ticket names its customer by id only, so
//! a customer can be changed or erased without touching a signed record. Contact details are
//! checked and normalized by [`pos_domain::customer`]. Each copy keeps the version with the
//! latest change ([`Customer::supersedes`]); a change made here stays `pending` until head
//! office has acknowledged that very version.

use pos_domain::customer::{
    self, ContactInput, Customer, CustomerError, SearchQuery, phone_search_keys,
};
use pos_domain::record::timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::Till;
use crate::error::{Result, TillError};

/// Most customers a search returns.
pub const MAX_RESULTS: usize = 200;

fn refused(error: CustomerError) -> TillError {
    TillError::invalid(error.code(), error.to_string())
}

const COLUMNS: &str = "c.id, c.name, c.phone, c.email, c.created_at, c.updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Customer> {
    let at = |i: usize| -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
        let text: String = row.get(i)?;
        text.parse().map_err(|e: chrono::ParseError| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        })
    };
    Ok(Customer {
        id: row.get(0)?,
        name: row.get(1)?,
        phone: row.get(2)?,
        email: row.get(3)?,
        created_at: at(4)?,
        updated_at: at(5)?,
    })
}

/// The customer with `id`, if this till knows them.
pub fn by_id(conn: &Connection, id: &str) -> Result<Option<Customer>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM customers c WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

/// Stores `customer` as given (insert or replace by id); `pending`: a change made here that
/// head office has yet to acknowledge.
fn store(conn: &Connection, customer: &Customer, pending: bool) -> Result<()> {
    let keys = customer
        .phone
        .as_deref()
        .map(phone_search_keys)
        .unwrap_or_default()
        .join(" ");
    conn.prepare_cached(
        "INSERT INTO customers (id, name, phone, email, phone_keys, created_at, updated_at, pending)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone,
           email = excluded.email, phone_keys = excluded.phone_keys,
           created_at = excluded.created_at, updated_at = excluded.updated_at,
           pending = excluded.pending",
    )?
    .execute(params![
        customer.id,
        customer.name,
        customer.phone,
        customer.email,
        keys,
        timestamp::format(&customer.created_at),
        timestamp::format(&customer.updated_at),
        pending,
    ])?;
    Ok(())
}

/// Applies a customer received from head office, in the caller's transaction: kept if it is a
/// later change than this till's copy. True if it was stored.
pub fn apply_received(conn: &Connection, received: &Customer) -> Result<bool> {
    customer::check_id(&received.id).map_err(refused)?;
    match by_id(conn, &received.id)? {
        Some(local) if !received.supersedes(&local) => Ok(false),
        _ => {
            store(conn, received, false)?;
            Ok(true)
        }
    }
}

/// Customers changed here and not yet acknowledged by head office, oldest change first.
pub fn pending(conn: &Connection, limit: usize) -> Result<Vec<Customer>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM customers c WHERE pending = 1 ORDER BY updated_at, id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many customers wait for head office.
pub fn pending_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM customers WHERE pending = 1",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Marks the versions head office acknowledged as uploaded; a customer changed again since
/// (another `updated_at`) stays pending.
pub fn acknowledge(conn: &Connection, uploaded: &[Customer]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE customers SET pending = 0 WHERE id = ?1 AND updated_at = ?2 AND pending = 1",
    )?;
    for c in uploaded {
        stmt.execute(params![c.id, timestamp::format(&c.updated_at)])?;
    }
    Ok(())
}

/// The FTS5 query for what was typed, if there is anything to look for.
fn match_expression(text: &str) -> Option<String> {
    match customer::search_query(text) {
        SearchQuery::Empty => None,
        SearchQuery::Phone(digits) => Some(format!("phone_keys : \"{digits}\"*")),
        SearchQuery::Words(words) => Some(
            words
                .iter()
                .map(|w| format!("{{name email}} : \"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

/// Customers whose name or e-mail words start with each word typed, or whose phone number
/// starts with the digits typed (national or international form): the first `limit` matches
/// in the index's order, shown by name. Sorting every match by name would read them all, which
/// the first letter or two typed (or `06`) make tens of thousands; the cashier types on until
/// the list is short, and then it holds every match.
pub fn search(conn: &Connection, text: &str, limit: usize) -> Result<Vec<Customer>> {
    let Some(expression) = match_expression(text) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM customer_search s JOIN customers c ON c.rowid = s.rowid
         WHERE customer_search MATCH ?1 LIMIT ?2"
    ))?;
    let rows = stmt.query_map(
        params![expression, limit.clamp(1, MAX_RESULTS) as i64],
        from_row,
    )?;
    let mut found: Vec<Customer> = rows.collect::<rusqlite::Result<_>>()?;
    found.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    Ok(found)
}

/// Another customer already holding this phone number or e-mail address, if any.
fn holder_of(
    conn: &Connection,
    phone: Option<&str>,
    email: Option<&str>,
    except: &str,
) -> Result<Option<Customer>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM customers c
         WHERE id <> ?3 AND ((?1 IS NOT NULL AND phone = ?1) OR (?2 IS NOT NULL AND email = ?2 COLLATE NOCASE))
         ORDER BY name LIMIT 1"
    ))?;
    Ok(stmt
        .query_row(params![phone, email, except], from_row)
        .optional()?)
}

fn check_not_taken(conn: &Connection, contact: &customer::Contact, except: &str) -> Result<()> {
    if let Some(other) = holder_of(
        conn,
        contact.phone.as_deref(),
        contact.email.as_deref(),
        except,
    )? {
        let what = if other.phone.is_some() && other.phone == contact.phone {
            "phone number"
        } else {
            "e-mail address"
        };
        return Err(TillError::invalid(
            "customer_exists",
            format!(
                "{} already has this {what}: pick them in the search instead of creating a new customer",
                other.name
            ),
        ));
    }
    Ok(())
}

impl Till {
    /// Creates a customer from what the cashier typed. `random` (16 bytes from the caller, so
    /// randomness stays injected) makes the id. A phone number or e-mail address another
    /// customer already has is refused: that customer is the one to pick.
    pub fn create_customer(&mut self, input: &ContactInput, random: [u8; 16]) -> Result<Customer> {
        let contact = customer::validate(input).map_err(refused)?;
        let id = customer::new_id(random);
        let now = self.now();
        let created = Customer {
            id,
            name: contact.name.clone(),
            phone: contact.phone.clone(),
            email: contact.email.clone(),
            created_at: now,
            updated_at: now,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if by_id(&tx, &created.id)?.is_some() {
            return Err(TillError::invalid(
                "customer_id_taken",
                "the random source repeated a customer id: try again",
            ));
        }
        check_not_taken(&tx, &contact, &created.id)?;
        store(&tx, &created, true)?;
        tx.commit()?;
        Ok(created)
    }

    /// Changes a customer's contact details (the whole set, checked as for a new customer).
    pub fn update_customer(&mut self, id: &str, input: &ContactInput) -> Result<Customer> {
        let contact = customer::validate(input).map_err(refused)?;
        let now = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current = by_id(&tx, id)?.ok_or_else(|| unknown(id))?;
        check_not_taken(&tx, &contact, id)?;
        // A change made here must win over the copy it changes, even if the clock went back.
        let updated_at = now.max(current.updated_at + chrono::Duration::microseconds(1));
        let updated = Customer {
            name: contact.name,
            phone: contact.phone,
            email: contact.email,
            updated_at,
            ..current
        };
        store(&tx, &updated, true)?;
        tx.commit()?;
        Ok(updated)
    }

    /// The customer with `id`, if this till knows them.
    pub fn customer(&self, id: &str) -> Result<Option<Customer>> {
        by_id(&self.conn, id)
    }

    /// Customers matching what was typed (see [`search`]), at most `limit`, by name.
    pub fn search_customers(&self, text: &str, limit: usize) -> Result<Vec<Customer>> {
        search(&self.conn, text, limit)
    }

    /// Customers, by name, `limit` from `offset`.
    pub fn customers(&self, limit: usize, offset: usize) -> Result<Vec<Customer>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM customers c ORDER BY name, id LIMIT ?1 OFFSET ?2"
        ))?;
        let rows = stmt.query_map(params![limit as i64, offset as i64], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many customers this till knows.
    pub fn customer_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Applies customers as head office sends them, in one transaction: each is kept if it is a
    /// later change than this till's copy (bulk loads, benchmarks). Returns how many were kept.
    pub fn receive_customers(&mut self, customers: &[Customer]) -> Result<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut kept = 0;
        for c in customers {
            kept += u64::from(apply_received(&tx, c)?);
        }
        tx.commit()?;
        Ok(kept)
    }

    /// Erases a customer from this till (their tickets keep the id only). For a till synced
    /// with head office, erase them there instead (`sync-server admin customer erase`): head
    /// office erases them from every till of the shop, and would send them back otherwise.
    pub fn erase_customer(&mut self, id: &str) -> Result<()> {
        if self
            .conn
            .execute("DELETE FROM customers WHERE id = ?1", [id])?
            == 0
        {
            return Err(unknown(id));
        }
        Ok(())
    }

    /// Customers changed here that head office has not acknowledged yet.
    pub fn customers_waiting(&self) -> Result<u64> {
        pending_count(&self.conn)
    }
}

/// The error for a customer id this till does not know.
pub fn unknown(id: &str) -> TillError {
    TillError::invalid(
        "unknown_customer",
        format!("no customer `{id}` at this till: search them again, or create them"),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pos_domain::clock::ManualClock;

    use super::*;
    use crate::identity::InitOptions;

    fn till() -> (tempfile::TempDir, Till, Arc<ManualClock>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new("2026-03-30T10:00:00Z".parse().unwrap()));
        let till = Till::init(
            &dir.path().join("till.db"),
            InitOptions::new("Boutique", "Caisse 1"),
            clock.clone(),
            [7; 32],
        )
        .unwrap();
        (dir, till, clock)
    }

    fn input(name: &str, phone: Option<&str>, email: Option<&str>) -> ContactInput {
        ContactInput {
            name: name.into(),
            phone: phone.map(Into::into),
            email: email.map(Into::into),
        }
    }

    fn names(found: &[Customer]) -> Vec<&str> {
        found.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn customers_are_found_by_name_email_and_phone_as_typed() {
        let (_dir, mut till, _) = till();
        till.create_customer(
            &input(
                "Zoé Lefèvre",
                Some("06 12 34 56 78"),
                Some("zoe.lefevre@example.fr"),
            ),
            [1; 16],
        )
        .unwrap();
        till.create_customer(&input("Marc Zola", None, Some("marc@zola.fr")), [2; 16])
            .unwrap();
        till.create_customer(&input("Amy Smith", Some("+44 20 7946 0958"), None), [3; 16])
            .unwrap();
        let find = |text: &str| names(&till.search_customers(text, 20).unwrap()).join(", ");
        assert_eq!(find("zo"), "Marc Zola, Zoé Lefèvre");
        assert_eq!(find("LEFEV"), "Zoé Lefèvre");
        assert_eq!(find("zoé lef"), "Zoé Lefèvre");
        assert_eq!(find("zoe.lefevre@exa"), "Zoé Lefèvre");
        assert_eq!(find("zola.fr"), "Marc Zola");
        assert_eq!(find("06 12 34"), "Zoé Lefèvre");
        assert_eq!(find("+33 6 12"), "Zoé Lefèvre");
        assert_eq!(find("0033612"), "Zoé Lefèvre");
        assert_eq!(find("020 79"), "Amy Smith");
        assert_eq!(find("+4420"), "Amy Smith");
        assert_eq!(find("07"), "");
        assert_eq!(find("dupont"), "");
        assert_eq!(find(" "), "");
        assert_eq!(find("\"zo*"), "Marc Zola, Zoé Lefèvre");
    }

    #[test]
    fn bad_details_are_refused_and_nothing_is_written() {
        let (_dir, mut till, _) = till();
        let err = till
            .create_customer(&input("Zoé", Some("06 12"), None), [1; 16])
            .unwrap_err();
        assert_eq!(err.code(), "customer_phone_invalid");
        assert!(err.is_input_error());
        let err = till
            .create_customer(&input("Zoé", None, None), [1; 16])
            .unwrap_err();
        assert_eq!(err.code(), "customer_contact_missing");
        assert_eq!(till.customer_count().unwrap(), 0);
    }

    #[test]
    fn a_phone_or_email_already_known_points_to_its_customer() {
        let (_dir, mut till, _) = till();
        let zoe = till
            .create_customer(
                &input("Zoé", Some("0612345678"), Some("Zoe@Example.fr")),
                [1; 16],
            )
            .unwrap();
        let err = till
            .create_customer(&input("Zoe L", Some("+33 6 12 34 56 78"), None), [2; 16])
            .unwrap_err();
        assert_eq!(err.code(), "customer_exists");
        assert!(
            err.to_string()
                .contains("Zoé already has this phone number"),
            "{err}"
        );
        let err = till
            .create_customer(&input("Zoe L", None, Some("zoe@example.FR")), [2; 16])
            .unwrap_err();
        assert!(err.to_string().contains("e-mail address"), "{err}");
        // Keeping one's own details is no conflict.
        till.update_customer(&zoe.id, &input("Zoé Lefèvre", Some("0612345678"), None))
            .unwrap();
    }

    #[test]
    fn updates_are_searchable_pending_and_later_than_the_copy_they_change() {
        let (_dir, mut till, clock) = till();
        let zoe = till
            .create_customer(&input("Zoé", Some("0612345678"), None), [1; 16])
            .unwrap();
        assert_eq!(till.customers_waiting().unwrap(), 1);
        acknowledge(&till.conn, std::slice::from_ref(&zoe)).unwrap();
        assert_eq!(till.customers_waiting().unwrap(), 0);
        // The clock went back: the change still supersedes what it changed.
        clock.set("2026-03-29T10:00:00Z".parse().unwrap());
        let renamed = till
            .update_customer(&zoe.id, &input("Zoé Martin", None, Some("zoe@example.fr")))
            .unwrap();
        assert!(renamed.supersedes(&zoe));
        assert_eq!(renamed.created_at, zoe.created_at);
        assert_eq!(till.customers_waiting().unwrap(), 1);
        assert_eq!(
            names(&till.search_customers("martin", 5).unwrap()),
            ["Zoé Martin"]
        );
        assert!(till.search_customers("0612", 5).unwrap().is_empty());
        // Acknowledging the old version leaves the new one pending.
        acknowledge(&till.conn, &[zoe]).unwrap();
        assert_eq!(till.customers_waiting().unwrap(), 1);
        assert_eq!(
            till.update_customer("nobody", &input("X", Some("0612345678"), None))
                .unwrap_err()
                .code(),
            "unknown_customer"
        );
    }

    #[test]
    fn received_customers_keep_the_latest_change() {
        let (_dir, mut till, _) = till();
        let zoe = till
            .create_customer(&input("Zoé", Some("0612345678"), None), [1; 16])
            .unwrap();
        let older = Customer {
            name: "Old".into(),
            updated_at: zoe.updated_at - chrono::Duration::seconds(1),
            ..zoe.clone()
        };
        assert!(!apply_received(&till.conn, &older).unwrap());
        assert_eq!(till.customer(&zoe.id).unwrap().unwrap().name, "Zoé");
        assert_eq!(till.customers_waiting().unwrap(), 1);
        let newer = Customer {
            name: "Zoé Martin".into(),
            updated_at: zoe.updated_at + chrono::Duration::seconds(1),
            ..zoe.clone()
        };
        assert!(apply_received(&till.conn, &newer).unwrap());
        assert_eq!(till.customer(&zoe.id).unwrap().unwrap(), newer);
        assert_eq!(till.customers_waiting().unwrap(), 0);
        assert_eq!(
            names(&till.search_customers("mart", 5).unwrap()),
            ["Zoé Martin"]
        );
        till.erase_customer(&zoe.id).unwrap();
        assert_eq!(till.customer(&zoe.id).unwrap(), None);
        assert!(
            till.search_customers("mart", 5).unwrap().is_empty(),
            "out of the index"
        );
        assert_eq!(
            till.erase_customer(&zoe.id).unwrap_err().code(),
            "unknown_customer"
        );
    }
}
