//! Saving and loading a checkpoint: the protocol over the store that keeps
//! readers from ever seeing a mix of two saves.

use super::manifest::*;
use crate::clock::{iso_from_ms, Clock};
use crate::error::{ErrorCode, Result, StateError};
use crate::ids::random_id;
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{retrying, Check, Entry, Mutation, Store};
use crate::values::MAX_VALUE_BYTES;
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};

/// Chunks written per atomic operation: 12 × 60,000 bytes stays under
/// Deno KV's 800 KiB per atomic write. One write per batch instead of one
/// per chunk is what makes a large save fast on a store that syncs to disk.
const CHUNKS_PER_WRITE: usize = 12;
/// Deletes per atomic operation (Deno KV allows 1,000 mutations).
const DELETES_PER_WRITE: usize = 500;

/// Progress (position, counts) rides in the manifest, so it stays small.
pub const MAX_PROGRESS_BYTES: usize = 2_048;

/// Reads of a chunked checkpoint that a concurrent save replaced are
/// retried this many times before load gives up with CONFLICT.
const LOAD_ATTEMPTS: usize = 5;

/// The outcome of `load`: the data, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// The payload, as its JSON text (see [`Loaded::data`] for it parsed).
    Found {
        /// The payload's JSON text.
        text: String,
        /// What the manifest says.
        meta: Meta,
    },
    /// No checkpoint is saved.
    Missing,
    /// Saved under another schema version: ignored.
    VersionMismatch {
        /// What the manifest says.
        meta: Meta,
    },
    /// Older than the caller's maximum age: ignored.
    Expired {
        /// What the manifest says.
        meta: Meta,
        /// The caller's maximum age.
        max_age_ms: i64,
    },
    /// A stored record failed its checks; `error` is CORRUPT_STATE naming `key`.
    Corrupt {
        /// The record that failed.
        key: Key,
        /// CORRUPT_STATE naming it.
        error: StateError,
    },
}

impl Loaded {
    /// The payload parsed, when found and valid JSON.
    pub fn data(&self) -> Option<Value> {
        match self {
            Loaded::Found { text, .. } => serde_json::from_str(text).ok(),
            _ => None,
        }
    }

    /// null when found, else 'missing' | 'version-mismatch' | 'expired' | 'corrupt'.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Loaded::Found { .. } => None,
            Loaded::Missing => Some("missing"),
            Loaded::VersionMismatch { .. } => Some("version-mismatch"),
            Loaded::Expired { .. } => Some("expired"),
            Loaded::Corrupt { .. } => Some("corrupt"),
        }
    }
}

/// What a save did.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The sequence number it got.
    pub sequence: u64,
    /// When (ISO 8601).
    pub saved_at: String,
    /// Bytes of the payload's JSON text.
    pub bytes: usize,
    /// Chunks written (0: inline).
    pub chunks: usize,
    /// False when sweeping old chunks failed; the next save retries it.
    pub swept: bool,
}

/// What this checkpoint object last saw in the store: a save is refused
/// with CONFLICT when the store holds something else.
#[derive(Debug, Clone, PartialEq)]
enum Known {
    /// Neither loaded nor saved yet: the first save takes what is there.
    Unknown,
    Absent,
    Sequence(u64),
    /// An unreadable manifest, by versionstamp.
    Stamp(String),
}

#[allow(clippy::large_enum_variant)] // lives for one call; boxing buys nothing
enum Attempt {
    Done(Loaded),
    /// A save replaced the checkpoint while it was read: read again.
    Moved,
}

/// A schema version is a number or a non-empty string.
pub fn check_version(version: &Value) -> Result<()> {
    match version {
        Value::Number(_) => Ok(()),
        Value::String(s) if !s.is_empty() => Ok(()),
        _ => Err(StateError::invalid("options.version", "must be a number or a non-empty string")),
    }
}

