//! JavaScript values to JSON and back. The way in is strict: a value JSON
//! cannot carry (a Date, Map, Set, BigInt, function, NaN, a class instance)
//! is an INVALID_ARGUMENT naming where it sits, never silently `{}`.

use crate::error::{ErrorCode, Result, StateError};
use crate::values::unhex;
use js_sys::{Array, Object, Reflect};
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The most levels of arrays and objects a value may nest.
const MAX_DEPTH: usize = 100;

/// How much a walk may read, in bytes of the JSON it writes: work and
/// memory stay bounded by this, never by an array's claimed length.
#[derive(Clone, Copy)]
pub enum Budget {
    /// One store value (metadata, a record): 65,536 bytes.
    Value,
    /// What the embedded store is handed: Deno KV's limit is measured on
    /// V8's serialization, which can be smaller than the tagged JSON.
    StoreValue,
    /// A checkpoint's data, `encodeState`, a list of files.
    Large,
}

/// The most a checkpoint's data (and any one value the package encodes) may
/// take as JSON.
pub const MAX_LARGE_BYTES: usize = 32 << 20;

impl Budget {
    fn bytes(self) -> usize {
        match self {
            Budget::Value => crate::values::MAX_VALUE_BYTES,
            Budget::StoreValue => 8 * crate::values::MAX_VALUE_BYTES,
            Budget::Large => MAX_LARGE_BYTES,
        }
    }
}

#[wasm_bindgen(module = "/src/wasm/host.js")]
extern "C" {
    /// JSON text, or `{ path, problem, tooLarge }`; never throws.
    #[wasm_bindgen(js_name = toJson)]
    fn to_json(value: &JsValue, mode: u32, max_bytes: f64, max_depth: u32, kv_u64: &JsValue) -> JsValue;
    /// `Array.isArray`, false when asking throws.
    #[wasm_bindgen(js_name = isArray)]
    pub fn is_array(value: &JsValue) -> bool;
    /// A real Date's time (a brand check), else undefined.
    #[wasm_bindgen(js_name = dateTime)]
    pub fn date_time(value: &JsValue) -> Option<f64>;
    /// `Object.keys`, undefined when reading them throws.
    #[wasm_bindgen(js_name = keysOf)]
    pub fn keys_of(value: &JsValue) -> Option<Array>;
    /// A real Array copy of an array's items (at most `max`), else undefined.
    #[wasm_bindgen(js_name = itemsOf)]
    pub fn items_of(value: &JsValue, max: u32) -> Option<Array>;
    /// The bytes of an ArrayBuffer view, else undefined.
    #[wasm_bindgen(js_name = viewBytes)]
    pub fn view_bytes(value: &JsValue) -> Option<js_sys::Uint8Array>;
    #[wasm_bindgen(js_name = isPromise)]
    pub fn is_promise(value: &JsValue) -> bool;
    /// `returned` as a Promise bounded to `ms` (0: unbounded).
    pub fn within(returned: &JsValue, ms: f64) -> js_sys::Promise;
    /// The bound of a `within` that ran out, else None.
    #[wasm_bindgen(js_name = noAnswerMs)]
    pub fn no_answer_ms(thrown: &JsValue) -> Option<f64>;
    #[wasm_bindgen(js_name = u64Of)]
    fn u64_of(value: &JsValue, kv_u64: &JsValue) -> Option<String>;
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// For what callers hand us to store: a value JSON cannot carry is an
    /// INVALID_ARGUMENT naming where it sits, never silently `{}`.
    Strict = 0,
    /// For what a store hands back: Deno KV keeps structured values, so
    /// records other code wrote may hold a Date (read as its ISO string)
    /// or a BigInt (read as its decimal string).
    Lenient = 1,
    /// For state: Map, Set, Date, BigInt, undefined and non-finite numbers
    /// become tagged objects that [`decode_state`] turns back into
    /// themselves, so they survive stores that keep only JSON.
    Tagged = 2,
}

