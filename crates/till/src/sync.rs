//! The till's side of sync (specs/sync.md): enrollment with head office, the upload of every
//! chain of the ledger, exactly once by construction, then the download of head office's
//! changes feed ([`crate::download`]). Before the records, the customers created or changed
//! at the till are uploaded (`POST /api/v1/tills/{till}/customers`; a resend changes nothing);
//! after the records, the archives of closed periods ([`crate::archive_upload`]).
//!
//! The till sends each chain's records in sequence order, in batches, two at once (head office
//! reads and checks the next while it writes the last, and writes one till's uploads in the
//! order they arrive); the server answers, per chain, the highest contiguous sequence it holds,
//! and only those answers, taken in the order the batches were sent, move the till's
//! `sync_held` mark. A batch that reached head office before the one it follows finds a gap,
//! and is sent again. A crash or a lost answer anywhere leaves at worst records that are sent
//! again, which the server treats as no-ops. One sync runs at a time per till: a lease in the
//! ledger database (`sync_lock`), which a crashed sync leaves to expire (on Linux it is free
//! as soon as the holding process is gone).
//!
//! Every request goes through [`crate::head_office`]: HTTPS trusting the system's authorities
//! and the one pinned at enrollment, plain HTTP only on this machine. The client is blocking:
//! call these methods from a thread that may block (the app runs them on a background
//! thread); the till never waits for them to sell.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pos_domain::record::{Chain, timestamp};
use pos_domain::wire::{
    ChainAck, ChainBatch, ChainOutcome, CustomersUpload, CustomersUploadResponse, EnrollRequest,
    EnrollResponse, ProtocolVersion, UploadRequest, UploadResponse, WireRecord, codes,
};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::customers;
use crate::download::{DownloadProgress, DownloadSummary};
use crate::engine::{SOFTWARE, SYSTEM_OPERATOR, Till};
use crate::error::{Result, TillError};
use crate::head_office::HeadOffice;
use crate::ledger;

/// How long a sync may hold its lease before another sync may take over; renewed per batch.
const LEASE: Duration = Duration::from_secs(120);
/// Most records sent in one upload, whatever the server allows.
const MAX_BATCH: u64 = 500;
/// Uploads of one chain in flight at once while catching up: head office reads and checks one
/// while it writes the other (a catch-up takes about a fifth less time than one at a time).
const IN_FLIGHT: usize = 2;
/// Most customers sent in one upload.
const CUSTOMER_BATCH: usize = 500;

/// What enrollment gave this till.
#[derive(Clone, Debug, Serialize)]
pub struct Enrollment {
    pub server: String,
    pub till_id: String,
    pub shop_id: String,
}

/// One chain's part of a sync pass.
#[derive(Clone, Debug, Serialize)]
pub struct ChainSync {
    pub chain: Chain,
    /// Records in the local chain.
    pub local: u64,
    /// What head office held before and after this pass.
    pub held_before: u64,
    pub held: u64,
    /// Records sent in this pass (resends included).
    pub sent: u64,
    /// `ok`, or why head office stopped this chain (fork, rejected record).
    pub status: String,
}

/// The result of one sync pass.
#[derive(Clone, Debug, Serialize)]
pub struct SyncSummary {
    pub uploads: u64,
    pub chains: Vec<ChainSync>,
    /// Records still not held by head office.
    pub waiting: u64,
    /// Customers created or changed here that head office stored in this pass.
    pub customers_uploaded: u64,
    /// What the download of head office's changes applied.
    pub download: DownloadSummary,
}

pub(crate) struct Server {
    pub(crate) http: HeadOffice,
    pub(crate) token: String,
    max_records: u64,
}

impl Till {
    /// Registers this till's public key with head office using a one-time enrollment code, and
    /// stores the access token. The ledger must have been initialized with the till id head
    /// office created (`till init --till-id`), since every record carries it. Head office is
    /// trusted through the system's certificate authorities: see
    /// [`Till::enroll_trusting`] for a private one.
    pub fn enroll(&mut self, server: &str, code: &str) -> Result<Enrollment> {
        self.enroll_trusting(server, code, None)
    }