/// One named checkpoint of a namespace, as this run saw it last.
pub struct Checkpoint {
    /// The namespace (a CheckpointStore's).
    pub namespace: String,
    /// The checkpoint's name.
    pub name: String,
    /// The schema version this run saves and accepts.
    pub version: Value,
    /// Checkpoints older than this are ignored on load.
    pub max_age_ms: Option<i64>,
    manifest_key: Key,
    pending_key: Key,
    known: RefCell<Known>,
    /// (sequence, versionstamp) of an inline manifest this object last saw
    /// in the store: the next save can check against it instead of reading.
    own: RefCell<Option<(u64, String)>>,
    /// On stores without compare-and-set: this object's last save left no
    /// pending-chunks record, so the next save need not read it (a call
    /// that would buy no guarantee there: the emulated write's check of it
    /// is best-effort either way).
    no_pending: Cell<bool>,
}

impl Checkpoint {
    /// INVALID_ARGUMENT for empty names or a bad version; KEY_TOO_LARGE when its keys would not fit.
    pub fn new(namespace: &str, name: &str, version: Value, max_age_ms: Option<i64>) -> Result<Self> {
        keys::check_name("namespace", namespace)?;
        keys::check_name("name", name)?;
        check_version(&version)?;
        let manifest_key = keys::checkpoint_manifest(namespace, name);
        // The longest key we make: a chunk key.
        keys::checkpoint_chunk(namespace, name, &"0".repeat(32), 0).check_size()?;
        Ok(Checkpoint {
            namespace: namespace.to_string(),
            name: name.to_string(),
            version,
            max_age_ms,
            pending_key: keys::checkpoint_pending(namespace, name),
            manifest_key,
            known: RefCell::new(Known::Unknown),
            own: RefCell::new(None),
            no_pending: Cell::new(false),
        })
    }

    fn chunk_key(&self, generation: &str, index: usize) -> Key {
        keys::checkpoint_chunk(&self.namespace, &self.name, generation, index)
    }

    /// Reads the live checkpoint: the data, or why there is none. Retried when a concurrent save replaces it mid-read.
    pub async fn load<S: Store, C: Clock, L: Logger>(&self, store: &S, clock: &C, log: &L) -> Result<Loaded> {
        for _ in 0..LOAD_ATTEMPTS {
            if let Attempt::Done(loaded) = self.load_once(store, clock).await? {
                self.log_outcome(log, &loaded);
                return Ok(loaded);
            }
        }
        Err(StateError::new(
            ErrorCode::Conflict,
            format!("checkpoint {:?} was replaced on each of {LOAD_ATTEMPTS} reads by concurrent saves; retry load() later", self.name),
        ))
    }

    async fn load_once<S: Store, C: Clock>(&self, store: &S, clock: &C) -> Result<Attempt> {
        *self.own.borrow_mut() = None;
        let Some(entry) = store.get(&self.manifest_key).await? else {
            *self.known.borrow_mut() = Known::Absent;
            return Ok(Attempt::Done(Loaded::Missing));
        };
        let manifest = match Manifest::parse(&entry.value) {
            Ok(m) => m,
            Err(problem) => {
                *self.known.borrow_mut() = Known::Stamp(entry.versionstamp.clone());
                return Ok(Attempt::Done(self.corrupt(&self.manifest_key, &problem)));
            }
        };
        *self.known.borrow_mut() = Known::Sequence(manifest.sequence);
        if matches!(manifest.body, Body::Inline(_)) {
            *self.own.borrow_mut() = Some((manifest.sequence, entry.versionstamp.clone()));
        }
        let meta = Meta::of(&manifest, clock.now_ms());
        if manifest.version != self.version {
            return Ok(Attempt::Done(Loaded::VersionMismatch { meta }));
        }
        if let Some(max_age_ms) = self.max_age_ms.filter(|max| meta.age_ms > *max) {
            return Ok(Attempt::Done(Loaded::Expired { meta, max_age_ms }));
        }
        let text = match &manifest.body {
            Body::Inline(text) => text.clone(),
            Body::Chunked { generation, crcs } => {
                let mut text = String::with_capacity(manifest.bytes);
                for (i, crc) in crcs.iter().enumerate() {
                    let key = self.chunk_key(generation, i);
                    let problem = match store.get(&key).await? {
                        None => "the chunk is missing",
                        Some(Entry { value: Value::String(piece), .. }) if crc_hex(&piece) == *crc => {
                            text.push_str(&piece);
                            continue;
                        }
                        Some(Entry { value: Value::String(_), .. }) => "its checksum does not match the manifest",
                        Some(_) => "expected a string",
                    };
                    // A save may have replaced this generation while we read it.
                    let now = store.get(&self.manifest_key).await?;
                    if now.map(|e| e.versionstamp).as_ref() != Some(&entry.versionstamp) {
                        return Ok(Attempt::Moved);
                    }
                    return Ok(Attempt::Done(self.corrupt(&key, problem)));
                }
                text
            }
        };
        if text.len() != manifest.bytes || crc_hex(&text) != manifest.checksum {
            return Ok(Attempt::Done(self.corrupt(&self.manifest_key, "the payload does not match its checksum")));
        }
        // Parsed by the caller, where it is wanted (JSON.parse in
        // JavaScript), which reports text that is not JSON with
        // [`Checkpoint::not_json`].
        Ok(Attempt::Done(Loaded::Found { text, meta }))
    }

