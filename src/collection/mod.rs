//! Collections: named sets of records, one record per name, with listing,
//! stats and retention cleanup that scale to 100,000 records. Processed
//! files, jobs and retry items are each a collection with a [`Layout`].
//!
//! A mark is one record write whatever the number of records. How the
//! records are found again depends on the store, and `Collection::backing`
//! is the one place that decides:
//!
//! - stores that list by prefix (Deno KV, the embedded store) keep records
//!   at `['{prefix}:{segment}', name]` and list them with the store's own
//!   listing (`listing.rs`);
//! - stores that cannot list (Versori) keep them at 0.1.56's key,
//!   `'{prefix}:{segment}:{name}'`, with a paged index beside them
//!   (`paged.rs`).

mod cursor;
mod listing;
mod paged;
#[cfg(test)]
mod tests;

use crate::clock::{iso_from_ms, ms_from_iso, Clock};
use crate::error::{Result, StateError};
use crate::keys::{self, Key};
use crate::log::Logger;
use crate::store::{retrying, Store};
use crate::values::{check_value_size, str_field};
use cursor::Cursor;
use listing::Listing;
use paged::Paged;
use serde_json::{Map, Value};

/// Where a record on an index store says its index entry is.
const PAGE_HINT: &str = "cs:indexPage";
const PROCESSED_AT: &str = "processedAt";
/// Records asked for per list call on stores that list.
const LIST_BATCH: usize = 500;
/// Deletes per atomic write in cleanup and clear.
pub const DEFAULT_BATCH: usize = 100;

/// One record of a collection, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The name the record is kept under (a file name, a job id, …).
    pub name: String,
    /// The stored record, `{processedAt, ...metadata}`, without our page hint.
    pub record: Map<String, Value>,
    /// The field that dates the record (processedAt for files).
    pub time_field: &'static str,
    /// Why the stored record cannot be read, with its key, when it is
    /// damaged: listings report it instead of failing, and `remove` (or
    /// `clear`) deletes it.
    pub damaged: Option<String>,
}

impl Item {
    /// The record's date as stored (ISO 8601).
    pub fn processed_at(&self) -> Option<&str> {
        str_field(&self.record, self.time_field)
    }
    fn processed_ms(&self) -> Option<i64> {
        self.processed_at().and_then(ms_from_iso)
    }
    /// The record without its time field: what the caller passed.
    pub fn metadata(&self) -> Map<String, Value> {
        let mut m = self.record.clone();
        m.remove(self.time_field);
        m
    }
    fn record_count(&self) -> f64 {
        self.record.get("recordCount").and_then(Value::as_f64).filter(|n| n.is_finite()).unwrap_or(0.0)
    }
}

/// Which records a listing returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only records dated at or after this time.
    pub since_ms: Option<i64>,
    /// Only records dated before this time.
    pub until_ms: Option<i64>,
    /// Only names starting with this.
    pub name_prefix: Option<String>,
    /// Only records whose field equals this value.
    pub field_equals: Option<(String, Value)>,
}

impl Filter {
    fn matches(&self, item: &Item) -> bool {
        if let Some(p) = &self.name_prefix {
            if !item.name.starts_with(p.as_str()) {
                return false;
            }
        }
        if let Some((field, value)) = &self.field_equals {
            if item.record.get(field) != Some(value) {
                return false;
            }
        }
        if self.since_ms.is_none() && self.until_ms.is_none() {
            return true;
        }
        let Some(at) = item.processed_ms() else { return false };
        self.since_ms.is_none_or(|s| at >= s) && self.until_ms.is_none_or(|u| at < u)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// The records of this page that matched the filter.
    pub files: Vec<Item>,
    /// Pass back to continue; None when everything was listed.
    pub cursor: Option<String>,
}

/// Totals over a whole collection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Records in the collection.
    pub total_files: usize,
    /// Sum of the records' `recordCount` fields.
    pub total_records: f64,
    /// `(name, processedAt)`.
    pub oldest: Option<(String, String)>,
    /// `(name, processedAt)`.
    pub newest: Option<(String, String)>,
    /// Records that cannot be read (counted in `total_files`).
    pub damaged: usize,
}

