//! Listing a room without ever making Redis look at the whole room in one call: every Redis
//! call of a listing looks at no more than [`RedisConfig::scan_step`](crate::RedisConfig::scan_step)
//! index entries or set members (512 by default), plus the rows it returns.
//!
//! - Filters that are all sets (status, priority, tag, assignee), or none: the `list_step`
//!   script ([`walk`]), which usually answers in one atomic call; when it has to look further
//!   it stops at its budget and is called again from where it stopped.
//! - Filters no index answers (text search, due ranges, overdue), or filter sets too large to
//!   order and too sparse to walk: a chunked pass here ([`pass`]) over the smallest candidate
//!   source, reading only the fields the filters need, with the reference semantics of
//!   [`TaskQuery::matches`] on stored fields ([`filter`]).
//! - `matched` for two or more large filter sets: the same pass, counting only.
//!
//! Listings in several steps stay exact: each knows the room's sequence number it started at
//! and the one its rows were read at, and catches up with the writes in between from the
//! change feed ([`catch_up`]). When the feed cannot tell (retention) the listing starts again,
//! up to [`ATTEMPTS`] times.

mod catch_up;
mod filter;
mod order;
mod pass;
mod top;
mod walk;

pub(crate) use order::number_in;

use taskcore::{Error, Result, RoomCode, Task, TaskPage, TaskQuery};
use time::OffsetDateTime;

use crate::store::RedisStore;
use walk::Walked;

/// How many times a listing starts again when the room changed too much while it read.
pub(crate) const ATTEMPTS: usize = 4;

/// Rows in order and the counts of a listing.
#[derive(Debug)]
pub(crate) struct Listed {
    rows: Vec<Task>,
    matched: Option<u64>,
    total: u64,
}

/// Whether a query has filters that no index answers.
fn has_row_filters(query: &TaskQuery) -> bool {
    query.text.is_some() || query.due_before.is_some() || query.due_after.is_some() || query.overdue
}

/// One page of `query` (see [`taskcore::TaskStore::list_tasks`]).
pub(crate) async fn list_tasks(
    store: &RedisStore,
    code: &RoomCode,
    query: &TaskQuery,
    now: OffsetDateTime,
) -> Result<TaskPage> {
    let wanted = usize::try_from(query.limit).unwrap_or(usize::MAX).saturating_add(1);
    for _ in 0..ATTEMPTS {
        let listed = if has_row_filters(query) {
            pass::pass(store, code, query, now, wanted).await?
        } else {
            match walk::walk(store, code, query, now, wanted).await? {
                Some(Walked::Listed(listed)) => Some(listed),
                Some(Walked::NeedsPass) => pass::pass(store, code, query, now, wanted).await?,
                None => None,
            }
        };
        if let Some(listed) = listed {
            let matched = match listed.matched {
                Some(matched) => matched,
                None => count(store, code, query, now).await?,
            };
            return Ok(TaskPage::from_rows(listed.rows, query, matched, listed.total));
        }
    }
    Err(too_busy(code))
}

/// How many tasks pass the filters, by a counting pass.
async fn count(store: &RedisStore, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<u64> {
    for _ in 0..ATTEMPTS {
        if let Some(Listed { matched: Some(matched), .. }) = pass::pass(store, code, query, now, 0).await? {
            return Ok(matched);
        }
    }
    Err(too_busy(code))
}

fn too_busy(code: &RoomCode) -> Error {
    Error::Unavailable {
        message: format!(
            "room {code} changed faster than it could be listed ({ATTEMPTS} attempts, each outrun by more \
             than the change feed could bridge); try again"
        ),
        source: None,
    }
}
