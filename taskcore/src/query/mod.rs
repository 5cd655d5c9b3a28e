//! Listing tasks: the validated [`TaskQuery`] (filters, [`Sort`], keyset [`Cursor`], limit) and
//! the reference semantics every backend must reproduce ([`TaskQuery::matches`],
//! [`TaskQuery::compare`], [`TaskQuery::is_after_cursor`]). The parts live in their own files:
//! filters, sort orders, cursors, pages, and parsing from URL parameters.

use std::cmp::Ordering;

use time::OffsetDateTime;

use crate::due_date::check_due_instant;
use crate::error::{Error, Result};
use crate::priority::Priority;
use crate::room::MemberName;
use crate::tag::Tag;
use crate::task::Task;

mod cursor;
mod filters;
mod page;
mod params;
mod sort;

pub use cursor::Cursor;
pub use filters::{MAX_SEARCH_CHARS, SearchText, StatusFilter};
pub use page::TaskPage;
pub use params::QUERY_PARAMS;
pub use sort::{NO_DUE_DATE, Sort, SortDir, SortKey, SortValue};

/// The page size when none is asked for.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;

/// The largest page size accepted.
pub const MAX_PAGE_LIMIT: u32 = 500;

/// A validated listing request. Build one with [`TaskQuery::default`] and the builder methods,
/// or parse one from URL query parameters with [`TaskQuery::from_params`].
///
/// Filters combine with AND. Backends must answer it with the semantics of
/// [`matches`](Self::matches), [`compare`](Self::compare) and
/// [`is_after_cursor`](Self::is_after_cursor); the conformance suite checks that they do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

    /// Checks the parts that builder methods cannot: the limit range, that the cursor is well
    /// formed ([`Cursor::check`]) and belongs to this order, and that the due bounds fall in the
    /// years [`MIN_DUE_YEAR`](crate::MIN_DUE_YEAR) to [`MAX_DUE_YEAR`](crate::MAX_DUE_YEAR) in UTC.
    pub fn check(&self) -> Result<()> {
        if !(1..=MAX_PAGE_LIMIT).contains(&self.limit) {
            return Err(Error::invalid("limit", format!("must be between 1 and {MAX_PAGE_LIMIT}")));
        }
        if let Some(cursor) = &self.after {
            cursor.check()?;
            if cursor.sort != self.sort {
                return Err(Error::invalid("cursor", "belongs to a listing with another sort order"));
            }
        }
        for (bound, field) in [(self.due_before, "due_before"), (self.due_after, "due_after")] {
            if let Some(instant) = bound {
                check_due_instant(instant, field)?;
            }
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
            && self.text.as_ref().is_none_or(|text| text.found_in(task))
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
