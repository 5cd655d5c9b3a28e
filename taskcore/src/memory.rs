//! [`MemoryStore`]: a complete [`TaskStore`] in process memory, for tests, examples and
//! embedding where nothing needs to outlive the process. Each room sits behind its own mutex,
//! held only for synchronous work (never across an `.await`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::changes::{Change, ChangeBatch, ChangeEvent, TaskWrite, check_since, first_kept_seq};
use crate::error::{Error, Quota, Result};
use crate::fingerprint::{RequestFingerprint, replay};
use crate::input::IdempotencyKey;
use crate::query::{TaskPage, TaskQuery};
use crate::room::{MemberName, Room, RoomCode};
use crate::snapshot::{Imported, OnConflict, RoomSnapshot, StoredKey};
use crate::stats::TaskCounts;
use crate::store::{Inserted, StoreOptions, TaskStore};
use crate::task::{Task, TaskDraft};

/// A [`TaskStore`] in memory. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    rooms: Arc<RwLock<HashMap<RoomCode, Arc<Mutex<RoomState>>>>>,
    options: StoreOptions,
}

#[derive(Debug)]
struct RoomState {
    room: Room,
    tasks: BTreeMap<u64, Task>,
    last_number: u64,
    changes: VecDeque<Change>,
    last_seq: u64,
    /// Each key used in the room: the task number it created and the request's fingerprint.
    idempotency: HashMap<IdempotencyKey, (u64, Option<RequestFingerprint>)>,
}

impl RoomState {
    /// The state of an imported room: `snapshot`'s, with an empty feed at `last_seq`.
    fn imported(snapshot: RoomSnapshot, last_seq: u64) -> Self {
        let RoomSnapshot { room, last_number, tasks, keys, .. } = snapshot;
        Self {
            room,
            tasks: tasks.into_iter().map(|task| (task.number, task)).collect(),
            last_number,
            changes: VecDeque::new(),
            last_seq,
            idempotency: keys.into_iter().map(|stored| (stored.key, (stored.number, stored.fingerprint))).collect(),
        }
    }

    fn snapshot(&self) -> RoomSnapshot {
        let mut keys: Vec<StoredKey> = self
            .idempotency
            .iter()
            .map(|(key, (number, fingerprint))| StoredKey {
                key: key.clone(),
                number: *number,
                fingerprint: fingerprint.clone(),
            })
            .collect();
        keys.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        RoomSnapshot {
            room: self.room.clone(),
            last_number: self.last_number,
            last_seq: self.last_seq,
            tasks: self.tasks.values().cloned().collect(),
            keys,
        }
    }

    fn append(&mut self, at: OffsetDateTime, event: ChangeEvent, retention: u64) {
        self.last_seq += 1;
        self.changes.push_back(Change { seq: self.last_seq, at, event });
        let first_kept = first_kept_seq(self.last_seq, retention);
        while self.changes.front().is_some_and(|c| c.seq < first_kept) {
            self.changes.pop_front();
        }
    }

    fn task(&self, number: u64) -> Result<&Task> {
        self.tasks.get(&number).ok_or_else(|| Error::task_not_found(&self.room.code, number))
    }
}

impl MemoryStore {
    /// An empty store with default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with `options`.
    pub fn with_options(options: StoreOptions) -> Self {
        Self { rooms: Arc::default(), options }
    }

    fn room_state(&self, code: &RoomCode) -> Result<Arc<Mutex<RoomState>>> {
        let rooms = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        rooms.get(code).cloned().ok_or_else(|| Error::room_not_found(code))
    }

