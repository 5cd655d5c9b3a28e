//! # taskcore
//!
//! Collaborative task management as a library: **rooms** shared by a short code, their
//! **members**, and **tasks** with priorities, due dates, tags, assignees and completion —
//! with filters, sorting, keyset pagination, per-room statistics and a per-room **change feed**,
//! over pluggable storage.
//!
//! - [`TaskManager`] is the entry point: it validates input, applies the domain rules and calls
//!   a [`TaskStore`].
//! - [`TaskStore`] is the storage contract, object-safe (`Arc<dyn TaskStore>`), with each
//!   method's behaviour documented. Filtering, sorting, paging, stats and change reads are store
//!   operations, so SQL and Redis backends answer them natively.
//! - [`MemoryStore`] is a complete in-process store. Durable backends live in their own crates
//!   (`taskcore-sqlite`, `taskcore-redis`, `taskcore-postgres`).
//! - [`dump`] moves whole rooms between stores and into backups: a versioned JSON Lines format,
//!   written and read a room at a time, over [`TaskStore::snapshot_room`] and
//!   [`TaskStore::import_room`].
//! - [`conformance`] (feature `conformance`) is the behaviour suite every backend runs.
//!
//! The crate root holds what an application uses. What only a backend author needs — the
//! helpers that make a store reproduce the domain's semantics exactly — is in [`store`]; the
//! listing types, with their reference semantics, are in [`query`]; the change feed in
//! [`changes`].
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use taskcore::{MemoryStore, NewTask, StatusFilter, TaskManager, TaskQuery};
//!
//! let tasks = TaskManager::new(Arc::new(MemoryStore::new()));
//! let room = tasks.create_room("alice").await?;
//! tasks.join_room(&room.code, "bob").await?;
//!
//! let first = tasks.create_task(&room.code, &NewTask::titled("Plan the sprint").priority("high"), None).await?;
//! tasks.create_task(&room.code, &NewTask::titled("Book a room").due_date("2026-12-01"), None).await?;
//! tasks.complete_task(&room.code, first.task().number, None).await?;
//!
//! let pending = tasks.list_tasks(&room.code, &TaskQuery::default().status(StatusFilter::Pending)).await?;
//! assert_eq!(pending.items.len(), 1);
//! let stats = tasks.stats(&room.code).await?;
//! assert_eq!(stats.completion_rate, 50.0);
//! # Ok::<(), taskcore::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `conformance` | no | [`conformance`]: the behaviour suite and the [`conformance_tests!`] macro, for backend crates' tests |

pub mod cache;
pub mod changes;
mod clock;
mod due_date;
pub mod dump;
mod error;
mod fingerprint;
mod input;
mod listing;
mod manager;
mod memory;
mod patch;
mod priority;
pub mod query;
mod room;
mod snapshot;
mod stats;
pub mod store;
mod stored;
mod tag;
mod task;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use cache::{CacheOptions, CacheStats, DEFAULT_CACHE_BYTES, RoomCache};
pub use changes::{Change, ChangeBatch, ChangeEvent, DEFAULT_CHANGE_RETENTION, MAX_CHANGES_PER_READ};
pub use clock::{Clock, ManualClock, SystemClock};
pub use due_date::{
    DUE_DATE_FORMATS, MAX_DUE_YEAR, MIN_DUE_YEAR, TimestampText, check_due_instant, format_timestamp, parse_due_date,
};
pub use error::{Error, Existing, Missing, Quota, Result};
pub use fingerprint::RequestFingerprint;
pub use input::{IdempotencyKey, MAX_IDEMPOTENCY_KEY_LEN, NewTask, TaskPatch, ValidPatch};
pub use listing::TaskListing;
pub use manager::{DEFAULT_CHANGES_PER_READ, TaskManager};
pub use memory::MemoryStore;
pub use patch::Patch;
pub use priority::Priority;
pub use query::{
    Cursor, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_SEARCH_CHARS, QUERY_PARAMS, SearchText, Sort, SortDir, SortKey,
    StatusFilter, TaskPage, TaskQuery,
};
pub use room::{
    DEFAULT_ROOM_CODE_LENGTH, MAX_MEMBER_NAME_CHARS, MAX_ROOM_CODE_LENGTH, MIN_ROOM_CODE_LENGTH, MemberName,
    ROOM_CODE_ALPHABET, Room, RoomCode, RoomCodeGenerator,
};
pub use snapshot::{Imported, OnConflict, RoomSnapshot, StoredKey};
pub use stats::{PriorityCounts, RoomStats};
pub use store::{
    DEFAULT_MAX_MEMBERS_PER_ROOM, DEFAULT_MAX_TASKS_PER_ROOM, Inserted, StoreOptions, TaskStore, WriteStats,
};
pub use tag::{MAX_TAG_CHARS, MAX_TAGS_PER_TASK, Tag, parse_tags};
pub use task::{MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, Task};
