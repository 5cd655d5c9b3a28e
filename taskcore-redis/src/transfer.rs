//! Whole-room transfer for [`RedisStore`]: listing the rooms of the namespace
//! ([`room_codes`](taskcore::TaskStore::room_codes)), reading a room as of one instant
//! ([`snapshot_room`](taskcore::TaskStore::snapshot_room)) and writing one back atomically
//! ([`import_room`](taskcore::TaskStore::import_room)), none of them as one long command for a
//! big room.
//!
//! - **Room codes**: rooms have no index, so the codes come from `SCAN MATCH {<prefix>:*}:meta`
//!   over the whole keyspace — O(keys of the database), for dumps and moves, not for requests.
//! - **Snapshots** read the room's sequence, then its meta and members, its idempotency keys
//!   (`HSCAN`) and its tasks (the number index in pages, each page's JSON in one pipeline), then
//!   the sequence again: every write moves the sequence in the same atomic step, so an unmoved
//!   sequence means the reads saw one state of the room. When it moved, the read starts again
//!   ([`CHUNKED_ATTEMPTS`] times); then `read_room.lua` reads the whole room in one script,
//!   bounded by the task quota.
//! - **Imports** stage the new room under [`RoomKeys::staging`] (`{<prefix>:<CODE>}:imp`, the
//!   room's own slot): `import_begin.lua` drops what an interrupted import left there and writes
//!   the meta with a token of this import, `import_stage.lua` writes the tasks and keys in
//!   pipelined chunks exactly as `insert_task` and `update_task` write them (fields computed by
//!   [`indexed_fields`]), each chunk only while the token is still this import's, and
//!   `import_commit.lua` checks the room and, in one atomic step, deletes a replaced room and
//!   renames every staged key onto its name. Until the commit the room is untouched; a failed
//!   import drops its staging (`import_abort.lua`), and one whose process died leaves it for the
//!   next import of the code to drop. Of two imports of one room at once, the later takes the
//!   staging over and the earlier fails with `Unavailable`, having written nothing. The imported
//!   room's feed is empty (no `:changes` key) at the imported sequence, and the commit publishes
//!   the room's write notice like any write.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::ScriptInvocation;
use taskcore::store::unix_micros;
use taskcore::{Error, Imported, OnConflict, Result, RoomCode, RoomSnapshot, SortKey, StoredKey, Task};

use crate::connection::Endpoint;
use crate::keys::RoomKeys;
use crate::query::number_in;
use crate::row::{corrupt, from_json, indexed_fields, to_json};
use crate::script::Reply;
use crate::store::{RedisStore, stored_number, stored_room};

/// How many keys one `SCAN` of [`RedisStore::scan_room_codes`] looks at.
const SCAN_COUNT: usize = 1000;

/// How many tasks (number index entries) or idempotency keys one read of a snapshot asks for.
const PAGE: usize = 512;

/// How many times a snapshot is read in chunks before it is read in one script.
const CHUNKED_ATTEMPTS: usize = 3;

/// How many tasks one call of `import_stage.lua` writes.
const TASKS_PER_CALL: usize = 128;

/// How many idempotency keys one call of `import_stage.lua` writes.
const KEYS_PER_CALL: usize = 1024;

/// How many calls of `import_stage.lua` go in one pipeline (one round trip).
const CALLS_PER_TRIP: usize = 8;

/// The largest number or sequence the Lua scripts compute with exactly (a Lua number is a
/// double): `2^53 - 1`.
const MAX_EXACT: u64 = (1 << 53) - 1;

/// Added to the operation timeout per task or key of a room for the one-script steps (the
/// fallback read, the commit), whose work grows with the room.
const TIME_PER_ITEM: Duration = Duration::from_micros(20);

/// The room's state at the start of a chunked snapshot.
struct Head {
    owner: String,
    created: String,
    next: u64,
    seq: u64,
    total: u64,
    members: Vec<String>,
}

/// What one chunked read of a snapshot gave.
enum Attempt {
    /// The room, as of one instant.
    Whole(RoomSnapshot),
    /// Writes moved the room's sequence meanwhile; it had this many tasks at the start.
    Moved { tasks: u64 },
}

