//! # taskcore-redis
//!
//! A [`TaskStore`](taskcore::TaskStore) in Redis: the store that several server replicas share.
//! [`RedisStore`] passes the whole taskcore conformance suite; every write is one atomic Lua
//! script, listings and statistics are answered from indexes and counters, and a store keeps
//! working (after `Unavailable` errors while it is down) when Redis restarts. No listing holds
//! Redis for more than a bounded step, however large the room.
//!
//! ```no_run
//! # async fn demo() -> taskcore::Result<()> {
//! use std::sync::Arc;
//! use taskcore::{NewTask, TaskManager, TaskQuery};
//! use taskcore_redis::{RedisConfig, RedisStore};
//!
//! let store = RedisStore::open("redis://127.0.0.1:6379/0?prefix=myapp").await?;
//! // or, in code: RedisStore::open_with(RedisConfig::new("redis://127.0.0.1:6379/0").prefix("myapp"))
//! let tasks = TaskManager::new(Arc::new(store));
//!
//! let room = tasks.create_room("alice").await?;
//! tasks.create_task(&room.code, &NewTask::titled("Plan the sprint"), None).await?;
//! let page = tasks.list_tasks(&room.code, &TaskQuery::default()).await?;
//! assert_eq!(page.items.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! ## Configuration
//!
//! [`RedisConfig`]: the URL (`redis://[user:password@]host:port[/db]`, `unix:///path`, or a
//! Redis Cluster's seeds `redis+cluster://[user:password@]host1:port1,host2:port2/`;
//! `rediss://` is refused with a clear error — TLS is not compiled in, terminate TLS in a proxy),
//! a key **prefix** (default `taskcore`) so that applications and parallel tests share one
//! Redis, timeouts: connect (1 s), response (2 s) and a bound on a whole operation including
//! reconnection attempts (5 s), the scan step of listings (512 entries per Redis call), and how
//! many replicas must have a write before it is acknowledged (`replica_acks`, default 0). Each
//! can also be a query parameter of the URL
//! (`redis://cache:6379/0?prefix=myapp&operation_timeout=3s`, see [`RedisConfig::from_url`]),
//! which is what [`RedisStore::open`] reads. [`StoreOptions`](taskcore::StoreOptions) (change
//! retention, per-room quotas) goes through [`RedisConfig::store_options`]. To choose the backend
//! by a URL at run time, use the `taskcore-store` crate.
//!
//! ## Redis Cluster
//!
//! With a `redis+cluster://` URL the store uses the redis crate's cluster client: commands go to
//! the master of their key's slot, redirections are followed, and the slot map is read again
//! after a failover, so the same store keeps working through one. Every key of a room shares the
//! hash tag `{<p>:<C>}` (one slot, one node per room's script); write notices use the shard
//! channel `{<p>}:writes`; [`room_codes`](taskcore::TaskStore::room_codes) walks every master.
//! Redis replicates asynchronously, so a failover loses what the dead master had acknowledged
//! and not yet sent to its replica — unless [`RedisConfig::replica_acks`] is set: then each
//! write is followed by `WAIT n` on its connection and acknowledged only once `n` replicas have
//! it.
//!
//! ## Key layout
//!
//! `<p>` is the prefix, `<C>` the room code. Every key of a room starts with the hash tag
//! `{<p>:<C>}`, so a room lives in one Redis Cluster slot and its scripts touch one node.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `<p>:schema` | string | layout version (`1`); a newer major version is refused at open |
//! | `{<p>:<C>}:meta` | hash | `owner`, `created`; counters `next` (last task number), `seq` (last change), `total`, `done`, `p0` `p1` `p2` (per priority) |
//! | `{<p>:<C>}:members` | list | member names in joining order |
//! | `{<p>:<C>}:mkeys` | hash | case-folded member key → name (uniqueness) |
//! | `{<p>:<C>}:idem` | hash | idempotency key → task number |
//! | `{<p>:<C>}:idemfp` | hash | idempotency key → fingerprint of the request it was first used with (none for keys stored by older versions) |
//! | `{<p>:<C>}:t:<n>` | hash | task `n`: `j` (its JSON), `v` (version), `id`, `s` (search text), and the indexed fields `d` `p` `due` `tags` `a` `mc` `md` `mp` `mt` |
//! | `{<p>:<C>}:z:number`, `:z:created`, `:z:due`, `:z:priority`, `:z:title` | sorted set | every task, one index per sort key |
//! | `{<p>:<C>}:z:pdue` | sorted set | pending tasks that have a due date, by due date (overdue) |
//! | `{<p>:<C>}:s:open`, `:s:done`, `:s:p:<rank>`, `:s:tag:<tag>`, `:s:who:<member key>` | set | task numbers per status, priority, tag, assignee |
//! | `{<p>:<C>}:changes` | sorted set | the change feed, scored by sequence number |
//! | `{<p>:<C>}:imp:…` | as above | an import of the room being staged: the same keys under the base `{<p>:<C>}:imp`, and `token` in its meta (see below) |
//!
//! The sort indexes are *lexicographic* sorted sets (all scores 0): a member is the sort value
//! encoded so that byte order is value order — integers (number, creation and due time in
//! microseconds with `NO_DUE_DATE` for none, priority rank) as 16 hex digits with the sign bit
//! flipped, titles case-folded as they are — then a NUL, then the number as 20 zero-padded
//! digits. Byte order of members is therefore exactly [`TaskQuery::compare`](taskcore::TaskQuery::compare)
//! (sort value, then number), without the 53-bit limit of float scores, and a keyset cursor is
//! an exclusive `ZRANGEBYLEX` bound.
//!
//! ## Listing and statistics
//!
//! No Redis call of a listing looks at more than [`RedisConfig::scan_step`] index entries or
//! set members (512 by default), so one room's listing never holds Redis for long, whatever the
//! room's size:
//!
//! - Filters that are all sets (status, priority, tag, assignee), or none: the `list_step`
//!   script walks the sort index of the query's order from the cursor (`ZRANGEBYLEX`), checks
//!   the filter sets with `SISMEMBER` and reads the JSON of only the `limit + 1` rows it
//!   returns — or, when the smallest filter set is small next to the room, orders that set.
//!   It usually answers in one atomic call; when it reaches its budget it returns where it
//!   stopped and is called again from there.
//! - Filters no index answers (text search, due ranges, overdue): a chunked pass on the client
//!   over the smallest candidate source (every task, the due range, or a filter set), reading
//!   in each round trip the next chunk of candidates (`ZRANGEBYLEX … LIMIT`, `SSCAN … COUNT`)
//!   and only the fields the filters need (`HGET`/`HMGET` of `s`, `due`, `d`, …) — plain
//!   commands, so other clients run between them — then the JSON of the page's rows.
//!
//! A listing made of several calls is still one state of the room: it notes the room's
//! sequence number before its first read and again with its rows, and when writes came in
//! between it reads them from the change feed (which holds each written task whole) and judges
//! those tasks again, so its page and `matched` are exactly those of the room at the later
//! number; when the feed cannot bridge the gap it lists again (four times at most, then
//! `Unavailable`). Keyset cursors are exclusive bounds on index members, so pages neither repeat
//! nor skip a task. `matched` comes from `SCARD`/`SINTERCARD` or the pass; statistics are the
//! room's counters plus one `ZLEXCOUNT` over the pending-by-due index. The crate README has the
//! cost model and the benchmark figures.
//!
//! ## Atomicity
//!
//! Every write is one Lua script run with `EVALSHA` (the script is loaded again when Redis
//! answers `NOSCRIPT`): inserting a room (`AlreadyExists` when taken), adding a member
//! (idempotent by case-folded key; the member quota checked against the list's length),
//! inserting a task (idempotency key and fingerprint, the task quota checked against the `total`
//! counter, number allocation, hash, indexes, counters, change append and retention trim),
//! updating (version check, index moves, counters, change) and deleting (conditional,
//! tombstone). Redis runs a script alone and does not roll it back, so each script checks
//! everything first and only then writes; a refusal (`noroom`, `notask`, `conflict`, `quota`, a
//! used idempotency key) writes nothing. No operation reads on the client and
//! writes back. Reads are one `MULTI`/`EXEC` pipeline or one snapshot script, and listings the
//! bounded steps above.
//!
//! ## Whole-room transfer
//!
//! [`room_codes`](taskcore::TaskStore::room_codes) walks the keyspace with
//! `SCAN MATCH {<p>:*}:meta COUNT 1000` (rooms have no index): O(keys of the database), meant for
//! dumps and moves, not for requests. [`snapshot_room`](taskcore::TaskStore::snapshot_room) reads
//! the room in bounded steps — the meta and members, the idempotency keys with `HSCAN`, the number
//! index 512 entries at a time with each page's task JSON in one pipeline — between two reads of
//! the room's sequence; when a write moved it, it reads again, and after three attempts reads the
//! room in one script (work bounded by the task quota). [`import_room`](taskcore::TaskStore::import_room)
//! stages the room under `{<p>:<C>}:imp` (the room's slot) in pipelined script calls of 128 tasks
//! that write each task exactly as `insert_task` and `update_task` do, then one commit script
//! checks the code (fail, skip or replace), deletes a replaced room and renames every staged key
//! onto its name: the room changes in that one step, and an import that fails or is interrupted
//! before it leaves the room as it was (a later import of the code drops what it staged). The
//! commit's work grows with the rooms (about one `RENAME` per task; some 10 µs per task).
//!
//! ## Write notices
//!
//! After every write the store publishes the room's code on `<prefix>:writes` (pub/sub, in the
//! background; `SPUBLISH` on the shard channel `{<prefix>}:writes` on a cluster), and [`TaskStore::write_notices`](taskcore::TaskStore::write_notices) subscribes
//! (one connection per store, reconnecting): live updates on every process learn of a write at
//! once. Notices are wake-ups that may be lost; the change feed stays the record.
//!
//! ## Durability
//!
//! The store acknowledges a write when Redis has applied it in memory. What survives a crash
//! is Redis's persistence setting: with `appendonly yes` and `appendfsync always` every
//! acknowledged write is on disk before the reply; with `appendfsync everysec` (the Redis
//! default for AOF) up to about one second of acknowledged writes can be lost on a power loss or
//! kernel crash (not on a plain process crash); RDB snapshots alone lose everything since the
//! last snapshot. None of these covers a failover to a replica (replication is asynchronous):
//! [`RedisConfig::replica_acks`] does. Deployments that must not lose acknowledged writes use
//! `appendonly yes` + `appendfsync always`. See the crate README for the trade-offs and the
//! cost model.
//!
//! ## Failures
//!
//! Connection refused, reset or timed out, and a server that is loading or read-only, are
//! `Unavailable`; everything else from Redis is `Backend`. No operation waits longer than the
//! operation timeout. The connection is re-established in the background by the same store.

mod config;
mod connection;
mod error;
mod keys;
mod notices;
mod query;
mod row;
mod script;
mod snapshot;
mod store;
mod target;
mod transfer;

pub use config::{
    DEFAULT_ACK_CONNECTIONS, DEFAULT_PREFIX, DEFAULT_SCAN_STEP, DEFAULT_URL, DRIVER_PARAMETERS, MAX_ACK_CONNECTIONS,
    MAX_REPLICA_ACKS, MAX_SCAN_STEP, RedisConfig, URL_PARAMETERS,
};
pub use store::RedisStore;
