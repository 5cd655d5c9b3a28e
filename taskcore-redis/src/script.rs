//! The Lua scripts of every multi-key write, of a listing step, of atomic reads (see
//! [`snapshot`](crate::snapshot)) and of whole-room transfer (see [`transfer`](crate::transfer)),
//! loaded once per store. Each runs with `redis::Script`, which sends `EVALSHA` and, when the
//! server answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`), loads the script and retries —
//! so a restarted Redis needs no special handling (the pipelined calls of an import's staging
//! load their script first). Write scripts validate everything before their first write, because Redis
//! does not roll a script back.

use redis::Script;

/// Every script of the store, with its SHA1 computed once.
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) insert_room: Script,
    pub(crate) add_member: Script,
    pub(crate) insert_task: Script,
    pub(crate) update_task: Script,
    pub(crate) delete_task: Script,
    pub(crate) list_step: Script,
    pub(crate) read_snapshot: Script,
    /// Whole-room transfer (see [`transfer`](crate::transfer)).
    pub(crate) transfer: TransferScripts,
}

/// The scripts of whole-room transfer: the fallback atomic read of a room and the steps of an
/// import.
#[derive(Debug)]
pub(crate) struct TransferScripts {
    pub(crate) read_room: Script,
    pub(crate) import_begin: Script,
    pub(crate) import_stage: Script,
    pub(crate) import_commit: Script,
    pub(crate) import_abort: Script,
}

/// A script with the shared helpers of `scripts/lib.lua` in front of it.
macro_rules! with_lib {
    ($file:literal) => {
        Script::new(concat!(include_str!("scripts/lib.lua"), "\n", include_str!($file)))
    };
}

/// A script with the helpers of `scripts/lib.lua` and `scripts/transfer_lib.lua` in front of it.
macro_rules! with_transfer_lib {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("scripts/lib.lua"),
            "\n",
            include_str!("scripts/transfer_lib.lua"),
            "\n",
            include_str!($file)
        ))
    };
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            insert_room: Script::new(include_str!("scripts/insert_room.lua")),
            add_member: with_lib!("scripts/add_member.lua"),
            insert_task: with_lib!("scripts/insert_task.lua"),
            update_task: with_lib!("scripts/update_task.lua"),
            delete_task: with_lib!("scripts/delete_task.lua"),
            list_step: with_lib!("scripts/list_step.lua"),
            read_snapshot: Script::new(include_str!("scripts/read_snapshot.lua")),
            transfer: TransferScripts {
                read_room: Script::new(include_str!("scripts/read_room.lua")),
                import_begin: with_transfer_lib!("scripts/import_begin.lua"),
                import_stage: with_transfer_lib!("scripts/import_stage.lua"),
                import_commit: with_transfer_lib!("scripts/import_commit.lua"),
                import_abort: with_transfer_lib!("scripts/import_abort.lua"),
            },
        }
    }
}

/// What a script answered: a status word and its string results.
#[derive(Debug)]
pub(crate) struct Reply {
    parts: Vec<String>,
}

impl Reply {
    pub(crate) fn new(parts: Vec<String>) -> Self {
        Self { parts }
    }

    /// The status word (`ok`, `noroom`, `conflict`, …).
    pub(crate) fn status(&self) -> &str {
        self.parts.first().map_or("", String::as_str)
    }

    /// The result at `index` (1 is the first after the status), empty when missing.
    pub(crate) fn get(&self, index: usize) -> &str {
        self.parts.get(index).map_or("", String::as_str)
    }

    /// The results from `index` on.
    pub(crate) fn rest(&self, index: usize) -> &[String] {
        self.parts.get(index..).unwrap_or_default()
    }
}
