//! Argument checks for exported methods: each names the argument and says
//! what it must be.

use crate::clock::{ms_from_iso, Clock};
use crate::error::{Result, StateError};
use crate::wasm::convert::js_to_json;
use serde_json::{Map, Value};
use wasm_bindgen::JsValue;

pub fn name(argument: &str, value: &JsValue) -> Result<String> {
    if value.is_string() && !crate::wasm::convert::well_formed(value) {
        return Err(StateError::invalid(argument, "holds a lone surrogate; names must be well-formed Unicode"));
    }
    match value.as_string() {
        Some(s) => crate::keys::check_name(argument, &s).map(|()| s),
        _ => Err(StateError::invalid(argument, "must be a non-empty string")),
    }
}

pub fn optional_name(argument: &str, value: &JsValue) -> Result<Option<String>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    name(argument, value).map(Some)
}

/// A positive number no larger than `max`, or `default` when undefined.
/// The cap keeps expiry times inside what ISO dates (and 0.1.56) can read.
pub fn positive(argument: &str, value: &JsValue, default: f64, max: f64) -> Result<f64> {
    if value.is_undefined() {
        return Ok(default);
    }
    match value.as_f64() {
        Some(n) if n.is_finite() && n > 0.0 && n <= max => Ok(n),
        Some(n) if n > max => Err(StateError::invalid(argument, &format!("must be at most {max}"))),
        _ => Err(StateError::invalid(argument, "must be a positive number")),
    }
}

/// `storeTimeoutMs` of a class's options: how long one call to a host
/// store may take (default one minute; 0 for no bound), at most an hour.
/// Anything but an options object (a prefix string) gives the default.
pub fn store_timeout(options: &JsValue) -> Result<f64> {
    let value = if options.is_object() { option(options, "storeTimeoutMs")? } else { JsValue::UNDEFINED };
    if value.is_undefined() {
        return Ok(crate::wasm::bridge::DEFAULT_STORE_TIMEOUT_MS);
    }
    match value.as_f64() {
        Some(n) if n.is_finite() && (0.0..=3_600_000.0).contains(&n) => Ok(n),
        _ => Err(StateError::invalid("options.storeTimeoutMs", "must be a number of milliseconds from 0 (no bound) to 3600000")),
    }
}

/// A TTL given in `unit`s as `ms` milliseconds, refused when it rounds
/// below 1 ms (the next run would take the lock at once).
pub fn at_least_1ms(argument: &str, ms: f64, unit: &str) -> Result<i64> {
    if ms < 1.0 {
        return Err(StateError::invalid(
            argument,
            &format!("must be at least 1 millisecond (got {} ms in {unit}); a shorter lifetime expires before it is written", ms),
        ));
    }
    Ok(ms.floor() as i64)
}

/// A TTL in milliseconds: a number from 1 to ten years, or `default`.
pub fn ttl_ms(argument: &str, value: &JsValue, default: f64) -> Result<i64> {
    let ms = positive(argument, value, default, MAX_MS)?;
    at_least_1ms(argument, ms, "ms")
}

/// What a write to a store without compare-and-set may take to land, in ms,
/// when the caller does not say: a Versori KV call takes a few to a few tens
/// of milliseconds, and a write is visible once acknowledged; 100 ms leaves
/// room for a slow call while adding only twice that to an acquisition.
pub const DEFAULT_MAX_WRITE_DELAY_MS: f64 = 100.0;

/// `maxWriteDelayMs`: the default when absent, None (best-effort, no
/// waiting) for 0, else a non-negative number of milliseconds up to a minute.
pub fn write_delay(value: &JsValue) -> Result<Option<u64>> {
    if value.is_undefined() {
        return Ok(Some(DEFAULT_MAX_WRITE_DELAY_MS as u64));
    }
    match value.as_f64() {
        Some(n) if n.is_finite() && (0.0..=60_000.0).contains(&n) => Ok((n > 0.0).then(|| n.ceil() as u64)),
        _ => Err(StateError::invalid("options.maxWriteDelayMs", "must be a number of milliseconds from 0 (best-effort) to 60000")),
    }
}

/// Ten years, the longest lock, claim or job lifetime we accept.
pub const MAX_MINUTES: f64 = 10.0 * 366.0 * 24.0 * 60.0;
pub const MAX_HOURS: f64 = MAX_MINUTES / 60.0;
pub const MAX_MS: f64 = MAX_MINUTES * 60_000.0;
/// A lock's, lease's or claim's lifetime when none is given: 15 minutes.
pub const DEFAULT_TTL_MS: f64 = 15.0 * 60_000.0;

/// Metadata: a plain object of JSON values, or nothing.
pub fn metadata(argument: &str, value: &JsValue) -> Result<Option<Map<String, Value>>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match js_to_json(value, argument)? {
        Value::Object(map) => Ok(Some(map)),
        _ => Err(StateError::invalid(argument, "must be a plain object")),
    }
}

/// A property of an options object (undefined when options is absent).
pub fn option(options: &JsValue, field: &str) -> Result<JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    if !options.is_object() {
        return Err(StateError::invalid("options", "must be an object"));
    }
    js_sys::Reflect::get(options, &field.into()).map_err(|_| StateError::invalid(&format!("options.{field}"), "could not be read"))
}

/// A constructor's options argument: a string is the name itself, an object
/// gives `{ [field]: name, log }`. Returns the name (or `default`) and the log.
/// `known`: every key the options object may have (checked with [`known`]).
pub fn name_and_log(options: &JsValue, field: &str, default: &str, allowed: &[&str]) -> Result<(String, JsValue)> {
    if options.is_string() {
        return Ok((name(field, options)?, JsValue::UNDEFINED));
    }
    known("options", options, allowed)?;
    let name = optional_name(&format!("options.{field}"), &option(options, field)?)?;
    Ok((name.unwrap_or_else(|| default.into()), option(options, "log")?))
}

