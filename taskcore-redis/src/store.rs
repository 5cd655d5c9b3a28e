//! [`RedisStore`]: the [`TaskStore`] over Redis. Writes are one Lua script each (see
//! `scripts/`); reads are one `MULTI`/`EXEC` pipeline, and listings are bounded steps (see
//! `query/`). Every call is bounded by the operation timeout and maps driver failures to
//! `Unavailable` or `Backend`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::{ErrorKind, FromRedisValue, RedisResult, Script, ScriptInvocation, ServerErrorKind};
use taskcore::store::{TaskCounts, TaskDraft, TaskWrite, check_since, from_unix_micros, replay, unix_micros};
use taskcore::{
    ChangeBatch, Error, IdempotencyKey, Imported, Inserted, MemberName, OnConflict, PriorityCounts, Quota, Result,
    Room, RoomCode, RoomSnapshot, StoreOptions, Task, TaskPage, TaskQuery, TaskStore,
};
use time::OffsetDateTime;

use crate::config::RedisConfig;
use crate::connection::{AckConnections, Connection, Endpoint};
use crate::error::{from_redis, timed_out};
use crate::keys::{Keys, RoomKeys, SCHEMA_VERSION};

use crate::notices::Notices;
use crate::row::{
    corrupt, encode_instant, from_json, indexed_fields, parse_change, split_at_number, to_json, write_record,
};
use crate::script::{Reply, Scripts};

