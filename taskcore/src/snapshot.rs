//! Whole rooms as values, for backups and moves between stores: the [`RoomSnapshot`] a store
//! reads in one consistent step ([`TaskStore::snapshot_room`](crate::TaskStore::snapshot_room))
//! and writes back as given ([`TaskStore::import_room`](crate::TaskStore::import_room)), the
//! [`StoredKey`]s of its idempotent creates, what to do when the room exists already
//! ([`OnConflict`]) and what an import did ([`Imported`]).
//!
//! The rules that make an import safe live here, once: [`RoomSnapshot::check`] refuses a
//! snapshot that no sequence of writes could have produced, and [`RoomSnapshot::imported_seq`]
//! says where the imported room's change feed continues.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::clock::to_storage_precision;
use crate::error::{Error, Quota, Result};
use crate::fingerprint::RequestFingerprint;
use crate::input::IdempotencyKey;
use crate::room::Room;
use crate::store::StoreOptions;
use crate::task::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, Task};

/// The largest number, version or sequence a store keeps: SQL backends store them as signed
/// 64-bit integers.
const MAX_STORED: u64 = i64::MAX as u64;

/// Everything one room holds, as of one instant: the room and its members, every live task with
/// its number, id, version and timestamps, the highest number the room ever allocated (so that
/// deleted numbers stay used), the latest change sequence, and the idempotency keys with the
/// fingerprints of the requests that used them.
///
/// The change feed itself is not part of a snapshot: an imported room's feed continues from
/// [`RoomSnapshot::imported_seq`] with no changes kept, so a reader from before gets
/// [`Error::ResyncNeeded`] and reloads (live clients get `resync`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSnapshot {
    /// The room, members in joining order.
    pub room: Room,
    /// The highest task number the room ever allocated, deleted tasks included.
    pub last_number: u64,
    /// The room's latest change sequence number.
    pub last_seq: u64,
    /// The live tasks, in number order.
    pub tasks: Vec<Task>,
    /// The idempotency keys used in the room, in key order.
    pub keys: Vec<StoredKey>,
}

/// An idempotency key a room remembers: the number of the task it created and the fingerprint
/// of the request ([`RequestFingerprint`]); `None` for keys stored before fingerprints were kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// The key.
    pub key: IdempotencyKey,
    /// The number of the task its first use created (which may have been deleted since).
    pub number: u64,
    /// The fingerprint of that request.
    pub fingerprint: Option<RequestFingerprint>,
}

impl StoredKey {
    /// A key as a store keeps it — its text, the number it created and the fingerprint's text
    /// (`None` for a key stored before fingerprints were kept) — checked: a key or fingerprint
    /// the domain would not make is `Invalid` (for a store, corrupt data).
    pub fn from_stored(key: &str, number: u64, fingerprint: Option<&str>) -> Result<Self> {
        Ok(Self {
            key: IdempotencyKey::parse(key)?,
            number,
            fingerprint: fingerprint.map(RequestFingerprint::parse).transpose()?,
        })
    }
}

/// What [`TaskStore::import_room`](crate::TaskStore::import_room) does when the store has a room
/// with the snapshot's code already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Refuse with [`Error::AlreadyExists`]; nothing is written.
    #[default]
    Fail,
    /// Leave the stored room as it is and answer [`Imported::Skipped`].
    Skip,
    /// Replace the stored room, all of it, with the snapshot in one atomic step.
    Replace,
}

impl OnConflict {
    /// The name used on command lines: `fail`, `skip`, `replace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Skip => "skip",
            Self::Replace => "replace",
        }
    }
}

impl std::str::FromStr for OnConflict {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        match input {
            "fail" => Ok(Self::Fail),
            "skip" => Ok(Self::Skip),
            "replace" => Ok(Self::Replace),
            _ => Err(Error::invalid("on_conflict", "must be fail, skip or replace")),
        }
    }
}

/// What an import did with one room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Imported {
    /// The room was new to the store and is stored now.
    Created,
    /// The room existed; [`OnConflict::Skip`] left it as it was.
    Skipped,
    /// The room existed; [`OnConflict::Replace`] replaced it.
    Replaced,
}

