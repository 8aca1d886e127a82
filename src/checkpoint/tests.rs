//! The checkpoint's native tests: format, protocol, crashes and races.

use super::manifest::*;
use super::protocol::*;
use super::*;
use crate::clock::FakeClock;
use crate::error::ErrorCode;
use crate::keys::{self, Key};
use crate::log::Level;
use crate::log::{MemoryLog, NoLog};
use crate::memory::MemoryStore;
use crate::store::Store;
use crate::testing::{CrashAfterWrites, NoCas, Yielding};
use crate::values::MAX_VALUE_BYTES;
use futures::executor::block_on;
use serde_json::{json, Value};
use std::rc::Rc;

const T0: i64 = 1_767_225_600_000; // 2026-01-01

fn setup() -> (Rc<FakeClock>, MemoryStore) {
    crate::testing::memory_at(T0)
}

fn checkpoint(version: i64) -> Checkpoint {
    Checkpoint::new("ns", "run", json!(version), None).unwrap()
}

/// A payload of about `bytes` bytes of JSON, mixing ASCII, escapes and
/// characters outside Latin-1 so every splitting rule is exercised.
fn payload(bytes: usize, seed: u64) -> Value {
    let mut items = Vec::new();
    let mut size = 0;
    let mut i = seed;
    while size < bytes {
        let s = format!("item-{i} \"quoted\" \\ tab\t é ✓ 🚀 \u{1}");
        size += s.len() + 16;
        items.push(json!({ "id": i, "s": s }));
        i += 1;
    }
    json!({ "items": items, "seed": seed })
}

fn found(loaded: Loaded) -> (Value, Meta) {
    let data = loaded.data();
    match loaded {
        Loaded::Found { meta, .. } => (data.expect("found data parses"), meta),
        other => panic!("expected a checkpoint, got {other:?}"),
    }
}

fn keys_under<S: Store>(store: &S) -> Vec<Vec<String>> {
    let page = block_on(store.list(&["cs:checkpoint".to_string()], 10_000, None)).unwrap();
    page.entries.into_iter().map(|(k, _)| k.parts).collect()
}

fn chunk_generations<S: Store>(store: &S) -> Vec<String> {
    let mut generations: Vec<String> =
        keys_under(store).into_iter().filter(|k| k.get(3).map(String::as_str) == Some("chunk")).map(|k| k[4].clone()).collect();
    generations.dedup();
    generations
}

#[test]
fn split_keeps_every_piece_within_budget_and_loses_nothing() {
    let text = payload(300_000, 1).to_string();
    let pieces = split(&text, PIECE_BUDGET);
    assert!(pieces.len() > 5);
    assert_eq!(pieces.concat(), text);
    for piece in &pieces {
        assert!(Value::String(piece.to_string()).to_string().len() <= PIECE_BUDGET);
        let units: usize = piece.encode_utf16().count();
        let v8 = if piece.chars().any(|c| c > '\u{ff}') { 2 * units } else { units };
        assert!(v8 <= PIECE_BUDGET, "v8 size {v8}");
    }
    let latin = "é".repeat(50_000);
    assert_eq!(split(&latin, PIECE_BUDGET).len(), 2, "Latin-1 text is one byte per char in V8 but two in UTF-8");
    assert_eq!(split("", PIECE_BUDGET), vec![""]);
}

#[test]
fn small_and_large_checkpoints_round_trip() {
    let (clock, store) = setup();
    let cp = checkpoint(1);
    for (bytes, chunked) in [(100, false), (50_000, true), (1_100_000, true)] {
        let data = payload(bytes, bytes as u64);
        let saved = block_on(cp.save(&store, &*clock, &NoLog, &data, &json!({ "position": 7 }))).unwrap();
        assert_eq!(saved.chunks > 0, chunked, "{bytes} bytes");
        assert!(saved.swept);
        let reader = checkpoint(1);
        let (loaded, meta) = found(block_on(reader.load(&store, &*clock, &NoLog)).unwrap());
        assert_eq!(loaded, data);
        assert_eq!(meta.progress, json!({ "position": 7 }));
        assert_eq!(meta.sequence, saved.sequence);
        for (key, entry) in block_on(store.list(&["cs:checkpoint".to_string()], 10_000, None)).unwrap().entries {
            assert!(entry.value.to_string().len() <= MAX_VALUE_BYTES, "{key:?}");
        }
    }
    // Only the live generation's chunks remain.
    assert_eq!(chunk_generations(&store).len(), 1);
    let small = json!({ "done": true });
    block_on(cp.save(&store, &*clock, &NoLog, &small, &Value::Null)).unwrap();
    assert!(chunk_generations(&store).is_empty(), "an inline save sweeps the old chunks");
    assert_eq!(keys_under(&store).len(), 1);
}

