//! `JobTracker`: 0.1.56's job tracking with listing, stuck jobs, checked
//! transitions, and one daily job per window.

use crate::daily_job::{DailyJobs, DailyOptions};
use crate::error::{Result, StateError};
use crate::ids::random_id;
use crate::jobs;
use crate::store::Store;
use crate::wasm::args;
use crate::wasm::args::{cleanup_options, instant};
use crate::wasm::bridge::{capabilities_to_js, JsStore};
use crate::wasm::convert::{json_to_js, object};
use crate::wasm::env::{JsClock, JsLogger, JsTimer};
use crate::wasm::errors::{message_of, IntoJsResult, JsResult};
use crate::wasm::indexed::removed_to_js;
use crate::wasm::promise::{call_back, promise, promise_passing, Thrown};
use js_sys::{Array, Function, Promise};
use serde_json::{Map, Value};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const HOUR_MS: f64 = 3_600_000.0;

struct Inner {
    core: jobs::JobTracker,
    store: JsStore,
    log: JsLogger,
}

/// Job status records (queued → processing → completed | failed).
#[wasm_bindgen]
pub struct JobTracker {
    inner: Rc<Inner>,
}

fn job_to_js(job: Option<Map<String, Value>>) -> JsValue {
    job.map(|j| json_to_js(&Value::Object(j))).unwrap_or(JsValue::UNDEFINED)
}

fn fields(argument: &str, value: &JsValue) -> Result<Map<String, Value>> {
    Ok(args::metadata(argument, value)?.unwrap_or_default())
}

#[wasm_bindgen]
impl JobTracker {
    /// `new JobTracker(kv, logger, ttlSeconds = 604800)`, as in 0.1.56.
    #[wasm_bindgen(constructor)]
    pub fn new(kv: JsValue, logger: JsValue, ttl_seconds: JsValue) -> JsResult<JobTracker> {
        let ttl = args::positive("ttlSeconds", &ttl_seconds, jobs::DEFAULT_TTL_SECONDS, args::MAX_MS / 1000.0).js()?;
        let inner = Inner { core: jobs::JobTracker::new(ttl).js()?, store: JsStore::detect(&kv).js()?, log: JsLogger::new(logger) };
        Ok(JobTracker { inner: Rc::new(inner) })
    }

    pub fn capabilities(&self) -> JsValue {
        capabilities_to_js(&self.inner.store.capabilities())
    }

