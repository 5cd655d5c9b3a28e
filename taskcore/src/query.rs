//! Listing tasks: the validated [`TaskQuery`] (filters, [`Sort`], keyset [`Cursor`], limit), the
//! reference semantics every backend must reproduce ([`TaskQuery::matches`],
//! [`TaskQuery::compare`], [`TaskQuery::is_after_cursor`]), and the [`TaskPage`] a listing returns.

use std::cmp::Ordering;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::priority::Priority;
use crate::room::MemberName;
use crate::tag::Tag;
use crate::task::Task;

/// The page size when none is asked for.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;

/// The largest page size accepted.
pub const MAX_PAGE_LIMIT: u32 = 500;

/// The longest search text accepted, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Which tasks by completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Every task.
    #[default]
    All,
    /// Tasks not completed.
    Pending,
    /// Completed tasks.
    Completed,
}

impl StatusFilter {
    /// Parses `all`, `pending` or `completed`, any case.
    pub fn parse(input: &str) -> Result<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "all" | "" => Ok(Self::All),
            "pending" => Ok(Self::Pending),
            "completed" => Ok(Self::Completed),
            _ => Err(Error::invalid("status", "must be one of: all, pending, completed")),
        }
    }

    /// Whether a task of this completion state passes the filter.
    pub fn admits(self, completed: bool) -> bool {
        match self {
            Self::All => true,
            Self::Pending => !completed,
            Self::Completed => completed,
        }
    }
}

/// A case-folded, trimmed piece of text to find in tasks' titles and descriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SearchText(String);

impl SearchText {
    /// Validates and case-folds search text: 1 to [`MAX_SEARCH_CHARS`] characters after trimming.
    pub fn parse(input: &str) -> Result<Self> {
        let text = input.trim().to_lowercase();
        let len = text.chars().count();
        if len == 0 || len > MAX_SEARCH_CHARS {
            return Err(Error::invalid("q", format!("search text must be 1 to {MAX_SEARCH_CHARS} characters")));
        }
        Ok(Self(text))
    }

