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

use crate::clock::{iso_from_ms, ms_from_iso, Clock};
use crate::error::{ErrorCode, Result, StateError};
use crate::ids::random_id;
use crate::keys::{self, Key};
use crate::log::{Level, Logger};
use crate::store::{Check, Entry, Mutation, Store, MAX_CAS_ATTEMPTS};
use crate::values::{count_field, str_field, MAX_VALUE_BYTES};
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};

const FORMAT: &str = "connector-state/checkpoint";
const FORMAT_VERSION: u64 = 1;

/// Bytes one stored string (an inline payload or a chunk) may take, both as
/// JSON text (Versori stores JSON-encode values) and as V8 serialises it
/// (Deno KV: one byte per character when all are Latin-1, else two per
/// UTF-16 unit). The rest of the 65,536 is left for the fields around it.
pub const PIECE_BUDGET: usize = 60_000;

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

/// CRC-32 (IEEE) of the UTF-8 bytes, as 8 hex digits.
pub fn crc_hex(text: &str) -> String {
    format!("{:08x}", crc32fast::hash(text.as_bytes()))
}

fn json_cost(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{08}' | '\u{0c}' | '\n' | '\r' | '\t' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Splits `text` at character boundaries into pieces that each fit `budget`
/// (see [`PIECE_BUDGET`]). Always at least one piece.
pub fn split(text: &str, budget: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut json, mut units, mut wide) = (0, 2, 0, false);
    for (i, c) in text.char_indices() {
        let c_wide = c > '\u{ff}';
        let next_units = units + c.len_utf16();
        let v8 = if wide || c_wide { 2 * next_units } else { next_units };
        if i > start && (json + json_cost(c) > budget || v8 > budget) {
            pieces.push(&text[start..i]);
            (start, json, units, wide) = (i, 2, 0, false);
        }
        json += json_cost(c);
        units += c.len_utf16();
        wide |= c_wide;
    }
    pieces.push(&text[start..]);
    pieces
}

