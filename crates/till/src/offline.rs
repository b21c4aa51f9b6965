//! Offline mode in the event journal: the sync loop records `offline_start` when head office
//! stops answering and `offline_end` when it answers again, exactly once each per outage,
//! whatever the number of failed passes in between or restarts of the app during it (the
//! journal itself says whether an outage is open).

use pos_domain::journal::EventKind;
use pos_domain::record::Chain;
use serde_json::{Value, json};

use crate::engine::{SYSTEM_OPERATOR, Till};
use crate::error::Result;
use crate::ledger;

impl Till {
    /// Whether the event journal holds an outage not yet ended: its newest offline event is
    /// an `offline_start`. Scans the journal backwards (once per start of the sync loop).
    pub fn offline_recorded(&self) -> Result<bool> {
        let head = ledger::head(&self.conn, Chain::Event)?.map_or(0, |(seq, _)| seq);
        for seq in (1..=head).rev() {
            let Some(record) = ledger::get(&self.conn, Chain::Event, seq)? else {
                continue;
            };
            match record.record.payload.get("kind").and_then(Value::as_str) {
                Some("offline_start") => return Ok(true),
                Some("offline_end") => return Ok(false),
                _ => {}
            }
        }
        Ok(false)
    }

    /// Records that head office stopped answering (`why`: the error's code and message).
    pub fn record_offline_start(&mut self, code: &str, message: &str) -> Result<()> {
        self.log_event(
            SYSTEM_OPERATOR,
            EventKind::OfflineStart,
            json!({"error": code, "message": message}),
        )?;
        Ok(())
    }

    /// Records that head office answers again, after `failures` failed passes.
    pub fn record_offline_end(&mut self, failures: u32) -> Result<()> {
        self.log_event(
            SYSTEM_OPERATOR,
            EventKind::OfflineEnd,
            json!({"failed_passes": failures}),
        )?;
        Ok(())
    }
}
