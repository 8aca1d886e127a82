//! Periodic saving: "every N items or every T ms, whichever comes first".

use crate::error::{Result, StateError};
use std::cell::Cell;

/// "Save every N items or every T ms, whichever comes first."
pub struct Periodic {
    every_items: Option<u64>,
    every_ms: Option<i64>,
    count: Cell<u64>,
    last_ms: Cell<i64>,
}

impl Periodic {
    /// Saves every `every_items` items or `every_ms` milliseconds, whichever comes first; at least one must be given.
    pub fn new(every_items: Option<u64>, every_ms: Option<i64>, now_ms: i64) -> Result<Self> {
        if every_items.is_none() && every_ms.is_none() {
            return Err(StateError::invalid("options", "must give everyItems, everyMs or both"));
        }
        Ok(Periodic { every_items, every_ms, count: Cell::new(0), last_ms: Cell::new(now_ms) })
    }

    /// Counts one item; true when a save is due.
    pub fn tick(&self, now_ms: i64) -> bool {
        self.count.set(self.count.get() + 1);
        self.every_items.is_some_and(|n| self.count.get() >= n) || self.every_ms.is_some_and(|ms| now_ms - self.last_ms.get() >= ms)
    }

    /// Starts counting again after a save at `now_ms`.
    pub fn saved(&self, now_ms: i64) {
        self.count.set(0);
        self.last_ms.set(now_ms);
    }

    /// Items counted since the last save.
    pub fn unsaved(&self) -> u64 {
        self.count.get()
    }
}
