//! The devices a manager set up in the app for this till (receipt printer, payment terminal),
//! as device URIs. They belong to the machine, not to head office, so they live here and not
//! in the changes feed; they are kept across restarts, and each change is a `settings_changed`
//! event of the event journal, written in the same transaction.

use std::collections::BTreeMap;

use pos_domain::journal::EventKind;
use pos_domain::record::timestamp;
use rusqlite::params;
use serde_json::json;

use crate::engine::{Till, append_event};
use crate::error::{Result, TillError};

/// The devices a till has settings for.
pub const DEVICES: [&str; 4] = ["printer", "terminal", "display", "scanner"];

impl Till {
    /// The saved device URIs, by device (`printer`, `terminal`).
    pub fn device_settings(&self) -> Result<BTreeMap<String, String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT device, uri FROM device_settings")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Saves the URI of `device` (`none` for no device), recorded as a settings change.
    pub fn set_device_setting(&mut self, operator: &str, device: &str, uri: &str) -> Result<()> {
        if !DEVICES.contains(&device) {
            return Err(TillError::invalid(
                "device_unknown",
                format!("`{device}`: the devices are printer, terminal, display and scanner"),
            ));
        }
        let uri = uri.trim();
        if uri.is_empty() {
            return Err(TillError::invalid(
                "device_uri_missing",
                format!("give the {device}'s device URI, or `none`"),
            ));
        }
        self.write(operator, |tx, author| {
            let previous: Option<String> = tx
                .query_row(
                    "SELECT uri FROM device_settings WHERE device = ?1",
                    [device],
                    |r| r.get(0),
                )
                .ok();
            if previous.as_deref() == Some(uri) {
                return Ok(());
            }
            tx.execute(
                "INSERT INTO device_settings (device, uri, changed_at, changed_by)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (device) DO UPDATE SET uri = excluded.uri,
                   changed_at = excluded.changed_at, changed_by = excluded.changed_by",
                params![device, uri, timestamp::format(&author.at), operator],
            )?;
            append_event(
                tx,
                author,
                EventKind::SettingsChanged,
                json!({"device": device, "from": previous, "to": uri}),
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pos_domain::clock::{Clock, ManualClock};
    use pos_domain::record::Chain;

    use crate::Till;
    use crate::identity::InitOptions;

    #[test]
    fn device_settings_survive_a_reopen_and_each_change_is_an_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("till.db");
        let clock: Arc<dyn Clock> =
            Arc::new(ManualClock::new("2026-03-02T09:00:00Z".parse().unwrap()));
        let mut till = Till::init(
            &path,
            InitOptions::new("Boutique", "Caisse 1"),
            clock.clone(),
            [9; 32],
        )
        .unwrap();
        let events = till.chain_length(Chain::Event).unwrap();
        till.set_device_setting("bruno", "printer", "tcp://192.168.1.50:9100")
            .unwrap();
        till.set_device_setting("bruno", "printer", "tcp://192.168.1.50:9100")
            .unwrap();
        till.set_device_setting("bruno", "terminal", " none ")
            .unwrap();
        assert_eq!(
            till.chain_length(Chain::Event).unwrap(),
            events + 2,
            "a change is an event; setting the same URI again is not a change"
        );
        let wrong = till
            .set_device_setting("bruno", "scale", "tcp://x:1")
            .unwrap_err();
        assert_eq!(wrong.code(), "device_unknown");
        drop(till);

        let till = Till::open(&path, clock).unwrap();
        let saved = till.device_settings().unwrap();
        assert_eq!(saved["printer"], "tcp://192.168.1.50:9100");
        assert_eq!(saved["terminal"], "none");
    }
}
