//! The key layout: every key the store reads or writes, named in one place. The Lua scripts
//! derive the same names from a room's [`RoomKeys::base`] (see `scripts/lib.lua`); the crate
//! docs describe what each key holds.

use taskcore::{RoomCode, SortKey};

/// The schema version this build writes. A store refuses a prefix whose stored major version is
/// newer.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// The keys of one namespace (key prefix).
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }

    /// `<prefix>:schema`: the layout version of this namespace.
    pub(crate) fn schema(&self) -> String {
        format!("{}:schema", self.prefix)
    }

    /// The keys of one room.
    pub(crate) fn room(&self, code: &RoomCode) -> RoomKeys {
        RoomKeys { base: format!("{{{}:{}}}", self.prefix, code) }
    }
}

/// The keys of one room, all starting with the hash tag `{<prefix>:<CODE>}` so that they share
/// one Redis Cluster slot.
#[derive(Debug, Clone)]
pub(crate) struct RoomKeys {
    /// `{<prefix>:<CODE>}`, passed to every script as `ARGV[1]`.
    pub(crate) base: String,
}

impl RoomKeys {
    /// Hash: owner, created, and the counters `next`, `seq`, `total`, `done`, `p0`–`p2`.
    pub(crate) fn meta(&self) -> String {
        format!("{}:meta", self.base)
    }

    /// List: member names in joining order.
    pub(crate) fn members(&self) -> String {
        format!("{}:members", self.base)
    }

    /// Hash of one task: its JSON (`j`), version, and the fields indexes derive from.
    pub(crate) fn task(&self, number: u64) -> String {
        format!("{}:t:{number}", self.base)
    }

    /// Sorted set: the change feed, scored by sequence number.
    pub(crate) fn changes(&self) -> String {
        format!("{}:changes", self.base)
    }

    /// Lex sorted set: pending tasks that have a due date, by due date (overdue counts).
    pub(crate) fn pending_due(&self) -> String {
        format!("{}:z:pdue", self.base)
    }

    /// Lex sorted set: every task by the sort value of `key`.
    pub(crate) fn index(&self, key: SortKey) -> String {
        format!("{}:z:{}", self.base, index_name(key))
    }

    /// Set: the numbers of completed (`done`) or pending tasks.
    pub(crate) fn status_set(&self, done: bool) -> String {
        format!("{}:s:{}", self.base, if done { "done" } else { "open" })
    }

    /// Set: the numbers of tasks of the priority with this rank.
    pub(crate) fn priority_set(&self, rank: u8) -> String {
        format!("{}:s:p:{rank}", self.base)
    }

    /// Set: the numbers of tasks carrying `tag`.
    pub(crate) fn tag_set(&self, tag: &str) -> String {
        format!("{}:s:tag:{tag}", self.base)
    }

    /// Set: the numbers of tasks assigned to the member with this case-folded key.
    pub(crate) fn assignee_set(&self, key: &str) -> String {
        format!("{}:s:who:{key}", self.base)
    }
}

/// The name of the sort index of `key`, as in `{…}:z:<name>`.
pub(crate) fn index_name(key: SortKey) -> &'static str {
    key.as_str()
}
