//! The embedded store's engine, exported for js/memory.mjs, which gives it
//! Deno KV's async API. Our own classes find the engine behind a handle and
//! call it directly, with no JavaScript round trip.

use crate::error::{Result, StateError};
use crate::keys::Key;
use crate::memory::MemoryStore;
use crate::store::{Check, Mutation};
use crate::wasm::convert::{js_to_json, json_to_js, object, well_formed};
use crate::wasm::env::JsClock;
use crate::wasm::errors::{IntoJsResult, JsResult};
use js_sys::{Array, Reflect};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;

/// Property through which a handle names its engine.
const ENGINE_ID: &str = "__connectorStateMemoryId";

thread_local! {
    static ENGINES: RefCell<HashMap<u32, Weak<MemoryStore>>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// The engine behind an embedded-store handle, if `handle` is one.
pub fn store_of(handle: &JsValue) -> Option<Rc<MemoryStore>> {
    let id = Reflect::get(handle, &ENGINE_ID.into()).ok()?.as_f64()? as u32;
    ENGINES.with(|e| e.borrow().get(&id).and_then(Weak::upgrade))
}

#[wasm_bindgen(js_name = "EmbeddedEngine")]
pub struct EmbeddedEngine {
    id: u32,
    store: Rc<MemoryStore>,
}

fn key_from_js(value: &JsValue, argument: &str) -> Result<Key> {
    let part = |p: &JsValue| -> Result<Option<String>> {
        if p.is_string() && !well_formed(p) {
            return Err(StateError::invalid(argument, "holds a lone surrogate; key parts must be well-formed Unicode"));
        }
        Ok(p.as_string())
    };
    if let Some(s) = part(value)? {
        return Ok(Key::parts([s]));
    }
    if !Array::is_array(value) {
        return Err(StateError::invalid(argument, "must be an array of strings"));
    }
    let parts: Array = value.clone().into();
    let mut out = Vec::with_capacity(parts.length() as usize);
    for p in parts.iter() {
        match part(&p)? {
            Some(s) => out.push(s),
            None => return Err(StateError::invalid(argument, "may only hold strings in the embedded store")),
        }
    }
    if out.is_empty() {
        return Err(StateError::invalid(argument, "must have at least one part"));
    }
    let key = Key { parts: out, text: false };
    key.check_size()?;
    Ok(key)
}

fn parse_commit(checks: &Array, mutations: &Array) -> Result<(Vec<Check>, Vec<Mutation>)> {
    let mut parsed_checks = Vec::with_capacity(checks.length() as usize);
    for (i, c) in checks.iter().enumerate() {
        let key = key_from_js(&field(&c, "key"), &format!("checks[{i}].key"))?;
        let stamp = field(&c, "versionstamp");
        let versionstamp = if stamp.is_null() || stamp.is_undefined() {
            None
        } else {
            Some(stamp.as_string().ok_or_else(|| StateError::invalid(&format!("checks[{i}].versionstamp"), "must be a string or null"))?)
        };
        parsed_checks.push(Check { key, versionstamp });
    }
    let mut parsed = Vec::with_capacity(mutations.length() as usize);
    for (i, m) in mutations.iter().enumerate() {
        let key = key_from_js(&field(&m, "key"), &format!("mutations[{i}].key"))?;
        match field(&m, "type").as_string().as_deref() {
            Some("set") => {
                let value = js_to_json(&field(&m, "value"), "value")?;
                crate::values::check_value_size("value", &value)?;
                let expire_in_ms = match field(&m, "expireIn").as_f64() {
                    Some(ms) if ms.is_finite() && ms >= 0.0 => Some(ms as u64),
                    Some(_) => return Err(StateError::invalid("expireIn", "must be a non-negative number of milliseconds")),
                    None => None,
                };
                parsed.push(Mutation::Set { key, value, expire_in_ms });
            }
            Some("delete") => parsed.push(Mutation::Delete { key }),
            _ => return Err(StateError::invalid(&format!("mutations[{i}].type"), "must be 'set' or 'delete'")),
        }
    }
    Ok((parsed_checks, parsed))
}

fn key_to_js(key: &Key) -> JsValue {
    key.parts.iter().map(|p| JsValue::from_str(p)).collect::<Array>().into()
}

fn entry_to_js(key_js: JsValue, entry: Option<crate::store::Entry>) -> JsValue {
    match entry {
        Some(e) => object(&[("key", key_js), ("value", json_to_js(&e.value)), ("versionstamp", JsValue::from_str(&e.versionstamp))]),
        None => object(&[("key", key_js), ("value", JsValue::NULL), ("versionstamp", JsValue::NULL)]),
    }
}

fn field(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

#[wasm_bindgen(js_class = "EmbeddedEngine")]
impl EmbeddedEngine {
    #[wasm_bindgen(constructor)]
    pub fn new() -> EmbeddedEngine {
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id.wrapping_add(1).max(1));
            id
        });
        let store = Rc::new(MemoryStore::new(Rc::new(JsClock)));
        ENGINES.with(|e| {
            let mut engines = e.borrow_mut();
            engines.retain(|_, w| w.strong_count() > 0);
            engines.insert(id, Rc::downgrade(&store));
        });
        EmbeddedEngine { id, store }
    }

    #[wasm_bindgen(getter = id)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `{key, value, versionstamp}`, with null value and versionstamp when absent.
    pub fn get(&self, key: JsValue) -> JsResult<JsValue> {
        let parsed = key_from_js(&key, "key").js()?;
        Ok(entry_to_js(key, self.store.get_now(&parsed)))
    }

    /// Applies `mutations` if every check passes: `{ok: true, versionstamp}`
    /// or `{ok: false}`. Checks are `{key, versionstamp}`; mutations are
    /// `{type: 'set', key, value, expireIn?}` or `{type: 'delete', key}`.
    pub fn commit(&self, checks: Array, mutations: Array) -> JsResult<JsValue> {
        let (checks, mutations) = parse_commit(&checks, &mutations).js()?;
        Ok(match self.store.commit_now(&checks, &mutations) {
            Some(stamp) => object(&[("ok", JsValue::TRUE), ("versionstamp", JsValue::from_str(&stamp))]),
            None => object(&[("ok", JsValue::FALSE)]),
        })
    }

    /// One page of `list({prefix})`: `{entries, cursor}`; cursor is null at the end.
    #[wasm_bindgen(js_name = "listPage")]
    pub fn list_page(&self, prefix: JsValue, limit: u32, cursor: Option<String>) -> JsResult<JsValue> {
        let prefix = if Array::is_array(&prefix) && Array::from(&prefix).length() == 0 {
            Vec::new()
        } else {
            key_from_js(&prefix, "selector.prefix").js()?.parts
        };
        let page = self.store.list_now(&prefix, limit.max(1) as usize, cursor.as_deref()).js()?;
        let entries: Array = page.entries.into_iter().map(|(k, e)| entry_to_js(key_to_js(&k), Some(e))).collect();
        Ok(object(&[("entries", entries.into()), ("cursor", page.cursor.map(|c| JsValue::from_str(&c)).unwrap_or(JsValue::NULL))]))
    }

    /// How many live entries the store holds (expired ones are dropped).
    pub fn size(&self) -> usize {
        self.store.purge_expired()
    }
}

impl Default for EmbeddedEngine {
    fn default() -> Self {
        Self::new()
    }
}
