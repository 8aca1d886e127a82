//! The core's store calls, made on whatever KV handle the host gave us:
//! Deno KV (`Deno.openKv`, `@deno/kv`), a Versori-style `openKv(scope)`, an
//! object of 0.1.56's KVStore shape, our VersoriKVAdapter (unwrapped to what
//! it wraps) or our embedded store (called directly, no JS round trip).
//! What the handle can do is worked out once, when the JsStore is made.

use crate::error::{Result, StateError};
use crate::keys::Key;
use crate::memory::MemoryStore;
use crate::store::{content_stamp, emulate, get_each, Capabilities, Check, Committed, Entry, ListPage, Mutation, Store, StoreKind};
use crate::wasm::bytes_store::{ByteMethods, Host};
use crate::wasm::convert::{json_to_js, object, stored_to_json};
use crate::wasm::memory_kv;
use js_sys::{Array, Function, Reflect};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// How long a call to a host store may take before it is reported as
/// STORE_UNAVAILABLE, unless a class's `storeTimeoutMs` says otherwise: a
/// store that never answers must not hang a workflow.
pub const DEFAULT_STORE_TIMEOUT_MS: f64 = 60_000.0;

/// Property our VersoriKVAdapter exposes with the handle it wraps.
pub const ADAPTER_INNER: &str = "__connectorStateKv";
/// Property through which this package's PostgreSQL and Redis stores name
/// their kind.
const STORE_KIND: &str = "__connectorStateKind";

/// A write with JS keys and values, for [`JsStore::commit_js`].
pub enum RawMutation {
    Set { key: JsValue, value: JsValue, options: Option<JsValue> },
    Delete(JsValue),
}

enum Backend {
    /// A host store, with its methods.
    Js(Methods),
    /// Our embedded store: called directly.
    Memory(Rc<MemoryStore>),
    /// Our PostgreSQL or Redis store: called at the byte level (see
    /// [`crate::wasm::bytes_store`]).
    Bytes(ByteMethods),
}

/// A host store's methods, looked up once when the store is wrapped.
struct Methods {
    get: Function,
    set: Function,
    delete: Function,
    atomic: Option<Function>,
    list: Option<Function>,
    get_many: Option<Function>,
}

impl Methods {
    fn of(handle: &JsValue) -> Option<Methods> {
        let method = |name: &str| Reflect::get(handle, &name.into()).ok().and_then(|f| f.dyn_into::<Function>().ok());
        Some(Methods {
            get: method("get")?,
            set: method("set")?,
            delete: method("delete")?,
            atomic: method("atomic"),
            list: method("list"),
            get_many: method("getMany"),
        })
    }

    fn named(&self, name: &str) -> Option<&Function> {
        match name {
            "get" => Some(&self.get),
            "set" => Some(&self.set),
            "delete" => Some(&self.delete),
            "atomic" => self.atomic.as_ref(),
            "list" => self.list.as_ref(),
            "getMany" => self.get_many.as_ref(),
            _ => None,
        }
    }
}

/// A host's KV handle as a core [`Store`].
pub struct JsStore {
    /// The handle itself (an adapter's inner handle when given an adapter).
    this: JsValue,
    backend: Backend,
    caps: Capabilities,
    /// On stores without compare-and-set: the stamp each key had when this
    /// handle last read it, forgotten when this handle writes the key. An
    /// emulated check whose expected stamp is the one remembered does not
    /// read the key again (see [`JsStore::emulated_commit`]).
    seen: RefCell<HashMap<Key, Option<String>>>,
    /// How long a host store's call may take to answer (ms; 0: no bound).
    timeout_ms: Cell<f64>,
    /// Writes this handle has started: a read that overlapped one is not
    /// remembered (it may predate the write).
    writes: Cell<u64>,
    /// See [`Store::identity`].
    identity: u64,
}

/// Deno KV's limit of keys per `getMany`.
const GET_MANY_KEYS: usize = 10;

/// How many read stamps a handle remembers before it starts afresh.
const SEEN_LIMIT: usize = 4096;

/// `obj[name]`, where a throwing getter or a non-object answer is a store
/// failure rather than "absent".
pub fn field(obj: &JsValue, name: &str, operation: &str) -> Result<JsValue> {
    if !obj.is_object() {
        return Err(StateError::store(operation, &format!("the store answered a non-object where {name} was expected")));
    }
    Reflect::get(obj, &name.into()).map_err(|e| store_failure(operation, &e))
}

