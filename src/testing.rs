//! Store wrappers for the native tests.

use crate::error::{Result, StateError};
use crate::keys::Key;
use crate::store::{emulate_atomic, Capabilities, Check, Committed, Entry, ListPage, Mutation, Store};
use serde_json::Value;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Gives other tasks a turn before every store call, so concurrent futures
/// interleave between a read and the write that depends on it.
pub struct Yielding<S>(pub S);

impl<S> Yielding<S> {
    pub fn new(inner: S) -> Self {
        Yielding(inner)
    }
}

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Gives other tasks one turn.
pub async fn yield_now() {
    YieldOnce(false).await
}

impl<S: Store> Store for Yielding<S> {
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn identity(&self) -> Option<u64> {
        self.0.identity()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        YieldOnce(false).await;
        self.0.get(key).await
    }
    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()> {
        YieldOnce(false).await;
        self.0.set(key, value, expire_in_ms).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        YieldOnce(false).await;
        self.0.delete(key).await
    }
    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        YieldOnce(false).await;
        self.0.commit(checks, mutations).await
    }
    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        YieldOnce(false).await;
        self.0.list(prefix, limit, cursor).await
    }
}

/// Fails calls on demand: every call, or from the n-th call on.
pub struct Flaky<S> {
    inner: S,
    calls: Cell<usize>,
    fail_from: Cell<usize>,
}

impl<S> Flaky<S> {
    pub fn failing_every_call(inner: S) -> Self {
        Flaky { inner, calls: Cell::new(0), fail_from: Cell::new(0) }
    }
    pub fn healthy(inner: S) -> Self {
        Flaky { inner, calls: Cell::new(0), fail_from: Cell::new(usize::MAX) }
    }
    /// Store calls so far (an atomic write is one call).
    pub fn calls(&self) -> usize {
        self.calls.get()
    }
    pub fn fail_from_now(&self) {
        self.fail_from.set(self.calls.get());
    }
    fn tick(&self, op: &str) -> Result<()> {
        let n = self.calls.get();
        self.calls.set(n + 1);
        if n >= self.fail_from.get() {
            return Err(StateError::store(op, "injected failure"));
        }
        Ok(())
    }
}

impl<S: Store> Store for Flaky<S> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn identity(&self) -> Option<u64> {
        self.inner.identity()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.tick("get")?;
        self.inner.get(key).await
    }
    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()> {
        self.tick("set")?;
        self.inner.set(key, value, expire_in_ms).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        self.tick("delete")?;
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        self.tick("list")?;
        self.inner.list(prefix, limit, cursor).await
    }
    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        self.tick("atomic")?;
        self.inner.commit(checks, mutations).await
    }
}

/// A store like Versori's: no compare-and-set, versionstamps are content
/// digests, atomic writes are emulated.
pub struct NoCas<S>(pub S);

impl<S: Store> Store for NoCas<S> {
    fn capabilities(&self) -> Capabilities {
        Capabilities { compare_and_set: false, list: false, expiry: false, ..self.0.capabilities() }
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        Ok(self.0.get(key).await?.map(|e| Entry { versionstamp: crate::store::content_stamp(&e.value), value: e.value }))
    }
    async fn set(&self, key: &Key, value: &Value, _: Option<u64>) -> Result<()> {
        self.0.set(key, value, None).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        self.0.delete(key).await
    }
    async fn list(&self, _: &[String], _: usize, _: Option<&str>) -> Result<ListPage> {
        Err(StateError::invalid("store", "cannot list"))
    }
    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        emulate_atomic(self, checks, mutations).await
    }
}

/// A store without compare-and-set where another run's write lands right
/// after each of ours (a late write from a racer): every set of a record
/// with an `id_field` is followed by a copy whose `id_field` is "racer" and
/// whose `owner` is someone else's. Tests the best-effort read-back.
pub struct Racing<S> {
    inner: NoCas<S>,
    id_field: &'static str,
    /// Off: behaves as plain [`NoCas`].
    pub on: Cell<bool>,
}

impl<S> Racing<S> {
    pub fn new(inner: S, id_field: &'static str) -> Self {
        Racing { inner: NoCas(inner), id_field, on: Cell::new(true) }
    }
}