    /// The outcome of a load whose payload matched its checksum but is not
    /// JSON (a manifest written by hand, say).
    pub fn not_json(&self, problem: &str) -> Loaded {
        self.corrupt(&self.manifest_key, &format!("the payload is not valid JSON: {problem}"))
    }

    fn corrupt(&self, key: &Key, problem: &str) -> Loaded {
        Loaded::Corrupt { key: key.clone(), error: StateError::corrupt(&key.display(), problem) }
    }

    fn log_outcome<L: Logger>(&self, log: &L, loaded: &Loaded) {
        let name = &self.name;
        let (level, message, context) = match loaded {
            Loaded::Found { meta, .. } => (
                Level::Info,
                format!("checkpoint {name:?}: resuming from sequence {} saved at {}", meta.sequence, meta.saved_at),
                json!({ "sequence": meta.sequence, "savedAt": meta.saved_at, "bytes": meta.bytes }),
            ),
            Loaded::Missing => (Level::Info, format!("checkpoint {name:?}: none saved; starting fresh"), json!({})),
            Loaded::VersionMismatch { meta } => (
                Level::Warn,
                format!(
                    "checkpoint {name:?}: stored schema version {} is not {}; ignoring it and starting fresh",
                    meta.version, self.version
                ),
                json!({ "storedVersion": meta.version, "expectedVersion": self.version, "sequence": meta.sequence }),
            ),
            Loaded::Expired { meta, max_age_ms } => (
                Level::Warn,
                format!("checkpoint {name:?}: saved {} ms ago, older than maxAgeMs {max_age_ms}; starting fresh", meta.age_ms),
                json!({ "savedAt": meta.saved_at, "ageMs": meta.age_ms, "maxAgeMs": max_age_ms }),
            ),
            Loaded::Corrupt { key, error } => (
                Level::Error,
                format!("checkpoint {name:?}: {}; starting fresh", error.message),
                json!({ "code": error.code.as_str(), "key": key.parts }),
            ),
        };
        log.log(level, &message, context);
    }

