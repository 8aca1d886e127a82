//! The only code that touches JavaScript: exported classes, the bridge to
//! the host's KV store, and conversions. Compiled for wasm32 only.

mod adapter;
mod args;
mod bridge;
mod convert;
mod env;
mod errors;
mod file_tracker;
mod memory_kv;
mod state_service;
