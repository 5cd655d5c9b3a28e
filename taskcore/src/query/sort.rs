//! Listing orders: [`SortKey`], [`SortDir`], [`Sort`], and the [`SortValue`] a task sorts by,
//! which SQL and Redis backends keep in indexed columns.

use serde::{Deserialize, Serialize};

use crate::clock::unix_micros;
use crate::error::{Error, Result};
use crate::task::Task;

/// What a listing is ordered by. Ties are always broken by task number, so every order is total
/// and keyset pagination is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// The per-room number (creation order).
    #[default]
    Number,
    /// Creation time.
    Created,
    /// Due date; tasks without one come after every dated task ascending, before them descending.
    Due,
    /// Priority rank (low < medium < high).
    Priority,
    /// Title, case-folded, by code point.
    Title,
}

impl SortKey {
    /// Parses `number` (or `id`), `created` (or `created_at`), `due` (or `due_date`), `priority`,
    /// `title`.
    pub fn parse(input: &str) -> Result<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "number" | "id" => Ok(Self::Number),
            "created" | "created_at" => Ok(Self::Created),
            "due" | "due_date" => Ok(Self::Due),
            "priority" => Ok(Self::Priority),
            "title" => Ok(Self::Title),
            _ => Err(Error::invalid("sort", "must be one of: number, created, due, priority, title")),
        }
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Created => "created",
            Self::Due => "due",
            Self::Priority => "priority",
            Self::Title => "title",
        }
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl SortDir {
    /// Parses `asc` or `desc`, any case.
    pub fn parse(input: &str) -> Result<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(Error::invalid("order", "must be asc or desc")),
        }
    }
}

/// A listing order: a key and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sort {
    /// What to order by.
    pub key: SortKey,
    /// Which way.
    pub dir: SortDir,
}

/// The value a task sorts by under one [`SortKey`], as backends store it in an indexed column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    /// Number, creation time in microseconds since the Unix epoch, due time in microseconds
    /// ([`NO_DUE_DATE`] for none) or priority rank.
    Int(i64),
    /// Case-folded title.
    Text(String),
}

/// The sort value of a task without a due date under [`SortKey::Due`].
pub const NO_DUE_DATE: i64 = i64::MAX;

impl Task {
    /// The value this task sorts by under `key`.
    pub fn sort_value(&self, key: SortKey) -> SortValue {
        match key {
            SortKey::Number => SortValue::Int(i64::try_from(self.number).unwrap_or(i64::MAX)),
            SortKey::Created => SortValue::Int(unix_micros(self.created_at)),
            SortKey::Due => SortValue::Int(self.due_key()),
            SortKey::Priority => SortValue::Int(i64::from(self.priority.rank())),
            SortKey::Title => SortValue::Text(self.title_key()),
        }
    }

    /// The [`SortKey::Due`] value: the due instant in microseconds since the Unix epoch,
    /// [`NO_DUE_DATE`] (after every date) when there is none.
    pub fn due_key(&self) -> i64 {
        self.due_date.map_or(NO_DUE_DATE, unix_micros)
    }

    /// The [`SortKey::Title`] value: the case-folded title.
    pub fn title_key(&self) -> String {
        self.title.to_lowercase()
    }
}
