//! The daily job: one job per workflow and window, however many runs ask
//! at once. It is stored under our pointer and under the dated key
//! fc-connect-sdk 0.1.56 reads, kept equal.
//!
//! Every operation runs in a [`DailyJobs`] value: the store, clock and log
//! it works with and the workflow it is about, checked once.

use crate::clock::{iso_from_ms, ms_from_iso, utc_date, Clock, Fischer, Sleep};
use crate::error::{ErrorCode, Result, StateError};
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{retrying, Check, Entry, Mutation, Store};
use crate::values::{as_object, count_field, str_field};
use serde_json::{json, Map, Value};
use std::future::Future;

const DAY_MS: i64 = 86_400_000;

/// How `get_or_create_daily_job` decides what "today's job" is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyOptions {
    /// How long one job is reused.
    pub window_ms: i64,
    /// Windows start at UTC midnight (and multiples of the window) instead
    /// of when the job was made.
    pub align_utc: bool,
    /// How long the record lives after creation (default: to the window's end).
    pub expires_ms: Option<i64>,
    /// How long one run may take to create the job before another may try.
    pub lease_ms: i64,
    /// How often waiting runs look for the job.
    pub poll_ms: u64,
    /// On a store without compare-and-set: the longest a write may take to
    /// land. The reservation then waits it out (Fischer), so `create` runs
    /// once per window under that bound. None: best-effort.
    pub max_write_delay_ms: Option<u64>,
}

impl Default for DailyOptions {
    fn default() -> Self {
        DailyOptions {
            window_ms: 86_400_000,
            align_utc: false,
            expires_ms: None,
            lease_ms: 120_000,
            poll_ms: 100,
            max_write_delay_ms: None,
        }
    }
}

/// The record a run writes while it creates the daily job.
fn reservation_value(owner: &str, now: i64, lease_ms: i64) -> Value {
    json!({ "owner": owner, "reservedAt": iso_from_ms(now), "leaseExpiresAt": iso_from_ms(now + lease_ms) })
}

impl DailyOptions {
    fn window_start(&self, now: i64) -> i64 {
        if self.align_utc {
            now - now.rem_euclid(self.window_ms)
        } else {
            now - self.window_ms
        }
    }
}

/// A daily job as stored: `{jobId, createdAt, expiresAt, batchCount}`.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyJob {
    /// The stored record.
    pub value: Map<String, Value>,
    /// When it stops being the live job.
    pub expires_at_ms: i64,
    /// When it was made, where the record says.
    pub created_at_ms: Option<i64>,
}

/// Reads a stored daily job; CORRUPT_STATE when it lacks its fields.
pub fn parse_daily_job(key: &Key, entry: &Entry) -> Result<DailyJob> {
    let object = as_object(&key.display(), &entry.value)?;
    if str_field(object, "jobId").is_none() {
        return Err(StateError::corrupt(&key.display(), "no jobId"));
    }
    let expires_at_ms = str_field(object, "expiresAt")
        .and_then(ms_from_iso)
        .ok_or_else(|| StateError::corrupt(&key.display(), "expiresAt is not an ISO date"))?;
    Ok(DailyJob { created_at_ms: str_field(object, "createdAt").and_then(ms_from_iso), value: object.clone(), expires_at_ms })
}

/// The daily job of one workflow, on one store, with one clock and log.
pub struct DailyJobs<'a, S, C, L> {
    store: &'a S,
    clock: &'a C,
    log: &'a L,
    workflow_id: &'a str,
}

impl<'a, S: Store, C: Clock, L: Logger> DailyJobs<'a, S, C, L> {
    /// INVALID_ARGUMENT when `workflow_id` cannot be a key part.
    pub fn new(store: &'a S, clock: &'a C, log: &'a L, workflow_id: &'a str) -> Result<Self> {
        keys::check_name("workflowId", workflow_id)?;
        Ok(DailyJobs { store, clock, log, workflow_id })
    }