#[test]
fn version_mismatch_and_age_are_reasons_not_data() {
    let (clock, store) = setup();
    block_on(checkpoint(1).save(&store, &*clock, &NoLog, &json!({ "a": 1 }), &Value::Null)).unwrap();
    let log = MemoryLog::default();
    let loaded = block_on(checkpoint(2).load(&store, &*clock, &log)).unwrap();
    assert!(matches!(loaded, Loaded::VersionMismatch { ref meta } if meta.version == json!(1)));
    assert_eq!(log.lines.borrow()[0].0, Level::Warn);
    clock.advance(10_000);
    let aged = Checkpoint::new("ns", "run", json!(1), Some(5_000)).unwrap();
    assert!(matches!(block_on(aged.load(&store, &*clock, &NoLog)).unwrap(), Loaded::Expired { max_age_ms: 5_000, .. }));
    let fresh = Checkpoint::new("ns", "run", json!(1), Some(20_000)).unwrap();
    assert_eq!(found(block_on(fresh.load(&store, &*clock, &NoLog)).unwrap()).1.age_ms, 10_000);
    assert_eq!(block_on(checkpoint(1).load(&store, &*clock, &NoLog)).unwrap().reason(), None);
    assert_eq!(block_on(Checkpoint::new("ns", "other", json!(1), None).unwrap().load(&store, &*clock, &NoLog)).unwrap(), Loaded::Missing);
}

fn tamper(store: &MemoryStore, key: &Key, edit: impl Fn(&mut Value)) {
    let mut value = block_on(store.get(key)).unwrap().unwrap().value;
    edit(&mut value);
    block_on(store.set(key, &value, None)).unwrap();
}

fn flip_char(s: &str, at: usize) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i == at {
                if c == 'x' {
                    'y'
                } else {
                    'x'
                }
            } else {
                c
            }
        })
        .collect()
}

