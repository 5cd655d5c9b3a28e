//! SQL for listings and statistics. A listing is one statement (one round trip, one snapshot):
//! the room's row with its counters, a `LATERAL` page of its tasks under the [`TaskQuery`]'s
//! filters, order and keyset cursor, and a `count(*)` of matches when the counters cannot answer
//! it. Statistics are one statement too: the counters and an index range count of overdue tasks.
//!
//! Every task scan constrains `room_id`, and every B-tree index of `tasks` starts with it, so no
//! listing reads another room's rows. The semantics are those of [`TaskQuery::matches`],
//! [`TaskQuery::compare`] and [`TaskQuery::is_after_cursor`], over the precomputed columns:
//! cursors are row-value comparisons `(sort column, number) > ($n, $m)`, which PostgreSQL
//! answers as one index range.

use sqlx::Arguments;
use sqlx::postgres::PgArguments;
use taskcore::store::{NO_DUE_DATE, SortValue, unix_micros};
use taskcore::{Result, SortDir, SortKey, StatusFilter, TaskQuery};
use time::OffsetDateTime;

use crate::row::{TASK_COLUMNS, signed};

/// A value bound to a `$n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    /// A `bigint`.
    Int(i64),
    /// A `text`.
    Text(String),
}

/// One statement and its parameters, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Statement {
    /// The SQL text.
    pub(crate) sql: String,
    /// The values of its `$1`, `$2`…
    pub(crate) params: Vec<Param>,
}

impl Statement {
    /// Adds a parameter and returns its placeholder.
    fn bind(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }

