//! [`StateCounts`]: a room's tasks counted by state — completed or not, times priority — the six
//! counters the SQL backends keep beside the tasks (a table maintained by triggers in SQLite,
//! columns of the room's row in PostgreSQL). Every count a listing or the statistics need is
//! derived from them here, once: all tasks, those a status and priority filter admit, and
//! [`TaskCounts`].

use crate::priority::Priority;
use crate::query::StatusFilter;
use crate::stats::TaskCounts;
use crate::task::Task;

/// A room's tasks by completion and priority.
///
/// ```
/// use taskcore::Priority;
/// use taskcore::store::StateCounts;
/// let mut counts = StateCounts::default();
/// counts.add(false, Priority::High, 3);
/// counts.add(true, Priority::Low, 1);
/// assert_eq!(counts.total(), 4);
/// assert_eq!(counts.matching(taskcore::StatusFilter::Pending, None), 3);
/// assert_eq!(counts.task_counts(2).by_priority.high, 3);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Indexed by [`StateCounts::cell`].
    cells: [u64; StateCounts::CELLS],
}

impl StateCounts {
    /// How many states there are: pending and completed, each at three priorities.
    pub const CELLS: usize = 6;

    /// The index of a state among [`CELLS`](Self::CELLS): `completed × 3 + priority rank`
    /// (pending low, medium, high, then completed low, medium, high).
    pub fn cell(completed: bool, priority: Priority) -> usize {
        usize::from(completed) * 3 + usize::from(priority.rank())
    }

    /// The state of [`cell`](Self::cell) index `cell`, if there is one.
    pub fn state(cell: usize) -> Option<(bool, Priority)> {
        let rank = u8::try_from(cell % 3).ok()?;
        (cell < Self::CELLS).then_some(())?;
        Some((cell >= 3, Priority::from_rank(rank)?))
    }

    /// Counts given in [`cell`](Self::cell) order.
    pub fn from_cells(cells: [u64; Self::CELLS]) -> Self {
        Self { cells }
    }

    /// The counts in [`cell`](Self::cell) order.
    pub fn cells(&self) -> [u64; Self::CELLS] {
        self.cells
    }

    /// Adds `n` tasks in a state.
    pub fn add(&mut self, completed: bool, priority: Priority, n: u64) {
        if let Some(cell) = self.cells.get_mut(Self::cell(completed, priority)) {
            *cell += n;
        }
    }

    /// The counts of `tasks`: each counted once, in its state.
    pub fn of<'a>(tasks: impl IntoIterator<Item = &'a Task>) -> Self {
        let mut counts = Self::default();
        for task in tasks {
            counts.add(task.completed, task.priority, 1);
        }
        counts
    }

    /// Every task.
    pub fn total(&self) -> u64 {
        self.cells.iter().sum()
    }

    /// The tasks a listing's status filter and priority filter admit.
    pub fn matching(&self, status: StatusFilter, priority: Option<Priority>) -> u64 {
        let mut sum = 0;
        for completed in [false, true] {
            for each in Priority::ALL {
                if status.admits(completed) && priority.is_none_or(|p| p == each) {
                    sum += self.cells[Self::cell(completed, each)];
                }
            }
        }
        sum
    }

    /// The room's [`TaskCounts`], with the `overdue` tasks counted apart (they depend on the
    /// instant asked about).
    pub fn task_counts(&self, overdue: u64) -> TaskCounts {
        let mut counts = TaskCounts { total: self.total(), overdue, ..TaskCounts::default() };
        for (cell, n) in self.cells.iter().enumerate() {
            let Some((completed, priority)) = Self::state(cell) else { continue };
            if completed {
                counts.completed += n;
            }
            match priority {
                Priority::Low => counts.by_priority.low += n,
                Priority::Medium => counts.by_priority.medium += n,
                Priority::High => counts.by_priority.high += n,
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::macros::datetime;

    use super::*;
    use crate::NewTask;

    #[test]
    fn cells_and_states_are_inverse() {
        for cell in 0..StateCounts::CELLS {
            let (completed, priority) = StateCounts::state(cell).unwrap();
            assert_eq!(StateCounts::cell(completed, priority), cell);
        }
        assert_eq!(StateCounts::state(StateCounts::CELLS), None);
    }

    /// The counts derived from the six counters equal the domain's own counts of the same tasks.
    #[test]
    fn derived_counts_equal_the_domains_counts() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let mut tasks = Vec::new();
        for (i, priority) in ["low", "medium", "high", "high", "low", "high", "medium"].into_iter().enumerate() {
            let mut task = NewTask::titled(format!("t{i}")).priority(priority).validate(now).unwrap().into_task(1);
            task.completed = i % 3 == 0;
            tasks.push(task);
        }
        let counts = StateCounts::of(&tasks);
        assert_eq!(counts.task_counts(0), TaskCounts::of(&tasks, now));
        for status in [StatusFilter::All, StatusFilter::Pending, StatusFilter::Completed] {
            for priority in [None, Some(Priority::Low), Some(Priority::Medium), Some(Priority::High)] {
                let expected = tasks
                    .iter()
                    .filter(|t| status.admits(t.completed) && priority.is_none_or(|p| p == t.priority))
                    .count() as u64;
                assert_eq!(counts.matching(status, priority), expected, "{status:?} {priority:?}");
            }
        }
    }
}