fn assert_corrupt(store: &MemoryStore, clock: &FakeClock, key: &Key) {
    match block_on(checkpoint(1).load(store, clock, &NoLog)).unwrap() {
        Loaded::Corrupt { key: named, error } => {
            assert_eq!(&named, key);
            assert_eq!(error.code, ErrorCode::CorruptState);
            assert!(error.message.contains(&key.display()), "{}", error.message);
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
}

#[test]
fn flipped_bytes_are_reported_with_the_key() {
    let (clock, store) = setup();
    let manifest_key = keys::checkpoint_manifest("ns", "run");
    let data = payload(200_000, 3);
    block_on(checkpoint(1).save(&store, &*clock, &NoLog, &data, &Value::Null)).unwrap();
    let generation = chunk_generations(&store).remove(0);
    let chunk = keys::checkpoint_chunk("ns", "run", &generation, 2);
    let original = block_on(store.get(&chunk)).unwrap().unwrap().value;
    tamper(&store, &chunk, |v| *v = json!(flip_char(v.as_str().unwrap(), 1234)));
    assert_corrupt(&store, &clock, &chunk);
    block_on(store.set(&chunk, &original, None)).unwrap();
    assert_eq!(found(block_on(checkpoint(1).load(&store, &*clock, &NoLog)).unwrap()).0, data);
    block_on(store.delete(&chunk)).unwrap();
    assert_corrupt(&store, &clock, &chunk);

    // Every field of a manifest is covered by its checksum.
    block_on(checkpoint(1).save(&store, &*clock, &NoLog, &json!({ "small": "xxxxxxxxxxxx" }), &Value::Null)).unwrap();
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<Edit> = vec![
        Box::new(|v| v["sequence"] = json!(99)),
        Box::new(|v| v["version"] = json!(2)),
        Box::new(|v| v["savedAt"] = json!("2030-01-01T00:00:00.000Z")),
        Box::new(|v| v["inline"] = json!(flip_char(v["inline"].as_str().unwrap(), 12))),
        Box::new(|v| v["manifestChecksum"] = json!("00000000")),
        Box::new(|v| *v = json!("not an object")),
    ];
    for edit in edits {
        let before = block_on(store.get(&manifest_key)).unwrap().unwrap().value;
        tamper(&store, &manifest_key, edit);
        assert_corrupt(&store, &clock, &manifest_key);
        block_on(store.set(&manifest_key, &before, None)).unwrap();
    }
    // The same manifest with its fields in another order is still valid.
    tamper(&store, &manifest_key, |v| {
        let fields: Vec<(String, Value)> = v.as_object().unwrap().clone().into_iter().rev().collect();
        *v = Value::Object(fields.into_iter().collect());
    });
    assert_eq!(found(block_on(checkpoint(1).load(&store, &*clock, &NoLog)).unwrap()).0, json!({ "small": "xxxxxxxxxxxx" }));
}

/// For every k, a save that dies after its k-th write leaves the
/// previous checkpoint (or, past the switch, the new one) whole; the
/// next save sweeps every leftover chunk.
fn crash_at_every_write(applied: bool) {
    let old = payload(150_000, 10);
    let new = payload(180_000, 20);
    let mut k = 0;
    loop {
        let (clock, memory) = setup();
        block_on(checkpoint(1).save(&memory, &*clock, &NoLog, &old, &Value::Null)).unwrap();
        let store = CrashAfterWrites::new(&memory, k, applied);
        let writer = checkpoint(1);
        let result = block_on(writer.save(&store, &*clock, &NoLog, &new, &Value::Null));
        let (now, _) = found(block_on(checkpoint(1).load(&memory, &*clock, &NoLog)).unwrap());
        if result.is_ok() && !store.crashed() {
            assert_eq!(now, new);
            assert!(k >= 4, "a chunked save takes several writes");
            break;
        }
        assert!(now == old || now == new, "k={k}: a mix of checkpoints was returned");
        if result.is_err() && !applied {
            // Nothing is returned as saved that was not.
            assert!(now == old || store.switched(), "k={k}");
        }
        // The next save, by a run that loads first, cleans up.
        let next = checkpoint(1);
        block_on(next.load(&memory, &*clock, &NoLog)).unwrap();
        let data = json!({ "after": k });
        let saved = block_on(next.save(&memory, &*clock, &NoLog, &data, &Value::Null)).unwrap();
        assert!(saved.swept, "k={k}");
        assert!(chunk_generations(&memory).is_empty(), "k={k}: leftover chunks {:?}", keys_under(&memory));
        assert_eq!(keys_under(&memory).len(), 1, "k={k}");
        k += 1;
    }
}

#[test]
fn a_save_that_dies_at_any_write_never_leaves_a_partial_checkpoint() {
    crash_at_every_write(false);
}

#[test]
fn a_write_that_lands_but_reports_failure_is_just_as_safe() {
    crash_at_every_write(true);
}

#[test]
fn without_compare_and_set_the_switch_still_protects_readers() {
    let (clock, memory) = setup();
    let store = NoCas(&memory);
    let old = payload(150_000, 1);
    let new = payload(150_000, 2);
    let cp = checkpoint(1);
    block_on(cp.save(&store, &*clock, &NoLog, &old, &Value::Null)).unwrap();
    for k in 0..12 {
        let crashing = CrashAfterWrites::new(&store, k, false);
        let _ = block_on(checkpoint(1).save(&crashing, &*clock, &NoLog, &new, &Value::Null));
        let (now, _) = found(block_on(checkpoint(1).load(&store, &*clock, &NoLog)).unwrap());
        assert!(now == old || now == new, "k={k}");
    }
}

#[test]
fn a_second_writer_that_read_an_older_sequence_gets_conflict() {
    let (clock, store) = setup();
    let a = checkpoint(1);
    let b = checkpoint(1);
    assert_eq!(block_on(a.load(&store, &*clock, &NoLog)).unwrap(), Loaded::Missing);
    assert_eq!(block_on(b.load(&store, &*clock, &NoLog)).unwrap(), Loaded::Missing);
    assert_eq!(block_on(a.save(&store, &*clock, &NoLog, &json!(1), &Value::Null)).unwrap().sequence, 1);
    let err = block_on(b.save(&store, &*clock, &NoLog, &json!(2), &Value::Null)).unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.message.contains("sequence 1"), "{}", err.message);
    assert_eq!(block_on(a.save(&store, &*clock, &NoLog, &json!(3), &Value::Null)).unwrap().sequence, 2);
    let (data, meta) = found(block_on(b.load(&store, &*clock, &NoLog)).unwrap());
    assert_eq!((data, meta.sequence), (json!(3), 2));
    assert_eq!(block_on(b.save(&store, &*clock, &NoLog, &json!(4), &Value::Null)).unwrap().sequence, 3);
    assert_eq!(block_on(a.save(&store, &*clock, &NoLog, &json!(5), &Value::Null)).unwrap_err().code, ErrorCode::Conflict);
}

#[test]
fn a_save_over_its_own_inline_checkpoint_is_one_store_call() {
    let (clock, memory) = setup();
    let store = crate::testing::Flaky::healthy(&memory);
    let cp = checkpoint(1);
    block_on(cp.load(&store, &*clock, &NoLog)).unwrap();
    block_on(cp.save(&store, &*clock, &NoLog, &json!({"n": 0}), &json!({}))).unwrap();
    for n in 1..=5 {
        let before = store.calls();
        assert_eq!(block_on(cp.save(&store, &*clock, &NoLog, &json!({"n": n}), &json!({}))).unwrap().sequence, n + 1);
        assert_eq!(store.calls() - before, 1, "save {n}");
    }
    // After a chunked save the next one reads again (it must sweep the chunks).
    let big = json!({"s": "x".repeat(200_000)});
    block_on(cp.save(&store, &*clock, &NoLog, &big, &json!({}))).unwrap();
    let before = store.calls();
    block_on(cp.save(&store, &*clock, &NoLog, &json!({"n": 9}), &json!({}))).unwrap();
    assert!(store.calls() - before > 1);
    assert_eq!(memory.entries().iter().filter(|(k, _)| k.len() > 3).count(), 0, "chunks left behind");
    // Another writer in between: the one-call save falls back and reports CONFLICT.
    let other = checkpoint(1);
    block_on(other.load(&store, &*clock, &NoLog)).unwrap();
    block_on(other.save(&store, &*clock, &NoLog, &json!({"by": "other"}), &json!({}))).unwrap();
    assert_eq!(block_on(cp.save(&store, &*clock, &NoLog, &json!({"n": 10}), &json!({}))).unwrap_err().code, ErrorCode::Conflict);
    assert_eq!(found(block_on(cp.load(&store, &*clock, &NoLog)).unwrap()).0, json!({"by": "other"}));
}

#[test]
fn concurrent_chunked_saves_leave_one_whole_winner() {
    for round in 0..10u64 {
        let (clock, memory) = setup();
        let store = Yielding::new(&memory);
        let writers: Vec<Checkpoint> = (0..4).map(|_| checkpoint(1)).collect();
        for w in &writers {
            block_on(w.load(&store, &*clock, &NoLog)).unwrap();
        }
        let datas: Vec<Value> = (0..4).map(|i| payload(120_000, round * 10 + i)).collect();
        let results =
            block_on(futures::future::join_all(writers.iter().zip(&datas).map(|(w, d)| w.save(&store, &*clock, &NoLog, d, &Value::Null))));
        let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(i, _)| i).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.code, ErrorCode::Conflict);
        }
        let (data, _) = found(block_on(checkpoint(1).load(&memory, &*clock, &NoLog)).unwrap());
        assert_eq!(data, datas[winners[0]]);
        block_on(writers[winners[0]].save(&memory, &*clock, &NoLog, &json!(0), &Value::Null)).unwrap();
        assert!(chunk_generations(&memory).is_empty(), "round {round}");
    }
}

