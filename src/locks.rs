//! Named locks with expiry and fencing tokens, on 0.1.56's key and record
//! shape (`['lock:', name]` → `{isLocked, lockId, lockedAt, lockedBy,
//! expiresAt}`), so either package respects the other's locks.
//!
//! Acquire is one atomic write checked against the versionstamp that was
//! read: of any number of concurrent acquirers exactly one commits. Release
//! writes a released record (expiry in the past) instead of deleting, which
//! keeps the fencing token for the next holder and reads as "stale" to 0.1.56.

use crate::clock::{iso_from_ms, ms_from_iso, Clock, Fischer, Sleep};
use crate::error::{ErrorCode, Result, StateError};
use crate::ids::random_id;
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{retrying, Check, Committed, Entry, Mutation, Store};
use crate::values::{as_object, count_field, str_field};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;

/// A lock as stored, read leniently: 0.1.56 records have no fencing token.
#[derive(Debug, Clone, PartialEq)]
pub struct LockRecord {
    /// Whether the record says locked (0.1.56 kept released records).
    pub is_locked: bool,
    /// The holder's lock id.
    pub lock_id: String,
    /// When it was taken (ISO 8601).
    pub locked_at: Option<String>,
    /// The holder's host.
    pub locked_by: Option<String>,
    /// When it expires (ISO 8601).
    pub expires_at: Option<String>,
    /// The expiry in epoch ms, when readable.
    pub expires_at_ms: Option<i64>,
    /// The fencing token (0.1.56 wrote none).
    pub fencing_token: Option<u64>,
    /// The holding StateService's owner id.
    pub owner: Option<String>,
}

impl LockRecord {
    /// Reads a stored lock record; CORRUPT_STATE when it is not an object.
    pub fn parse(key: &Key, value: &Value) -> Result<Self> {
        let object = as_object(&key.display(), value)?;
        let expires_at = str_field(object, "expiresAt").map(str::to_string);
        Ok(LockRecord {
            is_locked: object.get("isLocked").and_then(Value::as_bool).unwrap_or(true),
            lock_id: str_field(object, "lockId").unwrap_or_default().to_string(),
            locked_at: str_field(object, "lockedAt").map(str::to_string),
            locked_by: str_field(object, "lockedBy").map(str::to_string),
            expires_at_ms: expires_at.as_deref().and_then(ms_from_iso),
            expires_at,
            fencing_token: count_field(object, "fencingToken"),
            owner: str_field(object, "owner").map(str::to_string),
        })
    }

    /// Held means locked and not yet expired. Like 0.1.56, a missing or
    /// unreadable expiry counts as expired, so a broken record never blocks
    /// a workflow for ever.
    pub fn is_held(&self, now_ms: i64) -> bool {
        self.is_locked && self.expires_at_ms.is_some_and(|at| at > now_ms)
    }
}

/// What this process holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// Our lock id.
    pub lock_id: String,
    /// The token our acquire got.
    pub fencing_token: u64,
    /// When our lock expires, by our clock.
    pub expires_at_ms: i64,
    /// The record as this instance last wrote it (compare-and-set stores):
    /// release and extend check against it instead of reading it first.
    written: Option<Written>,
}

/// A versionstamp a store gave one of this instance's writes, and which
/// store gave it. The next write of that record on that store checks
/// against it instead of reading the record first; on any other store
/// (whose versionstamps may well repeat this one) it reads first.
#[derive(Debug, Clone, PartialEq)]
struct Stamp {
    store: u64,
    versionstamp: String,
}

impl Stamp {
    /// What a commit that landed on `store` leaves to check against:
    /// nothing where the store gave no versionstamp or has no identity.
    fn of<S: Store>(store: &S, landed: Committed) -> Option<Stamp> {
        Some(Stamp { store: store.identity()?, versionstamp: landed.versionstamp? })
    }

    /// The check "`key` is still what we wrote", when `store` is the store
    /// that gave the versionstamp.
    fn check<S: Store>(&self, store: &S, key: &Key) -> Option<Check> {
        (store.identity() == Some(self.store)).then(|| Check { key: key.clone(), versionstamp: Some(self.versionstamp.clone()) })
    }
}

/// A lock record this instance wrote, as written, and its [`Stamp`].
#[derive(Debug, Clone, PartialEq)]
struct Written {
    stamp: Stamp,
    value: Value,
}

impl Written {
    fn of<S: Store>(store: &S, landed: Committed, value: Value) -> Option<Written> {
        Some(Written { stamp: Stamp::of(store, landed)?, value })
    }
}

/// A released record this instance wrote: its [`Stamp`] and the fencing
/// token it keeps (all the next acquisition needs of it).
#[derive(Debug, Clone, PartialEq)]
struct Released {
    stamp: Stamp,
    fencing_token: Option<u64>,
}

impl Released {
    /// `value` is the released record (or the record it was made from:
    /// a release keeps every field).
    fn of<S: Store>(store: &S, landed: Committed, value: &Value) -> Option<Released> {
        let fencing_token = value.as_object().and_then(|fields| count_field(fields, "fencingToken"));
        Some(Released { stamp: Stamp::of(store, landed)?, fencing_token })
    }
}

/// Released records remembered per instance, at most this many (then it
/// starts afresh): they only save a read.
const RELEASED_KEPT: usize = 256;

/// What `getLockInfo` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct LockInfo {
    /// The stored record.
    pub record: LockRecord,
    /// Locked and not expired.
    pub held: bool,
    /// Locked but expired: the next acquirer takes it.
    pub stale: bool,
    /// Milliseconds since it was taken.
    pub age_ms: Option<i64>,
    /// Held by this StateService.
    pub held_by_me: bool,
}

