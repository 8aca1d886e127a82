//! Property tests over hostile input: key encoding is injective, and no
//! stored value, however malformed, makes an operation panic.

use crate::checkpoint::Checkpoint;
use crate::clock::{FakeClock, Random};
use crate::collection::{Collection, Filter};
use crate::error::ErrorCode;
use crate::files::FileTracker;
use crate::jobs::JobTracker;
use crate::keys::{self, Key};
use crate::locks::Locks;
use crate::log::NoLog;
use crate::memory::MemoryStore;
use crate::retry::{Policy, RetryTracker};
use crate::store::{Mutation, Store};
use crate::sync_state;
use crate::testing::NoList;
use futures::executor::block_on;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;

/// Names as hostile callers send them: any Unicode, with the characters our
/// encodings treat specially made likely.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![".{1,12}", "[a-z%/:_=. -]{1,8}", "(%[0-9A-F]{2}){1,3}", "[\\x00-\\x7f]{1,6}",]
}

/// Reverses `keys::encode_name`: if this gives back every name, no two names
/// share an encoding.
fn decode_name(encoded: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let mut rest = encoded.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// Every key one prefix (or namespace, or workflow) gives a name, labelled
/// with what it is for. Keys are compared as a store sees them: a text key
/// is a one-part array in Deno KV.
fn keys_for(prefix: &str, name: &str) -> Vec<(&'static str, Vec<String>)> {
    let mut all = vec![
        ("lock", keys::lock(name)),
        ("sync state", keys::sync_state(Some(name))),
        ("metrics", keys::metrics(Some(name))),
        ("processed file", keys::processed_file(Some(prefix), name)),
        ("processed file (default)", keys::processed_file(None, name)),
        ("daily job", keys::daily_job_current(name)),
        ("daily claim", keys::daily_job_claim(name)),
        ("tracked file", keys::tracked_file(prefix, name)),
        ("file claim", keys::file_claim(prefix, name)),
        ("indexed record (text)", keys::indexed_record_text(prefix, "processed-files", name)),
        ("indexed record", keys::indexed_record_parts(prefix, "processed-files", name)),
        ("retry record", keys::indexed_record_parts(&format!("cs:retry:{prefix}"), "retry-state", name)),
        ("index head", keys::index_head("processed-files", name)),
        ("checkpoint", keys::checkpoint_manifest(prefix, name)),
        ("checkpoint pending", keys::checkpoint_pending(prefix, name)),
    ];
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        all.push(("job", keys::job_status(name)));
    }
    all.into_iter().map(|(what, key): (&str, Key)| (what, key.parts)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn name_encoding_round_trips(name in name()) {
        let encoded = keys::encode_name(&name);
        prop_assert_eq!(decode_name(&encoded), Some(name.clone()));
        prop_assert!(!encoded.contains(':'), "an encoded name keeps no ':'");
    }

    #[test]
    fn no_two_names_or_purposes_share_a_key(prefix in "[a-z0-9:/_-]{1,8}", names in prop::collection::vec(name(), 1..6)) {
        let mut seen: HashMap<Vec<String>, (&str, String)> = HashMap::new();
        seen.insert(keys::last_processed_file(&prefix).parts, ("last processed", String::new()));
        seen.insert(keys::legacy_file_index().parts, ("0.1.56 index", String::new()));
        for name in &names {
            for (what, parts) in keys_for(&prefix, name) {
                if let Some((other, other_name)) = seen.get(&parts) {
                    prop_assert!(
                        *other == what && other_name == name,
                        "{what} of {name:?} and {other} of {other_name:?} share key {parts:?}"
                    );
                }
                seen.insert(parts, (what, name.clone()));
            }
        }
    }
}

// ---- Decoding stored state ----

struct Fixed;

impl Random for Fixed {
    fn next_f64(&self) -> f64 {
        0.5
    }
}

/// Fills a store the way a normal run does, on both store kinds: a lock,
/// sync state, tracked and indexed files, a chunked checkpoint, retries,
/// jobs and a daily job.
fn populated(store: &impl Store, clock: &FakeClock) {
    let big: String = (0..150_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    block_on(async {
        let locks = Locks::new(Some("owner".into()), "host".into());
        locks.acquire(store, clock, &NoLog, "job", 15 * MIN, "l1".into()).await.unwrap();
        sync_state::update_sync_state(
            store,
            clock,
            &NoLog,
            &[json!({ "fileName": "a.csv", "lastModified": "2026-01-01", "recordCount": 3 })],
            Some("wf"),
        )
        .await
        .unwrap();
        crate::daily_job::DailyJobs::new(store, clock, &NoLog, "wf").unwrap().set("job-1", 24.0).await.unwrap();
        let files = FileTracker::new("p", "me".into()).unwrap();
        files.mark_processed(store, clock, "a b.csv", None).await.unwrap();
        files.claim(store, clock, "c.csv", MIN, "c1".into()).await.unwrap();
        files.set_last_processed(store, "a b.csv").await.unwrap();
        let indexed = Collection::new("p").unwrap();
        for i in 0..5 {
            indexed.mark(store, clock, &NoLog, &format!("f{i}.csv"), None).await.unwrap();
        }
        Checkpoint::new("ns", "small", json!(1), None)
            .unwrap()
            .save(store, clock, &NoLog, &json!({ "n": 1 }), &json!({ "position": 1 }))
            .await
            .unwrap();
        Checkpoint::new("ns", "big", json!(1), None).unwrap().save(store, clock, &NoLog, &json!({ "s": big }), &json!({})).await.unwrap();
        let retries = RetryTracker::new("n", Policy::default()).unwrap();
        retries.record_failure(store, clock, &Fixed, &NoLog, "item", "boom").await.unwrap();
        let jobs = JobTracker::new(604_800.0).unwrap();
        jobs.create(store, clock, &NoLog, "job-1", &Map::new()).await.unwrap();
    });
}

/// Runs every read and write over whatever the store holds. Each may succeed
/// or fail with a coded error; none may panic, and none may blame the store,
/// which never fails here.
fn exercise(store: &impl Store, clock: &FakeClock) -> Vec<ErrorCode> {
    let mut codes = Vec::new();
    let mut note = |r: Result<(), crate::error::StateError>| {
        if let Err(e) = r {
            codes.push(e.code);
        }
    };
    block_on(async {
        let locks = Locks::new(Some("other".into()), "host".into());
        note(locks.info(store, clock, "job").await.map(drop));
        note(locks.acquire(store, clock, &NoLog, "job", MIN, "l2".into()).await.map(drop));
        note(locks.extend(store, clock, "job", MIN).await.map(drop));
        note(locks.release(store, clock, &NoLog, "job").await.map(drop));
        note(sync_state::get_sync_state(store, Some("wf")).await.map(drop));
        note(sync_state::get_metrics(store, Some("wf")).await.map(drop));
        note(sync_state::is_file_processed(store, "a.csv", Some("wf")).await.map(drop));
        note(
            sync_state::update_sync_state(
                store,
                clock,
                &NoLog,
                &[json!({ "fileName": "b.csv", "lastModified": "2026-01-02" })],
                Some("wf"),
            )
            .await,
        );
        let daily = crate::daily_job::DailyJobs::new(store, clock, &NoLog, "wf").unwrap();
        note(daily.get().await.map(drop));
        note(daily.increment(1).await.map(drop));
        let files = FileTracker::new("p", "other".into()).unwrap();
        note(files.get_record(store, "a b.csv").await.map(drop));
        note(files.status(store, clock, "c.csv").await.map(drop));
        note(files.claim(store, clock, "c.csv", MIN, "c2".into()).await.map(drop));
        note(files.get_last_processed(store).await.map(drop));
        note(files.mark_processed(store, clock, "a b.csv", None).await);
        let indexed = Collection::new("p").unwrap();
        note(indexed.get(store, "f1.csv").await.map(drop));
        note(indexed.list(store, &NoLog, 3, None, &Filter::default()).await.map(drop));
        note(indexed.stats(store, &NoLog).await.map(drop));
        note(indexed.verify(store, &NoLog).await.map(drop));
        note(indexed.mark(store, clock, &NoLog, "f9.csv", None).await);
        note(indexed.remove(store, &NoLog, "f2.csv").await.map(drop));
        note(indexed.rebuild(store, &NoLog).await.map(drop));
        note(indexed.cleanup(store, &NoLog, T0 + MIN, 2).await.map(drop));
        for name in ["small", "big"] {
            let cp = Checkpoint::new("ns", name, json!(1), Some(60 * MIN)).unwrap();
            note(cp.load(store, clock, &NoLog).await.map(drop));
            note(cp.save(store, clock, &NoLog, &json!({ "n": 2 }), &json!({})).await.map(drop));
        }
        let retries = RetryTracker::new("n", Policy::default()).unwrap();
        note(retries.check(store, clock, "item").await.map(drop));
        note(retries.record_failure(store, clock, &Fixed, &NoLog, "item", "again").await.map(drop));
        note(retries.list(store, &NoLog, Some("waiting"), 10, None).await.map(drop));
        note(retries.requeue(store, clock, &NoLog, "item").await.map(drop));
        let jobs = JobTracker::new(604_800.0).unwrap();
        note(jobs.get(store, "job-1").await.map(drop));
        let mut patch = Map::new();
        patch.insert("status".into(), json!("processing"));
        note(jobs.update(store, clock, &NoLog, "job-1", &patch).await.map(drop));
        note(jobs.list(store, &NoLog, None, None, 10, None).await.map(drop));
        note(jobs.stuck(store, clock, &NoLog, MIN).await.map(drop));
    });
    codes
}

/// Any JSON value, small enough to run thousands of cases quickly.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]{0,12}Z?".prop_map(Value::from),
        "[0-9a-f]{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..6).prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Field names our records use, and some they do not.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "isLocked",
            "lockId",
            "lockedAt",
            "lockedBy",
            "expiresAt",
            "fencingToken",
            "owner",
            "processedAt",
            "fileName",
            "lastModified",
            "recordCount",
            "jobId",
            "status",
            "createdAt",
            "updatedAt",
            "batchCount",
            "attempts",
            "firstFailedAt",
            "lastFailedAt",
            "nextRetryAt",
            "delayMs",
            "names",
            "pages",
            "entries",
            "next",
            "open",
            "cs:indexPage",
            "seq",
            "crc",
            "bytes",
            "chunks",
            "generation",
            "data",
            "progress",
            "version",
            "savedAt",
            "sum",
            "generations",
            "claimId",
            "claimedAt",
            "isInitialized",
        ])
        .prop_map(String::from),
        "[a-zA-Z$_]{1,6}",
    ]
}

