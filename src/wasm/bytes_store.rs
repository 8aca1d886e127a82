//! This package's PostgreSQL and Redis stores, called at the byte level.
//!
//! Those stores keep keys in Deno KV's key encoding and values as the JSON
//! text of the embedded store's value model: encodings this crate owns. So
//! instead of going through their Deno KV interface (a JS key array out, the
//! JS front encoding it by calling back into wasm, a JS value built, walked
//! and encoded again), the core hands them bytes: one call into JavaScript
//! per store call, the key encoded here once, a value converted once on the
//! way in (serde value → JSON bytes) and once on the way out.
//!
//! The JS side (`__connectorStateBytes` on a server store, see
//! js/stores/server.mjs) answers three calls:
//!
//! ```text
//! get(keys: Uint8Array[])                      → [value | null, versionstamp | null, …]
//! commit(checkKeys, checkStamps, setKeys, setValues, setExpiry, deleteKeys)
//!                                              → versionstamp | null (a check failed)
//! scan(start, startInclusive, end, limit)      → [key, value, versionstamp, …]
//! ```

use crate::error::{Result, StateError};
use crate::keys::Key;
use crate::kvkey::{self, KeyPart};
use crate::store::{Check, Committed, Entry, ListPage, Mutation};
// Deno KV's key size limits, which the stores' Deno KV interface enforces
// (the byte-level calls keep them), and the value model's tag.
use crate::wasm::convert::is_tag_like;
use crate::wasm::memory_kv::{MAX_READ_KEY, MAX_WRITE_KEY};
use js_sys::{Array, Function, Reflect, Uint8Array};
use serde_json::{Map, Value};
use wasm_bindgen::{JsCast, JsValue};

/// The property through which a server store offers its byte-level calls.
pub const BYTES: &str = "__connectorStateBytes";

/// What the byte-level calls need of the store handle that makes them (the
/// bridge's JsStore): its bounded call, and its reading of a value in JS form.
#[allow(async_fn_in_trait)] // single-threaded (wasm): no Send bound is wanted
pub trait Host {
    /// `f.apply(this, args)`, awaited, bounded and with failures reported.
    async fn invoke(&self, this: &JsValue, f: &Function, method: &str, args: &[JsValue]) -> Result<JsValue>;
    /// A stored value in its JS form as a core value.
    fn stored_value(&self, key: &Key, raw: &JsValue) -> Result<Value>;
}

/// A server store's byte-level calls, looked up once.
pub struct ByteMethods {
    this: JsValue,
    get: Function,
    commit: Function,
    scan: Function,
}

impl ByteMethods {
    /// The byte-level calls `handle` offers, if it is one of our server stores.
    pub fn of(handle: &JsValue) -> Option<ByteMethods> {
        let this = Reflect::get(handle, &BYTES.into()).ok().filter(JsValue::is_object)?;
        let method = |name: &str| Reflect::get(&this, &name.into()).ok().and_then(|f| f.dyn_into::<Function>().ok());
        Some(ByteMethods { get: method("get")?, commit: method("commit")?, scan: method("scan")?, this })
    }
}

fn key_bytes(key: &Key, max: usize, purpose: &str, operation: &str) -> Result<Uint8Array> {
    let bytes = kvkey::encode_strings(&key.parts);
    if bytes.len() > max {
        return Err(StateError::store(operation, &format!("Key too large for {purpose} (max {max} bytes)")));
    }
    Ok(Uint8Array::from(bytes.as_slice()))
}

/// `value` in the value model: the same JSON, with tag-like keys escaped.
fn escaped(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| (if is_tag_like(k) { format!("{k}$") } else { k.clone() }, escaped(v))).collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(escaped).collect()),
        other => other.clone(),
    }
}

fn has_tag_like_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| is_tag_like(k) || has_tag_like_key(v)),
        Value::Array(items) => items.iter().any(has_tag_like_key),
        _ => false,
    }
}

