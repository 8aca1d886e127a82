//! `VersoriKVAdapter`: gives a Versori-style KV (or any handle we accept)
//! 0.1.56's KVStore shape, for code written against it (the guide's
//! `kvAdapter.get([key])?.value`). Values pass through untouched. Unlike
//! 0.1.56, a failing store rejects instead of reading as "absent", and each
//! `atomic()` has its own pending writes.

use crate::error::StateError;
use crate::store::{emulate, text_stamp, Store, StoreKind};
use crate::wasm::bridge::{capabilities_to_js, field, unwrap_adapter, JsStore, RawMutation};
use crate::wasm::convert::object;
use crate::wasm::errors::{IntoJsResult, JsResult};
use crate::wasm::promise::promise;
use js_sys::{Promise, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

struct Adapter {
    kv: JsValue,
    store: JsStore,
}

#[wasm_bindgen(js_name = "VersoriKVAdapter")]
pub struct VersoriKvAdapter {
    inner: Rc<Adapter>,
}

/// For stores without versionstamps: a digest of the value's JSON.
fn stamp_of(value: &JsValue) -> JsValue {
    let text = js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()).unwrap_or_default();
    JsValue::from_str(&text_stamp(&text))
}

impl Adapter {
    /// A caller's key as the store takes it: on a store without
    /// compare-and-set (Versori: NATS KV), an array of strings becomes the
    /// NATS key this package's own classes use for it (`['lock:', 'x']` →
    /// `cs=/lock=3A/x`), so code written for 0.1.56's KVStore shape works
    /// there and shares the classes' records; a string is the caller's own.
    fn store_key(&self, key: &JsValue) -> JsValue {
        if self.store.capabilities().compare_and_set || key.is_string() {
            return key.clone();
        }
        let parts =
            crate::wasm::convert::items_of(key, 64).and_then(|items| items.iter().map(|p| p.as_string()).collect::<Option<Vec<_>>>());
        match parts {
            Some(parts) if !parts.is_empty() => self.store.key_to_js(&crate::keys::Key::parts(parts)),
            _ => key.clone(),
        }
    }

    /// `{value, versionstamp}` or null, whatever the store's own shape.
    async fn get(&self, key: &JsValue) -> crate::error::Result<JsValue> {
        let got = self.store.call_store("get", &[self.store_key(key)]).await?;
        let (value, stamp) = match self.store.capabilities().kind {
            StoreKind::Versori => (got.clone(), stamp_of(&got)),
            // Deno KV and the embedded store: {key, value, versionstamp}.
            StoreKind::DenoKv | StoreKind::Postgres | StoreKind::Redis | StoreKind::Memory => {
                let stamp = field(&got, "versionstamp", "get")?;
                if stamp.is_null() {
                    return Ok(JsValue::NULL);
                }
                (field(&got, "value", "get")?, stamp)
            }
            // 0.1.56's KVStore: {value} or null.
            StoreKind::KvStore if got.is_null() || got.is_undefined() => return Ok(JsValue::NULL),
            StoreKind::KvStore => {
                let value = field(&got, "value", "get")?;
                let stamp = field(&got, "versionstamp", "get")?;
                let stamp = if stamp.is_string() { stamp } else { stamp_of(&value) };
                (value, stamp)
            }
        };
        if value.is_undefined() {
            return Ok(JsValue::NULL);
        }
        Ok(object(&[("value", value), ("versionstamp", stamp)]))
    }

    async fn current_stamp(&self, key: &JsValue) -> crate::error::Result<Option<String>> {
        let entry = self.get(key).await?;
        Ok(if entry.is_null() { None } else { field(&entry, "versionstamp", "get")?.as_string() })
    }
}

#[wasm_bindgen(js_class = "VersoriKVAdapter")]
impl VersoriKvAdapter {
    #[wasm_bindgen(constructor)]
    pub fn new(versori_kv: JsValue) -> JsResult<VersoriKvAdapter> {
        let store = JsStore::detect(&versori_kv).js()?;
        // An adapter around an adapter talks to the innermost store.
        Ok(VersoriKvAdapter { inner: Rc::new(Adapter { kv: unwrap_adapter(&versori_kv), store }) })
    }

