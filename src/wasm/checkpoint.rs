//! `CheckpointStore`, `Checkpoint` and `PeriodicSaver`, plus the state
//! encoding (`encodeState` / `decodeState`) they use for their data.

use crate::checkpoint::{self, Loaded, Meta, Periodic, Saved};
use crate::clock::Clock;
use crate::error::Result;
use crate::store::Store;
use crate::wasm::args;
use crate::wasm::bridge::{capabilities_to_js, JsStore};
use crate::wasm::convert::{
    decode_state, encode_state, encode_state_text, js_to_json, json_to_js, object, opt_str, revive, stored_to_json_large, Budget,
};
use crate::wasm::env::{JsClock, JsLogger};
use crate::wasm::errors::{to_js, IntoJsResult, JsResult};
use crate::wasm::promise::promise;
use js_sys::{Function, Promise};
use serde_json::Value;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

struct Shared {
    store: JsStore,
    log: JsLogger,
    namespace: String,
}

/// Checkpoints in one store under one namespace.
#[wasm_bindgen]
pub struct CheckpointStore {
    shared: Rc<Shared>,
}

#[wasm_bindgen]
impl CheckpointStore {
    /// `new CheckpointStore(kv, { namespace, log })`; a string second
    /// argument is the namespace.
    #[wasm_bindgen(constructor)]
    pub fn new(kv: JsValue, options: JsValue) -> JsResult<CheckpointStore> {
        let (namespace, log) = args::name_and_log(&options, "namespace", "default", &["namespace", "log", "storeTimeoutMs"]).js()?;
        let store = JsStore::detect(&kv).js()?;
        store.set_timeout_ms(args::store_timeout(&options).js()?);
        Ok(CheckpointStore { shared: Rc::new(Shared { store, log: JsLogger::new(log), namespace }) })
    }

    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.shared.namespace.clone()
    }

    pub fn capabilities(&self) -> JsValue {
        capabilities_to_js(&self.shared.store.capabilities())
    }

    /// The checkpoint `name`, read and written with schema `options.version`
    /// (default 1), ignored on load when older than `options.maxAgeMs`.
    pub fn open(&self, name: JsValue, options: JsValue) -> JsResult<Checkpoint> {
        let name = args::name("name", &name).js()?;
        args::known("options", &options, &["version", "maxAgeMs"]).js()?;
        let version = args::option(&options, "version").js()?;
        let version = if version.is_undefined() { Value::from(1) } else { js_to_json(&version, "options.version").js()? };
        let max_age = args::option(&options, "maxAgeMs").js()?;
        let max_age_ms =
            if max_age.is_undefined() { None } else { Some(args::positive("options.maxAgeMs", &max_age, 0.0, args::MAX_MS).js()? as i64) };
        let core = checkpoint::Checkpoint::new(&self.shared.namespace, &name, version, max_age_ms).js()?;
        Ok(Checkpoint { inner: Rc::new(Inner { shared: self.shared.clone(), core }) })
    }
}

struct Inner {
    shared: Rc<Shared>,
    core: checkpoint::Checkpoint,
}

impl Inner {
    async fn save(&self, data: String, progress: Value) -> Result<JsValue> {
        let s = &self.shared;
        let saved = self.core.save_text(&s.store, &JsClock, &s.log, &data, &progress).await?;
        Ok(saved_to_js(&saved))
    }
}

/// One named checkpoint: save, load, clear, resume.
#[wasm_bindgen]
pub struct Checkpoint {
    inner: Rc<Inner>,
}

fn meta_fields(meta: &Meta) -> Vec<(&'static str, JsValue)> {
    vec![
        ("version", json_to_js(&meta.version)),
        ("sequence", JsValue::from_f64(meta.sequence as f64)),
        ("savedAt", JsValue::from_str(&meta.saved_at)),
        ("ageMs", JsValue::from_f64(meta.age_ms as f64)),
        ("progress", json_to_js(&meta.progress)),
        ("bytes", JsValue::from_f64(meta.bytes as f64)),
        ("chunks", JsValue::from_f64(meta.chunks as f64)),
    ]
}

