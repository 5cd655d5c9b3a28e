//! [`RoomView`]: one room materialised in memory — the room with its members, every task
//! shared as an `Arc`, the sequence number of the last change applied, and an estimate of the
//! bytes it holds. It answers listings and counts with the reference semantics of
//! [`TaskQuery`] (the same functions the in-memory store uses), so a cached answer and a
//! store's answer cannot differ.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;

use crate::changes::{Change, ChangeEvent};
use crate::query::{Cursor, SortDir, SortKey, SortValue, TaskQuery};
use crate::room::Room;
use crate::stats::TaskCounts;
use crate::task::Task;

/// What a room costs besides its tasks, in bytes (the room, its map, bookkeeping).
const ROOM_OVERHEAD: usize = 512;

/// What a task costs besides its strings: the record, its `Arc` and its map slot.
const TASK_OVERHEAD: usize = std::mem::size_of::<Task>() + 96;

/// Estimated heap bytes of one cached task.
pub(crate) fn task_bytes(task: &Task) -> usize {
    TASK_OVERHEAD
        + task.title.len()
        + task.description.len()
        + task.tags.iter().map(|tag| tag.as_str().len() + 24).sum::<usize>()
        + task.assignee.as_ref().map_or(0, |a| a.as_str().len())
}

/// A room in memory, current as of change [`seq`](Self::seq).
#[derive(Debug)]
pub(crate) struct RoomView {
    pub(crate) room: Room,
    tasks: BTreeMap<u64, Arc<Task>>,
    /// The sequence number of the newest change reflected.
    pub(crate) seq: u64,
    bytes: usize,
    /// The last counts computed, reused while they stay true.
    counts_memo: Mutex<Option<CountsMemo>>,
}

/// Counts computed at `computed_at` for the view at `seq`. They stay true until the view
/// changes or a pending task falls due: until `next_due`, the earliest due date of a pending
/// task not yet overdue at `computed_at` (`None`: no such task, true until the view changes).
#[derive(Debug, Clone, Copy)]
struct CountsMemo {
    seq: u64,
    computed_at: OffsetDateTime,
    next_due: Option<OffsetDateTime>,
    counts: TaskCounts,
}

impl CountsMemo {
    fn holds_at(&self, seq: u64, now: OffsetDateTime) -> bool {
        self.seq == seq && self.computed_at <= now && self.next_due.is_none_or(|due| now <= due)
    }
}

/// A task with its position under a sort: the sort value, then the number.
type Keyed<'a> = ((SortValue, u64), &'a Arc<Task>);

/// The tasks a listing selected, in order, with its counts.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub(crate) items: Vec<Arc<Task>>,
    pub(crate) next_cursor: Option<Cursor>,
    pub(crate) matched: u64,
    pub(crate) total: u64,
}

impl RoomView {
    /// An empty view of `room` as of change `seq`.
    pub(crate) fn new(room: Room, seq: u64) -> Self {
        let bytes = ROOM_OVERHEAD + room.members.iter().map(|m| m.as_str().len() + 24).sum::<usize>();
        Self { room, tasks: BTreeMap::new(), seq, bytes, counts_memo: Mutex::new(None) }
    }

    /// Estimated heap bytes.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Puts a task as read from the store (loading).
    pub(crate) fn put(&mut self, task: Task) {
        self.bytes += task_bytes(&task);
        if let Some(old) = self.tasks.insert(task.number, Arc::new(task)) {
            self.bytes -= task_bytes(&old);
        }
    }

