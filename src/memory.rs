//! An in-memory store with Deno KV's semantics: versionstamps that change on
//! every write, atomic writes with checks, listing by prefix, and expiry.
//! It is the embedded default store and the store of the native tests.

use crate::clock::Clock;
use crate::error::{Result, StateError};
use crate::keys::Key;
use crate::store::{Capabilities, Check, Committed, Entry, ListPage, Mutation, Store, StoreKind};
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

/// The embedded store: Deno KV's model in memory.
pub struct MemoryStore {
    clock: Rc<dyn Clock>,
    data: RefCell<BTreeMap<Vec<String>, Slot>>,
    version: Cell<u64>,
}

/// The versionstamp of write number `version`: 20 hex digits.
pub fn versionstamp(version: u64) -> String {
    format!("{version:020x}")
}

impl MemoryStore {
    /// An empty store whose expiries follow `clock`.
    pub fn new(clock: Rc<dyn Clock>) -> Self {
        MemoryStore { clock, data: RefCell::new(BTreeMap::new()), version: Cell::new(0) }
    }

    fn live(&self, slot: &Slot) -> bool {
        slot.expires_at_ms.is_none_or(|at| at > self.clock.now_ms())
    }

    /// The live entry at `key`.
    pub fn get_now(&self, key: &Key) -> Option<Entry> {
        let data = self.data.borrow();
        let slot = data.get(&key.parts).filter(|s| self.live(s))?;
        Some(Entry { value: slot.value.clone(), versionstamp: versionstamp(slot.version) })
    }

    /// Checks then writes, all under one borrow: nothing can interleave.
    pub fn commit_now(&self, checks: &[Check], mutations: &[Mutation]) -> Option<String> {
        let mut data = self.data.borrow_mut();
        for check in checks {
            let current = data.get(&check.key.parts).filter(|s| self.live(s)).map(|s| versionstamp(s.version));
            if current != check.versionstamp {
                return None;
            }
        }
        let version = self.version.get() + 1;
        self.version.set(version);
        let now = self.clock.now_ms();
        for mutation in mutations {
            match mutation {
                Mutation::Set { key, value, expire_in_ms } => {
                    let expires_at_ms = expire_in_ms.map(|ms| now.saturating_add(ms.min(i64::MAX as u64) as i64));
                    data.insert(key.parts.clone(), Slot { value: value.clone(), version, expires_at_ms });
                }
                Mutation::Delete { key } => {
                    data.remove(&key.parts);
                }
            }
        }
        Some(versionstamp(version))
    }

    /// Entries strictly under `prefix`, in key order, after `cursor`.
    pub fn list_now(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        let start = match cursor {
            Some(c) => {
                let after: Vec<String> =
                    serde_json::from_str(c).map_err(|_| StateError::invalid("cursor", "is not a cursor this store returned"))?;
                Bound::Excluded(after)
            }
            None => Bound::Excluded(prefix.to_vec()),
        };
        let data = self.data.borrow();
        let mut entries = Vec::new();
        let mut last = None;
        for (parts, slot) in data.range((start, Bound::Unbounded)) {
            if parts.len() <= prefix.len() || parts[..prefix.len()] != *prefix {
                if parts[..prefix.len().min(parts.len())] > *prefix {
                    break;
                }
                continue;
            }
            if !self.live(slot) {
                continue;
            }
            if entries.len() == limit {
                break;
            }
            last = Some(parts.clone());
            entries.push((
                Key { parts: parts.clone(), text: false },
                Entry { value: slot.value.clone(), versionstamp: versionstamp(slot.version) },
            ));
        }
        let more = entries.len() == limit;
        let cursor = if more { last.map(|p| serde_json::to_string(&p).unwrap_or_default()) } else { None };
        Ok(ListPage { entries, cursor })
    }

    /// Every live entry as (key parts, value), in key order.
    pub fn entries(&self) -> Vec<(Vec<String>, Value)> {
        let data = self.data.borrow();
        data.iter().filter(|(_, s)| self.live(s)).map(|(k, s)| (k.clone(), s.value.clone())).collect()
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

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        Ok(self.get_now(key))
    }

    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()> {
        let mutation = Mutation::set_expiring(key.clone(), value.clone(), expire_in_ms);
        self.commit_now(&[], &[mutation]);
        Ok(())
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        self.commit_now(&[], &[Mutation::delete(key.clone())]);
        Ok(())
    }

    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        self.list_now(prefix, limit, cursor)
    }

    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
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
}
