//! `StateService`: 0.1.56's API, unchanged signatures, on the core's locks
//! and sync state.

use crate::daily_job::DailyJobs;
use crate::error::StateError;
use crate::ids::random_id;
use crate::locks::{LockInfo, Locks};
use crate::sync_state;
use crate::wasm::args;
use crate::wasm::bridge::{capabilities_to_js, timed_capabilities_to_js, JsStore};
use crate::wasm::convert::{js_to_json_large, json_to_js, object, opt_str};
use crate::wasm::env::{host_name, InjectedClock, JsLogger, JsTimer};
use crate::wasm::errors::{IntoJsResult, JsResult};
use crate::wasm::promise::promise;
use js_sys::Promise;
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

const MINUTE_MS: f64 = 60_000.0;

struct Service {
    locks: Locks,
    log: JsLogger,
    /// `options.now` when given (tests of clock skew), else `Date.now()`.
    clock: InjectedClock,
    /// The write-delay bound for locks on stores without compare-and-set
    /// (None: best-effort, `maxWriteDelayMs: 0`).
    max_write_delay_ms: Option<u64>,
    /// `storeTimeoutMs`: the bound on each host store call.
    store_timeout_ms: f64,
    /// Handles seen, with what they can do: detected once per handle.
    stores: RefCell<Vec<(JsValue, Rc<JsStore>)>>,
}

impl Service {
    fn store(&self, kv: &JsValue) -> crate::error::Result<Rc<JsStore>> {
        if let Some((_, s)) = self.stores.borrow().iter().find(|(h, _)| js_sys::Object::is(h, kv)) {
            return Ok(s.clone());
        }
        let store = Rc::new(JsStore::detect(kv)?);
        store.set_timeout_ms(self.store_timeout_ms);
        let mut stores = self.stores.borrow_mut();
        if stores.len() >= 16 {
            stores.remove(0);
        }
        stores.push((kv.clone(), store.clone()));
        Ok(store)
    }
}

/// Locks, sync state, processed files and the daily job, with the same
/// methods and keys as fc-connect-sdk 0.1.56.
#[wasm_bindgen]
pub struct StateService {
    inner: Rc<Service>,
}

pub fn lock_info_to_js(name: &str, info: &LockInfo) -> JsValue {
    let r = &info.record;
    object(&[
        ("lockName", JsValue::from_str(name)),
        ("isLocked", JsValue::from_bool(r.is_locked)),
        ("held", JsValue::from_bool(info.held)),
        ("stale", JsValue::from_bool(info.stale)),
        ("heldByMe", JsValue::from_bool(info.held_by_me)),
        ("lockId", JsValue::from_str(&r.lock_id)),
        ("holder", opt_str(r.locked_by.as_deref())),
        ("lockedAt", opt_str(r.locked_at.as_deref())),
        ("expiresAt", opt_str(r.expires_at.as_deref())),
        ("ageMs", info.age_ms.map(|a| JsValue::from_f64(a as f64)).unwrap_or(JsValue::NULL)),
        ("fencingToken", r.fencing_token.map(|t| JsValue::from_f64(t as f64)).unwrap_or(JsValue::NULL)),
    ])
}

fn held_to_js(name: &str, held: &crate::locks::Held) -> JsValue {
    object(&[
        ("lockName", JsValue::from_str(name)),
        ("lockId", JsValue::from_str(&held.lock_id)),
        ("fencingToken", JsValue::from_f64(held.fencing_token as f64)),
        ("expiresAt", JsValue::from_str(&crate::clock::iso_from_ms(held.expires_at_ms))),
    ])
}

#[wasm_bindgen]
impl StateService {
    /// `new StateService(logger?, { now?, maxWriteDelayMs? })`: `now()`
    /// (epoch milliseconds) replaces `Date.now()` for this service's lock
    /// and state times; `maxWriteDelayMs` (default 100, 0 for best-effort)
    /// bounds how long a write to a store without compare-and-set may take
    /// to land, and makes its locks exclusive under that bound.
    #[wasm_bindgen(constructor)]
    pub fn new(logger: JsValue, options: JsValue) -> JsResult<StateService> {
        args::known("options", &options, &["now", "maxWriteDelayMs", "storeTimeoutMs"]).js()?;
        let store_timeout_ms = args::store_timeout(&options).js()?;
        let clock = InjectedClock::new(args::option(&options, "now").js()?).js()?;
        let max_write_delay_ms = args::write_delay(&args::option(&options, "maxWriteDelayMs").js()?).js()?;
        let inner = Service {
            locks: Locks::new(None, host_name()),
            log: JsLogger::new(logger),
            clock,
            max_write_delay_ms,
            store_timeout_ms,
            stores: RefCell::new(Vec::new()),
        };
        Ok(StateService { inner: Rc::new(inner) })
    }

