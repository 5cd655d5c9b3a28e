//! The one error type of taskcore: what every store and the [`TaskManager`](crate::TaskManager)
//! return, with semantic variants that callers (the HTTP layer, embedders) can map without
//! knowing which backend produced them.

use std::error::Error as StdError;

use crate::room::RoomCode;

/// A boxed error from a storage driver, kept as the `source` of [`Error::Backend`] and
/// [`Error::Unavailable`] so that no driver type leaks into this crate.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The result type of every fallible taskcore operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a caller can act on.
///
/// Match on the variant, not on the message: messages are for people and may change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing asked for does not exist (a room code nobody created, a task number that was
    /// never allocated or was deleted).
    #[error("{0} not found")]
    NotFound(Missing),

    /// Input failed validation. Nothing was written.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The input field at fault, named as in the API (`"title"`, `"due_date"`, `"cursor"`).
        field: &'static str,
        /// What is wrong with it and what would be accepted.
        message: String,
    },

    /// A conditional write named a version that is no longer current. Nothing was written.
    #[error("version conflict: expected version {expected}, current version is {current}")]
    Conflict {
        /// The version the caller expected.
        expected: u64,
        /// The version the item has now.
        current: u64,
    },

    /// An insert collided with an existing key (for instance a freshly generated room code that
    /// is already taken). Nothing was written.
    #[error("{0} already exists")]
    AlreadyExists(Existing),

    /// A change-feed read asked for changes older than the store still keeps. The reader must
    /// resynchronise from a full listing, then follow the feed from `latest`.
    #[error("changes after sequence {since} are no longer kept (oldest kept: {oldest}); resync needed")]
    ResyncNeeded {
        /// The sequence number the caller asked to read after.
        since: u64,
        /// The oldest sequence number still kept.
        oldest: u64,
        /// The newest sequence number of the room; a resynchronised reader continues from here.
        latest: u64,
    },

    /// A create named an idempotency key the room already used for a *different* request (its
    /// [`RequestFingerprint`](crate::RequestFingerprint) differs). Nothing was written; a new
    /// request needs a new key.
    #[error("idempotency key {key} was already used in this room for a different request")]
    IdempotencyKeyReused {
        /// The key, as the caller gave it.
        key: String,
    },

    /// A create repeated an idempotency key whose task has been deleted since. Nothing was
    /// written: a key stays used for as long as its room exists, so the deleted task is not
    /// silently made again; a new key creates it anew.
    #[error("the task created with idempotency key {key} (number {number}) has been deleted")]
    IdempotentTaskDeleted {
        /// The key, as the caller gave it.
        key: String,
        /// The number of the deleted task.
        number: u64,
    },

    /// A write would take a room beyond one of the store's quotas (see
    /// [`StoreOptions`](crate::StoreOptions)). Nothing was written.
    #[error("quota exceeded: at most {limit} {} allowed", .quota.description())]
    QuotaExceeded {
        /// Which quota.
        quota: Quota,
        /// Its limit.
        limit: u64,
    },

    /// The storage is unreachable or overloaded right now. The operation may or may not have been
    /// applied if it was a write without an idempotency key; retrying later is reasonable.
    #[error("storage unavailable: {message}")]
    Unavailable {
        /// A short description, safe to log.
        message: String,
        /// The driver error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The storage is out of space (Redis at `maxmemory` with `noeviction`, a full disk): writes
    /// are refused until an operator frees or adds space; reads go on. Nothing was written.
    #[error("storage full: {message}")]
    StorageFull {
        /// A short description, safe to log.
        message: String,
        /// The driver error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The storage failed in a way that retrying will not fix (corrupt data, schema mismatch,
    /// a bug). The details are in `source`.
    #[error("storage error: {message}")]
    Backend {
        /// A short description, safe to log.
        message: String,
        /// The driver error.
        #[source]
        source: Option<BoxError>,
    },
}

/// What [`Error::NotFound`] did not find.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Missing {
    /// No room has this code.
    Room(RoomCode),
    /// The room has no task with this number: never allocated, or deleted.
    Task {
        /// The room looked in.
        room: RoomCode,
        /// The task number looked up.
        number: u64,
    },
}

impl Missing {
    /// The kind of thing: `"room"`, `"task"`.
    pub fn what(&self) -> &'static str {
        match self {
            Self::Room(_) => "room",
            Self::Task { .. } => "task",
        }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Room(code) => write!(f, "room {code}"),
            Self::Task { room, number } => write!(f, "task {number} of room {room}"),
        }
    }
}

/// What [`Error::AlreadyExists`] collided with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Existing {
    /// A room with this code.
    Room(RoomCode),
}

impl Existing {
    /// The kind of thing: `"room"`.
    pub fn what(&self) -> &'static str {
        match self {
            Self::Room(_) => "room",
        }
    }
}

impl std::fmt::Display for Existing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Room(code) => write!(f, "room {code}"),
        }
    }
}

/// A limit a store enforces per room (see [`StoreOptions`](crate::StoreOptions)); named in
/// [`Error::QuotaExceeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Quota {
    /// Tasks in one room at a time (deleted tasks do not count).
    TasksPerRoom,
    /// Members of one room.
    MembersPerRoom,
}

impl Quota {
    /// The stable name of the quota: `tasks_per_room`, `members_per_room`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TasksPerRoom => "tasks_per_room",
            Self::MembersPerRoom => "members_per_room",
        }
    }

    /// What the quota counts, for messages: `tasks per room`.
    pub fn description(self) -> &'static str {
        match self {
            Self::TasksPerRoom => "tasks per room",
            Self::MembersPerRoom => "members per room",
        }
    }
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// A [`Error::NotFound`] for a room.
    pub fn room_not_found(code: &RoomCode) -> Self {
        Self::NotFound(Missing::Room(code.clone()))
    }

    /// A [`Error::NotFound`] for a task of a room.
    pub fn task_not_found(code: &RoomCode, number: u64) -> Self {
        Self::NotFound(Missing::Task { room: code.clone(), number })
    }

    /// An [`Error::AlreadyExists`] for a room code that is taken.
    pub fn room_exists(code: &RoomCode) -> Self {
        Self::AlreadyExists(Existing::Room(code.clone()))
    }

    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }

    /// An [`Error::Unavailable`] wrapping a driver error.
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Unavailable { message: message.into(), source: Some(source.into()) }
    }

    /// An [`Error::StorageFull`] wrapping a driver error.
    pub fn storage_full(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::StorageFull { message: message.into(), source: Some(source.into()) }
    }

    /// An [`Error::Backend`] wrapping a driver error.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Backend { message: message.into(), source: Some(source.into()) }
    }

    /// Whether retrying the same operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