    /// The wrapped handle; our classes use it directly. The name must equal
    /// `bridge::ADAPTER_INNER` (an attribute cannot take a constant).
    #[wasm_bindgen(getter = __connectorStateKv)]
    pub fn wrapped(&self) -> JsValue {
        self.inner.kv.clone()
    }

    pub fn capabilities(&self) -> JsValue {
        capabilities_to_js(&self.inner.store.capabilities())
    }

    /// `{value, versionstamp}`, or null when the key holds nothing.
    pub fn get(&self, key: JsValue) -> Promise {
        let a = self.inner.clone();
        promise(async move { a.get(&key).await })
    }

    pub fn set(&self, key: JsValue, value: JsValue, options: JsValue) -> Promise {
        let a = self.inner.clone();
        promise(async move {
            let mut call = vec![a.store_key(&key), value];
            if !options.is_undefined() {
                call.push(options);
            }
            a.store.call_store("set", &call).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    pub fn delete(&self, key: JsValue) -> Promise {
        let a = self.inner.clone();
        promise(async move {
            a.store.call_store("delete", &[a.store_key(&key)]).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// A write batch of its own: `check`, `set`, `delete`, then `commit()`.
    pub fn atomic(&self) -> AdapterAtomic {
        AdapterAtomic { adapter: self.inner.clone(), checks: RefCell::new(Vec::new()), mutations: RefCell::new(Vec::new()) }
    }
}

#[wasm_bindgen]
pub struct AdapterAtomic {
    adapter: Rc<Adapter>,
    checks: RefCell<Vec<(JsValue, JsValue)>>,
    mutations: RefCell<Vec<RawMutation>>,
}

#[wasm_bindgen]
impl AdapterAtomic {
    /// `check({key, versionstamp})` or `check([{key, versionstamp}, ...])`
    /// (0.1.56's form). A null versionstamp means "the key must not exist".
    pub fn check(&self, checks: JsValue) -> JsResult<()> {
        let list: Vec<JsValue> = if crate::wasm::convert::is_array(&checks) {
            crate::wasm::convert::items_of(&checks, 1_000)
                .ok_or_else(|| crate::wasm::errors::to_js(StateError::invalid("check", "must be an array of at most 1000 checks")))?
                .iter()
                .collect()
        } else {
            vec![checks]
        };
        for c in list {
            if !c.is_object() {
                return Err(crate::wasm::errors::to_js(StateError::invalid("check", "must be {key, versionstamp}")));
            }
            let key = Reflect::get(&c, &"key".into()).unwrap_or(JsValue::UNDEFINED);
            let stamp = Reflect::get(&c, &"versionstamp".into()).unwrap_or(JsValue::NULL);
            let stamp = if stamp.is_undefined() { JsValue::NULL } else { stamp };
            self.checks.borrow_mut().push((key, stamp));
        }
        Ok(())
    }

    pub fn set(&self, key: JsValue, value: JsValue) {
        self.mutations.borrow_mut().push(RawMutation::Set { key, value, options: None });
    }

    pub fn delete(&self, key: JsValue) {
        self.mutations.borrow_mut().push(RawMutation::Delete(key));
    }

    /// Resolves true when every check passed and the writes were applied.
    /// Exact on Deno KV; on stores without compare-and-set, checks are
    /// re-read just before writing (best effort).
    pub fn commit(&self) -> Promise {
        let a = self.adapter.clone();
        let checks = std::mem::take(&mut *self.checks.borrow_mut());
        let mutations = std::mem::take(&mut *self.mutations.borrow_mut());
        promise(async move {
            if a.store.capabilities().compare_and_set {
                return Ok(JsValue::from_bool(a.store.commit_js(&checks, &mutations).await?));
            }
            let expected: Vec<(JsValue, Option<String>)> = checks.into_iter().map(|(key, stamp)| (key, stamp.as_string())).collect();
            let landed = emulate(
                expected.iter().map(|(key, stamp)| (key, stamp.as_deref())),
                &mutations,
                async |key| a.current_stamp(key).await,
                async |write| {
                    match write {
                        RawMutation::Set { key, value, .. } => a.store.call_store("set", &[a.store_key(key), value.clone()]).await?,
                        RawMutation::Delete(key) => a.store.call_store("delete", &[a.store_key(key)]).await?,
                    };
                    Ok(())
                },
            )
            .await?;
            Ok(JsValue::from_bool(landed))
        })
    }
}
