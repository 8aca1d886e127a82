//! Every store key the package reads or writes is made here, and nowhere
//! else. The layouts of fc-connect-sdk 0.1.56 are kept byte for byte so
//! state written by either package stays valid for the other.

use crate::error::{ErrorCode, Result, StateError};

/// Deno KV's limit on an encoded key; Versori has no published limit, so we
/// hold every store to the strictest.
pub const MAX_KEY_BYTES: usize = 2048;

/// A store key. `text` keys are single strings for Versori-style stores
/// (0.1.56's VersoriFileTracker wrote plain string keys); stores that only
/// take arrays (Deno KV) receive them as a one-part array.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The key's parts.
    pub parts: Vec<String>,
    /// A single string for Versori-style stores.
    pub text: bool,
    /// A text key's own form on stores without compare-and-set (NATS KV's
    /// alphabet, see [`nats_name`]), when it differs from its text.
    pub nats: Option<String>,
}

impl Key {
    /// A key of string parts.
    pub fn parts<I, S>(parts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Key { parts: parts.into_iter().map(Into::into).collect(), text: false, nats: None }
    }

    /// A one-string key, the same on every store.
    pub fn text(key: impl Into<String>) -> Self {
        Key { parts: vec![key.into()], text: true, nats: None }
    }

    /// A one-string key: `text` on compare-and-set stores (today's keys,
    /// where Deno KV users' state is), `nats` on stores without it (Versori).
    pub fn text_or_nats(text: impl Into<String>, nats: impl Into<String>) -> Self {
        Key { parts: vec![text.into()], text: true, nats: Some(nats.into()) }
    }

    /// The key on a store without compare-and-set (Versori, whose KV is
    /// NATS KV): a text key's NATS form (0.1.56's layouts for files and
    /// jobs, names encoded by [`nats_name`]), else `cs=/` and the parts,
    /// each encoded by [`nats_name`], joined with `/`. No two keys share
    /// a form: [`nats_name`] never writes a `=` that is not followed by two
    /// hex digits, so no encoded prefix or id can be `cs=`.
    pub fn nats(&self) -> String {
        match (&self.nats, self.text) {
            (Some(nats), _) => nats.clone(),
            (None, true) => self.parts[0].clone(),
            (None, false) => {
                let mut out = String::from(NATS_PARTS);
                for part in &self.parts {
                    out.push('/');
                    out.push_str(&nats_name(part, false));
                }
                out
            }
        }
    }

    /// Human-readable form for messages and logs.
    pub fn display(&self) -> String {
        if self.text {
            format!("{:?}", self.parts[0])
        } else {
            format!("{:?}", self.parts)
        }
    }

    /// Bytes this key takes in Deno KV's encoding: one type byte and a
    /// terminator per string part, and 0x00 bytes escaped as two.
    pub fn encoded_len(&self) -> usize {
        self.parts.iter().map(|p| 2 + p.len() + p.bytes().filter(|&b| b == 0).count()).sum()
    }

    /// KEY_TOO_LARGE when the key takes more than [`MAX_KEY_BYTES`].
    pub fn check_size(&self) -> Result<()> {
        let len = self.encoded_len();
        if len > MAX_KEY_BYTES {
            return Err(StateError::new(
                ErrorCode::KeyTooLarge,
                format!(
                    "the key would take {len} bytes, more than the {MAX_KEY_BYTES} stores accept; use a shorter name (hash long names yourself)"
                ),
            ));
        }
        Ok(())
    }

    /// Whether the key's leading parts are `prefix`.
    pub fn starts_with(&self, prefix: &[String]) -> bool {
        self.parts.len() >= prefix.len() && self.parts[..prefix.len()] == *prefix
    }
}