fn saved_to_js(saved: &Saved) -> JsValue {
    object(&[
        ("sequence", JsValue::from_f64(saved.sequence as f64)),
        ("savedAt", JsValue::from_str(&saved.saved_at)),
        ("bytes", JsValue::from_f64(saved.bytes as f64)),
        ("chunks", JsValue::from_f64(saved.chunks as f64)),
        ("swept", JsValue::from_bool(saved.swept)),
    ])
}

/// The JS load result, and its `data` on its own (null unless found).
fn loaded_to_js(loaded: Loaded, checkpoint: &checkpoint::Checkpoint) -> Result<(JsValue, JsValue)> {
    let expected = &checkpoint.version;
    let reason = loaded.reason().map(JsValue::from_str).unwrap_or(JsValue::NULL);
    let mut fields = vec![("found", JsValue::from_bool(matches!(loaded, Loaded::Found { .. }))), ("reason", reason)];
    let mut data = JsValue::NULL;
    match loaded {
        Loaded::Found { text, meta } => {
            data = match decode_state(&text) {
                Ok(data) => data,
                Err(e) => return loaded_to_js(checkpoint.not_json(&e.message), checkpoint),
            };
            fields.extend(meta_fields(&meta));
        }
        Loaded::Missing => {}
        Loaded::VersionMismatch { meta } => {
            fields.push(("expectedVersion", json_to_js(expected)));
            fields.extend(meta_fields(&meta));
        }
        Loaded::Expired { meta, max_age_ms } => {
            fields.push(("maxAgeMs", JsValue::from_f64(max_age_ms as f64)));
            fields.extend(meta_fields(&meta));
        }
        Loaded::Corrupt { key, error } => {
            fields.push(("code", JsValue::from_str(error.code.as_str())));
            fields.push(("key", key.parts.iter().map(|p| JsValue::from_str(p)).collect::<js_sys::Array>().into()));
            fields.push(("message", JsValue::from_str(&error.message)));
            fields.push(("error", to_js(error)));
        }
    }
    fields.insert(2, ("data", data.clone()));
    Ok((object(&fields), data))
}

/// The data to save (state-encoded) and its progress.
fn encode(data: &JsValue, progress_arg: &JsValue) -> Result<(String, Value)> {
    Ok((encode_state_text(data, "data")?, progress(progress_arg)?))
}

/// `{ position, processed }` as given (any small plain object), or null.
fn progress(value: &JsValue) -> Result<Value> {
    if value.is_undefined() || value.is_null() {
        return Ok(Value::Null);
    }
    match js_to_json(value, "progress")? {
        v @ Value::Object(_) => Ok(v),
        _ => Err(crate::error::StateError::invalid("progress", "must be a plain object such as { position, processed }")),
    }
}

#[wasm_bindgen]
impl Checkpoint {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.core.name.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.inner.core.namespace.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn version(&self) -> JsValue {
        json_to_js(&self.inner.core.version)
    }

