//! `IndexedFileTracker` (VersoriIndexedFileTracker in js/api.mjs adds
//! 0.1.56's method names and return shapes on top of it).

use crate::collection::{self, Filter, Item, Removed};
use crate::store::Store;
use crate::wasm::args;
use crate::wasm::bridge::{capabilities_to_js, JsStore};
use crate::wasm::convert::{json_to_js, object};
use crate::wasm::env::{InjectedClock, JsLogger};
use crate::wasm::errors::{IntoJsResult, JsResult};
use crate::wasm::promise::promise;
use js_sys::{Array, Promise};
use serde_json::{json, Value};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

struct Tracker {
    core: collection::Collection,
    store: JsStore,
    log: JsLogger,
    clock: InjectedClock,
}

/// Processed files under a prefix, with paginated listing, stats and cleanup.
#[wasm_bindgen]
pub struct IndexedFileTracker {
    inner: Rc<Tracker>,
}

/// A damaged record in a listing: `{ [id_field]: name, damaged: true,
/// problem }` (the problem names the key; remove it by name).
fn damaged_json(id_field: &str, item: &Item) -> Option<Value> {
    let problem = item.damaged.as_deref()?;
    let mut fields = serde_json::Map::new();
    fields.insert(id_field.to_string(), Value::String(item.name.clone()));
    fields.insert("damaged".into(), Value::Bool(true));
    fields.insert("problem".into(), Value::String(problem.to_string()));
    Some(Value::Object(fields))
}

/// A listed record as the caller stored it, or its damage.
fn record_json(id_field: &str, item: Item) -> Value {
    damaged_json(id_field, &item).unwrap_or(Value::Object(item.record))
}

/// A page of listed records for JavaScript: one JSON text and one
/// `JSON.parse`, not a crossing per field of every record.
pub fn records_to_js(id_field: &str, items: Vec<Item>) -> JsValue {
    json_to_js(&Value::Array(items.into_iter().map(|item| record_json(id_field, item)).collect()))
}

/// `{ fileName, processedAt, metadata }`, or the file's damage in the same shape.
fn file_json(file: &Item) -> Value {
    if let Some(problem) = file.damaged.as_deref() {
        return json!({ "fileName": file.name, "processedAt": null, "metadata": {}, "damaged": true, "problem": problem });
    }
    json!({ "fileName": file.name, "processedAt": file.processed_at(), "metadata": Value::Object(file.metadata()) })
}

pub fn file_to_js(file: &Item) -> JsValue {
    json_to_js(&file_json(file))
}

/// A page of files for JavaScript, as [`records_to_js`].
fn files_to_js(files: &[Item]) -> JsValue {
    json_to_js(&Value::Array(files.iter().map(file_json).collect()))
}

pub fn removed_to_js(r: &Removed) -> JsValue {
    object(&[
        ("scanned", JsValue::from_f64(r.scanned as f64)),
        ("deleted", JsValue::from_f64(r.deleted as f64)),
        ("failed", JsValue::from_f64(r.failed as f64)),
    ])
}

fn strings(items: &[String]) -> JsValue {
    items.iter().map(|s| JsValue::from_str(s)).collect::<Array>().into()
}

#[wasm_bindgen]
impl IndexedFileTracker {
    /// `new IndexedFileTracker(kv, { prefix, log, now })`; a string second
    /// argument is the prefix. `now()` (epoch milliseconds) replaces
    /// `Date.now()`.
    #[wasm_bindgen(constructor)]
    pub fn new(kv: JsValue, options: JsValue) -> JsResult<IndexedFileTracker> {
        let (prefix, log) = args::name_and_log(&options, "prefix", "fc-sdk", &["prefix", "log", "now", "storeTimeoutMs"]).js()?;
        let clock = InjectedClock::new(if options.is_object() { args::option(&options, "now").js()? } else { JsValue::UNDEFINED }).js()?;
        let store = JsStore::detect(&kv).js()?;
        store.set_timeout_ms(args::store_timeout(&options).js()?);
        let core = collection::Collection::new(&prefix).js()?;
        Ok(IndexedFileTracker { inner: Rc::new(Tracker { core, store, log: JsLogger::new(log), clock }) })
    }

    pub fn capabilities(&self) -> JsValue {
        capabilities_to_js(&self.inner.store.capabilities())
    }

    #[wasm_bindgen(getter)]
    pub fn prefix(&self) -> String {
        self.inner.core.prefix.clone()
    }