/// A caller-chosen name (lock, file, workflow): a non-empty string.
pub fn check_name(argument: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(StateError::invalid(argument, "must be a non-empty string"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(StateError::invalid(
            argument,
            &format!("is {} bytes long; names must be at most {MAX_NAME_BYTES} bytes (hash long names yourself)", name.len()),
        ));
    }
    Ok(())
}

/// The longest name any method takes: what is left of a key once our own
/// parts are in it. Longer names can never be stored, so they are bad input,
/// not a store failure.
pub const MAX_NAME_BYTES: usize = 1024;

// ---- StateService (0.1.56 layout) ----

/// StateService's lock `name`.
pub fn lock(name: &str) -> Key {
    Key::parts(["lock:", name])
}

/// StateService's sync state.
pub fn sync_state(workflow_id: Option<&str>) -> Key {
    match workflow_id {
        Some(id) => Key::parts(["state:", id, "sync"]),
        None => Key::parts(["state:", "sync"]),
    }
}

/// Running totals behind `getMetrics` (ours; 0.1.56 kept none).
pub fn metrics(workflow_id: Option<&str>) -> Key {
    match workflow_id {
        Some(id) => Key::parts(["state:", id, "metrics"]),
        None => Key::parts(["state:", "metrics"]),
    }
}

/// StateService's record of a processed file.
pub fn processed_file(workflow_id: Option<&str>, file_name: &str) -> Key {
    Key::parts(["file:", workflow_id.unwrap_or("default"), file_name])
}

/// The key 0.1.56 reads and writes for the daily job made on `utc_date`.
pub fn daily_job_dated(workflow_id: &str, utc_date: &str) -> Key {
    Key::parts(["job:", workflow_id, "daily", utc_date])
}

/// Our pointer to the live daily job, found whatever the date; "current"
/// can never collide with a `YYYY-MM-DD` part.
pub fn daily_job_current(workflow_id: &str) -> Key {
    Key::parts(["job:", workflow_id, "daily", "current"])
}

/// Our reservation while one run creates the daily job; "claim" can never
/// collide with a `YYYY-MM-DD` part either.
pub fn daily_job_claim(workflow_id: &str) -> Key {
    Key::parts(["job:", workflow_id, "daily", "claim"])
}

/// JobTracker's record, at 0.1.56's key.
pub fn job_status(job_id: &str) -> Key {
    Key::text_or_nats(format!("job_{job_id}_status"), format!("job_{}_status", nats_name(job_id, false)))
}

// ---- NATS KV (Versori): keys within `A-Z a-z 0-9 _ - . = /` ----

/// The first component of every key made of parts, on a NATS store.
pub const NATS_PARTS: &str = "cs=";

/// Whether NATS KV takes `key`: only `A-Z a-z 0-9 _ - . = /`, not starting
/// or ending with `.`, no empty `.`-separated token (`a..b`).
pub fn nats_valid(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'=' | b'/'))
        && !key.starts_with('.')
        && !key.ends_with('.')
        && !key.contains("..")
}

/// A name in NATS KV's alphabet, injectively: letters, digits, `_` and `-`
/// stay, `/` stays when `keep_slash` (file names, as 0.1.56 kept them, never
/// at the start of a key), `.` stays except last, after another `.`, or
/// first in a part that may start a key; everything else (`=`
/// itself, `:`, spaces, `%`, non-ASCII) becomes `=` and two hex digits per
/// UTF-8 byte. A name 0.1.56 kept as it was (`[A-Za-z0-9._/-]`, no leading,
/// trailing or double `.`) keeps its key.
pub fn nats_name(name: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(name.len());
    let count = name.chars().count();
    let mut previous_dot = false;
    for (i, c) in name.chars().enumerate() {
        let keep = c.is_ascii_alphanumeric()
            || c == '_'
            || c == '-'
            || (c == '/' && keep_slash)
            || (c == '.' && (i > 0 || keep_slash) && i + 1 < count && !previous_dot);
        if keep {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('=');
                crate::values::push_hex(&mut out, b, b"0123456789ABCDEF");
            }
        }
        previous_dot = keep && c == '.';
    }
    out
}

/// The name [`nats_name`] encoded (`=XX` escapes decoded).
pub fn nats_decode(encoded: &str) -> String {
    decode_escapes(encoded, b'=')
}

// ---- VersoriFileTracker (0.1.56 layout, with an injective name encoding) ----

