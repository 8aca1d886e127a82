//! The only code that touches JavaScript: exported classes, the bridge to
//! the host's KV store, and conversions. Compiled for wasm32 only.

pub mod adapter;
pub mod args;
pub mod bridge;
pub mod bytes_store;
pub mod checkpoint;
pub mod convert;
pub mod env;
pub mod errors;
pub mod file_tracker;
pub mod indexed;
pub mod inspect;
pub mod jobs;
pub mod kv_u64;
pub mod memory_kv;
pub mod promise;
pub mod retry;
pub mod rules;
pub mod state_service;