    /// Applies one change of the room's feed. Changes at or below [`seq`](Self::seq) are
    /// already reflected and skipped; every event carries the task's whole state after it, so
    /// applying is an upsert or a removal and replaying a change is harmless.
    pub(crate) fn apply(&mut self, change: Change) {
        if change.seq <= self.seq {
            return;
        }
        self.seq = change.seq;
        match change.event {
            ChangeEvent::TaskCreated { task }
            | ChangeEvent::TaskUpdated { task }
            | ChangeEvent::TaskCompleted { task }
            | ChangeEvent::TaskReopened { task } => self.put(task),
            ChangeEvent::TaskDeleted { number, .. } => {
                if let Some(old) = self.tasks.remove(&number) {
                    self.bytes -= task_bytes(&old);
                }
            }
            ChangeEvent::MemberJoined { member } => {
                if !self.room.has_member(&member) {
                    self.bytes += member.as_str().len() + 24;
                    self.room.members.push(member);
                }
            }
        }
    }

    /// The tasks `query` selects at `now`, at most `cap` of them (the query's own limit is
    /// ignored): filtered with [`TaskQuery::matches`], after its cursor, in
    /// [`TaskQuery::compare`] order. The default order is the map's order, so it needs no sort.
    pub(crate) fn select(&self, query: &TaskQuery, now: OffsetDateTime, cap: usize) -> Selection {
        let total = self.tasks.len() as u64;
        let unfiltered = query.status == crate::query::StatusFilter::All
            && query.priority.is_none()
            && query.filters_only_status_and_priority();
        let by_number = query.sort.key == SortKey::Number;
        let mut matched = 0_u64;
        let mut items: Vec<Arc<Task>> = Vec::new();
        if by_number {
            // Already in order: walk from the cursor in the query's direction and stop at the cap
            // (counting the rest only when filters make `matched` differ from `total`).
            let ordered: Box<dyn Iterator<Item = &Arc<Task>>> = match query.sort.dir {
                SortDir::Asc => Box::new(self.tasks.values()),
                SortDir::Desc => Box::new(self.tasks.values().rev()),
            };
            for task in ordered {
                if !unfiltered && !query.matches(task, now) {
                    continue;
                }
                matched += 1;
                if items.len() <= cap && query.is_after_cursor(task) {
                    items.push(Arc::clone(task));
                } else if unfiltered && items.len() > cap {
                    break;
                }
            }
            if unfiltered {
                matched = total;
            }
        } else {
            let key = query.sort.key;
            let mut selected: Vec<Keyed<'_>> = Vec::new();
            for task in self.tasks.values().filter(|t| query.matches(t, now)) {
                matched += 1;
                if query.is_after_cursor(task) {
                    selected.push(((task.sort_value(key), task.number), task));
                }
            }
            let wanted = cap.saturating_add(1);
            let order = |a: &Keyed<'_>, b: &Keyed<'_>| match query.sort.dir {
                SortDir::Asc => a.0.cmp(&b.0),
                SortDir::Desc => b.0.cmp(&a.0),
            };
            // Only the first `wanted` are answered: select them, then sort only those.
            if selected.len() > wanted {
                selected.select_nth_unstable_by(wanted - 1, order);
                selected.truncate(wanted);
            }
            selected.sort_unstable_by(order);
            items = selected.into_iter().map(|(_, task)| Arc::clone(task)).collect();
        }
        let next_cursor = if items.len() > cap {
            items.truncate(cap);
            items.last().map(|last| Cursor::after(last, query.sort))
        } else {
            None
        };
        Selection { items, next_cursor, matched, total }
    }

    /// Counts by state and priority, overdue as of `now`: computed once per change of the view
    /// and reused while no pending task falls due (stats are read far more often than tasks
    /// change).
    pub(crate) fn counts(&self, now: OffsetDateTime) -> TaskCounts {
        let mut memo = self.counts_memo.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = memo.as_ref().filter(|held| held.holds_at(self.seq, now)) {
            return held.counts;
        }
        let counts = TaskCounts::of(self.tasks.values().map(|task| &**task), now);
        let next_due = self
            .tasks
            .values()
            .filter(|task| !task.completed)
            .filter_map(|task| task.due_date)
            .filter(|due| *due >= now)
            .min();
        *memo = Some(CountsMemo { seq: self.seq, computed_at: now, next_due, counts });
        counts
    }
}
