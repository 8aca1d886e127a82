//! The store contract the core is written against: Deno KV's model, reduced
//! to what we use. An atomic write with versionstamp checks is the one
//! primitive every lock, claim and counter is built on.

use crate::error::{ErrorCode, Result, StateError};
use crate::keys::Key;
use serde_json::Value;

/// A stored value with its versionstamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Opaque; changes on every write. Stores without native versionstamps
    /// get a digest of the value (see [`content_stamp`]).
    pub versionstamp: String,
}

/// Passes when the key's current versionstamp equals this one (`None`: the
/// key must not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The checked key.
    pub key: Key,
    /// The versionstamp it must have (None: it must not exist).
    pub versionstamp: Option<String>,
}

impl Check {
    /// Passes while `key` still holds `entry` (or is still absent).
    pub fn of(key: &Key, entry: Option<&Entry>) -> Self {
        Check { key: key.clone(), versionstamp: entry.map(|e| e.versionstamp.clone()) }
    }
}

impl Check {
    /// Passes only while `key` does not exist.
    pub fn absent(key: &Key) -> Self {
        Check { key: key.clone(), versionstamp: None }
    }
}

/// One write of an atomic commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    /// Stores `value` at `key`, expiring after `expire_in_ms` where given.
    Set {
        /// Where.
        key: Key,
        /// What.
        value: Value,
        /// Milliseconds until the store may drop the entry.
        expire_in_ms: Option<u64>,
    },
    /// Removes `key` (nothing happens if it is absent).
    Delete {
        /// Which.
        key: Key,
    },
}

impl Mutation {
    /// A write that never expires.
    pub fn set(key: Key, value: Value) -> Self {
        Mutation::Set { key, value, expire_in_ms: None }
    }
    /// A write that expires after `expire_in_ms`, where given.
    pub fn set_expiring(key: Key, value: Value, expire_in_ms: Option<u64>) -> Self {
        Mutation::Set { key, value, expire_in_ms }
    }
    /// A delete.
    pub fn delete(key: Key) -> Self {
        Mutation::Delete { key }
    }
}

/// What a commit whose checks passed gives back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Committed {
    /// The versionstamp every written key now has, where the store tells it
    /// (Deno KV does; stores without compare-and-set do not).
    pub versionstamp: Option<String>,
}

/// Which kind of store a handle is.
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
    /// This package's PostgreSQL store (Deno KV's interface).
    Postgres,
    /// This package's Redis / Valkey store (Deno KV's interface).
    Redis,
}

impl StoreKind {
    /// The kind as JavaScript sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::DenoKv => "deno-kv",
            StoreKind::Versori => "versori",
            StoreKind::KvStore => "kv-store",
            StoreKind::Memory => "memory",
            StoreKind::Postgres => "postgres",
            StoreKind::Redis => "redis",
        }
    }

    /// Whether the handle has Deno KV's interface and semantics (called
    /// through JavaScript): Deno KV itself and this package's server stores.
    pub fn speaks_deno_kv(self) -> bool {
        matches!(self, StoreKind::DenoKv | StoreKind::Postgres | StoreKind::Redis)
    }
}

/// What a store can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Which kind of store.
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

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// The entries, in key order.
    pub entries: Vec<(Key, Entry)>,
    /// Pass back to continue after the last entry; None at the end.
    pub cursor: Option<String>,
}

/// The store contract the core is written against.
#[allow(async_fn_in_trait)] // single-threaded (wasm); no Send bound wanted
pub trait Store {
    /// What the store can do.
    fn capabilities(&self) -> Capabilities;
    /// The live entry at `key`.
    async fn get(&self, key: &Key) -> Result<Option<Entry>>;
    /// The live entries at `keys`, in order: one call where the store reads
    /// several keys at once (Deno KV's `getMany`, 10 keys a call), else one
    /// `get` each.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        get_each(self, keys).await
    }
    /// Stores `value` at `key`, expiring after `expire_in_ms` where the store can.
    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()>;
    /// Removes `key`.
    async fn delete(&self, key: &Key) -> Result<()>;
    /// Up to `limit` entries under `prefix`, after `cursor`.
    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage>;
    /// The one write primitive: applies every mutation if every check
    /// passes, and says what the write got; `None` when a check failed. On
    /// stores without compare-and-set this is emulated (see
    /// [`emulate_atomic`]) and only best-effort. A writer that gets a
    /// versionstamp back can check its next write against it without
    /// reading first.
    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>>;
    /// [`Store::commit`] when only "did it land" matters.
    async fn atomic(&self, checks: &[Check], mutations: &[Mutation]) -> Result<bool> {
        Ok(self.commit(checks, mutations).await?.is_some())
    }
    /// This store among the stores one process uses: a versionstamp means
    /// something only on the store that gave it, so a writer that keeps one
    /// to skip a read later keeps this beside it. None (the default): keep
    /// none, read first every time.
    fn identity(&self) -> Option<u64> {
        None
    }
    /// Called at the start of attempt `attempt` (0-based) of a
    /// read-modify-write: after lost races, a store whose runtime can wait
    /// pauses a growing, random while, so many writers on one record take
    /// turns instead of starving each other. No pause by default.
    async fn backoff(&self, attempt: usize) {
        let _ = attempt;
    }
}