    /// A new queued job; CONFLICT if the id is taken. Resolves the job.
    #[wasm_bindgen(js_name = "createJob")]
    pub fn create_job(&self, job_id: JsValue, metadata: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            let id = args::name("jobId", &job_id)?;
            let metadata = fields("metadata", &metadata)?;
            Ok(job_to_js(Some(t.core.create(&t.store, &JsClock, &t.log, &id, &metadata).await?)))
        })
    }

    /// Merges `update`; INVALID_TRANSITION for a status change that makes no sense.
    #[wasm_bindgen(js_name = "updateJob")]
    pub fn update_job(&self, job_id: JsValue, update: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            let id = args::name("jobId", &job_id)?;
            let patch = fields("update", &update)?;
            Ok(job_to_js(Some(t.core.update(&t.store, &JsClock, &t.log, &id, &patch).await?)))
        })
    }

    /// The job, or undefined (as in 0.1.56).
    #[wasm_bindgen(js_name = "getJob")]
    pub fn get_job(&self, job_id: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            let id = args::name("jobId", &job_id)?;
            Ok(job_to_js(t.core.get(&t.store, &id).await?))
        })
    }

    #[wasm_bindgen(js_name = "markCompleted")]
    pub fn mark_completed(&self, job_id: JsValue, details: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            let id = args::name("jobId", &job_id)?;
            let details = args::metadata("details", &details)?;
            Ok(job_to_js(Some(t.core.mark_completed(&t.store, &JsClock, &t.log, &id, details).await?)))
        })
    }

    /// `error` is an Error (its message and stack are kept) or a string.
    #[wasm_bindgen(js_name = "markFailed")]
    pub fn mark_failed(&self, job_id: JsValue, error: JsValue) -> Promise {
        let t = self.inner.clone();
        let message = message_of(&error, "unknown error");
        let stack = if error.is_object() { js_sys::Reflect::get(&error, &"stack".into()).ok().and_then(|s| s.as_string()) } else { None };
        promise(async move {
            let id = args::name("jobId", &job_id)?;
            Ok(job_to_js(Some(t.core.mark_failed(&t.store, &JsClock, &t.log, &id, &message, stack.as_deref()).await?)))
        })
    }

    /// `{ jobs, cursor }`; options `status`, `since` (updated at or after), `limit`, `cursor`.
    #[wasm_bindgen(js_name = "listJobs")]
    pub fn list_jobs(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            args::known("options", &options, &["status", "since", "limit", "cursor"])?;
            let status = args::optional_name("options.status", &args::option(&options, "status")?)?;
            let since = instant("options.since", &args::option(&options, "since")?)?;
            let (limit, cursor) = args::page(&options)?;
            let listed = t.core.list(&t.store, &t.log, status.as_deref(), since, limit, cursor.as_deref()).await?;
            Ok(args::listed("jobs", crate::wasm::indexed::records_to_js("jobId", listed.files), listed.cursor.as_deref()))
        })
    }

    /// Jobs processing for longer than `olderThanMs` (default 1 hour).
    #[wasm_bindgen(js_name = "findStuckJobs")]
    pub fn find_stuck_jobs(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            args::known("options", &options, &["olderThanMs"])?;
            let ms = args::positive("options.olderThanMs", &args::option(&options, "olderThanMs")?, HOUR_MS, args::MAX_MS)?;
            let stuck = t.core.stuck(&t.store, &JsClock, &t.log, ms as i64).await?;
            Ok(stuck.into_iter().map(|j| json_to_js(&Value::Object(j))).collect::<Array>().into())
        })
    }

    /// Deletes jobs last updated before the cutoff: `{ scanned, deleted, failed }`.
    pub fn cleanup(&self, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            let (cutoff, batch) = cleanup_options(&options, &JsClock)?;
            Ok(removed_to_js(&t.core.cleanup(&t.store, &t.log, cutoff, batch).await?))
        })
    }

    /// The daily job of `workflowId` for the current window, made by
    /// `create()` (resolving the job id, or an object with `id` / `jobId`)
    /// if there is none: `{ job, created }`. Options: `windowHours` (24),
    /// `alignToUtcDay`, `expiresInHours`, `leaseMs`, `pollMs`, `maxWriteDelayMs`.
    #[wasm_bindgen(js_name = "getOrCreateDailyJob")]
    pub fn get_or_create_daily_job(&self, workflow_id: JsValue, create: JsValue, options: JsValue) -> Promise {
        let t = self.inner.clone();
        let thrown = Thrown::default();
        let slot = thrown.clone();
        let work = async move {
            let workflow = args::name("workflowId", &workflow_id)?;
            let create: Function =
                create.dyn_into().map_err(|_| StateError::invalid("create", "must be a function that resolves the new job's id"))?;
            args::known("options", &options, &["windowHours", "alignToUtcDay", "expiresInHours", "leaseMs", "pollMs", "maxWriteDelayMs"])?;
            let hours = |field: &str, default: f64| -> Result<f64> {
                args::positive(&format!("options.{field}"), &args::option(&options, field)?, default, args::MAX_HOURS)
            };
            let expires = args::option(&options, "expiresInHours")?;
            let daily = DailyOptions {
                window_ms: (hours("windowHours", 24.0)? * HOUR_MS) as i64,
                align_utc: args::option(&options, "alignToUtcDay")?.is_truthy(),
                expires_ms: if expires.is_undefined() { None } else { Some((hours("expiresInHours", 24.0)? * HOUR_MS) as i64) },
                lease_ms: args::ttl_ms("options.leaseMs", &args::option(&options, "leaseMs")?, 120_000.0)?,
                poll_ms: args::positive("options.pollMs", &args::option(&options, "pollMs")?, 100.0, 60_000.0)? as u64,
                max_write_delay_ms: args::write_delay(&args::option(&options, "maxWriteDelayMs")?)?,
            };
            let make = || {
                let (create, slot) = (create.clone(), slot.clone());
                async move {
                    let value = call_back(&create, None).await.map_err(|e| slot.keep(e, "create"))?;
                    job_id_of(&value)
                }
            };
            // One owner per call: two calls through one tracker are two contenders.
            let owner = random_id()?;
            let (job, created) =
                DailyJobs::new(&t.store, &JsClock, &t.log, &workflow)?.get_or_create(&JsTimer, &owner, &daily, make).await?;
            Ok(object(&[("job", json_to_js(&job)), ("created", JsValue::from_bool(created))]))
        };
        promise_passing(async move { work.await.map_err(|e| thrown.or(e)) })
    }

    /// Adds `by` (default 1) to the live daily job's batchCount, atomically.
    #[wasm_bindgen(js_name = "incrementDailyJobBatchCount")]
    pub fn increment_daily_job_batch_count(&self, workflow_id: JsValue, by: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            let workflow = args::name("workflowId", &workflow_id)?;
            let by = args::batch_increment(&by)?;
            Ok(JsValue::from_f64(DailyJobs::new(&t.store, &JsClock, &t.log, &workflow)?.increment(by).await? as f64))
        })
    }
}

fn job_id_of(value: &JsValue) -> Result<String> {
    if let Some(s) = value.as_string() {
        return Ok(s);
    }
    for field in ["jobId", "id"] {
        if let Some(s) = js_sys::Reflect::get(value, &field.into()).ok().and_then(|v| v.as_string()) {
            return Ok(s);
        }
    }
    Err(StateError::invalid("create()", "must resolve the new job's id (a string, or an object with id or jobId)"))
}