/// 0.1.56 replaced every character outside `[A-Za-z0-9._=/-]` with `_`,
/// which maps `a b.csv` and `a_b.csv` to one key.
pub fn legacy_sanitize(name: &str) -> String {
    name.chars().map(|c| if is_safe(c) { c } else { '_' }).collect()
}

/// Like 0.1.56's sanitizing, but injective: an unsafe character (and `%`
/// itself, which 0.1.56 never kept) becomes `%XX` per UTF-8 byte. Names made
/// only of safe characters get exactly the key 0.1.56 gave them.
pub fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if is_safe(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// A FileTracker prefix in its keys: [`encode_name`], with `/` escaped
/// too, so the first `/` of a key always ends the prefix and two prefixes
/// never share a key (`sftp/processed-files/in` and `sftp` with a name
/// `in/processed-files/x`). A prefix without `/` or unsafe characters is
/// its own encoding: 0.1.56's keys for it stay where they were.
pub fn encode_prefix(prefix: &str) -> String {
    encode_name(prefix).replace('/', "%2F")
}

fn is_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '=' | '/' | '-')
}

/// FileTracker's record of `name` under (the caller's) `prefix`.
pub fn tracked_file(prefix: &str, name: &str) -> Key {
    Key::text_or_nats(
        format!("{}/processed-files/{}", encode_prefix(prefix), encode_name(name)),
        format!("{}/processed-files/{}", nats_name(prefix, false), nats_name(name, true)),
    )
}

/// Where 0.1.56 kept the record of `name`.
pub fn tracked_file_legacy(prefix: &str, name: &str) -> Key {
    Key::text(format!("{prefix}/processed-files/{}", legacy_sanitize(name)))
}

/// FileTracker's claim on `name`.
pub fn file_claim(prefix: &str, name: &str) -> Key {
    Key::text_or_nats(
        format!("{}/claims/{}", encode_prefix(prefix), encode_name(name)),
        format!("{}/claims/{}", nats_name(prefix, false), nats_name(name, true)),
    )
}

/// FileTracker's last processed file.
pub fn last_processed_file(prefix: &str) -> Key {
    Key::text_or_nats(format!("{}/last-processed-file", encode_prefix(prefix)), format!("{}/last-processed-file", nats_name(prefix, false)))
}

/// Where 0.1.56 kept the last processed file (the prefix as it was).
pub fn last_processed_file_legacy(prefix: &str) -> Key {
    Key::text(format!("{prefix}/last-processed-file"))
}

/// INVALID_ARGUMENT unless `prefix` can be a key part.
pub fn check_prefix(prefix: &str) -> Result<()> {
    check_name("prefix", prefix)
}

// ---- Indexed collections: VersoriIndexedFileTracker, IndexedFileTracker, RetryTracker ----

/// A record key on stores that cannot list: `{prefix}:{segment}:{name}`,
/// not sanitized. For files (`processed-files`) this is 0.1.56's key.
pub fn indexed_record_text(prefix: &str, segment: &str, name: &str) -> Key {
    // 0.1.56's key holds `:`, which NATS KV (Versori) never took: there the
    // record is a key of parts like our own.
    let parts = Key::parts([indexed_records_prefix(prefix, segment), name.to_string()]);
    Key::text_or_nats(format!("{prefix}:{segment}:{name}"), parts.nats())
}

/// The record key on stores that list by prefix: the same text split in
/// two parts, so that one prefix lists exactly one collection.
pub fn indexed_record_parts(prefix: &str, segment: &str, name: &str) -> Key {
    Key::parts([indexed_records_prefix(prefix, segment), name.to_string()])
}

/// The first key part of a collection's records on stores that list.
pub fn indexed_records_prefix(prefix: &str, segment: &str) -> String {
    format!("{prefix}:{segment}")
}

/// 0.1.56's one index of file names, shared by every prefix.
pub fn legacy_file_index() -> Key {
    Key::text("fc-sdk:file-index")
}

