//! Behaviours of single tasks: creation rules, numbering, reads, updates, completion,
//! conditional writes, deletes and idempotent creates.

use time::Duration;
use time::macros::datetime;

use super::StoreFactory;
use super::support::{Ctx, START, assert_conflict, assert_invalid, assert_not_found};
use crate::changes::TaskWrite;
use crate::input::{IdempotencyKey, NewTask, TaskPatch};
use crate::patch::Patch;
use crate::priority::Priority;
use crate::query::{SortDir, SortKey, TaskQuery};
use crate::store::{Inserted, TaskUpdate};

/// A task made from a title alone gets every default.
pub async fn create_applies_defaults(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "Buy milk").await;
    assert_eq!(task.number, 1);
    assert_eq!(task.title, "Buy milk");
    assert_eq!(task.description, "");
    assert_eq!(task.priority, Priority::Medium);
    assert_eq!(task.due_date, None);
    assert!(task.tags.is_empty());
    assert_eq!(task.assignee, None);
    assert!(!task.completed);
    assert_eq!(task.completed_at, None);
    assert_eq!(task.created_at, START);
    assert_eq!(task.updated_at, START);
    assert_eq!(task.version, 1);
    assert_eq!(task.id.get_version_num(), 7, "ids are UUID v7");
}

/// Titles are trimmed; a missing, empty or blank title is Invalid on `title`.
pub async fn titles_are_trimmed_and_required(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    assert_eq!(ctx.create_titled(&room.code, "  Padded \t").await.title, "Padded");
    assert_invalid(ctx.tasks.create_task(&room.code, &NewTask::default(), None).await, "title");
    assert_invalid(ctx.tasks.create_task(&room.code, &NewTask::titled(""), None).await, "title");
    assert_invalid(ctx.tasks.create_task(&room.code, &NewTask::titled(" \n "), None).await, "title");
    let patch = TaskPatch { title: Patch::Clear, ..TaskPatch::default() };
    assert_invalid(ctx.tasks.update_task(&room.code, 1, &patch).await, "title");
    let blank = TaskPatch { title: Patch::Set("  ".into()), ..TaskPatch::default() };
    assert_invalid(ctx.tasks.update_task(&room.code, 1, &blank).await, "title");
    assert_eq!(ctx.tasks.list_tasks(&room.code, &Default::default()).await.unwrap().total, 1);
}

/// Title (200) and description (10,000) limits count characters, not bytes.
pub async fn length_limits_count_characters(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let title = "ж".repeat(200);
    let description = "🦀".repeat(10_000);
    let task = ctx.create(&room.code, NewTask::titled(&title).description(&description)).await;
    assert_eq!(task.title, title);
    assert_eq!(ctx.tasks.task(&room.code, task.number).await.unwrap().description, description);
    let long_title = NewTask::titled("ж".repeat(201));
    assert_invalid(ctx.tasks.create_task(&room.code, &long_title, None).await, "title");
    let long_description = NewTask::titled("ok").description("a".repeat(10_001));
    assert_invalid(ctx.tasks.create_task(&room.code, &long_description, None).await, "description");
}

/// Text in any script, emoji and combining marks is stored and read back byte for byte.
pub async fn unicode_round_trips(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("Zoë 🦀").await;
    ctx.tasks.join_room(&room.code, "山田").await.unwrap();
    let input = NewTask::titled("Überprüfen: 日本語 ✓ مرحبا")
        .description("line one\nline two\twith tab — e\u{301} 👩‍👩‍👧")
        .tags(["été", "日本"])
        .assignee("山田");
    let task = ctx.create(&room.code, input).await;
    let read = ctx.tasks.task(&room.code, task.number).await.unwrap();
    assert_eq!(read, task);
    assert_eq!(read.title, "Überprüfen: 日本語 ✓ مرحبا");
    assert_eq!(read.description, "line one\nline two\twith tab — e\u{301} 👩‍👩‍👧");
    assert_eq!(read.assignee.as_ref().map(|a| a.as_str()), Some("山田"));
    assert_eq!(ctx.tasks.room(&room.code).await.unwrap().owner.as_str(), "Zoë 🦀");
}