/// A [`TaskStore`] in Redis, shared by every process that opens the same URL and prefix.
///
/// Cheap to clone (clones share one auto-reconnecting connection). See the
/// [crate docs](crate) for the key layout, atomicity and durability.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Connection,
    /// Where the connections come from: the shared one, the subscriber of write notices, and
    /// one of its own for a long call.
    endpoint: Endpoint,
    /// The connections of writes that wait for replicas (unused when `replica_acks` is 0).
    ack_connections: AckConnections,
    notices: Notices,
    keys: Keys,
    options: StoreOptions,
    scripts: Scripts,
    config: RedisConfig,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("config", &self.inner.config)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis at `url` with the settings its query string gives and defaults for
    /// the rest (see [`RedisConfig::from_url`]): `redis://127.0.0.1:6379/0?prefix=myapp`.
    /// Errors as for [`RedisStore::open_with`]; an unknown or malformed parameter is
    /// `Invalid`.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(RedisConfig::from_url(url)?).await
    }

    /// Connects to the Redis of `config` and checks the schema version of its prefix (writing
    /// it on first use).
    ///
    /// - bad URL or prefix → `Invalid` on `url` or `prefix`;
    /// - Redis unreachable within the operation timeout → `Unavailable`;
    /// - the prefix holds data of a newer major schema version → `Backend`.
    ///
    /// The connection reconnects by itself: after a Redis restart the same store works again.
    /// On a Redis Cluster (`redis+cluster://` seeds) it follows the slots across failovers.
    pub async fn open_with(config: RedisConfig) -> Result<Self> {
        config.check()?;
        let endpoint = Endpoint::of(&config)?;
        let conn = endpoint.connect(&config).await?;
        let store = Self {
            inner: Arc::new(Inner {
                conn,
                notices: Notices::new(config.key_prefix(), endpoint.is_cluster()),
                ack_connections: AckConnections::new(config.ack_connections_value()),
                endpoint,
                keys: Keys::new(config.key_prefix()),
                options: config.options(),
                scripts: Scripts::new(),
                config,
            }),
        };
        store.check_schema().await?;
        Ok(store)
    }

    /// The key prefix (namespace) of this store.
    pub fn prefix(&self) -> &str {
        self.inner.config.key_prefix()
    }

    async fn check_schema(&self) -> Result<()> {
        let key = self.inner.keys.schema();
        let mut conn = self.conn();
        let (stored,): (String,) = self
            .run(async move {
                redis::pipe()
                    .cmd("SET")
                    .arg(&key)
                    .arg(SCHEMA_VERSION)
                    .arg("NX")
                    .ignore()
                    .get(&key)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let major: u32 = stored.split('.').next().and_then(|major| major.parse().ok()).ok_or_else(|| {
            corrupt(format!("schema version {stored:?} of prefix {} is not a version", self.prefix()))
        })?;
        if major > SCHEMA_VERSION {
            return Err(corrupt(format!(
                "prefix {} holds schema version {stored}, newer than the {SCHEMA_VERSION} this build of \
                 taskcore-redis understands; upgrade taskcore-redis",
                self.prefix()
            )));
        }
        Ok(())
    }

    /// Tells every process sharing this prefix that `code` was written to (see `notices`).
    pub(crate) fn announce(&self, code: &RoomCode) {
        self.inner.notices.publish(&self.inner.conn, code);
    }

    pub(crate) fn conn(&self) -> Connection {
        self.inner.conn.clone()
    }

    /// Whether the store is on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.inner.endpoint.is_cluster()
    }

    pub(crate) fn scripts(&self) -> &Scripts {
        &self.inner.scripts
    }

    pub(crate) fn room_keys(&self, code: &RoomCode) -> RoomKeys {
        self.inner.keys.room(code)
    }

    /// The key names of this store's namespace.
    pub(crate) fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// The store's options (retention, quotas).
    pub(crate) fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The store's settings.
    pub(crate) fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    /// Where the store's connections come from, for a connection of its own.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    fn retention(&self) -> String {
        self.inner.options.retention().to_string()
    }

    /// Runs one Redis call within the operation timeout.
    pub(crate) async fn run<T>(&self, call: impl Future<Output = RedisResult<T>>) -> Result<T> {
        self.run_within(self.inner.config.operation_timeout_value(), call).await
    }

    /// Runs one Redis call within `limit`.
    pub(crate) async fn run_within<T>(&self, limit: Duration, call: impl Future<Output = RedisResult<T>>) -> Result<T> {
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result.map_err(from_redis),
            Err(_) => Err(timed_out(limit)),
        }
    }

    /// Runs one command within the operation timeout.
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T> {
        let mut conn = self.conn();
        self.run(async move { cmd.query_async(&mut conn).await }).await
    }

    /// Runs one pipeline (one round trip; atomic if it was made so) within the operation timeout.
    pub(crate) async fn query_pipe<T: FromRedisValue>(&self, pipe: redis::Pipeline) -> Result<T> {
        let mut conn = self.conn();
        self.run(async move { pipe.query_async(&mut conn).await }).await
    }

    /// The most index entries or set members one Redis call of a listing looks at.
    pub(crate) fn scan_step(&self) -> usize {
        self.inner.config.scan_step_value()
    }

    /// The listing step script.
    pub(crate) fn list_step_script(&self) -> &Script {
        &self.inner.scripts.list_step
    }

    /// Runs a script of the room: `KEYS[1]` is the room's meta hash, `ARGV[1]` its key base.
    pub(crate) async fn eval(&self, script: &Script, room: &RoomKeys, args: &[String]) -> Result<Reply> {
        let invocation = invocation(script, room, args);
        let mut conn = self.conn();
        self.run(async move { invocation.invoke_async::<Vec<String>>(&mut conn).await }).await.map(Reply::new)
    }

    /// Runs a write script of the room, as [`eval`](Self::eval), then waits for the replicas
    /// the store requires (see [`invoke_acked`](Self::invoke_acked)).
    pub(crate) async fn eval_write(&self, script: &Script, room: &RoomKeys, args: &[String]) -> Result<Reply> {
        if self.inner.config.replica_acks_value() == 0 {
            return self.eval(script, room, args).await;
        }
        let invocation = invocation(script, room, args);
        // Made on first use, within the operation timeout (a cluster connection connects now).
        let conn = self.inner.ack_connections.next(&self.inner.endpoint, &self.inner.config).await?;
        self.run(self.invoke_acked(conn, &invocation)).await?
    }

    /// Runs a write script on `conn`. When the store waits for replicas
    /// ([`RedisConfig::replica_acks`]), `WAIT n` follows the script in the same round trip on the
    /// same connection, so the reply comes only once `n` replicas have the write; fewer within
    /// the timeout is `Unavailable`. (The outer result is the call's, the inner the answer's.)
    pub(crate) async fn invoke_acked(
        &self,
        mut conn: Connection,
        invocation: &ScriptInvocation<'_>,
    ) -> RedisResult<Result<Reply>> {
        let acks = self.inner.config.replica_acks_value();
        if acks == 0 {
            return invocation.invoke_async::<Vec<String>>(&mut conn).await.map(|parts| Ok(Reply::new(parts)));
        }
        let timeout = self.inner.config.replica_ack_timeout_value();
        let mut pipe = redis::pipe();
        pipe.invoke_script(invocation).cmd("WAIT").arg(acks).arg(timeout.as_millis());
        let (parts, acked): (Vec<String>, u32) = match pipe.query_async(&mut conn).await {
            // A pipelined EVALSHA does not load its script (a failed-over replica has none).
            Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                invocation.load_async(&mut conn).await?;
                pipe.query_async(&mut conn).await?
            }
            answered => answered?,
        };
        if acked < acks {
            return Ok(Err(Error::Unavailable {
                message: format!(
                    "the write was applied but only {acked} of the {acks} replicas required confirmed it within \
                     {timeout:?}; it may be lost if the master fails now"
                ),
                source: None,
            }));
        }
        Ok(Ok(Reply::new(parts)))
    }
}