impl RoomSnapshot {
    /// Refuses a snapshot that no sequence of writes could have produced, or that the store's
    /// quotas do not allow, before a store writes anything:
    ///
    /// - members: the owner first, each once (by [`key`](crate::MemberName::key)), at most
    ///   [`StoreOptions::member_quota`] → `Invalid { field: "members" }` or `QuotaExceeded`;
    /// - tasks: numbers strictly increasing, 1 to `last_number`; versions from 1; titles and
    ///   descriptions within the domain's limits; completion and `completed_at` agreeing;
    ///   assignees members of the room; at most [`StoreOptions::task_quota`] →
    ///   `Invalid { field: "tasks" }` or `QuotaExceeded`;
    /// - timestamps at storage precision (microseconds) → `Invalid { field: "tasks" }`;
    /// - keys: each once, numbering a task from 1 to `last_number` → `Invalid { field: "keys" }`;
    /// - numbers, versions and sequences within what every store keeps (a signed 64-bit
    ///   integer) → `Invalid` on `last_number`, `last_seq` or `tasks`.
    pub fn check(&self, options: &StoreOptions) -> Result<()> {
        if self.last_number > MAX_STORED {
            return Err(Error::invalid("last_number", format!("room {}: beyond what stores keep", self.room.code)));
        }
        if self.last_seq >= MAX_STORED {
            return Err(Error::invalid("last_seq", format!("room {}: beyond what stores keep", self.room.code)));
        }
        self.check_members(options)?;
        self.check_tasks(options)?;
        self.check_keys()
    }

