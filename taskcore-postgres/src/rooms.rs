//! The rows of a write batch's rooms: locked and read once when the batch begins, advanced in
//! memory by each write that succeeded, and written back once, just before the batch commits.
//!
//! Each write used to update its room's row itself (`UPDATE rooms SET last_number =
//! last_number + 1, last_seq = last_seq + 1, <counter> = <counter> + 1 …`): a batch of 32
//! writes to one hot room left a chain of 32 versions of that row, which every following update
//! (and every foreign-key check of the batch's inserts) walked. The batch holds the row's lock
//! from its first statement to its `COMMIT`, so nobody else can move the row meanwhile: the
//! writer reads it once ([`lock`]), hands each write the next number and sequence
//! ([`RoomState`]), applies what a write did ([`Advance`]) only once all of that write
//! succeeded, and stores the result with one `UPDATE` per room ([`write_back`]).

use std::collections::HashMap;
use std::sync::LazyLock;

use sqlx::PgConnection;
use taskcore::RoomCode;

use crate::row::{COUNTER_COLUMNS, Counters};

/// The statement of [`lock`]: the rooms' ids, codes, allocation state and counters.
static LOCK_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, code, last_number, last_seq, {} FROM rooms WHERE code = ANY($1) ORDER BY code FOR NO KEY UPDATE",
        COUNTER_COLUMNS.join(", ")
    )
});

/// The statement of [`write_back`]: `$1` the room's id, `$2` its last number, `$3` its last
/// sequence, `$4`… its counters.
static WRITE_BACK_SQL: LazyLock<String> = LazyLock::new(|| {
    let counters: Vec<String> =
        COUNTER_COLUMNS.iter().enumerate().map(|(i, column)| format!("{column} = ${}", i + 4)).collect();
    format!("UPDATE rooms SET last_number = $2, last_seq = $3, {} WHERE id = $1", counters.join(", "))
});

/// What writes change in a room's row: its allocation state and its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RoomRow {
    /// `rooms.last_number`: the highest task number the room ever allocated.
    last_number: i64,
    /// `rooms.last_seq`: the newest sequence of its change feed.
    last_seq: i64,
    /// Its tasks by completion and priority.
    counters: Counters,
}

/// A room of a batch, its row locked by the batch's transaction: the row as locked, and as the
/// writes of the batch that succeeded so far left it.
#[derive(Debug)]
pub(crate) struct RoomState {
    id: i64,
    locked: RoomRow,
    now: RoomRow,
}

impl RoomState {
    /// `rooms.id`.
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    /// The number a task created now gets: one more than the last one allocated.
    pub(crate) fn next_number(&self) -> i64 {
        self.now.last_number.saturating_add(1)
    }

    /// The sequence of the change a write appends now: one more than the newest.
    pub(crate) fn next_seq(&self) -> i64 {
        self.now.last_seq.saturating_add(1)
    }

    /// The room's tasks by completion and priority, as of now.
    pub(crate) fn counters(&self) -> &Counters {
        &self.now.counters
    }

    /// The newest sequence of the feed when the batch locked the room.
    pub(crate) fn seq_locked(&self) -> i64 {
        self.locked.last_seq
    }

    /// The newest sequence of the feed now.
    pub(crate) fn last_seq(&self) -> i64 {
        self.now.last_seq
    }

    /// Whether the batch appended to the room's feed.
    pub(crate) fn appended(&self) -> bool {
        self.now.last_seq != self.locked.last_seq
    }

    /// Whether the row differs from what the batch locked: it needs [`write_back`].
    pub(crate) fn dirty(&self) -> bool {
        self.now != self.locked
    }

    /// Applies what a write did, once everything of it succeeded.
    pub(crate) fn advance(&mut self, by: Advance) {
        if by.number {
            self.now.last_number = self.next_number();
        }
        if by.change {
            self.now.last_seq = self.next_seq();
        }
        self.now.counters.add(&by.counters);
    }
}

