//! The store contract the core is written against: Deno KV's model, reduced
//! to what we use. An atomic write with versionstamp checks is the one
//! primitive every lock, claim and counter is built on.

use crate::error::{ErrorCode, Result, StateError};
use crate::keys::Key;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Opaque; changes on every write. Stores without native versionstamps
    /// get a digest of the value (see [`content_stamp`]).
    pub versionstamp: String,
}

/// Passes when the key's current versionstamp equals this one (`None`: the
/// key must not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub key: Key,
    pub versionstamp: Option<String>,
}

impl Check {
    pub fn of(key: &Key, entry: Option<&Entry>) -> Self {
        Check { key: key.clone(), versionstamp: entry.map(|e| e.versionstamp.clone()) }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    Set { key: Key, value: Value, expire_in_ms: Option<u64> },
    Delete { key: Key },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// Deno KV (`Deno.openKv`, `@deno/kv`, or our embedded store).
    DenoKv,
    /// Versori-style `openKv(scope)`: get/set/delete, values as JSON.
    Versori,
    /// fc-connect-sdk 0.1.56's KVStore shape (get → {value} | null).
    KvStore,
    /// The core's in-memory store: `openKv()`'s embedded store, native tests.
    Memory,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::DenoKv => "deno-kv",
            StoreKind::Versori => "versori",
            StoreKind::KvStore => "kv-store",
            StoreKind::Memory => "memory",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub kind: StoreKind,
    /// Atomic writes whose checks the store itself enforces.
    pub compare_and_set: bool,
    /// Listing by key prefix.
    pub list: bool,
    /// Per-key expiry.
    pub expiry: bool,
}

impl Capabilities {
    /// 'exact' where the store enforces compare-and-set, else 'best-effort'.
    pub fn guarantee(&self) -> &'static str {
        if self.compare_and_set {
            "exact"
        } else {
            "best-effort"
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    pub entries: Vec<(Key, Entry)>,
    /// Pass back to continue after the last entry; None at the end.
    pub cursor: Option<String>,
}

#[allow(async_fn_in_trait)] // single-threaded (wasm); no Send bound wanted
pub trait Store {
    fn capabilities(&self) -> Capabilities;
    async fn get(&self, key: &Key) -> Result<Option<Entry>>;
    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()>;
    async fn delete(&self, key: &Key) -> Result<()>;
    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage>;
    /// Applies every mutation if every check passes; Ok(false) when a check
    /// failed. On stores without compare-and-set this is emulated (see
    /// [`emulate_atomic`]) and only best-effort.
    async fn atomic(&self, checks: &[Check], mutations: &[Mutation]) -> Result<bool>;
    /// Like [`Store::atomic`], but a write that lands also gives the
    /// versionstamp it got, where the store tells it: `None` when a check
    /// failed, `Some(None)` when it landed without a stamp. A writer can then
    /// check its next write against its own last one without reading first.
    async fn atomic_stamped(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Option<String>>> {
        Ok(self.atomic(checks, mutations).await?.then_some(None))
    }
    /// Called at the start of attempt `attempt` (0-based) of a
    /// read-modify-write: after lost races, a store whose runtime can wait
    /// pauses a growing, random while, so many writers on one record take
    /// turns instead of starving each other. No pause by default.
    async fn backoff(&self, attempt: usize) {
        let _ = attempt;
    }
}

/// A borrowed store is a store: wrappers can sit over one without owning it.
impl<S: Store> Store for &S {
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        (**self).get(key).await
    }
    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()> {
        (**self).set(key, value, expire_in_ms).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        (**self).delete(key).await
    }
    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        (**self).list(prefix, limit, cursor).await
    }
    async fn atomic(&self, checks: &[Check], mutations: &[Mutation]) -> Result<bool> {
        (**self).atomic(checks, mutations).await
    }
    async fn atomic_stamped(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Option<String>>> {
        (**self).atomic_stamped(checks, mutations).await
    }
    async fn backoff(&self, attempt: usize) {
        (**self).backoff(attempt).await
    }
}

/// How many times a read-modify-write retries after losing a race before it
/// gives up with CONFLICT.
pub const MAX_CAS_ATTEMPTS: usize = 64;

pub fn conflict(what: &str) -> StateError {
    StateError::new(
        ErrorCode::Conflict,
        format!("{what} kept changing under concurrent writers ({MAX_CAS_ATTEMPTS} attempts); retry later"),
    )
}

/// A versionstamp for stores that have none: a digest of the stored JSON.
/// Equal values get equal stamps, so a check can miss an A→B→A change; that
/// is part of why such stores are only 'best-effort'.
pub fn content_stamp(value: &Value) -> String {
    text_stamp(&value.to_string())
}

/// The digest behind [`content_stamp`], for JSON text made elsewhere.
pub fn text_stamp(json: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    json.hash(&mut hasher);
    format!("c{:016x}", hasher.finish())
}

/// Atomic write for stores with plain get/set/delete: re-read every checked
/// key, then apply the mutations one by one. Another writer can still slip
/// in between the re-read and the writes.
pub async fn emulate_atomic<S: Store>(store: &S, checks: &[Check], mutations: &[Mutation]) -> Result<bool> {
    for check in checks {
        let current = store.get(&check.key).await?;
        if current.map(|e| e.versionstamp) != check.versionstamp {
            return Ok(false);
        }
    }
    for mutation in mutations {
        match mutation {
            Mutation::Set { key, value, expire_in_ms } => store.set(key, value, *expire_in_ms).await?,
            Mutation::Delete { key } => store.delete(key).await?,
        }
    }
    Ok(true)
}
