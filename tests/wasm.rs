//! The binding layer in a real JS engine: `wasm-pack test --node`, and with
//! WASM_BINDGEN_USE_BROWSER=1 `wasm-pack test --headless --chrome`.
#![cfg(target_arch = "wasm32")]

use connector_state::error::ErrorCode;
use connector_state::files::{ClaimOutcome, FileTracker};
use connector_state::locks::Locks;
use connector_state::log::NoLog;
use connector_state::store::{Store, StoreKind};
use connector_state::sync_state;
use connector_state::wasm::bridge::JsStore;
use connector_state::wasm::convert::{js_to_json, json_to_js};
use connector_state::wasm::env::JsClock;
use connector_state::wasm::errors::to_js;
use connector_state::wasm::memory_kv::EmbeddedEngine;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
export function versoriKv() {
  const data = new Map();
  const id = (k) => JSON.stringify(k);
  return {
    async get(k) { const raw = data.get(id(k)); return raw === undefined ? undefined : JSON.parse(raw); },
    async set(k, v) { data.set(id(k), JSON.stringify(v)); },
    async delete(k) { data.delete(id(k)); },
  };
}
export function brokenKv() {
  return { get() { return Promise.reject(new Error('kv is down')); }, set() { throw new Error('kv is down'); }, delete() {} };
}
export function embeddedHandle(id) {
  return { __connectorStateMemoryId: id, get() {}, set() {}, delete() {} };
}
export function values() {
  return { date: new Date(0), map: new Map(), nested: { list: [1, 'a', null, true, 2.5] }, skipped: undefined };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = versoriKv)]
    fn versori_kv() -> JsValue;
    #[wasm_bindgen(js_name = brokenKv)]
    fn broken_kv() -> JsValue;
    #[wasm_bindgen(js_name = embeddedHandle)]
    fn embedded_handle(id: u32) -> JsValue;
    fn values() -> JsValue;
}

const MIN: i64 = 60_000;

#[wasm_bindgen_test]
async fn locks_through_a_versori_style_store() {
    let store = JsStore::detect(&versori_kv()).unwrap();
    assert_eq!(store.capabilities().kind, StoreKind::Versori);
    assert!(!store.capabilities().compare_and_set);
    let (a, b) = (Locks::new(Some("a".into()), "h".into()), Locks::new(Some("b".into()), "h".into()));
    assert!(a.acquire(&store, &JsClock, &NoLog, "job", MIN, "1".into()).await.unwrap());
    assert!(!b.acquire(&store, &JsClock, &NoLog, "job", MIN, "2".into()).await.unwrap());
    assert!(!b.release(&store, &JsClock, &NoLog, "job").await.unwrap());
    assert!(a.release(&store, &JsClock, &NoLog, "job").await.unwrap());
    assert!(b.acquire(&store, &JsClock, &NoLog, "job", MIN, "3".into()).await.unwrap());
}

#[wasm_bindgen_test]
async fn the_embedded_engine_is_used_directly() {
    let engine = EmbeddedEngine::new();
    let store = JsStore::detect(&embedded_handle(engine.id())).unwrap();
    assert!(store.capabilities().compare_and_set);
    let tracker = FileTracker::new("p", "me".into()).unwrap();
    let outcome = tracker.claim(&store, &JsClock, "a.csv", MIN, "c1".into()).await.unwrap();
    assert!(matches!(outcome, ClaimOutcome::Claimed { .. }));
    tracker.complete(&store, &JsClock, "a.csv", json!({"n": 1}).as_object()).await.unwrap();
    assert!(tracker.is_processed(&store, "a.csv").await.unwrap());
    assert_eq!(engine.size(), 1, "the record, and the claim deleted");
}

#[wasm_bindgen_test]
async fn store_failures_surface_as_store_unavailable() {
    let store = JsStore::detect(&broken_kv()).unwrap();
    let err = sync_state::is_file_processed(&store, "a.csv", None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::StoreUnavailable);
    assert!(err.message.contains("kv is down"), "{}", err.message);
    let err = store.set(&connector_state::keys::lock("x"), &json!(1), None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::StoreUnavailable);
}

#[wasm_bindgen_test]
fn non_stores_are_rejected() {
    for bad in [JsValue::NULL, JsValue::from(3), JsValue::from_str("kv"), js_sys::Object::new().into()] {
        let err = JsStore::detect(&bad).err().expect("must fail");
        assert_eq!(err.code, ErrorCode::InvalidArgument);
    }
}

#[wasm_bindgen_test]
fn json_conversion_is_strict_and_round_trips() {
    let v = values();
    let date = js_sys::Reflect::get(&v, &"date".into()).unwrap();
    assert!(js_to_json(&date, "x").unwrap_err().message.contains("a Date"));
    let map = js_sys::Reflect::get(&v, &"map".into()).unwrap();
    assert!(js_to_json(&map, "x").unwrap_err().message.contains("a Map"));
    let nested = js_sys::Reflect::get(&v, &"nested".into()).unwrap();
    let value = js_to_json(&nested, "x").unwrap();
    assert_eq!(value, json!({"list": [1, "a", null, true, 2.5]}));
    assert_eq!(js_to_json(&json_to_js(&value), "x").unwrap(), value);
    assert!(js_to_json(&v, "v").is_err(), "the Date inside fails the whole value");
}

#[wasm_bindgen_test]
fn errors_become_js_errors_with_a_code() {
    let err = to_js(connector_state::error::StateError::invalid("lockName", "must be a non-empty string"));
    assert!(err.is_instance_of::<js_sys::Error>());
    let code = js_sys::Reflect::get(&err, &"code".into()).unwrap();
    assert_eq!(code.as_string().as_deref(), Some("INVALID_ARGUMENT"));
}