/// The handle our VersoriKVAdapter wraps, or `handle` itself.
pub fn unwrap_adapter(handle: &JsValue) -> JsValue {
    match Reflect::get(handle, &ADAPTER_INNER.into()) {
        Ok(inner) if inner.is_object() => unwrap_adapter(&inner),
        _ => handle.clone(),
    }
}

fn message_of(error: &JsValue) -> String {
    crate::wasm::errors::message_of(error, "the store threw a non-Error value")
}

/// STORE_UNAVAILABLE for what the store threw during `operation`, with the
/// thrown value kept as the StateError's `cause`; CLOSED when the store
/// says it was closed: Deno's `BadResource` (Deno.Kv, and this package's
/// stores), or @deno/kv's "Cannot call '.get' after '.close' is called".
pub fn store_failure(operation: &str, thrown: &JsValue) -> StateError {
    let message = message_of(thrown);
    let closed = message.contains("after '.close' is called")
        || (thrown.is_object() && Reflect::get(thrown, &"name".into()).ok().and_then(|n| n.as_string()).as_deref() == Some("BadResource"));
    let mut error = if closed {
        StateError::new(
            crate::error::ErrorCode::Closed,
            format!("the KV store was closed before {operation} ({message}): open it again and make a new instance on it"),
        )
    } else {
        StateError::store(operation, &message)
    };
    error.cause = Some(crate::wasm::errors::keep_cause(thrown));
    error
}

impl JsStore {
    pub fn detect(handle: &JsValue) -> Result<JsStore> {
        let not_a_store = || {
            StateError::invalid(
                "kv",
                "must be a KV store: Deno.openKv() / @deno/kv, ctx.openKv(scope), a VersoriKVAdapter, or openKv() from this package",
            )
        };
        if !handle.is_object() {
            return Err(not_a_store());
        }
        if crate::wasm::convert::is_promise(handle) {
            return Err(StateError::invalid("kv", "is a Promise: await openKv() before passing the store"));
        }
        let handle = &unwrap_adapter(handle);
        if let Some(store) = memory_kv::store_of(handle) {
            let caps = store.capabilities();
            return Ok(JsStore::new(handle, Backend::Memory(store), caps));
        }
        let methods = Methods::of(handle).ok_or_else(not_a_store)?;
        let caps = if methods.atomic.is_some() && methods.list.is_some() {
            // This package's server stores name their kind; they behave as
            // Deno KV, and take the core's calls at the byte level.
            let kind = match Reflect::get(handle, &STORE_KIND.into()).ok().and_then(|k| k.as_string()).as_deref() {
                Some("postgres") => StoreKind::Postgres,
                Some("redis") => StoreKind::Redis,
                _ => StoreKind::DenoKv,
            };
            let caps = Capabilities { kind, compare_and_set: true, list: true, expiry: true };
            if kind != StoreKind::DenoKv {
                if let Some(bytes) = ByteMethods::of(handle) {
                    return Ok(JsStore::new(handle, Backend::Bytes(bytes), caps));
                }
            }
            caps
        } else if methods.atomic.is_some() {
            // Its check() may do nothing (0.1.56's adapter): trust none.
            Capabilities { kind: StoreKind::KvStore, compare_and_set: false, list: false, expiry: false }
        } else {
            Capabilities { kind: StoreKind::Versori, compare_and_set: false, list: false, expiry: false }
        };
        Ok(JsStore::new(handle, Backend::Js(methods), caps))
    }

    fn new(handle: &JsValue, backend: Backend, caps: Capabilities) -> JsStore {
        // The embedded engine is one store whichever handle reaches it;
        // any other handle counts as a store of its own (two handles on one
        // file only cost a read each).
        let identity = match &backend {
            Backend::Memory(m) => m.identity(),
            _ => None,
        }
        .unwrap_or_else(crate::store::new_identity);
        JsStore {
            identity,
            this: handle.clone(),
            backend,
            caps,
            seen: RefCell::default(),
            writes: Cell::new(0),
            timeout_ms: Cell::new(DEFAULT_STORE_TIMEOUT_MS),
        }
    }

