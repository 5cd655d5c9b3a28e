//! The lines of a dump as serde types: [`Line`] for reading any line, and the borrowed
//! [`LineRef`] the writer serialises without copying a room's tasks.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::room::Room;
use crate::snapshot::StoredKey;
use crate::task::Task;

/// The first line: what the file is and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    /// Always [`DUMP_FORMAT`](super::DUMP_FORMAT).
    pub(crate) format: String,
    /// The format version, [`DUMP_VERSION`](super::DUMP_VERSION) when written by this build.
    pub(crate) version: u32,
    /// The backend the dump was taken from (`"sqlite"`, `"redis"`, …).
    pub(crate) source: String,
    /// When the dump was started.
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) created_at: OffsetDateTime,
}

/// A room line: the room and what follows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct RoomLine {
    #[serde(flatten)]
    pub(crate) room: Room,
    pub(crate) last_number: u64,
    pub(crate) last_seq: u64,
    /// How many task lines follow.
    pub(crate) tasks: u64,
    /// How many key lines follow the tasks.
    pub(crate) keys: u64,
}

/// The last line: what the dump holds, to tell a whole dump from one cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct End {
    pub(crate) rooms: u64,
    pub(crate) tasks: u64,
}

/// Any line, as read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Line {
    Header(Header),
    Room(RoomLine),
    Task(Task),
    Key(StoredKey),
    End(End),
}

impl Line {
    /// The line's kind, as it appears in the file.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Header(_) => "header",
            Self::Room(_) => "room",
            Self::Task(_) => "task",
            Self::Key(_) => "key",
            Self::End(_) => "end",
        }
    }
}

/// A room line to write, borrowing the room.
#[derive(Debug, Serialize)]
pub(crate) struct RoomLineRef<'a> {
    #[serde(flatten)]
    pub(crate) room: &'a Room,
    pub(crate) last_number: u64,
    pub(crate) last_seq: u64,
    pub(crate) tasks: u64,
    pub(crate) keys: u64,
}

/// Any line, to write.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LineRef<'a> {
    Header(&'a Header),
    Room(RoomLineRef<'a>),
    Task(&'a Task),
    Key(&'a StoredKey),
    End(&'a End),
}
