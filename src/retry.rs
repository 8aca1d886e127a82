//! Persisted retry schedules: how often an item failed, when it may be
//! retried, and a dead-letter list for items that used up their attempts.
//!
//! Each item's state is one record in an indexed collection (see
//! [`crate::collection`]), updated by a checked read-modify-write, so two runs
//! recording a failure of the same item at once both count on a
//! compare-and-set store. The collection lists, pages and cleans up like
//! the file tracker, on stores that list and on stores that cannot.

use crate::clock::{iso_from_ms, ms_from_iso, Clock, Random};
use crate::collection::{Collection, Filter, Layout, Listed, Removed};
use crate::error::{ErrorCode, Result, StateError};
use crate::log::{Level, Logger};
use crate::store::Store;
use crate::values::{count_field, str_field};
use serde_json::{json, Map, Value};

const RETRIES: Layout = Layout { segment: crate::keys::RETRY_SEGMENT, time_field: "lastFailedAt" };
/// Longest error message kept; the rest is cut (the record must fit a store value).
const MAX_ERROR_CHARS: usize = 4_000;

/// How a retry delay is spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the exponential delay.
    None,
    /// Uniform in [0, delay].
    Full,
    /// delay/2 plus uniform in [0, delay/2].
    Equal,
    /// Uniform in [base, previous delay × 3], capped.
    Decorrelated,
}

impl Jitter {
    /// `'none'`, `'full'` or `'equal'`; INVALID_ARGUMENT otherwise.
    pub fn parse(text: &str) -> Result<Jitter> {
        match text {
            "none" => Ok(Jitter::None),
            "full" => Ok(Jitter::Full),
            "equal" => Ok(Jitter::Equal),
            "decorrelated" => Ok(Jitter::Decorrelated),
            _ => Err(StateError::invalid("policy.jitter", "must be 'none', 'full', 'equal' or 'decorrelated'")),
        }
    }
}

/// When failed items are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The first delay.
    pub base_delay_ms: f64,
    /// What each delay is multiplied by.
    pub factor: f64,
    /// The longest delay.
    pub max_delay_ms: f64,
    /// Attempts before an item is dead-lettered.
    pub max_attempts: u64,
    /// How delays are spread.
    pub jitter: Jitter,
}

impl Default for Policy {
    /// The guide's schedule: 10, 20, 40, 80 minutes, 5 attempts.
    fn default() -> Self {
        Policy { base_delay_ms: 10.0 * 60_000.0, factor: 2.0, max_delay_ms: 24.0 * 3_600_000.0, max_attempts: 5, jitter: Jitter::None }
    }
}

impl Policy {
    /// INVALID_ARGUMENT for a policy that makes no sense.
    pub fn check(&self) -> Result<()> {
        let bad = |what: &str, rule: &str| Err(StateError::invalid(&format!("policy.{what}"), rule));
        if !(self.base_delay_ms.is_finite() && self.base_delay_ms >= 0.0) {
            return bad("baseDelayMs", "must be a number of milliseconds, 0 or more");
        }
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return bad("factor", "must be a number of at least 1");
        }
        if !(self.max_delay_ms.is_finite() && self.max_delay_ms >= self.base_delay_ms) {
            return bad("maxDelayMs", "must be a number of milliseconds no smaller than baseDelayMs");
        }
        if self.max_attempts == 0 {
            return bad("maxAttempts", "must be at least 1");
        }
        Ok(())
    }

    /// The wait after failure number `attempt` (1-based). `previous` is the
    /// last wait (decorrelated jitter grows from it).
    pub fn delay_ms<R: Random>(&self, attempt: u64, previous: Option<f64>, random: &R) -> f64 {
        let exponent = attempt.saturating_sub(1).min(1_000) as i32;
        let exp = (self.base_delay_ms * self.factor.powi(exponent)).min(self.max_delay_ms);
        let r = random.next_f64().clamp(0.0, 1.0);
        let delay = match self.jitter {
            Jitter::None => exp,
            Jitter::Full => r * exp,
            Jitter::Equal => exp / 2.0 + r * exp / 2.0,
            Jitter::Decorrelated => {
                let high = previous.unwrap_or(self.base_delay_ms).max(self.base_delay_ms) * 3.0;
                self.base_delay_ms + r * (high - self.base_delay_ms)
            }
        };
        delay.clamp(0.0, self.max_delay_ms).round()
    }
}

