//! What the core needs from the runtime: time and logging.

use crate::clock::Clock;
use crate::log::{Level, Logger};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

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

/// `options.now()` when the caller gave one (tests), else `Date.now()`.
pub struct InjectedClock(Option<js_sys::Function>);

impl InjectedClock {
    /// Refuses a `now` that does not answer a finite number at once.
    pub fn new(now: JsValue) -> crate::error::Result<Self> {
        let clock = InjectedClock(optional_function("options.now", now)?);
        clock.verify()?;
        Ok(clock)
    }

    /// INVALID_ARGUMENT when `options.now()` throws or answers anything but
    /// a finite number: checked before each call, never silently replaced
    /// by `Date.now()`.
    pub fn verify(&self) -> crate::error::Result<()> {
        let Some(f) = &self.0 else { return Ok(()) };
        match f.call0(&JsValue::UNDEFINED) {
            Ok(v) if v.as_f64().is_some_and(f64::is_finite) => Ok(()),
            Ok(_) => Err(crate::error::StateError::invalid("options.now", "must return a finite number of epoch milliseconds")),
            Err(e) => Err(crate::error::StateError::invalid(
                "options.now",
                &format!("threw ({}); it must return epoch milliseconds", crate::wasm::errors::message_of(&e, "a non-Error value")),
            )),
        }
    }
}

impl Clock for InjectedClock {
    fn now_ms(&self) -> i64 {
        self.0
            .as_ref()
            .and_then(|f| f.call0(&JsValue::UNDEFINED).ok())
            .and_then(|v| v.as_f64())
            .filter(|n| n.is_finite())
            .map_or_else(|| JsClock.now_ms(), |n| n as i64)
    }
}

/// `options.random()` when given (tests), else the platform's secure source.
pub struct InjectedRandom(Option<js_sys::Function>);

impl InjectedRandom {
    pub fn new(random: JsValue) -> crate::error::Result<Self> {
        optional_function("options.random", random).map(InjectedRandom)
    }
}

impl crate::clock::Random for InjectedRandom {
    fn next_f64(&self) -> f64 {
        match &self.0 {
            Some(f) => f.call0(&JsValue::UNDEFINED).ok().and_then(|v| v.as_f64()).filter(|n| (0.0..1.0).contains(n)).unwrap_or(0.5),
            None => crate::clock::Random::next_f64(&crate::ids::SystemRandom),
        }
    }
}

fn optional_function(argument: &str, value: JsValue) -> crate::error::Result<Option<js_sys::Function>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.dyn_into::<js_sys::Function>().map(Some).map_err(|_| crate::error::StateError::invalid(argument, "must be a function"))
}

/// Waits with the host's setTimeout.
pub struct JsTimer;

impl crate::clock::Sleep for JsTimer {
    async fn sleep(&self, ms: u64) {
        let mut arm = |resolve: js_sys::Function, _reject: js_sys::Function| {
            let set_timeout =
                js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            match set_timeout {
                Some(f) => {
                    let _ = f.call2(&JsValue::UNDEFINED, &resolve, &JsValue::from_f64(ms as f64));
                }
                None => {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
        };
        let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::new(&mut arm)).await;
    }
}
