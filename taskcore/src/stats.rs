//! Per-room statistics: the raw [`TaskCounts`] a store answers natively and the [`RoomStats`]
//! derived from them (pending, completion rate) in one place.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::priority::Priority;
use crate::task::Task;

/// Counts a store computes for one room at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskCounts {
    /// All tasks of the room.
    pub total: u64,
    /// Completed tasks.
    pub completed: u64,
    /// Pending tasks with a due date before the instant asked about.
    pub overdue: u64,
    /// Tasks by priority, completed or not.
    pub by_priority: PriorityCounts,
}

impl TaskCounts {
    /// The counts of `tasks` (every task of one room) at `now`: what a store that holds a room's
    /// tasks in memory reports.
    pub fn of<'a>(tasks: impl IntoIterator<Item = &'a Task>, now: OffsetDateTime) -> Self {
        let mut counts = Self::default();
        for task in tasks {
            counts.total += 1;
            counts.completed += u64::from(task.completed);
            counts.overdue += u64::from(task.is_overdue(now));
            match task.priority {
                Priority::Low => counts.by_priority.low += 1,
                Priority::Medium => counts.by_priority.medium += 1,
                Priority::High => counts.by_priority.high += 1,
            }
        }
        counts
    }
}

/// Task counts per priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PriorityCounts {
    /// Low-priority tasks.
    pub low: u64,
    /// Medium-priority tasks.
    pub medium: u64,
    /// High-priority tasks.
    pub high: u64,
}

/// Statistics of a room, as shown to people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomStats {
    /// All tasks.
    pub total: u64,
    /// Completed tasks.
    pub completed: u64,
    /// Tasks not completed.
    pub pending: u64,
    /// Pending tasks past their due date.
    pub overdue: u64,
    /// Completed as a percentage of all, rounded to 2 decimals; 0 for an empty room.
    pub completion_rate: f64,
    /// Tasks by priority.
    pub by_priority: PriorityCounts,
}

impl From<TaskCounts> for RoomStats {
    fn from(counts: TaskCounts) -> Self {
        let completion_rate = if counts.total == 0 {
            0.0
        } else {
            // u64 → f64 loses precision only beyond 2^53 tasks.
            #[allow(clippy::cast_precision_loss)]
            let rate = counts.completed as f64 * 100.0 / counts.total as f64;
            (rate * 100.0).round() / 100.0
        };
        Self {
            total: counts.total,
            completed: counts.completed,
            pending: counts.total.saturating_sub(counts.completed),
            overdue: counts.overdue,
            completion_rate,
            by_priority: counts.by_priority,
        }
    }
}