/// Our index on stores that cannot list: a head with the page count and
/// open pages, and pages of `[name, record]` entries, per collection.
pub fn index_head(segment: &str, prefix: &str) -> Key {
    Key::parts([&format!("cs:index:{segment}"), prefix, "head"])
}

/// Page `page` of a collection's index.
pub fn index_page(segment: &str, prefix: &str, page: usize) -> Key {
    Key::parts([&format!("cs:index:{segment}"), prefix, "page", &format!("{page:06}")])
}

// ---- Checkpoints (ours) ----

const CHECKPOINT: &str = "cs:checkpoint";

/// The manifest: what the live checkpoint is and where its payload sits.
pub fn checkpoint_manifest(namespace: &str, name: &str) -> Key {
    Key::parts([CHECKPOINT, namespace, name])
}

/// Generations of chunks that may be in the store but are not live: saves
/// in flight, interrupted saves, and superseded checkpoints not yet swept.
pub fn checkpoint_pending(namespace: &str, name: &str) -> Key {
    Key::parts([CHECKPOINT, namespace, name, "pending"])
}

/// Chunk `index` of a checkpoint generation.
pub fn checkpoint_chunk(namespace: &str, name: &str, generation: &str, index: usize) -> Key {
    Key::parts([CHECKPOINT, namespace, name, "chunk", generation, &format!("{index:05}")])
}

// ---- Reading keys back (the CLI's `inspect`, `describeKey`) ----

/// JobTracker's collection: records at `['cs:jobs:jobs', jobId]`.
pub const JOBS_PREFIX: &str = "cs:jobs";
/// The key segment of job records.
pub const JOBS_SEGMENT: &str = "jobs";
/// The key segment of RetryTracker's records.
pub const RETRY_SEGMENT: &str = "retry-state";
/// The key segment of processed-file records.
pub const FILES_SEGMENT: &str = "processed-files";

/// RetryTracker's collection prefix for `namespace`.
pub fn retry_prefix(namespace: &str) -> String {
    format!("cs:retry:{namespace}")
}

/// What a key the package wrote holds. [`describe`] is the inverse of the
/// key builders above, so tools read a store through it instead of
/// parsing key strings themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Described {
    /// StateService's lock `name`.
    Lock {
        /// The lock's name.
        name: String,
    },
    /// StateService's record of `file` processed in `workflow`.
    StateFile {
        /// The workflow (0.1.56 used "default" when none was given).
        workflow: String,
        /// The file's name.
        file: String,
    },
    /// StateService's sync state (`workflow` None: the one without a workflow).
    SyncState {
        /// The workflow, if any.
        workflow: Option<String>,
    },
    /// StateService's metrics totals.
    Metrics {
        /// The workflow, if any.
        workflow: Option<String>,
    },
    /// A daily job record, pointer or reservation of `workflow`.
    DailyJob {
        /// The workflow.
        workflow: String,
    },
    /// FileTracker's record of `name` under `prefix`.
    TrackedFile {
        /// The tracker's prefix.
        prefix: String,
        /// The file's name, decoded from the key.
        name: String,
    },
    /// FileTracker's claim on `name` under `prefix`.
    FileClaim {
        /// The tracker's prefix.
        prefix: String,
        /// The file's name, decoded from the key.
        name: String,
    },
    /// FileTracker's last processed file of `prefix`.
    LastProcessedFile {
        /// The tracker's prefix.
        prefix: String,
    },
    /// IndexedFileTracker's record of `name` under `prefix`.
    IndexedFile {
        /// The tracker's prefix.
        prefix: String,
        /// The file's name.
        name: String,
    },
    /// JobTracker's record of `job_id`.
    Job {
        /// The job's id.
        job_id: String,
    },
    /// JobTracker's copy at 0.1.56's `job_{jobId}_status`.
    JobStatusMirror {
        /// The job's id.
        job_id: String,
    },
    /// RetryTracker's record of `item` in `namespace`.
    RetryItem {
        /// The tracker's namespace.
        namespace: String,
        /// The item.
        item: String,
    },
    /// A checkpoint's manifest.
    Checkpoint {
        /// The store's namespace.
        namespace: String,
        /// The checkpoint's name.
        name: String,
    },
    /// The mark the CLI's `copy` leaves in its target while it copies (an
    /// interrupted copy may be resumed into that target).
    CopyInProgress,
    /// Bookkeeping the package keeps for itself: index heads and pages,
    /// checkpoint chunks and pending records, 0.1.56's shared file index.
    Internal,
}