    fn with_room<T>(&self, code: &RoomCode, f: impl FnOnce(&mut RoomState) -> Result<T>) -> Result<T> {
        let state = self.room_state(code)?;
        let mut guard: MutexGuard<'_, RoomState> = state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

#[async_trait]
impl TaskStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn insert_room(&self, room: &Room) -> Result<()> {
        let mut rooms = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
        if rooms.contains_key(&room.code) {
            return Err(Error::room_exists(&room.code));
        }
        let state = RoomState {
            room: room.clone(),
            tasks: BTreeMap::new(),
            last_number: 0,
            changes: VecDeque::new(),
            last_seq: 0,
            idempotency: HashMap::new(),
        };
        rooms.insert(room.code.clone(), Arc::new(Mutex::new(state)));
        Ok(())
    }

    async fn room(&self, code: &RoomCode) -> Result<Room> {
        self.with_room(code, |state| Ok(state.room.clone()))
    }

    async fn add_member(&self, code: &RoomCode, member: &MemberName, at: OffsetDateTime) -> Result<Room> {
        let (retention, quota) = (self.options.retention(), self.options.member_quota());
        self.with_room(code, |state| {
            if !state.room.has_member(member) {
                if state.room.members.len() as u64 >= quota {
                    return Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit: quota });
                }
                state.room.members.push(member.clone());
                state.append(at, ChangeEvent::MemberJoined { member: member.clone() }, retention);
            }
            Ok(state.room.clone())
        })
    }

    async fn insert_task(&self, code: &RoomCode, draft: TaskDraft, key: Option<&IdempotencyKey>) -> Result<Inserted> {
        let (retention, quota) = (self.options.retention(), self.options.task_quota());
        self.with_room(code, |state| {
            if let Some(key) = key
                && let Some((number, fingerprint)) = state.idempotency.get(key)
            {
                let created = state.tasks.get(number).cloned();
                let stored = fingerprint.as_ref().map(RequestFingerprint::as_str);
                return replay(key, stored, &draft.fingerprint(), created, *number);
            }
            if state.tasks.len() as u64 >= quota {
                return Err(Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit: quota });
            }
            let fingerprint = key.map(|_| draft.fingerprint());
            state.last_number += 1;
            let task = draft.into_task(state.last_number);
            state.tasks.insert(task.number, task.clone());
            if let (Some(key), Some(fingerprint)) = (key, fingerprint) {
                state.idempotency.insert(key.clone(), (task.number, Some(fingerprint)));
            }
            state.append(task.created_at, ChangeEvent::TaskCreated { task: task.clone() }, retention);
            Ok(Inserted::Created(task))
        })
    }

    async fn task(&self, code: &RoomCode, number: u64) -> Result<Task> {
        self.with_room(code, |state| state.task(number).cloned())
    }

    async fn update_task(&self, code: &RoomCode, task: &Task, expected_version: u64, write: TaskWrite) -> Result<Task> {
        let retention = self.options.retention();
        self.with_room(code, |state| {
            let current = state.task(task.number)?.version;
            if current != expected_version {
                return Err(Error::Conflict { expected: expected_version, current });
            }
            state.tasks.insert(task.number, task.clone());
            state.append(task.updated_at, ChangeEvent::of_task_write(write, task.clone()), retention);
            Ok(task.clone())
        })
    }

    async fn delete_task(
        &self,
        code: &RoomCode,
        number: u64,
        expected_version: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<Task> {
        let retention = self.options.retention();
        self.with_room(code, |state| {
            let current = state.task(number)?.version;
            if let Some(expected) = expected_version
                && expected != current
            {
                return Err(Error::Conflict { expected, current });
            }
            let task = state.tasks.remove(&number).ok_or_else(|| Error::task_not_found(code, number))?;
            state.append(at, ChangeEvent::TaskDeleted { number, id: task.id }, retention);
            Ok(task)
        })
    }

    async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<TaskPage> {
        self.with_room(code, |state| {
            let matching: Vec<&Task> = state.tasks.values().filter(|t| query.matches(t, now)).collect();
            let matched = matching.len() as u64;
            let mut rows: Vec<Task> = matching.into_iter().filter(|t| query.is_after_cursor(t)).cloned().collect();
            rows.sort_by(|a, b| query.compare(a, b));
            rows.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX).saturating_add(1));
            Ok(TaskPage::from_rows(rows, query, matched, state.tasks.len() as u64))
        })
    }

    async fn counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<TaskCounts> {
        self.with_room(code, |state| Ok(TaskCounts::of(state.tasks.values(), now)))
    }

    async fn latest_seq(&self, code: &RoomCode) -> Result<u64> {
        self.with_room(code, |state| Ok(state.last_seq))
    }

    async fn room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
        let rooms = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        let mut codes: Vec<RoomCode> =
            rooms.keys().filter(|code| after.is_none_or(|after| code.as_str() > after.as_str())).cloned().collect();
        codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        codes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(codes)
    }

    async fn snapshot_room(&self, code: &RoomCode) -> Result<RoomSnapshot> {
        self.with_room(code, |state| Ok(state.snapshot()))
    }

    async fn import_room(&self, snapshot: RoomSnapshot, on_conflict: OnConflict) -> Result<Imported> {
        snapshot.check(&self.options)?;
        let code = snapshot.room.code.clone();
        let mut rooms = self.rooms.write().unwrap_or_else(PoisonError::into_inner);
        let Some(stored) = rooms.get(&code) else {
            let last_seq = snapshot.imported_seq(None);
            rooms.insert(code, Arc::new(Mutex::new(RoomState::imported(snapshot, last_seq))));
            return Ok(Imported::Created);
        };
        match on_conflict {
            OnConflict::Fail => Err(Error::room_exists(&code)),
            OnConflict::Skip => Ok(Imported::Skipped),
            OnConflict::Replace => {
                // Replaced in place, so that callers holding the room's state see the new room.
                let mut state = stored.lock().unwrap_or_else(PoisonError::into_inner);
                let last_seq = snapshot.imported_seq(Some(state.last_seq));
                *state = RoomState::imported(snapshot, last_seq);
                Ok(Imported::Replaced)
            }
        }
    }

    async fn changes(&self, code: &RoomCode, since: u64, limit: u32) -> Result<ChangeBatch> {
        self.with_room(code, |state| {
            check_since(since, state.changes.front().map(|c| c.seq), state.last_seq)?;
            let changes = state
                .changes
                .iter()
                .filter(|c| c.seq > since)
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect();
            Ok(ChangeBatch { changes, latest: state.last_seq })
        })
    }
}
