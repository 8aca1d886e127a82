//! Sync state, processed-file records, metrics and the daily job of
//! StateService, on 0.1.56's keys and record shapes.

use crate::clock::{iso_from_ms, utc_date, Clock};
use crate::error::{Result, StateError};
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{retrying, Check, Mutation, Store};
use crate::values::{as_object, check_value_size, count_field, str_field};
use serde_json::{json, Map, Value};

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
    // A damaged sync record is reported (CORRUPT_STATE, as getSyncState
    // reports it), never silently replaced: the first batch reads it with
    // its records and checks it before anything is written.
    let state_key = keys::sync_state(workflow_id);
    // Checks per atomic write stay within a denokv server's limit of 10:
    // up to 8 records and the totals (and, in the first, the sync record read
    // along: 10 keys, one getMany). An emulated write has no such limit,
    // and one batch reads and writes the totals once.
    let per_write = if store.capabilities().compare_and_set { 8 } else { records.len().max(1) };
    for (i, chunk) in records.chunks(per_write).enumerate() {
        record_files(store, workflow_id, chunk, (i == 0).then_some(&state_key)).await?;
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
    store.set(&state_key, &state, None).await?;
    log.log(Level::Info, "Sync state updated", json!({"filesProcessed": checked.len(), "lastTimestamp": latest}));
    Ok(())
}

/// Writes a batch of file records and moves the totals by what changed, in
/// one atomic write checked against every record and the totals as read:
/// concurrent runs never double-count. A name given twice counts once (the
/// later record wins).
/// `state_key`: a sync-state record to read along and refuse (CORRUPT_STATE)
/// before writing when it is damaged.
async fn record_files<S: Store>(store: &S, workflow_id: Option<&str>, records: &[(Key, Value)], state_key: Option<&Key>) -> Result<()> {
    let metrics_key = keys::metrics(workflow_id);
    let mut latest: Vec<&(Key, Value)> = Vec::with_capacity(records.len());
    for item in records {
        match latest.iter_mut().find(|(k, _)| *k == item.0) {
            Some(slot) => *slot = item,
            None => latest.push(item),
        }
    }
    retrying(
        store,
        || "the processed-file totals".to_string(),
        async || {
            // The records and the totals in one read where the store can.
            let mut keys: Vec<Key> = latest.iter().map(|(key, _)| key.clone()).collect();
            keys.push(metrics_key.clone());
            keys.extend(state_key.cloned());
            let mut previous = store.get_many(&keys).await?;
            if let Some(state_key) = state_key {
                if let Some(state) = previous.pop().flatten() {
                    as_object(&state_key.display(), &state.value)?;
                }
            }
            let metrics = previous.pop().flatten();
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
                writes.push(Mutation::set(key.clone(), record.clone()));
            }
            checks.push(Check::of(&metrics_key, metrics.as_ref()));
            writes.push(Mutation::set(metrics_key.clone(), json!({"totalFiles": files, "totalRecords": total})));
            if store.atomic(&checks, &writes).await? {
                return Ok(Some(()));
            }
            Ok(None)
        },
    )
    .await
}

/// Whether StateService recorded `file_name` as processed.
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

/// Deletes the workflow's sync state, metrics and daily job.
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
    use crate::daily_job::DailyJobs;
    use crate::error::ErrorCode;
    use crate::log::NoLog;
    use crate::memory::MemoryStore;
    use crate::testing::{Flaky, NoCas, Yielding};
    use futures::executor::block_on;
    use std::rc::Rc;

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        // 2026-11-28T23:00:00Z
        crate::testing::memory_at(1_795_906_800_000)
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
            let daily = DailyJobs::new(&store, &*clock, &NoLog, "wf").unwrap();
            daily.set("j", 1.0).await.unwrap();
            assert_eq!(daily.increment(1).await.unwrap(), 1);
            clear_state(&store, &*clock, &NoLog, "wf").await.unwrap();
            assert_eq!(daily.get().await.unwrap(), None);
        });
    }
}