/// The call of `script` for the room: `KEYS[1]` its meta hash, `ARGV[1]` its key base, then
/// `args`. Every other key a script touches shares the room's hash tag, so its Cluster slot.
fn invocation<'a>(script: &'a Script, room: &RoomKeys, args: &[String]) -> ScriptInvocation<'a> {
    let mut invocation = script.key(room.meta());
    invocation.arg(&room.base);
    for arg in args {
        invocation.arg(arg);
    }
    invocation
}

/// Reads a stored member name back.
fn stored_member(name: &str) -> Result<MemberName> {
    MemberName::parse(name).map_err(|e| Error::backend("stored member name is invalid", e))
}

pub(crate) fn stored_number(text: &str, what: &str) -> Result<u64> {
    text.parse().map_err(|_| corrupt(format!("stored {what} {text:?} is not a number")))
}

pub(crate) fn stored_room(code: &RoomCode, owner: &str, created: &str, members: &[String]) -> Result<Room> {
    let created = from_unix_micros(created.parse().map_err(|_| corrupt("room creation time is not a number"))?)?;
    Ok(Room {
        code: code.clone(),
        owner: stored_member(owner)?,
        members: members.iter().map(|name| stored_member(name)).collect::<Result<_>>()?,
        created_at: created,
    })
}

/// The error of a script's refusal, or `unexpected` if the status is not a refusal.
fn refusal(reply: &Reply, code: &RoomCode, number: u64, expected: u64) -> Error {
    match reply.status() {
        "noroom" => Error::room_not_found(code),
        "notask" => Error::task_not_found(code, number),
        "conflict" => match reply.get(1).parse() {
            Ok(current) => Error::Conflict { expected, current },
            Err(_) => corrupt("stored task version is not a number"),
        },
        other => corrupt(format!("unexpected script reply {other:?}")),
    }
}

#[async_trait]
impl TaskStore for RedisStore {
    fn write_notices(&self) -> Option<tokio::sync::broadcast::Receiver<RoomCode>> {
        Some(self.inner.notices.receiver(&self.inner.endpoint, &self.inner.config))
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn();
        self.run(async move { Endpoint::ping(&mut conn).await }).await
    }

