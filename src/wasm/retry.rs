//! `RetryTracker`: persisted retry schedules with backoff and dead letters.

use crate::clock::{iso_from_ms, Clock};
use crate::retry::{self, Decision, Jitter, Policy};
use crate::store::Store;
use crate::wasm::args;
use crate::wasm::args::cleanup_options;
use crate::wasm::bridge::{capabilities_to_js, JsStore};
use crate::wasm::convert::{json_to_js, object, opt_str};
use crate::wasm::env::{InjectedClock, InjectedRandom, JsLogger};
use crate::wasm::errors::{message_of, IntoJsResult, JsResult};
use crate::wasm::indexed::removed_to_js;
use crate::wasm::promise::promise;
use js_sys::Promise;
use serde_json::Value;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

struct Inner {
    core: retry::RetryTracker,
    store: JsStore,
    log: JsLogger,
    clock: InjectedClock,
    random: InjectedRandom,
}

/// Failure counts, next retry times and a dead-letter list, per item.
#[wasm_bindgen]
pub struct RetryTracker {
    inner: Rc<Inner>,
}

fn policy(options: &JsValue) -> crate::error::Result<Policy> {
    let p = args::option(options, "policy")?;
    args::known("options.policy", &p, &["baseDelayMs", "factor", "maxDelayMs", "maxAttempts", "jitter"])?;
    let d = Policy::default();
    let number = |field: &str, default: f64, min: f64| -> crate::error::Result<f64> {
        let v = args::option(&p, field).map_err(|_| crate::error::StateError::invalid("options.policy", "must be an object"))?;
        if v.is_undefined() {
            return Ok(default);
        }
        match v.as_f64() {
            Some(n) if n.is_finite() && n >= min && n <= args::MAX_MS => Ok(n),
            _ => Err(crate::error::StateError::invalid(
                &format!("policy.{field}"),
                &format!("must be a number from {min} to {}", args::MAX_MS),
            )),
        }
    };
    let jitter = args::option(&p, "jitter")?;
    let policy = Policy {
        base_delay_ms: number("baseDelayMs", d.base_delay_ms, 0.0)?,
        factor: number("factor", d.factor, 1.0)?,
        max_delay_ms: number("maxDelayMs", d.max_delay_ms, 0.0)?,
        max_attempts: number("maxAttempts", d.max_attempts as f64, 1.0)?.floor() as u64,
        jitter: if jitter.is_undefined() {
            d.jitter
        } else {
            Jitter::parse(&jitter.as_string().ok_or_else(|| crate::error::StateError::invalid("policy.jitter", "must be a string"))?)?
        },
    };
    policy.check()?;
    Ok(policy)
}

fn error_text(error: &JsValue) -> String {
    message_of(error, "unknown error")
}

fn state_to_js(record: Option<serde_json::Map<String, Value>>) -> JsValue {
    record.map(|r| json_to_js(&Value::Object(r))).unwrap_or(JsValue::NULL)
}

#[wasm_bindgen]
impl RetryTracker {
    /// `new RetryTracker(kv, { namespace, policy, log, now, random })`.
    #[wasm_bindgen(constructor)]
    pub fn new(kv: JsValue, options: JsValue) -> JsResult<RetryTracker> {
        let (namespace, log) =
            args::name_and_log(&options, "namespace", "default", &["namespace", "policy", "log", "now", "random", "storeTimeoutMs"])
                .js()?;
        // A string is just the namespace; everything else takes its default.
        let options = if options.is_string() { JsValue::UNDEFINED } else { options };
        let core = retry::RetryTracker::new(&namespace, policy(&options).js()?).js()?;
        let store = JsStore::detect(&kv).js()?;
        store.set_timeout_ms(args::store_timeout(&options).js()?);
        let inner = Inner {
            core,
            store,
            log: JsLogger::new(log),
            clock: InjectedClock::new(args::option(&options, "now").js()?).js()?,
            random: InjectedRandom::new(args::option(&options, "random").js()?).js()?,
        };
        Ok(RetryTracker { inner: Rc::new(inner) })
    }

    pub fn capabilities(&self) -> JsValue {
        capabilities_to_js(&self.inner.store.capabilities())
    }

