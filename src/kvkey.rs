//! Deno KV's key encoding: typed key parts to bytes whose byte order is
//! Deno KV's key order (the tuple encoding of FoundationDB, which Deno KV and
//! denokv use). The embedded store keys its entries by these bytes, so its
//! order, prefixes and cursors are Deno's.
//!
//! Order between types: bytes < string < bigint < number < false < true.

use crate::error::{ErrorCode, Result, StateError};

const BYTES: u8 = 0x01;
const STRING: u8 = 0x02;
const INT_ZERO: u8 = 0x14;
const FLOAT: u8 = 0x21;
const FALSE: u8 = 0x26;
const TRUE: u8 = 0x27;
/// Integers of more than 8 bytes: a length byte follows the tag.
const INT_LONG_NEG: u8 = 0x0b;
const INT_LONG_POS: u8 = 0x1d;

/// One part of a Deno KV key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPart {
    /// A `Uint8Array`.
    Bytes(Vec<u8>),
    /// A string.
    String(String),
    /// A `bigint`: its sign and magnitude (big-endian, no leading zeros).
    Int {
        /// Below zero.
        negative: bool,
        /// The absolute value, big-endian, without leading zero bytes.
        magnitude: Vec<u8>,
    },
    /// A `number`.
    Float(f64),
    /// A `boolean`.
    Bool(bool),
}

/// Bytes of a whole key.
pub fn encode(parts: &[KeyPart]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        encode_part(part, &mut out);
    }
    out
}

/// The bytes of a key of string parts (the core's keys).
pub fn encode_strings<S: AsRef<str>>(parts: &[S]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.push(STRING);
        escaped(part.as_ref().as_bytes(), &mut out);
    }
    out
}

fn escaped(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.push(0);
}

fn encode_part(part: &KeyPart, out: &mut Vec<u8>) {
    match part {
        KeyPart::Bytes(b) => {
            out.push(BYTES);
            escaped(b, out);
        }
        KeyPart::String(s) => {
            out.push(STRING);
            escaped(s.as_bytes(), out);
        }
        KeyPart::Int { negative, magnitude } => {
            let n = magnitude.len();
            match (n, negative) {
                (0, _) => out.push(INT_ZERO),
                (1..=8, false) => {
                    out.push(INT_ZERO + n as u8);
                    out.extend_from_slice(magnitude);
                }
                (1..=8, true) => {
                    out.push(INT_ZERO - n as u8);
                    out.extend(magnitude.iter().map(|b| !b));
                }
                (_, false) => {
                    out.push(INT_LONG_POS);
                    out.push(n as u8);
                    out.extend_from_slice(magnitude);
                }
                (_, true) => {
                    out.push(INT_LONG_NEG);
                    out.push(!(n as u8));
                    out.extend(magnitude.iter().map(|b| !b));
                }
            }
        }
        KeyPart::Float(f) => {
            out.push(FLOAT);
            // -0 and every NaN encode as Deno does: the raw bits, ordered.
            let bits = f.to_bits();
            let ordered = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        KeyPart::Bool(false) => out.push(FALSE),
        KeyPart::Bool(true) => out.push(TRUE),
    }
}

fn corrupt(problem: &str) -> StateError {
    StateError::new(ErrorCode::CorruptState, format!("an encoded key is damaged: {problem}"))
}

/// The parts of an encoded key.
pub fn decode(mut bytes: &[u8]) -> Result<Vec<KeyPart>> {
    let mut parts = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        bytes = rest;
        let part = match tag {
            BYTES | STRING => {
                let mut raw = Vec::new();
                loop {
                    match bytes {
                        [0, 0xff, rest @ ..] => {
                            raw.push(0);
                            bytes = rest;
                        }
                        [0, rest @ ..] => {
                            bytes = rest;
                            break;
                        }
                        [b, rest @ ..] => {
                            raw.push(*b);
                            bytes = rest;
                        }
                        [] => return Err(corrupt("a string or bytes part has no end")),
                    }
                }
                if tag == BYTES {
                    KeyPart::Bytes(raw)
                } else {
                    KeyPart::String(String::from_utf8(raw).map_err(|_| corrupt("a string part is not UTF-8"))?)
                }
            }
            INT_LONG_NEG | INT_LONG_POS => {
                let (&len, rest) = bytes.split_first().ok_or_else(|| corrupt("a long integer has no length"))?;
                let negative = tag == INT_LONG_NEG;
                let n = if negative { !len } else { len } as usize;
                let raw = rest.get(..n).ok_or_else(|| corrupt("a long integer is cut short"))?;
                bytes = &rest[n..];
                KeyPart::Int { negative, magnitude: if negative { raw.iter().map(|b| !b).collect() } else { raw.to_vec() } }
            }
            t if (INT_ZERO - 8..=INT_ZERO + 8).contains(&t) => {
                let negative = t < INT_ZERO;
                let n = t.abs_diff(INT_ZERO) as usize;
                let raw = bytes.get(..n).ok_or_else(|| corrupt("an integer is cut short"))?;
                bytes = &bytes[n..];
                KeyPart::Int { negative, magnitude: if negative { raw.iter().map(|b| !b).collect() } else { raw.to_vec() } }
            }
            FLOAT => {
                let raw: [u8; 8] = bytes.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(|| corrupt("a number is cut short"))?;
                bytes = &bytes[8..];
                let ordered = u64::from_be_bytes(raw);
                let bits = if ordered >> 63 == 1 { ordered & !(1 << 63) } else { !ordered };
                KeyPart::Float(f64::from_bits(bits))
            }
            FALSE => KeyPart::Bool(false),
            TRUE => KeyPart::Bool(true),
            other => return Err(corrupt(&format!("unknown type byte {other:#04x}"))),
        };
        parts.push(part);
    }
    Ok(parts)
}