/// What a write that succeeded did to its room's row, for the batch to apply to the room's
/// [`RoomState`]. A write that failed, or was rolled back to its savepoint, has none: the state
/// moves only with the writes that stay in the transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Advance {
    /// It took [`RoomState::next_number`].
    pub(crate) number: bool,
    /// It appended a change at [`RoomState::next_seq`].
    pub(crate) change: bool,
    /// How it moved the counters.
    pub(crate) counters: Counters,
}

impl Advance {
    /// A write that appended one change and moved the counters by `counters`.
    pub(crate) fn appended(counters: Counters) -> Self {
        Self { number: false, change: true, counters }
    }
}

/// The columns [`lock`] reads: id, code, the allocation state and the six counters (in the
/// order of [`crate::row::COUNTER_COLUMNS`]).
type Locked = (i64, String, i64, i64, i64, i64, i64, i64, i64, i64);

/// Locks the rows of the rooms named by `codes` (with `SELECT … FOR NO KEY UPDATE`, in code
/// order, so that batches of different writers and processes cannot deadlock) and reads their
/// state; a room that does not exist is missing from the map.
pub(crate) async fn lock<'a>(
    conn: &mut PgConnection,
    codes: impl IntoIterator<Item = &'a RoomCode>,
) -> Result<HashMap<RoomCode, RoomState>, sqlx::Error> {
    let mut codes: Vec<&str> = codes.into_iter().map(RoomCode::as_str).collect();
    codes.sort_unstable();
    codes.dedup();
    let rows: Vec<Locked> = sqlx::query_as(LOCK_SQL.as_str()).bind(&codes).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, code, last_number, last_seq, c0, c1, c2, c3, c4, c5)| {
            let row = RoomRow { last_number, last_seq, counters: Counters { cells: [c0, c1, c2, c3, c4, c5] } };
            RoomCode::parse(&code).ok().map(|code| (code, RoomState { id, locked: row, now: row }))
        })
        .collect())
}

/// Stores `room`'s state in its row: one `UPDATE` for the whole batch's writes to the room.
pub(crate) async fn write_back(conn: &mut PgConnection, room: &RoomState) -> Result<(), sqlx::Error> {
    let [c0, c1, c2, c3, c4, c5] = room.now.counters.cells;
    sqlx::query(WRITE_BACK_SQL.as_str())
        .bind(room.id)
        .bind(room.now.last_number)
        .bind(room.now.last_seq)
        .bind(c0)
        .bind(c1)
        .bind(c2)
        .bind(c3)
        .bind(c4)
        .bind(c5)
        .execute(conn)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> RoomState {
        let row = RoomRow { last_number: 7, last_seq: 10, counters: Counters { cells: [1, 2, 3, 0, 0, 1] } };
        RoomState { id: 1, locked: row, now: row }
    }

    #[test]
    fn advancing_moves_numbers_sequences_and_counters() {
        let mut room = state();
        assert!(!room.dirty() && !room.appended());
        assert_eq!((room.next_number(), room.next_seq()), (8, 11));
        let mut created = Counters::default();
        created.cells[2] = 1;
        room.advance(Advance { number: true, change: true, counters: created });
        assert_eq!((room.next_number(), room.next_seq()), (9, 12));
        assert_eq!(room.counters().cells, [1, 2, 4, 0, 0, 1]);
        assert!(room.dirty() && room.appended());
        assert_eq!((room.seq_locked(), room.last_seq()), (10, 11));
    }

    #[test]
    fn the_statements_name_every_counter_in_order() {
        assert!(LOCK_SQL.contains(
            "last_seq, pending_low, pending_medium, pending_high, done_low, done_medium, done_high FROM rooms"
        ));
        assert!(
            WRITE_BACK_SQL.contains("pending_low = $4, pending_medium = $5")
                && WRITE_BACK_SQL.contains("done_high = $9 WHERE")
        );
    }

    #[test]
    fn a_write_that_changed_nothing_leaves_the_row_clean() {
        let mut room = state();
        room.advance(Advance::default());
        assert!(!room.dirty());
    }
}
