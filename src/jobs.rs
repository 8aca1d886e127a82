//! Job lifecycle tracking (fc-connect-sdk 0.1.56's JobTracker, with
//! listing, stuck-job detection and checked transitions) and one daily job
//! per window however many runs ask at once.
//!
//! A job is a record in an indexed collection (`cs:jobs`), updated by a
//! checked read-modify-write, and mirrored at 0.1.56's key
//! `job_{jobId}_status` (with its TTL) so that code reading 0.1.56's keys
//! keeps working. Jobs 0.1.56 wrote are read from that key.

use crate::clock::{iso_from_ms, ms_from_iso, Clock};
use crate::collection::{Collection, Filter, Layout, Listed, Removed};
use crate::error::{ErrorCode, Result, StateError};
use crate::keys;
use crate::log::{Level, Logger};
use crate::store::Store;
use crate::values::str_field;
use serde_json::{json, Map, Value};

const JOBS: Layout = Layout { segment: keys::JOBS_SEGMENT, time_field: "updatedAt" };
/// The statuses a job can have.
pub const STATUSES: [&str; 4] = ["queued", "processing", "completed", "failed"];
/// 0.1.56's default TTL of a job record: 7 days.
pub const DEFAULT_TTL_SECONDS: f64 = 604_800.0;

fn check_job_id(job_id: &str) -> Result<()> {
    if job_id.is_empty() || !job_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(StateError::invalid("jobId", "must be a non-empty string of letters, digits, '_' and '-'"));
    }
    keys::check_name("jobId", job_id)
}

fn check_status(status: &str) -> Result<()> {
    if STATUSES.contains(&status) {
        return Ok(());
    }
    Err(StateError::invalid("status", "must be 'queued', 'processing', 'completed' or 'failed'"))
}

/// Whether a job may go from `from` to `to`. Completed is final; a failed
/// job may be queued or started again.
pub fn allowed(from: &str, to: &str) -> bool {
    match from {
        "queued" => true,
        "processing" => to != "queued",
        "completed" => to == "completed",
        "failed" => to != "completed",
        _ => true, // a status we do not know (written by other code): do not block
    }
}

/// Jobs: 0.1.56's JobTracker on a collection.
pub struct JobTracker {
    jobs: Collection,
    ttl_ms: u64,
}

impl JobTracker {
    /// A tracker whose mirror records live `ttl_seconds`.
    pub fn new(ttl_seconds: f64) -> Result<Self> {
        if !(ttl_seconds.is_finite() && ttl_seconds > 0.0) {
            return Err(StateError::invalid("ttlSeconds", "must be a positive number of seconds"));
        }
        Ok(JobTracker { jobs: Collection::with_layout(keys::JOBS_PREFIX, JOBS)?, ttl_ms: (ttl_seconds * 1000.0) as u64 })
    }

    async fn legacy<S: Store>(&self, store: &S, job_id: &str) -> Result<Option<Map<String, Value>>> {
        let key = keys::job_status(job_id);
        match store.get(&key).await? {
            None => Ok(None),
            Some(e) => match e.value {
                Value::Object(m) => Ok(Some(m)),
                _ => Err(StateError::corrupt(&key.display(), "expected a job status object")),
            },
        }
    }

    /// The job, ours or one 0.1.56 wrote.
    pub async fn get<S: Store>(&self, store: &S, job_id: &str) -> Result<Option<Map<String, Value>>> {
        check_job_id(job_id)?;
        if let Some(job) = self.jobs.get(store, job_id).await? {
            return Ok(Some(job.record));
        }
        self.legacy(store, job_id).await
    }

    async fn mirror<S: Store>(&self, store: &S, job_id: &str, job: &Map<String, Value>) -> Result<()> {
        store.set(&keys::job_status(job_id), &Value::Object(job.clone()), Some(self.ttl_ms)).await
    }