/// What `parts` (a key read back from a store, as its string parts) is, or
/// None when the package did not write it.
pub fn describe(parts: &[String]) -> Option<Described> {
    let p: Vec<&str> = parts.iter().map(String::as_str).collect();
    let own = |s: &str| s.to_string();
    Some(match p.as_slice() {
        ["lock:", name] => Described::Lock { name: own(name) },
        ["file:", workflow, file] => Described::StateFile { workflow: own(workflow), file: own(file) },
        ["state:", "sync"] => Described::SyncState { workflow: None },
        ["state:", "metrics"] => Described::Metrics { workflow: None },
        ["state:", workflow, "sync"] => Described::SyncState { workflow: Some(own(workflow)) },
        ["state:", workflow, "metrics"] => Described::Metrics { workflow: Some(own(workflow)) },
        ["job:", workflow, "daily", _] => Described::DailyJob { workflow: own(workflow) },
        [CHECKPOINT, namespace, name] => Described::Checkpoint { namespace: own(namespace), name: own(name) },
        [CHECKPOINT, ..] => Described::Internal,
        ["cs:copy", "in-progress"] => Described::CopyInProgress,
        [head, ..] if head.starts_with("cs:index:") => Described::Internal,
        [collection, name] => return describe_record(collection, name),
        [text] => return describe_text(text),
        _ => return None,
    })
}

/// A record of a collection that lists: `['{prefix}:{segment}', name]`.
fn describe_record(collection: &str, name: &str) -> Option<Described> {
    let name = name.to_string();
    if collection == indexed_records_prefix(JOBS_PREFIX, JOBS_SEGMENT) {
        return Some(Described::Job { job_id: name });
    }
    if let Some(namespace) = collection.strip_prefix("cs:retry:").and_then(|rest| rest.strip_suffix(&format!(":{RETRY_SEGMENT}"))) {
        return Some(Described::RetryItem { namespace: namespace.to_string(), item: name });
    }
    let prefix = collection.strip_suffix(&format!(":{FILES_SEGMENT}"))?;
    Some(Described::IndexedFile { prefix: prefix.to_string(), name })
}

/// A one-string key: FileTracker's, 0.1.56's, or a record on a store that
/// cannot list (`'{prefix}:{segment}:{name}'`).
/// What a key read from a store without compare-and-set (Versori) is: the
/// inverse of [`Key::nats`].
pub fn describe_nats(key: &str) -> Option<Described> {
    if let Some(rest) = key.strip_prefix(NATS_PARTS).and_then(|r| r.strip_prefix('/')) {
        let parts: Vec<String> = rest.split('/').map(nats_decode).collect();
        return describe(&parts);
    }
    if let Some(job_id) = key.strip_prefix("job_").and_then(|rest| rest.strip_suffix("_status")) {
        return Some(Described::JobStatusMirror { job_id: nats_decode(job_id) });
    }
    let (prefix, rest) = key.split_once('/')?;
    let prefix = nats_decode(prefix);
    if let Some(encoded) = rest.strip_prefix("processed-files/") {
        return Some(Described::TrackedFile { prefix, name: nats_decode(encoded) });
    }
    if let Some(encoded) = rest.strip_prefix("claims/") {
        return Some(Described::FileClaim { prefix, name: nats_decode(encoded) });
    }
    (rest == "last-processed-file").then_some(Described::LastProcessedFile { prefix })
}

