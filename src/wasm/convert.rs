//! JavaScript values to JSON and back. The way in is strict: a value JSON
//! cannot carry (a Date, Map, Set, BigInt, function, NaN, a class instance)
//! is an INVALID_ARGUMENT naming where it sits, never silently `{}`.

use crate::error::{Result, StateError};
use crate::values::{hex, unhex};
use js_sys::{Array, Object, Reflect};
use serde_json::{Map, Number, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const MAX_DEPTH: usize = 100;

/// Strict: for what callers hand us to store.
pub fn js_to_json(value: &JsValue, path: &str) -> Result<Value> {
    fast_json(value).map_or_else(|| convert(value, path, 0, Mode::Strict), Ok)
}

/// Plain JSON objects and arrays cross the boundary as one string (one
/// JSON.stringify call), not one call per node; None for anything else,
/// which the walk then handles (and names the path of what is wrong).
/// A small object holding a long string (a checkpoint manifest) is walked
/// instead: the string then crosses as itself, not escaped into JSON text
/// and parsed back.
fn fast_json(value: &JsValue) -> Option<Value> {
    if !value.is_object() {
        return None;
    }
    serde_json::from_str(&plain_json(value, SMALL_NODES, LONG_STRING).as_string()?).ok()
}

/// Objects of at most this many nodes, one a string of at least
/// `LONG_STRING` (bytes in Rust, UTF-16 units in JavaScript), cross field
/// by field; anything else as one JSON text.
const SMALL_NODES: u32 = 24;
const LONG_STRING: usize = 2048;

/// Lenient: for what a store hands back. Deno KV keeps structured values,
/// so records other code wrote may hold a Date (read as its ISO string) or
/// a BigInt (read as its decimal string); refusing them would turn a
/// readable record into an error.
pub fn stored_to_json(value: &JsValue, path: &str) -> Result<Value> {
    fast_json(value).map_or_else(|| convert(value, path, 0, Mode::Lenient), Ok)
}

/// For state: Map, Set, Date, BigInt, undefined and non-finite numbers
/// become tagged objects that [`decode_state`] turns back into themselves,
/// so they survive stores that keep only JSON.
pub fn encode_state(value: &JsValue, path: &str) -> Result<Value> {
    // Plain JSON encodes as itself.
    if value.is_object() {
        if let Some(parsed) = fast_json(value) {
            return Ok(parsed);
        }
    }
    convert(value, path, 0, Mode::Tagged)
}

/// [`encode_state`] as JSON text. Plain JSON is `JSON.stringify`'s text,
/// never parsed here (numbers may be written as JavaScript writes them,
/// `1e+21`: still JSON).
pub fn encode_state_text(value: &JsValue, path: &str) -> Result<String> {
    if value.is_object() {
        if let Some(text) = plain_json(value, 0, LONG_STRING).as_string() {
            return Ok(text);
        }
    }
    Ok(crate::values::json_text(&convert(value, path, 0, Mode::Tagged)?))
}

#[wasm_bindgen(inline_js = r#"
const TAG_LIKE = /^\$cs\$*$/;
/** Whether JSON.stringify writes `v` as it is, and encodeState would leave
 *  it unchanged: strings, booleans, finite numbers but -0, null, arrays and
 *  plain objects of those, no tag-like keys, no cycles. */
function plain(v, parents, count) {
  count.n++;
  switch (typeof v) {
    case 'string':
      if (v.length > count.longest) count.longest = v.length;
      return true;
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (parents.has(v)) return false;
      parents.add(v);
      let ok = true;
      if (Array.isArray(v)) {
        for (let i = 0; ok && i < v.length; i++) ok = plain(v[i], parents, count);
      } else {
        const proto = Object.getPrototypeOf(v);
        ok = (proto === Object.prototype || proto === null) && typeof v.toJSON !== 'function';
        const names = ok ? Object.keys(v) : [];
        for (let i = 0; ok && i < names.length; i++) {
          const name = names[i];
          ok = !(name.startsWith('$cs') && TAG_LIKE.test(name)) && plain(v[name], parents, count);
        }
      }
      parents.delete(v);
      return ok;
    }
    default:
      return false;
  }
}
/** JSON text of `value` if it is plain JSON (what encodeState would leave
 *  unchanged), else undefined; also undefined for at most `small` nodes
 *  holding a string of `long` or more, which cross faster one by one. A
 *  walk, then JSON.stringify without a replacer: several times faster than
 *  a replacer function. */
export function plainJson(value, small, long) {
  try {
    const count = { n: 0, longest: 0 };
    if (!plain(value, new Set(), count)) return undefined;
    return count.n <= small && count.longest >= long ? undefined : JSON.stringify(value);
  } catch {
    return undefined;
  }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = plainJson)]
    fn plain_json(value: &JsValue, small: u32, long: usize) -> JsValue;
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Strict,
    Lenient,
    Tagged,
}