    /// Bounds each call to a host store to `ms` milliseconds (0: none).
    pub fn set_timeout_ms(&self, ms: f64) {
        self.timeout_ms.set(ms);
    }

    /// Deno KV keys are arrays of parts, as today. On a store without
    /// compare-and-set (Versori, whose KV is NATS KV, and KVStore-shaped
    /// objects over it) every key is one string in NATS KV's alphabet
    /// ([`Key::nats`]): a Versori handle gets the string, a KVStore a
    /// one-part array holding it.
    pub fn key_to_js(&self, key: &Key) -> JsValue {
        if !self.caps.compare_and_set {
            return self.nats_to_js(&key.nats());
        }
        key.parts.iter().map(|p| JsValue::from_str(p)).collect::<Array>().into()
    }

    fn nats_to_js(&self, nats: &str) -> JsValue {
        let text = JsValue::from_str(nats);
        if self.caps.kind == StoreKind::Versori {
            text
        } else {
            Array::of1(&text).into()
        }
    }

    /// [`Self::key_to_js`], or None for a key a NATS store refuses (0.1.56's
    /// layouts that could never be written on Versori): it holds nothing
    /// there, and is never sent. The NATS form is made once per call.
    fn sendable(&self, key: &Key) -> Option<JsValue> {
        if self.caps.compare_and_set {
            return Some(self.key_to_js(key));
        }
        let nats = key.nats();
        crate::keys::nats_valid(&nats).then(|| self.nats_to_js(&nats))
    }