/// What a cleanup did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Removed {
    /// Records looked at.
    pub scanned: usize,
    /// Records deleted.
    pub deleted: usize,
    /// Records whose delete failed (they stay for a later run).
    pub failed: usize,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verified {
    /// "list" (the store lists records; nothing to drift) or "index".
    pub mode: &'static str,
    /// Entries in the index (records listed, in list mode).
    pub indexed: usize,
    /// Index entries whose record is gone.
    pub stale: Vec<String>,
    /// Names indexed more than once.
    pub duplicates: Vec<String>,
    /// Records 0.1.56's index names that our index lacks.
    pub missing: Vec<String>,
    /// When the index head counts pages that do not exist: how many do.
    pub damaged_head: Option<usize>,
}

impl Verified {
    /// Nothing to repair.
    pub fn consistent(&self) -> bool {
        self.stale.is_empty() && self.duplicates.is_empty() && self.missing.is_empty() && self.damaged_head.is_none()
    }
}

/// What `rebuild` repaired.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rebuilt {
    /// Stale or duplicate index entries dropped.
    pub removed: usize,
    /// Records added to the index.
    pub added: usize,
}

/// What a collection is: the key segment of its records and the record
/// field that dates them (for filters, stats and cleanup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The key segment after the prefix.
    pub segment: &'static str,
    /// The record field that dates a record.
    pub time_field: &'static str,
}

/// Processed files, at 0.1.56's keys.
pub const FILES: Layout = Layout { segment: keys::FILES_SEGMENT, time_field: PROCESSED_AT };

/// A named set of records under one prefix.
pub struct Collection {
    /// The caller's prefix (`processed-files` records sit under it).
    pub prefix: String,
    layout: Layout,
}

/// A view of a collection through one backing: derefs to the collection.
macro_rules! backing {
    ($name:ident) => {
        pub(super) struct $name<'c>(pub(super) &'c Collection);

        impl std::ops::Deref for $name<'_> {
            type Target = Collection;
            fn deref(&self) -> &Collection {
                self.0
            }
        }
    };
}
use backing;

/// What a cleanup deletes: the records `select` picks, `batch` per atomic
/// write, each with `companions(name)` (keys other code keeps beside it).
#[derive(Clone, Copy)]
struct Doomed<'a> {
    batch: usize,
    select: &'a dyn Fn(&Item) -> bool,
    companions: &'a dyn Fn(&str) -> Vec<Key>,
}