/// Whether `previous` is another run's live hold at `now` (logged as such).
fn held_by_another<L: Logger>(log: &L, name: &str, previous: Option<&LockRecord>, now: i64) -> bool {
    let Some(prev) = previous.filter(|p| p.is_held(now)) else { return false };
    log.log(Level::Warn, "Lock already held", json!({"lockName": name, "heldBy": prev.locked_by, "expiresAt": prev.expires_at}));
    true
}

impl Held {
    /// The hold a run takes at `now` over the record `previous`. The
    /// fencing token is time-based so tokens keep rising even after 0.1.56
    /// deleted the record; +1 so they rise within one millisecond too.
    fn next(lock_id: &str, previous_token: Option<u64>, now: i64, ttl_ms: i64) -> Held {
        let last = previous_token.unwrap_or(0);
        Held {
            lock_id: lock_id.to_string(),
            fencing_token: (last + 1).max(now.max(0) as u64),
            expires_at_ms: now.saturating_add(ttl_ms),
            written: None,
        }
    }
}

/// The locks one StateService takes, and what it holds.
pub struct Locks {
    /// Random per instance: tells our own holds from everyone else's. Made
    /// on the first acquisition when not given (making one at construction
    /// would load the host's crypto module with the package).
    owner: RefCell<Option<String>>,
    /// `lockedBy` in records: host name where the runtime has one.
    pub host: String,
    held: RefCell<HashMap<String, Held>>,
    /// The released record this instance last wrote per lock: acquiring
    /// that lock again checks against it instead of reading first.
    released: RefCell<HashMap<String, Released>>,
}

impl Locks {
    /// Locks taken as `owner` (a random id when None) from `host`.
    pub fn new(owner: Option<String>, host: String) -> Self {
        Locks { owner: RefCell::new(owner), host, held: RefCell::new(HashMap::new()), released: RefCell::new(HashMap::new()) }
    }

    /// This instance's owner id.
    pub fn owner(&self) -> Result<String> {
        if let Some(owner) = self.owner.borrow().as_ref() {
            return Ok(owner.clone());
        }
        let owner = random_id()?;
        *self.owner.borrow_mut() = Some(owner.clone());
        Ok(owner)
    }

    /// Drops what this instance holds of `name` if it is still `mine` (an
    /// acquisition made while a call awaited the store stays).
    fn forget(&self, name: &str, mine: Option<&Held>) {
        let mut held = self.held.borrow_mut();
        if held.get(name).map(|h| &h.lock_id) == mine.map(|h| &h.lock_id) {
            held.remove(name);
        }
    }

    /// Records `renewed` for `name` if this instance still holds `mine` there.
    fn remember(&self, name: &str, mine: &Held, renewed: &Held) {
        let mut held = self.held.borrow_mut();
        if held.get(name).is_some_and(|h| h.lock_id == mine.lock_id) {
            held.insert(name.to_string(), renewed.clone());
        }
    }

    /// What this instance holds of lock `name`.
    pub fn held(&self, name: &str) -> Option<Held> {
        self.held.borrow().get(name).cloned()
    }

    /// Logs and keeps an acquisition.
    fn acquired<L: Logger>(&self, log: &L, name: &str, held: Held, max_write_delay_ms: Option<u64>) {
        let mut fields = json!({"lockName": name, "lockId": held.lock_id, "expiresAt": iso_from_ms(held.expires_at_ms), "fencingToken": held.fencing_token});
        if let Some(bound) = max_write_delay_ms {
            fields["maxWriteDelayMs"] = json!(bound);
        }
        log.log(Level::Info, "Lock acquired", fields);
        self.held.borrow_mut().insert(name.to_string(), held);
    }

    /// Keeps the released record this instance just wrote of `name`.
    fn keep_released(&self, name: &str, written: Option<Released>) {
        let mut released = self.released.borrow_mut();
        match written {
            Some(w) => {
                if released.len() >= RELEASED_KEPT {
                    released.clear();
                }
                released.insert(name.to_string(), w);
            }
            None => drop(released.remove(name)),
        }
    }

    fn record(&self, held: &Held, now_ms: i64) -> Result<Value> {
        Ok(json!({
            "isLocked": true,
            "lockId": held.lock_id,
            "lockedAt": iso_from_ms(now_ms),
            "lockedBy": self.host,
            "expiresAt": iso_from_ms(held.expires_at_ms),
            "fencingToken": held.fencing_token,
            "owner": self.owner()?,
        }))
    }

