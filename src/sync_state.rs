//! Sync state, processed-file records, metrics and the daily job of
//! StateService, on 0.1.56's keys and record shapes.

use crate::clock::{iso_from_ms, ms_from_iso, utc_date, Clock};
use crate::error::{ErrorCode, Result, StateError};
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{conflict, Check, Entry, Mutation, Store, MAX_CAS_ATTEMPTS};
use crate::values::{as_object, check_value_size, count_field, str_field};
use serde_json::{json, Map, Value};

const DAY_MS: i64 = 86_400_000;

/// `{ isInitialized: false }` when nothing is stored, like 0.1.56.
pub async fn get_sync_state<S: Store>(store: &S, workflow_id: Option<&str>) -> Result<Value> {
    let key = keys::sync_state(workflow_id);
    match store.get(&key).await? {
        Some(entry) => {
            as_object(&key.display(), &entry.value)?;
            Ok(entry.value)
        }
        None => Ok(json!({ "isInitialized": false })),
    }
}

/// One processed file as callers pass it: `{fileName, lastModified,
/// recordCount?, ...}`. Extra fields are kept, as 0.1.56 kept them.
pub fn check_processed_file(index: usize, file: &Value) -> Result<&Map<String, Value>> {
    let arg = format!("processedFiles[{index}]");
    let object = file.as_object().ok_or_else(|| StateError::invalid(&arg, "must be an object {fileName, lastModified, recordCount?}"))?;
    match object.get("fileName") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(StateError::invalid(&format!("{arg}.fileName"), "must be a non-empty string")),
    }
    if !matches!(object.get("lastModified"), Some(Value::String(_))) {
        return Err(StateError::invalid(
            &format!("{arg}.lastModified"),
            "must be a string (an ISO date, as 0.1.56 compared them as strings)",
        ));
    }
    match object.get("recordCount") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_f64().is_some_and(|f| f >= 0.0) => {}
        Some(_) => return Err(StateError::invalid(&format!("{arg}.recordCount"), "must be a non-negative number when given")),
    }
    Ok(object)
}

fn record_count(object: &Map<String, Value>) -> f64 {
    object.get("recordCount").and_then(Value::as_f64).unwrap_or(0.0)
}

/// Records each file (counting it once in the metrics however often it is
/// marked), then the sync state. Files first: a crash in between leaves the
/// files recorded and the sync state behind, which only repeats a check.
pub async fn update_sync_state<S: Store, C: Clock, L: Logger>(
    store: &S,
    clock: &C,
    log: &L,
    files: &[Value],
    workflow_id: Option<&str>,
) -> Result<()> {
    let checked: Vec<&Map<String, Value>> = files.iter().enumerate().map(|(i, f)| check_processed_file(i, f)).collect::<Result<_>>()?;
    let Some(last) = checked.last() else { return Ok(()) };
    let now = clock.now_ms();
    let records: Vec<(Key, Value)> = checked
        .iter()
        .map(|file| {
            let name = str_field(file, "fileName").unwrap_or_default();
            let key = keys::processed_file(workflow_id, name);
            let mut record = (*file).clone();
            record.insert("processedAt".into(), Value::String(iso_from_ms(now)));
            (key, Value::Object(record))
        })
        .collect();
    for (key, record) in &records {
        key.check_size()?;
        check_value_size("a processed-file record", record)?;
    }
    // Checks per atomic write stay within a denokv server's limit of 10:
    // up to 9 records and the totals.
    for chunk in records.chunks(9) {
        record_files(store, workflow_id, chunk).await?;
    }
    let latest = checked.iter().filter_map(|f| str_field(f, "lastModified")).max().unwrap_or_default();
    let total: f64 = checked.iter().map(|f| record_count(f)).sum();
    let state = json!({
        "lastProcessedTimestamp": latest,
        "lastProcessedFile": str_field(last, "fileName"),
        "lastProcessedCount": total,
        "isInitialized": true,
        "lastSyncResult": "success",
    });
    store.set(&keys::sync_state(workflow_id), &state, None).await?;
    log.log(Level::Info, "Sync state updated", json!({"filesProcessed": checked.len(), "lastTimestamp": latest}));
    Ok(())
}

