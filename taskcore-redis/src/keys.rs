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

    /// The `SCAN MATCH` pattern of every room's meta hash, `{<prefix>:*}:meta`, with the glob
    /// characters of the prefix escaped. A staged import's meta (`{<prefix>:<CODE>}:imp:meta`)
    /// does not match it.
    pub(crate) fn meta_pattern(&self) -> String {
        format!("{{{}:*}}:meta", glob_escape(&self.prefix))
    }

    /// The room code in the name of a room's meta hash (as [`meta_pattern`](Self::meta_pattern)
    /// finds them), unchecked; `None` for a name of another shape.
    pub(crate) fn code_of_meta<'a>(&self, key: &'a str) -> Option<&'a str> {
        key.strip_prefix('{')?.strip_prefix(self.prefix.as_str())?.strip_prefix(':')?.strip_suffix("}:meta")
    }
}

/// `text` with the characters that `SCAN MATCH` globs treat specially (`*?[]\`) escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The keys of one room, all starting with the hash tag `{<prefix>:<CODE>}` so that they share
/// one Redis Cluster slot.
#[derive(Debug, Clone)]
pub(crate) struct RoomKeys {
    /// `{<prefix>:<CODE>}`, passed to every script as `ARGV[1]`.
    pub(crate) base: String,
}

impl RoomKeys {
    /// The keys an import of this room stages the new room under before it commits it (see
    /// `transfer.rs`): the room's base followed by `:imp`, so in the room's hash tag (and Cluster
    /// slot). No key of a room starts with `<base>:imp`.
    pub(crate) fn staging(&self) -> RoomKeys {
        RoomKeys { base: format!("{}:imp", self.base) }
    }

    /// Every key of the room whose name does not depend on its content, in the order the
    /// transfer scripts rely on (`scripts/transfer_lib.lua`): meta, members, member keys,
    /// idempotency keys, their fingerprints, the feed, the sort indexes (number first), the
    /// pending-by-due index, the status sets and the priority sets. The other keys of a room are
    /// its task hashes and its tag and assignee sets.
    pub(crate) fn fixed(&self) -> Vec<String> {
        let mut keys = vec![
            self.meta(),
            self.members(),
            self.member_keys(),
            self.idempotency(),
            self.fingerprints(),
            self.changes(),
        ];
        keys.extend(
            [SortKey::Number, SortKey::Created, SortKey::Due, SortKey::Priority, SortKey::Title]
                .map(|key| self.index(key)),
        );
        keys.extend([self.pending_due(), self.status_set(false), self.status_set(true)]);
        keys.extend((0..3).map(|rank| self.priority_set(rank)));
        keys
    }

    /// Hash: owner, created, and the counters `next`, `seq`, `total`, `done`, `p0`–`p2`.
    pub(crate) fn meta(&self) -> String {
        format!("{}:meta", self.base)
    }

    /// List: member names in joining order.
    pub(crate) fn members(&self) -> String {
        format!("{}:members", self.base)
    }

    /// Hash: case-folded member key → member name.
    pub(crate) fn member_keys(&self) -> String {
        format!("{}:mkeys", self.base)
    }

    /// Hash: idempotency key → the number of the task its first use created.
    pub(crate) fn idempotency(&self) -> String {
        format!("{}:idem", self.base)
    }

    /// Hash: idempotency key → the fingerprint of the request it was first used with.
    pub(crate) fn fingerprints(&self) -> String {
        format!("{}:idemfp", self.base)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_pattern_escapes_globs_and_codes_come_back() {
        let keys = Keys::new("a*b?[c]\\");
        assert_eq!(keys.meta_pattern(), "{a\\*b\\?\\[c\\]\\\\:*}:meta");
        assert_eq!(keys.code_of_meta("{a*b?[c]\\:ABCD}:meta"), Some("ABCD"));
        assert_eq!(keys.code_of_meta("{a*b?[c]\\:ABCD}:imp:meta"), None);
        assert_eq!(keys.code_of_meta("{other:ABCD}:meta"), None);
    }

    #[test]
    fn staging_keys_never_clash_with_a_room_key() {
        let room = Keys::new("p").room(&RoomCode::parse("ABCD").unwrap());
        let staging = room.staging();
        assert!(room.fixed().iter().all(|key| !key.starts_with(&staging.base)));
        assert!(staging.fixed().iter().all(|key| key.starts_with(&format!("{}:", staging.base))));
        assert_eq!(room.fixed().len(), staging.fixed().len());
    }

    #[test]
    fn fixed_keys_are_where_transfer_lib_lua_expects_them() {
        let fixed = Keys::new("p").room(&RoomCode::parse("ABCD").unwrap()).fixed();
        // FIXED_META, FIXED_MEMBERS, FIXED_MKEYS, FIXED_IDEM (1-based), and the rest in order.
        let named = [(1, ":meta"), (2, ":members"), (3, ":mkeys"), (4, ":idem"), (5, ":idemfp"), (7, ":z:number")];
        for (position, suffix) in named {
            assert_eq!(fixed[position - 1], format!("{{p:ABCD}}{suffix}"));
        }
        let lua = include_str!("scripts/transfer_lib.lua");
        assert!(lua.contains("FIXED_META, FIXED_MEMBERS, FIXED_MKEYS, FIXED_IDEM = 1, 2, 3, 4"));
    }
}
