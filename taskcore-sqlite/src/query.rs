//! SQL for listings: a [`TaskQuery`]'s filters, order and keyset cursor as one `SELECT` over the
//! room's tasks, and the `COUNT` of matches when the maintained counters cannot answer it.
//!
//! Every statement constrains `room_id`, and every index of `tasks` starts with it, so no
//! listing reads another room's rows. The semantics are those of [`TaskQuery::matches`],
//! [`TaskQuery::compare`] and [`TaskQuery::is_after_cursor`], over the precomputed columns.

use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Row};
use taskcore::store::{NO_DUE_DATE, SortValue, StateCounts, unix_micros};
use taskcore::{Priority, Result, SortDir, SortKey, StatusFilter, TaskQuery};
use time::OffsetDateTime;

use crate::error::{corrupt, db};
use crate::row::{TASK_COLUMNS, unsigned};

/// A value bound to a `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// One statement and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// The SQL text.
    pub(crate) sql: String,
    /// The values of its `?`s.
    pub(crate) params: Vec<Param>,
}

impl Statement {
    /// The parameters as sqlx arguments.
    pub(crate) fn arguments(&self) -> Result<SqliteArguments<'_>> {
        let mut args = SqliteArguments::default();
        for param in &self.params {
            match param {
                Param::Int(value) => args.add(*value),
                Param::Text(value) => args.add(value.as_str()),
            }
            .map_err(|e| taskcore::Error::backend("a query parameter does not encode", e))?;
        }
        Ok(args)
    }
}

/// The column a sort key orders by.
fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Number => "t.number",
        SortKey::Created => "t.created_at",
        SortKey::Due => "t.due",
        SortKey::Priority => "t.priority",
        SortKey::Title => "t.title_key",
    }
}

/// The id of the room whose code is the next parameter: an uncorrelated subquery, evaluated
/// once per statement and usable as an index constraint.
const ROOM: &str = "(SELECT id FROM rooms WHERE code = ?)";

/// The room's counters as a JSON array of `[completed, priority, n]`.
const COUNTERS_JSON: &str = "(SELECT json_group_array(json_array(c.completed, c.priority, c.n)) \
     FROM task_counts AS c WHERE c.room_id = (SELECT id FROM rooms WHERE code = ?))";

/// The `WHERE` clause of the filters, starting with the room. The tag filter is left out when
/// `with_tag` is false (the caller joins `task_tags` instead).
fn filters(code: &str, query: &TaskQuery, now: OffsetDateTime, with_tag: bool) -> (String, Vec<Param>) {
    let mut sql = format!("t.room_id = {ROOM}");
    let mut params = vec![Param::Text(code.to_owned())];
    let mut term = |clause: &str, values: Vec<Param>| {
        sql.push_str(" AND ");
        sql.push_str(clause);
        params.extend(values);
    };
    match query.status {
        StatusFilter::All => {}
        StatusFilter::Pending => term("t.completed = 0", vec![]),
        StatusFilter::Completed => term("t.completed = 1", vec![]),
    }
    if let Some(priority) = query.priority {
        term("t.priority = ?", vec![Param::Int(i64::from(priority.rank()))]);
    }
    if let Some(tag) = query.tag.as_ref().filter(|_| with_tag) {
        term(
            &format!("t.number IN (SELECT g.number FROM task_tags AS g WHERE g.room_id = {ROOM} AND g.tag = ?)"),
            vec![Param::Text(code.to_owned()), Param::Text(tag.as_str().to_owned())],
        );
    }
    if let Some(member) = &query.assignee {
        term("t.assignee_key = ?", vec![Param::Text(member.key())]);
    }
    if let Some(text) = &query.text {
        // instr() matches literally: no LIKE wildcards, and the case folding is the domain's.
        term("instr(t.search, ?) > 0", vec![Param::Text(text.as_str().to_owned())]);
    }
    if let Some(before) = query.due_before {
        // NO_DUE_DATE is never before an instant.
        term("t.due < ?", vec![Param::Int(unix_micros(before))]);
    }
    if let Some(after) = query.due_after {
        term("t.due >= ? AND t.due <> ?", vec![Param::Int(unix_micros(after)), Param::Int(NO_DUE_DATE)]);
    }
    if query.overdue {
        term("t.completed = 0 AND t.due < ?", vec![Param::Int(unix_micros(now))]);
    }
    (sql, params)
}

