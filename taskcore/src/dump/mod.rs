//! The dump format: a versioned, line-by-line file of whole rooms, for backups and for moving a
//! deployment between stores — written by [`DumpWriter`], read by [`DumpReader`], and driven
//! through any [`TaskStore`](crate::TaskStore) by [`export`] and [`import`].
//!
//! A dump is [JSON Lines](https://jsonlines.org): one JSON object per line, each with one key
//! saying what it is.
//!
//! ```text
//! {"header":{"format":"taskcore-dump","version":1,"source":"sqlite","created_at":"2026-11-30T17:00:00Z"}}
//! {"room":{"code":"K7PX3M","owner":"alice","members":["alice","Bob"],"created_at":"…","last_number":5,"last_seq":11,"tasks":2,"keys":1}}
//! {"task":{"id":"…","number":1,"title":"Plan the sprint",…,"version":3}}
//! {"task":{"id":"…","number":4,…}}
//! {"key":{"key":"create-1","number":1,"fingerprint":"f869…"}}
//! {"end":{"rooms":1,"tasks":2}}
//! ```
//!
//! - The **header** comes first: the format name, its version ([`DUMP_VERSION`]; a reader
//!   refuses a newer one), the backend it was taken from and when.
//! - Each **room** line carries the room, its last task number (deleted numbers stay used), its
//!   latest change sequence, and how many task and key lines follow it; then its **task** lines
//!   in number order (every field: number, id, version, timestamps, tags, assignee, completion)
//!   and its **key** lines (idempotency keys with the fingerprint of their request).
//! - The **end** line counts the rooms and tasks: a dump without it was cut short.
//!
//! Dumps are written and read one room at a time, so memory holds one room, never the whole
//! dump. Change feeds are not dumped: an imported room's feed continues at its sequence with no
//! changes kept, and a reader from before resynchronises (see
//! [`TaskStore::import_room`](crate::TaskStore::import_room)).

mod line;
mod read;
mod transfer;
mod write;

pub use read::{DumpReader, MAX_LINE_BYTES};
pub use transfer::{DumpSummary, ImportSummary, Progress, export, import};
pub use write::DumpWriter;

/// The `format` of a dump's header line.
pub const DUMP_FORMAT: &str = "taskcore-dump";

/// The version of the dump format this build writes, and the newest it reads.
pub const DUMP_VERSION: u32 = 1;

/// What went wrong reading, writing or importing a dump.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// Reading or writing the file failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not what the format allows there.
    #[error("line {line}: {message}")]
    Malformed {
        /// The 1-based line number.
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The dump ends before its `end` line: it was cut short.
    #[error("line {line}: the dump ends here, {expected}; was it cut short?")]
    Truncated {
        /// The number of the last line read (0 for an empty dump).
        line: u64,
        /// What should have come next.
        expected: String,
    },
    /// A store refused a room (or failed while reading one).
    #[error("room {room}: {source}")]
    Store {
        /// The room's code.
        room: String,
        /// The store's error.
        #[source]
        source: crate::Error,
    },
    /// A store failed outside any one room (listing the rooms).
    #[error("store: {0}")]
    Listing(#[source] crate::Error),
}