    /// `{ baseDelayMs, factor, maxDelayMs, maxAttempts, jitter }` in force.
    #[wasm_bindgen(getter)]
    pub fn policy(&self) -> JsValue {
        let p = &self.inner.core.policy;
        let jitter = match p.jitter {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
        };
        object(&[
            ("baseDelayMs", JsValue::from_f64(p.base_delay_ms)),
            ("factor", JsValue::from_f64(p.factor)),
            ("maxDelayMs", JsValue::from_f64(p.max_delay_ms)),
            ("maxAttempts", JsValue::from_f64(p.max_attempts as f64)),
            ("jitter", JsValue::from_str(jitter)),
        ])
    }

    /// Counts a failure of `item` (`error`: an Error, a string or anything)
    /// and resolves the new state.
    #[wasm_bindgen(js_name = "recordFailure")]
    pub fn record_failure(&self, item: JsValue, error: JsValue) -> Promise {
        let t = self.inner.clone();
        let message = error_text(&error);
        promise(async move {
            t.clock.verify()?;
            let item = args::name("item", &item)?;
            let state = t.core.record_failure(&t.store, &t.clock, &t.random, &t.log, &item, &message).await?;
            Ok(state_to_js(Some(state)))
        })
    }

    /// Clears the item's state; true if it had one.
    #[wasm_bindgen(js_name = "recordSuccess")]
    pub fn record_success(&self, item: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let item = args::name("item", &item)?;
            Ok(JsValue::from_bool(t.core.record_success(&t.store, &t.log, &item).await?))
        })
    }

    /// `{ action: 'retry' | 'wait' | 'exhausted', retryAt, attempts, state }`.
    pub fn check(&self, item: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let item = args::name("item", &item)?;
            let (decision, state) = t.core.check(&t.store, &t.clock, &item).await?;
            let attempts = state.as_ref().and_then(|s| s.get("attempts")).and_then(Value::as_f64).unwrap_or(0.0);
            let (action, retry_at) = match decision {
                Decision::Retry => ("retry", Some(iso_from_ms(t.clock.now_ms()))),
                Decision::Wait { until_ms } => ("wait", Some(iso_from_ms(until_ms))),
                Decision::Exhausted => ("exhausted", None),
            };
            Ok(object(&[
                ("action", JsValue::from_str(action)),
                ("retryAt", opt_str(retry_at.as_deref())),
                ("attempts", JsValue::from_f64(attempts)),
                ("state", state_to_js(state)),
            ]))
        })
    }

    /// The item's state, or null.
    pub fn get(&self, item: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let item = args::name("item", &item)?;
            Ok(state_to_js(t.core.get(&t.store, &item).await?))
        })
    }

    /// `{ items, cursor }`; options `status` ('waiting' | 'exhausted'), `limit`, `cursor`.
    pub fn list(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            args::known("options", &options, &["status", "limit", "cursor"])?;
            let status = args::optional_name("options.status", &args::option(&options, "status")?)?;
            if let Some(s) = status.as_deref().filter(|s| !matches!(*s, "waiting" | "exhausted")) {
                return Err(crate::error::StateError::invalid("options.status", &format!("must be 'waiting' or 'exhausted', not {s:?}")));
            }
            list(&t, status.as_deref(), &options).await
        })
    }

    /// Exhausted items: `{ items, cursor }`.
    #[wasm_bindgen(js_name = "listDeadLetters")]
    pub fn list_dead_letters(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            args::known("options", &options, &["limit", "cursor"])?;
            list(&t, Some("exhausted"), &options).await
        })
    }

    /// Puts a dead-lettered item back with fresh attempts, due now; false
    /// if it was not on the dead-letter list.
    pub fn requeue(&self, item: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let item = args::name("item", &item)?;
            Ok(JsValue::from_bool(t.core.requeue(&t.store, &t.clock, &t.log, &item).await?))
        })
    }

    /// Deletes states whose last failure is older than the cutoff:
    /// `{ scanned, deleted, failed }`.
    pub fn cleanup(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let (cutoff, batch) = cleanup_options(&options, &t.clock)?;
            Ok(removed_to_js(&t.core.cleanup(&t.store, &t.log, cutoff, batch).await?))
        })
    }
}

async fn list(t: &Inner, status: Option<&str>, options: &JsValue) -> crate::error::Result<JsValue> {
    let (limit, cursor) = args::page(options)?;
    let listed = t.core.list(&t.store, &t.log, status, limit, cursor.as_deref()).await?;
    Ok(args::listed("items", crate::wasm::indexed::records_to_js("item", listed.files), listed.cursor.as_deref()))
}
