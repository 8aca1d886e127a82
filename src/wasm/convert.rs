//! JavaScript values to JSON and back. The way in is strict: a value JSON
//! cannot carry (a Date, Map, Set, BigInt, function, NaN, a class instance)
//! is an INVALID_ARGUMENT naming where it sits, never silently `{}`.

use crate::error::{Result, StateError};
use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const MAX_DEPTH: usize = 100;

/// Strict: for what callers hand us to store.
pub fn js_to_json(value: &JsValue, path: &str) -> Result<Value> {
    convert(value, path, 0, Mode::Strict)
}

/// Lenient: for what a store hands back. Deno KV keeps structured values,
/// so records other code wrote may hold a Date (read as its ISO string) or
/// a BigInt (read as its decimal string); refusing them would turn a
/// readable record into an error.
pub fn stored_to_json(value: &JsValue, path: &str) -> Result<Value> {
    convert(value, path, 0, Mode::Lenient)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Strict,
    Lenient,
}

fn unsupported(path: &str, what: &str, hint: &str) -> StateError {
    StateError::invalid(path, &format!("is {what}, which JSON cannot hold; {hint}"))
}

fn convert(value: &JsValue, path: &str, depth: usize, mode: Mode) -> Result<Value> {
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
        return number(n).ok_or_else(|| unsupported(path, "NaN or Infinity", "store a finite number or null"));
    }
    if value.is_string() {
        if !well_formed(value) {
            return Err(StateError::invalid(path, "is a string with a lone surrogate, which cannot be stored without changing it"));
        }
        return value.as_string().map(Value::String).ok_or_else(|| StateError::invalid(path, "could not be read as a string"));
    }
    if value.is_undefined() {
        return Err(unsupported(path, "undefined", "use null, or leave the property out"));
    }
    if value.is_bigint() {
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
    if Array::is_array(value) {
        let array: &Array = value.unchecked_ref();
        let mut out = Vec::with_capacity(array.length() as usize);
        for (i, item) in array.iter().enumerate() {
            out.push(convert(&item, &format!("{path}[{i}]"), depth + 1, mode)?);
        }
        return Ok(Value::Array(out));
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
        let item = Reflect::get(value, &key).map_err(|_| StateError::invalid(&format!("{path}.{name}"), "could not be read (a getter threw)"))?;
        if item.is_undefined() {
            continue; // as JSON.stringify does
        }
        out.insert(name.clone(), convert(&item, &format!("{path}.{name}"), depth + 1, mode)?);
    }
    Ok(Value::Object(out))
}

/// False for strings holding a lone surrogate: wasm-bindgen would turn it
/// into U+FFFD, so two different names could become one key.
pub fn well_formed(value: &JsValue) -> bool {
    let check = Reflect::get(value, &"isWellFormed".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match check {
        Some(f) => f.call0(value).ok().and_then(|r| r.as_bool()).unwrap_or(true),
        // Runtimes before String.prototype.isWellFormed: check the slow way.
        None => value.dyn_ref::<js_sys::JsString>().is_none_or(|s| s.is_valid_utf16()),
    }
}

fn number(n: f64) -> Option<Value> {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Some(Value::Number(Number::from(n as i64)));
    }
    Number::from_f64(n).map(Value::Number)
}

pub fn json_to_js(value: &Value) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
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
