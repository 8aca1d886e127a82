//! An in-memory store with Deno KV's semantics: versionstamps that change on
//! every write, atomic writes with checks, listing by prefix, and expiry.
//! It is the embedded default store and the store of the native tests.

use crate::clock::Clock;
use crate::error::{Result, StateError};
use crate::keys::Key;
use crate::kvkey;
use crate::store::{Capabilities, Check, Committed, Entry, ListPage, Mutation, Store, StoreKind};
use crate::values::{hex, unhex};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::Rc;

struct Slot {
    value: Value,
    version: u64,
    expires_at_ms: Option<i64>,
}

/// The embedded store: Deno KV's model in memory. Entries are kept by their
/// Deno KV key encoding ([`kvkey`]), so order, prefixes and ranges are
/// Deno's, whatever the key parts' types.
pub struct MemoryStore {
    clock: Rc<dyn Clock>,
    data: RefCell<BTreeMap<Vec<u8>, Slot>>,
    version: Cell<u64>,
    closed: Cell<bool>,
    identity: u64,
}

/// The versionstamp of write number `version`: 20 hex digits.
pub fn versionstamp(version: u64) -> String {
    format!("{version:020x}")
}

/// What one write of [`MemoryStore::commit_bytes`] does to its key.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Stores the value, expiring after the milliseconds given.
    Set(Value, Option<u64>),
    /// Removes the key.
    Delete,
    /// Deno KV's `sum` / `min` / `max` of a 64-bit unsigned value.
    U64(U64Op, u64),
}

/// The arithmetic of a [`Write::U64`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum U64Op {
    /// Adds, wrapping around at 2^64.
    Sum,
    /// Keeps the smaller.
    Min,
    /// Keeps the larger.
    Max,
}

impl U64Op {
    /// The operation named `name` ('sum', 'min', 'max').
    pub fn parse(name: &str) -> Option<U64Op> {
        match name {
            "sum" => Some(U64Op::Sum),
            "min" => Some(U64Op::Min),
            "max" => Some(U64Op::Max),
            _ => None,
        }
    }

    /// `current` after this operation with `operand` (a sum wraps at 2^64).
    pub fn apply(self, current: u64, operand: u64) -> u64 {
        match self {
            U64Op::Sum => current.wrapping_add(operand),
            U64Op::Min => current.min(operand),
            U64Op::Max => current.max(operand),
        }
    }

    /// The operation's name, as Deno's messages give it.
    pub fn as_str(self) -> &'static str {
        match self {
            U64Op::Sum => "sum",
            U64Op::Min => "min",
            U64Op::Max => "max",
        }
    }
}

/// One write of [`MemoryStore::commit_bytes`]: a key's bytes and what to do.
pub type RawWrite = (Vec<u8>, Write);

/// A write once its arithmetic is done: the value with its expiry, or `None`
/// to delete.
type PlainWrite = (Vec<u8>, Option<(Value, Option<u64>)>);