/// What to do to one stored value.
#[derive(Debug, Clone)]
enum Damage {
    /// Replace the whole value.
    Replace(Value),
    /// Set one field (of an object value) to something else.
    Field(String, Value),
    /// Drop the field at this position.
    Drop(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        json_value().prop_map(Damage::Replace),
        (field_name(), json_value()).prop_map(|(f, v)| Damage::Field(f, v)),
        (0usize..12).prop_map(Damage::Drop),
    ]
}

fn apply(value: &Value, damage: &Damage) -> Value {
    match (value, damage) {
        (_, Damage::Replace(v)) => v.clone(),
        (Value::Object(map), Damage::Field(field, v)) => {
            let mut map = map.clone();
            map.insert(field.clone(), v.clone());
            Value::Object(map)
        }
        (Value::Object(map), Damage::Drop(i)) => {
            let mut map = map.clone();
            if let Some(field) = map.keys().nth(i % map.len().max(1)).cloned() {
                map.shift_remove(&field);
            }
            Value::Object(map)
        }
        (other, Damage::Field(_, v)) => json!([other, v]),
        (_, Damage::Drop(_)) => Value::Null,
    }
}

/// Panics once a run has made `limit` store calls: an operation that loops
/// on damaged state becomes a failing (and shrinkable) case, not a hang.
struct Budget<S> {
    inner: S,
    calls: std::cell::Cell<usize>,
    limit: usize,
}

