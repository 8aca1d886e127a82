//! A collection on a store that cannot list (Versori): records at 0.1.56's
//! key, `'{prefix}:{segment}:{name}'`, and an index of copies of them in
//! pages of at most 16 KB: a head `{pages, open}` and pages of
//! `[name, record]` entries. A mark appends to one of the open pages, or
//! opens a new one, in the same atomic write as the record (checked against
//! what was read, so exact on compare-and-set stores). Page writes come
//! before record writes, so a crash between them leaves an index entry
//! without a record, which `verify` finds and `rebuild` drops. 0.1.56's
//! shared index (`fc-sdk:file-index`) is imported when a prefix's index is
//! first made.

use super::cursor::Cursor;
use super::{without_hint, Collection, Doomed, Item, Rebuilt, Removed, Verified, PAGE_HINT};
use crate::error::{ErrorCode, Result, StateError};
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{conflict, retrying, Check, Entry, Mutation, Store};
use crate::values::count_field;
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// A page takes no new entry once it holds this many bytes of JSON.
pub(super) const PAGE_SOFT_BYTES: usize = 16_000;
/// An entry bigger than this cannot go into a page at all.
const ENTRY_MAX_BYTES: usize = 60_000;
/// Open pages a mark may append to; see `mark`.
const LANES: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Page {
    pub(super) entries: Vec<(String, Map<String, Value>)>,
}

impl Page {
    pub(super) fn to_value(&self) -> Value {
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
        crate::values::json_len(&self.to_value())
    }
    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(n, _)| n == name)
    }
}

fn entry_bytes(name: &str, record: &Map<String, Value>) -> usize {
    crate::values::json_len(&json!([name, record])) + 1
}

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

super::backing!(Paged);