/// Writes a batch of file records and moves the totals by what changed, in
/// one atomic write checked against every record and the totals as read:
/// concurrent runs never double-count. A name given twice counts once (the
/// later record wins).
async fn record_files<S: Store>(store: &S, workflow_id: Option<&str>, records: &[(Key, Value)]) -> Result<()> {
    let metrics_key = keys::metrics(workflow_id);
    let mut latest: Vec<&(Key, Value)> = Vec::with_capacity(records.len());
    for item in records {
        match latest.iter_mut().find(|(k, _)| *k == item.0) {
            Some(slot) => *slot = item,
            None => latest.push(item),
        }
    }
    for attempt in 0..MAX_CAS_ATTEMPTS {
        store.backoff(attempt).await;
        let mut previous = Vec::with_capacity(latest.len());
        for (key, _) in &latest {
            previous.push(store.get(key).await?);
        }
        let metrics = store.get(&metrics_key).await?;
        let (mut files, mut total) = match &metrics {
            Some(entry) => {
                let object = as_object(&metrics_key.display(), &entry.value)?;
                (count_field(object, "totalFiles").unwrap_or(0), object.get("totalRecords").and_then(Value::as_f64).unwrap_or(0.0))
            }
            None => (0, 0.0),
        };
        let mut checks = Vec::with_capacity(latest.len() + 1);
        let mut writes = Vec::with_capacity(latest.len() + 1);
        for ((key, record), old) in latest.iter().zip(&previous) {
            match old.as_ref().and_then(|e| e.value.as_object()) {
                Some(old) => total -= record_count(old),
                None => files += 1,
            }
            total += record.as_object().map(record_count).unwrap_or(0.0);
            checks.push(Check::of(key, old.as_ref()));
            writes.push(Mutation::Set { key: key.clone(), value: record.clone(), expire_in_ms: None });
        }
        checks.push(Check::of(&metrics_key, metrics.as_ref()));
        writes.push(Mutation::Set {
            key: metrics_key.clone(),
            value: json!({"totalFiles": files, "totalRecords": total}),
            expire_in_ms: None,
        });
        if store.atomic(&checks, &writes).await? {
            return Ok(());
        }
    }
    Err(conflict("the processed-file totals"))
}

pub async fn is_file_processed<S: Store>(store: &S, file_name: &str, workflow_id: Option<&str>) -> Result<bool> {
    keys::check_name("fileName", file_name)?;
    let key = keys::processed_file(workflow_id, file_name);
    key.check_size()?;
    Ok(store.get(&key).await?.is_some_and(|e| !e.value.is_null()))
}

/// `{ totalFiles, totalRecords, lastProcessedTime? }`: real running totals
/// over every distinct file recorded through updateSyncState.
pub async fn get_metrics<S: Store>(store: &S, workflow_id: Option<&str>) -> Result<Value> {
    let state = get_sync_state(store, workflow_id).await?;
    let key = keys::metrics(workflow_id);
    let mut metrics = match store.get(&key).await? {
        Some(entry) => {
            let object = as_object(&key.display(), &entry.value)?;
            json!({
                "totalFiles": count_field(object, "totalFiles").unwrap_or(0),
                "totalRecords": object.get("totalRecords").and_then(Value::as_f64).unwrap_or(0.0),
            })
        }
        // Written by 0.1.56 only: its totals were the last batch's.
        None => json!({"totalFiles": 0, "totalRecords": state.get("lastProcessedCount").and_then(Value::as_f64).unwrap_or(0.0)}),
    };
    if let Some(time) = state.get("lastProcessedTimestamp").filter(|v| !v.is_null()) {
        metrics["lastProcessedTime"] = time.clone();
    }
    Ok(metrics)
}

/// A daily job as stored: `{jobId, createdAt, expiresAt, batchCount}`.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyJob {
    pub value: Map<String, Value>,
    pub expires_at_ms: i64,
    pub created_at_ms: Option<i64>,
}

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