/// The key's parts when they are all strings (the core's keys), else None.
pub fn as_strings(parts: Vec<KeyPart>) -> Option<Vec<String>> {
    parts
        .into_iter()
        .map(|p| match p {
            KeyPart::String(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// The smallest byte string greater than every key that starts with
/// `prefix`: the exclusive end of a prefix range.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    end.push(0xff);
    end
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A Deno KV listing cursor: the key bytes after the selector's prefix, in
/// unpadded base64url (what Deno's `list()` iterator's `cursor` gives).
pub fn cursor_of(key_after_prefix: &[u8]) -> String {
    let mut out = String::with_capacity(key_after_prefix.len().div_ceil(3) * 4);
    for chunk in key_after_prefix.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64URL[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The key bytes after the prefix that a [`cursor_of`] cursor names, or
/// None for text that is not one.
pub fn cursor_bytes(cursor: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = cursor.bytes().map(|c| B64URL.iter().position(|&d| d == c).map(|p| p as u32)).collect::<Option<_>>()?;
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, d)| n | (d << (18 - 6 * i)));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: i128) -> KeyPart {
        let magnitude: Vec<u8> = n.unsigned_abs().to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        KeyPart::Int { negative: n < 0, magnitude }
    }

    #[test]
    fn deno_cursor_bytes_for_a_string_part() {
        // Deno's cursor after ["a", "b"] under prefix ["a"] is base64 "AmIA": 02 62 00.
        assert_eq!(encode(&[KeyPart::String("b".into())]), vec![0x02, b'b', 0x00]);
        assert_eq!(cursor_of(&[0x02, b'b', 0x00]), "AmIA");
        assert_eq!(cursor_bytes("AmIA"), Some(vec![0x02, b'b', 0x00]));
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 255) as u8).collect();
            assert_eq!(cursor_bytes(&cursor_of(&bytes)), Some(bytes));
        }
        assert_eq!(cursor_of(&[0xfb, 0xff]), "-_8");
        assert_eq!(cursor_bytes("A"), None);
        assert_eq!(cursor_bytes("a+b/"), None);
        assert_eq!(encode_strings(&["a", "b"]), encode(&[KeyPart::String("a".into()), KeyPart::String("b".into())]));
    }

    #[test]
    fn byte_order_is_deno_key_order() {
        let ordered = vec![
            vec![KeyPart::Bytes(vec![])],
            vec![KeyPart::Bytes(vec![0])],
            vec![KeyPart::Bytes(vec![0, 0])],
            vec![KeyPart::Bytes(vec![1])],
            vec![KeyPart::String("".into())],
            vec![KeyPart::String("a".into())],
            vec![KeyPart::String("a".into()), KeyPart::String("b".into())],
            vec![KeyPart::String("a\0".into())],
            vec![KeyPart::String("b".into())],
            vec![KeyPart::String("中".into())],
            vec![int(-(1 << 80))],
            vec![int(-65_536)],
            vec![int(-256)],
            vec![int(-1)],
            vec![int(0)],
            vec![int(1)],
            vec![int(255)],
            vec![int(256)],
            vec![int(1 << 80)],
            vec![KeyPart::Float(f64::NEG_INFINITY)],
            vec![KeyPart::Float(-1.5)],
            vec![KeyPart::Float(-0.0)],
            vec![KeyPart::Float(0.0)],
            vec![KeyPart::Float(2.5)],
            vec![KeyPart::Float(f64::INFINITY)],
            vec![KeyPart::Bool(false)],
            vec![KeyPart::Bool(true)],
        ];
        for pair in ordered.windows(2) {
            assert!(encode(&pair[0]) < encode(&pair[1]), "{:?} < {:?}", pair[0], pair[1]);
        }
        for key in &ordered {
            let back = decode(&encode(key)).unwrap();
            assert_eq!(encode(&back), encode(key), "{key:?}");
        }
    }

    #[test]
    fn damaged_bytes_are_errors_not_panics() {
        for bad in [&[0x02, b'a'][..], &[0x21, 1, 2], &[0x15], &[0x1d], &[0x1d, 5, 1], &[0x7f], &[0x02, 0xff, 0xfe, 0]] {
            assert_eq!(decode(bad).unwrap_err().code, ErrorCode::CorruptState, "{bad:?}");
        }
    }
}