    /// True when this call took the lock. False when someone else holds it.
    pub async fn acquire<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        name: &str,
        ttl_ms: i64,
        lock_id: String,
    ) -> Result<bool> {
        self.acquire_timed(store, clock, &crate::clock::NoSleep, log, name, ttl_ms, lock_id, None).await
    }

    /// [`Self::acquire`], and on a store without compare-and-set with a
    /// write-delay bound `max_write_delay_ms`, Fischer's timed mutual
    /// exclusion: read (free), write our record, wait until twice the bound
    /// has passed since the read, read back, and hold only if the record is
    /// still ours. Of runs that raced, only the one whose write landed last
    /// enters, as long as every write lands within the bound of the read
    /// before it. A run whose own read-to-acknowledged-write time exceeded
    /// the bound knows its assumption broke and does not enter.
    #[allow(clippy::too_many_arguments)]
    pub async fn acquire_timed<S: Store, C: Clock, T: Sleep, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        sleep: &T,
        log: &L,
        name: &str,
        ttl_ms: i64,
        lock_id: String,
        max_write_delay_ms: Option<u64>,
    ) -> Result<bool> {
        keys::check_name("lockName", name)?;
        if let (Some(bound), false) = (max_write_delay_ms, store.capabilities().compare_and_set) {
            return self.acquire_fischer(store, clock, sleep, log, name, ttl_ms, lock_id, bound).await;
        }
        let key = keys::lock(name);
        key.check_size()?;
        let released = self.released.borrow_mut().remove(name);
        if let Some((released, check)) = released.and_then(|r| r.stamp.check(store, &key).map(|c| (r, c))) {
            // Our own released record, unchanged since (the check says so):
            // take the lock over it in one call, without reading it.
            let now = clock.now_ms();
            let mut held = Held::next(&lock_id, released.fencing_token, now, ttl_ms);
            let value = self.record(&held, now)?;
            let write = Mutation::set(key.clone(), value.clone());
            if let Some(landed) = store.commit(&[check], &[write]).await? {
                held.written = Written::of(store, landed, value);
                self.acquired(log, name, held, None);
                return Ok(true);
            }
        }
        retrying(
            store,
            || format!("lock {name:?}"),
            async || {
                let current = store.get(&key).await?;
                let now = clock.now_ms();
                let previous = current.as_ref().map(|entry| LockRecord::parse(&key, &entry.value)).transpose()?;
                if held_by_another(log, name, previous.as_ref(), now) {
                    return Ok(Some(false));
                }
                if let Some(prev) = previous.as_ref().filter(|p| p.is_locked) {
                    log.log(Level::Info, "Overriding stale lock", json!({"lockName": name, "oldLockId": prev.lock_id}));
                }
                let mut held = Held::next(&lock_id, previous.as_ref().and_then(|p| p.fencing_token), now, ttl_ms);
                let value = self.record(&held, now)?;
                let write = Mutation::set(key.clone(), value.clone());
                let Some(landed) = store.commit(&[Check::of(&key, current.as_ref())], &[write]).await? else {
                    return Ok(None); // someone wrote in between: look again
                };
                held.written = Written::of(store, landed, value);
                if !store.capabilities().compare_and_set && !self.still_ours(store, &key, &lock_id).await? {
                    return Ok(Some(false));
                }
                self.acquired(log, name, held, None);
                Ok(Some(true))
            },
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn acquire_fischer<S: Store, C: Clock, T: Sleep, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        sleep: &T,
        log: &L,
        name: &str,
        ttl_ms: i64,
        lock_id: String,
        bound: u64,
    ) -> Result<bool> {
        let key = keys::lock(name);
        key.check_size()?;
        let read_at = clock.now_ms();
        let fischer = Fischer::read_at(read_at, bound);
        let previous = store.get(&key).await?.map(|entry| LockRecord::parse(&key, &entry.value)).transpose()?;
        if held_by_another(log, name, previous.as_ref(), read_at) {
            return Ok(false);
        }
        let held = Held::next(&lock_id, previous.as_ref().and_then(|p| p.fencing_token), read_at, ttl_ms);
        store.set(&key, &self.record(&held, read_at)?, None).await?;
        if let Some(took) = fischer.overran(clock) {
            log.log(
                Level::Warn,
                "Lock not taken: this run's read-to-write time exceeded maxWriteDelayMs, so exclusivity cannot be assumed",
                json!({"lockName": name, "tookMs": took, "maxWriteDelayMs": bound}),
            );
            // Our record must not keep the lock from everyone until it
            // expires: once the writes have landed, take it back if it is
            // still ours.
            fischer.settle(clock, sleep, 0).await;
            if let Some(entry) = store.get(&key).await? {
                if LockRecord::parse(&key, &entry.value)?.lock_id == lock_id {
                    self.write_released(store, clock, &key, &entry).await?;
                }
            }
            return Ok(false);
        }
        fischer.settle(clock, sleep, 0).await;
        if !self.still_ours(store, &key, &lock_id).await? {
            return Ok(false);
        }
        self.acquired(log, name, held, Some(bound));
        Ok(true)
    }

    /// Best-effort stores: a racing writer may have overwritten us.
    async fn still_ours<S: Store>(&self, store: &S, key: &Key, lock_id: &str) -> Result<bool> {
        Ok(match store.get(key).await? {
            Some(entry) => LockRecord::parse(key, &entry.value)?.lock_id == lock_id,
            None => false,
        })
    }

    /// Releases a lock this instance holds. A lock held by anyone else
    /// (including a run that took over after ours expired) is left in place
    /// with a warning; returns whether a release happened.
    pub async fn release<S: Store, C: Clock, L: Logger>(&self, store: &S, clock: &C, log: &L, name: &str) -> Result<bool> {
        self.release_as(store, clock, log, name, None).await
    }

    /// [`Self::release`] of the acquisition `lock_id` only (a lease's own
    /// handle): false, with nothing written, when this instance holds the
    /// lock under another id now (a newer acquisition) or not at all.
    pub async fn release_as<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        name: &str,
        lock_id: Option<&str>,
    ) -> Result<bool> {
        keys::check_name("lockName", name)?;
        let mine = self.held(name);
        if let Some(id) = lock_id {
            if mine.as_ref().is_none_or(|h| h.lock_id != id) {
                return Ok(false);
            }
        }
        let key = keys::lock(name);
        let written = mine.as_ref().and_then(|h| h.written.as_ref());
        if let Some((check, value)) = written.and_then(|w| Some((w.stamp.check(store, &key)?, &w.value))) {
            // One call when the record is still the one we wrote.
            let write = Mutation::set(key.clone(), released(value, clock.now_ms()));
            if let Some(landed) = store.commit(&[check], &[write]).await? {
                self.forget(name, mine.as_ref());
                self.keep_released(name, Released::of(store, landed, value));
                log.log(Level::Info, "Lock released", json!({"lockName": name}));
                return Ok(true);
            }
        }
        retrying(
            store,
            || format!("lock {name:?}"),
            async || {
                let Some(entry) = store.get(&key).await? else {
                    self.forget(name, mine.as_ref());
                    log.log(Level::Info, "Lock already gone", json!({"lockName": name}));
                    return Ok(Some(false));
                };
                let record = LockRecord::parse(&key, &entry.value)?;
                let ours = mine.as_ref().is_some_and(|h| h.lock_id == record.lock_id);
                if !ours || !record.is_locked {
                    self.forget(name, mine.as_ref());
                    if record.is_locked {
                        log.log(
                            Level::Warn,
                            "Lock not released: it is held by another run (use forceReleaseLock to override)",
                            json!({"lockName": name, "heldBy": record.locked_by, "lockId": record.lock_id, "expiresAt": record.expires_at}),
                        );
                    }
                    return Ok(Some(false));
                }
                let Some(written) = self.write_released(store, clock, &key, &entry).await? else { return Ok(None) };
                self.forget(name, mine.as_ref());
                self.keep_released(name, written);
                log.log(Level::Info, "Lock released", json!({"lockName": name}));
                Ok(Some(true))
            },
        )
        .await
    }

    /// Operator override: releases whoever holds it.
    pub async fn force_release<S: Store, C: Clock, L: Logger>(&self, store: &S, clock: &C, log: &L, name: &str) -> Result<bool> {
        keys::check_name("lockName", name)?;
        let key = keys::lock(name);
        retrying(
            store,
            || format!("lock {name:?}"),
            async || {
                let Some(entry) = store.get(&key).await? else { return Ok(Some(false)) };
                // A record we cannot read is released too: this is the operator's way out.
                let record = LockRecord::parse(&key, &entry.value).ok();
                if record.as_ref().is_some_and(|r| !r.is_locked) {
                    return Ok(Some(false));
                }
                let Some(written) = self.write_released(store, clock, &key, &entry).await? else { return Ok(None) };
                self.held.borrow_mut().remove(name);
                self.keep_released(name, written);
                let (held_by, lock_id) = record.map(|r| (r.locked_by, r.lock_id)).unwrap_or_default();
                log.log(Level::Warn, "Lock force-released", json!({"lockName": name, "heldBy": held_by, "lockId": lock_id}));
                Ok(Some(true))
            },
        )
        .await
    }

    /// Keeps every field (the fencing token among them) and marks the
    /// record unlocked with an expiry of now.
    /// None when the record changed since `entry` was read; else what
    /// the write leaves to check against (see [`Written`]).
    async fn write_released<S: Store, C: Clock>(&self, store: &S, clock: &C, key: &Key, entry: &Entry) -> Result<Option<Option<Released>>> {
        // Without compare-and-set a host store's emulated write compares
        // the check with the read that gave `entry` (src/wasm/bridge.rs):
        // no extra call.
        let write = Mutation::set(key.clone(), released(&entry.value, clock.now_ms()));
        Ok(store.commit(&[Check::of(key, Some(entry))], &[write]).await?.map(|landed| Released::of(store, landed, &entry.value)))
    }

    /// Pushes the expiry of a lock this instance holds and has not lost.
    /// A holder whose lock expired (even if nobody took it yet) gets
    /// LOCK_NOT_HELD: from that moment another run may have acted.
    pub async fn extend<S: Store, C: Clock>(&self, store: &S, clock: &C, name: &str, ttl_ms: i64) -> Result<Held> {
        self.extend_as(store, clock, name, ttl_ms, None).await
    }

    /// [`Self::extend`] of the acquisition `lock_id` only: LOCK_NOT_HELD
    /// when this instance holds the lock under another id now.
    pub async fn extend_as<S: Store, C: Clock>(
        &self,
        store: &S,
        clock: &C,
        name: &str,
        ttl_ms: i64,
        lock_id: Option<&str>,
    ) -> Result<Held> {
        keys::check_name("lockName", name)?;
        let key = keys::lock(name);
        let not_held = |why: &str| {
            StateError::new(
                ErrorCode::LockNotHeld,
                format!("lock {name:?} is not held by this instance ({why}); stop the work it guarded and acquire it again"),
            )
        };
        let Some(mine) = self.held(name) else { return Err(not_held("it was never acquired here or was released")) };
        if lock_id.is_some_and(|id| id != mine.lock_id) {
            return Err(not_held("this handle's acquisition was released or replaced by a newer one"));
        }
        let extended = |value: &Value, held: &Held| {
            let mut value = value.as_object().cloned().unwrap_or_else(Map::new);
            value.insert("expiresAt".into(), Value::String(iso_from_ms(held.expires_at_ms)));
            Value::Object(value)
        };
        let now = clock.now_ms();
        let written = mine.written.as_ref().filter(|_| mine.expires_at_ms > now);
        if let Some((check, value)) = written.and_then(|w| Some((w.stamp.check(store, &key)?, &w.value))) {
            // Not expired by our own clock and still the record we wrote: one call.
            let mut held = Held { expires_at_ms: now.saturating_add(ttl_ms), ..mine.clone() };
            let value = extended(value, &held);
            let write = Mutation::set(key.clone(), value.clone());
            if let Some(landed) = store.commit(&[check], &[write]).await? {
                held.written = Written::of(store, landed, value);
                self.remember(name, &mine, &held);
                return Ok(held);
            }
        }
        retrying(
            store,
            || format!("lock {name:?}"),
            async || {
                let now = clock.now_ms();
                let entry = store.get(&key).await?.ok_or_else(|| not_held("the lock record is gone"))?;
                let record = LockRecord::parse(&key, &entry.value)?;
                if record.lock_id != mine.lock_id || !record.is_locked {
                    self.forget(name, Some(&mine));
                    return Err(not_held("another run holds it now"));
                }
                if !record.is_held(now) {
                    self.forget(name, Some(&mine));
                    return Err(not_held("it expired"));
                }
                let mut held = Held { expires_at_ms: now.saturating_add(ttl_ms), ..mine.clone() };
                let value = extended(&entry.value, &held);
                let write = Mutation::set(key.clone(), value.clone());
                let Some(landed) = store.commit(&[Check::of(&key, Some(&entry))], &[write]).await? else { return Ok(None) };
                held.written = Written::of(store, landed, value);
                self.remember(name, &mine, &held);
                Ok(Some(held))
            },
        )
        .await
    }

    /// What the store says of lock `name`, if it has a record.
    pub async fn info<S: Store, C: Clock>(&self, store: &S, clock: &C, name: &str) -> Result<Option<LockInfo>> {
        keys::check_name("lockName", name)?;
        let key = keys::lock(name);
        let Some(entry) = store.get(&key).await? else { return Ok(None) };
        let mut info = LockInfo::of(LockRecord::parse(&key, &entry.value)?, clock.now_ms());
        info.held_by_me = info.held && self.held(name).is_some_and(|h| h.lock_id == info.record.lock_id);
        Ok(Some(info))
    }
}

