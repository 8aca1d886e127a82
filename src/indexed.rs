//! File tracking with listing, stats and retention cleanup that scale to
//! 100,000 files.
//!
//! Each file is one record, `{processedAt, ...metadata}`, so a mark is one
//! write whatever the number of files.
//!
//! - On stores that list by prefix (Deno KV, the embedded store) records sit
//!   at `['{prefix}:processed-files', name]` and listing is the store's own:
//!   there is no index to keep right.
//! - On stores that cannot list (Versori) records sit at 0.1.56's key,
//!   `'{prefix}:processed-files:{name}'`, and an index per prefix keeps copies
//!   of them in pages of at most 16 KB: a head `{pages}` and pages of
//!   `[name, record]` entries. A mark appends to the last page, or opens a
//!   new one, in the same atomic write as the record (checked against what
//!   was read, so exact on compare-and-set stores). Page writes come before
//!   record writes, so a crash between them leaves an index entry without a
//!   record, which `verify` finds and `rebuild` drops. 0.1.56's shared index
//!   (`fc-sdk:file-index`) is imported when a prefix's index is first made.

use crate::clock::{iso_from_ms, ms_from_iso, Clock};
use crate::error::{ErrorCode, Result, StateError};
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{conflict, Check, Entry, Mutation, Store, MAX_CAS_ATTEMPTS};
use crate::values::{check_value_size, count_field, str_field};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// Where a record on an index store says its index entry is.
const PAGE_HINT: &str = "cs:indexPage";
const PROCESSED_AT: &str = "processedAt";
/// A page takes no new entry once it holds this many bytes of JSON.
const PAGE_SOFT_BYTES: usize = 16_000;
/// An entry bigger than this cannot go into a page at all.
const ENTRY_MAX_BYTES: usize = 60_000;
/// Records asked for per list call on stores that list.
const LIST_BATCH: usize = 500;
/// Deletes per atomic write in cleanup and clear.
pub const DEFAULT_BATCH: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct IndexedFile {
    pub file_name: String,
    /// The stored record, `{processedAt, ...metadata}`, without our page hint.
    pub record: Map<String, Value>,
    /// The field that dates the record (processedAt for files).
    pub time_field: &'static str,
}

impl IndexedFile {
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

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub name_prefix: Option<String>,
    /// Only records whose field equals this value.
    pub field_equals: Option<(String, Value)>,
}

