//! [`RowFilter`]: a query's filters evaluated on the stored fields of a task hash, with the
//! semantics of [`TaskQuery::matches`]: `d` (completed `1`), `p` (priority rank), `due` (encoded
//! instant or empty), `tags` (comma-joined), `a` (assignee key) and `s` (the task's case-folded
//! [`search_text`](taskcore::Task::search_text)). The chunked pass reads only the fields the
//! query's filters need, and not those its candidate source already guarantees ([`Implied`]).

use time::OffsetDateTime;

use taskcore::{MemberName, StatusFilter, TaskQuery};

use crate::row::encode_instant;

/// What every candidate of a source passes already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Implied {
    /// Nothing (the number index: every task).
    Nothing,
    /// The status filter (its status set).
    Status,
    /// The priority filter (its priority set).
    Priority,
    /// The tag filter (its tag set).
    Tag,
    /// The assignee filter (the member's set).
    Assignee,
    /// The due filters and overdue: the due-index range they bound, which holds only pending
    /// tasks for overdue (`pending_only`).
    DueRange {
        /// Whether the range is of the pending-by-due index.
        pending_only: bool,
    },
}

/// The filters of one query at one instant, over stored fields.
#[derive(Debug, Clone)]
pub(crate) struct RowFilter {
    status: StatusFilter,
    priority: Option<String>,
    tag: Option<String>,
    assignee: Option<String>,
    text: Option<String>,
    due_after: Option<String>,
    due_before: Option<String>,
    overdue_at: Option<String>,
    fields: Vec<&'static str>,
}

impl RowFilter {
    pub(crate) fn new(query: &TaskQuery, now: OffsetDateTime) -> Self {
        let mut filter = Self {
            status: query.status,
            priority: query.priority.map(|p| p.rank().to_string()),
            tag: query.tag.as_ref().map(|t| t.as_str().to_owned()),
            assignee: query.assignee.as_ref().map(MemberName::key),
            text: query.text.as_ref().map(|t| t.as_str().to_owned()),
            due_after: query.due_after.map(encode_instant),
            due_before: query.due_before.map(encode_instant),
            overdue_at: query.overdue.then(|| encode_instant(now)),
            fields: Vec::new(),
        };
        filter.list_fields();
        filter
    }

    /// The same filters for candidates read from a source that already guarantees some of them
    /// (a filter set, or the due range of the due filters): those are not checked again, so
    /// their fields are not read.
    pub(crate) fn given(mut self, implied: Implied) -> Self {
        match implied {
            Implied::Nothing => {}
            Implied::Status => self.status = StatusFilter::All,
            Implied::Priority => self.priority = None,
            Implied::Tag => self.tag = None,
            Implied::Assignee => self.assignee = None,
            Implied::DueRange { pending_only } => {
                (self.due_after, self.due_before, self.overdue_at) = (None, None, None);
                if pending_only && self.status == StatusFilter::Pending {
                    self.status = StatusFilter::All;
                }
            }
        }
        self.list_fields();
        self
    }

    fn list_fields(&mut self) {
        let wanted = [
            ("d", self.status != StatusFilter::All || self.overdue_at.is_some()),
            ("p", self.priority.is_some()),
            ("tags", self.tag.is_some()),
            ("a", self.assignee.is_some()),
            ("due", self.due_after.is_some() || self.due_before.is_some() || self.overdue_at.is_some()),
            ("s", self.text.is_some()),
        ];
        self.fields = wanted.into_iter().filter(|(_, needed)| *needed).map(|(field, _)| field).collect();
    }

    /// The hash fields [`admits`](Self::admits) reads, in the order it expects their values.
    pub(crate) fn fields(&self) -> &[&'static str] {
        &self.fields
    }