impl Paged<'_> {
    pub(super) fn key(&self, name: &str) -> Key {
        self.text_key(name)
    }

    pub(super) fn head_key(&self) -> Key {
        keys::index_head(self.layout.segment, &self.prefix)
    }

    pub(super) fn page_key(&self, page: usize) -> Key {
        keys::index_page(self.layout.segment, &self.prefix, page)
    }

    /// A record must fit into a page with its name.
    pub(super) fn check_fits(&self, name: &str, record: &Map<String, Value>) -> Result<()> {
        if entry_bytes(name, record) > ENTRY_MAX_BYTES {
            return Err(StateError::new(
                ErrorCode::ValueTooLarge,
                format!("the record of {name:?} with its name takes more than {ENTRY_MAX_BYTES} bytes, too big for the index; store less metadata"),
            ));
        }
        Ok(())
    }

    pub(super) async fn head<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<(Entry, usize)> {
        let key = self.head_key();
        retrying(
            store,
            || format!("the file index of prefix {:?}", self.prefix),
            async || {
                match store.get(&key).await? {
                    Some(entry) => {
                        let pages = entry
                            .value
                            .as_object()
                            .and_then(|h| count_field(h, "pages"))
                            .ok_or_else(|| StateError::corrupt(&key.display(), "expected {pages}"))?;
                        return Ok(Some((entry, pages as usize)));
                    }
                    None => self.import(store, log).await?,
                }
                Ok(None)
            },
        )
        .await
    }

    pub(super) async fn page<S: Store>(&self, store: &S, page: usize) -> Result<(Option<Entry>, Page)> {
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
    pub(super) async fn find<S: Store>(
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
    pub(super) async fn mark<S: Store, L: Logger>(
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
                let writes = [Mutation::set(self.page_key(j), page.to_value()), Mutation::set(key.clone(), with_hint(j))];
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
                let writes = [Mutation::set(self.page_key(j), page.to_value()), Mutation::set(key.clone(), with_hint(j))];
                store.atomic(&checks, &writes).await
            }
            _ => {
                let j = pages;
                open[lane] = Some(j);
                let page = Page { entries: vec![(name.to_string(), record.clone())] };
                let checks = [Check::of(&head_key, Some(&head_entry)), Check::absent(&self.page_key(j)), record_check];
                // Head, page, record: a crash after the head leaves an empty
                // page the lane fills next; after the page, a stale entry.
                let writes = [
                    Mutation::set(head_key, head_value(j + 1, &open)),
                    Mutation::set(self.page_key(j), page.to_value()),
                    Mutation::set(key.clone(), with_hint(j)),
                ];
                store.atomic(&checks, &writes).await
            }
        }
    }

    /// One attempt at an index-mode removal checked against `existing`.
    pub(super) async fn remove<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        key: &Key,
        name: &str,
        existing: Option<Entry>,
    ) -> Result<bool> {
        let (_, pages) = self.head(store, log).await?;
        let hint = existing.as_ref().and_then(|e| hint_of(&e.value));
        let Some((j, page_entry, mut page)) = self.find(store, name, hint, pages).await? else {
            return match &existing {
                Some(e) => store.atomic(&[Check::of(key, Some(e))], &[Mutation::delete(key.clone())]).await,
                None => Ok(true),
            };
        };
        page.entries.retain(|(n, _)| n != name);
        // The record goes first: a crash in between leaves a stale entry, which verify() finds.
        let checks = [Check::of(&self.page_key(j), page_entry.as_ref()), Check::of(key, existing.as_ref())];
        let writes = [Mutation::delete(key.clone()), Mutation::set(self.page_key(j), page.to_value())];
        store.atomic(&checks, &writes).await
    }

    /// Makes this prefix's index from 0.1.56's shared one: every name it
    /// lists that has a record under this prefix.
    pub(super) async fn import<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<()> {
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
        let mut writes: Vec<Mutation> =
            pages.iter().take(count).enumerate().map(|(j, p)| Mutation::set(self.page_key(j), p.to_value())).collect();
        let head_key = self.head_key();
        writes.push(Mutation::set(head_key.clone(), head_value(count, &[None; LANES])));
        if store.atomic(&[Check::absent(&head_key)], &writes).await? && imported > 0 {
            log.log(
                Level::Info,
                &format!("file index of prefix {:?}: imported {imported} files from fc-connect-sdk 0.1.56's index", self.prefix),
                json!({ "imported": imported }),
            );
        }
        Ok(())
    }

    pub(super) async fn legacy_names<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Vec<String>> {
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

    /// Up to `want` files from `cursor` on (unfiltered), and where to go on.
    pub(super) async fn scan<S: Store, L: Logger>(
        &self,
        store: &S,
        log: &L,
        cursor: Option<&Cursor>,
        want: usize,
    ) -> Result<(Vec<Item>, Option<Cursor>)> {
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
                let files = page.entries[offset..end].iter().map(|(n, r)| self.item(n.clone(), r.clone())).collect();
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

    /// Deletes the files `select` picks (all of them for `clear`), `batch`
    /// records per write. A failed batch is counted and skipped.
    pub(super) async fn delete_where<S: Store, L: Logger>(&self, store: &S, log: &L, doomed: &Doomed<'_>) -> Result<Removed> {
        let Doomed { batch, select, companions } = *doomed;
        let mut out = Removed::default();
        // Page by page, at most `batch` records per write, each write checked
        // against the page as read: a concurrent mark is never overwritten.
        let (_, pages) = self.head(store, log).await?;
        let mut walk = Walk::default();
        for j in 0..pages {
            let mut scanned = None;
            loop {
                let step = retrying(
                    store,
                    || format!("page {j} of the index of prefix {:?}", self.prefix),
                    async || {
                        let (page_entry, page) = self.page(store, j).await?;
                        if !walk.goes_on(j, page_entry.as_ref()) {
                            return Ok(Some(Sweep::PastEnd));
                        }
                        scanned.get_or_insert(page.entries.len());
                        let selected: Vec<String> =
                            page.entries.iter().filter(|(n, r)| select(&self.item(n.clone(), r.clone()))).map(|(n, _)| n.clone()).collect();
                        if selected.is_empty() {
                            return Ok(Some(Sweep::PageDone));
                        }
                        let doomed: HashSet<&String> = selected.iter().take(batch).collect();
                        let kept = Page { entries: page.entries.iter().filter(|(n, _)| !doomed.contains(n)).cloned().collect() };
                        // Records first, then the page: a crash leaves stale entries, never lost ones.
                        let mut writes: Vec<Mutation> = doomed
                            .iter()
                            .flat_map(|n| std::iter::once(self.text_key(n)).chain(companions(n)))
                            .map(Mutation::delete)
                            .collect();
                        writes.push(Mutation::set(self.page_key(j), kept.to_value()));
                        match store.atomic(&[Check::of(&self.page_key(j), page_entry.as_ref())], &writes).await {
                            Ok(true) => Ok(Some(Sweep::Deleted(doomed.len()))),
                            Ok(false) => Ok(None),
                            Err(e) => {
                                // Skip the rest of this page; its records stay for a later run.
                                log.log(
                                    Level::Warn,
                                    &format!("cleanup: {} deletes failed: {}", selected.len(), e.message),
                                    json!({ "code": e.code.as_str() }),
                                );
                                Ok(Some(Sweep::Failed(selected.len())))
                            }
                        }
                    },
                )
                .await?;
                match step {
                    Sweep::Deleted(n) => out.deleted += n,
                    Sweep::Failed(n) => {
                        out.failed += n;
                        break;
                    }
                    Sweep::PageDone => break,
                    Sweep::PastEnd => return Ok(Removed { scanned: out.scanned + scanned.unwrap_or(0), ..out }),
                }
            }
            out.scanned += scanned.unwrap_or(0);
        }
        Ok(out)
    }

    /// Compares the index with the records.
    pub(super) async fn verify<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Verified> {
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
    pub(super) async fn rebuild<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Rebuilt> {
        let found = self.verify(store, log).await?;
        let mut out = Rebuilt::default();
        if found.consistent() {
            return Ok(out);
        }
        let (head_entry, pages) = self.head(store, log).await?;
        if let Some(end) = found.damaged_head {
            // The head counts pages that do not exist: set it to the real end.
            let open: Vec<Option<usize>> = open_pages(&head_entry.value).iter().map(|o| o.filter(|j| *j < end)).collect();
            let write = Mutation::set(self.head_key(), head_value(end, &open));
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
            let (kept, dropped) = retrying(
                store,
                || format!("page {j} of the index of prefix {:?}", self.prefix),
                async || {
                    let (page_entry, page) = self.page(store, j).await?;
                    let before = page.entries.len();
                    // Keeps the first entry of each live name, across pages and
                    // within this one.
                    let mut here = HashSet::new();
                    let entries: Vec<_> = page
                        .entries
                        .into_iter()
                        .filter(|(n, _)| !stale.contains(n) && !seen.contains(n) && here.insert(n.clone()))
                        .collect();
                    let dropped = before - entries.len();
                    let write = Mutation::set(self.page_key(j), Page { entries: entries.clone() }.to_value());
                    let done = dropped == 0 || store.atomic(&[Check::of(&self.page_key(j), page_entry.as_ref())], &[write]).await?;
                    Ok(done.then_some((entries, dropped)))
                },
            )
            .await?;
            seen.extend(kept.into_iter().map(|(n, _)| n));
            out.removed += dropped;
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

/// How one batch of a paged cleanup ended.
enum Sweep {
    Deleted(usize),
    Failed(usize),
    PageDone,
    PastEnd,
}