/// The live job and where it is stored: our pointer first, then the dated
/// keys 0.1.56 writes (today's and yesterday's: a job made yesterday
/// evening is still live this morning).
pub async fn find_daily_job<S: Store>(store: &S, now: i64, workflow_id: &str) -> Result<Option<(Key, Entry, DailyJob)>> {
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

pub async fn get_daily_job<S: Store, C: Clock>(store: &S, clock: &C, workflow_id: &str) -> Result<Option<Value>> {
    keys::check_name("workflowId", workflow_id)?;
    Ok(find_daily_job(store, clock.now_ms(), workflow_id).await?.map(|(_, _, job)| Value::Object(job.value)))
}

/// Stores the job under our pointer and under 0.1.56's dated key, in one
/// atomic write, so both packages find it.
pub async fn set_daily_job<S: Store, C: Clock, L: Logger>(
    store: &S,
    clock: &C,
    log: &L,
    workflow_id: &str,
    job_id: &str,
    expiration_hours: f64,
) -> Result<Value> {
    keys::check_name("workflowId", workflow_id)?;
    keys::check_name("jobId", job_id)?;
    if !(expiration_hours.is_finite() && expiration_hours > 0.0) {
        return Err(StateError::invalid("expirationHours", "must be a positive number of hours"));
    }
    let now = clock.now_ms();
    let expires = now.saturating_add((expiration_hours * 3_600_000.0) as i64);
    let job = json!({"jobId": job_id, "createdAt": iso_from_ms(now), "expiresAt": iso_from_ms(expires), "batchCount": 0});
    let writes = [
        Mutation::Set { key: keys::daily_job_current(workflow_id), value: job.clone(), expire_in_ms: None },
        Mutation::Set { key: keys::daily_job_dated(workflow_id, &utc_date(now)), value: job.clone(), expire_in_ms: None },
    ];
    store.atomic(&[], &writes).await?;
    log.log(Level::Info, "Daily job stored", json!({"jobId": job_id, "expiresAt": job["expiresAt"]}));
    Ok(job)
}

/// Adds `by` to the live job's batchCount atomically; returns the new count.
pub async fn increment_daily_batch_count<S: Store, C: Clock>(store: &S, clock: &C, workflow_id: &str, by: u64) -> Result<u64> {
    keys::check_name("workflowId", workflow_id)?;
    for attempt in 0..MAX_CAS_ATTEMPTS {
        store.backoff(attempt).await;
        let now = clock.now_ms();
        let Some((key, entry, mut job)) = find_daily_job(store, now, workflow_id).await? else {
            return Err(StateError::new(
                ErrorCode::NotFound,
                format!("no live daily job for workflow {workflow_id:?}; create one with setDailyJob first"),
            ));
        };
        let count = count_field(&job.value, "batchCount").unwrap_or(0) + by;
        job.value.insert("batchCount".into(), json!(count));
        let value = Value::Object(job.value);
        let dated = keys::daily_job_dated(workflow_id, &utc_date(job.created_at_ms.unwrap_or(now)));
        let current = keys::daily_job_current(workflow_id);
        let mut writes = vec![Mutation::Set { key: key.clone(), value: value.clone(), expire_in_ms: None }];
        // Keep both copies equal; the checked key is the source of truth.
        for mirror in [current, dated] {
            if mirror != key {
                writes.push(Mutation::Set { key: mirror, value: value.clone(), expire_in_ms: None });
            }
        }
        if store.atomic(&[Check::of(&key, Some(&entry))], &writes).await? {
            return Ok(count);
        }
    }
    Err(conflict("the daily job's batchCount"))
}

pub async fn clear_state<S: Store, C: Clock, L: Logger>(store: &S, clock: &C, log: &L, workflow_id: &str) -> Result<()> {
    keys::check_name("workflowId", workflow_id)?;
    let now = clock.now_ms();
    for key in [
        keys::sync_state(Some(workflow_id)),
        keys::metrics(Some(workflow_id)),
        keys::daily_job_current(workflow_id),
        keys::daily_job_dated(workflow_id, &utc_date(now)),
    ] {
        store.delete(&key).await?;
    }
    log.log(Level::Info, "State cleared", json!({"workflowId": workflow_id}));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::log::NoLog;
    use crate::memory::MemoryStore;
    use crate::testing::{Flaky, NoCas, Yielding};
    use futures::executor::block_on;
    use std::rc::Rc;

    const HOUR: i64 = 3_600_000;

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        // 2026-11-28T23:00:00Z
        let clock = Rc::new(FakeClock::at(1_795_906_800_000));
        (clock.clone(), MemoryStore::new(clock))
    }

    fn file(name: &str, modified: &str, count: u64) -> Value {
        json!({"fileName": name, "lastModified": modified, "recordCount": count})
    }

    #[test]
    fn sync_state_matches_0_1_56_and_metrics_are_real() {
        let (clock, store) = setup();
        block_on(async {
            assert_eq!(get_sync_state(&store, Some("wf")).await.unwrap(), json!({"isInitialized": false}));
            update_sync_state(&store, &*clock, &NoLog, &[], Some("wf")).await.unwrap();
            assert_eq!(get_sync_state(&store, Some("wf")).await.unwrap(), json!({"isInitialized": false}));
            let batch = [file("b.csv", "2026-01-02", 10), file("a.csv", "2026-01-01", 5)];
            update_sync_state(&store, &*clock, &NoLog, &batch, Some("wf")).await.unwrap();
            let state = get_sync_state(&store, Some("wf")).await.unwrap();
            assert_eq!(state["lastProcessedTimestamp"], "2026-01-02");
            assert_eq!(state["lastProcessedFile"], "a.csv");
            assert_eq!(state["lastProcessedCount"], 15.0);
            assert_eq!(state["lastSyncResult"], "success");
            assert!(is_file_processed(&store, "a.csv", Some("wf")).await.unwrap());
            assert!(!is_file_processed(&store, "a.csv", None).await.unwrap());
            // Re-marking a file replaces its count instead of adding a file.
            update_sync_state(&store, &*clock, &NoLog, &[file("a.csv", "2026-01-03", 7), file("c.csv", "2026-01-03", 1)], Some("wf"))
                .await
                .unwrap();
            let metrics = get_metrics(&store, Some("wf")).await.unwrap();
            assert_eq!(metrics["totalFiles"], 3);
            assert_eq!(metrics["totalRecords"], 18.0);
            assert_eq!(metrics["lastProcessedTime"], "2026-01-03");
            let record = store.get(&keys::processed_file(Some("wf"), "c.csv")).await.unwrap().unwrap().value;
            assert_eq!(record["processedAt"], iso_from_ms(clock.now_ms()));
        });
    }

    #[test]
    fn a_big_batch_with_repeated_names_counts_each_file_once_in_few_writes() {
        let (clock, store) = setup();
        // 25 entries, 20 distinct names (5 repeated, the later count wins):
        // 3 atomic writes of at most 9 records, not one per file.
        let files: Vec<Value> = (0..25).map(|i| file(&format!("f{}", i % 20), "2026-01-01", if i >= 20 { 3 } else { 1 })).collect();
        let crashing = crate::testing::CrashAfterWrites::new(&store, 3, false);
        // The 4th write (the sync state) fails: by then every file is in.
        block_on(update_sync_state(&crashing, &*clock, &NoLog, &files, None)).unwrap_err();
        assert_eq!(block_on(get_metrics(&store, None)).unwrap()["totalFiles"], 20);
        assert_eq!(block_on(get_sync_state(&store, None)).unwrap(), json!({"isInitialized": false}));
        block_on(update_sync_state(&store, &*clock, &NoLog, &files, None)).unwrap();
        let metrics = block_on(get_metrics(&store, None)).unwrap();
        assert_eq!(metrics["totalFiles"], 20);
        assert_eq!(metrics["totalRecords"], 15.0 + 5.0 * 3.0);
    }

    #[test]
    fn concurrent_updates_count_every_file_once() {
        let (clock, mem) = setup();
        let store = Yielding::new(mem);
        let runs = (0..10).map(|r| {
            let files: Vec<Value> = (0..5).map(|i| file(&format!("f{}", (r * 3 + i) % 20), "2026-01-01", 1)).collect();
            let (store, clock) = (&store, clock.clone());
            async move { update_sync_state(store, &*clock, &NoLog, &files, None).await }
        });
        for r in block_on(futures::future::join_all(runs)) {
            r.unwrap();
        }
        let metrics = block_on(get_metrics(&store, None)).unwrap();
        let distinct: std::collections::HashSet<usize> = (0..10).flat_map(|r| (0..5).map(move |i| (r * 3 + i) % 20)).collect();
        assert_eq!(metrics["totalFiles"], distinct.len());
        assert_eq!(metrics["totalRecords"], distinct.len() as f64);
    }

    #[test]
    fn bad_file_lists_are_rejected_before_any_write() {
        let (clock, store) = setup();
        let bad = [file("ok.csv", "x", 1), json!({"fileName": "", "lastModified": "x"})];
        let err = block_on(update_sync_state(&store, &*clock, &NoLog, &bad, None)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert!(err.message.contains("processedFiles[1].fileName"), "{}", err.message);
        assert!(!block_on(is_file_processed(&store, "ok.csv", None)).unwrap());
    }

    #[test]
    fn daily_job_is_found_across_midnight_and_counts_batches() {
        let (clock, store) = setup();
        block_on(async {
            set_daily_job(&store, &*clock, &NoLog, "wf", "job-1", 24.0).await.unwrap();
            clock.advance(2 * HOUR); // 01:00 the next UTC day
            let job = get_daily_job(&store, &*clock, "wf").await.unwrap().unwrap();
            assert_eq!(job["jobId"], "job-1");
            assert_eq!(increment_daily_batch_count(&store, &*clock, "wf", 1).await.unwrap(), 1);
            assert_eq!(increment_daily_batch_count(&store, &*clock, "wf", 2).await.unwrap(), 3);
            // 0.1.56 reads the dated key of the day it was made: kept in step.
            let dated = store.get(&keys::daily_job_dated("wf", "2026-11-28")).await.unwrap().unwrap();
            assert_eq!(dated.value["batchCount"], 3);
            clock.advance(22 * HOUR + 1);
            assert_eq!(get_daily_job(&store, &*clock, "wf").await.unwrap(), None);
            assert_eq!(increment_daily_batch_count(&store, &*clock, "wf", 1).await.unwrap_err().code, ErrorCode::NotFound);
        });
    }

    #[test]
    fn a_daily_job_written_by_0_1_56_is_found() {
        let (clock, store) = setup();
        block_on(async {
            let legacy = json!({"jobId": "old", "createdAt": iso_from_ms(clock.now_ms()), "expiresAt": iso_from_ms(clock.now_ms() + 24 * HOUR), "batchCount": 0});
            store.set(&keys::daily_job_dated("wf", &utc_date(clock.now_ms())), &legacy, None).await.unwrap();
            clock.advance(3 * HOUR);
            assert_eq!(get_daily_job(&store, &*clock, "wf").await.unwrap().unwrap()["jobId"], "old");
        });
    }

    #[test]
    fn concurrent_batch_increments_are_not_lost() {
        let (clock, mem) = setup();
        let store = Yielding::new(mem);
        block_on(set_daily_job(&store, &*clock, &NoLog, "wf", "j", 24.0)).unwrap();
        let runs = (0..25).map(|_| increment_daily_batch_count(&store, &*clock, "wf", 1));
        for r in block_on(futures::future::join_all(runs)) {
            r.unwrap();
        }
        assert_eq!(block_on(get_daily_job(&store, &*clock, "wf")).unwrap().unwrap()["batchCount"], 25);
    }

    #[test]
    fn store_failure_is_not_not_processed() {
        let (_, mem) = setup();
        let store = Flaky::failing_every_call(mem);
        assert_eq!(block_on(is_file_processed(&store, "a", None)).unwrap_err().code, ErrorCode::StoreUnavailable);
        assert_eq!(block_on(get_sync_state(&store, None)).unwrap_err().code, ErrorCode::StoreUnavailable);
    }

    #[test]
    fn works_on_a_store_without_compare_and_set() {
        let (clock, mem) = setup();
        let store = NoCas(mem);
        block_on(async {
            update_sync_state(&store, &*clock, &NoLog, &[file("a", "1", 2)], Some("wf")).await.unwrap();
            assert!(is_file_processed(&store, "a", Some("wf")).await.unwrap());
            set_daily_job(&store, &*clock, &NoLog, "wf", "j", 1.0).await.unwrap();
            assert_eq!(increment_daily_batch_count(&store, &*clock, "wf", 1).await.unwrap(), 1);
            clear_state(&store, &*clock, &NoLog, "wf").await.unwrap();
            assert_eq!(get_daily_job(&store, &*clock, "wf").await.unwrap(), None);
        });
    }
}
