//! ES256 signature checks for ingest, the costliest step of an upload.
//!
//! Each check is the domain's [`PublicKey::verify`] (ring, low-S signatures only: the same
//! verdict as every till and auditor); this module spreads a batch's checks over the available
//! cores, with whatever else the caller reads of each record on its own (see
//! [`check_stored`]), so that work is done once and in parallel too. Its threads run below
//! the caller's priority: they have the write of the upload before theirs to finish in, and
//! that write is what the till waits for.

use pos_domain::record::{PublicKey, Signature, SignedRecord};

/// A till's public key, for checking a batch of its records.
#[derive(Clone, Copy, Debug)]
pub struct FastKey {
    key: PublicKey,
}

impl FastKey {
    pub fn new(key: &PublicKey) -> FastKey {
        FastKey { key: *key }
    }

    /// True if `signature` (64 bytes `r‖s`) signs `message` under this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_bytes(signature).is_some_and(|s| self.key.verify(message, &s))
    }

    /// True if the record's signature is valid.
    pub fn verify_record(&self, record: &SignedRecord) -> bool {
        record
            .signed_bytes()
            .is_ok_and(|message| self.key.verify(&message, &record.signature))
    }
}

/// A stored record as read before an upload's transaction: parsed, hashed, its signature
/// checked (or assumed valid until its [`PendingSignatures`] are checked), and what the
/// caller read of it (`read`).
#[derive(Clone, Debug)]
pub struct Checked<T = ()> {
    pub record: SignedRecord,
    /// Hex SHA-256 of the stored bytes.
    pub hash: String,
    /// Whether its signature is valid under the till's key.
    pub signature_valid: bool,
    /// What `read` of [`check_stored`] made of the record.
    pub read: T,
}

/// The signatures of records read by [`read_stored`], still to be checked: the signed bytes
/// and the signature of each readable record, in the records' order. Checking them is most of
/// the cost of reading an upload, and needs nothing else, so it can run beside the upload's
/// writes.
pub struct PendingSignatures {
    key: FastKey,
    signed: Vec<Option<(Vec<u8>, Signature)>>,
}

impl PendingSignatures {
    /// Checks them on up to `threads` threads.
    pub fn verify(&self, threads: usize) -> Verdicts {
        let key = self.key;
        Verdicts(on_threads(&self.signed, threads, |item| {
            item.as_ref()
                .is_some_and(|(message, signature)| key.key.verify(message, signature))
        }))
    }
}

/// Per record read by [`read_stored`], in order, whether its signature is valid (an unreadable
/// record's is not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdicts(Vec<bool>);

impl Verdicts {
    /// True if every record read is valid.
    pub fn all_valid(&self) -> bool {
        self.0.iter().all(|valid| *valid)
    }

    /// Sets each record's `signature_valid` from its verdict.
    pub fn apply<T>(&self, checked: &mut [Option<Checked<T>>]) {
        for (record, valid) in checked.iter_mut().zip(&self.0) {
            if let Some(record) = record {
                record.signature_valid = *valid;
            }
        }
    }
}

/// Reads each stored record (canonical bytes with the signature) and applies `read` to it
/// (with its hash), on up to `threads` threads, in the records' order (`None`: not a record).
/// Each record's signature is taken as valid here; the [`PendingSignatures`] returned check
/// them ([`Verdicts::apply`] then corrects `signature_valid`).
pub fn read_stored<T: Send>(
    key: &FastKey,
    stored: &[&str],
    threads: usize,
    read: impl Fn(&SignedRecord, &str) -> T + Sync,
) -> (Vec<Option<Checked<T>>>, PendingSignatures) {
    let read_one = |bytes: &&str| {
        SignedRecord::from_stored(bytes.as_bytes())
            .ok()
            .and_then(|record| {
                let signed = record.signed_bytes().ok()?;
                let hash = record.hash();
                let signature = record.signature;
                let checked = Checked {
                    signature_valid: true,
                    read: read(&record, &hash),
                    hash,
                    record,
                };
                Some((checked, (signed, signature)))
            })
    };
    let (checked, signed) = on_threads(stored, threads, read_one)
        .into_iter()
        .map(|item| match item {
            Some((checked, signed)) => (Some(checked), Some(signed)),
            None => (None, None),
        })
        .unzip();
    (checked, PendingSignatures { key: *key, signed })
}

/// Reads each stored record and checks its signature ([`read_stored`], then its
/// [`PendingSignatures`] checked at once).
pub fn check_stored<T: Send>(
    key: &FastKey,
    stored: &[&str],
    threads: usize,
    read: impl Fn(&SignedRecord, &str) -> T + Sync,
) -> Vec<Option<Checked<T>>> {
    let (mut checked, pending) = read_stored(key, stored, threads, read);
    pending.verify(threads).apply(&mut checked);
    checked
}

/// `work` applied to each item, on up to `threads` threads, in the items' order. An item
/// whose work panicked comes out as `R::default()` (for a check: not a record, or not valid:
/// a check that panicked proves nothing).
fn on_threads<I: Sync, R: Send + Default>(
    items: &[I],
    threads: usize,
    work: impl Fn(&I) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, 16);
    if threads == 1 || items.len() < 32 {
        return items.iter().map(&work).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    yield_to_writes();
                    part.iter().map(work).collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(items.chunks(chunk))
            .flat_map(|(h, part)| {
                h.join()
                    .unwrap_or_else(|_| part.iter().map(|_| R::default()).collect())
            })
            .collect()
    })
}