    async fn insert_room(&self, room: &Room) -> Result<()> {
        let mut args = vec![room.owner.as_str().to_owned(), unix_micros(room.created_at).to_string()];
        for member in &room.members {
            args.extend([member.key(), member.as_str().to_owned()]);
        }
        let reply = self.eval_write(&self.inner.scripts.insert_room, &self.room_keys(&room.code), &args).await?;
        match reply.status() {
            "ok" => Ok(()),
            "exists" => Err(Error::room_exists(&room.code)),
            _ => Err(refusal(&reply, &room.code, 0, 0)),
        }
    }

    async fn room(&self, code: &RoomCode) -> Result<Room> {
        let keys = self.room_keys(code);
        let ((owner, created), members): ((Option<String>, Option<String>), Vec<String>) = self
            .snapshot(
                keys.meta(),
                redis::pipe().hmget(keys.meta(), &["owner", "created"]).lrange(keys.members(), 0, -1),
            )
            .await?;
        match (owner, created) {
            (Some(owner), Some(created)) => stored_room(code, &owner, &created, &members),
            _ => Err(Error::room_not_found(code)),
        }
    }

    async fn add_member(&self, code: &RoomCode, member: &MemberName, at: OffsetDateTime) -> Result<Room> {
        let quota = self.inner.options.member_quota();
        let args = [
            self.retention(),
            member.key(),
            member.as_str().to_owned(),
            unix_micros(at).to_string(),
            quota.to_string(),
        ];
        let reply = self.eval_write(&self.inner.scripts.add_member, &self.room_keys(code), &args).await?;
        match reply.status() {
            "ok" => {
                self.announce(code);
                stored_room(code, reply.get(1), reply.get(2), reply.rest(3))
            }
            "quota" => Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit: quota }),
            _ => Err(refusal(&reply, code, 0, 0)),
        }
    }

    async fn insert_task(&self, code: &RoomCode, draft: TaskDraft, key: Option<&IdempotencyKey>) -> Result<Inserted> {
        let quota = self.inner.options.task_quota();
        let fingerprint = key.map(|_| draft.fingerprint());
        let mut task = draft.into_task(0);
        let (before, after) = split_at_number(&task)?;
        let mut args = vec![
            self.retention(),
            key.map(|k| k.as_str().to_owned()).unwrap_or_default(),
            task.id.to_string(),
            before,
            after,
            task.search_text(),
            unix_micros(task.created_at).to_string(),
        ];
        args.extend(indexed_fields(&task, false));
        args.extend([quota.to_string(), fingerprint.as_ref().map(|f| f.as_str().to_owned()).unwrap_or_default()]);
        let reply = self.eval_write(&self.inner.scripts.insert_task, &self.room_keys(code), &args).await?;
        match (reply.status(), key) {
            ("created", _) => {
                task.number = stored_number(reply.get(1), "task number")?;
                self.announce(code);
                Ok(Inserted::Created(task))
            }
            ("used", Some(key)) => {
                let number = stored_number(reply.get(1), "task number")?;
                let stored = Some(reply.get(2)).filter(|fingerprint| !fingerprint.is_empty());
                let created = Some(reply.get(3)).filter(|json| !json.is_empty()).map(from_json).transpose()?;
                let request = fingerprint.as_ref().ok_or_else(|| corrupt("a used key without a fingerprint"))?;
                replay(key, stored, request, created, number)
            }
            ("quota", _) => Err(Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit: quota }),
            _ => Err(refusal(&reply, code, 0, 0)),
        }
    }

    async fn task(&self, code: &RoomCode, number: u64) -> Result<Task> {
        let keys = self.room_keys(code);
        let (room_exists, json): (bool, Option<String>) =
            self.snapshot(keys.meta(), redis::pipe().exists(keys.meta()).hget(keys.task(number), "j")).await?;
        match (room_exists, json) {
            (false, _) => Err(Error::room_not_found(code)),
            (true, None) => Err(Error::task_not_found(code, number)),
            (true, Some(json)) => from_json(&json),
        }
    }

    async fn update_task(&self, code: &RoomCode, task: &Task, expected_version: u64, write: TaskWrite) -> Result<Task> {
        let mut args = vec![
            self.retention(),
            task.number.to_string(),
            expected_version.to_string(),
            task.version.to_string(),
            to_json(task)?,
            task.search_text(),
            write_record(task, write)?,
        ];
        args.extend(indexed_fields(task, true));
        let reply = self.eval_write(&self.inner.scripts.update_task, &self.room_keys(code), &args).await?;
        match reply.status() {
            "ok" => {
                self.announce(code);
                Ok(task.clone())
            }
            _ => Err(refusal(&reply, code, task.number, expected_version)),
        }
    }

    async fn delete_task(
        &self,
        code: &RoomCode,
        number: u64,
        expected_version: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<Task> {
        let args = [
            self.retention(),
            number.to_string(),
            expected_version.map(|v| v.to_string()).unwrap_or_default(),
            unix_micros(at).to_string(),
        ];
        let reply = self.eval_write(&self.inner.scripts.delete_task, &self.room_keys(code), &args).await?;
        match reply.status() {
            "ok" => {
                self.announce(code);
                from_json(reply.get(1))
            }
            _ => Err(refusal(&reply, code, number, expected_version.unwrap_or_default())),
        }
    }

    async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<TaskPage> {
        crate::query::list_tasks(self, code, query, now).await
    }

    async fn counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<TaskCounts> {
        let keys = self.room_keys(code);
        let (fields, overdue): (Vec<Option<u64>>, u64) = self
            .snapshot(
                keys.meta(),
                redis::pipe().hmget(keys.meta(), &["total", "done", "p0", "p1", "p2"]).zlexcount(
                    keys.pending_due(),
                    "-",
                    format!("({}", encode_instant(now)),
                ),
            )
            .await?;
        let [Some(total), Some(completed), Some(low), Some(medium), Some(high)] = fields[..] else {
            return Err(Error::room_not_found(code));
        };
        Ok(TaskCounts { total, completed, overdue, by_priority: PriorityCounts { low, medium, high } })
    }

    async fn latest_seq(&self, code: &RoomCode) -> Result<u64> {
        let keys = self.room_keys(code);
        let mut conn = self.conn();
        let latest: Option<u64> = self
            .run(async move { redis::cmd("HGET").arg(keys.meta()).arg("seq").query_async(&mut conn).await })
            .await?;
        latest.ok_or_else(|| Error::room_not_found(code))
    }

    async fn room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
        self.scan_room_codes(after, limit).await
    }

    async fn snapshot_room(&self, code: &RoomCode) -> Result<RoomSnapshot> {
        self.read_room_snapshot(code).await
    }

    async fn import_room(&self, snapshot: RoomSnapshot, on_conflict: OnConflict) -> Result<Imported> {
        self.write_room_snapshot(&snapshot, on_conflict).await
    }

    async fn changes(&self, code: &RoomCode, since: u64, limit: u32) -> Result<ChangeBatch> {
        let keys = self.room_keys(code);
        let (latest, oldest, members): (Option<u64>, Vec<String>, Vec<String>) = self
            .snapshot(
                keys.meta(),
                redis::pipe().hget(keys.meta(), "seq").zrange(keys.changes(), 0, 0).zrangebyscore_limit(
                    keys.changes(),
                    format!("({since}"),
                    "+inf",
                    0,
                    isize::try_from(limit).unwrap_or(isize::MAX),
                ),
            )
            .await?;
        let latest = latest.ok_or_else(|| Error::room_not_found(code))?;
        let oldest = match oldest.first() {
            Some(member) => Some(parse_change(member)?.seq),
            None => None,
        };
        check_since(since, oldest, latest)?;
        let changes = members.iter().map(|member| parse_change(member)).collect::<Result<_>>()?;
        Ok(ChangeBatch { changes, latest })
    }
}