    /// [`Till::enroll`], also trusting the certificate authority (or the certificate) in
    /// `authority_pem` (PEM), as `till enroll --ca-cert FILE.pem` does. The pin is kept with
    /// the enrollment and used for every later request to head office.
    pub fn enroll_trusting(
        &mut self,
        server: &str,
        code: &str,
        authority_pem: Option<&str>,
    ) -> Result<Enrollment> {
        let http = HeadOffice::new(server, authority_pem)?;
        let url = http.base().to_string();
        let request = EnrollRequest {
            protocol: ProtocolVersion::CURRENT,
            code: code.trim().to_string(),
            public_key: self.public_key().to_string(),
            software: SOFTWARE.to_string(),
        };
        let enrolled: EnrollResponse = http.post_json("/api/v1/enroll", None, &request)?;
        if enrolled.till_id != self.identity.till_id {
            return Err(TillError::invalid(
                "till_id_mismatch",
                format!(
                    "head office enrolled this till as {} but its ledger was created as {}: create the ledger with `till init --till-id {}`",
                    enrolled.till_id, self.identity.till_id, enrolled.till_id
                ),
            ));
        }
        let max_records =
            u64::from(enrolled.capabilities.max_records_per_upload).clamp(1, MAX_BATCH);
        let now = timestamp::format(&self.clock.now());
        let detail = serde_json::json!({"server": url, "shop": enrolled.shop_id, "authority_pinned": authority_pem.is_some()});
        self.write(SYSTEM_OPERATOR, |tx, author| {
            tx.execute(
                "INSERT INTO sync_server (id, url, token, shop_id, max_records, enrolled_at, ca_pem) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET url = excluded.url, token = excluded.token,
                   shop_id = excluded.shop_id, max_records = excluded.max_records, enrolled_at = excluded.enrolled_at,
                   ca_pem = excluded.ca_pem",
                params![url, enrolled.token, enrolled.shop_id, max_records as i64, now, authority_pem],
            )?;
            crate::engine::append_event(tx, author, pos_domain::journal::EventKind::SettingsChanged, serde_json::json!({"enrolled": detail}))?;
            Ok(())
        })?;
        Ok(Enrollment {
            server: url,
            till_id: enrolled.till_id,
            shop_id: enrolled.shop_id,
        })
    }

