//! The rules JavaScript applies itself, read from here so they are written
//! once: option names with did-you-mean hints, the nearest of a set of words
//! (the CLI's flags), and the defaults and limits. (KvU64 arithmetic for
//! the server stores is `__kvU64Apply`, beside the stored form, in memory_kv.)

use crate::wasm::args;
use crate::wasm::errors::IntoJsResult;
use wasm_bindgen::prelude::*;

/// `options` (an object) may hold only the names `known` lists:
/// INVALID_ARGUMENT naming the key, its likely spelling or where it belongs,
/// as the core's own options are checked. Not an object: INVALID_ARGUMENT.
#[wasm_bindgen(js_name = "__checkOptions")]
pub fn check_options(argument: &str, options: JsValue, known: Vec<String>) -> Result<(), JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(());
    }
    if !options.is_object() || options.is_function() || js_sys::Array::is_array(&options) {
        return Err(crate::error::StateError::invalid(argument, "must be an object")).js();
    }
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    args::known(argument, &options, &known).js()
}

/// The one of `candidates` at most two edits from `word` (the first such), or undefined.
#[wasm_bindgen(js_name = "__nearest")]
pub fn nearest(word: &str, candidates: Vec<String>) -> Option<String> {
    candidates.into_iter().find(|c| args::edit_distance(c, word) <= 2)
}

/// The defaults and limits the leases' JS uses, as the core has them: the
/// default lifetime and the 10-year cap.
#[wasm_bindgen(js_name = "__limits")]
pub fn limits() -> JsValue {
    crate::wasm::convert::object(&[("defaultTtlMs", JsValue::from_f64(args::DEFAULT_TTL_MS)), ("maxMs", JsValue::from_f64(args::MAX_MS))])
}