impl<S> Budget<S> {
    fn tick(&self) {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        assert!(n <= self.limit, "more than {} store calls: an operation loops on damaged state", self.limit);
    }
}

impl<S: Store> Store for Budget<S> {
    fn capabilities(&self) -> crate::store::Capabilities {
        self.inner.capabilities()
    }
    fn identity(&self) -> Option<u64> {
        self.inner.identity()
    }
    async fn get(&self, key: &Key) -> crate::error::Result<Option<crate::store::Entry>> {
        self.tick();
        self.inner.get(key).await
    }
    async fn set(&self, key: &Key, value: &Value, e: Option<u64>) -> crate::error::Result<()> {
        self.tick();
        self.inner.set(key, value, e).await
    }
    async fn delete(&self, key: &Key) -> crate::error::Result<()> {
        self.tick();
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &[String], limit: usize, cursor: Option<&str>) -> crate::error::Result<crate::store::ListPage> {
        self.tick();
        self.inner.list(prefix, limit, cursor).await
    }
    async fn commit(
        &self,
        checks: &[crate::store::Check],
        mutations: &[Mutation],
    ) -> crate::error::Result<Option<crate::store::Committed>> {
        self.tick();
        self.inner.commit(checks, mutations).await
    }
}

fn damaged_run(list: bool, damages: &[(usize, Damage)]) -> Result<(), TestCaseError> {
    let clock = Rc::new(FakeClock::at(T0));
    let memory = MemoryStore::new(clock.clone());
    if list {
        populated(&memory, &clock);
    } else {
        populated(&NoList(&memory), &clock);
    }
    let entries = memory.entries();
    for (at, damage) in damages {
        let (parts, value) = &entries[at % entries.len()];
        let key = Key { parts: parts.clone(), text: parts.len() == 1, nats: None };
        let changed = apply(value, damage);
        memory.commit_now(&[], &[Mutation::set(key, changed)]);
    }
    clock.advance(MIN / 2);
    let budget = Budget { inner: &memory, calls: std::cell::Cell::new(0), limit: 20_000 };
    let codes = if list { exercise(&budget, &clock) } else { exercise(&NoList(&budget), &clock) };
    prop_assert!(!codes.contains(&ErrorCode::StoreUnavailable), "a healthy store was blamed: {codes:?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn damaged_state_never_panics_on_a_listing_store(damages in prop::collection::vec((any::<usize>(), damage()), 1..4)) {
        damaged_run(true, &damages)?;
    }

    #[test]
    fn damaged_state_never_panics_on_an_indexed_store(damages in prop::collection::vec((any::<usize>(), damage()), 1..4)) {
        damaged_run(false, &damages)?;
    }
}

