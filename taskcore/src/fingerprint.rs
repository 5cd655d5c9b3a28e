//! Idempotent creates: the [`RequestFingerprint`] of a validated create (a stable digest of what
//! it asked for), which a store remembers with the idempotency key, and [`replay`], the rule every
//! store applies when a key comes back: the same request replays the task it made, another
//! request is [`Error::IdempotencyKeyReused`], and a key whose task was deleted since is
//! [`Error::IdempotentTaskDeleted`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::unix_micros;
use crate::error::{Error, Result};
use crate::input::IdempotencyKey;
use crate::room::MemberName;
use crate::store::Inserted;
use crate::task::{Task, TaskDraft};

/// A stable digest of a create request after validation: 64 lowercase hexadecimal digits of the
/// SHA-256 of the draft's canonical form (title, description, priority, due instant, tags and
/// the assignee's case-folded name — everything but the id and the creation time).
///
/// Two requests that validate to the same task have the same fingerprint, however they were
/// spelled (`"HIGH"` and `"high"`, `2026-12-01` and `2026-12-01T00:00:00Z`, tags in another order);
/// the fingerprint of a request never changes between runs, machines or versions of taskcore
/// (the canonical form carries a version number of its own).
///
/// ```
/// use time::macros::datetime;
/// use taskcore::NewTask;
/// let at = datetime!(2026-03-10 12:00 UTC);
/// let a = NewTask::titled(" Ship it ").priority("HIGH").tags(["b", "A"]).validate(at)?;
/// let b = NewTask::titled("Ship it").priority("high").tags(["a", "b"]).validate(at)?;
/// assert_eq!(a.fingerprint(), b.fingerprint());
/// assert_ne!(a.fingerprint(), NewTask::titled("Ship it").validate(at)?.fingerprint());
/// # Ok::<(), taskcore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RequestFingerprint(String);

impl<'de> Deserialize<'de> for RequestFingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl RequestFingerprint {
    /// A fingerprint as stores keep it: 64 lowercase hexadecimal digits, or
    /// [`Error::Invalid`] on `fingerprint`.
    pub fn parse(input: &str) -> Result<Self> {
        if input.len() == 64 && input.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(input.to_owned()))
        } else {
            Err(Error::invalid("fingerprint", "must be 64 lowercase hexadecimal digits"))
        }
    }

    /// The fingerprint as text, as stores keep it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The canonical form a fingerprint digests. Field order and names are part of the format; a
/// change to either needs a new `v`.
#[derive(Serialize)]
struct Canonical<'a> {
    v: u8,
    title: &'a str,
    description: &'a str,
    priority: &'static str,
    due: Option<i64>,
    tags: Vec<&'a str>,
    assignee: Option<String>,
}

impl TaskDraft {
    /// The fingerprint of the request this draft was validated from: what a store remembers
    /// with an idempotency key (see [`TaskStore::insert_task`](crate::TaskStore::insert_task)).
    pub fn fingerprint(&self) -> RequestFingerprint {
        let canonical = Canonical {
            v: 1,
            title: &self.title,
            description: &self.description,
            priority: self.priority.as_str(),
            due: self.due_date.map(unix_micros),
            tags: self.tags.iter().map(|tag| tag.as_str()).collect(),
            assignee: self.assignee.as_ref().map(MemberName::key),
        };
        // Serialising strings, integers and options into a Vec cannot fail.
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        RequestFingerprint(digest.iter().map(|byte| format!("{byte:02x}")).collect())
    }
}

/// The answer to a create whose idempotency `key` was already used in the room — the rule every
/// store applies, inside the same atomic step as the key lookup.
///
/// - `stored` is the fingerprint remembered with the key; `None` for keys stored before
///   fingerprints were kept, which replay whatever the request.
/// - `request` is the fingerprint of the create being answered ([`TaskDraft::fingerprint`]).
/// - `created` is the task the key created, if it still exists; `number` is its number.
///
/// Another fingerprint → [`Error::IdempotencyKeyReused`]; else a deleted task →
/// [`Error::IdempotentTaskDeleted`]; else [`Inserted::Replayed`] with the task as it is now.
pub fn replay(
    key: &IdempotencyKey,
    stored: Option<&str>,
    request: &RequestFingerprint,
    created: Option<Task>,
    number: u64,
) -> Result<Inserted> {
    if stored.is_some_and(|stored| stored != request.as_str()) {
        return Err(Error::IdempotencyKeyReused { key: key.as_str().to_owned() });
    }
    created.map(Inserted::Replayed).ok_or_else(|| Error::IdempotentTaskDeleted { key: key.as_str().to_owned(), number })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::macros::datetime;

    use super::*;
    use crate::input::NewTask;

    #[test]
    fn the_fingerprint_of_a_request_never_changes() {
        // A change of this value breaks every key stored before: it needs a new canonical version.
        let draft = NewTask::titled("Ship it")
            .description("by Friday")
            .priority("high")
            .due_date("2026-12-01")
            .tags(["work"])
            .assignee("Bob")
            .validate(datetime!(2026-03-10 12:00 UTC))
            .unwrap();
        let canonical = r#"{"v":1,"title":"Ship it","description":"by Friday","priority":"high","due":1796083200000000,"tags":["work"],"assignee":"bob"}"#;
        // sha256sum of the canonical form above, computed outside Rust.
        assert_eq!(draft.fingerprint().as_str(), "f8691540b97168b7e8c192aa1d513afc6456c7e72ff30fd5e9853f98acfd39bb");
        let digest = Sha256::digest(canonical.as_bytes());
        assert_eq!(digest.iter().map(|b| format!("{b:02x}")).collect::<String>(), draft.fingerprint().as_str());
    }

    #[test]
    fn only_what_was_asked_for_counts() {
        let at = datetime!(2026-03-10 12:00 UTC);
        let one = NewTask::titled("t").assignee("Bob").due_date("2026-12-01").validate(at).unwrap();
        let later = NewTask::titled("t").assignee("BOB").due_date("2026-12-01T00:00:00Z");
        let two = later.validate(datetime!(2027-01-01 00:00 UTC)).unwrap();
        assert_ne!(one.id, two.id);
        assert_eq!(one.fingerprint(), two.fingerprint(), "id, creation time and spelling do not count");
        for other in [
            NewTask::titled("t ").assignee("Bob").due_date("2026-12-02"),
            NewTask::titled("t").assignee("Bob").due_date("2026-12-01").description("d"),
            NewTask::titled("t").due_date("2026-12-01"),
            NewTask::titled("t").assignee("Bob").due_date("2026-12-01").priority("low"),
            NewTask::titled("t").assignee("Bob").due_date("2026-12-01").tags(["x"]),
        ] {
            assert_ne!(other.validate(at).unwrap().fingerprint(), one.fingerprint(), "{other:?}");
        }
    }
}