/// The stored bytes of a core value (converted once, here).
fn value_bytes(value: &Value) -> Result<Uint8Array> {
    let text = if has_tag_like_key(value) { serde_json::to_vec(&escaped(value)) } else { serde_json::to_vec(value) };
    let text = text.map_err(|e| StateError::invalid("value", &format!("could not be written as JSON ({e})")))?;
    Ok(Uint8Array::from(text.as_slice()))
}

/// The core value in stored `bytes`: plain JSON is read here; a value with
/// tags (a Map, a Date, a KvU64 that another writer stored) is read as the
/// Deno KV interface would give it to the core, through its JS form.
fn stored_value(key: &Key, bytes: &[u8], store: &impl Host) -> Result<Value> {
    let plain = bytes.first() != Some(&b'u') && !bytes.windows(5).any(|w| w == b"\"$cs\"");
    if plain {
        let value: Value = serde_json::from_slice(bytes).map_err(|_| {
            StateError::corrupt(&key.display(), "the store holds a value this package did not write (not a Deno KV value encoding)")
        })?;
        return Ok(if has_tag_like_key(&value) { unescaped(value) } else { value });
    }
    let js = crate::wasm::memory_kv::kv_decode_value(Uint8Array::from(bytes).into())
        .map_err(|e| StateError::corrupt(&key.display(), &crate::wasm::errors::message_of(&e, "cannot be decoded")))?;
    store.stored_value(key, &js)
}

fn unescaped(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter().map(|(k, v)| (if is_tag_like(&k) { k[..k.len() - 1].to_string() } else { k }, unescaped(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(unescaped).collect()),
        other => other,
    }
}

fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec)
}

fn answer(operation: &str) -> StateError {
    StateError::store(operation, &format!("the store's byte-level {operation}() answered something other than what it promises"))
}

impl ByteMethods {
    /// The entries at `keys`, in order: one call.
    pub async fn get_many(&self, store: &impl Host, keys: &[Key]) -> Result<Vec<Option<Entry>>> {
        let encoded = keys.iter().map(|k| key_bytes(k, MAX_READ_KEY, "read", "get")).collect::<Result<Array>>()?;
        let got = store.invoke(&self.this, &self.get, "get", &[encoded.into()]).await?;
        let got = got.dyn_into::<Array>().map_err(|_| answer("get"))?;
        if got.length() as usize != keys.len() * 2 {
            return Err(answer("get"));
        }
        keys.iter()
            .enumerate()
            .map(|(i, key)| {
                let raw = got.get(2 * i as u32);
                if raw.is_null() {
                    return Ok(None);
                }
                let bytes = bytes_of(&raw).ok_or_else(|| answer("get"))?;
                let versionstamp = got.get(2 * i as u32 + 1).as_string().ok_or_else(|| answer("get"))?;
                Ok(Some(Entry { value: stored_value(key, &bytes, store)?, versionstamp }))
            })
            .collect()
    }

