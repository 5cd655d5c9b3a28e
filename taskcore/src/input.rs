//! What callers send to create or change a task ([`NewTask`], [`TaskPatch`], [`IdempotencyKey`]),
//! and the rules that turn that raw input into a valid [`TaskDraft`] or an updated [`Task`].
//! Every validation of task fields lives here, once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::changes::TaskWrite;
use crate::due_date::parse_due_date;
use crate::error::{Error, Result};
use crate::patch::Patch;
use crate::priority::Priority;
use crate::room::MemberName;
#[cfg(doc)]
use crate::room::Room;
use crate::tag::{Tag, parse_tags};
use crate::task::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, Task, TaskDraft};

/// The fields of a task to create, as a client sends them. Everything is checked by
/// [`TaskManager::create_task`](crate::TaskManager::create_task); only `title` is required.
///
/// ```
/// use taskcore::NewTask;
/// let input = NewTask::titled("Write the report").priority("high").due_date("2026-12-01");
/// assert_eq!(input.title.as_deref(), Some("Write the report"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewTask {
    /// Required; trimmed; 1 to 200 characters.
    pub title: Option<String>,
    /// Up to 10,000 characters.
    pub description: Option<String>,
    /// `low`, `medium` or `high`, any case; default `medium`.
    pub priority: Option<String>,
    /// See [`parse_due_date`](crate::parse_due_date) for the accepted forms.
    pub due_date: Option<String>,
    /// Labels; normalised to lowercase, sorted, each once.
    pub tags: Option<Vec<String>>,
    /// A member of the room.
    pub assignee: Option<String>,
}

impl NewTask {
    /// The JSON keys a [`NewTask`] is read from, in declaration order: the names its derived
    /// `Deserialize` knows (a unit test keeps the two equal). Unknown keys are ignored.
    /// Front ends describing the create body (such as an OpenAPI document) compare their
    /// description with this list.
    pub const FIELDS: &'static [&'static str] = &["title", "description", "priority", "due_date", "tags", "assignee"];

    /// A new task with just a title.
    pub fn titled(title: impl Into<String>) -> Self {
        Self { title: Some(title.into()), ..Self::default() }
    }

    /// With a description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// With a priority (`low`, `medium`, `high`).
    pub fn priority(mut self, priority: impl Into<String>) -> Self {
        self.priority = Some(priority.into());
        self
    }

    /// With a due date in one of the accepted forms.
    pub fn due_date(mut self, due_date: impl Into<String>) -> Self {
        self.due_date = Some(due_date.into());
        self
    }

    /// With tags.
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// Assigned to a member.
    pub fn assignee(mut self, member: impl Into<String>) -> Self {
        self.assignee = Some(member.into());
        self
    }

    /// Validates the input into a draft created at `now`. An assignee is checked for its form
    /// here; [`Room::resolve_member`] then checks that it is a member.
    pub fn validate(&self, now: OffsetDateTime) -> Result<TaskDraft> {
        let title =
            self.title.as_deref().ok_or_else(|| Error::invalid("title", "is required")).and_then(validate_title)?;
        let description = self.description.as_deref().map(validate_description).transpose()?;
        let priority = self.priority.as_deref().map(Priority::parse).transpose()?;
        let due_date = self.due_date.as_deref().map(|raw| parse_due_date(raw, "due_date")).transpose()?;
        let tags = self.tags.as_deref().map(parse_tags).transpose()?;
        let assignee = self.assignee.as_deref().map(|raw| MemberName::parse_field(raw, "assignee")).transpose()?;
        Ok(TaskDraft {
            id: Uuid::now_v7(),
            title,
            description: description.unwrap_or_default(),
            priority: priority.unwrap_or_default(),
            due_date,
            tags: tags.unwrap_or_default(),
            assignee,
            created_at: now,
        })
    }
}

