//! The embedded store's engine, exported for js/memory.mjs, which gives it
//! Deno KV's async API. Our own classes find the engine behind a handle and
//! call it directly, with no JavaScript round trip.
//!
//! Every argument arrives as a plain `JsValue` and is checked here before
//! it touches Rust memory: no input can trap the module. The errors are the
//! ones Deno KV throws (TypeError), so code tested on the embedded store
//! fails the same way on Deno KV.

use crate::kvkey::{self, KeyPart};
use crate::memory::{MemoryStore, RawWrite, U64Op, Write};
use crate::wasm::convert::{encode_state, items_of, kv_u64_of, revive, view_bytes, well_formed, Budget};
use crate::wasm::env::JsClock;
use crate::wasm::kv_u64::kv_u64_to_js;
use js_sys::{Array, Reflect, Uint8Array};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::Bound;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Property through which a handle names its engine.
const ENGINE_ID: &str = "__connectorStateMemoryId";
/// Deno KV's limits on one key, in encoded bytes.
pub const MAX_WRITE_KEY: usize = 2048;
pub const MAX_READ_KEY: usize = 2049;

thread_local! {
    static ENGINES: RefCell<HashMap<u32, Weak<MemoryStore>>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// The engine behind an embedded-store handle, if `handle` is one.
pub fn store_of(handle: &JsValue) -> Option<Rc<MemoryStore>> {
    if !handle.is_object() {
        return None;
    }
    let id = Reflect::get(handle, &ENGINE_ID.into()).ok()?.as_f64()? as u32;
    ENGINES.with(|e| e.borrow().get(&id).and_then(Weak::upgrade))
}

#[wasm_bindgen(js_name = "EmbeddedEngine")]
pub struct EmbeddedEngine {
    id: u32,
    store: Rc<MemoryStore>,
}

fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

fn part_from_js(part: &JsValue) -> Result<KeyPart, JsValue> {
    if part.is_string() {
        if !well_formed(part) {
            return Err(type_error("Invalid key part: a string with a lone surrogate"));
        }
        return Ok(KeyPart::String(part.as_string().unwrap_or_default()));
    }
    if let Some(n) = part.as_f64() {
        return Ok(KeyPart::Float(n));
    }
    if let Some(b) = part.as_bool() {
        return Ok(KeyPart::Bool(b));
    }
    if part.is_bigint() {
        let big: js_sys::BigInt = part.clone().unchecked_into();
        let text = String::from(big.to_string(16).map_err(|_| type_error("Invalid key part: an unreadable bigint"))?);
        let (negative, digits) = match text.strip_prefix('-') {
            Some(d) => (true, d.to_string()),
            None => (false, text),
        };
        let padded = if digits.len() % 2 == 1 { format!("0{digits}") } else { digits };
        let mut magnitude = crate::values::unhex(&padded).ok_or_else(|| type_error("Invalid key part: an unreadable bigint"))?;
        let zeros = magnitude.iter().take_while(|b| **b == 0).count();
        magnitude.drain(..zeros);
        if magnitude.len() > 255 {
            return Err(type_error("Invalid key part: a bigint of more than 255 bytes"));
        }
        return Ok(KeyPart::Int { negative: negative && !magnitude.is_empty(), magnitude });
    }
    if let Some(bytes) = view_bytes(part) {
        // Any ArrayBufferView, as Deno takes: its bytes (read back as a Uint8Array).
        return Ok(KeyPart::Bytes(bytes.to_vec()));
    }
    Err(type_error("expected string, number, bigint, ArrayBufferView, boolean"))
}

fn part_to_js(part: &KeyPart) -> JsValue {
    match part {
        KeyPart::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        KeyPart::String(s) => JsValue::from_str(s),
        KeyPart::Int { negative, magnitude } => {
            let hex = if magnitude.is_empty() { "0".to_string() } else { crate::values::hex(magnitude) };
            let text = format!("{}0x{hex}", if *negative { "-" } else { "" });
            // "-0x…" is not valid BigInt syntax: negate after parsing.
            let positive =
                js_sys::BigInt::new(&JsValue::from_str(text.trim_start_matches('-'))).unwrap_or_else(|_| js_sys::BigInt::from(0));
            if *negative {
                (js_sys::BigInt::from(0) - positive).into()
            } else {
                positive.into()
            }
        }
        KeyPart::Float(f) => JsValue::from_f64(*f),
        KeyPart::Bool(b) => JsValue::from_bool(*b),
    }
}

/// Encoded bytes of a JS key (an array of key parts).
fn key_from_js(key: &JsValue) -> Result<Vec<u8>, JsValue> {
    let parts = items_of(key, 1024).ok_or_else(|| type_error("Key must be an array"))?;
    let parts = parts.iter().map(|p| part_from_js(&p)).collect::<Result<Vec<_>, _>>()?;
    Ok(kvkey::encode(&parts))
}

fn checked_key(key: &JsValue, purpose: &str) -> Result<Vec<u8>, JsValue> {
    let bytes = key_from_js(key)?;
    match purpose {
        "write" if bytes.is_empty() => Err(type_error("key cannot be empty")),
        "write" if bytes.len() > MAX_WRITE_KEY => Err(type_error(&format!("Key too large for write (max {MAX_WRITE_KEY} bytes)"))),
        "read" if bytes.len() > MAX_READ_KEY => Err(type_error(&format!("Key too large for read (max {MAX_READ_KEY} bytes)"))),
        _ => Ok(bytes),
    }
}

fn key_to_js(bytes: &[u8]) -> JsValue {
    match kvkey::decode(bytes) {
        Ok(parts) => parts.iter().map(part_to_js).collect::<Array>().into(),
        Err(_) => Array::new().into(),
    }
}

fn field(obj: &JsValue, name: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

fn entry_js(key: JsValue, value: JsValue, versionstamp: JsValue) -> JsValue {
    let out = js_sys::Object::new();
    let _ = Reflect::set(&out, &"key".into(), &key);
    let _ = Reflect::set(&out, &"value".into(), &value);
    let _ = Reflect::set(&out, &"versionstamp".into(), &versionstamp);
    out.into()
}

fn stored_to_js(value: &serde_json::Value) -> Result<JsValue, JsValue> {
    revive(value, "value", 0).map_err(|e| type_error(&e.message))
}

fn versionstamp_from_js(stamp: &JsValue) -> Result<Option<String>, JsValue> {
    if stamp.is_null() || stamp.is_undefined() {
        return Ok(None);
    }
    match stamp.as_string() {
        Some(s) if s.len() == 20 && s.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(s.to_ascii_lowercase())),
        _ => Err(type_error("Invalid check: a versionstamp is null or 20 hex digits")),
    }
}

fn bound(bytes: &JsValue, inclusive: bool) -> Result<Bound<Vec<u8>>, JsValue> {
    if bytes.is_undefined() || bytes.is_null() {
        return Ok(Bound::Unbounded);
    }
    let bytes = bytes.dyn_ref::<Uint8Array>().ok_or_else(|| type_error("a scan bound must be a Uint8Array"))?.to_vec();
    Ok(if inclusive { Bound::Included(bytes) } else { Bound::Excluded(bytes) })
}

/// The Deno KV encoding of `key`, checked for `purpose` ('read', 'write'
/// or 'list'): TypeError for anything Deno KV refuses. Every store with
/// Deno KV's interface in this package (embedded, PostgreSQL, Redis) keys
/// its entries by these bytes, whose byte order is Deno KV's key order.
#[wasm_bindgen(js_name = "__kvEncodeKey")]
pub fn kv_encode_key(key: JsValue, purpose: JsValue) -> Result<Uint8Array, JsValue> {
    let purpose = purpose.as_string().unwrap_or_else(|| "read".into());
    Ok(Uint8Array::from(checked_key(&key, &purpose)?.as_slice()))
}

/// The key whose encoding is `bytes` (as read back from a store).
#[wasm_bindgen(js_name = "__kvDecodeKey")]
pub fn kv_decode_key(bytes: JsValue) -> Result<JsValue, JsValue> {
    let bytes = bytes.dyn_ref::<Uint8Array>().ok_or_else(|| type_error("a key's bytes must be a Uint8Array"))?.to_vec();
    let parts = kvkey::decode(&bytes).map_err(|_| type_error("the store holds a key that is not a Deno KV key encoding"))?;
    Ok(parts.iter().map(part_to_js).collect::<Array>().into())
}

/// First byte of a stored `KvU64`: `u` then 16 hex digits. Anything else
/// is the JSON text of the value in the embedded store's tagged form
/// (which never starts with `u`).
const U64_MARK: u8 = b'u';

/// The KvU64 stored as `bytes` (`u` and 16 hex digits), if it is one.
fn stored_u64(bytes: &[u8]) -> Option<u64> {
    let hex = bytes.strip_prefix(&[U64_MARK])?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
}

/// The stored form of the KvU64 `n`.
fn stored_u64_bytes(n: u64) -> Vec<u8> {
    format!("u{n:016x}").into_bytes()
}

/// `op` ('sum', 'min' or 'max') of `operand` on the stored value `current`
/// (its bytes; undefined when absent): the new stored bytes, or undefined
/// when `current` is not a KvU64 (or `op` is unknown). The PostgreSQL
/// store's arithmetic is this, the embedded engine's rule (the Redis
/// store's runs in Lua on the server, by the same rule, tested against it).
#[wasm_bindgen(js_name = "__kvU64Apply")]
pub fn kv_u64_apply(op: &str, current: Option<Vec<u8>>, operand: u64) -> Option<Uint8Array> {
    let op = crate::memory::U64Op::parse(op)?;
    let next = match current {
        None => operand,
        Some(bytes) => op.apply(stored_u64(&bytes)?, operand),
    };
    Some(Uint8Array::from(stored_u64_bytes(next).as_slice()))
}

/// A value as the remote stores keep it: a top-level `KvU64` as `u` and 16
/// hex digits (so a Redis script can do sum / min / max on it), any other
/// value as the JSON text of the embedded store's value model.
#[wasm_bindgen(js_name = "__kvEncodeValue")]
pub fn kv_encode_value(value: JsValue) -> Result<Uint8Array, JsValue> {
    if let Some(n) = kv_u64_of(&value) {
        return Ok(Uint8Array::from(stored_u64_bytes(n).as_slice()));
    }
    let tagged = encode_state(&value, "value", Budget::StoreValue).map_err(|e| type_error(&e.message))?;
    let text = serde_json::to_vec(&tagged).map_err(|e| type_error(&e.to_string()))?;
    Ok(Uint8Array::from(text.as_slice()))
}

/// The value whose stored form is `bytes` (see [`kv_encode_value`]).
#[wasm_bindgen(js_name = "__kvDecodeValue")]
pub fn kv_decode_value(bytes: JsValue) -> Result<JsValue, JsValue> {
    let bytes = bytes.dyn_ref::<Uint8Array>().ok_or_else(|| type_error("a value's bytes must be a Uint8Array"))?.to_vec();
    let corrupt = || type_error("the store holds a value this package did not write (not a Deno KV value encoding)");
    if bytes.first() == Some(&U64_MARK) {
        let n = stored_u64(&bytes).ok_or_else(corrupt)?;
        return kv_u64_to_js(n).ok_or_else(|| type_error("a KvU64, but no KvU64 class is registered"));
    }
    let tagged: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| corrupt())?;
    stored_to_js(&tagged)
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

    /// Marks the store closed for the classes bound to it.
    pub fn close(&self) {
        self.store.close();
    }

    #[wasm_bindgen(getter = id)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `{key, value, versionstamp}`, with null value and versionstamp when absent.
    pub fn get(&self, key: JsValue) -> Result<JsValue, JsValue> {
        let bytes = checked_key(&key, "read")?;
        Ok(match self.store.get_bytes(&bytes) {
            Some(e) => entry_js(key, stored_to_js(&e.value)?, JsValue::from_str(&e.versionstamp)),
            None => entry_js(key, JsValue::NULL, JsValue::NULL),
        })
    }

    /// Applies `mutations` if every check passes: `{ok: true, versionstamp}`
    /// or `{ok: false}`. Checks are `{key, versionstamp}`; mutations are
    /// `{type: 'set', key, value, expireIn?}` or `{type: 'delete', key}`.
    pub fn commit(&self, checks: JsValue, mutations: JsValue) -> Result<JsValue, JsValue> {
        let (Some(checks), Some(mutations)) = (items_of(&checks, 100_000), items_of(&mutations, 100_000)) else {
            return Err(type_error("checks and mutations must be arrays"));
        };
        let mut parsed_checks = Vec::new();
        for c in checks.iter() {
            if !c.is_object() {
                return Err(type_error("a check must be { key, versionstamp }"));
            }
            let key = checked_key(&field(&c, "key"), "read")?;
            parsed_checks.push((key, versionstamp_from_js(&field(&c, "versionstamp"))?));
        }
        let mut writes: Vec<RawWrite> = Vec::new();
        for m in mutations.iter() {
            if !m.is_object() {
                return Err(type_error("a mutation must be { type, key, value? }"));
            }
            let key = checked_key(&field(&m, "key"), "write")?;
            match field(&m, "type").as_string().as_deref() {
                Some("set") => {
                    let value = encode_state(&field(&m, "value"), "value", Budget::StoreValue).map_err(|e| type_error(&e.message))?;
                    let expire = field(&m, "expireIn");
                    let expire_in_ms = if expire.is_undefined() {
                        None
                    } else {
                        match expire.as_f64() {
                            Some(ms) if ms.is_finite() && ms >= 0.0 => Some(ms as u64),
                            _ => return Err(type_error("expireIn must be a non-negative integer")),
                        }
                    };
                    writes.push((key, Write::Set(value, expire_in_ms)));
                }
                Some("delete") => writes.push((key, Write::Delete)),
                Some(kind @ ("sum" | "min" | "max")) => {
                    let op = match kind {
                        "sum" => U64Op::Sum,
                        "min" => U64Op::Min,
                        _ => U64Op::Max,
                    };
                    let operand = kv_u64_of(&field(&m, "value"))
                        .ok_or_else(|| type_error(&format!("Failed to perform '{kind}' mutation on a non-U64 operand")))?;
                    writes.push((key, Write::U64(op, operand)));
                }
                _ => return Err(type_error("Invalid mutation type")),
            }
        }
        let out = js_sys::Object::new();
        match self.store.commit_bytes(&parsed_checks, writes).map_err(|message| type_error(&message))? {
            Some(stamp) => {
                let _ = Reflect::set(&out, &"ok".into(), &JsValue::TRUE);
                let _ = Reflect::set(&out, &"versionstamp".into(), &JsValue::from_str(&stamp));
            }
            None => {
                let _ = Reflect::set(&out, &"ok".into(), &JsValue::FALSE);
            }
        }
        Ok(out.into())
    }

    /// Up to `limit` entries with encoded keys from `start` (inclusive when
    /// `start_inclusive`) to `end` (exclusive), or from the end with
    /// `reverse`: `[{key, value, versionstamp, bytes}]`.
    pub fn scan(&self, start: JsValue, start_inclusive: JsValue, end: JsValue, limit: JsValue, reverse: JsValue) -> Result<Array, JsValue> {
        let limit = limit.as_f64().filter(|n| n.is_finite() && *n >= 1.0).ok_or_else(|| type_error("limit must be a positive number"))?;
        let found = self.store.scan(
            bound(&start, start_inclusive.is_truthy())?,
            bound(&end, false)?,
            limit.min(u32::MAX as f64) as usize,
            reverse.is_truthy(),
        );
        let out = Array::new();
        for (bytes, entry) in found {
            let item = entry_js(key_to_js(&bytes), stored_to_js(&entry.value)?, JsValue::from_str(&entry.versionstamp));
            let _ = Reflect::set(&item, &"bytes".into(), &Uint8Array::from(bytes.as_slice()));
            out.push(&item);
        }
        Ok(out)
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