    /// The parameters as sqlx arguments.
    pub(crate) fn arguments(&self) -> Result<PgArguments> {
        let mut args = PgArguments::default();
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

/// The `WHERE` clause of the filters over `tasks AS t` in the room `rooms AS r`, binding their
/// values to `statement`.
fn filters(statement: &mut Statement, query: &TaskQuery, now: OffsetDateTime) -> String {
    let mut terms = vec!["t.room_id = r.id".to_owned()];
    match query.status {
        StatusFilter::All => {}
        StatusFilter::Pending => terms.push("NOT t.completed".to_owned()),
        StatusFilter::Completed => terms.push("t.completed".to_owned()),
    }
    if let Some(priority) = query.priority {
        terms.push(format!("t.priority = {}", statement.bind(Param::Int(i64::from(priority.rank())))));
    }
    if let Some(tag) = &query.tag {
        terms.push(format!("t.tags @> ARRAY[{}::text]", statement.bind(Param::Text(tag.as_str().to_owned()))));
    }
    if let Some(member) = &query.assignee {
        terms.push(format!("t.assignee_key = {}", statement.bind(Param::Text(member.key()))));
    }
    if let Some(text) = &query.text {
        // strpos() matches literally (no LIKE wildcards); the case folding is the domain's.
        terms.push(format!("strpos(t.search, {}) > 0", statement.bind(Param::Text(text.as_str().to_owned()))));
    }
    if let Some(before) = query.due_before {
        // NO_DUE_DATE is never before an instant.
        terms.push(format!("t.due < {}", statement.bind(Param::Int(unix_micros(before)))));
    }
    if let Some(after) = query.due_after {
        let from = statement.bind(Param::Int(unix_micros(after)));
        terms.push(format!("t.due >= {from} AND t.due < {}", statement.bind(Param::Int(NO_DUE_DATE))));
    }
    if query.overdue {
        terms.push(format!("NOT t.completed AND t.due < {}", statement.bind(Param::Int(unix_micros(now)))));
    }
    terms.join(" AND ")
}

/// The columns before the page's [`TASK_COLUMNS`] in a [`listing`] row: room id, the six
/// counters, and the match count (`NULL` when the counters answer it).
pub(crate) const LISTING_TASK_AT: usize = 8;

/// The listing of `query` in the room `code`: one row per task of the page (up to `limit + 1`,
/// in the query's order), or one row with `NULL` task columns when the page is empty; no row when
/// there is no such room. Columns as [`LISTING_TASK_AT`] says.
pub(crate) fn listing(code: &str, query: &TaskQuery, now: OffsetDateTime) -> Statement {
    let mut statement = Statement::default();
    let room = statement.bind(Param::Text(code.to_owned()));
    let mut where_sql = filters(&mut statement, query, now);
    // A LATERAL join over the one room row runs the count once (a scalar subquery in the select
    // list would run once per task row).
    let matched = if query.filters_only_status_and_priority() {
        "(SELECT NULL::bigint AS n)".to_owned()
    } else {
        format!("LATERAL (SELECT count(*) AS n FROM tasks AS t WHERE {where_sql})")
    };
    let column = sort_column(query.sort.key);
    let (cmp, dir) = match query.sort.dir {
        SortDir::Asc => (">", "ASC"),
        SortDir::Desc => ("<", "DESC"),
    };
    if let Some(cursor) = &query.after {
        let value = match (&cursor.value, query.sort.key) {
            (_, SortKey::Number) => None,
            (SortValue::Int(value), _) => Some(Param::Int(*value)),
            (SortValue::Text(value), _) => Some(Param::Text(value.clone())),
        };
        match value {
            Some(value) => {
                let value = statement.bind(value);
                let number = statement.bind(Param::Int(signed(cursor.number)));
                where_sql.push_str(&format!(" AND ({column}, t.number) {cmp} ({value}, {number})"));
            }
            None => {
                let number = statement.bind(Param::Int(signed(cursor.number)));
                where_sql.push_str(&format!(" AND t.number {cmp} {number}"));
            }
        }
    }
    let order = if query.sort.key == SortKey::Number {
        format!("t.number {dir}")
    } else {
        format!("{column} {dir}, t.number {dir}")
    };
    let limit = statement.bind(Param::Int(i64::from(query.limit) + 1));
    statement.sql = format!(
        "SELECT {COUNTERS}, matched.n, page.* FROM rooms AS r CROSS JOIN {matched} AS matched \
         LEFT JOIN LATERAL (SELECT {TASK_COLUMNS} FROM tasks AS t WHERE {where_sql} ORDER BY {order} LIMIT {limit}) \
         AS page ON true WHERE r.code = {room}"
    );
    statement
}

/// The room id and the six counter columns of `rooms AS r`.
const COUNTERS: &str = "r.id, r.pending_low, r.pending_medium, r.pending_high, r.done_low, r.done_medium, r.done_high";

/// Statistics of the room `$1` at the instant `$2`: room id, the six counters, and the pending
/// tasks due before the instant (a range of `tasks_pending_by_due`); no row when there is no
/// such room.
pub(crate) const COUNTS_SQL: &str = "SELECT r.id, r.pending_low, r.pending_medium, r.pending_high, r.done_low, \
     r.done_medium, r.done_high, \
     (SELECT count(*) FROM tasks AS t WHERE t.room_id = r.id AND NOT t.completed AND t.due < $2) \
     FROM rooms AS r WHERE r.code = $1";

#[cfg(test)]
mod tests {
    use taskcore::{Cursor, Sort};

    use super::*;

    #[test]
    fn cursors_are_row_value_comparisons() {
        let sort = Sort { key: SortKey::Title, dir: SortDir::Desc };
        let query = TaskQuery::default().sort(SortKey::Title, SortDir::Desc).after(Cursor {
            sort,
            value: SortValue::Text("b".into()),
            number: 7,
        });
        let statement = listing("ABCD", &query, OffsetDateTime::UNIX_EPOCH);
        assert!(statement.sql.contains("(t.title_key, t.number) < ($2, $3)"), "{}", statement.sql);
        assert!(statement.sql.contains("ORDER BY t.title_key DESC, t.number DESC LIMIT $4"), "{}", statement.sql);
        assert!(statement.sql.contains("SELECT NULL::bigint"), "the counters answer: {}", statement.sql);
        assert_eq!(
            statement.params,
            vec![Param::Text("ABCD".into()), Param::Text("b".into()), Param::Int(7), Param::Int(51)]
        );
    }

    #[test]
    fn only_status_and_priority_use_the_counters() {
        assert!(TaskQuery::default().status(StatusFilter::Pending).filters_only_status_and_priority());
        assert!(!TaskQuery::default().overdue_only().filters_only_status_and_priority());
    }
}