/// Object keys sorted at every level: the manifest's checksum must not
/// depend on the order a store hands fields back in.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            out.push('{');
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(name.clone()).to_string());
                out.push(':');
                canonical(&map[name], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn manifest_crc(fields: &Map<String, Value>) -> String {
    let mut unsigned = fields.clone();
    unsigned.remove("manifestChecksum");
    let mut text = String::new();
    canonical(&Value::Object(unsigned), &mut text);
    crc_hex(&text)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Inline(String),
    /// Chunk `i` is at `checkpoint_chunk(.., generation, i)`; `crcs[i]` is its CRC.
    Chunked {
        generation: String,
        crcs: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub version: Value,
    pub sequence: u64,
    pub saved_at: String,
    pub progress: Value,
    /// UTF-8 bytes of the payload's JSON text.
    pub bytes: usize,
    pub checksum: String,
    pub body: Body,
}

impl Manifest {
    pub fn to_value(&self) -> Value {
        let mut fields = Map::new();
        fields.insert("format".into(), json!(FORMAT));
        fields.insert("formatVersion".into(), json!(FORMAT_VERSION));
        fields.insert("version".into(), self.version.clone());
        fields.insert("sequence".into(), json!(self.sequence));
        fields.insert("savedAt".into(), json!(self.saved_at));
        fields.insert("progress".into(), self.progress.clone());
        fields.insert("bytes".into(), json!(self.bytes));
        fields.insert("checksum".into(), json!(self.checksum));
        match &self.body {
            Body::Inline(text) => {
                fields.insert("inline".into(), json!(text));
            }
            Body::Chunked { generation, crcs } => {
                fields.insert("generation".into(), json!(generation));
                fields.insert("chunks".into(), json!(crcs));
            }
        }
        let crc = manifest_crc(&fields);
        fields.insert("manifestChecksum".into(), json!(crc));
        Value::Object(fields)
    }

    /// The manifest in `value`, or what is wrong with it.
    pub fn parse(value: &Value) -> std::result::Result<Manifest, String> {
        let fields = value.as_object().ok_or("expected a JSON object")?;
        if str_field(fields, "format") != Some(FORMAT) {
            return Err("it is not a connector-state checkpoint manifest".into());
        }
        if count_field(fields, "formatVersion") != Some(FORMAT_VERSION) {
            return Err("it was written by a newer connector-state (unknown manifest format); upgrade the package".into());
        }
        if str_field(fields, "manifestChecksum") != Some(manifest_crc(fields).as_str()) {
            return Err("the manifest checksum does not match its fields".into());
        }
        let missing = |field: &str| format!("the manifest has no valid {field}");
        let text = |field: &str| str_field(fields, field).map(str::to_string).ok_or_else(|| missing(field));
        let body = match fields.get("inline") {
            Some(Value::String(inline)) => Body::Inline(inline.clone()),
            Some(_) => return Err(missing("inline payload")),
            None => {
                let crcs = fields
                    .get("chunks")
                    .and_then(Value::as_array)
                    .and_then(|items| items.iter().map(|c| c.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| missing("chunk list"))?;
                Body::Chunked { generation: text("generation")?, crcs }
            }
        };
        Ok(Manifest {
            version: fields.get("version").cloned().ok_or_else(|| missing("version"))?,
            sequence: count_field(fields, "sequence").ok_or_else(|| missing("sequence"))?,
            saved_at: text("savedAt")?,
            progress: fields.get("progress").cloned().unwrap_or(Value::Null),
            bytes: count_field(fields, "bytes").ok_or_else(|| missing("bytes"))? as usize,
            checksum: text("checksum")?,
            body,
        })
    }

    fn generation(&self) -> Option<Generation> {
        match &self.body {
            Body::Chunked { generation, crcs } => Some(Generation { id: generation.clone(), chunks: crcs.len() }),
            Body::Inline(_) => None,
        }
    }
}

/// A set of chunks that may be in the store.
#[derive(Debug, Clone, PartialEq)]
struct Generation {
    id: String,
    chunks: usize,
}

fn pending_value(generations: &[Generation]) -> Value {
    json!({ "generations": generations.iter().map(|g| json!({ "generation": g.id, "chunks": g.chunks })).collect::<Vec<_>>() })
}

fn parse_pending(value: &Value) -> Option<Vec<Generation>> {
    value
        .get("generations")?
        .as_array()?
        .iter()
        .map(|g| {
            let g = g.as_object()?;
            Some(Generation { id: str_field(g, "generation")?.to_string(), chunks: count_field(g, "chunks")? as usize })
        })
        .collect()
}

/// A manifest's generation read without trusting its checksum: a damaged
/// manifest's chunks are still worth sweeping.
fn raw_generation(value: &Value) -> Option<Generation> {
    let fields = value.as_object()?;
    let id = str_field(fields, "generation")?.to_string();
    let chunks = fields.get("chunks")?.as_array()?.len();
    Some(Generation { id, chunks })
}

fn raw_sequence(value: &Value) -> Option<u64> {
    value.as_object().and_then(|f| count_field(f, "sequence"))
}

/// What the stored checkpoint says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub version: Value,
    pub sequence: u64,
    pub saved_at: String,
    pub age_ms: i64,
    pub progress: Value,
    pub bytes: usize,
    pub chunks: usize,
}

impl Meta {
    fn of(manifest: &Manifest, now_ms: i64) -> Meta {
        Meta {
            version: manifest.version.clone(),
            sequence: manifest.sequence,
            saved_at: manifest.saved_at.clone(),
            age_ms: ms_from_iso(&manifest.saved_at).map_or(0, |at| (now_ms - at).max(0)),
            progress: manifest.progress.clone(),
            bytes: manifest.bytes,
            chunks: match &manifest.body {
                Body::Inline(_) => 0,
                Body::Chunked { crcs, .. } => crcs.len(),
            },
        }
    }
}

/// The outcome of `load`: the data, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// `text` is the payload's JSON text, which `data` was parsed from.
    Found {
        data: Value,
        text: String,
        meta: Meta,
    },
    Missing,
    VersionMismatch {
        meta: Meta,
    },
    Expired {
        meta: Meta,
        max_age_ms: i64,
    },
    /// A stored record failed its checks; `error` is CORRUPT_STATE naming `key`.
    Corrupt {
        key: Key,
        error: StateError,
    },
}

impl Loaded {
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

#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    pub sequence: u64,
    pub saved_at: String,
    pub bytes: usize,
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

pub struct Checkpoint {
    pub namespace: String,
    pub name: String,
    pub version: Value,
    pub max_age_ms: Option<i64>,
    manifest_key: Key,
    pending_key: Key,
    known: RefCell<Known>,
    /// (sequence, versionstamp) of an inline manifest this object last saw
    /// in the store: the next save can check against it instead of reading.
    own: RefCell<Option<(u64, String)>>,
}

impl Checkpoint {
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
        })
    }

    fn chunk_key(&self, generation: &str, index: usize) -> Key {
        keys::checkpoint_chunk(&self.namespace, &self.name, generation, index)
    }

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
        match serde_json::from_str(&text) {
            Ok(data) => Ok(Attempt::Done(Loaded::Found { data, text, meta })),
            Err(e) => Ok(Attempt::Done(self.corrupt(&self.manifest_key, &format!("the payload is not valid JSON: {e}")))),
        }
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
        if progress.to_string().len() > MAX_PROGRESS_BYTES {
            return Err(StateError::new(
                ErrorCode::ValueTooLarge,
                format!("progress takes more than {MAX_PROGRESS_BYTES} bytes as JSON; keep it to a position and a count, and put the rest in the data"),
            ));
        }
        let text = data.to_string();
        if let Some(saved) = self.save_over_own(store, clock, &text, progress).await? {
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

        let pending = store.get(&self.pending_key).await?;
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

        let (mut manifest, inline) = self.manifest_for(clock, sequence, &text, progress);
        let (pending_check, ours) = if inline {
            (Check::of(&self.pending_key, pending.as_ref()), None)
        } else {
            let pieces = split(&text, PIECE_BUDGET);
            let ours = Generation { id: random_id()?, chunks: pieces.len() };
            let stamp = self.announce(store, pending.as_ref(), &garbage, &ours).await?;
            let writes: Vec<Mutation> = pieces
                .iter()
                .enumerate()
                .map(|(i, piece)| Mutation::Set {
                    key: self.chunk_key(&ours.id, i),
                    value: Value::String(piece.to_string()),
                    expire_in_ms: None,
                })
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

        let mut mutations = vec![Mutation::Set { key: self.manifest_key.clone(), value: manifest.to_value(), expire_in_ms: None }];
        if !garbage.is_empty() {
            mutations.push(Mutation::Set { key: self.pending_key.clone(), value: pending_value(&garbage), expire_in_ms: None });
        } else if pending.is_some() || ours.is_some() {
            mutations.push(Mutation::Delete { key: self.pending_key.clone() });
        }
        let checks = [Check::of(&self.manifest_key, current.as_ref()), pending_check];
        let Some(stamp) = store.atomic_stamped(&checks, &mutations).await? else {
            if let Some(ours) = &ours {
                // Best effort; what remains is listed as pending and swept later.
                let _ = self.delete_chunks(store, ours).await;
            }
            return Err(self.busy());
        };
        *self.known.borrow_mut() = Known::Sequence(sequence);
        if ours.is_none() && garbage.is_empty() {
            *self.own.borrow_mut() = stamp.map(|s| (sequence, s));
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
        let checks = [
            Check { key: self.manifest_key.clone(), versionstamp: Some(stamp) },
            Check { key: self.pending_key.clone(), versionstamp: None },
        ];
        let write = [Mutation::Set { key: self.manifest_key.clone(), value: manifest.to_value(), expire_in_ms: None }];
        let Some(new_stamp) = store.atomic_stamped(&checks, &write).await? else { return Ok(None) };
        *self.known.borrow_mut() = Known::Sequence(manifest.sequence);
        *self.own.borrow_mut() = new_stamp.map(|s| (manifest.sequence, s));
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
        let inline = split(text, PIECE_BUDGET).len() == 1 && self.fits_inline(&manifest, text);
        if inline {
            manifest.body = Body::Inline(text.to_string());
        }
        (manifest, inline)
    }

    fn fits_inline(&self, manifest: &Manifest, text: &str) -> bool {
        let mut probe = manifest.clone();
        probe.body = Body::Inline(text.to_string());
        // The fields around the payload must fit in what PIECE_BUDGET leaves.
        probe.to_value().to_string().len() - text.len() <= MAX_VALUE_BYTES - PIECE_BUDGET - 1_000
    }

    /// Lists our generation as pending before writing any chunk, so an
    /// interrupted save leaves nothing the next save does not know about.
    /// Returns the pending record's new versionstamp.
    async fn announce<S: Store>(&self, store: &S, pending: Option<&Entry>, listed: &[Generation], ours: &Generation) -> Result<String> {
        let mut generations = listed.to_vec();
        generations.push(ours.clone());
        let value = pending_value(&generations);
        let set = Mutation::Set { key: self.pending_key.clone(), value: value.clone(), expire_in_ms: None };
        if !store.atomic(&[Check::of(&self.pending_key, pending)], &[set]).await? {
            return Err(self.busy());
        }
        match store.get(&self.pending_key).await? {
            Some(entry) if entry.value == value => Ok(entry.versionstamp),
            _ => Err(self.busy()),
        }
    }

    async fn delete_chunks<S: Store>(&self, store: &S, generation: &Generation) -> Result<()> {
        let deletes: Vec<Mutation> = (0..generation.chunks).map(|i| Mutation::Delete { key: self.chunk_key(&generation.id, i) }).collect();
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
                    store.atomic(&[Check::of(&self.pending_key, Some(&entry))], &[Mutation::Delete { key: self.pending_key.clone() }]).await
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
        for attempt in 0..MAX_CAS_ATTEMPTS {
            store.backoff(attempt).await;
            let current = store.get(&self.manifest_key).await?;
            let pending = store.get(&self.pending_key).await?;
            if current.is_none() && pending.is_none() {
                *self.known.borrow_mut() = Known::Absent;
                return Ok(false);
            }
            let mut garbage = pending.as_ref().and_then(|e| parse_pending(&e.value)).unwrap_or_default();
            if let Some(generation) = current.as_ref().and_then(|e| raw_generation(&e.value)) {
                if !garbage.contains(&generation) {
                    garbage.push(generation);
                }
            }
            let mut mutations = vec![Mutation::Delete { key: self.manifest_key.clone() }];
            mutations.push(if garbage.is_empty() {
                Mutation::Delete { key: self.pending_key.clone() }
            } else {
                Mutation::Set { key: self.pending_key.clone(), value: pending_value(&garbage), expire_in_ms: None }
            });
            let checks = [Check::of(&self.manifest_key, current.as_ref()), Check::of(&self.pending_key, pending.as_ref())];
            if store.atomic(&checks, &mutations).await? {
                *self.known.borrow_mut() = Known::Absent;
                self.sweep(store, log, &garbage).await;
                return Ok(current.is_some());
            }
        }
        Err(crate::store::conflict(&format!("checkpoint {:?}", self.name)))
    }
}

/// "Save every N items or every T ms, whichever comes first."
pub struct Periodic {
    every_items: Option<u64>,
    every_ms: Option<i64>,
    count: Cell<u64>,
    last_ms: Cell<i64>,
}

impl Periodic {
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

    pub fn saved(&self, now_ms: i64) {
        self.count.set(0);
        self.last_ms.set(now_ms);
    }

    /// Items counted since the last save.
    pub fn unsaved(&self) -> u64 {
        self.count.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::log::{MemoryLog, NoLog};
    use crate::memory::MemoryStore;
    use crate::testing::{CrashAfterWrites, NoCas, Yielding};
    use futures::executor::block_on;
    use std::rc::Rc;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01

    fn setup() -> (Rc<FakeClock>, MemoryStore) {
        let clock = Rc::new(FakeClock::at(T0));
        (clock.clone(), MemoryStore::new(clock))
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
        match loaded {
            Loaded::Found { data, meta, .. } => (data, meta),
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
        assert_eq!(
            block_on(Checkpoint::new("ns", "other", json!(1), None).unwrap().load(&store, &*clock, &NoLog)).unwrap(),
            Loaded::Missing
        );
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
            let results = block_on(futures::future::join_all(
                writers.iter().zip(&datas).map(|(w, d)| w.save(&store, &*clock, &NoLog, d, &Value::Null)),
            ));
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
}