    /// The live job and where it is stored: our pointer first, then the dated
    /// keys 0.1.56 writes (today's and yesterday's: a job made yesterday
    /// evening is still live this morning).
    pub async fn find(&self, now: i64) -> Result<Option<(Key, Entry, DailyJob)>> {
        let (store, workflow_id) = (self.store, self.workflow_id);
        let candidates = [
            keys::daily_job_current(workflow_id),
            keys::daily_job_dated(workflow_id, &utc_date(now)),
            keys::daily_job_dated(workflow_id, &utc_date(now - DAY_MS)),
        ];
        for key in candidates {
            if let Some(entry) = store.get(&key).await? {
                let job = parse_daily_job(&key, &entry)?;
                if job.expires_at_ms > now {
                    return Ok(Some((key, entry, job)));
                }
            }
        }
        Ok(None)
    }

    /// The live job, if there is one.
    pub async fn get(&self) -> Result<Option<Value>> {
        Ok(self.find(self.clock.now_ms()).await?.map(|(_, _, job)| Value::Object(job.value)))
    }

    /// Stores the job under our pointer and under 0.1.56's dated key, in one
    /// atomic write, so both packages find it.
    pub async fn set(&self, job_id: &str, expiration_hours: f64) -> Result<Value> {
        let (store, clock, log, workflow_id) = (self.store, self.clock, self.log, self.workflow_id);
        keys::check_name("jobId", job_id)?;
        if !(expiration_hours.is_finite() && expiration_hours > 0.0) {
            return Err(StateError::invalid("expirationHours", "must be a positive number of hours"));
        }
        let now = clock.now_ms();
        let expires = now.saturating_add((expiration_hours * 3_600_000.0) as i64);
        let job = json!({"jobId": job_id, "createdAt": iso_from_ms(now), "expiresAt": iso_from_ms(expires), "batchCount": 0});
        let writes = [
            Mutation::set(keys::daily_job_current(workflow_id), job.clone()),
            Mutation::set(keys::daily_job_dated(workflow_id, &utc_date(now)), job.clone()),
        ];
        store.atomic(&[], &writes).await?;
        log.log(Level::Info, "Daily job stored", json!({"jobId": job_id, "expiresAt": job["expiresAt"]}));
        Ok(job)
    }

    /// Adds `by` to the live job's batchCount atomically; returns the new count.
    pub async fn increment(&self, by: u64) -> Result<u64> {
        let (store, clock, workflow_id) = (self.store, self.clock, self.workflow_id);
        retrying(
            store,
            || "the daily job's batchCount".to_string(),
            async || {
                let now = clock.now_ms();
                let Some((key, entry, mut job)) = self.find(now).await? else {
                    return Err(StateError::new(
                        ErrorCode::NotFound,
                        format!("no live daily job for workflow {workflow_id:?}; create one with jobs.getOrCreateDailyJob(workflowId, create) (or 0.1.56's setDailyJob) first"),
                    ));
                };
                let count = count_field(&job.value, "batchCount").unwrap_or(0) + by;
                job.value.insert("batchCount".into(), json!(count));
                let value = Value::Object(job.value);
                let dated = keys::daily_job_dated(workflow_id, &utc_date(job.created_at_ms.unwrap_or(now)));
                let current = keys::daily_job_current(workflow_id);
                let mut writes = vec![Mutation::set(key.clone(), value.clone())];
                // Keep both copies equal; the checked key is the source of truth.
                for mirror in [current, dated] {
                    if mirror != key {
                        writes.push(Mutation::set(mirror, value.clone()));
                    }
                }
                if store.atomic(&[Check::of(&key, Some(&entry))], &writes).await? {
                    return Ok(Some(count));
                }
                Ok(None)
            },
        )
        .await
    }