fn describe_text(text: &str) -> Option<Described> {
    if text == legacy_file_index().parts[0] {
        return Some(Described::Internal);
    }
    if let Some(job_id) = text.strip_prefix("job_").and_then(|rest| rest.strip_suffix("_status")) {
        return Some(Described::JobStatusMirror { job_id: job_id.to_string() });
    }
    if let Some((prefix, encoded)) = text.split_once("/processed-files/") {
        return Some(Described::TrackedFile { prefix: decode_name(prefix), name: decode_name(encoded) });
    }
    if let Some((prefix, encoded)) = text.split_once("/claims/") {
        return Some(Described::FileClaim { prefix: decode_name(prefix), name: decode_name(encoded) });
    }
    if let Some(prefix) = text.strip_suffix("/last-processed-file") {
        return Some(Described::LastProcessedFile { prefix: decode_name(prefix) });
    }
    let jobs = format!("{}:", indexed_records_prefix(JOBS_PREFIX, JOBS_SEGMENT));
    if let Some(job_id) = text.strip_prefix(&jobs) {
        return Some(Described::Job { job_id: job_id.to_string() });
    }
    if let Some(rest) = text.strip_prefix("cs:retry:") {
        let (namespace, item) = rest.split_once(&format!(":{RETRY_SEGMENT}:"))?;
        return Some(Described::RetryItem { namespace: namespace.to_string(), item: item.to_string() });
    }
    let (prefix, name) = text.split_once(&format!(":{FILES_SEGMENT}:"))?;
    Some(Described::IndexedFile { prefix: prefix.to_string(), name: name.to_string() })
}

/// The inverse of [`encode_name`]; a key 0.1.56 sanitized (no `%XX`) comes
/// back as it is.
pub fn decode_name(encoded: &str) -> String {
    decode_escapes(encoded, b'%')
}