#[test]
fn clear_removes_manifest_and_chunks() {
    let (clock, store) = setup();
    let cp = checkpoint(1);
    block_on(cp.save(&store, &*clock, &NoLog, &payload(100_000, 1), &Value::Null)).unwrap();
    assert!(block_on(cp.clear(&store, &NoLog)).unwrap());
    assert!(keys_under(&store).is_empty());
    assert!(!block_on(cp.clear(&store, &NoLog)).unwrap());
    assert_eq!(block_on(cp.save(&store, &*clock, &NoLog, &json!(1), &Value::Null)).unwrap().sequence, 1);
}

#[test]
fn a_store_failure_is_an_error_not_a_missing_checkpoint() {
    let (clock, memory) = setup();
    block_on(checkpoint(1).save(&memory, &*clock, &NoLog, &json!(1), &Value::Null)).unwrap();
    let down = crate::testing::Flaky::failing_every_call(&memory);
    assert_eq!(block_on(checkpoint(1).load(&down, &*clock, &NoLog)).unwrap_err().code, ErrorCode::StoreUnavailable);
}

#[test]
fn bad_names_and_versions_are_invalid_arguments() {
    assert_eq!(Checkpoint::new("", "x", json!(1), None).err().unwrap().code, ErrorCode::InvalidArgument);
    assert_eq!(Checkpoint::new("n", "", json!(1), None).err().unwrap().code, ErrorCode::InvalidArgument);
    assert_eq!(Checkpoint::new("n", "x", json!(null), None).err().unwrap().code, ErrorCode::InvalidArgument);
    assert_eq!(Checkpoint::new("n", &"x".repeat(2100), json!(1), None).err().unwrap().code, ErrorCode::InvalidArgument);
    // Each part fits, the key they make together does not.
    let (ns, name) = ("n".repeat(1000), "x".repeat(1000));
    assert_eq!(Checkpoint::new(&ns, &name, json!(1), None).err().unwrap().code, ErrorCode::KeyTooLarge);
}

#[test]
fn periodic_saves_on_items_or_time_whichever_first() {
    let p = Periodic::new(Some(3), Some(1_000), 0).unwrap();
    assert!(!p.tick(10));
    assert!(!p.tick(20));
    assert!(p.tick(30));
    p.saved(30);
    assert!(!p.tick(500));
    assert!(p.tick(1_030));
    assert!(Periodic::new(None, None, 0).is_err());
}