/// Priority accepts any case and is stored lowercase; anything else is Invalid on `priority`.
pub async fn priority_is_case_insensitive_and_validated(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    assert_eq!(ctx.create(&room.code, NewTask::titled("a").priority("HIGH")).await.priority, Priority::High);
    assert_eq!(ctx.create(&room.code, NewTask::titled("b").priority(" Low ")).await.priority, Priority::Low);
    assert_invalid(ctx.tasks.create_task(&room.code, &NewTask::titled("c").priority("urgent"), None).await, "priority");
    let patch = TaskPatch { priority: Patch::Set("meh".into()), ..TaskPatch::default() };
    assert_invalid(ctx.tasks.update_task(&room.code, 1, &patch).await, "priority");
    assert_eq!(ctx.tasks.task(&room.code, 1).await.unwrap().priority, Priority::High);
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` and RFC 3339 are accepted and stored in UTC.
pub async fn due_dates_accept_three_forms_as_utc(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let cases = [
        ("2026-12-01", datetime!(2026-12-01 00:00:00 UTC)),
        ("2026-12-01 14:30:00", datetime!(2026-12-01 14:30:00 UTC)),
        ("2026-12-01T14:30", datetime!(2026-12-01 14:30:00 UTC)),
        ("2026-12-01T14:30:00+02:00", datetime!(2026-12-01 12:30:00 UTC)),
        ("2026-12-01T14:30:00.123456Z", datetime!(2026-12-01 14:30:00.123456 UTC)),
    ];
    for (input, expected) in cases {
        let task = ctx.create(&room.code, NewTask::titled(input).due_date(input)).await;
        let read = ctx.tasks.task(&room.code, task.number).await.unwrap();
        assert_eq!(read.due_date, Some(expected), "due date {input}");
        assert_eq!(read.due_date.map(|d| d.offset()), Some(time::UtcOffset::UTC), "stored in UTC");
    }
}

/// A due date in no accepted form is Invalid on `due_date`, and the message names the forms.
pub async fn bad_due_dates_name_the_accepted_forms(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    for bad in ["tomorrow", "2026-13-01", "2026-02-30", "01/12/2026", "", "2026-12-01 25:00:00"] {
        match ctx.tasks.create_task(&room.code, &NewTask::titled("x").due_date(bad), None).await {
            Err(crate::Error::Invalid { field: "due_date", message }) => {
                assert!(message.contains("YYYY-MM-DD"), "message names the forms: {message}");
            }
            other => panic!("due date {bad:?}: expected Invalid, got {other:?}"),
        }
    }
    assert_eq!(ctx.tasks.list_tasks(&room.code, &Default::default()).await.unwrap().total, 0);
}

/// Due dates at both ends of the accepted range (years 1 and 9999 in UTC) are stored, read back,
/// sorted, filtered and recorded in the change feed exactly; one step beyond either end — however
/// it is written — is Invalid on the field it came in, and nothing is written.
pub async fn due_dates_at_the_ends_of_the_range_round_trip(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let first = ctx.create(&room.code, NewTask::titled("first").due_date("0001-01-01T00:30:00+00:30")).await;
    let last = ctx.create(&room.code, NewTask::titled("last").due_date("9999-12-31T23:59:59.999999Z")).await;
    assert_eq!(first.due_date, Some(datetime!(0001-01-01 00:00:00 UTC)));
    assert_eq!(last.due_date, Some(datetime!(9999-12-31 23:59:59.999999 UTC)));
    assert_eq!(ctx.tasks.task(&room.code, first.number).await.unwrap(), first);
    assert_eq!(ctx.tasks.task(&room.code, last.number).await.unwrap(), last);
    let by_due = TaskQuery::default().sort(SortKey::Due, SortDir::Desc);
    assert_eq!(ctx.numbers(&room.code, by_due).await, [last.number, first.number]);
    let before_last = TaskQuery::default().due_before(datetime!(9999-12-31 23:59:59.999999 UTC));
    assert_eq!(ctx.numbers(&room.code, before_last).await, [first.number]);
    let changes = ctx.tasks.changes(&room.code, 0, None).await.unwrap().changes;
    assert_eq!(changes.len(), 2, "both creates are in the feed and decode");
    let moved = datetime!(0001-01-01 00:00:00 +01:00);
    assert_invalid(crate::check_due_instant(moved, "due_after"), "due_after");
    for bad in ["-0001-01-01", "0000-12-31", "0000-01-01T00:00:00+01:00", "0001-01-01T00:00:00+00:01"]
        .into_iter()
        .chain(["9999-12-31T23:59:59-01:00", "9999-12-31T23:30:00-00:31", "10000-01-01"])
    {
        let input = NewTask::titled("x").due_date(bad);
        assert_invalid(ctx.tasks.create_task(&room.code, &input, None).await, "due_date");
        let patch = TaskPatch { due_date: Patch::Set(bad.to_owned()), ..TaskPatch::default() };
        assert_invalid(ctx.tasks.update_task(&room.code, first.number, &patch).await, "due_date");
        for field in ["due_before", "due_after"] {
            assert_invalid(TaskQuery::from_params([(field, bad)], &[]), field);
        }
    }
    assert_invalid(ctx.tasks.list_tasks(&room.code, &TaskQuery::default().due_after(moved)).await, "due_after");
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 2, "nothing else was written");
    assert_eq!(ctx.tasks.task(&room.code, first.number).await.unwrap(), first);
}

/// Tags are trimmed, lowercased, deduplicated and sorted; bad tags are Invalid on `tags`.
pub async fn tags_are_normalised(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create(&room.code, NewTask::titled("t").tags(["Work", " urgent", "work", "ÉTÉ"])).await;
    let tags: Vec<&str> = task.tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(tags, ["urgent", "work", "été"]);
    assert_invalid(ctx.tasks.create_task(&room.code, &NewTask::titled("t").tags(["two words"]), None).await, "tags");
    assert_invalid(ctx.tasks.create_task(&room.code, &NewTask::titled("t").tags([""]), None).await, "tags");
    let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    assert_invalid(ctx.tasks.create_task(&room.code, &NewTask::titled("t").tags(many), None).await, "tags");
}

/// An assignee must be a member; it is stored spelled as in the member list.
pub async fn assignee_must_be_a_member(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    ctx.tasks.join_room(&room.code, "Bob").await.unwrap();
    let task = ctx.create(&room.code, NewTask::titled("t").assignee("BOB")).await;
    assert_eq!(task.assignee.as_ref().map(|a| a.as_str()), Some("Bob"));
    assert_invalid(ctx.tasks.create_task(&room.code, &NewTask::titled("t").assignee("eve"), None).await, "assignee");
    let patch = TaskPatch { assignee: Patch::Set("eve".into()), ..TaskPatch::default() };
    assert_invalid(ctx.tasks.update_task(&room.code, task.number, &patch).await, "assignee");
    let to_alice = TaskPatch { assignee: Patch::Set("alice".into()), ..TaskPatch::default() };
    let updated = ctx.tasks.update_task(&room.code, task.number, &to_alice).await.unwrap();
    assert_eq!(updated.assignee.as_ref().map(|a| a.as_str()), Some("alice"));
}

/// Each room numbers its tasks 1, 2, 3…
pub async fn numbers_count_up_per_room(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let a = ctx.room("alice").await;
    let b = ctx.room("bob").await;
    for expected in 1..=5 {
        assert_eq!(ctx.create_titled(&a.code, "a").await.number, expected);
    }
    assert_eq!(ctx.create_titled(&b.code, "b").await.number, 1, "numbers are per room");
    assert_eq!(ctx.create_titled(&a.code, "a").await.number, 6);
}

/// Deleting tasks, even the newest, never frees their numbers.
pub async fn numbers_are_never_reused_after_delete(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    for _ in 0..3 {
        ctx.create_titled(&room.code, "t").await;
    }
    ctx.tasks.delete_task(&room.code, 3, None).await.unwrap();
    ctx.tasks.delete_task(&room.code, 2, None).await.unwrap();
    assert_eq!(ctx.create_titled(&room.code, "t").await.number, 4);
    ctx.tasks.delete_task(&room.code, 1, None).await.unwrap();
    ctx.tasks.delete_task(&room.code, 4, None).await.unwrap();
    assert_eq!(ctx.create_titled(&room.code, "t").await.number, 5, "an emptied room keeps counting");
    assert_eq!(ctx.numbers(&room.code, Default::default()).await, [5]);
}

/// A read returns every field exactly as the write returned it, timestamps to the microsecond.
pub async fn a_read_returns_exactly_what_was_written(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    ctx.clock.advance(Duration::nanoseconds(123_456_789));
    let input = NewTask::titled("Full")
        .description("d")
        .priority("low")
        .due_date("2027-01-02T03:04:05.678901Z")
        .tags(["x", "y"])
        .assignee("alice");
    let created = ctx.create(&room.code, input).await;
    assert_eq!(created.created_at, START + Duration::microseconds(123_456), "now is truncated to microseconds");
    assert_eq!(ctx.tasks.task(&room.code, created.number).await.unwrap(), created);
    ctx.clock.advance(Duration::seconds(5));
    let completed = ctx.tasks.complete_task(&room.code, created.number, None).await.unwrap();
    assert_eq!(ctx.tasks.task(&room.code, created.number).await.unwrap(), completed);
    let listed = ctx.tasks.list_tasks(&room.code, &Default::default()).await.unwrap();
    assert_eq!(listed.items, vec![completed]);
}

/// Reading, updating, completing or deleting a task that does not exist is NotFound.
pub async fn missing_tasks_are_not_found(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    ctx.create_titled(&room.code, "one").await;
    assert_not_found(ctx.tasks.task(&room.code, 2).await, "task");
    assert_not_found(ctx.tasks.task(&room.code, 0).await, "task");
    let patch = TaskPatch { title: Patch::Set("x".into()), ..TaskPatch::default() };
    assert_not_found(ctx.tasks.update_task(&room.code, 2, &patch).await, "task");
    assert_not_found(ctx.tasks.complete_task(&room.code, 2, None).await, "task");
    assert_not_found(ctx.tasks.delete_task(&room.code, 2, None).await, "task");
    assert_not_found(ctx.tasks.task(&room.code, u64::MAX).await, "task");
}

/// A patch changes the fields it names and leaves the others alone.
pub async fn update_changes_only_given_fields(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let input = NewTask::titled("Old").description("keep me").priority("high").due_date("2026-04-01").tags(["a"]);
    let before = ctx.create(&room.code, input).await;
    let patch: TaskPatch = serde_json::from_str(r#"{"title": "New", "tags": ["b", "c"]}"#).unwrap();
    let after = ctx.tasks.update_task(&room.code, before.number, &patch).await.unwrap();
    assert_eq!(after.title, "New");
    assert_eq!(after.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(after.description, before.description);
    assert_eq!(after.priority, before.priority);
    assert_eq!(after.due_date, before.due_date);
    assert_eq!(after.id, before.id);
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(ctx.tasks.task(&room.code, before.number).await.unwrap(), after);
}

/// `null` clears: description empties, due date, tags and assignee go, priority resets to medium.
pub async fn null_clears_fields(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let input =
        NewTask::titled("t").description("d").priority("high").due_date("2026-04-01").tags(["a"]).assignee("alice");
    let task = ctx.create(&room.code, input).await;
    let patch: TaskPatch = serde_json::from_str(
        r#"{"description": null, "priority": null, "due_date": null, "tags": null, "assignee": null}"#,
    )
    .unwrap();
    let cleared = ctx.tasks.update_task(&room.code, task.number, &patch).await.unwrap();
    assert_eq!(cleared.description, "");
    assert_eq!(cleared.priority, Priority::Medium);
    assert_eq!(cleared.due_date, None);
    assert!(cleared.tags.is_empty());
    assert_eq!(cleared.assignee, None);
    assert_eq!(ctx.tasks.task(&room.code, task.number).await.unwrap(), cleared);
    let no_completed: TaskPatch = serde_json::from_str(r#"{"completed": null}"#).unwrap();
    assert_invalid(ctx.tasks.update_task(&room.code, task.number, &no_completed).await, "completed");
}

/// Every change bumps the version by one and moves `updated_at` to now.
pub async fn update_bumps_version_and_updated_at(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "v1").await;
    for version in 2..=4 {
        ctx.clock.advance(Duration::minutes(1));
        let patch = TaskPatch { title: Patch::Set(format!("v{version}")), ..TaskPatch::default() };
        let updated = ctx.tasks.update_task(&room.code, task.number, &patch).await.unwrap();
        assert_eq!(updated.version, version);
        assert_eq!(updated.updated_at, ctx.tasks.now());
        assert_eq!(updated.created_at, START);
    }
}

/// A patch that sets fields to their current values (or names none) writes nothing.
pub async fn a_patch_that_changes_nothing_writes_nothing(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create(&room.code, NewTask::titled("same").priority("low")).await;
    ctx.clock.advance(Duration::minutes(1));
    let same: TaskPatch = serde_json::from_str(r#"{"title": " same ", "priority": "LOW"}"#).unwrap();
    let after = ctx.tasks.update_task(&room.code, task.number, &same).await.unwrap();
    assert_eq!(after, task, "version and updated_at unchanged");
    let empty = ctx.tasks.update_task(&room.code, task.number, &TaskPatch::default()).await.unwrap();
    assert_eq!(empty, task);
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 1, "only the create was recorded");
}

/// The store's read-and-write update reports what it recorded: the kind of write of a change,
/// no write for a patch that changes nothing, and the same refusals as a conditional update.
pub async fn an_update_reports_the_write_it_recorded(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "t").await;
    let patch = |json: &str| serde_json::from_str::<TaskPatch>(json).unwrap().validate().unwrap();
    let done = TaskUpdate::new(patch(r#"{"completed": true}"#), Some(1), ctx.tasks.now());
    let updated = ctx.store.update_task_with(&room.code, task.number, &done).await.unwrap();
    assert_eq!(updated.write, Some(TaskWrite::Completed));
    assert_eq!((updated.task.version, updated.task.completed), (2, true));
    assert_eq!(ctx.tasks.task(&room.code, task.number).await.unwrap(), updated.task, "stored as returned");
    let again = TaskUpdate::new(patch(r#"{"completed": true}"#), None, ctx.tasks.now());
    let unchanged = ctx.store.update_task_with(&room.code, task.number, &again).await.unwrap();
    assert_eq!((unchanged.write, unchanged.task.version), (None, 2), "nothing to change, nothing written");
    assert_eq!(
        ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest,
        2,
        "one change for the create, one for the completion"
    );
    let retitle = TaskUpdate::new(patch(r#"{"title": "u"}"#), None, ctx.tasks.now());
    assert_eq!(
        ctx.store.update_task_with(&room.code, task.number, &retitle).await.unwrap().write,
        Some(TaskWrite::Updated)
    );
    assert_conflict(ctx.store.update_task_with(&room.code, task.number, &done).await.map(|u| u.task), 1, 3);
    assert_not_found(ctx.store.update_task_with(&room.code, 99, &retitle).await.map(|u| u.task), "task");
}

/// Completing sets `completed_at` to now (once); reopening clears it.
pub async fn complete_and_reopen_track_completed_at(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "t").await;
    ctx.clock.advance(Duration::hours(1));
    let done = ctx.tasks.complete_task(&room.code, task.number, None).await.unwrap();
    assert!(done.completed);
    assert_eq!(done.completed_at, Some(START + Duration::hours(1)));
    assert_eq!(done.version, 2);
    ctx.clock.advance(Duration::hours(1));
    let again = ctx.tasks.complete_task(&room.code, task.number, None).await.unwrap();
    assert_eq!(again, done, "completing a completed task changes nothing");
    let reopened = ctx.tasks.reopen_task(&room.code, task.number, None).await.unwrap();
    assert!(!reopened.completed);
    assert_eq!(reopened.completed_at, None);
    assert_eq!(reopened.version, 3);
    assert_eq!(ctx.tasks.task(&room.code, task.number).await.unwrap(), reopened);
}

/// An update conditional on a stale version is Conflict with the current version, and writes
/// nothing; on the current version it applies.
pub async fn stale_conditional_update_conflicts(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "t").await;
    ctx.tasks.complete_task(&room.code, task.number, Some(1)).await.unwrap();
    let stale = TaskPatch { title: Patch::Set("lost".into()), expected_version: Some(1), ..TaskPatch::default() };
    assert_conflict(ctx.tasks.update_task(&room.code, task.number, &stale).await, 1, 2);
    let ahead = TaskPatch { expected_version: Some(9), ..stale.clone() };
    assert_conflict(ctx.tasks.update_task(&room.code, task.number, &ahead).await, 9, 2);
    assert_eq!(ctx.tasks.task(&room.code, task.number).await.unwrap().title, "t");
    let fresh = TaskPatch { expected_version: Some(2), ..stale };
    assert_eq!(ctx.tasks.update_task(&room.code, task.number, &fresh).await.unwrap().version, 3);
}

/// A delete conditional on a stale version is Conflict and deletes nothing.
pub async fn stale_conditional_delete_conflicts(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "t").await;
    ctx.tasks.complete_task(&room.code, task.number, None).await.unwrap();
    assert_conflict(ctx.tasks.delete_task(&room.code, task.number, Some(1)).await, 1, 2);
    assert!(ctx.tasks.task(&room.code, task.number).await.is_ok());
    assert_eq!(ctx.tasks.delete_task(&room.code, task.number, Some(2)).await.unwrap().version, 2);
}

/// A delete returns the task as it was; afterwards it is gone from reads, lists and stats.
pub async fn delete_returns_the_task_and_removes_it(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let keep = ctx.create_titled(&room.code, "keep").await;
    let gone = ctx.create(&room.code, NewTask::titled("gone").priority("high")).await;
    let deleted = ctx.tasks.delete_task(&room.code, gone.number, None).await.unwrap();
    assert_eq!(deleted, gone);
    assert_not_found(ctx.tasks.task(&room.code, gone.number).await, "task");
    assert_not_found(ctx.tasks.delete_task(&room.code, gone.number, None).await, "task");
    let page = ctx.tasks.list_tasks(&room.code, &Default::default()).await.unwrap();
    assert_eq!(page.items, vec![keep]);
    assert_eq!(page.total, 1);
}

/// Tasks of one room are invisible to and unaffected by another.
pub async fn rooms_do_not_share_tasks(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let a = ctx.room("alice").await;
    let b = ctx.room("bob").await;
    let in_a = ctx.create_titled(&a.code, "in a").await;
    let in_b = ctx.create_titled(&b.code, "in b").await;
    ctx.tasks.complete_task(&a.code, 1, None).await.unwrap();
    ctx.tasks.delete_task(&a.code, 1, None).await.unwrap();
    assert_eq!(ctx.tasks.task(&b.code, 1).await.unwrap(), in_b);
    assert_ne!(in_a.id, in_b.id);
    assert_eq!(ctx.tasks.list_tasks(&a.code, &Default::default()).await.unwrap().total, 0);
    assert_eq!(ctx.tasks.list_tasks(&b.code, &Default::default()).await.unwrap().total, 1);
    assert_eq!(ctx.tasks.stats(&b.code).await.unwrap().completed, 0);
}

/// A create repeated with the same idempotency key returns the first task and makes no other.
pub async fn idempotent_create_returns_the_original(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let key = IdempotencyKey::parse("retry-7f3a").unwrap();
    let first = ctx.tasks.create_task(&room.code, &NewTask::titled("once"), Some(&key)).await.unwrap();
    let Inserted::Created(task) = first else { panic!("first use creates: {first:?}") };
    ctx.clock.advance(Duration::seconds(3));
    let second = ctx.tasks.create_task(&room.code, &NewTask::titled("once"), Some(&key)).await.unwrap();
    assert_eq!(second, Inserted::Replayed(task.clone()));
    let other = IdempotencyKey::parse("retry-other").unwrap();
    let third = ctx.tasks.create_task(&room.code, &NewTask::titled("once"), Some(&other)).await.unwrap();
    assert_eq!(third.task().number, 2, "another key makes another task");
    assert_eq!(ctx.tasks.list_tasks(&room.code, &Default::default()).await.unwrap().total, 2);
    ctx.tasks.delete_task(&room.code, task.number, None).await.unwrap();
    match ctx.tasks.create_task(&room.code, &NewTask::titled("once"), Some(&key)).await {
        Err(crate::Error::IdempotentTaskDeleted { key: used, number }) => {
            assert_eq!((used.as_str(), number), ("retry-7f3a", task.number));
        }
        other => panic!("the key of a deleted task: expected IdempotentTaskDeleted, got {other:?}"),
    }
    assert_eq!(ctx.tasks.list_tasks(&room.code, &Default::default()).await.unwrap().total, 1, "not made again");
}

/// A key names one request: the same request, however it is spelled, replays; a different one
/// is IdempotencyKeyReused and writes nothing — also after the key's task was deleted, when the
/// same request is IdempotentTaskDeleted.
pub async fn idempotency_key_with_another_request_is_reused(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    ctx.tasks.join_room(&room.code, "Bob").await.unwrap();
    let key = IdempotencyKey::parse("create-42").unwrap();
    let request = NewTask::titled("Ship it").priority("high").due_date("2026-12-01").tags(["b", "a"]).assignee("bob");
    let created = ctx.tasks.create_task(&room.code, &request, Some(&key)).await.unwrap();
    let respelled = NewTask::titled(" Ship it ")
        .priority("HIGH")
        .due_date("2026-12-01T02:00:00+02:00")
        .tags(["A", "b"])
        .assignee("BOB");
    ctx.clock.advance(Duration::minutes(5));
    let replayed = ctx.tasks.create_task(&room.code, &respelled, Some(&key)).await.unwrap();
    assert_eq!(replayed, Inserted::Replayed(created.task().clone()), "the same request, spelled differently");
    let latest = ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest;
    let others = [
        NewTask::titled("Ship it!").priority("high").due_date("2026-12-01").tags(["a", "b"]).assignee("bob"),
        NewTask::titled("Ship it").priority("low").due_date("2026-12-01").tags(["a", "b"]).assignee("bob"),
        NewTask::titled("Ship it").priority("high").tags(["a", "b"]).assignee("bob"),
        NewTask::titled("Ship it").priority("high").due_date("2026-12-01").tags(["a"]).assignee("bob"),
        NewTask::titled("Ship it").priority("high").due_date("2026-12-01").tags(["a", "b"]),
        NewTask::titled("Ship it")
            .priority("high")
            .due_date("2026-12-01")
            .tags(["a", "b"])
            .assignee("bob")
            .description("x"),
    ];
    for other in &others {
        match ctx.tasks.create_task(&room.code, other, Some(&key)).await {
            Err(crate::Error::IdempotencyKeyReused { key: used }) => assert_eq!(used, "create-42"),
            outcome => panic!("{other:?} with a used key: expected IdempotencyKeyReused, got {outcome:?}"),
        }
    }
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, latest, "nothing written");
    ctx.tasks.delete_task(&room.code, created.task().number, None).await.unwrap();
    assert!(matches!(
        ctx.tasks.create_task(&room.code, &others[0], Some(&key)).await,
        Err(crate::Error::IdempotencyKeyReused { .. })
    ));
    assert!(matches!(
        ctx.tasks.create_task(&room.code, &respelled, Some(&key)).await,
        Err(crate::Error::IdempotentTaskDeleted { number: 1, .. })
    ));
    let fresh = IdempotencyKey::parse("create-43").unwrap();
    let again = ctx.tasks.create_task(&room.code, &request, Some(&fresh)).await.unwrap();
    assert!(matches!(again, Inserted::Created(ref task) if task.number == 2), "a new key creates it anew: {again:?}");
}

/// The same idempotency key in two rooms makes a task in each.
pub async fn idempotency_keys_are_scoped_to_a_room(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let a = ctx.room("alice").await;
    let b = ctx.room("bob").await;
    let key = IdempotencyKey::parse("shared-key").unwrap();
    let in_a = ctx.tasks.create_task(&a.code, &NewTask::titled("a"), Some(&key)).await.unwrap();
    let in_b = ctx.tasks.create_task(&b.code, &NewTask::titled("b"), Some(&key)).await.unwrap();
    assert!(matches!(in_a, Inserted::Created(_)));
    assert!(matches!(in_b, Inserted::Created(_)));
    assert_eq!(in_b.task().title, "b");
}