/// `escape` and two hex digits decoded to their byte; anything else kept.
fn decode_escapes(encoded: &str, escape: u8) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (e, Some(b)) if e == escape => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| encoded.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_keep_the_legacy_key() {
        // On compare-and-set stores (the text) every name 0.1.56 kept;
        // on Versori (the NATS form) those without `=`, which is the escape there.
        for name in ["a_b.csv", "inventory-2025-01-15.csv", "dir/x=1.txt"] {
            assert_eq!(tracked_file("p", name).parts, tracked_file_legacy("p", name).parts);
        }
        for name in ["a_b.csv", "inventory-2025-01-15.csv", "dir/x.1.txt", ".hidden"] {
            assert_eq!(tracked_file("p", name).nats(), tracked_file_legacy("p", name).nats());
        }
    }

    #[test]
    fn names_that_0_1_56_merged_get_different_keys() {
        let pairs = [("a b.csv", "a_b.csv"), ("a%20b", "a b"), ("é", "_"), ("a:b", "a_b"), ("%", "%25")];
        for (x, y) in pairs {
            assert_ne!(tracked_file("p", x), tracked_file("p", y), "{x} vs {y}");
        }
        assert_eq!(encode_name("a b"), "a%20b");
        assert_eq!(encode_name("é"), "%C3%A9");
    }

    #[test]
    fn key_size_is_checked() {
        assert!(lock(&"x".repeat(2000)).check_size().is_ok());
        let err = lock(&"x".repeat(2100)).check_size().unwrap_err();
        assert_eq!(err.code, ErrorCode::KeyTooLarge);
    }

    #[test]
    fn key_size_counts_type_bytes_terminators_and_escaped_zero_bytes() {
        assert_eq!(Key::parts(["ab", "c"]).encoded_len(), 2 + 2 + 2 + 1);
        assert_eq!(Key::parts(["a\0b"]).encoded_len(), 2 + 3 + 1);
        // Exactly the limit is accepted, one byte more is not.
        let at_limit = Key::parts(["x".repeat(MAX_KEY_BYTES - 2)]);
        assert_eq!(at_limit.encoded_len(), MAX_KEY_BYTES);
        assert!(at_limit.check_size().is_ok());
        let over = Key::parts(["x".repeat(MAX_KEY_BYTES - 1)]);
        assert_eq!(over.check_size().unwrap_err().code, ErrorCode::KeyTooLarge);
    }

    #[test]
    fn starts_with_matches_whole_leading_parts_only() {
        let key = Key::parts(["a", "b", "c"]);
        let parts = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(key.starts_with(&parts(&[])));
        assert!(key.starts_with(&parts(&["a"])));
        assert!(key.starts_with(&parts(&["a", "b", "c"])));
        assert!(!key.starts_with(&parts(&["a", "b", "c", "d"])), "longer than the key");
        assert!(!key.starts_with(&parts(&["b"])));
        assert!(!key.starts_with(&parts(&["a", "x"])));
        assert!(!key.starts_with(&parts(&["a", "b"]).into_iter().chain(["c".into(), "".into()]).collect::<Vec<_>>()));
        assert!(!Key::parts(["ab"]).starts_with(&parts(&["a"])), "parts, not characters");
    }

    #[test]
    fn names_up_to_the_limit_are_accepted_and_prefixes_are_checked() {
        assert!(check_name("n", &"x".repeat(MAX_NAME_BYTES)).is_ok());
        assert_eq!(check_name("n", &"x".repeat(MAX_NAME_BYTES + 1)).unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(check_name("n", "").unwrap_err().code, ErrorCode::InvalidArgument);
        assert!(check_prefix("inventory").is_ok());
        assert_eq!(check_prefix("").unwrap_err().code, ErrorCode::InvalidArgument);
        assert_eq!(check_prefix(&"p".repeat(MAX_NAME_BYTES + 1)).unwrap_err().code, ErrorCode::InvalidArgument);
    }

    #[test]
    fn every_key_the_package_writes_is_described_back() {
        let text = |k: Key| k.parts;
        let cases: Vec<(Vec<String>, Described)> = vec![
            (lock("nightly").parts, Described::Lock { name: "nightly".into() }),
            (processed_file(Some("wf"), "a.csv").parts, Described::StateFile { workflow: "wf".into(), file: "a.csv".into() }),
            (processed_file(None, "a.csv").parts, Described::StateFile { workflow: "default".into(), file: "a.csv".into() }),
            (sync_state(Some("wf")).parts, Described::SyncState { workflow: Some("wf".into()) }),
            (sync_state(None).parts, Described::SyncState { workflow: None }),
            (metrics(Some("wf")).parts, Described::Metrics { workflow: Some("wf".into()) }),
            (daily_job_current("wf").parts, Described::DailyJob { workflow: "wf".into() }),
            (daily_job_dated("wf", "2026-11-29").parts, Described::DailyJob { workflow: "wf".into() }),
            (daily_job_claim("wf").parts, Described::DailyJob { workflow: "wf".into() }),
            (text(tracked_file("inv", "a b/é.csv")), Described::TrackedFile { prefix: "inv".into(), name: "a b/é.csv".into() }),
            (text(file_claim("inv", "x%y")), Described::FileClaim { prefix: "inv".into(), name: "x%y".into() }),
            (text(last_processed_file("inv")), Described::LastProcessedFile { prefix: "inv".into() }),
            (
                indexed_record_parts("inv", FILES_SEGMENT, "a:b.csv").parts,
                Described::IndexedFile { prefix: "inv".into(), name: "a:b.csv".into() },
            ),
            (
                text(indexed_record_text("inv", FILES_SEGMENT, "a.csv")),
                Described::IndexedFile { prefix: "inv".into(), name: "a.csv".into() },
            ),
            (indexed_record_parts(JOBS_PREFIX, JOBS_SEGMENT, "j-1").parts, Described::Job { job_id: "j-1".into() }),
            (text(indexed_record_text(JOBS_PREFIX, JOBS_SEGMENT, "j-1")), Described::Job { job_id: "j-1".into() }),
            (text(job_status("j-1")), Described::JobStatusMirror { job_id: "j-1".into() }),
            (
                indexed_record_parts(&retry_prefix("orders"), RETRY_SEGMENT, "o:1").parts,
                Described::RetryItem { namespace: "orders".into(), item: "o:1".into() },
            ),
            (
                text(indexed_record_text(&retry_prefix("orders"), RETRY_SEGMENT, "o1")),
                Described::RetryItem { namespace: "orders".into(), item: "o1".into() },
            ),
            (checkpoint_manifest("ns", "run").parts, Described::Checkpoint { namespace: "ns".into(), name: "run".into() }),
            (checkpoint_pending("ns", "run").parts, Described::Internal),
            (checkpoint_chunk("ns", "run", "g", 3).parts, Described::Internal),
            (index_head(FILES_SEGMENT, "inv").parts, Described::Internal),
            (index_page(JOBS_SEGMENT, "cs:jobs", 2).parts, Described::Internal),
            (text(legacy_file_index()), Described::Internal),
        ];
        for (parts, expected) in cases {
            assert_eq!(describe(&parts), Some(expected), "{parts:?}");
        }
        for foreign in [vec!["orders"], vec!["user", "a", "b"], vec!["config:", "x"], vec![]] {
            let parts: Vec<String> = foreign.iter().map(|s| s.to_string()).collect();
            assert_eq!(describe(&parts), None, "{parts:?}");
        }
    }

    #[test]
    fn decode_name_inverts_encode_name() {
        for name in ["plain.csv", "a b.csv", "é/ü", "100%", "%41", "日本語.txt", "a%2"] {
            assert_eq!(decode_name(&encode_name(name)), name);
        }
        assert_eq!(decode_name("a_b.csv"), "a_b.csv", "0.1.56's sanitized keys come back as they are");
    }
}