/// A partial update of a task, as a client sends it: an absent field is left alone, `null`
/// clears it (title and completion cannot be cleared; priority resets to `medium`).
///
/// ```
/// use taskcore::{Patch, TaskPatch};
/// let patch: TaskPatch = serde_json::from_str(r#"{"title": "New title", "due_date": null}"#)?;
/// assert_eq!(patch.title, Patch::Set("New title".to_owned()));
/// assert_eq!(patch.due_date, Patch::Clear);
/// assert_eq!(patch.priority, Patch::Unchanged);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskPatch {
    /// New title.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub title: Patch<String>,
    /// New description; `null` empties it.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub description: Patch<String>,
    /// New priority; `null` resets it to `medium`.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub priority: Patch<String>,
    /// New due date; `null` removes it.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub due_date: Patch<String>,
    /// New tags, replacing the old ones; `null` removes all.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub tags: Patch<Vec<String>>,
    /// New assignee; `null` unassigns.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub assignee: Patch<String>,
    /// Completion; completing sets `completed_at`, reopening clears it.
    #[serde(skip_serializing_if = "Patch::is_unchanged")]
    pub completed: Patch<bool>,
    /// When set, the update applies only if the task is at this version, else
    /// [`Error::Conflict`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

impl TaskPatch {
    /// The JSON keys a [`TaskPatch`] is read from, in declaration order: the names its derived
    /// `Deserialize` knows (a unit test keeps the two equal). Unknown keys are ignored.
    /// Front ends describing the update body (such as an OpenAPI document) compare their
    /// description with this list.
    pub const FIELDS: &'static [&'static str] =
        &["title", "description", "priority", "due_date", "tags", "assignee", "completed", "expected_version"];

    /// Whether the patch names no field at all.
    pub fn is_empty(&self) -> bool {
        self.title.is_unchanged()
            && self.description.is_unchanged()
            && self.priority.is_unchanged()
            && self.due_date.is_unchanged()
            && self.tags.is_unchanged()
            && self.assignee.is_unchanged()
            && self.completed.is_unchanged()
    }

    /// Validates every field of the patch without applying it, so that bad input is reported
    /// before anything is read. An assignee is checked for its form here;
    /// [`Room::resolve_member`] then checks that it is a member.
    pub fn validate(&self) -> Result<ValidPatch> {
        Ok(ValidPatch {
            title: match self.title.as_ref() {
                Patch::Unchanged => None,
                Patch::Clear => return Err(Error::invalid("title", "cannot be removed")),
                Patch::Set(raw) => Some(validate_title(raw)?),
            },
            description: match self.description.as_ref() {
                Patch::Unchanged => None,
                Patch::Clear => Some(String::new()),
                Patch::Set(raw) => Some(validate_description(raw)?),
            },
            priority: match self.priority.as_ref() {
                Patch::Unchanged => None,
                Patch::Clear => Some(Priority::default()),
                Patch::Set(raw) => Some(Priority::parse(raw)?),
            },
            due_date: match self.due_date.as_ref() {
                Patch::Unchanged => None,
                Patch::Clear => Some(None),
                Patch::Set(raw) => Some(Some(parse_due_date(raw, "due_date")?)),
            },
            tags: match self.tags.as_ref() {
                Patch::Unchanged => None,
                Patch::Clear => Some(Vec::new()),
                Patch::Set(raw) => Some(parse_tags(raw)?),
            },
            assignee: match self.assignee.as_ref() {
                Patch::Unchanged => None,
                Patch::Clear => Some(None),
                Patch::Set(raw) => Some(Some(MemberName::parse_field(raw, "assignee")?)),
            },
            completed: match self.completed {
                Patch::Unchanged => None,
                Patch::Clear => return Err(Error::invalid("completed", "must be true or false")),
                Patch::Set(done) => Some(done),
            },
        })
    }
}

/// A [`TaskPatch`] whose fields have all been validated: `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidPatch {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New due date (`Some(None)` removes it).
    pub due_date: Option<Option<OffsetDateTime>>,
    /// New tags.
    pub tags: Option<Vec<Tag>>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee: Option<Option<MemberName>>,
    /// New completion state.
    pub completed: Option<bool>,
}

impl ValidPatch {
    /// The task after the patch at `now`, with its version bumped, and the kind of write; `None`
    /// when the patch changes nothing.
    pub fn apply(&self, current: &Task, now: OffsetDateTime) -> Option<(Task, TaskWrite)> {
        let mut next = current.clone();
        if let Some(title) = &self.title {
            next.title.clone_from(title);
        }
        if let Some(description) = &self.description {
            next.description.clone_from(description);
        }
        if let Some(priority) = self.priority {
            next.priority = priority;
        }
        if let Some(due_date) = self.due_date {
            next.due_date = due_date;
        }
        if let Some(tags) = &self.tags {
            next.tags.clone_from(tags);
        }
        if let Some(assignee) = &self.assignee {
            next.assignee.clone_from(assignee);
        }
        let mut write = TaskWrite::Updated;
        match self.completed {
            Some(true) if !current.completed => {
                next.completed = true;
                next.completed_at = Some(now);
                write = TaskWrite::Completed;
            }
            Some(false) if current.completed => {
                next.completed = false;
                next.completed_at = None;
                write = TaskWrite::Reopened;
            }
            _ => {}
        }
        // `assignee` compares case-insensitively; a respelling is still a change worth storing.
        let same_assignee =
            next.assignee.as_ref().map(MemberName::as_str) == current.assignee.as_ref().map(MemberName::as_str);
        if next == *current && same_assignee {
            return None;
        }
        next.updated_at = now;
        next.version = current.version + 1;
        Some((next, write))
    }
}