/// How a collection keeps its records on one store.
enum Backing<'c> {
    Listing(Listing<'c>),
    Paged(Paged<'c>),
}

impl Collection {
    /// Processed files under `prefix`.
    pub fn new(prefix: &str) -> Result<Self> {
        Self::with_layout(prefix, FILES)
    }

    /// Records of `layout` under `prefix`.
    pub fn with_layout(prefix: &str, layout: Layout) -> Result<Self> {
        keys::check_prefix(prefix)?;
        keys::index_page(layout.segment, prefix, 0).check_size()?;
        Ok(Collection { prefix: prefix.to_string(), layout })
    }

    /// The one place that picks the backing for a store.
    fn backing<S: Store>(&self, store: &S) -> Backing<'_> {
        if store.capabilities().list {
            Backing::Listing(Listing(self))
        } else {
            Backing::Paged(Paged(self))
        }
    }

    fn text_key(&self, name: &str) -> Key {
        keys::indexed_record_text(&self.prefix, self.layout.segment, name)
    }

    fn parts_key(&self, name: &str) -> Key {
        keys::indexed_record_parts(&self.prefix, self.layout.segment, name)
    }

    fn records_prefix(&self) -> String {
        keys::indexed_records_prefix(&self.prefix, self.layout.segment)
    }

    fn item(&self, name: String, record: Map<String, Value>) -> Item {
        Item { name, record, time_field: self.layout.time_field, damaged: None }
    }

    fn record_key<S: Store>(&self, store: &S, name: &str) -> Result<Key> {
        keys::check_name("fileName", name)?;
        let key = match self.backing(store) {
            Backing::Listing(l) => l.key(name),
            Backing::Paged(p) => p.key(name),
        };
        key.check_size()?;
        Ok(key)
    }

    /// 0.1.56's key for the file, whatever the store (its `listProcessedFiles` returned it).
    pub fn legacy_key(&self, name: &str) -> String {
        self.text_key(name).parts[0].clone()
    }

    fn to_item(&self, key: &Key, name: String, value: Value) -> Result<Item> {
        match value {
            Value::Object(record) => Ok(self.item(name, without_hint(record))),
            _ => Err(StateError::corrupt(&key.display(), "expected the file's record as an object")),
        }
    }

    /// [`Self::to_item`] for a listing: a damaged record is an item that
    /// says so (with its key), never an error that hides the others.
    fn scanned_item(&self, key: &Key, name: String, value: Value) -> Item {
        self.to_item(key, name.clone(), value).unwrap_or_else(|e| Item { damaged: Some(e.message), ..self.item(name, Map::new()) })
    }

    /// The record of `name`, if there is one.
    pub async fn get<S: Store>(&self, store: &S, name: &str) -> Result<Option<Item>> {
        let key = self.record_key(store, name)?;
        match store.get(&key).await? {
            Some(entry) => Ok(Some(self.to_item(&key, name.to_string(), entry.value)?)),
            None => Ok(None),
        }
    }

    /// Whether `name` has a record.
    /// A record the store cannot decode is there all the same.
    pub async fn is_processed<S: Store>(&self, store: &S, name: &str) -> Result<bool> {
        let key = self.record_key(store, name)?;
        match store.get(&key).await {
            Ok(entry) => Ok(entry.is_some()),
            Err(e) if e.code == crate::error::ErrorCode::CorruptState => Ok(true),
            Err(e) => Err(e),
        }
    }

    fn make_record<C: Clock>(&self, clock: &C, metadata: Option<&Map<String, Value>>) -> Result<Map<String, Value>> {
        let mut record = Map::new();
        record.insert(self.layout.time_field.into(), Value::String(iso_from_ms(clock.now_ms())));
        if let Some(metadata) = metadata {
            if metadata.contains_key(PAGE_HINT) {
                return Err(StateError::invalid(&format!("metadata[{PAGE_HINT:?}]"), "is reserved for the index; rename that field"));
            }
            // As in 0.1.56, the caller's processedAt wins.
            record.extend(metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let value = Value::Object(record);
        check_value_size("the file record with its metadata", &value)?;
        match value {
            Value::Object(record) => Ok(record),
            _ => Err(StateError::invalid("metadata", "must be a plain object")),
        }
    }

    /// Records `name` as processed now, with `metadata`.
    pub async fn mark<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        name: &str,
        metadata: Option<&Map<String, Value>>,
    ) -> Result<()> {
        let key = self.record_key(store, name)?;
        let record = self.make_record(clock, metadata)?;
        match self.backing(store) {
            // One record per name and nothing else to keep right: a plain write.
            Backing::Listing(_) => store.set(&key, &Value::Object(record), None).await,
            Backing::Paged(_) => self.update(store, log, name, |_| Ok(Some(record.clone()))).await.map(drop),
        }
    }

    /// Removes `name`'s record and index entry; true if there was a record.
    /// A damaged record is removed too (it is the way out the error names).
    pub async fn remove<S: Store, L: Logger>(&self, store: &S, log: &L, name: &str) -> Result<bool> {
        let had = std::cell::Cell::new(false);
        let removed = self
            .update_with(store, log, name, true, |current| {
                had.set(current.is_some());
                Ok(None)
            })
            .await;
        match removed {
            // A value the store itself cannot decode (CORRUPT_STATE from the
            // read): on a store that lists there is no index entry to keep
            // in step, so the record is deleted by its key.
            Err(e) if e.code == crate::error::ErrorCode::CorruptState && matches!(self.backing(store), Backing::Listing(_)) => {
                store.delete(&self.record_key(store, name)?).await?;
                Ok(true)
            }
            other => other.map(|_| had.get()),
        }
    }

    /// Read-modify-write of one record, checked against what was read (so
    /// concurrent updates never lose one on a compare-and-set store).
    /// `change` gets the current record (without our hint) and returns the
    /// new one, or None to delete it. Returns what was written.
    pub async fn update<S, L, F>(&self, store: &S, log: &L, name: &str, change: F) -> Result<Option<Map<String, Value>>>
    where
        S: Store,
        L: Logger,
        F: Fn(Option<&Map<String, Value>>) -> Result<Option<Map<String, Value>>>,
    {
        self.update_with(store, log, name, false, change).await
    }

    /// [`Self::update`]; `damaged_ok`: a damaged record reads as an empty one
    /// (for removal), instead of CORRUPT_STATE.
    async fn update_with<S, L, F>(&self, store: &S, log: &L, name: &str, damaged_ok: bool, change: F) -> Result<Option<Map<String, Value>>>
    where
        S: Store,
        L: Logger,
        F: Fn(Option<&Map<String, Value>>) -> Result<Option<Map<String, Value>>>,
    {
        let key = self.record_key(store, name)?;
        let backing = self.backing(store);
        retrying(
            store,
            || format!("record {name:?} of prefix {:?}", self.prefix),
            async || {
                let existing = store.get(&key).await?;
                let current = match &existing {
                    Some(e) if damaged_ok => Some(self.scanned_item(&key, name.to_string(), e.value.clone()).record),
                    Some(e) => Some(self.to_item(&key, name.to_string(), e.value.clone())?.record),
                    None => None,
                };
                let next = change(current.as_ref())?;
                if let Some(record) = &next {
                    if record.contains_key(PAGE_HINT) {
                        return Err(StateError::invalid(&format!("record[{PAGE_HINT:?}]"), "is reserved for the index"));
                    }
                    check_value_size("the record", &Value::Object(record.clone()))?;
                }
                let applied = match (&backing, &next) {
                    (_, None) if existing.is_none() => true,
                    (Backing::Listing(l), next) => l.write(store, &key, existing.as_ref(), next.as_ref()).await?,
                    (Backing::Paged(p), Some(record)) => {
                        p.check_fits(name, record)?;
                        p.mark(store, log, &key, name, existing, record).await?
                    }
                    (Backing::Paged(p), None) => p.remove(store, log, &key, name, existing).await?,
                };
                Ok(applied.then_some(next))
            },
        )
        .await
    }

    /// Up to `want` records from `cursor` on (unfiltered), and where to go on.
    async fn scan<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        cursor: Option<&Cursor>,
        want: usize,
    ) -> Result<(Vec<Item>, Option<Cursor>)> {
        match self.backing(store) {
            Backing::Listing(l) => l.scan(store, cursor, want).await,
            Backing::Paged(p) => p.scan(store, log, cursor, want).await,
        }
    }

    /// One page of at most `limit` records matching `filter`, from `cursor`.
    pub async fn list<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        limit: usize,
        cursor: Option<&str>,
        filter: &Filter,
    ) -> Result<Listed> {
        let limit = limit.max(1);
        let list_mode = matches!(self.backing(store), Backing::Listing(_));
        let mut at = cursor.map(|c| Cursor::decode(c, list_mode)).transpose()?;
        let mut files = Vec::new();
        loop {
            let (batch, next) = self.scan(store, log, at.as_ref(), limit - files.len()).await?;
            files.extend(batch.into_iter().filter(|f| filter.matches(f)));
            at = next;
            if files.len() >= limit || at.is_none() {
                break;
            }
        }
        Ok(Listed { files, cursor: at.map(|c| c.encode()) })
    }

    /// Every record, in scan order, batch by batch.
    async fn for_each<S: Store, L: Logger, F: FnMut(Vec<Item>)>(&self, store: &S, log: &L, mut f: F) -> Result<()> {
        let mut at = None;
        loop {
            let (batch, next) = self.scan(store, log, at.as_ref(), LIST_BATCH).await?;
            f(batch);
            at = next;
            if at.is_none() {
                return Ok(());
            }
        }
    }

    /// Counts, record totals, oldest and newest, over every record.
    pub async fn stats<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Stats> {
        let mut stats = Stats::default();
        let mut oldest: Option<(i64, String, String)> = None;
        let mut newest: Option<(i64, String, String)> = None;
        self.for_each(store, log, |batch| {
            for item in batch {
                stats.total_files += 1;
                stats.damaged += usize::from(item.damaged.is_some());
                stats.total_records += item.record_count();
                if let (Some(ms), Some(at)) = (item.processed_ms(), item.processed_at()) {
                    if oldest.as_ref().is_none_or(|o| ms < o.0) {
                        oldest = Some((ms, item.name.clone(), at.to_string()));
                    }
                    if newest.as_ref().is_none_or(|n| ms > n.0) {
                        newest = Some((ms, item.name.clone(), at.to_string()));
                    }
                }
            }
        })
        .await?;
        stats.oldest = oldest.map(|(_, n, a)| (n, a));
        stats.newest = newest.map(|(_, n, a)| (n, a));
        Ok(stats)
    }

    /// Deletes what `doomed` picks. A failed batch is counted and skipped.
    async fn delete_where<S: Store, L: Logger>(&self, store: &S, log: &L, doomed: Doomed<'_>) -> Result<Removed> {
        let doomed = Doomed { batch: doomed.batch.max(1), ..doomed };
        match self.backing(store) {
            Backing::Listing(l) => l.delete_where(store, log, &doomed).await,
            Backing::Paged(p) => p.delete_where(store, log, &doomed).await,
        }
    }

    /// Deletes records processed before `cutoff_ms`, `batch` per write.
    pub async fn cleanup<S: Store, L: Logger>(&self, store: &S, log: &L, cutoff_ms: i64, batch: usize) -> Result<Removed> {
        self.cleanup_with(store, log, cutoff_ms, batch, &|_| Vec::new()).await
    }

    /// `cleanup`, also deleting `companions(name)` of each removed record in
    /// the same atomic write (keys other code keeps beside the record).
    pub async fn cleanup_with<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        cutoff_ms: i64,
        batch: usize,
        companions: &dyn Fn(&str) -> Vec<Key>,
    ) -> Result<Removed> {
        let select = |f: &Item| f.processed_ms().is_some_and(|at| at < cutoff_ms);
        self.delete_where(store, log, Doomed { batch, select: &select, companions }).await
    }

    /// Deletes every record of this prefix (and nothing of other prefixes).
    pub async fn clear<S: Store, L: Logger>(&self, store: &S, log: &L, batch: usize) -> Result<Removed> {
        self.delete_where(store, log, Doomed { batch, select: &|_| true, companions: &|_| Vec::new() }).await
    }

    /// Compares the index with the records.
    pub async fn verify<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Verified> {
        match self.backing(store) {
            Backing::Listing(l) => l.verify(store, log).await,
            Backing::Paged(p) => p.verify(store, log).await,
        }
    }

    /// Repairs what `verify` finds: drops stale and duplicate entries, and
    /// indexes records the index lacks.
    pub async fn rebuild<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Rebuilt> {
        match self.backing(store) {
            Backing::Listing(_) => Ok(Rebuilt::default()),
            Backing::Paged(p) => p.rebuild(store, log).await,
        }
    }
}

fn without_hint(mut record: Map<String, Value>) -> Map<String, Value> {
    record.remove(PAGE_HINT);
    record
}