    /// Calls `handle[method](...args)` and awaits what it returns; a throw
    /// or a rejection becomes STORE_UNAVAILABLE.
    /// A `get`, `set` or `delete` that a SQLite store turned away as busy is
    /// made again (see [`busy`]).
    pub async fn call(&self, handle: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue> {
        let f = method_of(handle, method)?;
        self.invoke(handle, &f, method, args).await
    }

    /// [`Self::call`] on the store's own handle, with the method looked up
    /// when the store was wrapped.
    pub async fn call_store(&self, method: &str, args: &[JsValue]) -> Result<JsValue> {
        match &self.backend {
            Backend::Js(methods) => match methods.named(method) {
                Some(f) => self.invoke(&self.this, f, method, args).await,
                None => Err(StateError::store(method, &format!("the store has no {method}() method"))),
            },
            Backend::Memory(_) | Backend::Bytes(_) => self.call(&self.this, method, args).await,
        }
    }

    async fn invoke(&self, handle: &JsValue, f: &Function, method: &str, args: &[JsValue]) -> Result<JsValue> {
        let retry = matches!(method, "get" | "set" | "delete");
        let mut pauses = Pauses::default();
        loop {
            let returned = f.apply(handle, &args.iter().collect::<Array>()).map_err(|e| store_failure(method, &e))?;
            match JsFuture::from(crate::wasm::convert::within(&returned, self.timeout_ms.get())).await {
                Ok(value) => return Ok(value),
                Err(e) => {
                    if let Some(ms) = crate::wasm::convert::no_answer_ms(&e) {
                        return Err(StateError::store(
                            method,
                            &format!(
                                "the store's {method}() did not answer within {ms} ms (storeTimeoutMs); what it did is unknown: check the store, then try again"
                            ),
                        ));
                    }
                    let message = message_of(&e);
                    // This package's server stores say CORRUPT_STATE (naming
                    // the key) for a value they cannot decode: not a store failure.
                    if e.is_object()
                        && Reflect::get(&e, &"code".into()).ok().and_then(|c| c.as_string()).as_deref() == Some("CORRUPT_STATE")
                    {
                        return Err(StateError::new(crate::error::ErrorCode::CorruptState, message));
                    }
                    if !(retry && busy(&message) && pauses.wait().await) {
                        return Err(store_failure(method, &e));
                    }
                }
            }
        }
    }

    /// A `get` through the JS handle (Deno KV, Versori or KVStore shaped).
    async fn get_js(&self, key: &Key) -> Result<Option<Entry>> {
        let Some(js_key) = self.sendable(key) else { return Ok(None) };
        let got = self.call_store("get", &[js_key]).await?;
        self.entry_of(key, got)
    }

    /// Deno KV's `getMany` of up to 10 keys: the entries in order.
    async fn get_many_js(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let got = self.call_store("getMany", &[keys.iter().map(|k| self.key_to_js(k)).collect::<Array>().into()]).await?;
        let got = crate::wasm::convert::items_of(&got, keys.len() as u32)
            .ok_or_else(|| StateError::store("getMany", "the store's getMany() answered a non-array, or more entries than keys"))?;
        if got.length() as usize != keys.len() {
            return Err(StateError::store("getMany", "the store's getMany() answered a different number of entries"));
        }
        keys.iter().zip(got.iter()).map(|(key, entry)| self.entry_of(key, entry)).collect()
    }

    /// The entry a store's `get` answered for `key`.
    fn entry_of(&self, key: &Key, got: JsValue) -> Result<Option<Entry>> {
        match self.caps.kind {
            StoreKind::DenoKv | StoreKind::Postgres | StoreKind::Redis | StoreKind::KvStore | StoreKind::Memory => {
                if got.is_null() || got.is_undefined() {
                    return Ok(None);
                }
                let stamp = field(&got, "versionstamp", "get")?;
                let raw = field(&got, "value", "get")?;
                if self.caps.kind.speaks_deno_kv() && stamp.is_null() {
                    return Ok(None);
                }
                if raw.is_undefined() {
                    return Ok(None);
                }
                let value = self.stored_value(key, &raw)?;
                let versionstamp = match stamp.as_string() {
                    Some(s) if self.caps.compare_and_set => s,
                    _ => content_stamp(&value),
                };
                Ok(Some(Entry { value, versionstamp }))
            }
            StoreKind::Versori => {
                if got.is_undefined() {
                    return Ok(None);
                }
                let value = self.stored_value(key, &got)?;
                Ok(Some(Entry { versionstamp: content_stamp(&value), value }))
            }
        }
    }

    /// Remembers the stamp this handle saw at `key` in a call made when
    /// `writes` writes had started, unless another write started since.
    /// Stores without compare-and-set only (their emulated checks use it).
    fn remember(&self, key: &Key, writes: u64, stamp: Option<String>) {
        let mut seen = self.seen.borrow_mut();
        if self.writes.get() != writes {
            seen.remove(key);
            return;
        }
        if seen.len() >= SEEN_LIMIT {
            seen.clear();
        }
        seen.insert(key.clone(), stamp);
    }

    /// Forgets the stamp this handle read at `key` (this handle is writing it).
    /// Answers the count of writes started, this one included.
    fn forget(&self, key: &Key) -> u64 {
        if !self.caps.compare_and_set {
            self.seen.borrow_mut().remove(key);
        }
        self.writes.set(self.writes.get() + 1);
        self.writes.get()
    }

    /// The emulated atomic write of stores without compare-and-set: each
    /// check is compared with the stamp this handle read at the key, when it
    /// read one and has not written the key since, and the key is read
    /// again otherwise (a check on a key this handle never read, or wrote
    /// since). Then the writes, in order. Reading again a key just read
    /// would only narrow, not close, the window in which another writer can
    /// slip in: the guarantee stays 'best-effort' either way, so it is not
    /// worth a call.
    async fn emulated_commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        let landed = emulate(
            checks.iter().map(|c| (&c.key, c.versionstamp.as_deref())),
            mutations,
            async |key| {
                let remembered = self.seen.borrow().get(key).cloned();
                match remembered {
                    Some(stamp) => Ok(stamp),
                    None => Ok(self.get(key).await?.map(|e| e.versionstamp)),
                }
            },
            async |mutation| match mutation {
                Mutation::Set { key, value, expire_in_ms } => self.set(key, value, *expire_in_ms).await,
                Mutation::Delete { key } => self.delete(key).await,
            },
        )
        .await?;
        Ok(landed.then(Committed::default))
    }

    fn stored_value(&self, key: &Key, raw: &JsValue) -> Result<Value> {
        stored_to_json(raw, "value").map_err(|e| StateError::corrupt(&key.display(), &e.message))
    }