/// The property that marks a tagged value. A caller's own `$cs`, `$cs$`, …
/// keys get one more `$` when encoded and lose it when decoded.
const TAG: &str = "$cs";

fn tagged(kind: &str, field: Option<(&str, Value)>) -> Value {
    let mut out = Map::new();
    out.insert(TAG.into(), Value::String(kind.into()));
    if let Some((name, value)) = field {
        out.insert(name.into(), value);
    }
    Value::Object(out)
}

fn is_tag_like(key: &str) -> bool {
    key.strip_prefix(TAG).is_some_and(|rest| rest.bytes().all(|b| b == b'$'))
}

fn unsupported(path: &str, what: &str, hint: &str) -> StateError {
    StateError::invalid(path, &format!("is {what}, which JSON cannot hold; {hint}"))
}

/// Objects met so far in a Tagged walk, numbered in the order met: a value
/// met again is written as a reference to its number, so values that refer
/// to themselves (or share a part) keep that shape, as structured clone does.
#[derive(Default)]
struct Seen {
    objects: Option<js_sys::Map>,
    count: u32,
}

fn convert(value: &JsValue, path: &str, depth: usize, mode: Mode) -> Result<Value> {
    convert_in(value, path, depth, mode, &mut Seen::default())
}

fn convert_in(value: &JsValue, path: &str, depth: usize, mode: Mode, seen: &mut Seen) -> Result<Value> {
    if depth > MAX_DEPTH {
        return Err(StateError::invalid(path, "nests too deep (over 100 levels, or refers to itself)"));
    }
    if value.is_null() {
        return Ok(Value::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        if mode == Mode::Tagged && (!n.is_finite() || (n == 0.0 && n.is_sign_negative())) {
            let text = if n.is_nan() {
                "NaN"
            } else if n == 0.0 {
                "-0"
            } else if n > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            return Ok(tagged("Number", Some(("value", Value::String(text.into())))));
        }
        return number(n).ok_or_else(|| unsupported(path, "NaN or Infinity", "store a finite number or null"));
    }
    if value.is_string() {
        if !well_formed(value) {
            return Err(StateError::invalid(path, "is a string with a lone surrogate, which cannot be stored without changing it"));
        }
        return value.as_string().map(Value::String).ok_or_else(|| StateError::invalid(path, "could not be read as a string"));
    }
    if value.is_undefined() {
        if mode == Mode::Tagged {
            return Ok(tagged("undefined", None));
        }
        return Err(unsupported(path, "undefined", "use null, or leave the property out"));
    }
    if value.is_bigint() {
        if mode == Mode::Tagged {
            let digits = String::from(js_sys::BigInt::from(value.clone()).to_string(10).unwrap_or_default());
            return Ok(tagged("BigInt", Some(("value", Value::String(digits)))));
        }
        if mode == Mode::Lenient {
            return Ok(Value::String(String::from(js_sys::BigInt::from(value.clone()).to_string(10).unwrap_or_default())));
        }
        return Err(unsupported(path, "a BigInt", "store it as a string"));
    }
    if mode == Mode::Lenient && value.is_instance_of::<js_sys::Date>() {
        let date: &js_sys::Date = value.unchecked_ref();
        return Ok(if date.get_time().is_finite() { Value::String(String::from(date.to_iso_string())) } else { Value::Null });
    }
    if value.is_function() {
        return Err(unsupported(path, "a function", "store data only"));
    }
    if value.is_symbol() {
        return Err(unsupported(path, "a Symbol", "store data only"));
    }
    if mode == Mode::Tagged {
        let objects = seen.objects.get_or_insert_with(js_sys::Map::new);
        if let Some(id) = objects.get(value).as_f64() {
            return Ok(tagged("Ref", Some(("id", Value::from(id as u64)))));
        }
        objects.set(value, &JsValue::from(seen.count));
        seen.count += 1;
    }
    if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        let mut out = Vec::with_capacity(array.length() as usize);
        for (i, item) in array.iter().enumerate() {
            out.push(convert_in(&item, &format!("{path}[{i}]"), depth + 1, mode, seen)?);
        }
        return Ok(Value::Array(out));
    }
    if mode == Mode::Tagged {
        if let Some(date) = value.dyn_ref::<js_sys::Date>() {
            let iso = if date.get_time().is_finite() { Value::String(String::from(date.to_iso_string())) } else { Value::Null };
            return Ok(tagged("Date", Some(("iso", iso))));
        }
        if let Some(map) = value.dyn_ref::<js_sys::Map>() {
            let mut entries = Vec::with_capacity(map.size() as usize);
            for (i, entry) in map.entries().into_iter().enumerate() {
                let pair: Array = entry.map_err(|_| StateError::invalid(path, "could not be iterated"))?.unchecked_into();
                let key = convert_in(&pair.get(0), &format!("{path}[key {i}]"), depth + 1, mode, seen)?;
                let item = convert_in(&pair.get(1), &format!("{path}[value {i}]"), depth + 1, mode, seen)?;
                entries.push(Value::Array(vec![key, item]));
            }
            return Ok(tagged("Map", Some(("entries", Value::Array(entries)))));
        }
        if let Some(n) = crate::wasm::memory_kv::kv_u64_of(value) {
            return Ok(crate::values::u64_value(n));
        }
        if js_sys::ArrayBuffer::is_view(value) {
            let view: &js_sys::Object = value.unchecked_ref();
            let buffer = Reflect::get(view, &"buffer".into()).unwrap_or(JsValue::UNDEFINED);
            let offset = Reflect::get(view, &"byteOffset".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u32;
            let length = Reflect::get(view, &"byteLength".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u32;
            let kind = Reflect::get(view, &"constructor".into())
                .and_then(|c| Reflect::get(&c, &"name".into()))
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or_else(|| "Uint8Array".into());
            if !buffer.is_instance_of::<js_sys::ArrayBuffer>() {
                return Err(unsupported(path, "a view of shared memory", "copy it into a Uint8Array"));
            }
            let bytes = js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, offset, length).to_vec();
            let mut out = Map::new();
            out.insert(TAG.into(), Value::String("View".into()));
            out.insert("type".into(), Value::String(kind));
            out.insert("hex".into(), Value::String(hex(&bytes)));
            return Ok(Value::Object(out));
        }
        if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
            return Ok(tagged("ArrayBuffer", Some(("hex", Value::String(hex(&js_sys::Uint8Array::new(buffer).to_vec()))))));
        }
        if let Some(re) = value.dyn_ref::<js_sys::RegExp>() {
            let mut out = Map::new();
            out.insert(TAG.into(), Value::String("RegExp".into()));
            out.insert("source".into(), Value::String(String::from(re.source())));
            out.insert("flags".into(), Value::String(String::from(re.flags())));
            return Ok(Value::Object(out));
        }
        if let Some(set) = value.dyn_ref::<js_sys::Set>() {
            let mut values = Vec::with_capacity(set.size() as usize);
            for (i, item) in set.values().into_iter().enumerate() {
                let item = item.map_err(|_| StateError::invalid(path, "could not be iterated"))?;
                values.push(convert_in(&item, &format!("{path}[item {i}]"), depth + 1, mode, seen)?);
            }
            return Ok(tagged("Set", Some(("values", Value::Array(values)))));
        }
    }
    let object: &Object = value.unchecked_ref();
    let proto = Object::get_prototype_of(value);
    if !proto.is_null() && !Object::is(&proto, &Object::get_prototype_of(&Object::new())) {
        let kind = if value.is_instance_of::<js_sys::Date>() {
            ("a Date", "store date.toISOString()")
        } else if value.is_instance_of::<js_sys::Map>() {
            ("a Map", "store Object.fromEntries(map) or [...map]")
        } else if value.is_instance_of::<js_sys::Set>() {
            ("a Set", "store [...set]")
        } else if value.is_instance_of::<js_sys::Uint8Array>() || value.is_instance_of::<js_sys::ArrayBuffer>() {
            ("binary data", "store it base64-encoded")
        } else {
            ("a class instance", "store a plain object")
        };
        return Err(unsupported(path, kind.0, kind.1));
    }
    let mut out = Map::new();
    for key in Object::keys(object).iter() {
        let name = key.as_string().unwrap_or_default();
        let item =
            Reflect::get(value, &key).map_err(|_| StateError::invalid(&format!("{path}.{name}"), "could not be read (a getter threw)"))?;
        if item.is_undefined() && mode != Mode::Tagged {
            continue; // as JSON.stringify does
        }
        let converted = convert_in(&item, &format!("{path}.{name}"), depth + 1, mode, seen)?;
        if mode == Mode::Tagged && is_tag_like(&name) {
            out.insert(format!("{name}$"), converted);
        } else {
            out.insert(name, converted);
        }
    }
    Ok(Value::Object(out))
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

fn number(n: f64) -> Option<Value> {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Some(Value::Number(Number::from(n as i64)));
    }
    Number::from_f64(n).map(Value::Number)
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
            leaf(made, crate::wasm::memory_kv::kv_u64_to_js(n).ok_or_else(|| bad_tag(path, "a KvU64, but no KvU64 class is registered"))?)
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