/// A time given as a Date, an ISO string or epoch milliseconds.
pub fn instant(argument: &str, value: &JsValue) -> Result<Option<i64>> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let ms = if let Some(time) = crate::wasm::convert::date_time(value) {
        Some(time)
    } else if let Some(n) = value.as_f64() {
        Some(n)
    } else {
        value.as_string().and_then(|s| ms_from_iso(&s)).map(|ms| ms as f64)
    };
    match ms {
        Some(ms) if ms.is_finite() => Ok(Some(ms as i64)),
        _ => Err(StateError::invalid(argument, "must be a Date, an ISO date string or epoch milliseconds")),
    }
}

/// `{ olderThanDays } | { before }` and `batchSize` of a cleanup call:
/// the cutoff in epoch ms and the batch size.
pub fn cleanup_options<C: Clock>(options: &JsValue, clock: &C) -> Result<(i64, usize)> {
    known("options", options, &["olderThanDays", "before", "batchSize"])?;
    let days = option(options, "olderThanDays")?;
    let before = instant("options.before", &option(options, "before")?)?;
    let cutoff = match (days.is_undefined(), before) {
        (false, None) => clock.now_ms() as f64 - positive("options.olderThanDays", &days, 0.0, 3_660.0)? * 86_400_000.0,
        (true, Some(at)) => at as f64,
        _ => return Err(StateError::invalid("options", "must give exactly one of olderThanDays and before")),
    };
    Ok((cutoff as i64, batch_size(options)?))
}

/// The largest page a listing returns.
pub const MAX_PAGE: f64 = 10_000.0;

/// `limit` (default 100) and `cursor` of a listing's options, read the same
/// way by every class that lists.
pub fn page(options: &JsValue) -> Result<(usize, Option<String>)> {
    let limit = positive("options.limit", &option(options, "limit")?, 100.0, MAX_PAGE)?.ceil() as usize;
    let cursor = optional_name("options.cursor", &option(options, "cursor")?)?;
    Ok((limit, cursor))
}

/// A listing's answer, `{ [field]: items, cursor }` (cursor null at the end).
pub fn listed(field: &str, items: JsValue, cursor: Option<&str>) -> JsValue {
    crate::wasm::convert::object(&[(field, items), ("cursor", crate::wasm::convert::opt_str(cursor))])
}

/// `batchSize` of a cleanup (default 100, at most 1,000 deletes per write).
pub fn batch_size(options: &JsValue) -> Result<usize> {
    Ok(positive("options.batchSize", &option(options, "batchSize")?, crate::collection::DEFAULT_BATCH as f64, 1_000.0)?.ceil() as usize)
}

/// Options that belong in another place than where they were passed: the
/// hint an unknown key gets when it is one of these.
const ELSEWHERE: &[(&str, &str)] = &[
    ("baseDelayMs", "options.policy"),
    ("factor", "options.policy"),
    ("maxDelayMs", "options.policy"),
    ("maxAttempts", "options.policy"),
    ("jitter", "options.policy"),
    ("ttlMs", "the options of claim()"),
    ("timeoutMinutes", "withLock's options, or acquireLock's third argument"),
    ("limit", "the options of list()"),
    ("cursor", "the options of list()"),
    ("olderThanDays", "the options of cleanup()"),
    ("batchSize", "the options of cleanup() or clear()"),
    ("version", "the options of open()"),
    ("maxAgeMs", "the options of open()"),
    ("everyItems", "the options of periodic()"),
    ("everyMs", "the options of periodic()"),
    ("windowHours", "the options of getOrCreateDailyJob()"),
];

/// Rejects an options object with a key that is not one of `known` (a typo
/// must not silently fall back to a default): INVALID_ARGUMENT naming the
/// key, the close known one it may be a typo of, or where it belongs.
/// Strings, undefined and null pass (they are checked where they are read).
pub fn known(argument: &str, options: &JsValue, known: &[&str]) -> Result<()> {
    if !options.is_object() || options.is_function() {
        return Ok(());
    }
    let keys = crate::wasm::convert::keys_of(options)
        .ok_or_else(|| StateError::invalid(argument, "could not be read (a Proxy or getter threw)"))?;
    for key in keys.iter() {
        let Some(key) = key.as_string() else { continue };
        if known.contains(&key.as_str()) {
            continue;
        }
        let hint = if let Some(near) = known.iter().find(|k| edit_distance(k, &key) <= 2) {
            format!("did you mean {argument}.{near}?")
        } else if let Some((_, place)) = ELSEWHERE.iter().find(|(k, _)| *k == key) {
            format!("{key} belongs in {place}")
        } else if known.is_empty() {
            "this call takes no options".to_string()
        } else {
            format!("the options here are {}", known.join(", "))
        };
        return Err(StateError::invalid(&format!("{argument}.{key}"), &format!("is not an option here ({hint})")));
    }
    Ok(())
}

/// Levenshtein distance, for "did you mean" hints on short option names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut diagonal = row[0];
        row[0] = i;
        for j in 1..=b.len() {
            let above = row[j];
            row[j] = (above + 1).min(row[j - 1] + 1).min(diagonal + usize::from(a[i - 1] != b[j - 1]));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `by` of incrementDailyJobBatchCount: a whole number from 1 (the default).
pub fn batch_increment(by: &JsValue) -> Result<u64> {
    let by = positive("by", by, 1.0, 1e9)?;
    // positive() gave a number above 0: a whole one is 1 or more.
    if by.fract() != 0.0 {
        return Err(StateError::invalid("by", "must be a whole number of batches, 1 or more"));
    }
    Ok(by as u64)
}