/// The page query: up to `limit + 1` matching tasks after the cursor, in the query's order. Each
/// row carries, after the task columns, the room's counters (JSON) and the match count (`NULL`
/// when the counters answer it): both are uncorrelated subqueries, computed once, so a page is
/// one statement. A page without rows says nothing about the room; see [`matched`] and
/// [`COUNTERS_SQL`].
pub(crate) fn page(code: &str, query: &TaskQuery, now: OffsetDateTime) -> Statement {
    let mut params = vec![Param::Text(code.to_owned())];
    let matched_sql = if query.filters_only_status_and_priority() {
        "NULL".to_owned()
    } else {
        let count = matched(code, query, now);
        params.extend(count.params);
        format!("({})", count.sql)
    };
    let (mut where_sql, filter_params) = filters(code, query, now, true);
    params.extend(filter_params);
    let column = sort_column(query.sort.key);
    let (cmp, dir) = match query.sort.dir {
        SortDir::Asc => (">", "ASC"),
        SortDir::Desc => ("<", "DESC"),
    };
    if let Some(cursor) = &query.after {
        let number = i64::try_from(cursor.number).unwrap_or(i64::MAX);
        if query.sort.key == SortKey::Number {
            where_sql.push_str(&format!(" AND t.number {cmp} ?"));
        } else {
            where_sql.push_str(&format!(" AND ({column}, t.number) {cmp} (?, ?)"));
            params.push(match &cursor.value {
                SortValue::Int(value) => Param::Int(*value),
                SortValue::Text(value) => Param::Text(value.clone()),
            });
        }
        params.push(Param::Int(number));
    }
    let order = if query.sort.key == SortKey::Number {
        format!("t.number {dir}")
    } else {
        format!("{column} {dir}, t.number {dir}")
    };
    params.push(Param::Int(i64::from(query.limit) + 1));
    Statement {
        sql: format!(
            "SELECT {TASK_COLUMNS}, {COUNTERS_JSON}, {matched_sql} FROM tasks AS t WHERE {where_sql} \
             ORDER BY {order} LIMIT ?"
        ),
        params,
    }
}

/// The count of matching tasks (ignoring cursor and limit). With a tag filter the count walks
/// the tag's index entries instead of the room's tasks, and reads only the index when the tag is
/// the only filter.
pub(crate) fn matched(code: &str, query: &TaskQuery, now: OffsetDateTime) -> Statement {
    let Some(tag) = &query.tag else {
        let (where_sql, params) = filters(code, query, now, true);
        return Statement { sql: format!("SELECT COUNT(*) FROM tasks AS t WHERE {where_sql}"), params };
    };
    let tag_params = vec![Param::Text(code.to_owned()), Param::Text(tag.as_str().to_owned())];
    let only_tag = query.status == StatusFilter::All && query.priority.is_none() && {
        let mut untagged = query.clone();
        untagged.tag = None;
        untagged.filters_only_status_and_priority()
    };
    if only_tag {
        return Statement {
            sql: format!("SELECT COUNT(*) FROM task_tags AS g WHERE g.room_id = {ROOM} AND g.tag = ?"),
            params: tag_params,
        };
    }
    let (where_sql, params) = filters(code, query, now, false);
    Statement {
        sql: format!(
            "SELECT COUNT(*) FROM task_tags AS g JOIN tasks AS t ON t.room_id = g.room_id AND t.number = g.number \
             WHERE g.room_id = {ROOM} AND g.tag = ? AND {where_sql}"
        ),
        params: tag_params.into_iter().chain(params).collect(),
    }
}

/// The room's counters: one row `(room id, completed, priority, n)` per completion state and
/// priority; no rows when the room does not exist.
pub(crate) const COUNTERS_SQL: &str = "SELECT c.room_id, c.completed, c.priority, c.n FROM task_counts AS c \
     WHERE c.room_id = (SELECT id FROM rooms WHERE code = ?)";