    /// The daily job for the current window, created by
    /// `create` (which resolves the new job's id) if there is none. Of any
    /// number of concurrent callers on a compare-and-set store exactly one
    /// calls `create`; the others wait for its job and return the same one.
    /// Returns the job and whether this call created it.
    pub async fn get_or_create<T, F, Fut>(&self, timer: &T, owner: &str, options: &DailyOptions, mut create: F) -> Result<(Value, bool)>
    where
        T: Sleep,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<String>>,
    {
        let (store, clock, log, workflow_id) = (self.store, self.clock, self.log, self.workflow_id);
        if options.window_ms <= 0 || options.lease_ms <= 0 || options.expires_ms.is_some_and(|e| e <= 0) {
            return Err(StateError::invalid("options", "windowHours, expiresInHours and leaseMs must be positive"));
        }
        let claim_key = keys::daily_job_claim(workflow_id);
        let current_key = keys::daily_job_current(workflow_id);
        let started = clock.now_ms();
        let give_up = started + 2 * options.lease_ms;
        loop {
            let now = clock.now_ms();
            if let Some((_, _, job)) = self.find(now).await? {
                if job.created_at_ms.is_some_and(|c| c >= options.window_start(now)) {
                    return Ok((Value::Object(job.value), false));
                }
            }
            let claim = store.get(&claim_key).await?;
            let held_by_other = claim.as_ref().is_some_and(|c| {
                let field = |name: &str| c.value.get(name).and_then(Value::as_str);
                let lease = field("leaseExpiresAt").and_then(ms_from_iso).unwrap_or(0);
                lease > now && field("owner") != Some(owner)
            });
            if held_by_other {
                if now >= give_up {
                    return Err(StateError::new(
                        ErrorCode::Conflict,
                        format!(
                            "another run has been creating the daily job of {workflow_id:?} for over {} ms; retry later",
                            now - started
                        ),
                    ));
                }
                timer.sleep(options.poll_ms).await;
                continue;
            }
            let current = store.get(&current_key).await?;
            // The reservation is checked against this read of the pointer, so if
            // it already holds this window's job (stored since `find` above),
            // go round and return that instead of creating another.
            if let Some(entry) = &current {
                let stored = parse_daily_job(&current_key, entry)?;
                if stored.expires_at_ms > now && stored.created_at_ms.is_some_and(|c| c >= options.window_start(now)) {
                    continue;
                }
            }
            let reservation = reservation_value(owner, now, options.lease_ms);
            let lease = Some(options.lease_ms as u64);
            if let (Some(bound), false) = (options.max_write_delay_ms, store.capabilities().compare_and_set) {
                // Fischer, as locks do: write, wait until every racing write
                // has landed, and go on only if the reservation is ours.
                let fischer = Fischer::read_at(now, bound);
                store.set(&claim_key, &reservation, lease).await?;
                if fischer.overran(clock).is_some() {
                    fischer.settle(clock, timer, options.poll_ms).await;
                    continue;
                }
                fischer.settle(clock, timer, 0).await;
                let mine = store.get(&claim_key).await?.is_some_and(|c| c.value.get("owner").and_then(Value::as_str) == Some(owner));
                if !mine {
                    continue;
                }
            } else {
                let checks = [Check::of(&claim_key, claim.as_ref()), Check::of(&current_key, current.as_ref())];
                if !store.atomic(&checks, &[Mutation::set_expiring(claim_key.clone(), reservation, lease)]).await? {
                    continue;
                }
            }
            let job_id = match create().await {
                Ok(id) => id,
                Err(e) => {
                    let _ = store.delete(&claim_key).await;
                    return Err(e);
                }
            };
            if let Err(e) = keys::check_name("jobId", &job_id) {
                let _ = store.delete(&claim_key).await;
                return Err(e);
            }
            let now = clock.now_ms();
            let expires = match options.expires_ms {
                Some(ms) => now.saturating_add(ms),
                None if options.align_utc => options.window_start(now) + options.window_ms,
                None => now.saturating_add(options.window_ms),
            };
            let job = json!({ "jobId": job_id, "createdAt": iso_from_ms(now), "expiresAt": iso_from_ms(expires), "batchCount": 0 });
            let writes = [
                Mutation::set(current_key.clone(), job.clone()),
                Mutation::set(keys::daily_job_dated(workflow_id, &utc_date(now)), job.clone()),
                Mutation::delete(claim_key.clone()),
            ];
            if store.atomic(&[Check::of(&current_key, current.as_ref())], &writes).await? {
                log.log(
                    Level::Info,
                    &format!("Daily job {job_id} created for {workflow_id}"),
                    json!({ "jobId": job_id, "expiresAt": job["expiresAt"] }),
                );
                return Ok((job, true));
            }
            log.log(
                Level::Warn,
                &format!("Daily job {job_id} was created, but another run stored its job first (our lease ran out); {job_id} is unused"),
                json!({ "jobId": job_id }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::log::NoLog;
    use crate::memory::MemoryStore;
    use crate::testing::Yielding;
    use futures::executor::block_on;
    use std::cell::Cell;
    use std::rc::Rc;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00Z
    const HOUR: i64 = 3_600_000;

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        crate::testing::memory_at(T0 + 10 * HOUR)
    }

    /// 2026-11-28T23:00:00Z, an hour before a UTC midnight.
    fn before_midnight() -> (Rc<FakeClock>, MemoryStore) {
        crate::testing::memory_at(1_795_906_800_000)
    }

    fn daily<'a, S: Store>(store: &'a S, clock: &'a FakeClock, workflow_id: &'a str) -> DailyJobs<'a, S, FakeClock, NoLog> {
        DailyJobs::new(store, clock, &NoLog, workflow_id).unwrap()
    }

    /// Sleeping moves the fake clock and lets other tasks run.
    struct FakeTimer(Rc<FakeClock>);

    impl Sleep for FakeTimer {
        async fn sleep(&self, ms: u64) {
            self.0.advance(ms as i64);
            crate::testing::yield_now().await;
        }
    }

    #[test]
    fn daily_job_is_found_across_midnight_and_counts_batches() {
        let (clock, store) = before_midnight();
        block_on(async {
            daily(&store, &clock, "wf").set("job-1", 24.0).await.unwrap();
            clock.advance(2 * HOUR); // 01:00 the next UTC day
            let job = daily(&store, &clock, "wf").get().await.unwrap().unwrap();
            assert_eq!(job["jobId"], "job-1");
            assert_eq!(daily(&store, &clock, "wf").increment(1).await.unwrap(), 1);
            assert_eq!(daily(&store, &clock, "wf").increment(2).await.unwrap(), 3);
            // 0.1.56 reads the dated key of the day it was made: kept in step.
            let dated = store.get(&keys::daily_job_dated("wf", "2026-11-28")).await.unwrap().unwrap();
            assert_eq!(dated.value["batchCount"], 3);
            clock.advance(22 * HOUR + 1);
            assert_eq!(daily(&store, &clock, "wf").get().await.unwrap(), None);
            assert_eq!(daily(&store, &clock, "wf").increment(1).await.unwrap_err().code, ErrorCode::NotFound);
        });
    }

    #[test]
    fn a_daily_job_written_by_0_1_56_is_found() {
        let (clock, store) = before_midnight();
        block_on(async {
            let legacy = json!({"jobId": "old", "createdAt": iso_from_ms(clock.now_ms()), "expiresAt": iso_from_ms(clock.now_ms() + 24 * HOUR), "batchCount": 0});
            store.set(&keys::daily_job_dated("wf", &utc_date(clock.now_ms())), &legacy, None).await.unwrap();
            clock.advance(3 * HOUR);
            assert_eq!(daily(&store, &clock, "wf").get().await.unwrap().unwrap()["jobId"], "old");
        });
    }

    #[test]
    fn concurrent_batch_increments_are_not_lost() {
        let (clock, mem) = before_midnight();
        let store = Yielding::new(mem);
        block_on(daily(&store, &clock, "wf").set("j", 24.0)).unwrap();
        let jobs = daily(&store, &clock, "wf");
        let runs = (0..25).map(|_| jobs.increment(1));
        for r in block_on(futures::future::join_all(runs)) {
            r.unwrap();
        }
        assert_eq!(block_on(daily(&store, &clock, "wf").get()).unwrap().unwrap()["batchCount"], 25);
    }

    #[test]
    fn concurrent_runs_create_one_daily_job_per_window() {
        for round in 0..12 {
            let (clock, memory) = setup();
            let store = Yielding::new(&memory);
            let timer = FakeTimer(clock.clone());
            let calls = Cell::new(0);
            let options = DailyOptions::default();
            let slow = round * 3;
            let runs = (0..12).map(|i| {
                let (store, clock, timer, calls) = (&store, &clock, &timer, &calls);
                async move {
                    let owner = format!("run-{i}");
                    daily(store, clock, "wf")
                        .get_or_create(timer, &owner, &options, || async {
                            calls.set(calls.get() + 1);
                            for _ in 0..=slow {
                                crate::testing::yield_now().await;
                            }
                            Ok(format!("job-{round}-{i}"))
                        })
                        .await
                        .unwrap()
                }
            });
            let results = block_on(futures::future::join_all(runs));
            assert_eq!(calls.get(), 1, "round {round}");
            let ids: std::collections::HashSet<_> = results.iter().map(|(j, _)| j["jobId"].clone()).collect();
            assert_eq!(ids.len(), 1, "round {round}: {ids:?}");
            assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
        }
    }

    #[test]
    fn windows_roll_or_align_to_utc_days() {
        let (clock, store) = setup();
        let timer = FakeTimer(clock.clone());
        let n = Cell::new(0);
        let make = || async {
            n.set(n.get() + 1);
            Ok(format!("job-{}", n.get()))
        };
        let rolling = DailyOptions::default();
        let (a, _) = block_on(daily(&store, &clock, "wf").get_or_create(&timer, "me", &rolling, make)).unwrap();
        clock.advance(20 * HOUR); // 06:00 next day: still inside 24 h
        assert_eq!(block_on(daily(&store, &clock, "wf").get_or_create(&timer, "me", &rolling, make)).unwrap().0["jobId"], a["jobId"]);
        clock.advance(5 * HOUR);
        let (b, created) = block_on(daily(&store, &clock, "wf").get_or_create(&timer, "me", &rolling, make)).unwrap();
        assert!(created && b["jobId"] != a["jobId"]);

        let aligned = DailyOptions { align_utc: true, ..DailyOptions::default() };
        let (c, _) = block_on(daily(&store, &clock, "wf2").get_or_create(&timer, "me", &aligned, make)).unwrap();
        assert!(c["expiresAt"].as_str().unwrap().ends_with("T00:00:00.000Z"));
        clock.advance(14 * HOUR); // past midnight UTC
        let (d, created) = block_on(daily(&store, &clock, "wf2").get_or_create(&timer, "me", &aligned, make)).unwrap();
        assert!(created && d["jobId"] != c["jobId"]);
    }

    #[test]
    fn a_failing_create_frees_the_window_for_the_next_run() {
        let (clock, store) = setup();
        let timer = FakeTimer(clock.clone());
        let options = DailyOptions::default();
        let err = block_on(
            daily(&store, &clock, "wf")
                .get_or_create(&timer, "a", &options, || async { Err::<String, _>(StateError::store("create", "API down")) }),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::StoreUnavailable);
        let (job, created) =
            block_on(daily(&store, &clock, "wf").get_or_create(&timer, "b", &options, || async { Ok("job-b".to_string()) })).unwrap();
        assert!(created);
        assert_eq!(job["jobId"], json!("job-b"));
        // 0.1.56's getDailyJob key holds it too.
        assert!(block_on(store.get(&keys::daily_job_dated("wf", &utc_date(clock.now_ms())))).unwrap().is_some());
    }
}