    async fn commit_deno(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Option<String>>> {
        let checks: Vec<(JsValue, JsValue)> = checks
            .iter()
            .map(|c| (self.key_to_js(&c.key), c.versionstamp.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL)))
            .collect();
        let mutations: Vec<RawMutation> = mutations
            .iter()
            .map(|m| match m {
                Mutation::Set { key, value, expire_in_ms } => RawMutation::Set {
                    key: self.key_to_js(key),
                    value: json_to_js(value),
                    options: expire_in_ms.map(|ms| object(&[("expireIn", JsValue::from_f64(ms as f64))])),
                },
                Mutation::Delete { key } => RawMutation::Delete(self.key_to_js(key)),
            })
            .collect();
        self.commit_js_stamped(&checks, &mutations).await
    }

    /// One `handle.atomic()` operation with JS keys and values as given:
    /// checks `(key, versionstamp or null)`, then the mutations, then commit.
    pub async fn commit_js(&self, checks: &[(JsValue, JsValue)], mutations: &[RawMutation]) -> Result<bool> {
        Ok(self.commit_js_stamped(checks, mutations).await?.is_some())
    }

    /// [`Self::commit_js`], with the versionstamp the write got (Deno KV
    /// answers `{ ok: true, versionstamp }`).
    async fn commit_js_stamped(&self, checks: &[(JsValue, JsValue)], mutations: &[RawMutation]) -> Result<Option<Option<String>>> {
        let mut pauses = Pauses::default();
        loop {
            match self.commit_once(checks, mutations).await {
                Err(e) if busy(&e.message) && pauses.wait().await => continue,
                other => return other,
            }
        }
    }

    async fn commit_once(&self, checks: &[(JsValue, JsValue)], mutations: &[RawMutation]) -> Result<Option<Option<String>>> {
        let atomic = match &self.backend {
            Backend::Js(Methods { atomic: Some(f), .. }) => f.clone(),
            _ => method_of(&self.this, "atomic")?,
        };
        let op = atomic.call0(&self.this).map_err(|e| store_failure("atomic", &e))?;
        for (key, stamp) in checks {
            self.call_sync(&op, "check", &[object(&[("key", key.clone()), ("versionstamp", stamp.clone())])])?;
        }
        for mutation in mutations {
            match mutation {
                RawMutation::Set { key, value, options } => {
                    let mut args = vec![key.clone(), value.clone()];
                    args.extend(options.clone());
                    self.call_sync(&op, "set", &args)?
                }
                RawMutation::Delete(key) => self.call_sync(&op, "delete", std::slice::from_ref(key))?,
            };
        }
        let result = self.call(&op, "commit", &[]).await?;
        let ok = field(&result, "ok", "commit")?
            .as_bool()
            .ok_or_else(|| StateError::store("commit", "the store's commit() answered without an ok flag"))?;
        Ok(ok.then(|| field(&result, "versionstamp", "commit").ok().and_then(|v| v.as_string())))
    }

    /// Calls a synchronous method (Deno's `atomic()` and its builders); a
    /// throw becomes STORE_UNAVAILABLE.
    pub fn call_sync(&self, target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue> {
        method_of(target, method)?.apply(target, &args.iter().collect::<Array>()).map_err(|e| store_failure(method, &e))
    }
}

/// `target[method]` as a function, or STORE_UNAVAILABLE naming it.
fn method_of(target: &JsValue, method: &str) -> Result<Function> {
    Reflect::get(target, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| StateError::store(method, &format!("the store (or its atomic operation) has no {method}() method")))
}

impl Host for JsStore {
    async fn invoke(&self, this: &JsValue, f: &Function, method: &str, args: &[JsValue]) -> Result<JsValue> {
        JsStore::invoke(self, this, f, method, args).await
    }

    fn stored_value(&self, key: &Key, raw: &JsValue) -> Result<Value> {
        JsStore::stored_value(self, key, raw)
    }
}

impl Store for JsStore {
    fn capabilities(&self) -> Capabilities {
        self.caps
    }

    fn identity(&self) -> Option<u64> {
        Some(self.identity)
    }