/// [`COUNTERS_SQL`] with, in a fifth column, the room's pending tasks due before now: the
/// maintained per-day counts of the days before today's, plus today's tasks due before now
/// through an index range on `tasks_by_status_due`. Parameters: room code, now, today's day
/// number, the first instant of today (see [`overdue_params`]).
pub(crate) const COUNTS_SQL: &str = "SELECT c.room_id, c.completed, c.priority, c.n, \
     (SELECT COALESCE(SUM(d.n), 0) FROM pending_due_days AS d \
      WHERE d.room_id = (SELECT id FROM rooms WHERE code = ?1) AND d.day < ?3) \
     + (SELECT COUNT(*) FROM tasks AS t WHERE t.room_id = (SELECT id FROM rooms WHERE code = ?1) \
      AND t.completed = 0 AND t.due >= ?4 AND t.due < ?2) \
     FROM task_counts AS c WHERE c.room_id = (SELECT id FROM rooms WHERE code = ?1)";

/// Microseconds per day bucket of `pending_due_days`.
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `?2`, `?3`, `?4` of [`COUNTS_SQL`] for `now`: now, its day (integer division truncating
/// toward zero, as SQLite's), and the first instant of that day.
pub(crate) fn overdue_params(now: OffsetDateTime) -> [i64; 3] {
    let now = unix_micros(now);
    let day = now / MICROS_PER_DAY;
    let first = match day {
        1.. => day * MICROS_PER_DAY,
        0 => -(MICROS_PER_DAY - 1),
        _ => day * MICROS_PER_DAY - (MICROS_PER_DAY - 1),
    };
    [now, day, first]
}

/// Decodes the rows of [`COUNTERS_SQL`] (`room id, completed, priority rank, tasks`): the room
/// id (`None` when there are no rows, i.e. no such room) and its [`StateCounts`].
pub(crate) fn counters_from_rows(rows: &[SqliteRow]) -> Result<(Option<i64>, StateCounts)> {
    let mut room = None;
    let mut counts = StateCounts::default();
    for row in rows {
        room = Some(row.try_get::<i64, _>(0).map_err(db)?);
        add_cell(&mut counts, row.try_get(1).map_err(db)?, row.try_get(2).map_err(db)?, row.try_get(3).map_err(db)?)?;
    }
    Ok((room, counts))
}

/// Decodes the [`COUNTERS_JSON`] column of a page (`[[completed, rank, tasks], …]`).
pub(crate) fn counters_from_json(json: &str) -> Result<StateCounts> {
    let cells: Vec<(i64, i64, i64)> = serde_json::from_str(json).map_err(|e| corrupt("counters", e))?;
    let mut counts = StateCounts::default();
    for (completed, rank, n) in cells {
        add_cell(&mut counts, completed != 0, rank, n)?;
    }
    Ok(counts)
}

/// Adds one stored counter row to `counts`.
fn add_cell(counts: &mut StateCounts, completed: bool, rank: i64, n: i64) -> Result<()> {
    let priority = u8::try_from(rank)
        .ok()
        .and_then(Priority::from_rank)
        .ok_or_else(|| corrupt("counter", format!("priority rank {rank}")))?;
    counts.add(completed, priority, unsigned(n)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_instant_of_a_day_is_in_that_day_and_its_predecessor_is_not() {
        for micros in
            [0, 1, MICROS_PER_DAY - 1, MICROS_PER_DAY, 1_780_315_200_000_000, -1, -MICROS_PER_DAY, -MICROS_PER_DAY - 5]
        {
            let now = taskcore::store::from_unix_micros(micros).unwrap();
            let [at, day, first] = overdue_params(now);
            assert_eq!(at, micros);
            assert_eq!(first / MICROS_PER_DAY, day, "{micros}");
            assert!(first <= micros, "{micros}");
            assert_ne!((first - 1) / MICROS_PER_DAY, day, "{micros}");
        }
    }
}
