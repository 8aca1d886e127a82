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