    fn check_known(&self, current: Option<&Entry>) -> Result<()> {
        let known = self.known.borrow();
        let unchanged = match &*known {
            Known::Unknown => true,
            Known::Absent => current.is_none(),
            Known::Sequence(seen) => current.is_some_and(|e| raw_sequence(&e.value) == Some(*seen)),
            Known::Stamp(stamp) => current.is_some_and(|e| e.versionstamp == *stamp),
        };
        if unchanged {
            return Ok(());
        }
        let now = match current {
            None => "it was cleared".to_string(),
            Some(e) => match raw_sequence(&e.value) {
                Some(s) => format!("it is now at sequence {s}"),
                None => "it was rewritten".to_string(),
            },
        };
        let seen = match &*known {
            Known::Sequence(s) => format!("sequence {s}"),
            Known::Absent => "no checkpoint".to_string(),
            _ => "an unreadable checkpoint".to_string(),
        };
        Err(StateError::new(
            ErrorCode::Conflict,
            format!(
                "checkpoint {:?} was changed by another run since this one saw {seen} ({now}); load() it again and decide whether to continue from it",
                self.name
            ),
        ))
    }

    fn busy(&self) -> StateError {
        StateError::new(
            ErrorCode::Conflict,
            format!("another save of checkpoint {:?} is running; load() it again before saving", self.name),
        )
    }

