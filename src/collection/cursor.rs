//! Listing cursors: where a listing goes on, as the opaque text callers pass
//! back. A cursor names the backing it came from, so one made on a store
//! that lists is refused on a store that does not, and the other way round.

use crate::error::{Result, StateError};

pub(super) enum Cursor {
    /// The store's own listing cursor.
    List(String),
    /// A position in the paged index.
    Index { page: usize, offset: usize },
}

impl Cursor {
    pub(super) fn encode(&self) -> String {
        match self {
            Cursor::List(c) => format!("l:{c}"),
            Cursor::Index { page, offset } => format!("i:{page}:{offset}"),
        }
    }

    pub(super) fn decode(text: &str, list_mode: bool) -> Result<Cursor> {
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