/// What to do with an item now.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Go ahead: it never failed, or its wait is over.
    Retry,
    /// Not yet: due at `until_ms`.
    Wait {
        /// When the item is due.
        until_ms: i64,
    },
    /// Out of attempts: it is on the dead-letter list until requeued.
    Exhausted,
}

/// Failed items of one namespace, with backoff and a dead-letter list.
pub struct RetryTracker {
    items: Collection,
    /// The retry policy.
    pub policy: Policy,
}

fn record_attempts(record: &Map<String, Value>) -> u64 {
    count_field(record, "attempts").unwrap_or(0)
}

/// CORRUPT_STATE unless `record` has the shape this tracker writes: a count
/// of attempts, a status it knows, a date or null for the next retry. A
/// damaged record is never read as "0 attempts, due now".
fn check_record(item: &str, record: &Map<String, Value>) -> Result<()> {
    let problem = if count_field(record, "attempts").is_none() {
        "attempts is not a count"
    } else if !matches!(str_field(record, "status"), Some("waiting" | "exhausted")) {
        "status is neither 'waiting' nor 'exhausted'"
    } else if !matches!(record.get("nextRetryAt"), None | Some(Value::Null) | Some(Value::String(_))) {
        "nextRetryAt is not a date"
    } else {
        return Ok(());
    };
    Err(StateError::corrupt(&format!("the retry record of {item:?}"), &format!("{problem}; recordSuccess(item) deletes it")))
}

impl RetryTracker {
    /// A tracker for `namespace` with `policy`.
    pub fn new(namespace: &str, policy: Policy) -> Result<Self> {
        crate::keys::check_name("namespace", namespace)?;
        policy.check()?;
        Ok(RetryTracker { items: Collection::with_layout(&crate::keys::retry_prefix(namespace), RETRIES)?, policy })
    }

    /// The item's retry record, if it ever failed.
    pub async fn get<S: Store>(&self, store: &S, item: &str) -> Result<Option<Map<String, Value>>> {
        crate::keys::check_name("item", item)?;
        let record = self.items.get(store, item).await?.map(|f| f.record);
        if let Some(r) = &record {
            check_record(item, r)?;
        }
        Ok(record)
    }

