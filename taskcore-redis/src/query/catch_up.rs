//! Catching a listing up with the writes made while it read in several steps: the room's change
//! feed between two sequence numbers names every task written in between, with its whole state
//! after the last of those writes (or that it was deleted). Read in bounded slices.

use std::collections::HashMap;

use taskcore::{ChangeEvent, Result, Task};

use crate::keys::RoomKeys;
use crate::row::parse_change;
use crate::store::RedisStore;

/// Changes read per Redis call (each carries a task's JSON).
const SLICE: usize = 64;

/// The most changes a listing catches up with; past it, it lists again instead.
pub(crate) const MAX_CHANGES: u64 = 1024;

/// The tasks written between two states of a room: number → state after the later one
/// (`None`: deleted).
pub(crate) type Written = HashMap<u64, Option<Task>>;

/// The tasks written by the changes after `from` up to and including `to`, or `None` when the
/// feed no longer holds them all (retention) or there are more than [`MAX_CHANGES`].
pub(crate) async fn written_between(
    store: &RedisStore,
    keys: &RoomKeys,
    from: u64,
    to: u64,
) -> Result<Option<Written>> {
    let mut written = Written::new();
    if to <= from {
        return Ok(Some(written));
    }
    if to - from > MAX_CHANGES {
        return Ok(None);
    }
    let mut next = from + 1;
    while next <= to {
        let feed = keys.changes();
        let members: Vec<String> = store
            .query(redis::cmd("ZRANGEBYSCORE").arg(feed).arg(next).arg(to).arg("LIMIT").arg(0).arg(SLICE).to_owned())
            .await?;
        if members.is_empty() {
            return Ok(None);
        }
        for member in &members {
            let change = parse_change(member)?;
            if change.seq != next {
                return Ok(None);
            }
            next += 1;
            match change.event {
                ChangeEvent::TaskCreated { task }
                | ChangeEvent::TaskUpdated { task }
                | ChangeEvent::TaskCompleted { task }
                | ChangeEvent::TaskReopened { task } => {
                    written.insert(task.number, Some(task));
                }
                ChangeEvent::TaskDeleted { number, .. } => {
                    written.insert(number, None);
                }
                ChangeEvent::MemberJoined { .. } => {}
            }
        }
    }
    Ok(Some(written))
}