    /// The case-folded text; match it as a substring of [`Task::search_text`].
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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

/// Microseconds since the Unix epoch: how backends store instants in sortable integer columns.
pub fn unix_micros(instant: OffsetDateTime) -> i64 {
    i64::try_from(instant.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// The instant of [`unix_micros`], back.
pub fn from_unix_micros(micros: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|e| Error::backend("stored timestamp out of range", e))
}

impl Task {
    /// The value this task sorts by under `key`.
    pub fn sort_value(&self, key: SortKey) -> SortValue {
        match key {
            SortKey::Number => SortValue::Int(i64::try_from(self.number).unwrap_or(i64::MAX)),
            SortKey::Created => SortValue::Int(unix_micros(self.created_at)),
            SortKey::Due => SortValue::Int(self.due_date.map_or(NO_DUE_DATE, unix_micros)),
            SortKey::Priority => SortValue::Int(i64::from(self.priority.rank())),
            SortKey::Title => SortValue::Text(self.title.to_lowercase()),
        }
    }
}

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
    /// [`Error::Invalid`] on field `cursor`.
    pub fn decode(text: &str) -> Result<Self> {
        let invalid = || Error::invalid("cursor", "is not a cursor returned by a previous page");
        if text.len() > 2048 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let kind_fits = matches!(
            (cursor.sort.key, &cursor.value),
            (SortKey::Title, SortValue::Text(_))
                | (SortKey::Number | SortKey::Created | SortKey::Due | SortKey::Priority, SortValue::Int(_))
        );
        if kind_fits { Ok(cursor) } else { Err(invalid()) }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// A validated listing request. Build one with [`TaskQuery::default`] and the builder methods,
/// or parse one from URL query parameters with [`TaskQuery::from_params`].
///
/// Filters combine with AND. Backends must answer it with the semantics of
/// [`matches`](Self::matches), [`compare`](Self::compare) and
/// [`is_after_cursor`](Self::is_after_cursor); the conformance suite checks that they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    /// By completion.
    pub status: StatusFilter,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only tasks carrying this tag.
    pub tag: Option<Tag>,
    /// Only tasks assigned to this member (compared case-insensitively).
    pub assignee: Option<MemberName>,
    /// Only tasks whose [`Task::search_text`] contains this.
    pub text: Option<SearchText>,
    /// Only tasks due strictly before this instant.
    pub due_before: Option<OffsetDateTime>,
    /// Only tasks due at or after this instant.
    pub due_after: Option<OffsetDateTime>,
    /// Only pending tasks whose due date has passed.
    pub overdue: bool,
    /// The order.
    pub sort: Sort,
    /// Continue after this cursor (its sort must equal `sort`).
    pub after: Option<Cursor>,
    /// At most this many items, 1 to [`MAX_PAGE_LIMIT`].
    pub limit: u32,
}

impl Default for TaskQuery {
    fn default() -> Self {
        Self {
            status: StatusFilter::All,
            priority: None,
            tag: None,
            assignee: None,
            text: None,
            due_before: None,
            due_after: None,
            overdue: false,
            sort: Sort::default(),
            after: None,
            limit: DEFAULT_PAGE_LIMIT,
        }
    }
}

impl TaskQuery {
    /// With a completion filter.
    pub fn status(mut self, status: StatusFilter) -> Self {
        self.status = status;
        self
    }

    /// With a priority filter.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// With a tag filter.
    pub fn tag(mut self, tag: Tag) -> Self {
        self.tag = Some(tag);
        self
    }

    /// With an assignee filter.
    pub fn assignee(mut self, member: MemberName) -> Self {
        self.assignee = Some(member);
        self
    }

    /// With a text search.
    pub fn text(mut self, text: SearchText) -> Self {
        self.text = Some(text);
        self
    }

    /// Only tasks due before `instant`.
    pub fn due_before(mut self, instant: OffsetDateTime) -> Self {
        self.due_before = Some(instant);
        self
    }

    /// Only tasks due at or after `instant`.
    pub fn due_after(mut self, instant: OffsetDateTime) -> Self {
        self.due_after = Some(instant);
        self
    }

    /// Only overdue tasks.
    pub fn overdue_only(mut self) -> Self {
        self.overdue = true;
        self
    }

    /// Ordered by `key` in `dir`.
    pub fn sort(mut self, key: SortKey, dir: SortDir) -> Self {
        self.sort = Sort { key, dir };
        self
    }

    /// Continuing after `cursor`.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// With a page size; validated by [`TaskQuery::check`].
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Checks the parts that builder methods cannot: the limit range and that the cursor belongs
    /// to this order.
    pub fn check(&self) -> Result<()> {
        if !(1..=MAX_PAGE_LIMIT).contains(&self.limit) {
            return Err(Error::invalid("limit", format!("must be between 1 and {MAX_PAGE_LIMIT}")));
        }
        if let Some(cursor) = &self.after
            && cursor.sort != self.sort
        {
            return Err(Error::invalid("cursor", "belongs to a listing with another sort order"));
        }
        Ok(())
    }

    /// Whether the only filters are status and priority: then `matched` follows from per-room
    /// counts by status and priority, which SQL backends maintain, instead of from a scan.
    pub fn filters_only_status_and_priority(&self) -> bool {
        self.tag.is_none()
            && self.assignee.is_none()
            && self.text.is_none()
            && self.due_before.is_none()
            && self.due_after.is_none()
            && !self.overdue
    }

    /// Whether `task` passes every filter at `now`.
    pub fn matches(&self, task: &Task, now: OffsetDateTime) -> bool {
        self.status.admits(task.completed)
            && self.priority.is_none_or(|p| task.priority == p)
            && self.tag.as_ref().is_none_or(|tag| task.tags.contains(tag))
            && self.assignee.as_ref().is_none_or(|who| task.assignee.as_ref() == Some(who))
            && self.text.as_ref().is_none_or(|text| task.search_text().contains(text.as_str()))
            && self.due_before.is_none_or(|t| task.due_date.is_some_and(|due| due < t))
            && self.due_after.is_none_or(|t| task.due_date.is_some_and(|due| due >= t))
            && (!self.overdue || task.is_overdue(now))
    }

    /// The listing order of two tasks: by sort value, then number, reversed for descending.
    pub fn compare(&self, a: &Task, b: &Task) -> Ordering {
        let key = self.sort.key;
        let ascending = (a.sort_value(key), a.number).cmp(&(b.sort_value(key), b.number));
        match self.sort.dir {
            SortDir::Asc => ascending,
            SortDir::Desc => ascending.reverse(),
        }
    }

    /// Whether `task` comes after the query's cursor in its order (always true without one).
    pub fn is_after_cursor(&self, task: &Task) -> bool {
        let Some(cursor) = &self.after else { return true };
        let position = (task.sort_value(self.sort.key), task.number);
        let mark = (cursor.value.clone(), cursor.number);
        match self.sort.dir {
            SortDir::Asc => position > mark,
            SortDir::Desc => position < mark,
        }
    }
}

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
