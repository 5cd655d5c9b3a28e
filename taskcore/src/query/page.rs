//! [`TaskPage`]: one page of a listing, and how a backend assembles it from ordered rows.

use serde::{Deserialize, Serialize};

use crate::query::TaskQuery;
use crate::query::cursor::Cursor;
use crate::task::Task;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPage {
    /// The tasks of this page, in the query's order.
    pub items: Vec<Task>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
    /// How many tasks of the room pass the filters (ignoring the cursor and limit).
    pub matched: u64,
    /// How many tasks the room has.
    pub total: u64,
}

impl TaskPage {
    /// Assembles a page from up to `limit + 1` tasks that pass the filters, come after the
    /// cursor and are already in the query's order: the extra task, if present, only tells that
    /// a next page exists.
    pub fn from_rows(mut rows: Vec<Task>, query: &TaskQuery, matched: u64, total: u64) -> Self {
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| Cursor::after(last, query.sort))
        } else {
            None
        };
        Self { items: rows, next_cursor, matched, total }
    }
}
