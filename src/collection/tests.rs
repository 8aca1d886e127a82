//! The collections' native tests: both backings, crashes, races and 0.1.56 data.

use super::paged::{Paged, PAGE_SOFT_BYTES};
use super::*;
use crate::clock::FakeClock;
use crate::error::ErrorCode;
use crate::log::NoLog;
use crate::memory::MemoryStore;
use crate::testing::{CrashAfterWrites, NoCas, NoList, Yielding};
use crate::values::count_field;
use futures::executor::block_on;
use serde_json::json;
use std::rc::Rc;

const T0: i64 = 1_767_225_600_000;

#[test]
fn a_head_counting_pages_that_do_not_exist_is_walked_to_the_real_end_and_repaired() {
    let (clock, memory) = setup();
    let store = crate::testing::Flaky::healthy(NoList(&memory));
    let t = Collection::new("p").unwrap();
    block_on(async {
        for i in 0..30 {
            t.mark(&store, &*clock, &NoLog, &format!("f{i}"), None).await.unwrap();
        }
        let (head, pages) = Paged(&t).head(&store, &NoLog).await.unwrap();
        let mut damaged = head.value.clone();
        damaged["pages"] = json!(1_000_000_000u64);
        store.set(&Paged(&t).head_key(), &damaged, None).await.unwrap();
        let before = store.calls();
        let v = t.verify(&store, &NoLog).await.unwrap();
        assert!(store.calls() - before < 200, "verify read {} times", store.calls() - before);
        assert_eq!((v.indexed, v.damaged_head, v.consistent()), (30, Some(pages), false));
        t.rebuild(&store, &NoLog).await.unwrap();
        assert!(t.verify(&store, &NoLog).await.unwrap().consistent());
        assert_eq!(Paged(&t).head(&store, &NoLog).await.unwrap().1, pages);
    });
    assert_eq!(all(&t, &store, 7).len(), 30);
}

#[test]
fn rebuild_drops_duplicates_within_one_page() {
    let (clock, store) = setup();
    let store = NoList(&store);
    let t = Collection::new("p").unwrap();
    block_on(async {
        t.mark(&store, &*clock, &NoLog, "a", None).await.unwrap();
        t.mark(&store, &*clock, &NoLog, "b", None).await.unwrap();
        // Every page gets a second copy of its entries, as interrupted
        // marks on a store without compare-and-set can leave.
        let (_, pages) = Paged(&t).head(&store, &NoLog).await.unwrap();
        for j in 0..pages {
            let (_, mut page) = Paged(&t).page(&store, j).await.unwrap();
            page.entries.extend(page.entries.clone());
            store.set(&Paged(&t).page_key(j), &page.to_value(), None).await.unwrap();
        }
        assert_eq!(t.verify(&store, &NoLog).await.unwrap().duplicates.len(), 2);
        assert_eq!(t.rebuild(&store, &NoLog).await.unwrap().removed, 2);
        assert!(t.verify(&store, &NoLog).await.unwrap().consistent());
    });
    assert_eq!(all(&t, &store, 10), vec!["a", "b"]);
}

fn setup() -> (Rc<FakeClock>, MemoryStore) {
    crate::testing::memory_at(T0)
}

fn meta(n: u64) -> Map<String, Value> {
    json!({ "recordCount": n, "source": format!("s3://bucket/{n}") }).as_object().unwrap().clone()
}

fn all<S: Store>(t: &Collection, store: &S, limit: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = None;
    loop {
        let page = block_on(t.list(store, &NoLog, limit, cursor.as_deref(), &Filter::default())).unwrap();
        assert!(page.files.len() <= limit);
        names.extend(page.files.into_iter().map(|f| f.name));
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return names,
        }
    }
}

fn behaves<S: Store>(store: &S, clock: &FakeClock) {
    let t = Collection::new("inv").unwrap();
    let other = Collection::new("orders").unwrap();
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
    let t = Collection::new("p").unwrap();
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
    let t = Collection::new("p").unwrap();
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
            let t = Collection::new("p").unwrap();
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
    let t = Collection::new("inv").unwrap();
    assert_eq!(all(&t, &store, 10), vec!["a b.csv", "c.csv"]);
    block_on(t.mark(&store, &*clock, &NoLog, "new.csv", None)).unwrap();
    assert_eq!(block_on(t.stats(&store, &NoLog)).unwrap().total_records, 10.0);
    assert!(block_on(t.remove(&store, &NoLog, "a b.csv")).unwrap());
    assert_eq!(all(&t, &store, 10), vec!["c.csv", "new.csv"]);
    assert_eq!(all(&Collection::new("orders").unwrap(), &store, 10), vec!["other.csv"]);
    assert!(block_on(t.verify(&store, &NoLog)).unwrap().consistent());
}

#[test]
fn store_failures_and_bad_input_are_coded_errors() {
    let (clock, memory) = setup();
    let t = Collection::new("p").unwrap();
    let down = crate::testing::Flaky::failing_every_call(&memory);
    assert_eq!(block_on(t.is_processed(&down, "a")).unwrap_err().code, ErrorCode::StoreUnavailable);
    assert_eq!(block_on(t.list(&down, &NoLog, 10, None, &Filter::default())).unwrap_err().code, ErrorCode::StoreUnavailable);
    assert_eq!(block_on(t.mark(&memory, &*clock, &NoLog, "", None)).unwrap_err().code, ErrorCode::InvalidArgument);
    assert_eq!(block_on(t.list(&memory, &NoLog, 10, Some("i:0:0"), &Filter::default())).unwrap_err().code, ErrorCode::InvalidArgument);
    let reserved = json!({ PAGE_HINT: 1 }).as_object().unwrap().clone();
    assert_eq!(block_on(t.mark(&memory, &*clock, &NoLog, "a", Some(&reserved))).unwrap_err().code, ErrorCode::InvalidArgument);
}

#[test]
fn a_damaged_record_is_listed_as_damaged_and_removable_by_name() {
    let (clock, memory) = setup();
    let t = Collection::new("p").unwrap();
    block_on(t.mark(&memory, &*clock, &NoLog, "good.csv", None)).unwrap();
    block_on(memory.set(&keys::indexed_record_parts("p", "processed-files", "bad"), &json!("not a record"), None)).unwrap();
    // Reading it by name is still CORRUPT_STATE.
    assert_eq!(block_on(t.get(&memory, "bad")).unwrap_err().code, ErrorCode::CorruptState);
    let listed = block_on(t.list(&memory, &NoLog, 10, None, &Filter::default())).unwrap();
    let names: Vec<(&str, bool)> = listed.files.iter().map(|f| (f.name.as_str(), f.damaged.is_some())).collect();
    assert_eq!(names, vec![("bad", true), ("good.csv", false)]);
    assert!(listed.files[0].damaged.as_deref().unwrap().contains("p:processed-files"), "the damage names the key");
    let stats = block_on(t.stats(&memory, &NoLog)).unwrap();
    assert_eq!((stats.total_files, stats.damaged), (2, 1));
    assert!(block_on(t.remove(&memory, &NoLog, "bad")).unwrap());
    assert_eq!(all(&t, &memory, 10), vec!["good.csv"]);
}