/// One call of `import_stage.lua`: some tasks or some keys.
enum Chunk<'a> {
    Tasks(&'a [Task]),
    Keys(&'a [StoredKey]),
}

/// Whether a long script call waits for the store's replicas: a write does, a read does not.
#[derive(Debug, Clone, Copy)]
enum Waits {
    ForReplicas,
    NoReplicas,
}

/// What `import_commit.lua` did.
enum Committed {
    Created,
    Replaced,
    Taken,
}

impl RedisStore {
    /// Codes of the namespace's rooms after `after`, in byte order, at most `limit`: one walk of
    /// the keyspace with `SCAN`, keeping the `limit` smallest codes as it goes.
    pub(crate) async fn scan_room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut codes = BTreeMap::new();
        let mut conn = self.conn();
        match self.endpoint().masters(&mut conn).await? {
            None => self.scan_node(None, after, limit, &mut codes).await?,
            // A cluster's keyspace is the union of its masters' (replicas hold copies).
            Some(masters) => {
                for (host, port) in &masters {
                    self.scan_node(Some((host, *port)), after, limit, &mut codes).await?;
                }
            }
        }
        Ok(codes.into_values().collect())
    }

    /// Adds to `codes` the room codes after `after` of one server's keyspace (of the cluster
    /// node at `node`), keeping the `limit` smallest.
    async fn scan_node(
        &self,
        node: Option<(&str, u16)>,
        after: Option<&RoomCode>,
        limit: usize,
        codes: &mut BTreeMap<String, RoomCode>,
    ) -> Result<()> {
        let pattern = self.keys().meta_pattern();
        let mut cursor = 0_u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(SCAN_COUNT);
            let (next, names): (u64, Vec<Vec<u8>>) = match node {
                None => self.query(scan).await?,
                Some((host, port)) => {
                    let mut conn = self.conn();
                    self.run(async move { Endpoint::on_node(&mut conn, host, port, scan).await }).await?
                }
            };
            for code in names.iter().filter_map(|name| self.room_code_of(name)) {
                if after.is_none_or(|after| code.as_str() > after.as_str()) {
                    codes.insert(code.as_str().to_owned(), code);
                }
            }
            while codes.len() > limit {
                codes.pop_last();
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    /// The room code of a meta hash's key name; `None` for names of another shape.
    fn room_code_of(&self, name: &[u8]) -> Option<RoomCode> {
        let text = self.keys().code_of_meta(std::str::from_utf8(name).ok()?)?;
        RoomCode::parse(text).ok().filter(|code| code.as_str() == text)
    }

    /// The room as of one instant: read in chunks, and in one script when writes keep moving it.
    pub(crate) async fn read_room_snapshot(&self, code: &RoomCode) -> Result<RoomSnapshot> {
        let keys = self.room_keys(code);
        let mut tasks = 0;
        for _ in 0..CHUNKED_ATTEMPTS {
            match self.snapshot_in_chunks(code, &keys).await? {
                Attempt::Whole(snapshot) => return Ok(snapshot),
                Attempt::Moved { tasks: at_start } => tasks = at_start,
            }
        }
        self.snapshot_at_once(code, &keys, tasks).await
    }

    /// The room read in bounded steps, unless its sequence moved meanwhile.
    async fn snapshot_in_chunks(&self, code: &RoomCode, keys: &RoomKeys) -> Result<Attempt> {
        let head = self.read_head(code, keys).await?;
        let numbers = self.hscan_all(keys.idempotency()).await?;
        let fingerprints = self.hscan_all(keys.fingerprints()).await?;
        let tasks = self.read_tasks(keys).await?;
        let mut read_seq = redis::cmd("HGET");
        read_seq.arg(keys.meta()).arg("seq");
        let seq: Option<u64> = self.query(read_seq).await?;
        if seq != Some(head.seq) {
            return Ok(Attempt::Moved { tasks: head.total });
        }
        let tasks = tasks
            .into_iter()
            .map(|json| json.ok_or_else(|| corrupt(format!("room {code}: a task of the number index has no hash"))))
            .map(|json| json.and_then(|json| from_json(&json)))
            .collect::<Result<_>>()?;
        let stored_keys = numbers
            .iter()
            .map(|(key, number)| stored_key(key, number, fingerprints.get(key).map_or("", String::as_str)))
            .collect::<Result<_>>()?;
        Ok(Attempt::Whole(RoomSnapshot {
            room: stored_room(code, &head.owner, &head.created, &head.members)?,
            last_number: head.next,
            last_seq: head.seq,
            tasks,
            keys: stored_keys,
        }))
    }

    /// The meta fields and members of the room (`NotFound` when there is no room).
    async fn read_head(&self, code: &RoomCode, keys: &RoomKeys) -> Result<Head> {
        let mut pipe = redis::pipe();
        pipe.hmget(keys.meta(), &["owner", "created", "next", "seq", "total"]).lrange(keys.members(), 0, -1);
        let (meta, members): (Vec<Option<String>>, Vec<String>) = self.query_pipe(pipe).await?;
        let [Some(owner), Some(created), Some(next), Some(seq), Some(total)] =
            <[Option<String>; 5]>::try_from(meta).map_err(|_| corrupt("HMGET answered another number of fields"))?
        else {
            return Err(Error::room_not_found(code));
        };
        Ok(Head {
            owner,
            created,
            next: stored_number(&next, "last task number")?,
            seq: stored_number(&seq, "sequence")?,
            total: stored_number(&total, "task count")?,
            members,
        })
    }

    /// Every field of the hash `key`, read with `HSCAN` a page at a time, in key order.
    async fn hscan_all(&self, key: String) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let mut cursor = 0_u64;
        loop {
            let mut scan = redis::cmd("HSCAN");
            scan.arg(&key).arg(cursor).arg("COUNT").arg(PAGE);
            let (next, flat): (u64, Vec<String>) = self.query(scan).await?;
            let mut fields = flat.into_iter();
            while let (Some(field), Some(value)) = (fields.next(), fields.next()) {
                out.insert(field, value);
            }
            if next == 0 {
                return Ok(out);
            }
            cursor = next;
        }
    }

    /// The JSON of every task in number order (`None` for a hash gone meanwhile): the number
    /// index a page at a time, each page's JSON in one pipeline.
    async fn read_tasks(&self, keys: &RoomKeys) -> Result<Vec<Option<String>>> {
        let index = keys.index(SortKey::Number);
        let mut out = Vec::new();
        let mut after = "-".to_owned();
        loop {
            let mut range = redis::cmd("ZRANGEBYLEX");
            range.arg(&index).arg(&after).arg("+").arg("LIMIT").arg(0).arg(PAGE);
            let members: Vec<String> = self.query(range).await?;
            let Some(last) = members.last() else { return Ok(out) };
            let mut pipe = redis::pipe();
            for member in &members {
                let number = number_in(member).ok_or_else(|| corrupt("number index member has no number"))?;
                pipe.hget(keys.task(number), "j");
            }
            let jsons: Vec<Option<String>> = self.query_pipe(pipe).await?;
            out.extend(jsons);
            if members.len() < PAGE {
                return Ok(out);
            }
            after = format!("({last}");
        }
    }

    /// The room, of about `tasks` tasks, read by `read_room.lua` in one atomic step.
    async fn snapshot_at_once(&self, code: &RoomCode, keys: &RoomKeys, tasks: u64) -> Result<RoomSnapshot> {
        let mut invocation = self.scripts().transfer.read_room.key(keys.meta());
        invocation.key(keys.members()).key(keys.idempotency()).key(keys.fingerprints());
        invocation.key(keys.index(SortKey::Number)).arg(&keys.base);
        let reply = self.invoke_long(&invocation, tasks, Waits::NoReplicas).await?;
        parse_room(code, reply.rest(0))
    }

    /// Imports `snapshot`: checked, staged in chunks, committed in one step.
    pub(crate) async fn write_room_snapshot(
        &self,
        snapshot: &RoomSnapshot,
        on_conflict: OnConflict,
    ) -> Result<Imported> {
        snapshot.check(self.options())?;
        check_exact(snapshot)?;
        let code = &snapshot.room.code;
        let room = self.room_keys(code);
        let staging = room.staging();
        let token = new_token();
        let replace = on_conflict == OnConflict::Replace;
        let Some(replaced_tasks) = self.begin_import(snapshot, &room, &staging, &token, replace).await? else {
            return taken(code, on_conflict);
        };
        let committed = match self.stage(snapshot, &staging, &token).await {
            Ok(()) => self.commit(snapshot, &room, &staging, &token, replace, replaced_tasks).await,
            Err(err) => Err(err),
        };
        if committed.is_err() {
            self.abort_import(&staging, &token).await;
        }
        let imported = match committed? {
            Committed::Created => Imported::Created,
            Committed::Replaced => Imported::Replaced,
            Committed::Taken => return taken(code, on_conflict),
        };
        self.announce(code);
        Ok(imported)
    }

    /// Drops a leftover staging and stages the meta and members; the number of tasks the room
    /// holds now (0 when there is none), or `None` when it exists and is not to be replaced
    /// (nothing written).
    async fn begin_import(
        &self,
        snapshot: &RoomSnapshot,
        room: &RoomKeys,
        staging: &RoomKeys,
        token: &str,
        replace: bool,
    ) -> Result<Option<u64>> {
        let mut invocation = self.scripts().transfer.import_begin.key(room.meta());
        invocation.key(staging.fixed()).arg(&staging.base).arg(token).arg(if replace { "replace" } else { "keep" });
        invocation
            .arg(snapshot.room.owner.as_str())
            .arg(unix_micros(snapshot.room.created_at))
            .arg(snapshot.last_number);
        for member in &snapshot.room.members {
            invocation.arg(member.key()).arg(member.as_str());
        }
        let reply = self.invoke(&invocation).await?;
        match reply.status() {
            "ok" => stored_number(reply.get(1), "task count").map(Some),
            "taken" => Ok(None),
            other => Err(corrupt(format!("unexpected reply {other:?} of import_begin"))),
        }
    }

    /// Writes the tasks and keys into the staging, [`CALLS_PER_TRIP`] script calls per round trip.
    async fn stage(&self, snapshot: &RoomSnapshot, staging: &RoomKeys, token: &str) -> Result<()> {
        let script = &self.scripts().transfer.import_stage;
        let mut conn = self.conn();
        // Loaded first: a pipeline's EVALSHA does not load a missing script.
        self.run(script.load_async(&mut conn)).await?;
        let chunks: Vec<Chunk<'_>> = snapshot
            .tasks
            .chunks(TASKS_PER_CALL)
            .map(Chunk::Tasks)
            .chain(snapshot.keys.chunks(KEYS_PER_CALL).map(Chunk::Keys))
            .collect();
        for trip in chunks.chunks(CALLS_PER_TRIP) {
            let mut pipe = redis::pipe();
            for chunk in trip {
                let mut invocation = script.key(staging.meta());
                invocation.key(staging.idempotency()).key(staging.fingerprints());
                invocation.arg(&staging.base).arg(token).arg(chunk_args(chunk)?);
                pipe.invoke_script(&invocation);
            }
            let replies: Vec<Vec<String>> = self.query_pipe(pipe).await?;
            if let Some(refused) = replies.iter().find(|reply| reply.first().map(String::as_str) != Some("ok")) {
                return Err(refusal(&snapshot.room.code, refused.first().map_or("", String::as_str)));
            }
        }
        Ok(())
    }

    /// Swaps the staging in for the room, which held `replaced_tasks` tasks when the import
    /// began, in one script.
    async fn commit(
        &self,
        snapshot: &RoomSnapshot,
        room: &RoomKeys,
        staging: &RoomKeys,
        token: &str,
        replace: bool,
        replaced_tasks: u64,
    ) -> Result<Committed> {
        let fixed = room.fixed();
        let fixed_count = fixed.len();
        let mut invocation = self.scripts().transfer.import_commit.key(fixed);
        invocation.key(staging.fixed());
        for (staged, real) in derived_sets(snapshot, room, staging) {
            invocation.key(staged).key(real);
        }
        invocation.arg(&room.base).arg(&staging.base).arg(token).arg(if replace { "replace" } else { "keep" });
        invocation.arg(snapshot.last_seq).arg(snapshot.tasks.len()).arg(snapshot.keys.len()).arg(fixed_count);
        // The commit renames every staged key and may delete a whole replaced room.
        let work = replaced_tasks.saturating_add(snapshot.tasks.len() as u64);
        let reply = self.invoke_long(&invocation, work, Waits::ForReplicas).await?;
        match reply.status() {
            "created" => Ok(Committed::Created),
            "replaced" => Ok(Committed::Replaced),
            "taken" => Ok(Committed::Taken),
            other => Err(refusal(&snapshot.room.code, other)),
        }
    }

    /// Drops this import's staging, if it is still this import's, within the operation timeout
    /// (so that a failed import answers soon); what is left is for the next import of the room
    /// to drop.
    async fn abort_import(&self, staging: &RoomKeys, token: &str) {
        let mut invocation = self.scripts().transfer.import_abort.key(staging.fixed());
        invocation.arg(&staging.base).arg(token);
        let _ = self.invoke(&invocation).await;
    }

    /// Runs a script on the store's connection within the operation timeout.
    async fn invoke(&self, invocation: &ScriptInvocation<'_>) -> Result<Reply> {
        let mut conn = self.conn();
        self.run(async move { invocation.invoke_async::<Vec<String>>(&mut conn).await }).await.map(Reply::new)
    }

    /// Runs a script whose work grows with `items` (tasks, keys) on a connection of its own,
    /// whose response timeout, like the whole call's, is the operation timeout plus
    /// [`TIME_PER_ITEM`] per item: the store's shared connection would give up on it sooner.
    /// A write waits for the replicas the store requires, as every write does.
    async fn invoke_long(&self, invocation: &ScriptInvocation<'_>, items: u64, waits: Waits) -> Result<Reply> {
        let per_item = u32::try_from(items).unwrap_or(u32::MAX);
        let limit = self.config().operation_timeout_value().saturating_add(TIME_PER_ITEM.saturating_mul(per_item));
        let call = async move {
            let mut conn = self.endpoint().connect_long(self.config(), limit).await?;
            match waits {
                Waits::ForReplicas => self.invoke_acked(conn, invocation).await,
                Waits::NoReplicas => invocation.invoke_async(&mut conn).await.map(|parts| Ok(Reply::new(parts))),
            }
        };
        self.run_within(limit, call).await?
    }
}

/// The answer to an import whose code is taken and not to be replaced.
fn taken(code: &RoomCode, on_conflict: OnConflict) -> Result<Imported> {
    match on_conflict {
        OnConflict::Skip => Ok(Imported::Skipped),
        OnConflict::Fail | OnConflict::Replace => Err(Error::room_exists(code)),
    }
}

/// The error of an import step's refusal: the staging was taken over by another import of the
/// room (`lost`), or is not what was staged (`incomplete`).
fn refusal(code: &RoomCode, status: &str) -> Error {
    match status {
        "lost" => Error::Unavailable {
            message: format!("another import of room {code} started meanwhile and took over; this one wrote nothing"),
            source: None,
        },
        "incomplete" => corrupt(format!("the staged import of room {code} is not the snapshot; nothing was written")),
        other => corrupt(format!("unexpected reply {other:?} of an import step")),
    }
}

/// Refuses numbers the Lua scripts cannot compute with exactly (beyond `2^53 - 1`), which no
/// real room reaches.
fn check_exact(snapshot: &RoomSnapshot) -> Result<()> {
    let code = &snapshot.room.code;
    if snapshot.last_number > MAX_EXACT {
        return Err(Error::invalid("last_number", format!("room {code}: beyond {MAX_EXACT}, which this store holds")));
    }
    if snapshot.last_seq > MAX_EXACT {
        return Err(Error::invalid("last_seq", format!("room {code}: beyond {MAX_EXACT}, which this store holds")));
    }
    Ok(())
}

/// A token no other import uses: the process, a random number and a counter.
fn new_token() -> String {
    static IMPORTS: AtomicU64 = AtomicU64::new(0);
    let count = IMPORTS.fetch_add(1, Ordering::Relaxed);
    format!("{}-{:016x}-{count}", std::process::id(), RandomState::new().hash_one(count))
}

/// The arguments of one `import_stage.lua` call after the base and token: the task count and
/// each task's values, then the key count and each key's values.
fn chunk_args(chunk: &Chunk<'_>) -> Result<Vec<String>> {
    let mut args = Vec::new();
    match chunk {
        Chunk::Tasks(tasks) => {
            args.push(tasks.len().to_string());
            for task in *tasks {
                args.extend([
                    task.number.to_string(),
                    task.id.to_string(),
                    task.version.to_string(),
                    to_json(task)?,
                    task.search_text(),
                ]);
                args.extend(indexed_fields(task, true));
            }
            args.push("0".to_owned());
        }
        Chunk::Keys(keys) => {
            args.extend(["0".to_owned(), keys.len().to_string()]);
            for stored in *keys {
                args.extend([
                    stored.key.as_str().to_owned(),
                    stored.number.to_string(),
                    stored.fingerprint.as_ref().map(|f| f.as_str().to_owned()).unwrap_or_default(),
                ]);
            }
        }
    }
    Ok(args)
}

/// The staged name and the room's name of every tag and assignee set of the imported room.
fn derived_sets(snapshot: &RoomSnapshot, room: &RoomKeys, staging: &RoomKeys) -> Vec<(String, String)> {
    let tags: BTreeSet<&str> =
        snapshot.tasks.iter().flat_map(|task| task.tags.iter().map(|tag| tag.as_str())).collect();
    let assignees: BTreeSet<String> =
        snapshot.tasks.iter().filter_map(|task| task.assignee.as_ref()).map(|a| a.key()).collect();
    let tag_sets = tags.into_iter().map(|tag| (staging.tag_set(tag), room.tag_set(tag)));
    tag_sets.chain(assignees.iter().map(|key| (staging.assignee_set(key), room.assignee_set(key)))).collect()
}

/// An idempotency key as stored: key, task number and fingerprint (`''` for none).
fn stored_key(key: &str, number: &str, fingerprint: &str) -> Result<StoredKey> {
    let number = stored_number(number, "task number of an idempotency key")?;
    let fingerprint = Some(fingerprint).filter(|text| !text.is_empty());
    StoredKey::from_stored(key, number, fingerprint).map_err(|e| Error::backend("stored idempotency key is invalid", e))
}

/// The snapshot in the reply of `read_room.lua` (see there); `NotFound` for an empty reply.
fn parse_room(code: &RoomCode, reply: &[String]) -> Result<RoomSnapshot> {
    let mut parts = reply.iter().map(String::as_str);
    let mut next = || parts.next().ok_or_else(|| corrupt("the reply of read_room is cut short"));
    let Ok(owner) = next() else { return Err(Error::room_not_found(code)) };
    let created = next()?;
    let last_number = stored_number(next()?, "last task number")?;
    let last_seq = stored_number(next()?, "sequence")?;
    let member_count = stored_number(next()?, "member count")?;
    let members = (0..member_count).map(|_| next().map(str::to_owned)).collect::<Result<Vec<_>>>()?;
    let key_count = stored_number(next()?, "key count")?;
    let mut keys = (0..key_count).map(|_| stored_key(next()?, next()?, next()?)).collect::<Result<Vec<_>>>()?;
    keys.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let mut tasks = Vec::new();
    while let Ok(json) = next() {
        if json.is_empty() {
            return Err(corrupt(format!("room {code}: a task of the number index has no hash")));
        }
        tasks.push(from_json(json)?);
    }
    Ok(RoomSnapshot { room: stored_room(code, owner, created, &members)?, last_number, last_seq, tasks, keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ() {
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn a_cut_reply_is_corrupt_and_an_empty_one_no_room() {
        let code = RoomCode::parse("ABCD").unwrap();
        assert!(matches!(parse_room(&code, &[]), Err(Error::NotFound(taskcore::Missing::Room(_)))));
        let cut: Vec<String> = ["alice", "0", "0", "0", "2", "alice"].map(str::to_owned).to_vec();
        assert!(matches!(parse_room(&code, &cut), Err(Error::Backend { .. })));
        let whole: Vec<String> = ["alice", "0", "3", "4", "1", "alice", "0"].map(str::to_owned).to_vec();
        let snapshot = parse_room(&code, &whole).unwrap();
        assert_eq!((snapshot.last_number, snapshot.last_seq, snapshot.room.members.len()), (3, 4, 1));
    }
}