/// [`Store::get_many`] as one `get` per key, in order.
pub async fn get_each<S: Store + ?Sized>(store: &S, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        entries.push(store.get(key).await?);
    }
    Ok(entries)
}

/// A borrowed store is a store: wrappers can sit over one without owning it.
impl<S: Store> Store for &S {
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn identity(&self) -> Option<u64> {
        (**self).identity()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        (**self).get(key).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        (**self).get_many(keys).await
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
    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        (**self).commit(checks, mutations).await
    }
    async fn backoff(&self, attempt: usize) {
        (**self).backoff(attempt).await
    }
}

/// How many times a read-modify-write retries after losing a race before it
/// gives up with CONFLICT.
pub const MAX_CAS_ATTEMPTS: usize = 64;

/// The CONFLICT error of a read-modify-write on `what` that kept losing.
pub fn conflict(what: &str) -> StateError {
    StateError::new(
        ErrorCode::Conflict,
        format!("{what} kept changing under concurrent writers ({MAX_CAS_ATTEMPTS} attempts); retry later"),
    )
}

/// Runs one read-modify-write: `attempt` reads what it needs, decides, and
/// commits checked against what it read, answering `Some(result)` when done
/// and `None` when its commit lost a race. Lost races are retried after the
/// store's [`Store::backoff`], at most [`MAX_CAS_ATTEMPTS`] times; then the
/// answer is CONFLICT naming `what()`. Every read-modify-write of the core
/// goes through here.
pub async fn retrying<S: Store, T>(
    store: &S,
    what: impl FnOnce() -> String,
    mut attempt: impl AsyncFnMut() -> Result<Option<T>>,
) -> Result<T> {
    for n in 0..MAX_CAS_ATTEMPTS {
        store.backoff(n).await;
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(conflict(&what()))
}

/// A versionstamp for stores that have none: a digest of the stored JSON.
/// Equal values get equal stamps, so a check can miss an A→B→A change; that
/// is part of why such stores are only 'best-effort'.
pub fn content_stamp(value: &Value) -> String {
    text_stamp(&crate::values::json_text(value))
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
pub async fn emulate_atomic<S: Store>(store: &S, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
    let landed = emulate(
        checks.iter().map(|c| (&c.key, c.versionstamp.as_deref())),
        mutations,
        async |key| Ok(store.get(key).await?.map(|e| e.versionstamp)),
        async |mutation| match mutation {
            Mutation::Set { key, value, expire_in_ms } => store.set(key, value, *expire_in_ms).await,
            Mutation::Delete { key } => store.delete(key).await,
        },
    )
    .await?;
    Ok(landed.then(Committed::default))
}

/// The emulated atomic write over any kind of key and write (the core's
/// [`Key`]s and [`Mutation`]s, or the raw JS ones of the KVStore adapter):
/// every checked key's stamp is read again (`read_stamp`), and only if all
/// still match are the writes applied, in order. False when a check failed.
pub async fn emulate<'c, K: 'c, W>(
    checks: impl IntoIterator<Item = (&'c K, Option<&'c str>)>,
    writes: &[W],
    read_stamp: impl AsyncFn(&K) -> Result<Option<String>>,
    apply: impl AsyncFn(&W) -> Result<()>,
) -> Result<bool> {
    for (key, expected) in checks {
        if read_stamp(key).await?.as_deref() != expected {
            return Ok(false);
        }
    }
    for write in writes {
        apply(write).await?;
    }
    Ok(true)
}

/// A fresh [`Store::identity`]: distinct for every store made in this
/// process (a thread's counter: the module runs on one thread).
pub fn new_identity() -> u64 {
    thread_local! {
        static NEXT: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
    }
    NEXT.with(|next| {
        let id = next.get();
        next.set(id + 1);
        id
    })
}