#[test]
fn an_undamaged_store_runs_every_operation_cleanly() {
    // The baseline the damaged runs are measured against: with nothing
    // damaged, only the expected refusals appear.
    for list in [true, false] {
        let clock = Rc::new(FakeClock::at(T0));
        let memory = MemoryStore::new(clock.clone());
        let codes = if list {
            populated(&memory, &clock);
            exercise(&memory, &clock)
        } else {
            populated(&NoList(&memory), &clock);
            exercise(&NoList(&memory), &clock)
        };
        // The other run's extend of a lock it does not hold is refused.
        assert_eq!(codes, vec![ErrorCode::LockNotHeld], "list: {list}");
    }
}

#[test]
fn damage_reaches_the_operations() {
    // Every stored value replaced by a string: the runs meet it and refuse
    // with CORRUPT_STATE instead of reading it as absent.
    for list in [true, false] {
        let clock = Rc::new(FakeClock::at(T0));
        let memory = MemoryStore::new(clock.clone());
        let damages: Vec<(usize, Damage)> = (0..memory_len(list)).map(|i| (i, Damage::Replace(json!("garbage")))).collect();
        let codes = {
            if list {
                populated(&memory, &clock)
            } else {
                populated(&NoList(&memory), &clock)
            }
            for (at, d) in &damages {
                let entries = memory.entries();
                let (parts, value) = &entries[at % entries.len()];
                let key = Key { parts: parts.clone(), text: parts.len() == 1, nats: None };
                memory.commit_now(&[], &[Mutation::set(key, apply(value, d))]);
            }
            if list {
                exercise(&memory, &clock)
            } else {
                exercise(&NoList(&memory), &clock)
            }
        };
        let corrupt = codes.iter().filter(|c| **c == ErrorCode::CorruptState).count();
        assert!(corrupt >= 10, "list {list}: {codes:?}");
    }
}

fn memory_len(list: bool) -> usize {
    let clock = Rc::new(FakeClock::at(T0));
    let memory = MemoryStore::new(clock.clone());
    if list {
        populated(&memory, &clock)
    } else {
        populated(&NoList(&memory), &clock)
    }
    memory.entries().len()
}