/// `value` as JSON text, walked once in JavaScript (src/wasm/host.js) where
/// every read that can throw is caught: a refusal names its path.
fn walk_text(value: &JsValue, path: &str, mode: Mode, budget: Budget) -> Result<String> {
    let kv_u64 = if mode == Mode::Tagged { crate::wasm::kv_u64::kv_u64_class() } else { JsValue::UNDEFINED };
    let out = to_json(value, mode as u32, budget.bytes() as f64, MAX_DEPTH as u32, &kv_u64);
    if let Some(text) = out.as_string() {
        return Ok(text);
    }
    let field = |name: &str| Reflect::get(&out, &name.into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let at = format!("{path}{}", field("path"));
    let problem = field("problem");
    if Reflect::get(&out, &"tooLarge".into()).ok().and_then(|v| v.as_bool()) == Some(true) {
        return Err(StateError::new(ErrorCode::ValueTooLarge, format!("{at} {problem}; store less, or split it")));
    }
    Err(StateError::invalid(&at, &problem))
}

fn walk(value: &JsValue, path: &str, mode: Mode, budget: Budget) -> Result<Value> {
    let text = walk_text(value, path, mode, budget)?;
    serde_json::from_str(&text).map_err(|e| StateError::invalid(path, &format!("could not be read as JSON ({e})")))
}

/// The number inside `value` when it is a `KvU64` of the registered class.
pub fn kv_u64_of(value: &JsValue) -> Option<u64> {
    if !value.is_object() {
        return None;
    }
    u64_of(value, &crate::wasm::kv_u64::kv_u64_class())?.parse().ok()
}

/// Strict: for what callers hand us to store (at most one store value).
pub fn js_to_json(value: &JsValue, path: &str) -> Result<Value> {
    walk(value, path, Mode::Strict, Budget::Value)
}

/// [`js_to_json`] with a larger budget (a list of many items).
pub fn js_to_json_large(value: &JsValue, path: &str) -> Result<Value> {
    walk(value, path, Mode::Strict, Budget::Large)
}

/// Lenient: for what a store hands back.
pub fn stored_to_json(value: &JsValue, path: &str) -> Result<Value> {
    walk(value, path, Mode::Lenient, Budget::StoreValue)
}

/// [`stored_to_json`] of a value a caller hands in (`decodeState`).
pub fn stored_to_json_large(value: &JsValue, path: &str) -> Result<Value> {
    walk(value, path, Mode::Lenient, Budget::Large)
}

/// Tagged (see [`Mode::Tagged`]).
pub fn encode_state(value: &JsValue, path: &str, budget: Budget) -> Result<Value> {
    walk(value, path, Mode::Tagged, budget)
}

/// [`encode_state`] as JSON text, never parsed here.
pub fn encode_state_text(value: &JsValue, path: &str) -> Result<String> {
    walk_text(value, path, Mode::Tagged, Budget::Large)
}

/// Objects of at most this many nodes, one a string of at least
/// `LONG_STRING` bytes, are built field by field when handed to JavaScript
/// (the long string crosses as itself, not escaped and parsed back).
const SMALL_NODES: u32 = 24;
const LONG_STRING: usize = 2048;

/// The property that marks a tagged value. A caller's own `$cs`, `$cs$`, …
/// keys get one more `$` when encoded and lose it when decoded.
pub const TAG: &str = "$cs";

pub fn is_tag_like(key: &str) -> bool {
    key.strip_prefix(TAG).is_some_and(|rest| rest.bytes().all(|b| b == b'$'))
}

/// False for strings holding a lone surrogate: wasm-bindgen would turn it
/// into U+FFFD, so two different names could become one key.
pub fn well_formed(value: &JsValue) -> bool {
    if !value.is_string() {
        return true;
    }
    match IS_WELL_FORMED.with(|f| f.clone()) {
        Some(f) => f.call0(value).ok().and_then(|r| r.as_bool()).unwrap_or(true),
        // Runtimes before String.prototype.isWellFormed: check the slow way.
        None => value.dyn_ref::<js_sys::JsString>().is_none_or(|s| s.is_valid_utf16()),
    }
}

thread_local! {
    /// `String.prototype.isWellFormed`, looked up once: a property read on
    /// a string primitive through `Reflect.get` throws (and a throw costs a
    /// stack trace, tens of microseconds per argument).
    static IS_WELL_FORMED: Option<js_sys::Function> = Reflect::get(&js_sys::JsString::from("").constructor(), &"prototype".into())
        .and_then(|proto| Reflect::get(&proto, &"isWellFormed".into()))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
}

/// The value [`encode_state`] encoded. Plain JSON (no tags anywhere) is
/// handed to `JSON.parse`; anything else is built up here.
pub fn decode_state(text: &str) -> Result<JsValue> {
    if !text.contains("\"$cs") {
        return js_sys::JSON::parse(text).map_err(|_| StateError::invalid("state", "is not valid JSON"));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| StateError::invalid("state", "is not valid JSON"))?;
    revive(&value, "state", 0)
}

/// The views [`decode_state`] rebuilds: a stored record may name no other
/// global (a forged `SharedArrayBuffer`, a class with side effects).
const VIEW_TYPES: &[&str] = &[
    "Int8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float16Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
    "DataView",
];

fn bad_tag(path: &str, problem: &str) -> StateError {
    StateError::invalid(path, &format!("is not a valid encoded value ({problem})"))
}

pub fn revive(value: &Value, path: &str, depth: usize) -> Result<JsValue> {
    revive_in(value, path, depth, &mut Vec::new())
}

/// [`revive`], numbering the objects it makes in the order [`convert`]
/// met them, so `Ref` tags find theirs.
fn revive_in(value: &Value, path: &str, depth: usize, made: &mut Vec<JsValue>) -> Result<JsValue> {
    if depth > MAX_DEPTH {
        return Err(StateError::invalid(path, "nests too deep (over 100 levels)"));
    }
    match value {
        Value::Array(items) => {
            let out = Array::new_with_length(items.len() as u32);
            made.push(out.clone().into());
            for (i, item) in items.iter().enumerate() {
                out.set(i as u32, revive_in(item, &format!("{path}[{i}]"), depth + 1, made)?);
            }
            Ok(out.into())
        }
        Value::Object(fields) => match fields.get(TAG) {
            Some(kind) => revive_tag(kind.as_str().unwrap_or(""), fields, path, depth, made),
            None => {
                let out = Object::new();
                made.push(out.clone().into());
                for (name, item) in fields {
                    let name = if is_tag_like(name) { &name[..name.len() - 1] } else { name.as_str() };
                    set_own(&out, name, &revive_in(item, &format!("{path}.{name}"), depth + 1, made)?);
                }
                Ok(out.into())
            }
        },
        other => Ok(json_to_js(other)),
    }
}

fn revive_tag(kind: &str, fields: &Map<String, Value>, path: &str, depth: usize, made: &mut Vec<JsValue>) -> Result<JsValue> {
    let text =
        |field: &str| fields.get(field).and_then(Value::as_str).ok_or_else(|| bad_tag(path, &format!("a {kind} without its {field}")));
    let list =
        |field: &str| fields.get(field).and_then(Value::as_array).ok_or_else(|| bad_tag(path, &format!("a {kind} without its {field}")));
    // Objects without parts are numbered once made; containers before their parts.
    let leaf = |made: &mut Vec<JsValue>, value: JsValue| {
        made.push(value.clone());
        value
    };
    Ok(match kind {
        "Ref" => {
            let id = fields.get("id").and_then(Value::as_u64).ok_or_else(|| bad_tag(path, "a Ref without its id"))?;
            made.get(id as usize).cloned().ok_or_else(|| bad_tag(path, &format!("a Ref to object {id}, which does not come before it")))?
        }
        "undefined" => JsValue::UNDEFINED,
        "Number" => JsValue::from_f64(match text("value")? {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            "-0" => -0.0,
            other => return Err(bad_tag(path, &format!("unknown number {other:?}"))),
        }),
        "BigInt" => {
            js_sys::BigInt::new(&JsValue::from_str(text("value")?)).map_err(|_| bad_tag(path, "a BigInt that is not an integer"))?.into()
        }
        "Date" => match fields.get("iso") {
            Some(Value::String(iso)) => leaf(made, js_sys::Date::new(&JsValue::from_str(iso)).into()),
            Some(Value::Null) => leaf(made, js_sys::Date::new(&JsValue::from_f64(f64::NAN)).into()),
            _ => return Err(bad_tag(path, "a Date without its iso")),
        },
        "Map" => {
            let map = js_sys::Map::new();
            made.push(map.clone().into());
            for (i, pair) in list("entries")?.iter().enumerate() {
                let pair =
                    pair.as_array().filter(|p| p.len() == 2).ok_or_else(|| bad_tag(path, "a Map entry that is not a [key, value] pair"))?;
                map.set(
                    &revive_in(&pair[0], &format!("{path}[key {i}]"), depth + 1, made)?,
                    &revive_in(&pair[1], &format!("{path}[value {i}]"), depth + 1, made)?,
                );
            }
            map.into()
        }
        "Set" => {
            let set = js_sys::Set::new(&JsValue::UNDEFINED);
            made.push(set.clone().into());
            for (i, item) in list("values")?.iter().enumerate() {
                set.add(&revive_in(item, &format!("{path}[item {i}]"), depth + 1, made)?);
            }
            set.into()
        }
        "ArrayBuffer" => leaf(
            made,
            js_sys::Uint8Array::from(unhex(text("hex")?).ok_or_else(|| bad_tag(path, "bytes that are not hex"))?.as_slice())
                .buffer()
                .into(),
        ),
        "View" => {
            let bytes = js_sys::Uint8Array::from(unhex(text("hex")?).ok_or_else(|| bad_tag(path, "bytes that are not hex"))?.as_slice());
            let view = match text("type")? {
                "Uint8Array" => bytes.into(),
                kind if !VIEW_TYPES.contains(&kind) => return Err(bad_tag(path, &format!("a view of unknown type {kind:?}"))),
                kind => {
                    // Another typed array or a DataView, over the same bytes.
                    let class = Reflect::get(&js_sys::global(), &JsValue::from_str(kind))
                        .ok()
                        .and_then(|c| c.dyn_into::<js_sys::Function>().ok())
                        .ok_or_else(|| bad_tag(path, &format!("a {kind}, which this runtime lacks")))?;
                    Reflect::construct(&class, &Array::of1(&bytes.buffer()))
                        .map_err(|_| bad_tag(path, &format!("a {kind} of a length it cannot take")))?
                }
            };
            leaf(made, view)
        }
        "RegExp" => leaf(made, js_sys::RegExp::new(text("source")?, text("flags")?).into()),
        "KvU64" => {
            let n: u64 = text("value")?.parse().map_err(|_| bad_tag(path, "a KvU64 that is not a 64-bit unsigned number"))?;
            leaf(made, crate::wasm::kv_u64::kv_u64_to_js(n).ok_or_else(|| bad_tag(path, "a KvU64, but no KvU64 class is registered"))?)
        }
        other => return Err(bad_tag(path, &format!("unknown type tag {other:?}"))),
    })
}

pub fn json_to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JsValue::from_str(s),
        // A few fields and a long string (a checkpoint manifest): built
        // field by field, the string crossing once as itself, not escaped
        // into JSON text and parsed back.
        structured if few_nodes_long_string(structured) => build(structured),
        // Many: one string and one JSON.parse, which also keeps a
        // "__proto__" key an own property.
        structured => js_sys::JSON::parse(&crate::values::json_text(structured)).unwrap_or(JsValue::NULL),
    }
}