impl MemoryStore {
    /// An empty store whose expiries follow `clock`.
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        MemoryStore {
            clock,
            data: RefCell::new(BTreeMap::new()),
            version: Cell::new(0),
            closed: Cell::new(false),
            identity: crate::store::new_identity(),
        }
    }

    /// After this, the package's classes bound to the store get CLOSED
    /// (the store's own front refuses calls as Deno KV does).
    pub fn close(&self) {
        self.closed.set(true);
    }

    fn open(&self) -> Result<()> {
        if self.closed.get() {
            return Err(crate::error::StateError::new(
                crate::error::ErrorCode::Closed,
                "the embedded store was closed (kv.close()): open a new one with openKv() and make a new instance on it",
            ));
        }
        Ok(())
    }

    fn live(&self, slot: &Slot) -> bool {
        slot.expires_at_ms.is_none_or(|at| at > self.clock.now_ms())
    }

    fn entry(slot: &Slot) -> Entry {
        Entry { value: slot.value.clone(), versionstamp: versionstamp(slot.version) }
    }

    /// The live entry at `key`.
    pub fn get_now(&self, key: &Key) -> Option<Entry> {
        self.get_bytes(&kvkey::encode_strings(&key.parts))
    }

    /// The live entry at the encoded key `key`.
    pub fn get_bytes(&self, key: &[u8]) -> Option<Entry> {
        let data = self.data.borrow();
        data.get(key).filter(|s| self.live(s)).map(Self::entry)
    }

    /// Checks then writes, all under one borrow: nothing can interleave.
    pub fn commit_now(&self, checks: &[Check], mutations: &[Mutation]) -> Option<String> {
        let checks: Vec<(Vec<u8>, Option<String>)> =
            checks.iter().map(|c| (kvkey::encode_strings(&c.key.parts), c.versionstamp.clone())).collect();
        let writes = mutations
            .iter()
            .map(|m| match m {
                Mutation::Set { key, value, expire_in_ms } => (kvkey::encode_strings(&key.parts), Some((value.clone(), *expire_in_ms))),
                Mutation::Delete { key } => (kvkey::encode_strings(&key.parts), None),
            })
            .collect();
        self.commit_plain(&checks, writes)
    }

    /// [`Self::commit_now`] on encoded keys: every check `(key, versionstamp
    /// or None for absent)` must pass, then the writes apply in order, all
    /// with one new versionstamp, which is returned. A `sum` / `min` / `max`
    /// on a value that is not a 64-bit unsigned one fails the whole commit
    /// (Err with Deno's message) before anything is written.
    pub fn commit_bytes(&self, checks: &[(Vec<u8>, Option<String>)], writes: Vec<RawWrite>) -> std::result::Result<Option<String>, String> {
        let mut data = self.data.borrow_mut();
        if !self.checks_pass(&data, checks) {
            return Ok(None);
        }
        let mut plain: Vec<PlainWrite> = Vec::with_capacity(writes.len());
        for (key, write) in writes {
            let stored = match write {
                Write::Set(value, expire_in_ms) => Some((value, expire_in_ms)),
                Write::Delete => None,
                Write::U64(op, operand) => {
                    // Against the commit's own earlier writes, else the store.
                    let current = match plain.iter().rev().find(|(k, _)| *k == key) {
                        Some((_, earlier)) => earlier.as_ref().map(|(v, _)| v.clone()),
                        None => data.get(&key).filter(|s| self.live(s)).map(|s| s.value.clone()),
                    };
                    let next = match current {
                        None => operand,
                        Some(v) => {
                            let n = crate::values::as_u64(&v).ok_or_else(|| {
                                format!("Failed to perform '{}' mutation on a non-U64 value in the database", op.as_str())
                            })?;
                            op.apply(n, operand)
                        }
                    };
                    Some((crate::values::u64_value(next), None))
                }
            };
            plain.push((key, stored));
        }
        Ok(Some(self.apply(&mut data, plain)))
    }

    /// Sets and deletes (`None`), checked: they cannot fail.
    fn commit_plain(&self, checks: &[(Vec<u8>, Option<String>)], writes: Vec<PlainWrite>) -> Option<String> {
        let mut data = self.data.borrow_mut();
        self.checks_pass(&data, checks).then(|| self.apply(&mut data, writes))
    }

    fn checks_pass(&self, data: &BTreeMap<Vec<u8>, Slot>, checks: &[(Vec<u8>, Option<String>)]) -> bool {
        checks.iter().all(|(key, expected)| data.get(key).filter(|s| self.live(s)).map(|s| versionstamp(s.version)) == *expected)
    }

    /// Writes under one new versionstamp, which it returns.
    fn apply(&self, data: &mut BTreeMap<Vec<u8>, Slot>, writes: Vec<PlainWrite>) -> String {
        let version = self.version.get() + 1;
        self.version.set(version);
        let now = self.clock.now_ms();
        for (key, write) in writes {
            match write {
                Some((value, expire_in_ms)) => {
                    let expires_at_ms = expire_in_ms.map(|ms| now.saturating_add(ms.min(i64::MAX as u64) as i64));
                    data.insert(key, Slot { value, version, expires_at_ms });
                }
                None => {
                    data.remove(&key);
                }
            }
        }
        versionstamp(version)
    }

    /// Up to `limit` live entries with keys in `(start, end)`, in key order
    /// or, with `reverse`, from the end.
    pub fn scan(&self, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>, limit: usize, reverse: bool) -> Vec<(Vec<u8>, Entry)> {
        let data = self.data.borrow();
        if matches!((&start, &end), (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e)) if s > e) {
            return Vec::new();
        }
        let range = data.range((start, end)).filter(|(_, s)| self.live(s));
        let pick = |(k, s): (&Vec<u8>, &Slot)| (k.clone(), Self::entry(s));
        if reverse {
            range.rev().take(limit).map(pick).collect()
        } else {
            range.take(limit).map(pick).collect()
        }
    }

    /// Entries strictly under `prefix`, in key order, after `cursor`.
    pub fn list_now(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        let lower = kvkey::encode_strings(prefix);
        let upper = kvkey::prefix_end(&lower);
        let start = match cursor {
            Some(c) => {
                let after = unhex(c).filter(|a| a.starts_with(&lower) && a.len() > lower.len());
                Bound::Excluded(after.ok_or_else(|| StateError::invalid("cursor", "is not a cursor this store returned"))?)
            }
            None => Bound::Excluded(lower),
        };
        let found = self.scan(start, Bound::Excluded(upper), limit, false);
        let cursor = if found.len() == limit { found.last().map(|(k, _)| hex(k)) } else { None };
        let entries = found
            .into_iter()
            .map(|(k, e)| {
                let parts = kvkey::decode(&k).ok().and_then(kvkey::as_strings);
                // The core lists only its own keys, which are all strings;
                // another part type shows as its debug form.
                let parts = parts.unwrap_or_else(|| vec![format!("{k:?}")]);
                (Key { parts, text: false, nats: None }, e)
            })
            .collect();
        Ok(ListPage { entries, cursor })
    }

    /// Every live entry as (key parts, value), in key order.
    pub fn entries(&self) -> Vec<(Vec<String>, Value)> {
        self.scan(Bound::Unbounded, Bound::Unbounded, usize::MAX, false)
            .into_iter()
            .map(|(k, e)| {
                let parts = kvkey::decode(&k).ok().and_then(kvkey::as_strings).unwrap_or_else(|| vec![format!("{k:?}")]);
                (parts, e.value)
            })
            .collect()
    }

    /// Drops expired entries; returns how many remain.
    pub fn purge_expired(&self) -> usize {
        let now = self.clock.now_ms();
        let mut data = self.data.borrow_mut();
        data.retain(|_, s| s.expires_at_ms.is_none_or(|at| at > now));
        data.len()
    }
}