    /// Checks, then writes (each key's last write), in one call: the new
    /// versionstamp, or None when a check failed.
    pub async fn commit(&self, store: &impl Host, checks: &[Check], mutations: &[Mutation]) -> Result<Option<Committed>> {
        let check_keys = checks.iter().map(|c| key_bytes(&c.key, MAX_READ_KEY, "read", "commit")).collect::<Result<Array>>()?;
        let check_stamps = checks.iter().map(|c| c.versionstamp.as_deref().map_or(JsValue::NULL, JsValue::from_str)).collect::<Array>();
        // Each key's final write, in the order of first touch.
        let mut last: Vec<&Mutation> = Vec::with_capacity(mutations.len());
        for m in mutations {
            let key = match m {
                Mutation::Set { key, .. } | Mutation::Delete { key } => key,
            };
            match last.iter_mut().find(|w| matches!(w, Mutation::Set { key: k, .. } | Mutation::Delete { key: k } if k == key)) {
                Some(slot) => *slot = m,
                None => last.push(m),
            }
        }
        let (set_keys, set_values, set_expiry, delete_keys) = (Array::new(), Array::new(), Array::new(), Array::new());
        for m in last {
            match m {
                Mutation::Set { key, value, expire_in_ms } => {
                    set_keys.push(&key_bytes(key, MAX_WRITE_KEY, "write", "commit")?.into());
                    set_values.push(&value_bytes(value)?.into());
                    set_expiry.push(&expire_in_ms.map_or(JsValue::NULL, |ms| JsValue::from_f64(ms as f64)));
                }
                Mutation::Delete { key } => {
                    delete_keys.push(&key_bytes(key, MAX_WRITE_KEY, "write", "commit")?.into());
                }
            }
        }
        let args = [check_keys.into(), check_stamps.into(), set_keys.into(), set_values.into(), set_expiry.into(), delete_keys.into()];
        let stamp = store.invoke(&self.this, &self.commit, "commit", &args).await?;
        if stamp.is_null() {
            return Ok(None);
        }
        let versionstamp = stamp.as_string().ok_or_else(|| answer("commit"))?;
        Ok(Some(Committed { versionstamp: Some(versionstamp) }))
    }

    /// Keys under `prefix` (not the prefix itself), in key order, `limit`
    /// at most, after `cursor` (the hex of the last key of a page).
    pub async fn list(&self, store: &impl Host, prefix: &[String], limit: usize, cursor: Option<&str>) -> Result<ListPage> {
        let base = kvkey::encode_strings(prefix);
        let mut end = base.clone();
        end.push(0xff);
        // Cursors in Deno's form (what this store's listings gave before the
        // core called it at the byte level, and what its list() gives).
        let start = match cursor {
            Some(c) => match kvkey::cursor_bytes(c) {
                Some(after) if !after.is_empty() => [base.as_slice(), &after].concat(),
                _ => return Err(StateError::invalid("cursor", "is not a cursor of this listing")),
            },
            None => base.clone(),
        };
        let args = [
            Uint8Array::from(start.as_slice()).into(),
            JsValue::FALSE,
            Uint8Array::from(end.as_slice()).into(),
            JsValue::from_f64(limit as f64),
        ];
        let got = store.invoke(&self.this, &self.scan, "list", &args).await?;
        let got = got.dyn_into::<Array>().map_err(|_| answer("list"))?;
        if got.length() % 3 != 0 || got.length() as usize / 3 > limit {
            return Err(answer("list"));
        }
        let mut entries = Vec::with_capacity(got.length() as usize / 3);
        let mut last = None;
        for i in (0..got.length()).step_by(3) {
            let key_bytes = bytes_of(&got.get(i)).ok_or_else(|| answer("list"))?;
            let parts = kvkey::decode(&key_bytes).map_err(|_| answer("list"))?;
            let key = Key {
                parts: parts
                    .into_iter()
                    .map(|p| match p {
                        KeyPart::String(s) => s,
                        other => format!("{other:?}"),
                    })
                    .collect(),
                text: false,
                nats: None,
            };
            let bytes = bytes_of(&got.get(i + 1)).ok_or_else(|| answer("list"))?;
            let versionstamp = got.get(i + 2).as_string().ok_or_else(|| answer("list"))?;
            // A value that cannot be read is listed as what it is (a note):
            // whoever reads it as a record reports it as damaged, with its key.
            let value = stored_value(&key, &bytes, store).unwrap_or_else(|e| Value::String(format!("(unreadable: {})", e.message)));
            entries.push((key, Entry { value, versionstamp }));
            last = Some(key_bytes);
        }
        let cursor = if entries.len() == limit { last.map(|k: Vec<u8>| kvkey::cursor_of(&k[base.len()..])) } else { None };
        Ok(ListPage { entries, cursor })
    }
}