    /// Counts a failure and schedules the next attempt (or dead-letters the
    /// item when its attempts are used up). Returns the new state.
    pub async fn record_failure<S: Store, C: Clock, R: Random, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        random: &R,
        log: &L,
        item: &str,
        error: &str,
    ) -> Result<Map<String, Value>> {
        crate::keys::check_name("item", item)?;
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let written = self
            .items
            .update(store, log, item, |current| {
                if let Some(r) = current {
                    check_record(item, r)?;
                }
                let now = clock.now_ms();
                let attempts = current.map_or(0, record_attempts) + 1;
                let first = current.and_then(|r| str_field(r, "firstFailedAt")).map(str::to_string).unwrap_or_else(|| iso_from_ms(now));
                let previous = current.and_then(|r| r.get("delayMs")).and_then(Value::as_f64);
                let mut record = Map::new();
                record.insert("item".into(), json!(item));
                record.insert("attempts".into(), json!(attempts));
                record.insert("firstFailedAt".into(), json!(first));
                record.insert("lastFailedAt".into(), json!(iso_from_ms(now)));
                record.insert("lastError".into(), json!(error));
                if attempts >= self.policy.max_attempts {
                    record.insert("status".into(), json!("exhausted"));
                    record.insert("nextRetryAt".into(), Value::Null);
                    record.insert("delayMs".into(), Value::Null);
                } else {
                    let delay = self.policy.delay_ms(attempts, previous, random);
                    record.insert("status".into(), json!("waiting"));
                    record.insert("nextRetryAt".into(), json!(iso_from_ms(now.saturating_add(delay as i64))));
                    record.insert("delayMs".into(), json!(delay as i64));
                }
                Ok(Some(record))
            })
            .await?
            .ok_or_else(|| StateError::new(ErrorCode::CorruptState, "the retry state vanished while it was written"))?;
        let exhausted = str_field(&written, "status") == Some("exhausted");
        log.log(
            if exhausted { Level::Warn } else { Level::Info },
            &if exhausted {
                format!("{item}: failed {} times, moved to the dead-letter list", record_attempts(&written))
            } else {
                format!(
                    "{item}: failure {} recorded, next retry at {}",
                    record_attempts(&written),
                    str_field(&written, "nextRetryAt").unwrap_or("?")
                )
            },
            json!({ "item": item, "attempts": record_attempts(&written), "error": error }),
        );
        Ok(written)
    }

    /// Clears the item's state; true if it had one.
    pub async fn record_success<S: Store, L: Logger>(&self, store: &S, log: &L, item: &str) -> Result<bool> {
        crate::keys::check_name("item", item)?;
        // A damaged record is deleted too: this is its way out.
        self.items.remove(store, log, item).await
    }

    /// Whether an item with `record` may be tried at `now_ms`.
    pub fn decide(&self, record: Option<&Map<String, Value>>, now_ms: i64) -> Decision {
        let Some(record) = record else { return Decision::Retry };
        if str_field(record, "status") == Some("exhausted") {
            return Decision::Exhausted;
        }
        match str_field(record, "nextRetryAt").and_then(ms_from_iso) {
            Some(at) if at > now_ms => Decision::Wait { until_ms: at },
            _ => Decision::Retry,
        }
    }

    /// Retry now, wait until a time, or exhausted; with the state behind it.
    pub async fn check<S: Store, C: Clock>(&self, store: &S, clock: &C, item: &str) -> Result<(Decision, Option<Map<String, Value>>)> {
        let record = self.get(store, item).await?;
        Ok((self.decide(record.as_ref(), clock.now_ms()), record))
    }

    /// Items in a status ('waiting' | 'exhausted'), or all.
    pub async fn list<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        status: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Listed> {
        let filter = Filter { field_equals: status.map(|s| ("status".to_string(), json!(s))), ..Filter::default() };
        self.items.list(store, log, limit, cursor, &filter).await
    }

    /// Puts a dead-lettered item back in line with fresh attempts, due now.
    /// False if it was not exhausted.
    pub async fn requeue<S: Store, C: Clock, L: Logger>(&self, store: &S, clock: &C, log: &L, item: &str) -> Result<bool> {
        crate::keys::check_name("item", item)?;
        let requeued = std::cell::Cell::new(false);
        self.items
            .update(store, log, item, |current| {
                requeued.set(false);
                if let Some(r) = current {
                    check_record(item, r)?;
                }
                let Some(record) = current.filter(|r| str_field(r, "status") == Some("exhausted")) else {
                    return Ok(current.cloned());
                };
                let mut record = record.clone();
                record.insert("status".into(), json!("waiting"));
                record.insert("attempts".into(), json!(0));
                record.insert("nextRetryAt".into(), json!(iso_from_ms(clock.now_ms())));
                record.insert("requeuedAt".into(), json!(iso_from_ms(clock.now_ms())));
                requeued.set(true);
                Ok(Some(record))
            })
            .await?;
        if requeued.get() {
            log.log(Level::Info, &format!("{item}: requeued from the dead-letter list"), json!({ "item": item }));
        }
        Ok(requeued.get())
    }

    /// Deletes states whose last failure is older than `cutoff_ms`.
    pub async fn cleanup<S: Store, L: Logger>(&self, store: &S, log: &L, cutoff_ms: i64, batch: usize) -> Result<Removed> {
        self.items.cleanup(store, log, cutoff_ms, batch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::log::NoLog;
    use crate::memory::MemoryStore;
    use crate::testing::{NoCas, Yielding};
    use futures::executor::block_on;
    use std::cell::Cell;
    use std::rc::Rc;

    const T0: i64 = 1_767_225_600_000;
    const MIN: f64 = 60_000.0;

    /// A seeded linear congruential source: the same sequence every run.
    struct Seeded(Cell<u64>);

    impl Random for Seeded {
        fn next_f64(&self) -> f64 {
            let x = self.0.get().wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            self.0.set(x);
            (x >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    struct Fixed(f64);

    impl Random for Fixed {
        fn next_f64(&self) -> f64 {
            self.0
        }
    }

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        crate::testing::memory_at(T0)
    }

    #[test]
    fn backoff_follows_the_policy_and_each_jitter() {
        let p = Policy { base_delay_ms: MIN, factor: 2.0, max_delay_ms: 10.0 * MIN, max_attempts: 10, jitter: Jitter::None };
        let delays: Vec<f64> = (1..=6).map(|a| p.delay_ms(a, None, &Fixed(0.3))).collect();
        assert_eq!(delays, vec![MIN, 2.0 * MIN, 4.0 * MIN, 8.0 * MIN, 10.0 * MIN, 10.0 * MIN]);
        let full = Policy { jitter: Jitter::Full, ..p };
        assert_eq!(full.delay_ms(3, None, &Fixed(0.25)), MIN);
        let equal = Policy { jitter: Jitter::Equal, ..p };
        assert_eq!(equal.delay_ms(3, None, &Fixed(0.5)), 3.0 * MIN);
        let decorrelated = Policy { jitter: Jitter::Decorrelated, ..p };
        assert_eq!(decorrelated.delay_ms(2, Some(2.0 * MIN), &Fixed(0.5)), (MIN + 6.0 * MIN) / 2.0);
        assert_eq!(decorrelated.delay_ms(9, Some(9.0 * MIN), &Fixed(1.0)), 10.0 * MIN, "capped");
        // Seeded: every delay inside its jitter's range, and reproducible.
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let p = Policy { jitter, ..p };
            let run = || {
                let r = Seeded(Cell::new(42));
                let mut prev = None;
                (1..=8)
                    .map(|a| {
                        let d = p.delay_ms(a, prev, &r);
                        prev = Some(d);
                        d
                    })
                    .collect::<Vec<_>>()
            };
            let a = run();
            assert_eq!(a, run());
            assert!(a.iter().all(|d| (0.0..=10.0 * MIN).contains(d)), "{jitter:?} {a:?}");
        }
        assert!(Policy { factor: 0.5, ..p }.check().is_err());
        assert!(Policy { max_attempts: 0, ..p }.check().is_err());
    }

    #[test]
    fn failures_schedule_retries_then_dead_letter_then_requeue() {
        let (clock, store) = setup();
        let policy = Policy { base_delay_ms: MIN, factor: 2.0, max_delay_ms: 60.0 * MIN, max_attempts: 3, jitter: Jitter::None };
        let t = RetryTracker::new("ingest", policy).unwrap();
        assert_eq!(block_on(t.check(&store, &*clock, "a.csv")).unwrap().0, Decision::Retry);
        let s = block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "a.csv", "timeout")).unwrap();
        assert_eq!((s["attempts"].clone(), s["status"].clone()), (json!(1), json!("waiting")));
        assert_eq!(block_on(t.check(&store, &*clock, "a.csv")).unwrap().0, Decision::Wait { until_ms: T0 + 60_000 });
        clock.advance(60_000);
        assert_eq!(block_on(t.check(&store, &*clock, "a.csv")).unwrap().0, Decision::Retry);
        let s = block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "a.csv", "timeout again")).unwrap();
        assert_eq!(s["nextRetryAt"], json!(iso_from_ms(T0 + 60_000 + 120_000)));
        assert_eq!(s["firstFailedAt"], json!(iso_from_ms(T0)));
        clock.advance(120_000);
        let s = block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "a.csv", "gave up")).unwrap();
        assert_eq!(s["status"], json!("exhausted"));
        assert_eq!(block_on(t.check(&store, &*clock, "a.csv")).unwrap().0, Decision::Exhausted);
        block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "b.csv", "x")).unwrap();
        let dead = block_on(t.list(&store, &NoLog, Some("exhausted"), 10, None)).unwrap();
        assert_eq!(dead.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), vec!["a.csv"]);
        assert!(block_on(t.requeue(&store, &*clock, &NoLog, "a.csv")).unwrap());
        assert!(!block_on(t.requeue(&store, &*clock, &NoLog, "b.csv")).unwrap(), "b is not exhausted");
        assert_eq!(block_on(t.check(&store, &*clock, "a.csv")).unwrap().0, Decision::Retry);
        assert!(block_on(t.list(&store, &NoLog, Some("exhausted"), 10, None)).unwrap().files.is_empty());
        assert!(block_on(t.record_success(&store, &NoLog, "a.csv")).unwrap());
        assert!(!block_on(t.record_success(&store, &NoLog, "a.csv")).unwrap());
        clock.advance(8 * 86_400_000);
        block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "c.csv", "new")).unwrap();
        let removed = block_on(t.cleanup(&store, &NoLog, clock.now_ms() - 7 * 86_400_000, 10)).unwrap();
        assert_eq!((removed.deleted, removed.failed), (1, 0));
        assert_eq!(block_on(t.list(&store, &NoLog, None, 10, None)).unwrap().files.len(), 1);
    }

    #[test]
    fn a_damaged_retry_record_is_corrupt_state_never_zero_attempts() {
        let (clock, store) = setup();
        let t = RetryTracker::new("n", Policy::default()).unwrap();
        block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "a", "boom")).unwrap();
        let key = crate::keys::indexed_record_parts(&crate::keys::retry_prefix("n"), RETRIES.segment, "a");
        block_on(store.set(&key, &json!({"attempts": "many", "status": 42}), None)).unwrap();
        assert_eq!(block_on(t.check(&store, &*clock, "a")).unwrap_err().code, ErrorCode::CorruptState);
        let failed = block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "a", "again"));
        assert_eq!(failed.unwrap_err().code, ErrorCode::CorruptState);
        assert_eq!(block_on(t.requeue(&store, &*clock, &NoLog, "a")).unwrap_err().code, ErrorCode::CorruptState);
        assert!(block_on(t.record_success(&store, &NoLog, "a")).unwrap(), "recordSuccess deletes it");
        assert_eq!(block_on(t.check(&store, &*clock, "a")).unwrap().0, Decision::Retry);
    }

    #[test]
    fn concurrent_failures_of_one_item_all_count() {
        let (clock, memory) = setup();
        let t = RetryTracker::new("n", Policy { max_attempts: 1_000, ..Policy::default() }).unwrap();
        // Every store call yields, so the 10 runs read the same state and race to write it.
        let store = Yielding::new(&memory);
        let runs = (0..10).map(|i| {
            let (t, store, clock) = (&t, &store, &clock);
            async move {
                for j in 0..5 {
                    t.record_failure(store, &**clock, &Fixed(0.5), &NoLog, "shared.csv", &format!("run {i} try {j}")).await.unwrap();
                }
            }
        });
        block_on(futures::future::join_all(runs));
        let state = block_on(t.get(&memory, "shared.csv")).unwrap().unwrap();
        assert_eq!(state["attempts"], json!(50));
    }

    #[test]
    fn without_compare_and_set_it_still_works_one_run_at_a_time() {
        let (clock, memory) = setup();
        let store = NoCas(&memory);
        let t = RetryTracker::new("n", Policy::default()).unwrap();
        for _ in 0..5 {
            block_on(t.record_failure(&store, &*clock, &Fixed(0.5), &NoLog, "x", "e")).unwrap();
        }
        assert_eq!(block_on(t.check(&store, &*clock, "x")).unwrap().0, Decision::Exhausted);
        assert_eq!(block_on(t.list(&store, &NoLog, Some("exhausted"), 10, None)).unwrap().files.len(), 1);
    }

    #[test]
    fn bad_input_is_an_invalid_argument() {
        let (clock, store) = setup();
        assert_eq!(RetryTracker::new("", Policy::default()).err().unwrap().code, ErrorCode::InvalidArgument);
        let t = RetryTracker::new("n", Policy::default()).unwrap();
        assert_eq!(block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "", "e")).unwrap_err().code, ErrorCode::InvalidArgument);
        let long = "e".repeat(100_000);
        let s = block_on(t.record_failure(&store, &*clock, &Fixed(0.0), &NoLog, "x", &long)).unwrap();
        assert_eq!(s["lastError"].as_str().unwrap().len(), MAX_ERROR_CHARS);
    }
}