impl Store for MemoryStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities { kind: StoreKind::Memory, compare_and_set: true, list: true, expiry: true }
    }

    fn identity(&self) -> Option<u64> {
        Some(self.identity)
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.open()?;
        Ok(self.get_now(key))
    }

    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()> {
        self.open()?;
        self.commit_plain(&[], vec![(kvkey::encode_strings(&key.parts), Some((value.clone(), expire_in_ms)))]);
        Ok(())
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.open()?;
        self.commit_plain(&[], vec![(kvkey::encode_strings(&key.parts), None)]);
        Ok(())
    }

    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        self.open()?;
        self.list_now(prefix, limit, cursor)
    }

    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        self.open()?;
        Ok(self.commit_now(checks, mutations).map(|stamp| Committed { versionstamp: Some(stamp) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use futures::executor::block_on;
    use serde_json::json;

    fn store() -> (Rc<FakeClock>, MemoryStore) {
        crate::testing::memory_at(1_000)
    }

    #[test]
    fn versionstamps_change_and_checks_hold() {
        block_on(async {
            let (_, s) = store();
            let k = Key::parts(["a"]);
            assert!(s.atomic(&[Check::of(&k, None)], &[Mutation::set(k.clone(), json!(1))]).await.unwrap());
            let first = s.get(&k).await.unwrap().unwrap();
            // A second "create if absent" fails.
            assert!(!s.atomic(&[Check::of(&k, None)], &[Mutation::delete(k.clone())]).await.unwrap());
            s.set(&k, &json!(2), None).await.unwrap();
            let second = s.get(&k).await.unwrap().unwrap();
            assert_ne!(first.versionstamp, second.versionstamp);
            assert!(second.versionstamp > first.versionstamp);
            assert!(!s.atomic(&[Check::of(&k, Some(&first))], &[]).await.unwrap());
        });
    }

    #[test]
    fn expiry_hides_entries() {
        block_on(async {
            let (clock, s) = store();
            let k = Key::parts(["t"]);
            s.set(&k, &json!("x"), Some(500)).await.unwrap();
            clock.advance(499);
            assert!(s.get(&k).await.unwrap().is_some());
            clock.advance(1);
            assert!(s.get(&k).await.unwrap().is_none());
            assert!(s.atomic(&[Check::of(&k, None)], &[]).await.unwrap());
            assert_eq!(s.purge_expired(), 0);
        });
    }

    #[test]
    fn list_pages_through_a_prefix_only() {
        block_on(async {
            let (_, s) = store();
            for i in 0..25 {
                s.set(&Key::parts(["f", &format!("{i:03}")]), &json!(i), None).await.unwrap();
            }
            s.set(&Key::parts(["f"]), &json!("prefix itself"), None).await.unwrap();
            s.set(&Key::parts(["e", "x"]), &json!(0), None).await.unwrap();
            s.set(&Key::parts(["g", "x"]), &json!(0), None).await.unwrap();
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = s.list(&["f".to_string()], 10, cursor.as_deref()).await.unwrap();
                seen.extend(page.entries.iter().map(|(_, e)| e.value.as_i64().unwrap()));
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(seen, (0..25).collect::<Vec<_>>());
        });
    }

    #[test]
    fn u64_arithmetic_is_atomic_and_a_wrong_type_writes_nothing() {
        let (_, s) = store();
        let k = kvkey::encode_strings(&["n"]);
        let other = kvkey::encode_strings(&["other"]);
        let u64_write = |op, n| vec![(k.clone(), Write::U64(op, n))];
        assert!(s.commit_bytes(&[], u64_write(U64Op::Sum, 5)).unwrap().is_some(), "absent: the operand is stored");
        s.commit_bytes(&[], u64_write(U64Op::Sum, u64::MAX)).unwrap();
        assert_eq!(crate::values::as_u64(&s.get_bytes(&k).unwrap().value), Some(4), "wraps at 2^64");
        s.commit_bytes(&[], u64_write(U64Op::Max, 9)).unwrap();
        s.commit_bytes(&[], u64_write(U64Op::Min, 7)).unwrap();
        assert_eq!(crate::values::as_u64(&s.get_bytes(&k).unwrap().value), Some(7));
        // A sum over a JSON value fails the whole commit, earlier writes included.
        s.commit_bytes(&[], vec![(k.clone(), Write::Set(json!("text"), None))]).unwrap();
        let err =
            s.commit_bytes(&[], vec![(other.clone(), Write::Set(json!(1), None)), (k.clone(), Write::U64(U64Op::Sum, 1))]).unwrap_err();
        assert_eq!(err, "Failed to perform 'sum' mutation on a non-U64 value in the database");
        assert!(s.get_bytes(&other).is_none());
        // Within one commit, arithmetic sees the commit's own earlier writes.
        let stamp = s
            .commit_bytes(
                &[],
                vec![(k.clone(), Write::Delete), (k.clone(), Write::U64(U64Op::Sum, 2)), (k.clone(), Write::U64(U64Op::Sum, 3))],
            )
            .unwrap();
        assert!(stamp.is_some());
        assert_eq!(crate::values::as_u64(&s.get_bytes(&k).unwrap().value), Some(5));
    }
}