    /// Whether a task with these values of [`fields`](Self::fields) passes every filter.
    pub(crate) fn admits(&self, values: &[Option<String>]) -> bool {
        let get = |field: &str| {
            self.fields.iter().position(|f| *f == field).and_then(|at| values.get(at)).and_then(Option::as_deref)
        };
        let done = get("d") == Some("1");
        let due = get("due").unwrap_or_default();
        let has_due = !due.is_empty();
        self.status.admits(done)
            && self.priority.as_deref().is_none_or(|rank| get("p") == Some(rank))
            && self.tag.as_deref().is_none_or(|tag| get("tags").unwrap_or_default().split(',').any(|t| t == tag))
            && self.assignee.as_deref().is_none_or(|who| get("a") == Some(who))
            && self.text.as_deref().is_none_or(|text| get("s").unwrap_or_default().contains(text))
            && self.due_after.as_deref().is_none_or(|after| has_due && due >= after)
            && self.due_before.as_deref().is_none_or(|before| has_due && due < before)
            && self.overdue_at.as_deref().is_none_or(|now| !done && has_due && due < now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskcore::{NewTask, Priority, SearchText, Tag, Task, TaskManager};
    use time::macros::datetime;

    use crate::row::indexed_fields;

    /// The stored fields of `task`, as the write scripts store them.
    fn stored(task: &Task, fields: &[&str]) -> Vec<Option<String>> {
        let indexed = indexed_fields(task, true);
        fields
            .iter()
            .map(|field| match *field {
                "d" => Some(indexed[0].clone()),
                "p" => Some(indexed[1].clone()),
                "due" => Some(indexed[2].clone()),
                "tags" => Some(indexed[3].clone()),
                "a" => Some(indexed[4].clone()),
                "s" => Some(task.search_text()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn what_a_source_guarantees_is_not_read() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let query = TaskQuery::default().due_before(now).status(StatusFilter::Pending).tag(Tag::parse("x").unwrap());
        assert_eq!(RowFilter::new(&query, now).fields(), ["d", "tags", "due"]);
        let in_range = RowFilter::new(&query, now).given(Implied::DueRange { pending_only: false });
        assert_eq!(in_range.fields(), ["d", "tags"]);
        assert_eq!(RowFilter::new(&query, now).given(Implied::Tag).fields(), ["d", "due"]);
        let overdue = TaskQuery::default().overdue_only().status(StatusFilter::Pending);
        assert!(RowFilter::new(&overdue, now).given(Implied::DueRange { pending_only: true }).fields().is_empty());
        let done_and_overdue = TaskQuery::default().overdue_only().status(StatusFilter::Completed);
        let filter = RowFilter::new(&done_and_overdue, now).given(Implied::DueRange { pending_only: true });
        assert!(!filter.admits(&[Some("0".into())]), "the range holds pending tasks only, none completed");
    }

    #[tokio::test]
    async fn stored_fields_give_the_answers_of_matches() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let tasks = TaskManager::new(std::sync::Arc::new(taskcore::MemoryStore::new()));
        let room = tasks.create_room("alice").await.unwrap();
        tasks.join_room(&room.code, "Bob").await.unwrap();
        let inputs = [
            NewTask::titled("Write the REPORT").due_date("2026-03-01").tags(vec!["work", "urgent"]).assignee("bob"),
            NewTask::titled("Éclair").description("crème").priority("high").due_date("2026-03-20"),
            NewTask::titled("plain"),
        ];
        let mut all = Vec::new();
        for input in inputs {
            all.push(tasks.create_task(&room.code, &input, None).await.unwrap().into_task());
        }
        let done = tasks.complete_task(&room.code, all[0].number, None).await.unwrap();
        all.push(done);
        let queries = [
            TaskQuery::default(),
            TaskQuery::default().status(StatusFilter::Pending),
            TaskQuery::default().status(StatusFilter::Completed),
            TaskQuery::default().priority(Priority::High),
            TaskQuery::default().tag(Tag::parse("urgent").unwrap()),
            TaskQuery::default().tag(Tag::parse("urg").unwrap()),
            TaskQuery::default().assignee(MemberName::parse("BOB").unwrap()),
            TaskQuery::default().text(SearchText::parse("report").unwrap()),
            TaskQuery::default().text(SearchText::parse("CRÈME").unwrap()),
            TaskQuery::default().due_before(datetime!(2026-03-20 00:00 UTC)),
            TaskQuery::default().due_after(datetime!(2026-03-20 00:00 UTC)),
            TaskQuery::default().overdue_only(),
            TaskQuery::default().overdue_only().status(StatusFilter::Pending).text(SearchText::parse("w").unwrap()),
        ];
        for query in queries {
            let filter = RowFilter::new(&query, now);
            for task in &all {
                let values = stored(task, filter.fields());
                assert_eq!(filter.admits(&values), query.matches(task, now), "{query:?} on {task:?}");
            }
        }
    }
}