    async fn get(&self, key: &Key) -> Result<Option<Entry>> {
        match &self.backend {
            Backend::Memory(m) => return m.get(key).await,
            Backend::Bytes(b) => return Ok(b.get_many(self, std::slice::from_ref(key)).await?.pop().flatten()),
            Backend::Js(_) => {}
        }
        if self.caps.compare_and_set {
            return self.get_js(key).await;
        }
        let writes = self.writes.get();
        let entry = self.get_js(key).await?;
        self.remember(key, writes, entry.as_ref().map(|e| e.versionstamp.clone()));
        Ok(entry)
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        match &self.backend {
            Backend::Bytes(b) => b.get_many(self, keys).await,
            Backend::Js(Methods { get_many: Some(_), .. }) if self.caps.kind.speaks_deno_kv() => {
                let mut entries = Vec::with_capacity(keys.len());
                for batch in keys.chunks(GET_MANY_KEYS) {
                    entries.extend(self.get_many_js(batch).await?);
                }
                Ok(entries)
            }
            _ => get_each(self, keys).await,
        }
    }

    async fn set(&self, key: &Key, value: &Value, expire_in_ms: Option<u64>) -> Result<()> {
        match &self.backend {
            Backend::Memory(m) => return m.set(key, value, expire_in_ms).await,
            Backend::Bytes(b) => {
                let set = Mutation::Set { key: key.clone(), value: value.clone(), expire_in_ms };
                return b.commit(self, &[], std::slice::from_ref(&set)).await.map(drop);
            }
            Backend::Js(_) => {}
        }
        let Some(js_key) = self.sendable(key) else {
            return Err(StateError::invalid("key", &format!("{} cannot be stored on this store (not a NATS KV key)", key.display())));
        };
        self.forget(key);
        let mut args = vec![js_key, json_to_js(value)];
        match (expire_in_ms, self.caps.kind) {
            (Some(ms), _) if self.caps.expiry => args.push(object(&[("expireIn", JsValue::from_f64(ms as f64))])),
            // Versori's set(key, value, { ttl }) takes seconds (0.1.56's JobTracker passed it too).
            (Some(ms), StoreKind::Versori) => args.push(object(&[("ttl", JsValue::from_f64(ms.div_ceil(1000) as f64))])),
            _ => {}
        }
        self.call_store("set", &args).await.map(drop)
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        match &self.backend {
            Backend::Memory(m) => return m.delete(key).await,
            Backend::Bytes(b) => return b.commit(self, &[], &[Mutation::Delete { key: key.clone() }]).await.map(drop),
            Backend::Js(_) => {}
        }
        let Some(js_key) = self.sendable(key) else { return Ok(()) };
        let writes = self.forget(key);
        self.call_store("delete", &[js_key]).await?;
        if !self.caps.compare_and_set {
            // Gone, as far as this handle knows (as if it had read it).
            self.remember(key, writes, None);
        }
        Ok(())
    }

    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        let list = match &self.backend {
            Backend::Memory(m) => return m.list(prefix, limit, cursor).await,
            Backend::Bytes(b) => return b.list(self, prefix, limit, cursor).await,
            Backend::Js(Methods { list: Some(f), .. }) if self.caps.list && self.caps.kind.speaks_deno_kv() => f,
            Backend::Js(_) => return Err(StateError::invalid("kv", "cannot list keys by prefix; use a Deno KV store")),
        };
        let selector = object(&[("prefix", prefix.iter().map(|p| JsValue::from_str(p)).collect::<Array>().into())]);
        let mut options = vec![("limit", JsValue::from_f64(limit as f64))];
        if let Some(c) = cursor {
            options.push(("cursor", JsValue::from_str(c)));
        }
        let iterator = list.call2(&self.this, &selector, &object(&options)).map_err(|e| store_failure("list", &e))?;
        let mut entries = Vec::new();
        loop {
            let step = self.call(&iterator, "next", &[]).await?;
            if field(&step, "done", "list")?.is_truthy() {
                break;
            }
            let item = field(&step, "value", "list")?;
            let raw_key = crate::wasm::convert::items_of(&field(&item, "key", "list")?, 64)
                .ok_or_else(|| StateError::store("list", "an entry had no key array"))?;
            let key =
                Key { parts: raw_key.iter().map(|p| p.as_string().unwrap_or_else(|| format!("{p:?}"))).collect(), text: false, nats: None };
            // A value that cannot be read is listed as what it is (a note,
            // not a record): the listing goes on, and whoever reads it as a
            // record reports it as damaged, with its key.
            let value = self
                .stored_value(&key, &field(&item, "value", "list")?)
                .unwrap_or_else(|e| Value::String(format!("(unreadable: {})", e.message)));
            let versionstamp = field(&item, "versionstamp", "list")?.as_string().unwrap_or_else(|| content_stamp(&value));
            entries.push((key, Entry { value, versionstamp }));
        }
        // Deno KV throws on `cursor` before the first entry: read it only when a next page may exist.
        let cursor = if entries.len() == limit { field(&iterator, "cursor", "list")?.as_string().filter(|c| !c.is_empty()) } else { None };
        Ok(ListPage { entries, cursor })
    }

