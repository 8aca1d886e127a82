//! connector-state: durable workflow state (locks, sync state, file tracking)
//! over any key-value store a host hands in.
//!
//! The core (everything outside `wasm`) is plain async Rust over the
//! [`store::Store`] and [`clock::Clock`] traits, so it runs natively in
//! `cargo test`. Only `wasm` touches JavaScript.

#![warn(missing_docs)]

pub mod checkpoint;
pub mod clock;
pub mod collection;
pub mod daily_job;
pub mod error;
pub mod files;
pub mod ids;
pub mod jobs;
pub mod keys;
pub mod kvkey;
pub mod locks;
pub mod log;
pub mod memory;
pub mod retry;
pub mod store;
pub mod sync_state;
pub mod values;

#[cfg(target_arch = "wasm32")]
#[allow(missing_docs)] // its exports are documented for JavaScript, in js/index.d.ts
pub mod wasm;

#[cfg(test)]
mod testing;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties;
