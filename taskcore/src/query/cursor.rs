//! [`Cursor`]: where a keyset page ended, as an opaque URL-safe string for clients.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::query::sort::{Sort, SortKey, SortValue};
use crate::task::Task;

/// Where the previous page ended: the sort value and number of its last task. Opaque to
/// clients, who get it as a string ([`Cursor::encode`]) and send it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The order the cursor belongs to; a cursor used with another order is rejected.
    #[serde(rename = "s")]
    pub sort: Sort,
    /// The last task's sort value.
    #[serde(rename = "v")]
    pub value: SortValue,
    /// The last task's number.
    #[serde(rename = "n")]
    pub number: u64,
}

impl Cursor {
    /// The cursor just after `task` in `sort` order.
    pub fn after(task: &Task, sort: Sort) -> Self {
        Self { sort, value: task.sort_value(sort.key), number: task.number }
    }

    /// The opaque text form (URL-safe).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads the text form back. Anything not made by [`Cursor::encode`] is
    /// [`Error::Invalid`] on field `cursor` — including a title cursor whose text holds control
    /// characters, which no title has (see [`Cursor::check`]).
    pub fn decode(text: &str) -> Result<Self> {
        let invalid = || Error::invalid("cursor", "is not a cursor returned by a previous page");
        if text.len() > 2048 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        cursor.check()?;
        Ok(cursor)
    }

    /// Checks what a cursor made by hand (its fields are public) may get wrong: the kind of its
    /// value must fit its sort key, and a title value must hold no control characters (titles
    /// cannot, and PostgreSQL text cannot hold NUL). [`Error::Invalid`] on field `cursor`.
    pub fn check(&self) -> Result<()> {
        let invalid = || Error::invalid("cursor", "is not a cursor returned by a previous page");
        match (self.sort.key, &self.value) {
            (SortKey::Title, SortValue::Text(text)) if !text.chars().any(char::is_control) => Ok(()),
            (SortKey::Number | SortKey::Created | SortKey::Due | SortKey::Priority, SortValue::Int(_)) => Ok(()),
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}