    /// What the store can do and the guarantee that gives.
    #[wasm_bindgen(js_name = "describeStore")]
    pub fn describe_store(&self, kv: JsValue) -> JsResult<JsValue> {
        let caps = crate::store::Store::capabilities(&*self.inner.store(&kv).js()?);
        Ok(timed_capabilities_to_js(&caps, self.inner.max_write_delay_ms))
    }

    #[wasm_bindgen(js_name = "acquireLock")]
    pub fn acquire_lock(&self, lock_name: JsValue, kv: JsValue, timeout_minutes: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let name = args::name("lockName", &lock_name)?;
            let minutes = args::positive("timeoutMinutes", &timeout_minutes, 15.0, args::MAX_MINUTES)?;
            let ttl_ms = args::at_least_1ms("timeoutMinutes", minutes * MINUTE_MS, "minutes")?;
            let store = inner.store(&kv)?;
            let acquired = inner
                .locks
                .acquire_timed(&*store, &inner.clock, &JsTimer, &inner.log, &name, ttl_ms, random_id()?, inner.max_write_delay_ms)
                .await?;
            Ok(JsValue::from_bool(acquired))
        })
    }

    /// Releases the lock this service holds; with `lockId`, only that
    /// acquisition (false, nothing written, when a newer one holds it).
    #[wasm_bindgen(js_name = "releaseLock")]
    pub fn release_lock(&self, lock_name: JsValue, kv: JsValue, lock_id: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let name = args::name("lockName", &lock_name)?;
            let id = args::optional_name("lockId", &lock_id)?;
            let store = inner.store(&kv)?;
            Ok(JsValue::from_bool(inner.locks.release_as(&*store, &inner.clock, &inner.log, &name, id.as_deref()).await?))
        })
    }

    /// A lease's renewal: extends acquisition `lockId` of `lockName` to
    /// `ttlMs` from now and resolves its new expiresAt (ISO), without
    /// reading the record back.
    #[wasm_bindgen(js_name = "__extendHeld")]
    pub fn extend_held(&self, lock_name: JsValue, kv: JsValue, ttl_ms: JsValue, lock_id: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let name = args::name("lockName", &lock_name)?;
            let ttl = args::ttl_ms("ttlMs", &ttl_ms, args::DEFAULT_TTL_MS)?;
            let id = args::optional_name("lockId", &lock_id)?;
            let store = inner.store(&kv)?;
            let held = inner.locks.extend_as(&*store, &inner.clock, &name, ttl, id.as_deref()).await?;
            Ok(JsValue::from_str(&crate::clock::iso_from_ms(held.expires_at_ms)))
        })
    }

    #[wasm_bindgen(js_name = "forceReleaseLock")]
    pub fn force_release_lock(&self, lock_name: JsValue, kv: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let name = args::name("lockName", &lock_name)?;
            let store = inner.store(&kv)?;
            Ok(JsValue::from_bool(inner.locks.force_release(&*store, &inner.clock, &inner.log, &name).await?))
        })
    }

    #[wasm_bindgen(js_name = "extendLock")]
    pub fn extend_lock(&self, lock_name: JsValue, kv: JsValue, timeout_minutes: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let name = args::name("lockName", &lock_name)?;
            let minutes = args::positive("timeoutMinutes", &timeout_minutes, 15.0, args::MAX_MINUTES)?;
            let ttl_ms = args::at_least_1ms("timeoutMinutes", minutes * MINUTE_MS, "minutes")?;
            let store = inner.store(&kv)?;
            inner.locks.extend(&*store, &inner.clock, &name, ttl_ms).await?;
            let info = inner.locks.info(&*store, &inner.clock, &name).await?;
            Ok(info.map(|i| lock_info_to_js(&name, &i)).unwrap_or(JsValue::NULL))
        })
    }

    #[wasm_bindgen(js_name = "getLockInfo")]
    pub fn get_lock_info(&self, lock_name: JsValue, kv: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let name = args::name("lockName", &lock_name)?;
            let store = inner.store(&kv)?;
            let info = inner.locks.info(&*store, &inner.clock, &name).await?;
            Ok(info.map(|i| lock_info_to_js(&name, &i)).unwrap_or(JsValue::NULL))
        })
    }

    /// `{ lockName, lockId, fencingToken, expiresAt }` of a lock this
    /// instance holds (as of its last acquire or extend), else null.
    #[wasm_bindgen(js_name = "getHeldLock")]
    pub fn get_held_lock(&self, lock_name: JsValue) -> JsResult<JsValue> {
        let name = args::name("lockName", &lock_name).js()?;
        Ok(self.inner.locks.held(&name).map_or(JsValue::NULL, |h| held_to_js(&name, &h)))
    }

    /// The fencing token of a lock this instance holds, else undefined.
    #[wasm_bindgen(js_name = "getLockToken")]
    pub fn get_lock_token(&self, lock_name: JsValue) -> JsResult<Option<f64>> {
        let name = args::name("lockName", &lock_name).js()?;
        Ok(self.inner.locks.held(&name).map(|h| h.fencing_token as f64))
    }

    #[wasm_bindgen(js_name = "getSyncState")]
    pub fn get_sync_state(&self, kv: JsValue, workflow_id: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let workflow = args::optional_name("workflowId", &workflow_id)?;
            let store = inner.store(&kv)?;
            Ok(json_to_js(&sync_state::get_sync_state(&*store, workflow.as_deref()).await?))
        })
    }

    #[wasm_bindgen(js_name = "updateSyncState")]
    pub fn update_sync_state(&self, kv: JsValue, processed_files: JsValue, workflow_id: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            if !crate::wasm::convert::is_array(&processed_files) {
                return Err(StateError::invalid("processedFiles", "must be an array of {fileName, lastModified, recordCount?}"));
            }
            let Value::Array(files) = js_to_json_large(&processed_files, "processedFiles")? else {
                return Err(StateError::invalid("processedFiles", "must be an array of {fileName, lastModified, recordCount?}"));
            };
            let workflow = args::optional_name("workflowId", &workflow_id)?;
            let store = inner.store(&kv)?;
            sync_state::update_sync_state(&*store, &inner.clock, &inner.log, &files, workflow.as_deref()).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(js_name = "getDailyJob")]
    pub fn get_daily_job(&self, kv: JsValue, workflow_id: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let workflow = args::name("workflowId", &workflow_id)?;
            let store = inner.store(&kv)?;
            let job = DailyJobs::new(&*store, &inner.clock, &inner.log, &workflow)?.get().await?;
            Ok(job.as_ref().map(json_to_js).unwrap_or(JsValue::NULL))
        })
    }

    #[wasm_bindgen(js_name = "setDailyJob")]
    pub fn set_daily_job(&self, kv: JsValue, workflow_id: JsValue, job_id: JsValue, expiration_hours: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let workflow = args::name("workflowId", &workflow_id)?;
            let job = args::name("jobId", &job_id)?;
            let hours = args::positive("expirationHours", &expiration_hours, 24.0, args::MAX_HOURS)?;
            let store = inner.store(&kv)?;
            Ok(json_to_js(&DailyJobs::new(&*store, &inner.clock, &inner.log, &workflow)?.set(&job, hours).await?))
        })
    }

    /// Adds to the live daily job's batchCount atomically; resolves to the new count.
    #[wasm_bindgen(js_name = "incrementDailyJobBatchCount")]
    pub fn increment_daily_job_batch_count(&self, kv: JsValue, workflow_id: JsValue, by: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let workflow = args::name("workflowId", &workflow_id)?;
            let by = args::batch_increment(&by)?;
            let store = inner.store(&kv)?;
            let count = DailyJobs::new(&*store, &inner.clock, &inner.log, &workflow)?.increment(by).await?;
            Ok(JsValue::from_f64(count as f64))
        })
    }

    #[wasm_bindgen(js_name = "isFileProcessed")]
    pub fn is_file_processed(&self, kv: JsValue, file_name: JsValue, workflow_id: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            let workflow = args::optional_name("workflowId", &workflow_id)?;
            let store = inner.store(&kv)?;
            Ok(JsValue::from_bool(sync_state::is_file_processed(&*store, &name, workflow.as_deref()).await?))
        })
    }

    #[wasm_bindgen(js_name = "getMetrics")]
    pub fn get_metrics(&self, kv: JsValue, workflow_id: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let workflow = args::optional_name("workflowId", &workflow_id)?;
            let store = inner.store(&kv)?;
            Ok(json_to_js(&sync_state::get_metrics(&*store, workflow.as_deref()).await?))
        })
    }

    #[wasm_bindgen(js_name = "clearState")]
    pub fn clear_state(&self, kv: JsValue, workflow_id: JsValue) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.clock.verify()?;
            let workflow = args::name("workflowId", &workflow_id)?;
            let store = inner.store(&kv)?;
            sync_state::clear_state(&*store, &inner.clock, &inner.log, &workflow).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// What a KV handle can do: `{kind, compareAndSet, list, expiry, guarantee}`.
#[wasm_bindgen(js_name = "describeStore")]
pub fn describe_store(kv: JsValue) -> JsResult<JsValue> {
    Ok(capabilities_to_js(&crate::store::Store::capabilities(&JsStore::detect(&kv).js()?)))
}