/// Lowers the calling thread's scheduling priority by 10 nice steps. The checks of an upload
/// run while the upload before it is being written, and have that long to finish; the write is
/// what the till waits for, and its transaction (this process driving it, the database's
/// backend) should not wait behind them for a core. Measured on two cores: a till's catch-up
/// 7-8 % faster (BENCHMARKS.md). Where the system refuses, nothing changes.
fn yield_to_writes() {
    // On Linux the nice value is the calling thread's; elsewhere it is the whole process's,
    // which must keep its own.
    #[cfg(target_os = "linux")]
    if let Ok(nice) = rustix::process::getpriority_process(None) {
        let _ = rustix::process::setpriority_process(None, (nice + 10).min(19));
    }
}

/// Threads for signature checks: the machine's cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use pos_domain::record::{Chain, Record, Signer, SoftwareKey};
    use serde_json::json;

    fn records(key: &SoftwareKey, n: u64) -> Vec<SignedRecord> {
        (1..=n)
            .map(|seq| {
                Record {
                    till: "T".into(),
                    chain: Chain::Event,
                    seq,
                    at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                    tz: "Europe/Paris".into(),
                    operator: "o".into(),
                    software: "s".into(),
                    first: seq == 1,
                    prev: String::new(),
                    payload: json!({"n": seq, "label": "Écouteurs sans fil"}),
                }
                .sign(key)
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn ring_and_the_domain_agree() {
        let key = SoftwareKey::from_secret_bytes(&[5; 32]).unwrap();
        let other = SoftwareKey::from_secret_bytes(&[6; 32]).unwrap();
        let fast = FastKey::new(&key.public_key());
        let fast_other = FastKey::new(&other.public_key());
        for record in records(&key, 20) {
            let message = record.record.signed_bytes().unwrap();
            let signature = hex::decode(record.signature.to_string()).unwrap();
            let reference = key.public_key().verify(&message, &record.signature);
            assert!(reference, "the domain accepts a genuine record");
            assert_eq!(
                fast.verify(&message, &signature),
                reference,
                "ring agrees on a genuine record"
            );
            assert!(
                !fast_other.verify(&message, &signature),
                "another key's check fails"
            );
            for i in 0..signature.len() {
                let mut bad = signature.clone();
                bad[i] ^= 0x01;
                let parsed = hex::encode(&bad).parse().unwrap();
                assert_eq!(
                    fast.verify(&message, &bad),
                    key.public_key().verify(&message, &parsed),
                    "ring and the domain agree on a signature with byte {i} changed"
                );
            }
            for i in 0..message.len() {
                let mut altered = message.clone();
                altered[i] ^= 0x20;
                assert!(
                    !fast.verify(&altered, &signature),
                    "any changed byte of the record fails"
                );
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn checks_on_threads_run_at_a_lower_priority_than_the_caller() {
        let caller = rustix::process::getpriority_process(None).unwrap();
        let items = vec![(); 64];
        let niceness = on_threads(&items, 2, |_| {
            rustix::process::getpriority_process(None).unwrap_or(i32::MIN)
        });
        assert!(
            niceness.iter().all(|&n| n == (caller + 10).min(19)),
            "caller at nice {caller}, checks at {niceness:?}"
        );
        assert_eq!(
            rustix::process::getpriority_process(None).unwrap(),
            caller,
            "the caller's own priority is left as it was"
        );
    }

    #[test]
    fn every_record_is_judged_on_any_number_of_threads() {
        let key = SoftwareKey::from_secret_bytes(&[5; 32]).unwrap();
        let other = SoftwareKey::from_secret_bytes(&[6; 32]).unwrap();
        let mut list = records(&key, 100);
        let forged = records(&other, 100);
        list[70] = forged[70].clone();
        list[90] = forged[90].clone();
        let mut stored: Vec<String> = list
            .iter()
            .map(|r| String::from_utf8(r.stored.clone()).unwrap())
            .collect();
        stored[10] = "not a record".into();
        let refs: Vec<&str> = stored.iter().map(String::as_str).collect();
        let fast = FastKey::new(&key.public_key());
        for threads in [1, 2, 3, 8] {
            let checked = check_stored(&fast, &refs, threads, |_, hash| hash.to_string());
            let invalid: Vec<usize> = (0..checked.len())
                .filter(|i| !checked[*i].as_ref().is_some_and(|c| c.signature_valid))
                .collect();
            assert!(checked[10].is_none(), "threads {threads}: not a record");
            assert!(
                checked.iter().flatten().all(|c| c.read == c.hash),
                "threads {threads}: the caller's reading of each record is kept with it"
            );
            assert_eq!(
                checked[0].as_ref().map(|c| c.hash.clone()),
                Some(list[0].hash()),
                "threads {threads}: each record's hash is that of its stored bytes"
            );
            assert_eq!(
                invalid,
                vec![10, 70, 90],
                "threads {threads}: exactly the unreadable and forged records fail, in order"
            );
        }
    }
}