#[cfg(test)]
mod nats_tests {
    use super::*;

    #[test]
    fn every_key_is_a_nats_key_and_names_stay_apart() {
        let names = [
            "stock 1.csv",
            "[SAMPLE] - file (1).xml",
            "ünïcödé 文件.csv",
            "a%20b.csv",
            "a=3Db.csv",
            "a:b.csv",
            ".hidden",
            "a..b.csv",
            "trailing.",
            "/abs/path/x.csv",
            "a b.csv",
            "a_b.csv",
            "a(b.csv",
            "...",
            ".",
            "=",
            "a=b",
        ];
        let mut seen = std::collections::HashSet::new();
        for name in names {
            for key in
                [tracked_file("in box", name), file_claim(".p", name), lock(name), job_status(name), checkpoint_chunk(name, name, "g", 1)]
            {
                let nats = key.nats();
                assert!(nats_valid(&nats), "{name:?} → {nats:?}");
                assert!(seen.insert(nats.clone()), "{nats:?} twice");
            }
            assert_eq!(nats_decode(&nats_name(name, true)), name);
            assert_eq!(nats_decode(&nats_name(name, false)), name);
        }
        // Escapes are `=` and two upper-case hex digits per UTF-8 byte.
        assert_eq!(nats_name("a b:\u{e9}\u{1f600}", false), "a=20b=3A=C3=A9=F0=9F=98=80");
        assert_eq!(nats_name(".x.", false), "=2Ex=2E");
        // 0.1.56's keys for names it kept as they were.
        assert_eq!(tracked_file("fc-sdk", "dir/plain-1.csv").nats(), "fc-sdk/processed-files/dir/plain-1.csv");
        assert_eq!(tracked_file("fc-sdk", ".hidden").nats(), "fc-sdk/processed-files/.hidden");
        assert_eq!(job_status("job-1").nats(), "job_job-1_status");
        assert!(!nats_valid("a..b") && !nats_valid(".a") && !nats_valid("a.") && !nats_valid("a b") && !nats_valid("lock:"));
    }

    #[test]
    fn a_nats_key_reads_back() {
        assert_eq!(describe_nats(&lock("nightly: import").nats()), Some(Described::Lock { name: "nightly: import".into() }));
        assert_eq!(
            describe_nats(&tracked_file("in box", "a b.csv").nats()),
            Some(Described::TrackedFile { prefix: "in box".into(), name: "a b.csv".into() })
        );
        assert_eq!(describe_nats(&job_status("j-1").nats()), Some(Described::JobStatusMirror { job_id: "j-1".into() }));
    }
}