    /// Saves `data` (any JSON) with `progress` (JSON, null for none).
    pub async fn save<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        data: &Value,
        progress: &Value,
    ) -> Result<Saved> {
        self.save_text(store, clock, log, &crate::values::json_text(data), progress).await
    }

    /// [`Self::save`] of data already written as JSON text (`text` must be
    /// valid JSON: it is stored and read back as is).
    pub async fn save_text<S: Store, C: Clock, L: Logger>(
        &self,
        store: &S,
        clock: &C,
        log: &L,
        text: &str,
        progress: &Value,
    ) -> Result<Saved> {
        if crate::values::json_len(progress) > MAX_PROGRESS_BYTES {
            return Err(StateError::new(
                ErrorCode::ValueTooLarge,
                format!("progress takes more than {MAX_PROGRESS_BYTES} bytes as JSON; keep it to a position and a count, and put the rest in the data"),
            ));
        }
        if let Some(saved) = self.save_over_own(store, clock, text, progress).await? {
            return Ok(saved);
        }
        let current = store.get(&self.manifest_key).await?;
        self.check_known(current.as_ref())?;
        let previous = current.as_ref().map(|e| Manifest::parse(&e.value));
        let known_sequence = match *self.known.borrow() {
            Known::Sequence(s) => s,
            _ => 0,
        };
        let stored_sequence = current.as_ref().and_then(|e| raw_sequence(&e.value)).unwrap_or(0);
        let sequence = stored_sequence.max(known_sequence) + 1;

        // Taken, not peeked: a save that fails from here reads it next time.
        let skip_pending = self.no_pending.replace(false) && !store.capabilities().compare_and_set;
        let pending = if skip_pending { None } else { store.get(&self.pending_key).await? };
        let mut garbage = match pending.as_ref().map(|e| parse_pending(&e.value)) {
            Some(Some(generations)) => generations,
            Some(None) => {
                log.log(
                    Level::Warn,
                    &format!("checkpoint {:?}: the pending-chunks record is unreadable; replacing it", self.name),
                    json!({}),
                );
                Vec::new()
            }
            None => Vec::new(),
        };
        let replaced = match (&previous, &current) {
            (Some(Ok(m)), _) => m.generation(),
            (Some(Err(_)), Some(e)) => raw_generation(&e.value),
            _ => None,
        };

        let (mut manifest, inline) = self.manifest_for(clock, sequence, text, progress);
        let (pending_check, ours) = if inline {
            (Check::of(&self.pending_key, pending.as_ref()), None)
        } else {
            let pieces = split(text, PIECE_BUDGET);
            let ours = Generation { id: random_id()?, chunks: pieces.len() };
            let stamp = self.announce(store, pending.as_ref(), &garbage, &ours).await?;
            let writes: Vec<Mutation> = pieces
                .iter()
                .enumerate()
                .map(|(i, piece)| Mutation::set(self.chunk_key(&ours.id, i), Value::String(piece.to_string())))
                .collect();
            for batch in writes.chunks(CHUNKS_PER_WRITE) {
                if !store.atomic(&[], batch).await? {
                    return Err(StateError::store("atomic", "the store refused an unconditional write of checkpoint chunks"));
                }
            }
            manifest.body = Body::Chunked { generation: ours.id.clone(), crcs: pieces.iter().map(|p| crc_hex(p)).collect() };
            (Check { key: self.pending_key.clone(), versionstamp: Some(stamp) }, Some(ours))
        };
        garbage.extend(replaced.filter(|r| !garbage.contains(r)));

        let mut mutations = vec![Mutation::set(self.manifest_key.clone(), manifest.to_value())];
        if !garbage.is_empty() {
            mutations.push(Mutation::set(self.pending_key.clone(), pending_value(&garbage)));
        } else if pending.is_some() || ours.is_some() {
            mutations.push(Mutation::delete(self.pending_key.clone()));
        }
        let checks = [Check::of(&self.manifest_key, current.as_ref()), pending_check];
        let Some(landed) = store.commit(&checks, &mutations).await? else {
            if let Some(ours) = &ours {
                // Best effort; what remains is listed as pending and swept later.
                let _ = self.delete_chunks(store, ours).await;
            }
            return Err(self.busy());
        };
        *self.known.borrow_mut() = Known::Sequence(sequence);
        self.no_pending.set(garbage.is_empty());
        if ours.is_none() && garbage.is_empty() {
            *self.own.borrow_mut() = landed.versionstamp.map(|s| (sequence, s));
        }
        let swept = self.sweep(store, log, &garbage).await;
        Ok(Saved { sequence, saved_at: manifest.saved_at, bytes: text.len(), chunks: ours.map_or(0, |g| g.chunks), swept })
    }

    /// The common case in one store call: an inline payload replacing the
    /// inline manifest this object itself last saw, with no chunks pending.
    /// One atomic write checked against that manifest's versionstamp and the
    /// pending record's absence. `None` when it does not apply or a check
    /// failed; the full save then reads and decides (CONFLICT included).
    async fn save_over_own<S: Store, C: Clock>(&self, store: &S, clock: &C, text: &str, progress: &Value) -> Result<Option<Saved>> {
        let Some((sequence, stamp)) = self.own.borrow_mut().take() else { return Ok(None) };
        let (manifest, inline) = self.manifest_for(clock, sequence + 1, text, progress);
        if !inline {
            return Ok(None);
        }
        let checks = [Check { key: self.manifest_key.clone(), versionstamp: Some(stamp) }, Check::absent(&self.pending_key)];
        let write = [Mutation::set(self.manifest_key.clone(), manifest.to_value())];
        let Some(landed) = store.commit(&checks, &write).await? else { return Ok(None) };
        *self.known.borrow_mut() = Known::Sequence(manifest.sequence);
        self.no_pending.set(true); // checked absent
        *self.own.borrow_mut() = landed.versionstamp.map(|s| (manifest.sequence, s));
        Ok(Some(Saved { sequence: manifest.sequence, saved_at: manifest.saved_at, bytes: text.len(), chunks: 0, swept: true }))
    }

    /// The manifest of a save. With `true` the payload is inside it (it
    /// fits one value); with `false` it still needs its chunks.
    fn manifest_for<C: Clock>(&self, clock: &C, sequence: u64, text: &str, progress: &Value) -> (Manifest, bool) {
        let mut manifest = Manifest {
            version: self.version.clone(),
            sequence,
            saved_at: iso_from_ms(clock.now_ms()),
            progress: progress.clone(),
            bytes: text.len(),
            checksum: crc_hex(text),
            body: Body::Inline(String::new()),
        };
        let inline = split(text, PIECE_BUDGET).len() == 1 && self.fits_inline(&manifest);
        if inline {
            manifest.body = Body::Inline(text.to_string());
        }
        (manifest, inline)
    }

    /// Whether the fields around the payload fit in what PIECE_BUDGET
    /// leaves of a value (the payload's own JSON fits PIECE_BUDGET when it
    /// is one piece). `manifest` has an empty inline body.
    fn fits_inline(&self, manifest: &Manifest) -> bool {
        crate::values::json_len(&manifest.to_value()) <= MAX_VALUE_BYTES - PIECE_BUDGET - 1_000
    }

    /// Lists our generation as pending before writing any chunk, so an
    /// interrupted save leaves nothing the next save does not know about.
    /// Returns the pending record's new versionstamp.
    async fn announce<S: Store>(&self, store: &S, pending: Option<&Entry>, listed: &[Generation], ours: &Generation) -> Result<String> {
        let mut generations = listed.to_vec();
        generations.push(ours.clone());
        let value = pending_value(&generations);
        let set = Mutation::set(self.pending_key.clone(), value.clone());
        if !store.atomic(&[Check::of(&self.pending_key, pending)], &[set]).await? {
            return Err(self.busy());
        }
        match store.get(&self.pending_key).await? {
            Some(entry) if entry.value == value => Ok(entry.versionstamp),
            _ => Err(self.busy()),
        }
    }

    async fn delete_chunks<S: Store>(&self, store: &S, generation: &Generation) -> Result<()> {
        let deletes: Vec<Mutation> = (0..generation.chunks).map(|i| Mutation::delete(self.chunk_key(&generation.id, i))).collect();
        for batch in deletes.chunks(DELETES_PER_WRITE) {
            store.atomic(&[], batch).await?;
        }
        Ok(())
    }

    /// Deletes the chunks of `garbage`, then the pending record if it still
    /// lists exactly them. False if anything is left for the next save.
    async fn sweep<S: Store, L: Logger>(&self, store: &S, log: &L, garbage: &[Generation]) -> bool {
        if garbage.is_empty() {
            return true;
        }
        let result: Result<bool> = async {
            for generation in garbage {
                self.delete_chunks(store, generation).await?;
            }
            match store.get(&self.pending_key).await? {
                Some(entry) if parse_pending(&entry.value).as_deref() == Some(garbage) => {
                    store.atomic(&[Check::of(&self.pending_key, Some(&entry))], &[Mutation::delete(self.pending_key.clone())]).await
                }
                Some(_) => Ok(false),
                None => Ok(true),
            }
        }
        .await;
        match result {
            Ok(done) => done,
            Err(e) => {
                log.log(
                    Level::Warn,
                    &format!("checkpoint {:?}: old chunks could not be deleted yet ({}); the next save retries", self.name, e.message),
                    json!({ "code": e.code.as_str() }),
                );
                false
            }
        }
    }

    /// Removes the checkpoint and its chunks; true if there was one.
    pub async fn clear<S: Store, L: Logger>(&self, store: &S, log: &L) -> Result<bool> {
        *self.own.borrow_mut() = None;
        retrying(
            store,
            || format!("checkpoint {:?}", self.name),
            async || {
                let current = store.get(&self.manifest_key).await?;
                let pending = store.get(&self.pending_key).await?;
                if current.is_none() && pending.is_none() {
                    *self.known.borrow_mut() = Known::Absent;
                    return Ok(Some(false));
                }
                let mut garbage = pending.as_ref().and_then(|e| parse_pending(&e.value)).unwrap_or_default();
                if let Some(generation) = current.as_ref().and_then(|e| raw_generation(&e.value)) {
                    if !garbage.contains(&generation) {
                        garbage.push(generation);
                    }
                }
                let mut mutations = vec![Mutation::delete(self.manifest_key.clone())];
                mutations.push(if garbage.is_empty() {
                    Mutation::delete(self.pending_key.clone())
                } else {
                    Mutation::set(self.pending_key.clone(), pending_value(&garbage))
                });
                let checks = [Check::of(&self.manifest_key, current.as_ref()), Check::of(&self.pending_key, pending.as_ref())];
                if !store.atomic(&checks, &mutations).await? {
                    return Ok(None);
                }
                *self.known.borrow_mut() = Known::Absent;
                self.sweep(store, log, &garbage).await;
                Ok(Some(current.is_some()))
            },
        )
        .await
    }
}