    /// A new job, queued. CONFLICT if a job with this id exists (0.1.56
    /// silently reset it).
    pub async fn create<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        job_id: &str,
        metadata: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        check_job_id(job_id)?;
        if self.legacy(store, job_id).await?.is_some() && self.jobs.get(store, job_id).await?.is_none() {
            return Err(exists(job_id));
        }
        let written = self
            .jobs
            .update(store, log, job_id, |current| {
                if current.is_some() {
                    return Err(exists(job_id));
                }
                let now = iso_from_ms(clock.now_ms());
                let mut job = Map::new();
                job.insert("jobId".into(), json!(job_id));
                job.insert("status".into(), json!("queued"));
                job.insert("createdAt".into(), json!(now));
                job.insert("triggeredBy".into(), metadata.get("triggeredBy").cloned().unwrap_or(json!("manual")));
                for (k, v) in metadata {
                    if !matches!(k.as_str(), "status" | "createdAt" | "jobId" | "triggeredBy") {
                        job.insert(k.clone(), v.clone());
                    }
                }
                job.insert("updatedAt".into(), json!(now));
                Ok(Some(job))
            })
            .await?
            .unwrap_or_default();
        self.mirror(store, job_id, &written).await?;
        log.log(
            Level::Info,
            &format!("Job {job_id} created (triggeredBy: {})", written.get("triggeredBy").and_then(Value::as_str).unwrap_or("manual")),
            json!({ "jobId": job_id }),
        );
        Ok(written)
    }

    /// Marks the job completed with 0.1.56's fields (`stage: 'finished'`, its
    /// message) and the caller's `details`.
    pub async fn mark_completed<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        job_id: &str,
        details: Option<Map<String, Value>>,
    ) -> Result<Map<String, Value>> {
        let mut patch = Map::new();
        patch.insert("status".into(), "completed".into());
        patch.insert("stage".into(), "finished".into());
        patch.insert("message".into(), "Job completed successfully".into());
        if let Some(details) = details {
            patch.insert("details".into(), Value::Object(details));
        }
        self.update(store, clock, log, job_id, &patch).await
    }

    /// Marks the job failed with 0.1.56's fields: the error's message, and
    /// its stack where there is one.
    pub async fn mark_failed<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        job_id: &str,
        message: &str,
        stack: Option<&str>,
    ) -> Result<Map<String, Value>> {
        let mut patch = Map::new();
        patch.insert("status".into(), "failed".into());
        patch.insert("stage".into(), "error".into());
        patch.insert("message".into(), format!("Job failed: {message}").into());
        patch.insert("error".into(), message.into());
        if let Some(stack) = stack {
            patch.insert("errorStack".into(), stack.into());
        }
        self.update(store, clock, log, job_id, &patch).await
    }

    /// Merges `patch` into the job, stamping startedAt / completedAt /
    /// failedAt on the first move to that status. A job that does not exist
    /// is created (as 0.1.56 did). INVALID_TRANSITION for a change that
    /// makes no sense.
    pub async fn update<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        job_id: &str,
        patch: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        check_job_id(job_id)?;
        let to = match patch.get("status") {
            None => None,
            Some(Value::String(s)) => {
                check_status(s)?;
                Some(s.clone())
            }
            Some(_) => return Err(StateError::invalid("update.status", "must be a string")),
        };
        let stored = self.jobs.get(store, job_id).await?.is_some();
        let legacy = if stored { None } else { self.legacy(store, job_id).await? };
        if !stored && legacy.is_none() {
            log.log(
                Level::Warn,
                &format!("Attempted to update non-existent job {job_id}, creating it instead"),
                json!({ "jobId": job_id }),
            );
            let mut metadata = patch.clone();
            metadata.remove("status");
            let created = self.create(store, clock, log, job_id, &metadata).await?;
            return match to.as_deref() {
                Some(status) if status != "queued" => Box::pin(self.update(store, clock, log, job_id, patch)).await,
                _ => Ok(created),
            };
        }
        let written = self
            .jobs
            .update(store, log, job_id, |current| {
                let Some(current) = current.or(legacy.as_ref()) else {
                    return Err(StateError::new(ErrorCode::NotFound, format!("job {job_id} was deleted while it was updated")));
                };
                let from = str_field(current, "status").unwrap_or("queued");
                if let Some(to) = &to {
                    if !allowed(from, to) {
                        return Err(StateError::new(
                            ErrorCode::InvalidTransition,
                            format!("job {job_id} is {from}; it cannot become {to} (completed is final; a failed job may be queued or started again)"),
                        ));
                    }
                }
                let now = iso_from_ms(clock.now_ms());
                let mut job = current.clone();
                job.insert("jobId".into(), json!(job_id));
                for (k, v) in patch {
                    job.insert(k.clone(), v.clone());
                }
                let stamp = match to.as_deref() {
                    Some("processing") => Some("startedAt"),
                    Some("completed") => Some("completedAt"),
                    Some("failed") => Some("failedAt"),
                    _ => None,
                };
                if let Some(field) = stamp {
                    if !current.contains_key(field) || current[field].is_null() {
                        job.entry(field).or_insert(json!(now));
                    }
                }
                job.insert("updatedAt".into(), json!(now));
                Ok(Some(job))
            })
            .await?
            .unwrap_or_default();
        self.mirror(store, job_id, &written).await?;
        log.log(
            Level::Info,
            &format!("Job {job_id} updated (status: {})", str_field(&written, "status").unwrap_or("?")),
            json!({ "jobId": job_id, "status": written.get("status") }),
        );
        Ok(written)
    }

    /// Jobs, optionally in one status and updated since a time.
    pub async fn list<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        status: Option<&str>,
        since_ms: Option<i64>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Listed> {
        if let Some(s) = status {
            check_status(s)?;
        }
        let filter = Filter { field_equals: status.map(|s| ("status".to_string(), json!(s))), since_ms, ..Filter::default() };
        self.jobs.list(store, log, limit, cursor, &filter).await
    }

    /// Jobs that are stuck: `processing`, with no update (see [`idle_since`])
    /// for longer than `older_than_ms`. The CLI's `inspect` says "stuck" by
    /// the same rule, through `describeKey`.
    pub async fn stuck<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        older_than_ms: i64,
    ) -> Result<Vec<Map<String, Value>>> {
        let cutoff = clock.now_ms() - older_than_ms;
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.list(store, log, Some("processing"), None, 1_000, cursor.as_deref()).await?;
            for job in page.files {
                if idle_since(&job.record).is_some_and(|at| at < cutoff) {
                    out.push(job.record);
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Deletes jobs last updated before `cutoff_ms`, with their mirror at
    /// 0.1.56's key in the same write (else `getJob` would still find them).
    pub async fn cleanup<S: Store, L: Logger>(&self, store: &S, log: &L, cutoff_ms: i64, batch: usize) -> Result<Removed> {
        self.jobs.cleanup_with(store, log, cutoff_ms, batch, &|job_id| vec![keys::job_status(job_id)]).await
    }
}

fn exists(job_id: &str) -> StateError {
    StateError::new(ErrorCode::Conflict, format!("job {job_id} already exists; use updateJob to change it, or pick a new id"))
}

/// When a job record last changed: its `updatedAt`, else `startedAt`, else
/// `createdAt` (epoch ms). A `processing` job idle for longer than a bound is
/// what "stuck" means, in `JobTracker.findStuckJobs` and the CLI alike.
pub fn idle_since(record: &Map<String, Value>) -> Option<i64> {
    ["updatedAt", "startedAt", "createdAt"].iter().find_map(|field| str_field(record, field)).and_then(ms_from_iso)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::log::NoLog;
    use crate::memory::MemoryStore;
    use crate::testing::NoCas;
    use futures::executor::block_on;
    use std::rc::Rc;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00Z
    const HOUR: i64 = 3_600_000;

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        crate::testing::memory_at(T0 + 10 * HOUR)
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn lifecycle_with_0_1_56_fields_and_checked_transitions() {
        let (clock, store) = setup();
        let t = JobTracker::new(DEFAULT_TTL_SECONDS).unwrap();
        let job = block_on(t.create(
            &store,
            &*clock,
            &NoLog,
            "job-1",
            &obj(json!({ "triggeredBy": "schedule", "stage": "init", "startTime": 5 })),
        ))
        .unwrap();
        assert_eq!(
            (job["status"].clone(), job["triggeredBy"].clone(), job["startTime"].clone()),
            (json!("queued"), json!("schedule"), json!(5))
        );
        assert_eq!(block_on(t.create(&store, &*clock, &NoLog, "job-1", &Map::new())).unwrap_err().code, ErrorCode::Conflict);
        clock.advance(1_000);
        let job = block_on(t.update(&store, &*clock, &NoLog, "job-1", &obj(json!({ "status": "processing", "stage": "load" })))).unwrap();
        assert_eq!(job["startedAt"], json!(iso_from_ms(T0 + 10 * HOUR + 1_000)));
        clock.advance(1_000);
        let job = block_on(t.update(&store, &*clock, &NoLog, "job-1", &obj(json!({ "status": "processing", "message": "half" })))).unwrap();
        assert_eq!(job["startedAt"], json!(iso_from_ms(T0 + 10 * HOUR + 1_000)), "stamped once");
        let job = block_on(t.update(&store, &*clock, &NoLog, "job-1", &obj(json!({ "status": "completed", "details": { "files": 3 } }))))
            .unwrap();
        assert!(job.contains_key("completedAt"));
        let err = block_on(t.update(&store, &*clock, &NoLog, "job-1", &obj(json!({ "status": "queued" })))).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidTransition);
        assert_eq!(
            block_on(t.update(&store, &*clock, &NoLog, "job-1", &obj(json!({ "status": "nope" })))).unwrap_err().code,
            ErrorCode::InvalidArgument
        );
        // The 0.1.56 key mirrors it.
        assert_eq!(block_on(store.get(&keys::job_status("job-1"))).unwrap().unwrap().value["status"], json!("completed"));
        // An update of a missing job creates it, like 0.1.56.
        let made = block_on(t.update(&store, &*clock, &NoLog, "job-2", &obj(json!({ "status": "processing" })))).unwrap();
        assert_eq!(made["status"], json!("processing"));
        assert!(made.contains_key("startedAt"));
        assert_eq!(block_on(t.get(&store, "bad id")).unwrap_err().code, ErrorCode::InvalidArgument);
        // Failed jobs may be retried.
        block_on(t.update(&store, &*clock, &NoLog, "job-2", &obj(json!({ "status": "failed", "error": "x" })))).unwrap();
        assert_eq!(
            block_on(t.update(&store, &*clock, &NoLog, "job-2", &obj(json!({ "status": "queued" })))).unwrap()["status"],
            json!("queued")
        );
    }

    #[test]
    fn jobs_0_1_56_wrote_are_read_and_updated() {
        let (clock, store) = setup();
        let nocas = NoCas(&store);
        block_on(nocas.set(&keys::job_status("old"), &json!({ "status": "processing", "createdAt": "2026-01-01T00:00:00.000Z", "startedAt": "2026-01-01T00:00:00.000Z", "triggeredBy": "webhook" }), None)).unwrap();
        let t = JobTracker::new(DEFAULT_TTL_SECONDS).unwrap();
        assert_eq!(block_on(t.get(&nocas, "old")).unwrap().unwrap()["triggeredBy"], json!("webhook"));
        assert_eq!(block_on(t.create(&nocas, &*clock, &NoLog, "old", &Map::new())).unwrap_err().code, ErrorCode::Conflict);
        let done = block_on(t.update(&nocas, &*clock, &NoLog, "old", &obj(json!({ "status": "completed" })))).unwrap();
        assert_eq!((done["triggeredBy"].clone(), done["startedAt"].clone()), (json!("webhook"), json!("2026-01-01T00:00:00.000Z")));
    }

    #[test]
    fn listing_by_status_and_stuck_jobs() {
        let (clock, store) = setup();
        let t = JobTracker::new(DEFAULT_TTL_SECONDS).unwrap();
        for i in 0..30 {
            let id = format!("j{i:02}");
            block_on(t.create(&store, &*clock, &NoLog, &id, &Map::new())).unwrap();
            if i % 3 == 0 {
                block_on(t.update(&store, &*clock, &NoLog, &id, &obj(json!({ "status": "processing" })))).unwrap();
            }
            clock.advance(60_000);
        }
        let processing = block_on(t.list(&store, &NoLog, Some("processing"), None, 100, None)).unwrap();
        assert_eq!(processing.files.len(), 10);
        let stuck = block_on(t.stuck(&store, &*clock, &NoLog, 15 * 60_000)).unwrap();
        let ids: Vec<_> = stuck.iter().map(|j| j["jobId"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids, vec!["j00", "j03", "j06", "j09", "j12"], "started over 15 minutes ago");
        assert_eq!(block_on(t.list(&store, &NoLog, Some("bogus"), None, 10, None)).unwrap_err().code, ErrorCode::InvalidArgument);
    }

    /// Two jobs an hour old and one new: cleanup at half an hour removes
    /// the old ones, records and 0.1.56 mirrors alike, and keeps the new one.
    fn cleanup_case<S: Store>(store: &S, clock: &FakeClock) {
        let t = JobTracker::new(DEFAULT_TTL_SECONDS).unwrap();
        for id in ["old-1", "old-2", "new-1"] {
            block_on(t.create(store, clock, &NoLog, id, &Map::new())).unwrap();
            if id == "old-2" {
                clock.advance(HOUR);
            }
        }
        let removed = block_on(t.cleanup(store, &NoLog, clock.now_ms() - HOUR / 2, 1)).unwrap();
        assert_eq!((removed.scanned, removed.deleted, removed.failed), (3, 2, 0));
        for (id, kept) in [("old-1", false), ("old-2", false), ("new-1", true)] {
            assert_eq!(block_on(store.get(&keys::job_status(id))).unwrap().is_some(), kept, "{id}'s mirror");
            assert_eq!(block_on(t.get(store, id)).unwrap().is_some(), kept, "{id}");
        }
        assert_eq!(block_on(t.list(store, &NoLog, None, None, 10, None)).unwrap().files.len(), 1);
    }

    #[test]
    fn cleanup_removes_old_jobs_with_their_legacy_mirror() {
        let (clock, store) = setup();
        cleanup_case(&store, &clock);
        let (clock, store) = setup();
        cleanup_case(&NoCas(store), &clock);
    }
}
