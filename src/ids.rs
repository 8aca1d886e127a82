//! Random ids for locks, claims and owners.

use crate::error::{ErrorCode, Result, StateError};
use std::cell::RefCell;

/// Random bytes fetched from the platform's secure source at once: in
/// Node.js each `crypto.getRandomValues` call costs about 4 µs whatever its
/// size, more than the rest of a lock acquisition on the embedded store.
/// The bytes are the source's own, handed out once each.
const POOL_BYTES: usize = 512;

struct Pool {
    bytes: [u8; POOL_BYTES],
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; POOL_BYTES], used: POOL_BYTES }) };
}

/// Fills `out` from the pool, refilling it when it has too few bytes left
/// (a request larger than the pool goes to the source directly).
fn fill(out: &mut [u8]) -> std::result::Result<(), getrandom::Error> {
    if out.len() > POOL_BYTES {
        return getrandom::getrandom(out);
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if POOL_BYTES - pool.used < out.len() {
            getrandom::getrandom(&mut pool.bytes)?;
            pool.used = 0;
        }
        let start = pool.used;
        out.copy_from_slice(&pool.bytes[start..start + out.len()]);
        // Handed out once: wiped, and never handed out again.
        pool.bytes[start..start + out.len()].fill(0);
        pool.used += out.len();
        Ok(())
    })
}

/// 128 random bits as 32 hex digits.
pub fn random_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    fill(&mut bytes).map_err(|e| {
        StateError::new(
            ErrorCode::Unsupported,
            format!("no secure random source is available ({e}); run where crypto.getRandomValues exists"),
        )
    })?;
    Ok(crate::values::hex(&bytes))
}

/// Jitter for retry delays from the platform's random source.
pub struct SystemRandom;

impl crate::clock::Random for SystemRandom {
    fn next_f64(&self) -> f64 {
        let mut bytes = [0u8; 8];
        // Jitter only spreads load; if the source fails, the midpoint will do.
        if fill(&mut bytes).is_err() {
            return 0.5;
        }
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_32_hex_digits_and_distinct_across_refills() {
        let ids: Vec<String> = (0..10 * POOL_BYTES / 16).map(|_| random_id().unwrap()).collect();
        assert!(ids.iter().all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())));
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        // Every hex digit turns up in both halves of a byte.
        for pos in [0, 1] {
            let seen: HashSet<u8> = ids.iter().flat_map(|id| id.bytes().skip(pos).step_by(2)).collect();
            assert_eq!(seen.len(), 16);
        }
    }

    #[test]
    fn a_fill_larger_than_the_pool_comes_from_the_source() {
        let mut big = [0u8; POOL_BYTES + 100];
        fill(&mut big).unwrap();
        assert!(big.iter().filter(|b| **b != 0).count() > POOL_BYTES / 2);
        // The pool still serves small fills after it.
        assert_eq!(random_id().unwrap().len(), 32);
    }

    #[test]
    fn jitter_is_in_the_unit_interval_and_varies() {
        use crate::clock::Random;
        let xs: Vec<f64> = (0..200).map(|_| SystemRandom.next_f64()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(xs.iter().any(|x| *x < 0.25) && xs.iter().any(|x| *x > 0.75));
    }
}
