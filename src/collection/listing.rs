//! A collection on a store that lists by key prefix (Deno KV, the embedded
//! store): one record per name at `['{prefix}:{segment}', name]`, and the
//! store's own listing. There is no index to keep right.

use super::cursor::Cursor;
use super::{Collection, Doomed, Item, Removed, Verified, LIST_BATCH};
use crate::error::Result;
use crate::keys::Key;
use crate::log::{Level, Logger};
use crate::store::{Check, Entry, Mutation, Store};
use serde_json::{json, Map, Value};

super::backing!(Listing);

impl Listing<'_> {
    pub(super) fn key(&self, name: &str) -> Key {
        self.parts_key(name)
    }

    /// One attempt at writing (or, with `None`, deleting) a record, checked
    /// against `existing`.
    pub(super) async fn write<S: Store>(
        &self,
        store: &S,
        key: &Key,
        existing: Option<&Entry>,
        next: Option<&Map<String, Value>>,
    ) -> Result<bool> {
        let mutation = match next {
            Some(record) => Mutation::set(key.clone(), Value::Object(record.clone())),
            None => Mutation::delete(key.clone()),
        };
        store.atomic(&[Check::of(key, existing)], &[mutation]).await
    }

    pub(super) async fn scan<S: Store>(&self, store: &S, cursor: Option<&Cursor>, want: usize) -> Result<(Vec<Item>, Option<Cursor>)> {
        let prefix = [self.records_prefix()];
        let after = match cursor {
            Some(Cursor::List(c)) => Some(c.as_str()),
            _ => None,
        };
        let page = store.list(&prefix, want.clamp(1, LIST_BATCH), after).await?;
        let items = page
            .entries
            .into_iter()
            .map(|(key, entry)| {
                let name = key.parts.get(1).cloned().unwrap_or_default();
                self.scanned_item(&key, name, entry.value)
            })
            .collect();
        Ok((items, page.cursor.map(Cursor::List)))
    }

    /// Lists everything, then deletes what `select` picks, `batch` records
    /// (with their companions) per atomic write.
    pub(super) async fn delete_where<S: Store, L: Logger>(&self, store: &S, log: &L, doomed: &Doomed<'_>) -> Result<Removed> {
        let Doomed { batch, select, companions } = *doomed;
        let mut out = Removed::default();
        let mut names = Vec::new();
        self.for_each(store, log, |items| {
            out.scanned += items.len();
            names.extend(items.into_iter().filter(|i| select(i)).map(|i| i.name));
        })
        .await?;
        for names in names.chunks(batch) {
            let deletes: Vec<Mutation> =
                names.iter().flat_map(|n| std::iter::once(self.parts_key(n)).chain(companions(n))).map(Mutation::delete).collect();
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
        Ok(out)
    }

    /// Nothing can drift: counts the records.
    pub(super) async fn verify<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<Verified> {
        let mut indexed = 0;
        self.for_each(store, log, |batch| indexed += batch.len()).await?;
        Ok(Verified { mode: "list", indexed, ..Verified::default() })
    }
}