impl Filter {
    fn matches(&self, file: &IndexedFile) -> bool {
        if let Some(p) = &self.name_prefix {
            if !file.file_name.starts_with(p.as_str()) {
                return false;
            }
        }
        if let Some((field, value)) = &self.field_equals {
            if file.record.get(field) != Some(value) {
                return false;
            }
        }
        if self.since_ms.is_none() && self.until_ms.is_none() {
            return true;
        }
        let Some(at) = file.processed_ms() else { return false };
        self.since_ms.is_none_or(|s| at >= s) && self.until_ms.is_none_or(|u| at < u)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub files: Vec<IndexedFile>,
    /// Pass back to continue; None when everything was listed.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    pub total_files: usize,
    pub total_records: f64,
    /// `(name, processedAt)`.
    pub oldest: Option<(String, String)>,
    pub newest: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Removed {
    pub scanned: usize,
    pub deleted: usize,
    pub failed: usize,
}

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
    pub fn consistent(&self) -> bool {
        self.stale.is_empty() && self.duplicates.is_empty() && self.missing.is_empty() && self.damaged_head.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rebuilt {
    pub removed: usize,
    pub added: usize,
}

#[derive(Debug, Clone, PartialEq)]
struct Page {
    entries: Vec<(String, Map<String, Value>)>,
}

impl Page {
    fn to_value(&self) -> Value {
        json!({ "entries": self.entries.iter().map(|(n, r)| json!([n, r])).collect::<Vec<_>>() })
    }
    fn parse(key: &Key, value: &Value) -> Result<Page> {
        let bad = || StateError::corrupt(&key.display(), "expected {entries: [[name, record], ...]}");
        let items = value.get("entries").and_then(Value::as_array).ok_or_else(bad)?;
        let entries = items
            .iter()
            .map(|item| match item.as_array().map(Vec::as_slice) {
                Some([Value::String(n), Value::Object(r)]) => Some((n.clone(), r.clone())),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        Ok(Page { entries })
    }
    fn bytes(&self) -> usize {
        self.to_value().to_string().len()
    }
    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(n, _)| n == name)
    }
}

fn entry_bytes(name: &str, record: &Map<String, Value>) -> usize {
    json!([name, record]).to_string().len() + 1
}

fn without_hint(mut record: Map<String, Value>) -> Map<String, Value> {
    record.remove(PAGE_HINT);
    record
}

/// Open pages a mark may append to; see `try_mark`.
const LANES: usize = 8;

fn lane_of(name: &str) -> usize {
    (crc32fast::hash(name.as_bytes()) as usize) % LANES
}

fn open_pages(head: &Value) -> [Option<usize>; LANES] {
    let mut open = [None; LANES];
    if let Some(items) = head.get("open").and_then(Value::as_array) {
        for (slot, item) in open.iter_mut().zip(items) {
            *slot = item.as_u64().map(|j| j as usize);
        }
    }
    open
}

/// A walk over the index pages. By the write order (head, page, record) at
/// most one open page per lane can be missing, so once more than LANES pages
/// are missing the head's count is damaged and no page beyond exists: the
/// walk ends there instead of reading millions of absent pages.
#[derive(Default)]
struct Walk {
    missing: Vec<usize>,
}

impl Walk {
    /// False when page `j` (read as `entry`) lies past the real end.
    fn goes_on(&mut self, j: usize, entry: Option<&Entry>) -> bool {
        if entry.is_none() && !self.missing.contains(&j) {
            self.missing.push(j);
        }
        self.missing.len() <= LANES
    }
    /// The page count the walk found, when it ended before the head's.
    fn real_end(&self) -> Option<usize> {
        (self.missing.len() > LANES).then(|| {
            // The trailing run of missing pages is past the end.
            let mut end = *self.missing.last().unwrap_or(&0);
            while end > 0 && self.missing.contains(&(end - 1)) {
                end -= 1;
            }
            end
        })
    }
}

fn head_value(pages: usize, open: &[Option<usize>]) -> Value {
    json!({ "pages": pages, "open": open })
}

fn hint_of(record: &Value) -> Option<usize> {
    record.as_object().and_then(|r| count_field(r, PAGE_HINT)).map(|n| n as usize)
}

enum Cursor {
    List(String),
    Index { page: usize, offset: usize },
}

impl Cursor {
    fn encode(&self) -> String {
        match self {
            Cursor::List(c) => format!("l:{c}"),
            Cursor::Index { page, offset } => format!("i:{page}:{offset}"),
        }
    }
    fn decode(text: &str, list_mode: bool) -> Result<Cursor> {
        let bad = || StateError::invalid("options.cursor", "is not a cursor this tracker returned (on this kind of store)");
        match (text.split_once(':'), list_mode) {
            (Some(("l", c)), true) => Ok(Cursor::List(c.to_string())),
            (Some(("i", rest)), false) => {
                let (p, o) = rest.split_once(':').ok_or_else(bad)?;
                Ok(Cursor::Index { page: p.parse().map_err(|_| bad())?, offset: o.parse().map_err(|_| bad())? })
            }
            _ => Err(bad()),
        }
    }
}

/// What a collection is: the key segment of its records and the record
/// field that dates them (for filters, stats and cleanup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub segment: &'static str,
    pub time_field: &'static str,
}

/// Processed files, at 0.1.56's keys.
pub const FILES: Layout = Layout { segment: "processed-files", time_field: PROCESSED_AT };

pub struct IndexedFiles {
    pub prefix: String,
    layout: Layout,
}

impl IndexedFiles {
    pub fn new(prefix: &str) -> Result<Self> {
        Self::with_layout(prefix, FILES)
    }

    pub fn with_layout(prefix: &str, layout: Layout) -> Result<Self> {
        keys::check_prefix(prefix)?;
        keys::index_page(layout.segment, prefix, 0).check_size()?;
        Ok(IndexedFiles { prefix: prefix.to_string(), layout })
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

    fn head_key(&self) -> Key {
        keys::index_head(self.layout.segment, &self.prefix)
    }

    fn file(&self, name: String, record: Map<String, Value>) -> IndexedFile {
        IndexedFile { file_name: name, record, time_field: self.layout.time_field }
    }

    fn list_mode<S: Store>(store: &S) -> bool {
        store.capabilities().list
    }

    fn record_key<S: Store>(&self, store: &S, name: &str) -> Result<Key> {
        keys::check_name("fileName", name)?;
        let key = if Self::list_mode(store) { self.parts_key(name) } else { self.text_key(name) };
        key.check_size()?;
        Ok(key)
    }

    /// 0.1.56's key for the file, whatever the store (its `listProcessedFiles` returned it).
    pub fn legacy_key(&self, name: &str) -> String {
        self.text_key(name).parts[0].clone()
    }

    fn page_key(&self, page: usize) -> Key {
        keys::index_page(self.layout.segment, &self.prefix, page)
    }

    fn to_file(&self, key: &Key, name: String, value: Value) -> Result<IndexedFile> {
        match value {
            Value::Object(record) => Ok(self.file(name, without_hint(record))),
            _ => Err(StateError::corrupt(&key.display(), "expected the file's record as an object")),
        }
    }

    pub async fn get<S: Store>(&self, store: &S, name: &str) -> Result<Option<IndexedFile>> {
        let key = self.record_key(store, name)?;
        match store.get(&key).await? {
            Some(entry) => Ok(Some(self.to_file(&key, name.to_string(), entry.value)?)),
            None => Ok(None),
        }
    }

    pub async fn is_processed<S: Store>(&self, store: &S, name: &str) -> Result<bool> {
        let key = self.record_key(store, name)?;
        Ok(store.get(&key).await?.is_some())
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
        if Self::list_mode(store) {
            // One record per file and nothing else to keep right: a plain write.
            return store.set(&key, &Value::Object(record), None).await;
        }
        self.update(store, log, name, |_| Ok(Some(record.clone()))).await.map(drop)
    }

    async fn head<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<(Entry, usize)> {
        let key = self.head_key();
        for attempt in 0..MAX_CAS_ATTEMPTS {
            store.backoff(attempt).await;
            match store.get(&key).await? {
                Some(entry) => {
                    let pages = entry
                        .value
                        .as_object()
                        .and_then(|h| count_field(h, "pages"))
                        .ok_or_else(|| StateError::corrupt(&key.display(), "expected {pages}"))?;
                    return Ok((entry, pages as usize));
                }
                None => self.import(store, log).await?,
            }
        }
        Err(conflict(&format!("the file index of prefix {:?}", self.prefix)))
    }

    async fn page<S: Store>(&self, store: &S, page: usize) -> Result<(Option<Entry>, Page)> {
        let key = self.page_key(page);
        match store.get(&key).await? {
            Some(entry) => {
                let parsed = Page::parse(&key, &entry.value)?;
                Ok((Some(entry), parsed))
            }
            None => Ok((None, Page { entries: Vec::new() })),
        }
    }

    /// The page holding `name`: the record's hint first, else every page.
    async fn find<S: Store>(
        &self,
        store: &S,
        name: &str,
        hint: Option<usize>,
        pages: usize,
    ) -> Result<Option<(usize, Option<Entry>, Page)>> {
        if let Some(j) = hint.filter(|j| *j < pages) {
            let (entry, page) = self.page(store, j).await?;
            if page.position(name).is_some() {
                return Ok(Some((j, entry, page)));
            }
        }
        let mut walk = Walk::default();
        for j in 0..pages {
            if Some(j) == hint {
                continue;
            }
            let (entry, page) = self.page(store, j).await?;
            if !walk.goes_on(j, entry.as_ref()) {
                break;
            }
            if page.position(name).is_some() {
                return Ok(Some((j, entry, page)));
            }
        }
        Ok(None)
    }

    /// One attempt at an index-mode mark; false when a check failed.
    async fn try_mark<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        key: &Key,
        name: &str,
        existing: Option<Entry>,
        record: &Map<String, Value>,
    ) -> Result<bool> {
        let (head_entry, pages) = self.head(store, log).await?;
        let with_hint = |j: usize| {
            let mut r = record.clone();
            r.insert(PAGE_HINT.into(), json!(j));
            Value::Object(r)
        };
        if let Some(current) = &existing {
            if let Some((j, page_entry, mut page)) = self.find(store, name, hint_of(&current.value), pages).await? {
                if let Some(i) = page.position(name) {
                    page.entries[i].1 = record.clone();
                }
                let checks = [Check::of(&self.page_key(j), page_entry.as_ref()), Check::of(key, Some(current))];
                let writes = [
                    Mutation::Set { key: self.page_key(j), value: page.to_value(), expire_in_ms: None },
                    Mutation::Set { key: key.clone(), value: with_hint(j), expire_in_ms: None },
                ];
                return store.atomic(&checks, &writes).await;
            }
        }
        // Appends go to one of LANES open pages, picked by the name, so
        // concurrent marks rarely race for the same page.
        let head_key = self.head_key();
        let mut open = open_pages(&head_entry.value);
        let lane = lane_of(name);
        let tail = open[lane].filter(|j| *j < pages);
        let (tail_entry, mut page) = match tail {
            Some(j) => self.page(store, j).await?,
            None => (None, Page { entries: Vec::new() }),
        };
        let record_check = Check::of(key, existing.as_ref());
        match tail {
            // A stale entry of this name (left by a mark that failed after
            // its page write) is reused, not duplicated.
            Some(j) if page.position(name).is_some() || page.bytes() + entry_bytes(name, record) <= PAGE_SOFT_BYTES => {
                match page.position(name) {
                    Some(i) => page.entries[i].1 = record.clone(),
                    None => page.entries.push((name.to_string(), record.clone())),
                }
                let checks = [Check::of(&self.page_key(j), tail_entry.as_ref()), record_check];
                let writes = [
                    Mutation::Set { key: self.page_key(j), value: page.to_value(), expire_in_ms: None },
                    Mutation::Set { key: key.clone(), value: with_hint(j), expire_in_ms: None },
                ];
                store.atomic(&checks, &writes).await
            }
            _ => {
                let j = pages;
                open[lane] = Some(j);
                let page = Page { entries: vec![(name.to_string(), record.clone())] };
                let checks = [Check::of(&head_key, Some(&head_entry)), Check { key: self.page_key(j), versionstamp: None }, record_check];
                // Head, page, record: a crash after the head leaves an empty
                // page the lane fills next; after the page, a stale entry.
                let writes = [
                    Mutation::Set { key: head_key, value: head_value(j + 1, &open), expire_in_ms: None },
                    Mutation::Set { key: self.page_key(j), value: page.to_value(), expire_in_ms: None },
                    Mutation::Set { key: key.clone(), value: with_hint(j), expire_in_ms: None },
                ];
                store.atomic(&checks, &writes).await
            }
        }
    }

    /// Makes this prefix's index from 0.1.56's shared one: every name it
    /// lists that has a record under this prefix.
    async fn import<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<()> {
        let legacy = self.legacy_names(store, log).await?;
        let mut pages = vec![Page { entries: Vec::new() }];
        let mut bytes = 0;
        for name in &legacy {
            let key = self.text_key(name);
            let Some(Entry { value: Value::Object(record), .. }) = store.get(&key).await? else { continue };
            let record = without_hint(record);
            let size = entry_bytes(name, &record);
            if bytes + size > PAGE_SOFT_BYTES && bytes > 0 {
                pages.push(Page { entries: Vec::new() });
                bytes = 0;
            }
            bytes += size;
            if let Some(page) = pages.last_mut() {
                page.entries.push((name.clone(), record));
            }
        }
        let imported: usize = pages.iter().map(|p| p.entries.len()).sum();
        let count = if imported == 0 { 0 } else { pages.len() };
        let mut writes: Vec<Mutation> = pages
            .iter()
            .take(count)
            .enumerate()
            .map(|(j, p)| Mutation::Set { key: self.page_key(j), value: p.to_value(), expire_in_ms: None })
            .collect();
        let head_key = self.head_key();
        writes.push(Mutation::Set { key: head_key.clone(), value: head_value(count, &[None; LANES]), expire_in_ms: None });
        if store.atomic(&[Check { key: head_key, versionstamp: None }], &writes).await? && imported > 0 {
            log.log(
                Level::Info,
                &format!("file index of prefix {:?}: imported {imported} files from fc-connect-sdk 0.1.56's index", self.prefix),
                json!({ "imported": imported }),
            );
        }
        Ok(())
    }

    async fn legacy_names<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Vec<String>> {
        let key = keys::legacy_file_index();
        let Some(entry) = store.get(&key).await? else { return Ok(Vec::new()) };
        let names: Option<Vec<String>> = entry
            .value
            .as_array()
            .map(|items| items.iter().filter_map(|n| n.as_str().filter(|n| !n.is_empty()).map(str::to_string)).collect());
        match names {
            Some(mut names) => {
                let mut seen = HashSet::new();
                names.retain(|n| seen.insert(n.clone()));
                Ok(names)
            }
            None => {
                log.log(Level::Warn, &format!("{} is not an array of names; not imported", key.display()), json!({}));
                Ok(Vec::new())
            }
        }
    }

    /// Removes `name`'s record and index entry; true if there was a record.
    pub async fn remove<S: Store, L: Logger>(&self, store: &S, log: &L, name: &str) -> Result<bool> {
        let had = std::cell::Cell::new(false);
        self.update(store, log, name, |current| {
            had.set(current.is_some());
            Ok(None)
        })
        .await?;
        Ok(had.get())
    }

    /// One attempt at an index-mode removal checked against `existing`.
    async fn try_remove<S: Store, L: Logger>(&self, store: &S, log: &L, key: &Key, name: &str, existing: Option<Entry>) -> Result<bool> {
        let (_, pages) = self.head(store, log).await?;
        let hint = existing.as_ref().and_then(|e| hint_of(&e.value));
        let Some((j, page_entry, mut page)) = self.find(store, name, hint, pages).await? else {
            return match &existing {
                Some(e) => store.atomic(&[Check::of(key, Some(e))], &[Mutation::Delete { key: key.clone() }]).await,
                None => Ok(true),
            };
        };
        page.entries.retain(|(n, _)| n != name);
        // The record goes first: a crash in between leaves a stale entry, which verify() finds.
        let checks = [Check::of(&self.page_key(j), page_entry.as_ref()), Check::of(key, existing.as_ref())];
        let writes =
            [Mutation::Delete { key: key.clone() }, Mutation::Set { key: self.page_key(j), value: page.to_value(), expire_in_ms: None }];
        store.atomic(&checks, &writes).await
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
        let key = self.record_key(store, name)?;
        for attempt in 0..MAX_CAS_ATTEMPTS {
            store.backoff(attempt).await;
            let existing = store.get(&key).await?;
            let current = match &existing {
                Some(e) => Some(without_hint(self.to_file(&key, name.to_string(), e.value.clone())?.record)),
                None => None,
            };
            let next = change(current.as_ref())?;
            if let Some(record) = &next {
                if record.contains_key(PAGE_HINT) {
                    return Err(StateError::invalid(&format!("record[{PAGE_HINT:?}]"), "is reserved for the index"));
                }
                check_value_size("the record", &Value::Object(record.clone()))?;
                if !Self::list_mode(store) && entry_bytes(name, record) > ENTRY_MAX_BYTES {
                    return Err(StateError::new(
                        ErrorCode::ValueTooLarge,
                        format!("the record of {name:?} with its name takes more than {ENTRY_MAX_BYTES} bytes, too big for the index; store less metadata"),
                    ));
                }
            }
            let applied = match (&next, Self::list_mode(store)) {
                (None, _) if existing.is_none() => true,
                (Some(record), true) => {
                    store
                        .atomic(
                            &[Check::of(&key, existing.as_ref())],
                            &[Mutation::Set { key: key.clone(), value: Value::Object(record.clone()), expire_in_ms: None }],
                        )
                        .await?
                }
                (None, true) => store.atomic(&[Check::of(&key, existing.as_ref())], &[Mutation::Delete { key: key.clone() }]).await?,
                (Some(record), false) => self.try_mark(store, log, &key, name, existing, record).await?,
                (None, false) => self.try_remove(store, log, &key, name, existing).await?,
            };
            if applied {
                return Ok(next);
            }
        }
        Err(conflict(&format!("record {name:?} of prefix {:?}", self.prefix)))
    }

    /// Up to `want` files from `cursor` on (unfiltered), and where to go on.
    async fn scan<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        cursor: Option<&Cursor>,
        want: usize,
    ) -> Result<(Vec<IndexedFile>, Option<Cursor>)> {
        if Self::list_mode(store) {
            let prefix = [self.records_prefix()];
            let after = match cursor {
                Some(Cursor::List(c)) => Some(c.as_str()),
                _ => None,
            };
            let page = store.list(&prefix, want.clamp(1, LIST_BATCH), after).await?;
            let files = page
                .entries
                .into_iter()
                .map(|(key, entry)| {
                    let name = key.parts.get(1).cloned().unwrap_or_default();
                    self.to_file(&key, name, entry.value)
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok((files, page.cursor.map(Cursor::List)));
        }
        let (_, pages) = self.head(store, log).await?;
        let (mut j, mut offset) = match cursor {
            Some(Cursor::Index { page, offset }) => (*page, *offset),
            _ => (0, 0),
        };
        let mut walk = Walk::default();
        while j < pages {
            let (entry, page) = self.page(store, j).await?;
            if !walk.goes_on(j, entry.as_ref()) {
                break;
            }
            if offset < page.entries.len() {
                let end = (offset + want.max(1)).min(page.entries.len());
                let files = page.entries[offset..end].iter().map(|(n, r)| self.file(n.clone(), r.clone())).collect();
                let next = if end < page.entries.len() {
                    Some(Cursor::Index { page: j, offset: end })
                } else if j + 1 < pages {
                    Some(Cursor::Index { page: j + 1, offset: 0 })
                } else {
                    None
                };
                return Ok((files, next));
            }
            j += 1;
            offset = 0;
        }
        Ok((Vec::new(), None))
    }

    /// One page of at most `limit` files matching `filter`, from `cursor`.
    pub async fn list<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        limit: usize,
        cursor: Option<&str>,
        filter: &Filter,
    ) -> Result<Listed> {
        let limit = limit.max(1);
        let mut at = cursor.map(|c| Cursor::decode(c, Self::list_mode(store))).transpose()?;
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

    /// Every file, in scan order, batch by batch.
    async fn for_each<S: Store, L: Logger, F: FnMut(Vec<IndexedFile>)>(&self, store: &S, log: &L, mut f: F) -> Result<()> {
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

    pub async fn stats<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Stats> {
        let mut stats = Stats::default();
        let mut oldest: Option<(i64, String, String)> = None;
        let mut newest: Option<(i64, String, String)> = None;
        self.for_each(store, log, |batch| {
            for file in batch {
                stats.total_files += 1;
                stats.total_records += file.record_count();
                if let (Some(ms), Some(at)) = (file.processed_ms(), file.processed_at()) {
                    if oldest.as_ref().is_none_or(|o| ms < o.0) {
                        oldest = Some((ms, file.file_name.clone(), at.to_string()));
                    }
                    if newest.as_ref().is_none_or(|n| ms > n.0) {
                        newest = Some((ms, file.file_name.clone(), at.to_string()));
                    }
                }
            }
        })
        .await?;
        stats.oldest = oldest.map(|(_, n, a)| (n, a));
        stats.newest = newest.map(|(_, n, a)| (n, a));
        Ok(stats)
    }

    /// Deletes the files `select` picks (all of them for `clear`), `batch`
    /// records per write. A failed batch is counted and skipped.
    async fn delete_where<S: Store, L: Logger, F: Fn(&IndexedFile) -> bool>(
        &self,
        store: &S,
        log: &L,
        batch: usize,
        select: F,
        companions: &dyn Fn(&str) -> Vec<Key>,
    ) -> Result<Removed> {
        let mut out = Removed::default();
        let batch = batch.max(1);
        if Self::list_mode(store) {
            let mut doomed = Vec::new();
            self.for_each(store, log, |files| {
                out.scanned += files.len();
                doomed.extend(files.into_iter().filter(|f| select(f)).map(|f| f.file_name));
            })
            .await?;
            for names in doomed.chunks(batch) {
                let deletes: Vec<Mutation> = names
                    .iter()
                    .flat_map(|n| std::iter::once(self.parts_key(n)).chain(companions(n)))
                    .map(|key| Mutation::Delete { key })
                    .collect();
                match store.atomic(&[], &deletes).await {
                    Ok(_) => out.deleted += names.len(),
                    Err(e) => {
                        out.failed += names.len();
                        log.log(
                            Level::Warn,
                            &format!("file cleanup: {} deletes failed: {}", names.len(), e.message),
                            json!({ "code": e.code.as_str() }),
                        );
                    }
                }
            }
            return Ok(out);
        }
        // Page by page, at most `batch` records per write, each write checked
        // against the page as read: a concurrent mark is never overwritten.
        let (_, pages) = self.head(store, log).await?;
        let mut walk = Walk::default();
        'pages: for j in 0..pages {
            let mut scanned = None;
            let mut lost_races = 0;
            loop {
                let (page_entry, page) = self.page(store, j).await?;
                if !walk.goes_on(j, page_entry.as_ref()) {
                    break 'pages;
                }
                scanned.get_or_insert(page.entries.len());
                let selected: Vec<String> =
                    page.entries.iter().filter(|(n, r)| select(&self.file(n.clone(), r.clone()))).map(|(n, _)| n.clone()).collect();
                if selected.is_empty() {
                    break;
                }
                let doomed: HashSet<&String> = selected.iter().take(batch).collect();
                let kept = Page { entries: page.entries.iter().filter(|(n, _)| !doomed.contains(n)).cloned().collect() };
                // Records first, then the page: a crash leaves stale entries, never lost ones.
                let mut writes: Vec<Mutation> = doomed
                    .iter()
                    .flat_map(|n| std::iter::once(self.text_key(n)).chain(companions(n)))
                    .map(|key| Mutation::Delete { key })
                    .collect();
                writes.push(Mutation::Set { key: self.page_key(j), value: kept.to_value(), expire_in_ms: None });
                match store.atomic(&[Check::of(&self.page_key(j), page_entry.as_ref())], &writes).await {
                    Ok(true) => out.deleted += doomed.len(),
                    Ok(false) => {
                        lost_races += 1;
                        if lost_races >= MAX_CAS_ATTEMPTS {
                            return Err(conflict(&format!("page {j} of the index of prefix {:?}", self.prefix)));
                        }
                        store.backoff(lost_races).await;
                    }
                    Err(e) => {
                        // Skip the rest of this page; its records stay for a later run.
                        out.failed += selected.len();
                        log.log(
                            Level::Warn,
                            &format!("cleanup: {} deletes failed: {}", selected.len(), e.message),
                            json!({ "code": e.code.as_str() }),
                        );
                        break;
                    }
                }
            }
            out.scanned += scanned.unwrap_or(0);
        }
        Ok(out)
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
        self.delete_where(store, log, batch, |f| f.processed_ms().is_some_and(|at| at < cutoff_ms), companions).await
    }

    /// Deletes every file of this prefix (and nothing of other prefixes).
    pub async fn clear<S: Store, L: Logger>(&self, store: &S, log: &L, batch: usize) -> Result<Removed> {
        self.delete_where(store, log, batch, |_| true, &|_| Vec::new()).await
    }

    /// Compares the index with the records.
    pub async fn verify<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Verified> {
        if Self::list_mode(store) {
            let mut indexed = 0;
            self.for_each(store, log, |batch| indexed += batch.len()).await?;
            return Ok(Verified { mode: "list", indexed, ..Verified::default() });
        }
        let (_, pages) = self.head(store, log).await?;
        let mut out = Verified { mode: "index", ..Verified::default() };
        let mut seen = HashSet::new();
        let mut walk = Walk::default();
        for j in 0..pages {
            let (entry, page) = self.page(store, j).await?;
            if !walk.goes_on(j, entry.as_ref()) {
                out.damaged_head = walk.real_end();
                break;
            }
            for (name, _) in page.entries {
                out.indexed += 1;
                if !seen.insert(name.clone()) {
                    out.duplicates.push(name);
                } else if store.get(&self.text_key(&name)).await?.is_none() {
                    out.stale.push(name);
                }
            }
        }
        for name in self.legacy_names(store, log).await? {
            if !seen.contains(&name) && store.get(&self.text_key(&name)).await?.is_some() {
                out.missing.push(name);
            }
        }
        Ok(out)
    }

    /// Repairs what `verify` finds: drops stale and duplicate entries, and
    /// indexes records the index lacks.
    pub async fn rebuild<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Rebuilt> {
        let found = self.verify(store, log).await?;
        let mut out = Rebuilt::default();
        if found.mode == "list" || found.consistent() {
            return Ok(out);
        }
        let (head_entry, pages) = self.head(store, log).await?;
        if let Some(end) = found.damaged_head {
            // The head counts pages that do not exist: set it to the real end.
            let open: Vec<Option<usize>> = open_pages(&head_entry.value).iter().map(|o| o.filter(|j| *j < end)).collect();
            let write = Mutation::Set { key: self.head_key(), value: head_value(end, &open), expire_in_ms: None };
            if !store.atomic(&[Check::of(&self.head_key(), Some(&head_entry))], &[write]).await? {
                return Err(conflict(&format!("the file index head of prefix {:?}", self.prefix)));
            }
            log.log(
                Level::Warn,
                &format!("file index of prefix {:?}: the head counted {pages} pages, {end} exist; corrected", self.prefix),
                json!({}),
            );
        }
        let pages = found.damaged_head.unwrap_or(pages);
        let stale: HashSet<&String> = found.stale.iter().collect();
        let mut seen = HashSet::new();
        for j in 0..pages {
            let mut attempts = 0;
            loop {
                let (page_entry, page) = self.page(store, j).await?;
                let before = page.entries.len();
                // Keeps the first entry of each live name, across pages and
                // within this one.
                let mut here = HashSet::new();
                let entries: Vec<_> =
                    page.entries.into_iter().filter(|(n, _)| !stale.contains(n) && !seen.contains(n) && here.insert(n.clone())).collect();
                let dropped = before - entries.len();
                let write =
                    Mutation::Set { key: self.page_key(j), value: Page { entries: entries.clone() }.to_value(), expire_in_ms: None };
                if dropped == 0 || store.atomic(&[Check::of(&self.page_key(j), page_entry.as_ref())], &[write]).await? {
                    seen.extend(entries.into_iter().map(|(n, _)| n));
                    out.removed += dropped;
                    break;
                }
                attempts += 1;
                if attempts >= MAX_CAS_ATTEMPTS {
                    return Err(conflict(&format!("page {j} of the index of prefix {:?}", self.prefix)));
                }
                store.backoff(attempts).await;
            }
        }
        for name in &found.missing {
            // Writing the record back as it is indexes it.
            if self.update(store, log, name, |current| Ok(current.cloned())).await?.is_some() {
                out.added += 1;
            }
        }
        log.log(
            Level::Info,
            &format!("file index of prefix {:?} rebuilt: {} entries removed, {} added", self.prefix, out.removed, out.added),
            json!({}),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::log::NoLog;
    use crate::memory::MemoryStore;
    use crate::testing::{CrashAfterWrites, NoCas, NoList, Yielding};
    use futures::executor::block_on;
    use std::rc::Rc;

    const T0: i64 = 1_767_225_600_000;

    #[test]
    fn a_head_counting_pages_that_do_not_exist_is_walked_to_the_real_end_and_repaired() {
        let (clock, memory) = setup();
        let store = crate::testing::Flaky::healthy(NoList(&memory));
        let t = IndexedFiles::new("p").unwrap();
        block_on(async {
            for i in 0..30 {
                t.mark(&store, &*clock, &NoLog, &format!("f{i}"), None).await.unwrap();
            }
            let (head, pages) = t.head(&store, &NoLog).await.unwrap();
            let mut damaged = head.value.clone();
            damaged["pages"] = json!(1_000_000_000u64);
            store.set(&t.head_key(), &damaged, None).await.unwrap();
            let before = store.calls();
            let v = t.verify(&store, &NoLog).await.unwrap();
            assert!(store.calls() - before < 200, "verify read {} times", store.calls() - before);
            assert_eq!((v.indexed, v.damaged_head, v.consistent()), (30, Some(pages), false));
            t.rebuild(&store, &NoLog).await.unwrap();
            assert!(t.verify(&store, &NoLog).await.unwrap().consistent());
            assert_eq!(t.head(&store, &NoLog).await.unwrap().1, pages);
        });
        assert_eq!(all(&t, &store, 7).len(), 30);
    }

    #[test]
    fn rebuild_drops_duplicates_within_one_page() {
        let (clock, store) = setup();
        let store = NoList(&store);
        let t = IndexedFiles::new("p").unwrap();
        block_on(async {
            t.mark(&store, &*clock, &NoLog, "a", None).await.unwrap();
            t.mark(&store, &*clock, &NoLog, "b", None).await.unwrap();
            // Every page gets a second copy of its entries, as interrupted
            // marks on a store without compare-and-set can leave.
            let (_, pages) = t.head(&store, &NoLog).await.unwrap();
            for j in 0..pages {
                let (_, mut page) = t.page(&store, j).await.unwrap();
                page.entries.extend(page.entries.clone());
                store.set(&t.page_key(j), &page.to_value(), None).await.unwrap();
            }
            assert_eq!(t.verify(&store, &NoLog).await.unwrap().duplicates.len(), 2);
            assert_eq!(t.rebuild(&store, &NoLog).await.unwrap().removed, 2);
            assert!(t.verify(&store, &NoLog).await.unwrap().consistent());
        });
        assert_eq!(all(&t, &store, 10), vec!["a", "b"]);
    }

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        let clock = Rc::new(FakeClock::at(T0));
        (clock.clone(), MemoryStore::new(clock))
    }

    fn meta(n: u64) -> Map<String, Value> {
        json!({ "recordCount": n, "source": format!("s3://bucket/{n}") }).as_object().unwrap().clone()
    }

    fn all<S: Store>(t: &IndexedFiles, store: &S, limit: usize) -> Vec<String> {
        let mut names = Vec::new();
        let mut cursor = None;
        loop {
            let page = block_on(t.list(store, &NoLog, limit, cursor.as_deref(), &Filter::default())).unwrap();
            assert!(page.files.len() <= limit);
            names.extend(page.files.into_iter().map(|f| f.file_name));
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return names,
            }
        }
    }

    fn behaves<S: Store>(store: &S, clock: &FakeClock) {
        let t = IndexedFiles::new("inv").unwrap();
        let other = IndexedFiles::new("orders").unwrap();
        for i in 0..1_000u64 {
            clock.advance(1_000);
            block_on(t.mark(store, clock, &NoLog, &format!("file-{i:04}.csv"), Some(&meta(i)))).unwrap();
        }
        block_on(other.mark(store, clock, &NoLog, "file-0001.csv", None)).unwrap();
        let mut names = all(&t, store, 37);
        assert_eq!(names.len(), 1_000);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 1_000);
        assert_eq!(all(&other, store, 10), vec!["file-0001.csv"]);
        // Re-marking updates in place.
        clock.advance(1);
        block_on(t.mark(store, clock, &NoLog, "file-0005.csv", Some(&meta(99)))).unwrap();
        assert_eq!(all(&t, store, 500).len(), 1_000);
        assert_eq!(block_on(t.get(store, "file-0005.csv")).unwrap().unwrap().record["recordCount"], json!(99));
        let stats = block_on(t.stats(store, &NoLog)).unwrap();
        assert_eq!(stats.total_files, 1_000);
        assert_eq!(stats.total_records, (0..1_000).sum::<u64>() as f64 - 5.0 + 99.0);
        assert_eq!(stats.oldest.unwrap().0, "file-0000.csv");
        assert_eq!(stats.newest.unwrap().0, "file-0005.csv");
        // Filters.
        let since = Filter { since_ms: Some(T0 + 991_000), ..Filter::default() };
        let recent = block_on(t.list(store, &NoLog, 100, None, &since)).unwrap();
        assert_eq!(recent.files.len(), 11, "990..999 and the re-marked 0005");
        let named = Filter { name_prefix: Some("file-00".into()), until_ms: Some(T0 + 50_000), ..Filter::default() };
        assert_eq!(block_on(t.list(store, &NoLog, 1_000, None, &named)).unwrap().files.len(), 48, "0..48 but the re-marked 0005");
        // Removal and retention.
        assert!(block_on(t.remove(store, &NoLog, "file-0007.csv")).unwrap());
        assert!(!block_on(t.remove(store, &NoLog, "file-0007.csv")).unwrap());
        assert!(!block_on(t.is_processed(store, "file-0007.csv")).unwrap());
        let removed = block_on(t.cleanup(store, &NoLog, T0 + 101_000, 30)).unwrap();
        assert_eq!((removed.deleted, removed.failed), (98, 0), "0..99 but the re-marked 0005 and the removed 0007");
        assert_eq!(all(&t, store, 100).len(), 1_000 - 1 - 98);
        assert!(block_on(t.verify(store, &NoLog)).unwrap().consistent());
        let cleared = block_on(t.clear(store, &NoLog, 100)).unwrap();
        assert_eq!(cleared.deleted, 901);
        assert!(all(&t, store, 100).is_empty());
        assert_eq!(all(&other, store, 10).len(), 1, "another prefix is untouched");
    }

    #[test]
    fn listing_stats_and_cleanup_on_a_store_that_lists() {
        let (clock, store) = setup();
        behaves(&store, &clock);
    }

    #[test]
    fn listing_stats_and_cleanup_through_the_index() {
        let (clock, store) = setup();
        behaves(&NoList(&store), &clock);
        let (clock, store) = setup();
        behaves(&NoCas(&store), &clock);
    }

    fn store_calls<S: Store>(store: &S, clock: &FakeClock, n: usize) -> Vec<usize> {
        let counting = crate::testing::Flaky::healthy(store);
        let t = IndexedFiles::new("p").unwrap();
        (0..n)
            .map(|i| {
                let before = counting.calls();
                block_on(t.mark(&counting, clock, &NoLog, &format!("f{i}"), Some(&meta(1)))).unwrap();
                counting.calls() - before
            })
            .collect()
    }

    #[test]
    fn a_mark_costs_a_constant_number_of_store_calls() {
        let (clock, store) = setup();
        assert!(store_calls(&store, &clock, 3_000).iter().all(|c| *c == 1));
        let (clock, store) = setup();
        let calls = store_calls(&NoList(&store), &clock, 3_000);
        assert!(calls[10..].iter().all(|c| *c <= 4), "{:?}", &calls[..20]);
        let head = block_on(store.get(&keys::index_head("processed-files", "p"))).unwrap().unwrap();
        let page_count = count_field(head.value.as_object().unwrap(), "pages").unwrap();
        assert!(page_count > 10 && calls.len() == 3_000);
        for j in 0..page_count as usize {
            let page = block_on(store.get(&keys::index_page("processed-files", "p", j))).unwrap().unwrap();
            assert!(page.value.to_string().len() <= PAGE_SOFT_BYTES, "page {j}");
        }
    }

    #[test]
    fn concurrent_marks_lose_no_name_on_a_compare_and_set_index() {
        let (clock, store) = setup();
        let store = Yielding::new(NoList(&store));
        let t = IndexedFiles::new("p").unwrap();
        let tasks = (0..20).map(|task| {
            let (t, store, clock) = (&t, &store, &clock);
            async move {
                for i in 0..25 {
                    t.mark(store, &**clock, &NoLog, &format!("t{task}-f{i}"), None).await.unwrap();
                }
            }
        });
        block_on(futures::future::join_all(tasks));
        assert_eq!(all(&t, &store, 100).len(), 500);
        assert!(block_on(t.verify(&store, &NoLog)).unwrap().consistent());
    }

    #[test]
    fn a_crash_between_index_and_record_is_found_and_repaired() {
        let mut torn_seen = 0;
        for survive in 0..3 {
            for name in ["torn-a", "torn-b", "torn-c", "torn-d"] {
                let (clock, memory) = setup();
                let store = NoCas(&memory);
                let t = IndexedFiles::new("p").unwrap();
                for i in 0..20 {
                    block_on(t.mark(&store, &*clock, &NoLog, &format!("f{i}"), None)).unwrap();
                }
                // Emulated atomic write: checks re-read, then each write in order; die after `survive` of them.
                let crashing = NoCas(CrashAfterWrites::new(&memory, survive, false));
                let _ = block_on(t.mark(&crashing, &*clock, &NoLog, name, None));
                let found = block_on(t.verify(&store, &NoLog)).unwrap();
                let listed = all(&t, &store, 100).contains(&name.to_string());
                let recorded = block_on(t.is_processed(&store, name)).unwrap();
                assert!(listed || !recorded, "{survive} {name}: a record the index lacks");
                assert_eq!(found.stale.len(), usize::from(listed && !recorded), "{survive} {name}: {found:?}");
                torn_seen += found.stale.len();
                let expected = Rebuilt { removed: found.stale.len(), added: 0 };
                assert_eq!(block_on(t.rebuild(&store, &NoLog)).unwrap(), expected);
                assert!(block_on(t.verify(&store, &NoLog)).unwrap().consistent());
                block_on(t.mark(&store, &*clock, &NoLog, name, None)).unwrap();
                let names = all(&t, &store, 100);
                assert_eq!(names.len(), 21, "{survive} {name}: {names:?}");
                assert!(block_on(t.verify(&store, &NoLog)).unwrap().consistent());
            }
        }
        assert!(torn_seen > 0, "some crash landed between an index entry and its record");
    }

    #[test]
    fn the_0_1_56_index_is_imported_on_first_use() {
        let (clock, memory) = setup();
        let store = NoCas(&memory);
        // What 0.1.56 left: one index of names for every prefix, records at unsanitized keys.
        block_on(store.set(&keys::legacy_file_index(), &json!(["a b.csv", "c.csv", "other.csv", "a b.csv"]), None)).unwrap();
        for name in ["a b.csv", "c.csv"] {
            block_on(store.set(
                &keys::indexed_record_text("inv", "processed-files", name),
                &json!({ "processedAt": "2026-01-02T00:00:00.000Z", "recordCount": 5 }),
                None,
            ))
            .unwrap();
        }
        block_on(store.set(
            &keys::indexed_record_text("orders", "processed-files", "other.csv"),
            &json!({ "processedAt": "2026-01-02T00:00:00.000Z" }),
            None,
        ))
        .unwrap();
        let t = IndexedFiles::new("inv").unwrap();
        assert_eq!(all(&t, &store, 10), vec!["a b.csv", "c.csv"]);
        block_on(t.mark(&store, &*clock, &NoLog, "new.csv", None)).unwrap();
        assert_eq!(block_on(t.stats(&store, &NoLog)).unwrap().total_records, 10.0);
        assert!(block_on(t.remove(&store, &NoLog, "a b.csv")).unwrap());
        assert_eq!(all(&t, &store, 10), vec!["c.csv", "new.csv"]);
        assert_eq!(all(&IndexedFiles::new("orders").unwrap(), &store, 10), vec!["other.csv"]);
        assert!(block_on(t.verify(&store, &NoLog)).unwrap().consistent());
    }

    #[test]
    fn store_failures_and_bad_input_are_coded_errors() {
        let (clock, memory) = setup();
        let t = IndexedFiles::new("p").unwrap();
        let down = crate::testing::Flaky::failing_every_call(&memory);
        assert_eq!(block_on(t.is_processed(&down, "a")).unwrap_err().code, ErrorCode::StoreUnavailable);
        assert_eq!(block_on(t.list(&down, &NoLog, 10, None, &Filter::default())).unwrap_err().code, ErrorCode::StoreUnavailable);
        assert_eq!(block_on(t.mark(&memory, &*clock, &NoLog, "", None)).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(block_on(t.list(&memory, &NoLog, 10, Some("i:0:0"), &Filter::default())).unwrap_err().code, ErrorCode::InvalidArgument);
        let reserved = json!({ PAGE_HINT: 1 }).as_object().unwrap().clone();
        assert_eq!(block_on(t.mark(&memory, &*clock, &NoLog, "a", Some(&reserved))).unwrap_err().code, ErrorCode::InvalidArgument);
        block_on(memory.set(&keys::indexed_record_parts("p", "processed-files", "bad"), &json!("not a record"), None)).unwrap();
        assert_eq!(block_on(t.list(&memory, &NoLog, 10, None, &Filter::default())).unwrap_err().code, ErrorCode::CorruptState);
    }
}