/// Whether `value` has at most [`SMALL_NODES`] nodes, one a string of
/// [`LONG_STRING`] bytes or more (the rule `plainJson` follows the other way).
fn few_nodes_long_string(value: &Value) -> bool {
    fn walk(value: &Value, budget: &mut u32, longest: &mut usize) -> bool {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        match value {
            Value::Array(items) => items.iter().all(|v| walk(v, budget, longest)),
            Value::Object(map) => map.values().all(|v| walk(v, budget, longest)),
            Value::String(s) => {
                *longest = (*longest).max(s.len());
                true
            }
            _ => true,
        }
    }
    let (mut budget, mut longest) = (SMALL_NODES, 0);
    walk(value, &mut budget, &mut longest) && longest >= LONG_STRING
}

/// [`json_to_js`] built node by node.
fn build(value: &Value) -> JsValue {
    match value {
        Value::Array(items) => items.iter().map(build).collect::<Array>().into(),
        Value::Object(map) => {
            let out = Object::new();
            for (name, item) in map {
                set_own(&out, name, &build(item));
            }
            out.into()
        }
        scalar => json_to_js(scalar),
    }
}

/// `target[name] = value` as an own data property, as JSON.parse makes
/// it: a `__proto__` key must not replace the object's prototype.
fn set_own(target: &Object, name: &str, value: &JsValue) {
    if name == "__proto__" {
        let descriptor = object(&[
            ("value", value.clone()),
            ("enumerable", JsValue::TRUE),
            ("writable", JsValue::TRUE),
            ("configurable", JsValue::TRUE),
        ]);
        let _ = Reflect::define_property(target, &JsValue::from_str(name), descriptor.unchecked_ref());
    } else {
        let _ = Reflect::set(target, &JsValue::from_str(name), value);
    }
}

/// A JS object from `(name, value)` pairs whose values are already JS.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let out = Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&out, &JsValue::from_str(name), value);
    }
    out.into()
}

pub fn opt_str(value: Option<&str>) -> JsValue {
    value.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}
