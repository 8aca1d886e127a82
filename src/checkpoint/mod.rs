//! Checkpoints: a run's progress, saved so a failed run resumes where it
//! stopped.
//!
//! A checkpoint is a manifest at `['cs:checkpoint', namespace, name]`. It
//! carries the caller's schema version, `savedAt`, a sequence number, the
//! payload's CRC-32 and a CRC-32 of the manifest itself. A payload that fits
//! one store value sits inside the manifest; a bigger one is split into
//! chunks under a fresh generation id, written first, and made live by one
//! atomic switch of the manifest. A reader therefore sees the whole old
//! checkpoint or the whole new one, never a mix: chunk keys are never reused,
//! and every chunk is checked against the manifest that names it.
//!
//! Generations that may sit in the store without being live (a save in
//! flight, an interrupted save, a superseded checkpoint) are listed in a
//! pending record, which the next save sweeps.

mod manifest;
mod periodic;
mod protocol;
#[cfg(test)]
mod tests;

pub use manifest::{crc_hex, split, Body, Manifest, Meta, PIECE_BUDGET};
pub use periodic::Periodic;
pub use protocol::{check_version, Checkpoint, Loaded, Saved, MAX_PROGRESS_BYTES};