impl LockInfo {
    /// What `record` says at `now_ms`, as seen by someone who holds nothing.
    pub fn of(record: LockRecord, now_ms: i64) -> LockInfo {
        let held = record.is_held(now_ms);
        let age_ms = record.locked_at.as_deref().and_then(ms_from_iso).map(|at| now_ms - at);
        LockInfo { stale: record.is_locked && !held, held, age_ms, held_by_me: false, record }
    }
}

/// A lock record marked unlocked with an expiry of now, every other field
/// (the fencing token among them) kept.
fn released(value: &Value, now_ms: i64) -> Value {
    let now = iso_from_ms(now_ms);
    let mut released = value.as_object().cloned().unwrap_or_else(Map::new);
    released.insert("isLocked".into(), Value::Bool(false));
    released.insert("expiresAt".into(), Value::String(now.clone()));
    released.insert("releasedAt".into(), Value::String(now));
    Value::Object(released)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::log::NoLog;
    use crate::memory::MemoryStore;
    use crate::testing::{Flaky, Yielding};
    use futures::executor::block_on;
    use std::rc::Rc;

    const MIN: i64 = 60_000;

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        crate::testing::memory_at(1_700_000_000_000)
    }

    fn locks(n: usize) -> Vec<Locks> {
        (0..n).map(|i| Locks::new(Some(format!("owner-{i}")), "host".into())).collect()
    }

    #[test]
    fn concurrent_acquirers_exactly_one_wins() {
        let (clock, mem) = setup();
        let store = Yielding::new(mem);
        let runs = locks(20);
        for round in 0..10 {
            let attempts =
                runs.iter().enumerate().map(|(i, l)| l.acquire(&store, &*clock, &NoLog, "job", 15 * MIN, format!("{round}-{i}")));
            let results = block_on(futures::future::join_all(attempts));
            let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| *r.as_ref().unwrap()).map(|(i, _)| i).collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            // Only the winner can release.
            for (i, l) in runs.iter().enumerate() {
                let released = block_on(l.release(&store, &*clock, &NoLog, "job")).unwrap();
                assert_eq!(released, i == winners[0]);
            }
        }
    }

    #[test]
    fn fencing_tokens_strictly_increase() {
        let (clock, store) = setup();
        let l = &locks(1)[0];
        let mut last = 0;
        for i in 0..5 {
            assert!(block_on(l.acquire(&store, &*clock, &NoLog, "f", MIN, format!("id{i}"))).unwrap());
            let token = l.held("f").unwrap().fencing_token;
            assert!(token > last, "{token} after {last}");
            last = token;
            block_on(l.release(&store, &*clock, &NoLog, "f")).unwrap();
        }
        // Even when the record is deleted (as 0.1.56 does) and the clock goes back.
        block_on(store.delete(&keys::lock("f"))).unwrap();
        clock.advance(-10);
        assert!(block_on(l.acquire(&store, &*clock, &NoLog, "f", MIN, "again".into())).unwrap());
        assert!(l.held("f").unwrap().fencing_token > 0);
    }

    #[test]
    fn late_release_after_takeover_leaves_new_holder() {
        let (clock, store) = setup();
        let [old, new]: [Locks; 2] = locks(2).try_into().ok().unwrap();
        assert!(block_on(old.acquire(&store, &*clock, &NoLog, "x", MIN, "old".into())).unwrap());
        assert!(!block_on(new.acquire(&store, &*clock, &NoLog, "x", MIN, "new".into())).unwrap());
        clock.advance(MIN + 1);
        assert!(block_on(new.acquire(&store, &*clock, &NoLog, "x", MIN, "new".into())).unwrap());
        let err = block_on(old.extend(&store, &*clock, "x", MIN)).unwrap_err();
        assert_eq!(err.code, ErrorCode::LockNotHeld);
        assert!(!block_on(old.release(&store, &*clock, &NoLog, "x")).unwrap());
        let info = block_on(new.info(&store, &*clock, "x")).unwrap().unwrap();
        assert!(info.held && info.held_by_me);
        assert_eq!(info.record.lock_id, "new");
    }

    #[test]
    fn expired_holder_cannot_extend_even_without_takeover() {
        let (clock, store) = setup();
        let l = &locks(1)[0];
        assert!(block_on(l.acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap());
        clock.advance(MIN / 2);
        let held = block_on(l.extend(&store, &*clock, "x", MIN)).unwrap();
        assert_eq!(held.expires_at_ms, clock.now_ms() + MIN);
        clock.advance(MIN + 1);
        assert_eq!(block_on(l.extend(&store, &*clock, "x", MIN)).unwrap_err().code, ErrorCode::LockNotHeld);
    }

    #[test]
    fn a_stale_lock_id_neither_releases_nor_extends_the_newer_acquisition() {
        let (clock, store) = setup();
        let l = &locks(2);
        assert!(block_on(l[0].acquire(&store, &*clock, &NoLog, "job", MIN, "first".into())).unwrap());
        clock.advance(MIN + 1);
        assert!(block_on(l[0].acquire(&store, &*clock, &NoLog, "job", MIN, "second".into())).unwrap());
        assert!(!block_on(l[0].release_as(&store, &*clock, &NoLog, "job", Some("first"))).unwrap());
        assert_eq!(block_on(l[0].extend_as(&store, &*clock, "job", MIN, Some("first"))).unwrap_err().code, ErrorCode::LockNotHeld);
        // The newer acquisition still holds it, here and in the store.
        assert_eq!(l[0].held("job").unwrap().lock_id, "second");
        assert!(!block_on(l[1].acquire(&store, &*clock, &NoLog, "job", MIN, "other".into())).unwrap());
        assert!(block_on(l[0].release_as(&store, &*clock, &NoLog, "job", Some("second"))).unwrap());
        assert!(block_on(l[1].acquire(&store, &*clock, &NoLog, "job", MIN, "other".into())).unwrap());
    }

    #[test]
    fn legacy_lock_is_respected_until_it_expires() {
        let (clock, store) = setup();
        let legacy = json!({
            "isLocked": true, "lockId": "1700000000000-abc", "lockedAt": iso_from_ms(clock.now_ms()),
            "lockedBy": "unknown", "expiresAt": iso_from_ms(clock.now_ms() + 15 * MIN)
        });
        block_on(store.set(&keys::lock("legacy"), &legacy, None)).unwrap();
        let l = &locks(1)[0];
        assert!(!block_on(l.acquire(&store, &*clock, &NoLog, "legacy", MIN, "a".into())).unwrap());
        clock.advance(15 * MIN + 1);
        assert!(block_on(l.acquire(&store, &*clock, &NoLog, "legacy", MIN, "a".into())).unwrap());
        // Our record keeps every field 0.1.56 reads.
        let stored = block_on(store.get(&keys::lock("legacy"))).unwrap().unwrap().value;
        for field in ["isLocked", "lockId", "lockedAt", "lockedBy", "expiresAt"] {
            assert!(stored.get(field).is_some(), "{field}");
        }
        assert!(ms_from_iso(stored["expiresAt"].as_str().unwrap()).unwrap() > clock.now_ms());
    }

    #[test]
    fn store_failures_are_errors_not_false() {
        let (clock, mem) = setup();
        let store = Flaky::failing_every_call(mem);
        let err = block_on(locks(1)[0].acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap_err();
        assert_eq!(err.code, ErrorCode::StoreUnavailable);
    }

    #[test]
    fn acquire_extend_release_cost_three_calls_and_a_takeover_still_wins() {
        let (clock, memory) = setup();
        let store = Flaky::healthy(&memory);
        let (a, b) = (Locks::new(Some("a".into()), "h".into()), Locks::new(Some("b".into()), "h".into()));
        block_on(async {
            let before = store.calls();
            assert!(a.acquire(&store, &*clock, &NoLog, "job", MIN, "a1".into()).await.unwrap());
            a.extend(&store, &*clock, "job", MIN).await.unwrap();
            assert!(a.release(&store, &*clock, &NoLog, "job").await.unwrap());
            assert_eq!(store.calls() - before, 1 + 1 + 1 + 1, "get + write, extend write, release write");
            // a takes it again and pauses past its expiry; b takes over.
            assert!(a.acquire(&store, &*clock, &NoLog, "job", MIN, "a2".into()).await.unwrap());
            clock.advance(2 * MIN);
            assert!(b.acquire(&store, &*clock, &NoLog, "job", MIN, "b1".into()).await.unwrap());
            assert_eq!(a.extend(&store, &*clock, "job", MIN).await.unwrap_err().code, ErrorCode::LockNotHeld);
            assert!(!a.release(&store, &*clock, &NoLog, "job").await.unwrap());
            let info = b.info(&store, &*clock, "job").await.unwrap().unwrap();
            assert!(info.held_by_me && info.held);
        });
    }

    #[test]
    fn acquiring_again_over_our_own_release_is_one_call_and_any_change_since_is_read() {
        let (clock, memory) = setup();
        let store = Flaky::healthy(&memory);
        let [a, b]: [Locks; 2] = locks(2).try_into().ok().unwrap();
        block_on(async {
            assert!(a.acquire(&store, &*clock, &NoLog, "job", MIN, "a1".into()).await.unwrap());
            let first = a.held("job").unwrap().fencing_token;
            assert!(a.release(&store, &*clock, &NoLog, "job").await.unwrap());
            let before = store.calls();
            assert!(a.acquire(&store, &*clock, &NoLog, "job", MIN, "a2".into()).await.unwrap());
            assert_eq!(store.calls() - before, 1, "one write checked against our release");
            let second = a.held("job").unwrap().fencing_token;
            assert!(second > first);
            // The record as the store holds it is the acquisition's.
            let info = b.info(&store, &*clock, "job").await.unwrap().unwrap();
            assert!(info.held && info.record.lock_id == "a2" && info.record.fencing_token == Some(second));
            assert!(a.release(&store, &*clock, &NoLog, "job").await.unwrap());
            // b takes and releases it: a's remembered release is stale now.
            assert!(b.acquire(&store, &*clock, &NoLog, "job", MIN, "b1".into()).await.unwrap());
            let third = b.held("job").unwrap().fencing_token;
            assert!(b.release(&store, &*clock, &NoLog, "job").await.unwrap());
            let before = store.calls();
            assert!(a.acquire(&store, &*clock, &NoLog, "job", MIN, "a3".into()).await.unwrap());
            assert_eq!(store.calls() - before, 3, "the checked write fails, then read and write");
            assert!(a.held("job").unwrap().fencing_token > third);
            // b holds it after a's release: a reads, and does not take it.
            assert!(a.release(&store, &*clock, &NoLog, "job").await.unwrap());
            assert!(b.acquire(&store, &*clock, &NoLog, "job", MIN, "b2".into()).await.unwrap());
            assert!(!a.acquire(&store, &*clock, &NoLog, "job", MIN, "a4".into()).await.unwrap());
            assert_eq!(b.info(&store, &*clock, "job").await.unwrap().unwrap().record.lock_id, "b2");
        });
    }

    #[test]
    fn a_versionstamp_from_one_store_is_never_checked_against_another() {
        // Two stores whose versionstamps run in step: on `other`, lock "job"
        // is held by b under the very versionstamp a's own writes got on
        // `store`. Neither a's acquisition nor its release may act on it.
        let (clock, store) = setup();
        let other = MemoryStore::new(clock.clone());
        let [a, b]: [Locks; 2] = locks(2).try_into().ok().unwrap();
        block_on(async {
            assert!(a.acquire(&store, &*clock, &NoLog, "job", MIN, "a1".into()).await.unwrap());
            assert!(b.acquire(&other, &*clock, &NoLog, "job", MIN, "b1".into()).await.unwrap());
            async fn stamp(s: &MemoryStore) -> String {
                s.get(&keys::lock("job")).await.unwrap().unwrap().versionstamp
            }
            assert_eq!(stamp(&store).await, stamp(&other).await);
            // a's release, handed the other store: b's lock stays.
            assert!(!a.release(&other, &*clock, &NoLog, "job").await.unwrap());
            assert_eq!(b.info(&other, &*clock, "job").await.unwrap().unwrap().record.lock_id, "b1");
            assert!(b.info(&other, &*clock, "job").await.unwrap().unwrap().held);

            // a releases on its own store; b writes once more on the other,
            // so both records again share a versionstamp.
            let (clock2, store2) = setup();
            let other2 = MemoryStore::new(clock2.clone());
            let [c, d]: [Locks; 2] = locks(2).try_into().ok().unwrap();
            assert!(c.acquire(&store2, &*clock2, &NoLog, "job", MIN, "c1".into()).await.unwrap());
            assert!(c.release(&store2, &*clock2, &NoLog, "job").await.unwrap());
            assert!(d.acquire(&other2, &*clock2, &NoLog, "warm-up", MIN, "d0".into()).await.unwrap());
            assert!(d.acquire(&other2, &*clock2, &NoLog, "job", MIN, "d1".into()).await.unwrap());
            assert_eq!(stamp(&store2).await, stamp(&other2).await);
            // c acquiring on the other store reads first: d holds it.
            assert!(!c.acquire(&other2, &*clock2, &NoLog, "job", MIN, "c2".into()).await.unwrap());
            assert_eq!(d.info(&other2, &*clock2, "job").await.unwrap().unwrap().record.lock_id, "d1");
        });
    }

    #[test]
    fn bad_names_are_rejected() {
        let (clock, store) = setup();
        let l = &locks(1)[0];
        assert_eq!(block_on(l.acquire(&store, &*clock, &NoLog, "", MIN, "a".into())).unwrap_err().code, ErrorCode::InvalidArgument);
        let long = "x".repeat(3000);
        assert_eq!(block_on(l.acquire(&store, &*clock, &NoLog, &long, MIN, "a".into())).unwrap_err().code, ErrorCode::InvalidArgument);
    }

    #[test]
    fn a_corrupt_lock_record_is_reported_and_force_release_clears_it() {
        let (clock, store) = setup();
        block_on(store.set(&keys::lock("x"), &json!("garbage"), None)).unwrap();
        let l = &locks(1)[0];
        let err = block_on(l.acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap_err();
        assert_eq!(err.code, ErrorCode::CorruptState);
        assert!(err.message.contains("lock:"), "{}", err.message);
        assert!(block_on(l.force_release(&store, &*clock, &NoLog, "x")).unwrap());
        assert!(block_on(l.acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap());
    }

    #[test]
    fn force_release_frees_any_holder() {
        let (clock, store) = setup();
        let [a, b]: [Locks; 2] = locks(2).try_into().ok().unwrap();
        assert!(block_on(a.acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap());
        assert!(block_on(b.force_release(&store, &*clock, &NoLog, "x")).unwrap());
        assert!(block_on(b.acquire(&store, &*clock, &NoLog, "x", MIN, "b".into())).unwrap());
        assert!(!block_on(a.release(&store, &*clock, &NoLog, "x")).unwrap());
    }

    #[test]
    fn without_compare_and_set_a_lock_overwritten_right_after_our_write_is_not_ours() {
        let (clock, mem) = setup();
        let store = crate::testing::Racing::new(mem, "lockId");
        store.on.set(false);
        let l = &locks(1)[0];
        // Nobody racing: the read-back finds our record and we hold the lock.
        assert!(block_on(l.acquire(&store, &*clock, &NoLog, "calm", MIN, "mine".into())).unwrap());
        assert!(block_on(l.info(&store, &*clock, "calm")).unwrap().unwrap().held_by_me);
        // Such a store gives no versionstamp to check against: release reads the record, finds it ours, and releases it.
        assert!(block_on(l.release(&store, &*clock, &NoLog, "calm")).unwrap());
        assert!(!block_on(l.info(&store, &*clock, "calm")).unwrap().unwrap().record.is_locked);
        // A racer's write lands after ours: the read-back sees theirs, we do not hold it.
        store.on.set(true);
        assert!(!block_on(l.acquire(&store, &*clock, &NoLog, "raced", MIN, "mine".into())).unwrap());
        assert!(l.held("raced").is_none());
        assert_eq!(block_on(l.info(&store, &*clock, "raced")).unwrap().unwrap().record.lock_id, "racer");
    }

    #[test]
    fn extend_and_info_through_the_read_path_of_a_store_without_versionstamps() {
        let (clock, mem) = setup();
        let store = crate::testing::NoCas(&mem);
        let l = &locks(1)[0];
        assert!(block_on(l.acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap());
        clock.advance(MIN / 2);
        let held = block_on(l.extend(&store, &*clock, "x", 2 * MIN)).unwrap();
        assert_eq!(held.expires_at_ms, clock.now_ms() + 2 * MIN);
        assert_eq!(l.held("x").unwrap().expires_at_ms, clock.now_ms() + 2 * MIN);
        let info = block_on(l.info(&store, &*clock, "x")).unwrap().unwrap();
        assert_eq!(info.record.expires_at_ms, Some(clock.now_ms() + 2 * MIN));
        assert!(info.held_by_me);
        // Expired, and nobody took it: still our record, but no longer held by us.
        clock.advance(2 * MIN);
        let info = block_on(l.info(&store, &*clock, "x")).unwrap().unwrap();
        assert_eq!((info.held, info.stale, info.held_by_me), (false, true, false));
        assert_eq!(info.record.lock_id, "a");
    }

    #[test]
    fn a_lock_expires_exactly_at_its_expiry_instant() {
        let (clock, store) = setup();
        let [a, b]: [Locks; 2] = locks(2).try_into().ok().unwrap();
        assert!(block_on(a.acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap());
        let record = |now| LockRecord { expires_at_ms: Some(now), ..block_on(a.info(&store, &*clock, "x")).unwrap().unwrap().record };
        assert!(record(clock.now_ms() + 1).is_held(clock.now_ms()));
        assert!(!record(clock.now_ms()).is_held(clock.now_ms()), "held until, not through, its expiry");
        clock.advance(MIN - 1);
        assert!(!block_on(b.acquire(&store, &*clock, &NoLog, "x", MIN, "b".into())).unwrap(), "1 ms before expiry");
        let info = block_on(b.info(&store, &*clock, "x")).unwrap().unwrap();
        assert_eq!((info.held, info.stale, info.age_ms), (true, false, Some(MIN - 1)));
        clock.advance(1);
        let info = block_on(b.info(&store, &*clock, "x")).unwrap().unwrap();
        assert_eq!((info.held, info.stale, info.held_by_me, info.age_ms), (false, true, false, Some(MIN)));
        // At the expiry instant the holder may no longer extend, by its own clock either.
        assert_eq!(block_on(a.extend(&store, &*clock, "x", MIN)).unwrap_err().code, ErrorCode::LockNotHeld);
        assert!(block_on(b.acquire(&store, &*clock, &NoLog, "x", MIN, "b".into())).unwrap(), "taken at the expiry instant");
    }

    #[test]
    fn extend_one_ms_before_expiry_still_works_and_moves_expiry_from_now() {
        let (clock, store) = setup();
        let l = &locks(1)[0];
        assert!(block_on(l.acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap());
        clock.advance(MIN - 1);
        let held = block_on(l.extend(&store, &*clock, "x", 2 * MIN)).unwrap();
        assert_eq!(held.expires_at_ms, clock.now_ms() + 2 * MIN);
        let info = block_on(l.info(&store, &*clock, "x")).unwrap().unwrap();
        assert_eq!(info.record.expires_at_ms, Some(clock.now_ms() + 2 * MIN));
        assert!(info.held_by_me);
    }

    #[test]
    fn a_released_lock_is_neither_held_nor_stale() {
        let (clock, store) = setup();
        let l = &locks(1)[0];
        assert!(block_on(l.acquire(&store, &*clock, &NoLog, "x", MIN, "a".into())).unwrap());
        clock.advance(1000);
        assert!(block_on(l.release(&store, &*clock, &NoLog, "x")).unwrap());
        let info = block_on(l.info(&store, &*clock, "x")).unwrap().unwrap();
        assert_eq!((info.held, info.stale, info.held_by_me, info.age_ms), (false, false, false, Some(1000)));
        assert!(!info.record.is_locked);
    }
}