    fn check_members(&self, options: &StoreOptions) -> Result<()> {
        let room = &self.room;
        if room.members.first() != Some(&room.owner) {
            return Err(Error::invalid("members", format!("room {}: the owner must be the first member", room.code)));
        }
        let mut seen = HashSet::new();
        if let Some(twice) = room.members.iter().find(|member| !seen.insert(member.key())) {
            return Err(Error::invalid("members", format!("room {}: '{twice}' is a member twice", room.code)));
        }
        let limit = options.member_quota();
        if room.members.len() as u64 > limit {
            return Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit });
        }
        if to_storage_precision(room.created_at) != room.created_at {
            return Err(Error::invalid("created_at", format!("room {}: finer than microseconds", room.code)));
        }
        Ok(())
    }

    fn check_tasks(&self, options: &StoreOptions) -> Result<()> {
        let limit = options.task_quota();
        if self.tasks.len() as u64 > limit {
            return Err(Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit });
        }
        let mut previous = 0;
        for task in &self.tasks {
            let fault = |message: &str| {
                Error::invalid("tasks", format!("room {} task {}: {message}", self.room.code, task.number))
            };
            if task.number <= previous {
                return Err(fault("numbers must be strictly increasing from 1"));
            }
            previous = task.number;
            if task.number > self.last_number {
                return Err(fault(&format!("is beyond the room's last number {}", self.last_number)));
            }
            if task.version == 0 {
                return Err(fault("versions start at 1"));
            }
            let title_chars = task.title.chars().count();
            if task.title.trim() != task.title || title_chars == 0 || title_chars > MAX_TITLE_CHARS {
                return Err(fault(&format!("the title must be trimmed, 1 to {MAX_TITLE_CHARS} characters")));
            }
            if task.title.chars().any(char::is_control) {
                return Err(fault("the title must not contain control characters"));
            }
            if task.description.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(fault(&format!("the description is over {MAX_DESCRIPTION_CHARS} characters")));
            }
            if task.description.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                return Err(fault("the description must not contain control characters other than newlines and tabs"));
            }
            if task.version > MAX_STORED {
                return Err(fault("the version is beyond what stores keep"));
            }
            if task.completed != task.completed_at.is_some() {
                return Err(fault("completed_at must be set exactly when the task is completed"));
            }
            if let Some(assignee) = &task.assignee
                && self.room.member(assignee).map(|m| m.as_str()) != Some(assignee.as_str())
            {
                return Err(fault(&format!(
                    "the assignee '{assignee}' is not a member, as spelled in the member list"
                )));
            }
            let instants = [Some(task.created_at), Some(task.updated_at), task.completed_at, task.due_date];
            if instants.into_iter().flatten().any(|at| to_storage_precision(at) != at) {
                return Err(fault("timestamps must be at microsecond precision"));
            }
        }
        Ok(())
    }

    fn check_keys(&self) -> Result<()> {
        let mut seen = HashSet::new();
        for stored in &self.keys {
            if !seen.insert(stored.key.as_str()) {
                return Err(Error::invalid(
                    "keys",
                    format!("room {}: key {} is there twice", self.room.code, stored.key.as_str()),
                ));
            }
            if stored.number == 0 || stored.number > self.last_number {
                return Err(Error::invalid(
                    "keys",
                    format!(
                        "room {}: key {} names task {}, not allocated",
                        self.room.code,
                        stored.key.as_str(),
                        stored.number
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The latest change sequence of the room once imported: the snapshot's own, or — replacing a
    /// stored room whose feed reached `replaced_seq` — one beyond both, so that every reader of
    /// the replaced room sees its feed move and resynchronises.
    pub fn imported_seq(&self, replaced_seq: Option<u64>) -> u64 {
        match replaced_seq {
            Some(replaced) => self.last_seq.max(replaced.saturating_add(1)),
            None => self.last_seq,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::macros::datetime;

    use super::*;
    use crate::input::NewTask;
    use crate::room::{MemberName, RoomCode};

    fn snapshot() -> RoomSnapshot {
        let at = datetime!(2026-03-10 12:00 UTC);
        let room = Room::new(RoomCode::parse("ABCD23").unwrap(), MemberName::parse("alice").unwrap(), at);
        let task = NewTask::titled("t").validate(at).unwrap().into_task(1);
        RoomSnapshot { room, last_number: 1, last_seq: 1, tasks: vec![task], keys: Vec::new() }
    }

    #[track_caller]
    fn assert_invalid(snapshot: &RoomSnapshot, field: &str) {
        match snapshot.check(&StoreOptions::default()) {
            Err(Error::Invalid { field: got, .. }) if got == field => {}
            other => panic!("expected Invalid on {field}, got {other:?}"),
        }
    }

    #[test]
    fn numbers_beyond_a_signed_64_bit_integer_and_nul_characters_are_refused() {
        assert!(snapshot().check(&StoreOptions::default()).is_ok());
        let mut huge = snapshot();
        huge.last_number = u64::MAX;
        assert_invalid(&huge, "last_number");
        let mut huge = snapshot();
        huge.last_seq = i64::MAX as u64;
        assert_invalid(&huge, "last_seq");
        let mut huge = snapshot();
        huge.tasks[0].version = u64::MAX;
        assert_invalid(&huge, "tasks");
        let mut nul = snapshot();
        nul.tasks[0].description = "a\0b".into();
        assert_invalid(&nul, "tasks");
        let mut fine = snapshot();
        fine.tasks[0].description = "lines\r\nand\ttabs".into();
        assert!(fine.check(&StoreOptions::default()).is_ok());
    }

    #[test]
    fn stored_keys_are_checked_as_they_are_read() {
        let fingerprint = "f8691540b97168b7e8c192aa1d513afc6456c7e72ff30fd5e9853f98acfd39bb";
        let key = StoredKey::from_stored("k-1", 3, Some(fingerprint)).unwrap();
        assert_eq!((key.key.as_str(), key.number, key.fingerprint.unwrap().as_str()), ("k-1", 3, fingerprint));
        assert_eq!(StoredKey::from_stored("k-1", 3, None).unwrap().fingerprint, None);
        assert!(matches!(StoredKey::from_stored("k 1", 3, None), Err(Error::Invalid { field: "idempotency_key", .. })));
        assert!(matches!(
            StoredKey::from_stored("k", 3, Some("F00")),
            Err(Error::Invalid { field: "fingerprint", .. })
        ));
    }
}
