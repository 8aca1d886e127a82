//! File tracking: "was this file processed?", with claims so that two runs
//! never process one file at once.
//!
//! Records live at 0.1.56's VersoriFileTracker keys
//! (`{prefix}/processed-files/{name}`), with an injective name encoding (see
//! [`keys::encode_name`]). A record 0.1.56 wrote under its lossy encoding is
//! still recognised: it carries no `fileName`, so it counts for every name
//! that maps to it, exactly as 0.1.56 itself answered.

use crate::clock::{iso_from_ms, ms_from_iso, Clock, Fischer, Sleep};
use crate::error::{ErrorCode, Result, StateError};
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{retrying, Check, Entry, Mutation, Store};
use crate::values::{check_value_size, str_field};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;

/// Fields we add to a record; callers' metadata may not use `fileName`.
const FILE_NAME: &str = "fileName";
const PROCESSED_AT: &str = "processedAt";

/// A processed file as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    /// The file's name.
    pub file_name: String,
    /// When it was marked (ISO 8601), where the record says.
    pub processed_at: Option<String>,
    /// What the caller passed as metadata, as given.
    pub metadata: Map<String, Value>,
}

/// What `claim` decided.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// This tracker may process the file now.
    Claimed {
        /// The claim's id (its record says whose it is).
        claim_id: String,
        /// When the claim lapses unless completed or released.
        expires_at_ms: i64,
    },
    /// Done already; skip it.
    Processed,
    /// Another run holds a live claim; skip it for now.
    InProgress {
        /// When that claim lapses.
        expires_at_ms: i64,
    },
}

/// Where a file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// Neither processed nor claimed.
    New,
    /// Claimed by a run whose claim is live.
    InProgress,
    /// Marked processed.
    Processed,
}

impl FileStatus {
    /// The status as JavaScript sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::New => "new",
            FileStatus::InProgress => "in-progress",
            FileStatus::Processed => "processed",
        }
    }
}

/// Processed files and claims under one prefix, at 0.1.56's keys.
pub struct FileTracker {
    /// The caller's prefix.
    pub prefix: String,
    owner: String,
    claims: RefCell<HashMap<String, String>>,
}

/// Whether `a` and `b` name one entry of `store` (a NATS store sees each
/// key's NATS form, the others its text).
fn same_key<S: Store>(store: &S, a: &Key, b: &Key) -> bool {
    if store.capabilities().compare_and_set {
        a.parts == b.parts
    } else {
        a.nats() == b.nats()
    }
}

fn check_file_name(name: &str) -> Result<()> {
    keys::check_name("fileName", name)
}

impl FileTracker {
    /// A tracker for `prefix`; `owner` identifies this run's claims.
    pub fn new(prefix: &str, owner: String) -> Result<Self> {
        keys::check_prefix(prefix)?;
        Ok(FileTracker { prefix: prefix.to_string(), owner, claims: RefCell::new(HashMap::new()) })
    }

    fn record_key(&self, name: &str) -> Result<Key> {
        check_file_name(name)?;
        let key = keys::tracked_file(&self.prefix, name);
        key.check_size()?;
        Ok(key)
    }

    /// The record for `name`, looking at the legacy key only where the
    /// encodings differ.
    async fn find<S: Store>(&self, store: &S, name: &str) -> Result<Option<(Key, Entry)>> {
        let key = self.record_key(name)?;
        if let Some(entry) = store.get(&key).await? {
            return Ok(Some((key, entry)));
        }
        let legacy = keys::tracked_file_legacy(&self.prefix, name);
        if same_key(store, &legacy, &key) {
            return Ok(None);
        }
        Ok(store.get(&legacy).await?.filter(|e| legacy_matches(&e.value, name)).map(|e| (legacy, e)))
    }