    /// `{ found, reason, data, ... }`: the data only when the version
    /// matches, every checksum matches and it is not too old.
    pub fn load(&self) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            let s = &t.shared;
            let loaded = t.core.load(&s.store, &JsClock, &s.log).await?;
            Ok(loaded_to_js(loaded, &t.core)?.0)
        })
    }

    /// Saves `data` (JSON plus Map, Set, Date, BigInt) with optional
    /// `progress` (`{ position, processed }`).
    pub fn save(&self, data: JsValue, progress_arg: JsValue) -> Promise {
        let t = self.inner.clone();
        let encoded = encode(&data, &progress_arg);
        promise(async move {
            let (data, progress) = encoded?;
            t.save(data, progress).await
        })
    }

    /// Deletes the checkpoint and its chunks; true if there was one.
    pub fn clear(&self) -> Promise {
        let t = self.inner.clone();
        promise(async move { Ok(JsValue::from_bool(t.core.clear(&t.shared.store, &t.shared.log).await?)) })
    }

    /// `{ resumed, position, processed, data, reason }`: where to start
    /// (position 0 and processed 0 when there is nothing to resume).
    pub fn resume(&self) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            let s = &t.shared;
            let loaded = t.core.load(&s.store, &JsClock, &s.log).await?;
            let progress = match &loaded {
                Loaded::Found { meta, .. } => meta.progress.clone(),
                _ => Value::Null,
            };
            let field = |name: &str| progress.get(name).filter(|v| !v.is_null()).map(json_to_js).unwrap_or(JsValue::from_f64(0.0));
            let (position, processed) = (field("position"), field("processed"));
            let (found, reason) = (matches!(loaded, Loaded::Found { .. }), opt_str(loaded.reason()));
            let (result, data) = loaded_to_js(loaded, &t.core)?;
            Ok(object(&[
                ("resumed", JsValue::from_bool(found)),
                ("position", position),
                ("processed", processed),
                ("data", data),
                ("reason", reason),
                ("checkpoint", result),
            ]))
        })
    }

    /// A saver for loops: `step()` once per item saves every `everyItems`
    /// items or `everyMs` milliseconds, whichever comes first.
    pub fn periodic(&self, options: JsValue) -> JsResult<PeriodicSaver> {
        args::known("options", &options, &["everyItems", "everyMs"]).js()?;
        let read = |field: &str| -> JsResult<Option<f64>> {
            let value = args::option(&options, field).js()?;
            if value.is_undefined() {
                return Ok(None);
            }
            let n = args::positive(&format!("options.{field}"), &value, 1.0, args::MAX_MS).js()?;
            Ok(Some(n.ceil()))
        };
        let periodic = Periodic::new(read("everyItems")?.map(|n| n as u64), read("everyMs")?.map(|n| n as i64), JsClock.now_ms()).js()?;
        Ok(PeriodicSaver { checkpoint: self.inner.clone(), periodic: Rc::new(periodic) })
    }
}

/// Returned by `checkpoint.periodic(options)`.
#[wasm_bindgen]
pub struct PeriodicSaver {
    checkpoint: Rc<Inner>,
    periodic: Rc<Periodic>,
}

#[wasm_bindgen]
impl PeriodicSaver {
    /// Counts one item done. When a save is due, saves `data` (or what the
    /// function `data` returns, called only then) and resolves true.
    pub fn step(&self, data: JsValue, progress_arg: JsValue) -> Promise {
        let now = JsClock.now_ms();
        if !self.periodic.tick(now) {
            return Promise::resolve(&JsValue::FALSE);
        }
        let data = match data.dyn_ref::<Function>() {
            Some(f) => match f.call0(&JsValue::UNDEFINED) {
                Ok(value) => value,
                Err(thrown) => return Promise::reject(&thrown),
            },
            None => data,
        };
        let encoded = encode(&data, &progress_arg);
        let (checkpoint, periodic) = (self.checkpoint.clone(), self.periodic.clone());
        promise(async move {
            let (data, progress) = encoded?;
            checkpoint.save(data, progress).await?;
            periodic.saved(now);
            Ok(JsValue::TRUE)
        })
    }

    /// Saves now, whatever the count; resolves what `save` resolves.
    pub fn flush(&self, data: JsValue, progress_arg: JsValue) -> Promise {
        let encoded = encode(&data, &progress_arg);
        let (checkpoint, periodic) = (self.checkpoint.clone(), self.periodic.clone());
        promise(async move {
            let (data, progress) = encoded?;
            let saved = checkpoint.save(data, progress).await?;
            periodic.saved(JsClock.now_ms());
            Ok(saved)
        })
    }

    /// Items counted since the last save.
    #[wasm_bindgen(getter)]
    pub fn unsaved(&self) -> f64 {
        self.periodic.unsaved() as f64
    }
}

/// Encodes a value so it survives a store that keeps only JSON: Map, Set,
/// Date, BigInt, undefined, NaN, ±Infinity and -0 become tagged objects.
#[wasm_bindgen(js_name = "encodeState")]
pub fn encode_state_js(value: JsValue) -> JsResult<JsValue> {
    Ok(json_to_js(&encode_state(&value, "value", Budget::Large).js()?))
}

/// The value `encodeState` encoded (also after a JSON round trip).
#[wasm_bindgen(js_name = "decodeState")]
pub fn decode_state_js(value: JsValue) -> JsResult<JsValue> {
    let json = stored_to_json_large(&value, "value").js()?;
    revive(&json, "value", 0).js()
}
