//! Random ids for locks, claims and owners.

use crate::error::{ErrorCode, Result, StateError};

/// 128 random bits as 32 hex digits.
pub fn random_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| {
        StateError::new(
            ErrorCode::Unsupported,
            format!("no secure random source is available ({e}); run where crypto.getRandomValues exists"),
        )
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Jitter for retry delays from the platform's random source.
pub struct SystemRandom;

impl crate::clock::Random for SystemRandom {
    fn next_f64(&self) -> f64 {
        let mut bytes = [0u8; 8];
        // Jitter only spreads load; if the source fails, the midpoint will do.
        if getrandom::getrandom(&mut bytes).is_err() {
            return 0.5;
        }
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }
}
