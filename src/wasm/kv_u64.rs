//! The `KvU64` class values of that type are made with (`Deno.KvU64` in
//! Deno, the package's own elsewhere), registered once by the stores' JS.
//! Its own module: the value conversion and the embedded engine both use it.

use js_sys::{Array, Reflect};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

thread_local! {
    static KV_U64: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Called once by js/stores/u64.mjs with the `KvU64` class values of that type
/// are made with (`Deno.KvU64` in Deno, the package's own elsewhere).
#[wasm_bindgen(js_name = "__registerKvU64Class")]
pub fn register_kv_u64_class(class: JsValue) {
    if let Ok(class) = class.dyn_into::<js_sys::Function>() {
        KV_U64.with(|c| *c.borrow_mut() = Some(class));
    }
}

/// The registered `KvU64` class (undefined before registration).
pub fn kv_u64_class() -> JsValue {
    KV_U64.with(|c| c.borrow().clone()).map(JsValue::from).unwrap_or(JsValue::UNDEFINED)
}

/// A new `KvU64` holding `n`, of the registered class.
pub fn kv_u64_to_js(n: u64) -> Option<JsValue> {
    let class = KV_U64.with(|c| c.borrow().clone())?;
    Reflect::construct(&class, &Array::of1(&js_sys::BigInt::from(n).into())).ok()
}