impl<S: Store> Store for Racing<S> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn identity(&self) -> Option<u64> {
        self.inner.identity()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &Key, value: &Value, expire: Option<u64>) -> Result<()> {
        self.inner.set(key, value, expire).await?;
        if self.on.get() && value.get(self.id_field).is_some_and(|id| id != "racer") {
            let mut theirs = value.clone();
            theirs[self.id_field] = Value::from("racer");
            theirs["owner"] = Value::from("someone-else");
            self.inner.set(key, &theirs, expire).await?;
        }
        Ok(())
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        self.inner.list(prefix, limit, cursor).await
    }
    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        emulate_atomic(self, checks, mutations).await
    }
}

/// A process that dies during a save: the first `survive` writes (set,
/// delete, atomic) go through, the next one fails (after landing, when
/// `applied`), and every call after that fails.
pub struct CrashAfterWrites<S> {
    inner: S,
    survive: usize,
    applied: bool,
    writes: Cell<usize>,
    crashed: Cell<bool>,
    switched: Cell<bool>,
}

impl<S> CrashAfterWrites<S> {
    pub fn new(inner: S, survive: usize, applied: bool) -> Self {
        CrashAfterWrites { inner, survive, applied, writes: Cell::new(0), crashed: Cell::new(false), switched: Cell::new(false) }
    }
    pub fn crashed(&self) -> bool {
        self.crashed.get()
    }
    /// Whether an atomic write that set a checkpoint manifest landed.
    pub fn switched(&self) -> bool {
        self.switched.get()
    }
    fn alive(&self, op: &str) -> Result<()> {
        if self.crashed.get() {
            return Err(StateError::store(op, "the process crashed"));
        }
        Ok(())
    }
    /// Ok(true): write and report success; Ok(false): write, then fail.
    fn write(&self, op: &str) -> Result<bool> {
        self.alive(op)?;
        let n = self.writes.get();
        self.writes.set(n + 1);
        if n < self.survive {
            return Ok(true);
        }
        self.crashed.set(true);
        if self.applied {
            Ok(false)
        } else {
            Err(StateError::store(op, "the process crashed"))
        }
    }
}

impl<S: Store> Store for CrashAfterWrites<S> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn identity(&self) -> Option<u64> {
        self.inner.identity()
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.alive("get")?;
        self.inner.get(key).await
    }
    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()> {
        let report = self.write("set")?;
        self.inner.set(key, value, expire_in_ms).await?;
        if report {
            Ok(())
        } else {
            Err(StateError::store("set", "the process crashed after writing"))
        }
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        let report = self.write("delete")?;
        self.inner.delete(key).await?;
        if report {
            Ok(())
        } else {
            Err(StateError::store("delete", "the process crashed after writing"))
        }
    }
    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        self.alive("list")?;
        self.inner.list(prefix, limit, cursor).await
    }
    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        let report = self.write("atomic")?;
        let landed = self.inner.commit(checks, mutations).await?;
        let manifest = |m: &Mutation| matches!(m, Mutation::Set { key, .. } if key.parts.len() == 3 && key.parts[0] == "cs:checkpoint");
        if landed.is_some() && mutations.iter().any(manifest) {
            self.switched.set(true);
        }
        if report {
            Ok(landed)
        } else {
            Err(StateError::store("atomic", "the process crashed after writing"))
        }
    }
}

/// Compare-and-set but no listing: the index path, exact.
pub struct NoList<S>(pub S);

impl<S: Store> Store for NoList<S> {
    fn capabilities(&self) -> Capabilities {
        Capabilities { list: false, ..self.0.capabilities() }
    }
    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        self.0.get(key).await
    }
    async fn set(&self, key: &Key, value: &Value, e: Option<u64>) -> Result<()> {
        self.0.set(key, value, e).await
    }
    async fn delete(&self, key: &Key) -> Result<()> {
        self.0.delete(key).await
    }
    async fn list(&self, _: &[String], _: usize, _: Option<&str>) -> Result<ListPage> {
        Err(StateError::invalid("store", "cannot list"))
    }
    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        self.0.commit(checks, mutations).await
    }
}

/// A fresh embedded store whose clock stands at `now_ms`, and that clock.
pub fn memory_at(now_ms: i64) -> (std::rc::Rc<crate::clock::FakeClock>, crate::memory::MemoryStore) {
    let clock = std::rc::Rc::new(crate::clock::FakeClock::at(now_ms));
    (clock.clone(), crate::memory::MemoryStore::new(clock))
}
