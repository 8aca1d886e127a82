//! The one error type of the core. Every failure carries a stable code that
//! JavaScript callers can branch on, and a message that says what to do.

use std::fmt;

/// Stable error codes: callers branch on these, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The store threw, rejected or answered something unusable.
    StoreUnavailable,
    /// A caller passed a value the API cannot accept.
    InvalidArgument,
    /// A key is longer than stores accept (2,048 bytes).
    KeyTooLarge,
    /// A value is larger than stores accept (65,536 bytes of JSON).
    ValueTooLarge,
    /// The caller does not hold the lock it tried to extend or use.
    LockNotHeld,
    /// Another run holds the lock (only from APIs that throw instead of returning false).
    LockHeld,
    /// The caller does not hold the claim it tried to complete.
    ClaimNotHeld,
    /// A stored record does not have the shape we wrote.
    CorruptState,
    /// A compare-and-set kept losing to concurrent writers.
    Conflict,
    /// Something the call needs does not exist (for example no live daily job).
    NotFound,
    /// A job status change that makes no sense (a completed job back to queued).
    InvalidTransition,
    /// The runtime lacks something we need (a secure random source).
    Unsupported,
    /// The object was freed, or the store it uses was closed.
    Closed,
}

impl ErrorCode {
    /// The code as JavaScript sees it (`'LOCK_HELD'`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::StoreUnavailable => "STORE_UNAVAILABLE",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::KeyTooLarge => "KEY_TOO_LARGE",
            ErrorCode::ValueTooLarge => "VALUE_TOO_LARGE",
            ErrorCode::LockNotHeld => "LOCK_NOT_HELD",
            ErrorCode::LockHeld => "LOCK_HELD",
            ErrorCode::ClaimNotHeld => "CLAIM_NOT_HELD",
            ErrorCode::CorruptState => "CORRUPT_STATE",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidTransition => "INVALID_TRANSITION",
            ErrorCode::Unsupported => "UNSUPPORTED_ENVIRONMENT",
            ErrorCode::Closed => "CLOSED",
        }
    }
}

/// An error with a stable code and a message that says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened and what to do about it.
    pub message: String,
    /// Where the host keeps the error that caused this one (a driver's
    /// `ECONNRESET`, say), handed to JavaScript as `cause`; None in native code.
    pub cause: Option<u32>,
}

/// The core's result type.
pub type Result<T> = std::result::Result<T, StateError>;

impl StateError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        StateError { code, message: message.into(), cause: None }
    }

    /// INVALID_ARGUMENT: `argument` has `problem`.
    pub fn invalid(argument: &str, problem: &str) -> Self {
        StateError::new(ErrorCode::InvalidArgument, format!("{argument} {problem}"))
    }

    /// STORE_UNAVAILABLE: the store's `operation` failed with `cause`.
    pub fn store(operation: &str, cause: &str) -> Self {
        StateError::new(
            ErrorCode::StoreUnavailable,
            format!("the KV store failed during {operation}: {cause}. Nothing was assumed; retry when the store is reachable"),
        )
    }

    /// CORRUPT_STATE: the record at `key` has `problem`.
    pub fn corrupt(key: &str, problem: &str) -> Self {
        StateError::new(ErrorCode::CorruptState, format!("the record at {key} is not valid ({problem}); inspect or delete it"))
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for StateError {}
