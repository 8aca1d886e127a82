//! `describeKey`: what a key read back from a store is, as the core's key
//! layout says (see `keys::describe`). Tools such as the CLI's `inspect`
//! read stores through it instead of parsing key strings themselves.

use crate::keys::{self, Described};
use crate::locks::{LockInfo, LockRecord};
use crate::wasm::convert::{js_to_json, object, opt_str};
use crate::wasm::state_service::lock_info_to_js;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;

/// `{ kind, ...fields }` for a key the package wrote, else null. `key` is
/// a Deno KV key (an array) or a Versori key (a string). For a lock, pass
/// its `value` (and `now`, epoch ms, default the current time) to also get
/// `held`, `stale`, `holder`, `expiresAt` and the rest, derived as the lock
/// methods derive them.
#[wasm_bindgen(js_name = "describeKey")]
pub fn describe_key(key: JsValue, value: JsValue, now: JsValue) -> JsValue {
    // A string is a Versori key: this package's NATS layout first, then
    // 0.1.56's text layouts; an array is a Deno KV key.
    let described = match key.as_string() {
        Some(text) => keys::describe_nats(&text).or_else(|| keys::describe(&[text])),
        None => crate::wasm::convert::items_of(&key, 64)
            .and_then(|parts| parts.iter().map(|p| p.as_string()).collect::<Option<Vec<String>>>())
            .and_then(|parts| keys::describe(&parts)),
    };
    let Some(described) = described else { return JsValue::NULL };
    let s = |v: &str| JsValue::from_str(v);
    let fields: Vec<(&str, JsValue)> = match &described {
        Described::Lock { name } => {
            let now = now.as_f64().filter(|n| n.is_finite()).unwrap_or_else(js_sys::Date::now) as i64;
            let record = js_to_json(&value, "value").ok().and_then(|v| LockRecord::parse(&keys::lock(name), &v).ok());
            let mut fields = vec![("kind", s("lock")), ("name", s(name))];
            if let Some(info) = record.map(|r| LockInfo::of(r, now)) {
                let details = lock_info_to_js(name, &info);
                for field in ["isLocked", "held", "stale", "lockId", "holder", "lockedAt", "expiresAt", "ageMs", "fencingToken"] {
                    fields.push((field, Reflect::get(&details, &field.into()).unwrap_or(JsValue::NULL)));
                }
            }
            fields
        }
        Described::StateFile { workflow, file } => vec![("kind", s("state-file")), ("workflowId", s(workflow)), ("fileName", s(file))],
        Described::SyncState { workflow } => vec![("kind", s("sync-state")), ("workflowId", opt_str(workflow.as_deref()))],
        Described::Metrics { workflow } => vec![("kind", s("metrics")), ("workflowId", opt_str(workflow.as_deref()))],
        Described::DailyJob { workflow } => vec![("kind", s("daily-job")), ("workflowId", s(workflow))],
        Described::TrackedFile { prefix, name } => vec![("kind", s("tracked-file")), ("prefix", s(prefix)), ("fileName", s(name))],
        Described::FileClaim { prefix, name } => vec![("kind", s("file-claim")), ("prefix", s(prefix)), ("fileName", s(name))],
        Described::LastProcessedFile { prefix } => vec![("kind", s("last-processed-file")), ("prefix", s(prefix))],
        Described::IndexedFile { prefix, name } => vec![("kind", s("indexed-file")), ("prefix", s(prefix)), ("fileName", s(name))],
        Described::Job { job_id } => {
            let mut fields = vec![("kind", s("job")), ("jobId", s(job_id))];
            // With the record: its status and how long it has been idle
            // (what "stuck" is measured by, as JobTracker.findStuckJobs does).
            if let Ok(serde_json::Value::Object(record)) = js_to_json(&value, "value") {
                let now = now.as_f64().filter(|n| n.is_finite()).unwrap_or_else(js_sys::Date::now) as i64;
                fields.push(("status", opt_str(crate::values::str_field(&record, "status"))));
                fields.push(("idleMs", crate::jobs::idle_since(&record).map_or(JsValue::NULL, |at| JsValue::from_f64((now - at) as f64))));
            }
            fields
        }
        Described::JobStatusMirror { job_id } => vec![("kind", s("job-status-mirror")), ("jobId", s(job_id))],
        Described::RetryItem { namespace, item } => vec![("kind", s("retry-item")), ("namespace", s(namespace)), ("item", s(item))],
        Described::Checkpoint { namespace, name } => vec![("kind", s("checkpoint")), ("namespace", s(namespace)), ("name", s(name))],
        Described::CopyInProgress => vec![("kind", s("copy-in-progress"))],
        Described::Internal => vec![("kind", s("internal"))],
    };
    object(&fields)
}
