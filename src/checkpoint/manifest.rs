//! The stored form of a checkpoint: the manifest (with its canonical form
//! and CRC-32), the payload split into chunks, and the pending-generations
//! record. Pure functions over JSON; no store calls.

use crate::clock::ms_from_iso;
use crate::values::{count_field, str_field};
use serde_json::{json, Map, Value};

const FORMAT: &str = "connector-state/checkpoint";
const FORMAT_VERSION: u64 = 1;

/// Bytes one stored string (an inline payload or a chunk) may take, both as
/// JSON text (Versori stores JSON-encode values) and as V8 serialises it
/// (Deno KV: one byte per character when all are Latin-1, else two per
/// UTF-16 unit). The rest of the 65,536 is left for the fields around it.
pub const PIECE_BUDGET: usize = 60_000;

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
    // ASCII text that fits whole: one piece, without the walk below (a
    // byte is one UTF-16 unit, and at most 6 bytes of JSON).
    if text.len() <= budget && text.is_ascii() {
        let escapes = text.bytes().filter(|&b| b == b'"' || b == b'\\' || b < 0x20).count();
        if text.len() + 5 * escapes + 2 <= budget {
            return vec![text];
        }
    }
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
fn canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => canonical_map(map, None, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(item, out);
            }
            out.push(b']');
        }
        // The JSON of a scalar into a Vec: cannot fail.
        other => drop(serde_json::to_writer(&mut *out, other)),
    }
}

/// [`canonical`] of an object, leaving out the field named `skip`.
fn canonical_map(map: &Map<String, Value>, skip: Option<&str>, out: &mut Vec<u8>) {
    let mut names: Vec<&String> = map.keys().filter(|n| Some(n.as_str()) != skip).collect();
    names.sort();
    out.push(b'{');
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        drop(serde_json::to_writer(&mut *out, name));
        out.push(b':');
        canonical(&map[name], out);
    }
    out.push(b'}');
}

/// The CRC of a manifest's fields but its own checksum, over their canonical JSON.
fn manifest_crc(fields: &Map<String, Value>) -> String {
    let mut text = Vec::with_capacity(fields.values().map(|v| v.as_str().map_or(16, |s| s.len() + 16)).sum());
    canonical_map(fields, Some("manifestChecksum"), &mut text);
    format!("{:08x}", crc32fast::hash(&text))
}

/// Where a checkpoint's payload is.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Inside the manifest: the payload's JSON text.
    Inline(String),
    /// Chunk `i` is at `checkpoint_chunk(.., generation, i)`; `crcs[i]` is its CRC.
    Chunked {
        /// The chunks' generation id (fresh per save, never reused).
        generation: String,
        /// The CRC-32 of each chunk, in order.
        crcs: Vec<String>,
    },
}

/// The stored record that makes a checkpoint live.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The caller's schema version.
    pub version: Value,
    /// Rises by one with every save.
    pub sequence: u64,
    /// When it was saved (ISO 8601).
    pub saved_at: String,
    /// The caller's small progress value (JSON, null for none).
    pub progress: Value,
    /// UTF-8 bytes of the payload's JSON text.
    pub bytes: usize,
    /// CRC-32 of the whole payload text.
    pub checksum: String,
    /// The payload, inline or in chunks.
    pub body: Body,
}

impl Manifest {
    /// The stored form, with the manifest's own CRC.
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

    pub(crate) fn generation(&self) -> Option<Generation> {
        match &self.body {
            Body::Chunked { generation, crcs } => Some(Generation { id: generation.clone(), chunks: crcs.len() }),
            Body::Inline(_) => None,
        }
    }
}

/// A set of chunks that may be in the store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Generation {
    pub(crate) id: String,
    pub(crate) chunks: usize,
}

pub(crate) fn pending_value(generations: &[Generation]) -> Value {
    json!({ "generations": generations.iter().map(|g| json!({ "generation": g.id, "chunks": g.chunks })).collect::<Vec<_>>() })
}

pub(crate) fn parse_pending(value: &Value) -> Option<Vec<Generation>> {
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
pub(crate) fn raw_generation(value: &Value) -> Option<Generation> {
    let fields = value.as_object()?;
    let id = str_field(fields, "generation")?.to_string();
    let chunks = fields.get("chunks")?.as_array()?.len();
    Some(Generation { id, chunks })
}

pub(crate) fn raw_sequence(value: &Value) -> Option<u64> {
    value.as_object().and_then(|f| count_field(f, "sequence"))
}

/// What the stored checkpoint says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// The schema version it was saved under.
    pub version: Value,
    /// Its sequence number.
    pub sequence: u64,
    /// When it was saved (ISO 8601).
    pub saved_at: String,
    /// Milliseconds since it was saved.
    pub age_ms: i64,
    /// The progress saved with it.
    pub progress: Value,
    /// Bytes of the payload's JSON text.
    pub bytes: usize,
    /// Chunks it is split into (0: inline).
    pub chunks: usize,
}

impl Meta {
    pub(crate) fn of(manifest: &Manifest, now_ms: i64) -> Meta {
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
