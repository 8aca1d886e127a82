//! What the core needs from the runtime: time and logging.

use crate::clock::Clock;
use crate::log::{Level, Logger};
use serde_json::Value;
use wasm_bindgen::prelude::*;

pub struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
}

/// A Versori-style logger (`info/warn/error/debug(message, context)`) or
/// `console`. A missing method, or one that throws, is skipped: logging
/// never breaks a state operation.
pub struct JsLogger(Option<JsValue>);

impl JsLogger {
    pub fn new(target: JsValue) -> Self {
        JsLogger((target.is_object()).then_some(target))
    }
}

impl Logger for JsLogger {
    fn log(&self, level: Level, message: &str, context: Value) {
        let Some(target) = &self.0 else { return };
        let method = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        let Ok(f) = js_sys::Reflect::get(target, &method.into()) else { return };
        let Some(f) = f.dyn_ref::<js_sys::Function>() else { return };
        let context = crate::wasm::convert::json_to_js(&context);
        let _ = f.call2(target, &JsValue::from_str(message), &context);
    }
}

/// `lockedBy` for lock records: HOSTNAME in Node, else "unknown". Never
/// touches `process` where it does not exist, and never reads the
/// environment in Deno (that would prompt for a permission).
pub fn host_name() -> String {
    let global = js_sys::global();
    let get = |obj: &JsValue, name: &str| js_sys::Reflect::get(obj, &name.into()).ok().filter(|v| v.is_object());
    if get(&global, "Deno").is_some() {
        return "deno".into();
    }
    get(&global, "process")
        .and_then(|p| get(&p, "env"))
        .and_then(|env| js_sys::Reflect::get(&env, &"HOSTNAME".into()).ok())
        .and_then(|h| h.as_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