    /// Head office as enrolled, with a client trusting the authority pinned at enrollment.
    pub(crate) fn server(&self) -> Result<Server> {
        let (url, token, max_records, pinned) = self
            .conn
            .query_row(
                "SELECT url, token, max_records, ca_pem FROM sync_server WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?.max(1) as u64,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| {
                TillError::invalid(
                    "not_enrolled",
                    "this till is not enrolled: run `till enroll --server URL --code CODE`",
                )
            })?;
        Ok(Server {
            http: HeadOffice::new(&url, pinned.as_deref())?,
            token,
            max_records,
        })
    }

    /// Head office's address when this till is enrolled.
    pub fn enrolled_server(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT url FROM sync_server WHERE id = 1", [], |r| r.get(0))
            .optional()?)
    }

    /// What head office acknowledged holding of `chain`.
    pub fn synced(&self, chain: Chain) -> Result<u64> {
        Ok(self
            .conn
            .query_row(
                "SELECT held FROM sync_held WHERE chain = ?1",
                [chain.name()],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0) as u64)
    }

    /// Records not yet held by head office, over all chains.
    pub fn waiting(&self) -> Result<u64> {
        let mut waiting = 0;
        for chain in Chain::ALL {
            waiting += self
                .chain_length(chain)?
                .saturating_sub(self.synced(chain)?);
        }
        Ok(waiting)
    }

    fn take_lease(&self, holder: &str, now: DateTime<Utc>) -> Result<()> {
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let current: Option<(String, String)> = tx
            .query_row(
                "SELECT holder, expires_at FROM sync_lock WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((other, until)) = current
            && other != holder
            && until > timestamp::format(&now)
            && holder_alive(&other)
        {
            return Err(TillError::invalid(
                "sync_running",
                format!(
                    "another sync of this till is running (until {until} at the latest): wait for it"
                ),
            ));
        }
        let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        tx.execute(
            "INSERT INTO sync_lock (id, holder, expires_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
            params![holder, timestamp::format(&until)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn release_lease(&self, holder: &str) {
        if let Err(error) = self
            .conn
            .execute("DELETE FROM sync_lock WHERE holder = ?1", [holder])
        {
            tracing::warn!(%error, "could not release the sync lease; it will expire");
        }
    }

    fn set_synced(&self, chain: Chain, held: u64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_held (chain, held) VALUES (?1, ?2) ON CONFLICT (chain) DO UPDATE SET held = excluded.held",
            params![chain.name(), held as i64],
        )?;
        Ok(())
    }

    /// One sync pass: uploads every chain's records that head office does not hold yet, in
    /// batches, then downloads head office's changes. `progress` is called after each upload
    /// batch with the chain, the sequence now held and the chain's length.
    pub fn sync(&mut self, progress: impl FnMut(Chain, u64, u64)) -> Result<SyncSummary> {
        self.sync_reporting(progress, |_| {})
    }

    /// [`Till::sync`], also reporting the download after each page applied.
    pub fn sync_reporting(
        &mut self,
        mut progress: impl FnMut(Chain, u64, u64),
        mut downloaded: impl FnMut(&DownloadProgress),
    ) -> Result<SyncSummary> {
        let server = self.server()?;
        let mut secret = [0u8; 8];
        getrandom::fill(&mut secret)
            .map_err(|e| TillError::invalid("randomness_unavailable", e.to_string()))?;
        let holder = format!("{}-{}", std::process::id(), hex_encode(&secret));
        self.take_lease(&holder, self.clock.now())?;
        // Customers first: head office then knows the customer a ticket of this pass names.
        let result = self
            .upload_customers(&server)
            .and_then(|customers| {
                // Archives of closed periods first, so their archive-chain records go up with
                // this pass; a failure to make one is logged and retried at the next pass.
                if let Err(error) = self.make_due_archives() {
                    tracing::warn!(%error, "a due archive could not be made");
                }
                let mut summary = self.upload_all(&server, &holder, &mut progress)?;
                summary.customers_uploaded = customers;
                // A head office that cannot take archives yet (an older one) must not stop
                // the records and the download: the archives wait for the next pass.
                if let Err(error) = self.upload_archives(&server) {
                    tracing::warn!(%error, "archives not uploaded in this pass");
                }
                Ok(summary)
            })
            .and_then(|mut summary| {
                let mut renew = |till: &Till| till.take_lease(&holder, till.clock.now());
                summary.download = self.download_from(&server, &mut downloaded, &mut renew)?;
                Ok(summary)
            });
        self.release_lease(&holder);
        result
    }

    /// Uploads the customers created or changed here since head office last acknowledged
    /// them, in batches; each acknowledged version stops being pending unless it changed again
    /// meanwhile. Returns how many head office stored.
    fn upload_customers(&mut self, server: &Server) -> Result<u64> {
        let path = format!("/api/v1/tills/{}/customers", self.identity.till_id);
        let mut stored = 0;
        loop {
            let batch = customers::pending(&self.conn, CUSTOMER_BATCH)?;
            if batch.is_empty() {
                return Ok(stored);
            }
            let answer: CustomersUploadResponse = match server.http.post_json(
                &path,
                Some(&server.token),
                &CustomersUpload {
                    customers: batch.clone(),
                },
            ) {
                Ok(answer) => answer,
                // A head office older than customer uploads: the records still go, and the
                // customers wait, pending, for a server that takes them.
                Err(TillError::Server { code, .. }) if code == codes::NOT_FOUND => {
                    tracing::warn!("head office does not take customers yet; they stay pending");
                    return Ok(stored);
                }
                Err(e) => return Err(e),
            };
            stored += answer.stored;
            customers::acknowledge(&self.conn, &batch)?;
            if batch.len() < CUSTOMER_BATCH {
                return Ok(stored);
            }
        }
    }

    /// The upload of `chain`'s records `next..=to` (none when `next > to`: a question of what
    /// head office holds).
    fn upload_request(&self, chain: Chain, next: u64, to: u64) -> Result<UploadRequest> {
        let mut records = Vec::new();
        if next <= to {
            ledger::for_each_in(&self.conn, chain, next, to, |record| {
                let stored = String::from_utf8(record.stored.clone())
                    .map_err(|e| TillError::Corrupt(e.to_string()))?;
                records.push(WireRecord {
                    seq: record.record.seq,
                    stored,
                });
                Ok(())
            })?;
        }
        Ok(UploadRequest {
            protocol: ProtocolVersion::CURRENT,
            chains: vec![ChainBatch { chain, records }],
            sent_at: Some(timestamp::format(&self.clock.now())),
        })
    }

    /// Sends the records of `line`'s chain that head office does not hold (or, when there are
    /// none, asks what it holds), [`IN_FLIGHT`] uploads at once; returns the line as it ends
    /// and the number of uploads answered.
    fn upload_chain(
        &self,
        server: &Server,
        holder: &str,
        mut line: ChainSync,
        progress: &mut impl FnMut(Chain, u64, u64),
    ) -> Result<(ChainSync, u64)> {
        let (chain, local) = (line.chain, line.local);
        let path = format!("/api/v1/tills/{}/records", self.identity.till_id);
        let mut uploads = 0;
        // The first batch may be empty: it asks head office what it holds, which may be more
        // (an answer lost after it committed) or less (a restored server) than we know. After
        // that, every answer sets where to send from.
        std::thread::scope(|scope| -> Result<()> {
            let mut in_flight = VecDeque::new();
            let mut send_from = line.held + 1;
            let mut first = true;
            let mut last_gap = None;
            let mut answered = false;
            loop {
                // Up to `IN_FLIGHT` uploads at once: head office reads and checks the next
                // while it writes this one, and writes them in the order they arrived.
                while in_flight.len() < IN_FLIGHT && (first || send_from <= local) {
                    first = false;
                    let next = send_from;
                    let to = local.min(next - 1 + server.max_records);
                    let request = self.upload_request(chain, next, to)?;
                    send_from = to + 1;
                    let http = &server.http;
                    let (path, token) = (path.as_str(), &server.token);
                    let sent = request.chains[0].records.len() as u64;
                    line.sent += sent;
                    in_flight.push_back((
                        next,
                        to,
                        sent,
                        scope.spawn(move || {
                            http.post_json::<UploadResponse>(path, Some(token), &request)
                        }),
                    ));
                }
                let Some((next, to, sent, answer)) = in_flight.pop_front() else {
                    return Ok(());
                };
                let answer = answer
                    .join()
                    .map_err(|_| TillError::Unreachable("the upload's thread stopped".into()))??;
                uploads += 1;
                let ack = answer_for(&answer, chain)?;
                // The pass's first answer says what head office holds, even less than
                // we knew (a restored server). Then answers come in the order the uploads
                // were sent, and one made before an earlier upload was written (the two
                // raced to head office) says less than the answer before it.
                let held = ack.held.min(local);
                line.held = if answered { line.held.max(held) } else { held };
                answered = true;
                self.set_synced(chain, line.held)?;
                self.take_lease(holder, self.clock.now())?;
                progress(chain, line.held, local);
                let stop = match &ack.outcome {
                    ChainOutcome::Ok if sent > 0 && line.held < next => {
                        Some(format!("head office took none of {chain} {next}..{to}"))
                    }
                    ChainOutcome::Ok => None,
                    ChainOutcome::Gap { expected } if last_gap == Some(*expected) => {
                        Some(format!("head office keeps asking for {chain} {expected}"))
                    }
                    ChainOutcome::Gap { expected } => {
                        last_gap = Some(*expected);
                        None
                    }
                    ChainOutcome::Fork { seq, reason } => {
                        Some(format!("fork at {chain} {seq}: {reason}"))
                    }
                    ChainOutcome::Rejected { seq, reason } => {
                        Some(format!("rejected at {chain} {seq}: {reason}"))
                    }
                };
                // Head office holds less than this upload reached (it refused it as a gap,
                // took part of it, or is a restored server answering a question): what is
                // in flight starts past what it holds, and is sent again from there.
                if stop.is_some() || line.held < to {
                    // Their answers can only say how far it got.
                    for (_, _, _, answer) in in_flight.drain(..) {
                        if let Ok(Ok(answer)) = answer.join() {
                            uploads += 1;
                            if let Ok(ack) = answer_for(&answer, chain) {
                                line.held = line.held.max(ack.held.min(local));
                            }
                        }
                    }
                    self.set_synced(chain, line.held)?;
                    send_from = line.held + 1;
                }
                if let Some(status) = stop {
                    line.status = status;
                    return Ok(());
                }
                // Head office may hold more than was sent (an answer lost after it
                // committed): send from what it holds.
                send_from = send_from.max(line.held + 1);
            }
        })?;
        Ok((line, uploads))
    }

    fn upload_all(
        &mut self,
        server: &Server,
        holder: &str,
        progress: &mut impl FnMut(Chain, u64, u64),
    ) -> Result<SyncSummary> {
        let mut summary = SyncSummary {
            uploads: 0,
            chains: Vec::new(),
            waiting: 0,
            customers_uploaded: 0,
            download: DownloadSummary::default(),
        };
        for chain in Chain::ALL {
            let local = self.chain_length(chain)?;
            let held_before = self.synced(chain)?;
            // A chain added after protocol 1.0 goes only to servers that need it: while it is
            // empty, a server older than the chain is never sent a name it cannot read.
            if matches!(chain, Chain::WebOrder | Chain::StoredValue | Chain::Stock) && local == 0 {
                continue;
            }
            let line = ChainSync {
                chain,
                local,
                held_before,
                held: held_before,
                sent: 0,
                status: "ok".into(),
            };
            let (line, uploads) = self.upload_chain(server, holder, line, progress)?;
            summary.uploads += uploads;
            summary.chains.push(line);
        }
        summary.waiting = self.waiting()?;
        Ok(summary)
    }
}

/// Head office's answer for `chain` in an upload's answer.
fn answer_for(answer: &UploadResponse, chain: Chain) -> Result<&ChainAck> {
    answer
        .chains
        .iter()
        .find(|a| a.chain == chain)
        .ok_or_else(|| {
            TillError::Unreachable(format!("head office did not answer for chain {chain}"))
        })
}

/// Whether the process holding a lease (`PID-RANDOM`) may still be running. On Linux a
/// holder whose process is gone (a killed till) holds nothing, so the restarted till syncs at
/// once; elsewhere, or if the PID was reused, the lease simply runs out.
fn holder_alive(holder: &str) -> bool {
    let Some(pid) = holder.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