/// The longest idempotency key accepted, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A client-chosen key that makes a create safe to retry: a second create with the same key in
/// the same room returns the task the first one made.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates a key: 1 to 255 visible ASCII characters.
    pub fn parse(input: &str) -> Result<Self> {
        if input.is_empty() || input.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(Error::invalid(
                "idempotency_key",
                format!("must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"),
            ));
        }
        if !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("idempotency_key", "may contain only visible ASCII characters"));
        }
        Ok(Self(input.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for IdempotencyKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

fn validate_title(raw: &str) -> Result<String> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(Error::invalid("title", "is required and must not be blank"));
    }
    let len = title.chars().count();
    if len > MAX_TITLE_CHARS {
        return Err(Error::invalid("title", format!("must be at most {MAX_TITLE_CHARS} characters, got {len}")));
    }
    if title.chars().any(char::is_control) {
        return Err(Error::invalid("title", "must not contain control characters"));
    }
    Ok(title.to_owned())
}

fn validate_description(raw: &str) -> Result<String> {
    let len = raw.chars().count();
    if len > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters, got {len}"),
        ));
    }
    if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(Error::invalid("description", "must not contain control characters other than newlines and tabs"));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde::de::{self, Visitor};
    use serde_json::json;

    use super::*;

    /// The field names a derived `Deserialize` hands to `deserialize_struct`: exactly what the
    /// deserialiser knows, read from the derive itself rather than restated.
    fn derived_fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
        struct Capture<'a>(&'a mut &'static [&'static str]);
        impl<'de> de::Deserializer<'de> for Capture<'_> {
            type Error = de::value::Error;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Self::Error> {
                Err(de::Error::custom("not a struct"))
            }
            fn deserialize_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> std::result::Result<V::Value, Self::Error> {
                *self.0 = fields;
                Err(de::Error::custom("captured the field names"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
                unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
            }
        }
        let mut fields: &'static [&'static str] = &[];
        assert!(T::deserialize(Capture(&mut fields)).is_err());
        fields
    }

    /// `{name: value}` read as `T` with the first sample value of a type the field takes.
    fn with_one_field<T: for<'de> Deserialize<'de>>(name: &str) -> T {
        [json!("x"), json!(["x"]), json!(true), json!(1)]
            .into_iter()
            .find_map(|value| serde_json::from_value(json!({ name: value })).ok())
            .unwrap_or_else(|| panic!("no sample value fits field {name}"))
    }

    #[test]
    fn task_patch_fields_are_what_its_deserialiser_knows() {
        assert_eq!(TaskPatch::FIELDS, derived_fields::<TaskPatch>());
    }

    #[test]
    fn every_task_patch_field_has_an_effect_and_unknown_keys_none() {
        for name in TaskPatch::FIELDS {
            let patch: TaskPatch = with_one_field(name);
            assert_ne!(patch, TaskPatch::default(), "{name} was not read");
        }
        let patch: TaskPatch = serde_json::from_value(json!({ "room_code": "ABC234", "id": 3 })).unwrap();
        assert_eq!(patch, TaskPatch::default(), "unknown keys are ignored");
    }

    #[test]
    fn new_task_fields_are_what_its_deserialiser_knows() {
        assert_eq!(NewTask::FIELDS, derived_fields::<NewTask>());
    }

    #[test]
    fn every_new_task_field_has_an_effect_and_unknown_keys_none() {
        for name in NewTask::FIELDS {
            let input: NewTask = with_one_field(name);
            assert_ne!(input, NewTask::default(), "{name} was not read");
        }
        let input: NewTask = serde_json::from_value(json!({ "room_code": "ABC234" })).unwrap();
        assert_eq!(input, NewTask::default(), "unknown keys are ignored");
    }
}
