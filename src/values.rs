//! Limits and small helpers for the JSON values we store.

use crate::error::{ErrorCode, Result, StateError};
use serde_json::{Map, Value};

/// Deno KV's per-value limit; we hold every store to it.
pub const MAX_VALUE_BYTES: usize = 65_536;

/// The compact JSON text of `value` (as its `to_string`, through serde's
/// byte writer: several times faster than the `Display` route).
pub fn json_text(value: &Value) -> String {
    // A Value's keys are strings: serializing it cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// The length in bytes of `value`'s compact JSON, without building it.
pub fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// VALUE_TOO_LARGE when `value` takes more than a store value may.
pub fn check_value_size(what: &str, value: &Value) -> Result<()> {
    let len = json_len(value);
    if len > MAX_VALUE_BYTES {
        return Err(StateError::new(
            ErrorCode::ValueTooLarge,
            format!(
                "{what} takes {len} bytes as JSON, more than the {MAX_VALUE_BYTES} a store value may hold; store less metadata or split it"
            ),
        ));
    }
    Ok(())
}

/// The object inside a stored value, or CORRUPT_STATE naming the key.
pub fn as_object<'a>(key_display: &str, value: &'a Value) -> Result<&'a Map<String, Value>> {
    value.as_object().ok_or_else(|| StateError::corrupt(key_display, "expected a JSON object"))
}

/// `object[field]` when it is a string.
pub fn str_field<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    object.get(field).and_then(Value::as_str)
}

/// A JSON number that is an integer we can count with (0.1.56 wrote counts
/// as JS numbers, so 3.0 counts as 3).
pub fn count_field(object: &Map<String, Value>, field: &str) -> Option<u64> {
    let n = object.get(field)?;
    n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 9.0e15).map(|f| f as u64))
}

/// Bytes as lowercase hex digits.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        push_hex(&mut out, b, b"0123456789abcdef");
    }
    out
}

/// Appends `byte` as two hex digits from `digits` (lower- or upper-case),
/// without formatting machinery (ids and escapes are made on hot paths).
pub fn push_hex(out: &mut String, byte: u8, digits: &[u8; 16]) {
    out.push(char::from(digits[usize::from(byte >> 4)]));
    out.push(char::from(digits[usize::from(byte & 15)]));
}

/// The bytes of hex digits; None when `text` is not an even run of them.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// How a 64-bit unsigned value (Deno's `KvU64`) is stored: tagged as the
/// embedded store's structured values are.
pub fn u64_value(n: u64) -> Value {
    serde_json::json!({ "$cs": "KvU64", "value": n.to_string() })
}

/// The number a stored `KvU64` holds, if `value` is one.
pub fn as_u64(value: &Value) -> Option<u64> {
    let object = value.as_object()?;
    if object.len() != 2 || object.get("$cs")?.as_str()? != "KvU64" {
        return None;
    }
    object.get("value")?.as_str()?.parse().ok()
}