    /// Records the file as processed now, with optional metadata.
    pub fn mark(&self, file_name: JsValue, metadata: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            let metadata = args::metadata("metadata", &metadata)?;
            t.core.mark(&t.store, &t.clock, &t.log, &name, metadata.as_ref()).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(js_name = "isProcessed")]
    pub fn is_processed(&self, file_name: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            Ok(JsValue::from_bool(t.core.is_processed(&t.store, &name).await?))
        })
    }

    /// `{fileName, processedAt, metadata}` or null.
    pub fn get(&self, file_name: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            Ok(t.core.get(&t.store, &name).await?.map(|f| file_to_js(&f)).unwrap_or(JsValue::NULL))
        })
    }

    /// Removes the file's record and index entry; true if there was one.
    pub fn remove(&self, file_name: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            Ok(JsValue::from_bool(t.core.remove(&t.store, &t.log, &name).await?))
        })
    }

    /// One page: `{ files, cursor }`. Options: `limit` (default 100),
    /// `cursor`, `since` / `until` (processedAt, until exclusive), `namePrefix`.
    pub fn list(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            args::known("options", &options, &["limit", "cursor", "since", "until", "namePrefix"])?;
            let (limit, cursor) = args::page(&options)?;
            let filter = Filter {
                since_ms: args::instant("options.since", &args::option(&options, "since")?)?,
                until_ms: args::instant("options.until", &args::option(&options, "until")?)?,
                name_prefix: args::optional_name("options.namePrefix", &args::option(&options, "namePrefix")?)?,
                field_equals: None,
            };
            let listed = t.core.list(&t.store, &t.log, limit, cursor.as_deref(), &filter).await?;
            Ok(args::listed("files", files_to_js(&listed.files), listed.cursor.as_deref()))
        })
    }

    /// `{ totalFiles, totalRecords, oldest, newest }` (oldest/newest are
    /// `{fileName, processedAt}` or null).
    pub fn stats(&self) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let s = t.core.stats(&t.store, &t.log).await?;
            let end = |e: &Option<(String, String)>| match e {
                Some((name, at)) => object(&[("fileName", JsValue::from_str(name)), ("processedAt", JsValue::from_str(at))]),
                None => JsValue::NULL,
            };
            Ok(object(&[
                ("totalFiles", JsValue::from_f64(s.total_files as f64)),
                ("totalRecords", JsValue::from_f64(s.total_records)),
                ("oldest", end(&s.oldest)),
                ("newest", end(&s.newest)),
                ("damaged", JsValue::from_f64(s.damaged as f64)),
            ]))
        })
    }

    /// Deletes files processed before `olderThanDays` days ago (or before
    /// `before`), `batchSize` per write: `{ scanned, deleted, failed }`.
    pub fn cleanup(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let (cutoff, batch) = args::cleanup_options(&options, &t.clock)?;
            Ok(removed_to_js(&t.core.cleanup(&t.store, &t.log, cutoff, batch).await?))
        })
    }

    /// Deletes every file of this prefix: `{ scanned, deleted, failed }`.
    pub fn clear(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            args::known("options", &options, &["batchSize"])?;
            let batch = args::batch_size(&options)?;
            Ok(removed_to_js(&t.core.clear(&t.store, &t.log, batch).await?))
        })
    }

    /// `{ mode, consistent, indexed, stale, duplicates, missing, damagedHead }`.
    pub fn verify(&self) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let v = t.core.verify(&t.store, &t.log).await?;
            Ok(object(&[
                ("mode", JsValue::from_str(v.mode)),
                ("consistent", JsValue::from_bool(v.consistent())),
                ("indexed", JsValue::from_f64(v.indexed as f64)),
                ("stale", strings(&v.stale)),
                ("duplicates", strings(&v.duplicates)),
                ("missing", strings(&v.missing)),
                ("damagedHead", v.damaged_head.map(|n| JsValue::from_f64(n as f64)).unwrap_or(JsValue::NULL)),
            ]))
        })
    }

    /// Repairs what `verify` finds: `{ removed, added }`.
    pub fn rebuild(&self) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let r = t.core.rebuild(&t.store, &t.log).await?;
            Ok(object(&[("removed", JsValue::from_f64(r.removed as f64)), ("added", JsValue::from_f64(r.added as f64))]))
        })
    }

    /// The key fc-connect-sdk 0.1.56 used for this file.
    #[wasm_bindgen(js_name = "legacyKey")]
    pub fn legacy_key(&self, file_name: JsValue) -> JsResult<String> {
        let name = args::name("fileName", &file_name).js()?;
        Ok(self.inner.core.legacy_key(&name))
    }
}