    /// No pause for the first two attempts; then up to 1, 2, 4 … 32 ms,
    /// chosen at random, so racing writers spread out.
    async fn backoff(&self, attempt: usize) {
        if attempt >= 2 {
            random_pause(0, 1 << (attempt - 2).min(5)).await;
        }
    }

    async fn commit(&self, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        match &self.backend {
            Backend::Memory(m) => m.commit(checks, mutations).await,
            Backend::Bytes(b) => b.commit(self, checks, mutations).await,
            Backend::Js(_) if self.caps.compare_and_set => {
                Ok(self.commit_deno(checks, mutations).await?.map(|versionstamp| Committed { versionstamp }))
            }
            Backend::Js(_) => self.emulated_commit(checks, mutations).await,
        }
    }
}

/// SQLite's answer when another process holds its write lock (`@deno/kv`
/// sets no busy timeout, so under multi-process load this is common). The
/// statement did nothing, so making the call again is safe.
fn busy(message: &str) -> bool {
    message.contains("database is locked")
}

/// Pauses of 1, 2, 4 … 64 ms (then 64 ms each), with jitter so that
/// competing processes do not retry in step, for as long as [`BUSY_BUDGET_MS`]
/// from the first busy answer. Time, not a count: on a loaded machine the
/// process holding SQLite's write lock may not run for a while, and a fixed
/// number of short pauses would give up on a store that is only slow.
#[derive(Default)]
struct Pauses {
    taken: u32,
    started_ms: Option<f64>,
}

/// How long a store answering "database is locked" is retried: SQLite's
/// usual busy timeout (better-sqlite3's default, for one).
pub const BUSY_BUDGET_MS: f64 = 5_000.0;

impl Pauses {
    /// Sleeps before the next attempt; false once the budget is spent.
    async fn wait(&mut self) -> bool {
        let now = js_sys::Date::now();
        let started = *self.started_ms.get_or_insert(now);
        if now - started >= BUSY_BUDGET_MS {
            return false;
        }
        let base = 1u64 << self.taken.min(6);
        self.taken += 1;
        random_pause(base / 2, base + base / 2).await;
        true
    }
}

/// Sleeps a random whole number of milliseconds in `[from, to]`: the jitter
/// that keeps competing processes from retrying in step.
async fn random_pause(from: u64, to: u64) {
    let ms = from + (js_sys::Math::random() * (to - from + 1) as f64) as u64;
    crate::clock::Sleep::sleep(&crate::wasm::env::JsTimer, ms).await;
}

/// `{kind, compareAndSet, list, expiry, guarantee}` for JavaScript.
pub fn capabilities_to_js(caps: &Capabilities) -> JsValue {
    timed_capabilities_to_js(caps, None)
}

/// [`capabilities_to_js`] for a class whose locks (and claims) on a store
/// without compare-and-set wait out a write-delay bound: the guarantee is
/// then 'timed', with the bound it assumes.
pub fn timed_capabilities_to_js(caps: &Capabilities, max_write_delay_ms: Option<u64>) -> JsValue {
    let timed = max_write_delay_ms.filter(|_| !caps.compare_and_set);
    let mut fields = vec![
        ("kind", JsValue::from_str(caps.kind.as_str())),
        ("compareAndSet", JsValue::from_bool(caps.compare_and_set)),
        ("list", JsValue::from_bool(caps.list)),
        ("expiry", JsValue::from_bool(caps.expiry)),
        ("guarantee", JsValue::from_str(if timed.is_some() { "timed" } else { caps.guarantee() })),
    ];
    fields.extend(timed.map(|bound| ("maxWriteDelayMs", JsValue::from_f64(bound as f64))));
    object(&fields)
}