    /// Whether `name` is marked processed (also under 0.1.56's lossy key).
    /// A record the store cannot decode is there all the same.
    pub async fn is_processed<S: Store>(&self, store: &S, name: &str) -> Result<bool> {
        match self.find(store, name).await {
            Ok(found) => Ok(found.is_some()),
            Err(e) if e.code == ErrorCode::CorruptState => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// The record of `name`, if it is processed.
    pub async fn get_record<S: Store>(&self, store: &S, name: &str) -> Result<Option<FileRecord>> {
        self.find(store, name).await?.map(|(key, entry)| to_record(&key, name, entry.value)).transpose()
    }

    fn make_record<C: Clock>(&self, clock: &C, name: &str, metadata: Option<&Map<String, Value>>) -> Result<Value> {
        let mut record = Map::new();
        record.insert(PROCESSED_AT.into(), Value::String(iso_from_ms(clock.now_ms())));
        if let Some(metadata) = metadata {
            if metadata.contains_key(FILE_NAME) {
                return Err(StateError::invalid(
                    "metadata.fileName",
                    "is reserved (the tracker stores the name itself); rename that field",
                ));
            }
            // Like 0.1.56, a caller's processedAt wins.
            record.extend(metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        record.insert(FILE_NAME.into(), Value::String(name.to_string()));
        let record = Value::Object(record);
        check_value_size("the file record with its metadata", &record)?;
        Ok(record)
    }

    /// Marks `name` processed now, with `metadata`.
    pub async fn mark_processed<S: Store, C: Clock>(
        &self,
        store: &S,
        clock: &C,
        name: &str,
        metadata: Option<&Map<String, Value>>,
    ) -> Result<()> {
        let key = self.record_key(name)?;
        let record = self.make_record(clock, name, metadata)?;
        store.set(&key, &record, None).await
    }

    /// Removes the record (ours and a matching legacy one) and any claim.
    pub async fn forget<S: Store>(&self, store: &S, name: &str) -> Result<bool> {
        let mut removed = false;
        // At most two records: ours, then a legacy one behind it.
        for _ in 0..2 {
            let found = match self.find(store, name).await {
                Ok(found) => found.map(|(key, _)| key),
                // A value the store cannot decode: delete our key without reading it.
                Err(e) if e.code == ErrorCode::CorruptState => Some(self.record_key(name)?),
                Err(e) => return Err(e),
            };
            let Some(key) = found else { break };
            store.delete(&key).await?;
            removed = true;
        }
        store.delete(&keys::file_claim(&self.prefix, name)).await?;
        self.claims.borrow_mut().remove(name);
        Ok(removed)
    }

    /// The name last passed to `set_last_processed` (or 0.1.56's).
    pub async fn get_last_processed<S: Store>(&self, store: &S) -> Result<Option<String>> {
        let mut key = keys::last_processed_file(&self.prefix);
        let mut entry = store.get(&key).await?;
        let legacy = keys::last_processed_file_legacy(&self.prefix);
        if entry.is_none() && !same_key(store, &legacy, &key) {
            // 0.1.56 wrote the prefix as it was; only a name (a string) counts there.
            key = legacy;
            entry = store.get(&key).await?.filter(|e| e.value.is_string());
        }
        match entry {
            None => Ok(None),
            Some(Entry { value: Value::String(s), .. }) if s.is_empty() => Ok(None),
            Some(Entry { value: Value::String(s), .. }) => Ok(Some(s)),
            Some(Entry { value: Value::Null, .. }) => Ok(None),
            Some(_) => Err(StateError::corrupt(&key.display(), "expected the file name as a string")),
        }
    }

    /// Remembers `name` as the last processed file.
    pub async fn set_last_processed<S: Store>(&self, store: &S, name: &str) -> Result<()> {
        check_file_name(name)?;
        store.set(&keys::last_processed_file(&self.prefix), &Value::String(name.to_string()), None).await
    }

    /// The live claim that keeps this run (claiming as `claim_id`) off
    /// `name`. A live claim of this same tracker is ours to renew: a claim
    /// whose write landed but whose call failed must not block the retry
    /// until it expires (not while this tracker still holds it: then
    /// another task of this same run is processing the file).
    fn blocking(&self, live: Option<Claim>, name: &str, claim_id: &str) -> Option<Claim> {
        let held_here = self.claims.borrow().contains_key(name);
        live.filter(|c| c.claim_id != claim_id && (held_here || c.owner != self.owner))
    }

    /// The claim record this run writes at `now`.
    fn claim_record(&self, claim_id: &str, name: &str, now: i64, expires_at_ms: i64) -> Value {
        json!({"claimId": claim_id, "owner": self.owner, "fileName": name, "claimedAt": iso_from_ms(now), "expiresAt": iso_from_ms(expires_at_ms)})
    }

    async fn live_claim<S: Store>(&self, store: &S, now: i64, name: &str) -> Result<(Key, Option<Entry>, Option<Claim>)> {
        let key = keys::file_claim(&self.prefix, name);
        key.check_size()?;
        let entry = store.get(&key).await?;
        let claim = match &entry {
            Some(e) => Some(Claim::parse(&key, &e.value)?),
            None => None,
        };
        Ok((key, entry, claim.filter(|c| c.expires_at_ms > now)))
    }

    /// Whether `name` is new, in progress or processed.
    pub async fn status<S: Store, C: Clock>(&self, store: &S, clock: &C, name: &str) -> Result<FileStatus> {
        if self.is_processed(store, name).await? {
            return Ok(FileStatus::Processed);
        }
        let (_, _, live) = self.live_claim(store, clock.now_ms(), name).await?;
        Ok(if live.is_some() { FileStatus::InProgress } else { FileStatus::New })
    }

    /// Marks `name` in progress for `ttl_ms`, unless it is processed or
    /// another run's claim is live. The claim write is checked against the
    /// record and the claim as read: of concurrent claimers exactly one wins.
    pub async fn claim<S: Store, C: Clock>(&self, store: &S, clock: &C, name: &str, ttl_ms: i64, claim_id: String) -> Result<ClaimOutcome> {
        self.claim_timed(store, clock, &crate::clock::NoSleep, &crate::log::NoLog, name, ttl_ms, claim_id, None).await
    }

    /// [`Self::claim`], and on a store without compare-and-set with a
    /// write-delay bound, Fischer's discipline (as locks do): read, write
    /// our claim, wait until twice the bound has passed since the read,
    /// read back; the claim is ours only if it is still there. A run whose
    /// own read-to-acknowledged-write time exceeded the bound does not
    /// claim (it reports the file in progress).
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_timed<S: Store, C: Clock, T: Sleep, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        sleep: &T,
        log: &L,
        name: &str,
        ttl_ms: i64,
        claim_id: String,
        max_write_delay_ms: Option<u64>,
    ) -> Result<ClaimOutcome> {
        if ttl_ms <= 0 {
            return Err(StateError::invalid("ttlMs", "must be a positive number of milliseconds"));
        }
        if let (Some(bound), false) = (max_write_delay_ms, store.capabilities().compare_and_set) {
            return self.claim_fischer(store, clock, sleep, log, name, ttl_ms, claim_id, bound).await;
        }
        let record_key = self.record_key(name)?;
        retrying(
            store,
            || format!("the claim on {name:?}"),
            async || {
                if self.is_processed(store, name).await? {
                    return Ok(Some(ClaimOutcome::Processed));
                }
                let now = clock.now_ms();
                let (key, entry, live) = self.live_claim(store, now, name).await?;
                if let Some(other) = self.blocking(live, name, &claim_id) {
                    return Ok(Some(ClaimOutcome::InProgress { expires_at_ms: other.expires_at_ms }));
                }
                let expires_at_ms = now.saturating_add(ttl_ms);
                let value = self.claim_record(&claim_id, name, now, expires_at_ms);
                let checks = [Check::absent(&record_key), Check::of(&key, entry.as_ref())];
                let write = Mutation::set_expiring(key.clone(), value, Some(ttl_ms as u64));
                if !store.atomic(&checks, &[write]).await? {
                    return Ok(None);
                }
                if !store.capabilities().compare_and_set {
                    let (_, _, now_live) = self.live_claim(store, now, name).await?;
                    if now_live.as_ref().is_none_or(|c| c.claim_id != claim_id) {
                        return Ok(None);
                    }
                }
                self.claims.borrow_mut().insert(name.to_string(), claim_id.clone());
                Ok(Some(ClaimOutcome::Claimed { claim_id: claim_id.clone(), expires_at_ms }))
            },
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn claim_fischer<S: Store, C: Clock, T: Sleep, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        sleep: &T,
        log: &L,
        name: &str,
        ttl_ms: i64,
        claim_id: String,
        bound: u64,
    ) -> Result<ClaimOutcome> {
        let read_at = clock.now_ms();
        let fischer = Fischer::read_at(read_at, bound);
        if self.is_processed(store, name).await? {
            return Ok(ClaimOutcome::Processed);
        }
        let (key, _, live) = self.live_claim(store, read_at, name).await?;
        if let Some(other) = self.blocking(live, name, &claim_id) {
            return Ok(ClaimOutcome::InProgress { expires_at_ms: other.expires_at_ms });
        }
        let expires_at_ms = read_at.saturating_add(ttl_ms);
        store.set(&key, &self.claim_record(&claim_id, name, read_at, expires_at_ms), Some(ttl_ms as u64)).await?;
        if let Some(took) = fischer.overran(clock) {
            // Our write may have landed after a racing run looked: we cannot
            // know we are alone, so we do not claim.
            log.log(
                Level::Warn,
                "Claim not taken: this run's read-to-write time exceeded maxWriteDelayMs, so exclusivity cannot be assumed",
                serde_json::json!({"fileName": name, "tookMs": took, "maxWriteDelayMs": bound}),
            );
            return Ok(ClaimOutcome::InProgress { expires_at_ms });
        }
        fischer.settle(clock, sleep, 0).await;
        let (_, _, now_live) = self.live_claim(store, clock.now_ms(), name).await?;
        match now_live {
            Some(c) if c.claim_id == claim_id => {
                self.claims.borrow_mut().insert(name.to_string(), claim_id);
                Ok(ClaimOutcome::Claimed { claim_id: c.claim_id, expires_at_ms })
            }
            Some(other) => Ok(ClaimOutcome::InProgress { expires_at_ms: other.expires_at_ms }),
            None => Ok(ClaimOutcome::InProgress { expires_at_ms }),
        }
    }

    /// Records `name` as processed and ends this tracker's claim, in one
    /// atomic write. CLAIM_NOT_HELD if another run's claim replaced ours.
    pub async fn complete<S: Store, C: Clock>(
        &self,
        store: &S,
        clock: &C,
        name: &str,
        metadata: Option<&Map<String, Value>>,
    ) -> Result<()> {
        self.complete_as(store, clock, name, metadata, None).await
    }

    /// [`Self::complete`] of the claim `claim_id` only (a claim handle's
    /// own): CLAIM_NOT_HELD when this tracker holds another claim on it now.
    pub async fn complete_as<S: Store, C: Clock>(
        &self,
        store: &S,
        clock: &C,
        name: &str,
        metadata: Option<&Map<String, Value>>,
        claim_id: Option<&str>,
    ) -> Result<()> {
        let record_key = self.record_key(name)?;
        let record = self.make_record(clock, name, metadata)?;
        let mine =
            self.own_claim_as(name, claim_id, "this tracker never claimed it (call claim() first, or markProcessed() without claims)")?;
        retrying(
            store,
            || format!("the claim on {name:?}"),
            async || {
                let (key, entry, _) = self.live_claim(store, clock.now_ms(), name).await?;
                // Our claim may have expired; as long as nobody replaced it, the
                // file was not handed to anyone else.
                if let Some(e) = &entry {
                    let claim = Claim::parse(&key, &e.value)?;
                    if claim.claim_id != mine {
                        self.forget_claim(name, &mine);
                        return Err(not_claimed(name, "its claim expired and another run claimed it"));
                    }
                }
                let writes = [Mutation::set(record_key.clone(), record.clone()), Mutation::delete(key.clone())];
                if store.atomic(&[Check::of(&key, entry.as_ref())], &writes).await? {
                    self.forget_claim(name, &mine);
                    return Ok(Some(()));
                }
                Ok(None)
            },
        )
        .await
    }

    /// The id of this tracker's claim on `name`; CLAIM_NOT_HELD saying `why`
    /// when it holds none.
    fn own_claim(&self, name: &str, why: &str) -> Result<String> {
        self.claims.borrow().get(name).cloned().ok_or_else(|| not_claimed(name, why))
    }

    /// [`Self::own_claim`], and it must be `claim_id` when one is given.
    fn own_claim_as(&self, name: &str, claim_id: Option<&str>, why: &str) -> Result<String> {
        let mine = self.own_claim(name, why)?;
        if claim_id.is_some_and(|id| id != mine) {
            return Err(not_claimed(name, "this handle's claim ended and the file was claimed again"));
        }
        Ok(mine)
    }

    /// Drops this tracker's claim on `name` if it is still `mine`.
    fn forget_claim(&self, name: &str, mine: &str) {
        let mut claims = self.claims.borrow_mut();
        if claims.get(name).is_some_and(|c| c == mine) {
            claims.remove(name);
        }
    }

    /// Pushes this tracker's claim on `name` out to `ttl_ms` from now (the
    /// renewal of a long job); returns the new expiry. CLAIM_NOT_HELD when
    /// the claim is gone or another run's replaced it.
    pub async fn extend_claim<S: Store, C: Clock>(&self, store: &S, clock: &C, name: &str, ttl_ms: i64) -> Result<i64> {
        self.extend_claim_as(store, clock, name, ttl_ms, None).await
    }

    /// [`Self::extend_claim`] of the claim `claim_id` only.
    pub async fn extend_claim_as<S: Store, C: Clock>(
        &self,
        store: &S,
        clock: &C,
        name: &str,
        ttl_ms: i64,
        claim_id: Option<&str>,
    ) -> Result<i64> {
        if ttl_ms <= 0 {
            return Err(StateError::invalid("ttlMs", "must be a positive number of milliseconds"));
        }
        check_file_name(name)?;
        let mine = self.own_claim_as(name, claim_id, "this tracker does not hold a claim on it (claim() it first)")?;
        retrying(
            store,
            || format!("the claim on {name:?}"),
            async || {
                let now = clock.now_ms();
                let (key, entry, _) = self.live_claim(store, now, name).await?;
                let theirs = match &entry {
                    Some(e) => Claim::parse(&key, &e.value)?.claim_id != mine,
                    None => true,
                };
                if theirs {
                    self.forget_claim(name, &mine);
                    return Err(not_claimed(name, "its claim expired and was removed or taken by another run"));
                }
                let Some(e) = entry else { return Ok(None) };
                let expires_at_ms = now.saturating_add(ttl_ms);
                let mut value = e.value.clone();
                if let Some(object) = value.as_object_mut() {
                    object.insert("expiresAt".into(), Value::String(iso_from_ms(expires_at_ms)));
                }
                let write = Mutation::set_expiring(key.clone(), value, Some(ttl_ms as u64));
                if store.atomic(&[Check::of(&key, Some(&e))], &[write]).await? {
                    return Ok(Some(expires_at_ms));
                }
                Ok(None)
            },
        )
        .await
    }

    /// Gives up this tracker's claim without marking the file, so another
    /// run may take it at once. False if the claim was not ours any more.
    pub async fn release<S: Store, C: Clock>(&self, store: &S, clock: &C, name: &str) -> Result<bool> {
        self.release_as(store, clock, name, None).await
    }

    /// [`Self::release`] of the claim `claim_id` only: false, with nothing
    /// written, when this tracker holds another claim on it now.
    pub async fn release_as<S: Store, C: Clock>(&self, store: &S, clock: &C, name: &str, claim_id: Option<&str>) -> Result<bool> {
        check_file_name(name)?;
        let mine = {
            let mut claims = self.claims.borrow_mut();
            match claims.get(name) {
                Some(c) if claim_id.is_none_or(|id| id == c) => claims.remove(name),
                _ => None,
            }
        };
        let Some(mine) = mine else { return Ok(false) };
        retrying(
            store,
            || format!("the claim on {name:?}"),
            async || {
                let (key, entry, _) = self.live_claim(store, clock.now_ms(), name).await?;
                let Some(e) = entry else { return Ok(Some(false)) };
                if Claim::parse(&key, &e.value)?.claim_id != mine {
                    return Ok(Some(false));
                }
                if store.atomic(&[Check::of(&key, Some(&e))], &[Mutation::delete(key.clone())]).await? {
                    return Ok(Some(true));
                }
                Ok(None)
            },
        )
        .await
    }
}

struct Claim {
    claim_id: String,
    owner: String,
    expires_at_ms: i64,
}

impl Claim {
    fn parse(key: &Key, value: &Value) -> Result<Self> {
        let object = value.as_object().ok_or_else(|| StateError::corrupt(&key.display(), "expected a claim object"))?;
        Ok(Claim {
            claim_id: str_field(object, "claimId").unwrap_or_default().to_string(),
            owner: str_field(object, "owner").unwrap_or_default().to_string(),
            // Unreadable expiry: expired, so a broken claim never blocks a file.
            expires_at_ms: str_field(object, "expiresAt").and_then(ms_from_iso).unwrap_or(i64::MIN),
        })
    }
}

fn not_claimed(name: &str, why: &str) -> StateError {
    StateError::new(ErrorCode::ClaimNotHeld, format!("cannot complete {name:?}: {why}; do not record it, check its status instead"))
}

/// A legacy record (no `fileName`) counts for every name mapping to its key;
/// one of ours counts only for its own name.
fn legacy_matches(value: &Value, name: &str) -> bool {
    match value.get(FILE_NAME) {
        Some(Value::String(stored)) => stored == name,
        _ => !value.is_null(),
    }
}

/// The record stored at `key`: an object (0.1.56's and ours), else
/// CORRUPT_STATE naming the key (never a made-up record).
fn to_record(key: &Key, name: &str, value: Value) -> Result<FileRecord> {
    let mut metadata = match value {
        Value::Object(object) => object,
        _ => {
            return Err(StateError::corrupt(
                &key.display(),
                "expected the file's record as an object; delete it (forgetFile) to mark the file again",
            ))
        }
    };
    metadata.shift_remove(FILE_NAME);
    let processed_at = match metadata.shift_remove(PROCESSED_AT) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    Ok(FileRecord { file_name: name.to_string(), processed_at, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::memory::MemoryStore;
    use crate::testing::{CrashAfterWrites, Flaky, NoCas, Yielding};
    use futures::executor::block_on;
    use std::rc::Rc;

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        crate::testing::memory_at(1_795_906_800_000)
    }

    #[test]
    fn prefixes_never_share_records() {
        let (clock, store) = setup();
        let outer = FileTracker::new("sftp", "o".into()).unwrap();
        let inner = FileTracker::new("sftp/processed-files/inbound", "i".into()).unwrap();
        block_on(outer.mark_processed(&store, &*clock, "inbound/processed-files/x", None)).unwrap();
        assert!(!block_on(inner.is_processed(&store, "x")).unwrap());
        block_on(inner.mark_processed(&store, &*clock, "y", None)).unwrap();
        assert!(!block_on(outer.is_processed(&store, "inbound/processed-files/y")).unwrap());
        block_on(inner.set_last_processed(&store, "y")).unwrap();
        assert_eq!(block_on(outer.get_last_processed(&store)).unwrap(), None);
        assert_eq!(block_on(inner.get_last_processed(&store)).unwrap().as_deref(), Some("y"));
    }

    #[test]
    fn a_damaged_record_is_corrupt_state_not_a_made_up_one() {
        let (_, store) = setup();
        let t = FileTracker::new("p", "o".into()).unwrap();
        block_on(store.set(&keys::tracked_file("p", "a.csv"), &json!([1, 2, 3]), None)).unwrap();
        assert_eq!(block_on(t.get_record(&store, "a.csv")).unwrap_err().code, ErrorCode::CorruptState);
        assert!(block_on(t.forget(&store, "a.csv")).unwrap(), "forget removes it");
    }

    #[test]
    fn a_stale_claim_id_neither_releases_nor_completes_the_newer_claim() {
        let (clock, store) = setup();
        let t = FileTracker::new("p", "o".into()).unwrap();
        let first = match block_on(t.claim(&store, &*clock, "a.csv", 1_000, "c1".into())).unwrap() {
            ClaimOutcome::Claimed { claim_id, .. } => claim_id,
            other => panic!("{other:?}"),
        };
        clock.advance(2_000);
        assert!(matches!(block_on(t.claim(&store, &*clock, "a.csv", 60_000, "c2".into())).unwrap(), ClaimOutcome::Claimed { .. }));
        assert!(!block_on(t.release_as(&store, &*clock, "a.csv", Some(&first))).unwrap());
        assert_eq!(block_on(t.complete_as(&store, &*clock, "a.csv", None, Some(&first))).unwrap_err().code, ErrorCode::ClaimNotHeld);
        assert_eq!(block_on(t.extend_claim_as(&store, &*clock, "a.csv", 1_000, Some(&first))).unwrap_err().code, ErrorCode::ClaimNotHeld);
        let other = FileTracker::new("p", "other".into()).unwrap();
        assert!(matches!(block_on(other.claim(&store, &*clock, "a.csv", 1_000, "c3".into())).unwrap(), ClaimOutcome::InProgress { .. }));
        assert!(block_on(t.release_as(&store, &*clock, "a.csv", Some("c2"))).unwrap());
    }

    fn tracker(i: usize) -> FileTracker {
        FileTracker::new("p", format!("owner-{i}")).unwrap()
    }

    #[test]
    fn a_claim_that_landed_but_failed_is_renewed_by_its_own_tracker_only() {
        let (clock, store) = setup();
        let (mine, other) = (tracker(0), tracker(1));
        block_on(async {
            // The claim write lands, then the call fails.
            let crashing = CrashAfterWrites::new(&store, 0, true);
            assert!(mine.claim(&crashing, &*clock, "f.csv", 60_000, "c1".into()).await.is_err());
            assert_eq!(mine.status(&store, &*clock, "f.csv").await.unwrap(), FileStatus::InProgress);
            // Another run is kept out; the same tracker's retry gets it.
            assert!(matches!(other.claim(&store, &*clock, "f.csv", 60_000, "c2".into()).await.unwrap(), ClaimOutcome::InProgress { .. }));
            assert!(matches!(mine.claim(&store, &*clock, "f.csv", 60_000, "c3".into()).await.unwrap(), ClaimOutcome::Claimed { .. }));
            // While it holds the claim, a second task of the same run is kept out.
            assert!(matches!(mine.claim(&store, &*clock, "f.csv", 60_000, "c4".into()).await.unwrap(), ClaimOutcome::InProgress { .. }));
            mine.complete(&store, &*clock, "f.csv", None).await.unwrap();
            assert!(matches!(other.claim(&store, &*clock, "f.csv", 60_000, "c5".into()).await.unwrap(), ClaimOutcome::Processed));
        });
    }

    #[test]
    fn names_0_1_56_merged_are_tracked_apart() {
        let (clock, store) = setup();
        let t = tracker(0);
        block_on(async {
            t.mark_processed(&store, &*clock, "a b.csv", None).await.unwrap();
            assert!(t.is_processed(&store, "a b.csv").await.unwrap());
            assert!(!t.is_processed(&store, "a_b.csv").await.unwrap());
            t.mark_processed(&store, &*clock, "a_b.csv", None).await.unwrap();
            assert!(!t.is_processed(&store, "a:b.csv").await.unwrap());
        });
    }

    #[test]
    fn legacy_records_are_recognised() {
        let (clock, store) = setup();
        let t = tracker(0);
        block_on(async {
            // What 0.1.56 wrote for "a b.csv" and for "plain.csv".
            store
                .set(&Key::text("p/processed-files/a_b.csv"), &json!({"processedAt": "2025-01-01T00:00:00.000Z", "recordCount": 3}), None)
                .await
                .unwrap();
            store.set(&Key::text("p/processed-files/plain.csv"), &json!({"processedAt": "2025-01-01T00:00:00.000Z"}), None).await.unwrap();
            assert!(t.is_processed(&store, "a b.csv").await.unwrap());
            assert!(t.is_processed(&store, "plain.csv").await.unwrap());
            let record = t.get_record(&store, "a b.csv").await.unwrap().unwrap();
            assert_eq!(record.metadata["recordCount"], 3);
            assert_eq!(record.processed_at.as_deref(), Some("2025-01-01T00:00:00.000Z"));
            assert!(t.forget(&store, "a b.csv").await.unwrap());
            assert!(!t.is_processed(&store, "a b.csv").await.unwrap());
            let _ = clock;
        });
    }

    #[test]
    fn metadata_comes_back_as_given() {
        let (clock, store) = setup();
        let t = tracker(0);
        let metadata = json!({"recordCount": 5, "nested": {"a": [1, null, "x"]}, "ok": true});
        block_on(async {
            t.mark_processed(&store, &*clock, "f", metadata.as_object()).await.unwrap();
            let record = t.get_record(&store, "f").await.unwrap().unwrap();
            assert_eq!(Value::Object(record.metadata), metadata);
            assert_eq!(record.processed_at, Some(iso_from_ms(clock.now_ms())));
            let reserved = json!({"fileName": "x"});
            let err = t.mark_processed(&store, &*clock, "f", reserved.as_object()).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidArgument);
            let huge = json!({"blob": "x".repeat(70_000)});
            assert_eq!(t.mark_processed(&store, &*clock, "g", huge.as_object()).await.unwrap_err().code, ErrorCode::ValueTooLarge);
            assert!(!t.is_processed(&store, "g").await.unwrap());
        });
    }

    #[test]
    fn of_many_claimers_exactly_one_wins_and_completes() {
        let (clock, mem) = setup();
        let store = Yielding::new(mem);
        let trackers: Vec<FileTracker> = (0..12).map(tracker).collect();
        let attempts = trackers.iter().enumerate().map(|(i, t)| t.claim(&store, &*clock, "f.csv", 60_000, format!("c{i}")));
        let outcomes = block_on(futures::future::join_all(attempts));
        let winners: Vec<usize> =
            outcomes.iter().enumerate().filter(|(_, o)| matches!(o, Ok(ClaimOutcome::Claimed { .. }))).map(|(i, _)| i).collect();
        assert_eq!(winners.len(), 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(o, Ok(ClaimOutcome::Claimed { .. } | ClaimOutcome::InProgress { .. }))));
        let winner = &trackers[winners[0]];
        assert_eq!(block_on(winner.status(&store, &*clock, "f.csv")).unwrap(), FileStatus::InProgress);
        assert!(!block_on(winner.is_processed(&store, "f.csv")).unwrap());
        let loser = &trackers[(winners[0] + 1) % 12];
        assert_eq!(block_on(loser.complete(&store, &*clock, "f.csv", None)).unwrap_err().code, ErrorCode::ClaimNotHeld);
        block_on(winner.complete(&store, &*clock, "f.csv", None)).unwrap();
        assert_eq!(block_on(loser.claim(&store, &*clock, "f.csv", 60_000, "late".into())).unwrap(), ClaimOutcome::Processed);
    }

    #[test]
    fn abandoned_claims_expire_and_released_claims_free_at_once() {
        let (clock, store) = setup();
        let (a, b) = (tracker(0), tracker(1));
        block_on(async {
            assert!(matches!(a.claim(&store, &*clock, "f", 1000, "a".into()).await.unwrap(), ClaimOutcome::Claimed { .. }));
            assert!(matches!(b.claim(&store, &*clock, "f", 1000, "b".into()).await.unwrap(), ClaimOutcome::InProgress { .. }));
            clock.advance(1000);
            assert!(matches!(b.claim(&store, &*clock, "f", 1000, "b".into()).await.unwrap(), ClaimOutcome::Claimed { .. }));
            // a's claim was replaced: a may not record the file.
            assert_eq!(a.complete(&store, &*clock, "f", None).await.unwrap_err().code, ErrorCode::ClaimNotHeld);
            assert!(b.release(&store, &*clock, "f").await.unwrap());
            assert_eq!(a.status(&store, &*clock, "f").await.unwrap(), FileStatus::New);
        });
    }

    #[test]
    fn claims_work_best_effort_without_compare_and_set() {
        let (clock, mem) = setup();
        let store = NoCas(mem);
        let (a, b) = (tracker(0), tracker(1));
        block_on(async {
            assert!(matches!(a.claim(&store, &*clock, "f", 1000, "a".into()).await.unwrap(), ClaimOutcome::Claimed { .. }));
            assert!(matches!(b.claim(&store, &*clock, "f", 1000, "b".into()).await.unwrap(), ClaimOutcome::InProgress { .. }));
            a.complete(&store, &*clock, "f", None).await.unwrap();
            assert!(b.is_processed(&store, "f").await.unwrap());
        });
    }

    #[test]
    fn store_failures_reach_the_caller() {
        let (clock, mem) = setup();
        let store = Flaky::healthy(mem);
        let t = tracker(0);
        block_on(t.mark_processed(&store, &*clock, "f", None)).unwrap();
        store.fail_from_now();
        assert_eq!(block_on(t.is_processed(&store, "f")).unwrap_err().code, ErrorCode::StoreUnavailable);
        assert_eq!(block_on(t.is_processed(&store, "other")).unwrap_err().code, ErrorCode::StoreUnavailable);
    }

    #[test]
    fn last_processed_round_trips() {
        let (_, store) = setup();
        let t = tracker(0);
        block_on(async {
            assert_eq!(t.get_last_processed(&store).await.unwrap(), None);
            t.set_last_processed(&store, "x.csv").await.unwrap();
            assert_eq!(t.get_last_processed(&store).await.unwrap().as_deref(), Some("x.csv"));
            assert_eq!(store.get(&Key::text("p/last-processed-file")).await.unwrap().unwrap().value, json!("x.csv"));
        });
    }

    #[test]
    fn without_compare_and_set_a_claim_overwritten_after_our_write_is_not_ours() {
        let (clock, store) = setup();
        let raced = crate::testing::Racing::new(&store, "claimId");
        let t = tracker(0);
        let outcome = block_on(t.claim(&raced, &*clock, "f.csv", 60_000, "mine".into())).unwrap();
        assert_eq!(outcome, ClaimOutcome::InProgress { expires_at_ms: clock.now_ms() + 60_000 });
        assert_eq!(block_on(t.status(&raced, &*clock, "f.csv")).unwrap(), FileStatus::InProgress);
        // Without the racer the same store gives the claim.
        let calm = NoCas(&store);
        assert!(matches!(block_on(t.claim(&calm, &*clock, "g.csv", 60_000, "mine".into())).unwrap(), ClaimOutcome::Claimed { .. }));
    }

    fn claim_lapse_case<S: Store>(store: &S, clock: &FakeClock) {
        let (a, b) = (tracker(0), tracker(1));
        assert!(matches!(block_on(a.claim(store, clock, "f", 1_000, "a".into())).unwrap(), ClaimOutcome::Claimed { .. }));
        clock.advance(999);
        assert_eq!(block_on(b.status(store, clock, "f")).unwrap(), FileStatus::InProgress);
        assert!(matches!(block_on(b.claim(store, clock, "f", 1_000, "b".into())).unwrap(), ClaimOutcome::InProgress { .. }));
        clock.advance(1);
        assert_eq!(block_on(b.status(store, clock, "f")).unwrap(), FileStatus::New);
        assert!(matches!(block_on(b.claim(store, clock, "f", 1_000, "b".into())).unwrap(), ClaimOutcome::Claimed { .. }));
    }

    #[test]
    fn a_claim_lapses_exactly_at_its_expiry() {
        // A store that expires the claim record itself, and one that does not
        // (the claim's own expiresAt decides there).
        let (clock, store) = setup();
        claim_lapse_case(&store, &clock);
        let (clock, store) = setup();
        claim_lapse_case(&NoCas(&store), &clock);
    }

    #[test]
    fn statuses_read_as_the_api_spells_them() {
        let spelled: Vec<&str> = [FileStatus::New, FileStatus::InProgress, FileStatus::Processed].iter().map(|s| s.as_str()).collect();
        assert_eq!(spelled, ["new", "in-progress", "processed"]);
    }

    #[test]
    fn bad_names_and_prefixes_are_invalid_arguments_everywhere() {
        let (clock, store) = setup();
        let t = tracker(0);
        let long = "n".repeat(keys::MAX_NAME_BYTES + 1);
        for name in ["", long.as_str()] {
            let invalid = |r: Result<()>| assert_eq!(r.unwrap_err().code, ErrorCode::InvalidArgument, "{}", name.len());
            invalid(block_on(t.set_last_processed(&store, name)));
            invalid(block_on(t.release(&store, &*clock, name)).map(|_| ()));
            invalid(block_on(t.claim(&store, &*clock, name, 1_000, "c".into())).map(|_| ()));
            invalid(block_on(t.is_processed(&store, name)).map(|_| ()));
        }
        assert!(block_on(t.is_processed(&store, &"n".repeat(keys::MAX_NAME_BYTES))).is_ok(), "a name of exactly the limit is fine");
        assert_eq!(FileTracker::new("", "o".into()).err().unwrap().code, ErrorCode::InvalidArgument);
        assert_eq!(block_on(store.list(&[], 10, None)).unwrap().entries.len(), 0, "nothing was written");
    }

    #[test]
    fn an_empty_or_null_last_processed_name_reads_as_none() {
        let (_, store) = setup();
        let t = tracker(0);
        let key = keys::last_processed_file("p");
        for (stored, expected) in [(json!(""), None), (Value::Null, None), (json!("x.csv"), Some("x.csv".to_string()))] {
            block_on(store.set(&key, &stored, None)).unwrap();
            assert_eq!(block_on(t.get_last_processed(&store)).unwrap(), expected, "{stored}");
        }
        block_on(store.set(&key, &json!(5), None)).unwrap();
        assert_eq!(block_on(t.get_last_processed(&store)).unwrap_err().code, ErrorCode::CorruptState);
    }
}
