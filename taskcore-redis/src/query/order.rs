//! A listing's order as the indexes hold it: index members (encoded sort value, NUL, padded
//! number) of stored fields and of tasks, which side of the cursor a member lies on, and which
//! of two members comes first. Byte order of members is [`TaskQuery::compare`]
//! (see `row.rs`), so comparing members is comparing tasks.

use std::cmp::Ordering;

use taskcore::store::SortValue;
use taskcore::{SortDir, SortKey, Task, TaskQuery};

use crate::row::{cursor_member, pad, sort_head};

/// The order and cursor of one query, on index members.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    key: SortKey,
    desc: bool,
    cursor: Option<String>,
}

impl Order {
    pub(crate) fn of(query: &TaskQuery) -> Self {
        Self {
            key: query.sort.key,
            desc: query.sort.dir == SortDir::Desc,
            cursor: query.after.as_ref().map(cursor_member),
        }
    }

    /// The sort key.
    pub(crate) fn key(&self) -> SortKey {
        self.key
    }

    /// Whether the order is descending.
    pub(crate) fn desc(&self) -> bool {
        self.desc
    }

    /// The member the listing continues strictly after, if it has a cursor.
    pub(crate) fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// The task-hash field that holds the index member of this order (`mc`, `md`, `mp`, `mt`);
    /// `None` for the number order, whose member follows from the number.
    pub(crate) fn field(&self) -> Option<&'static str> {
        match self.key {
            SortKey::Number => None,
            SortKey::Created => Some("mc"),
            SortKey::Due => Some("md"),
            SortKey::Priority => Some("mp"),
            SortKey::Title => Some("mt"),
        }
    }

    /// The index member of `task` in this order.
    pub(crate) fn member_of(&self, task: &Task) -> String {
        format!("{}{}", sort_head(&task.sort_value(self.key)), pad(task.number))
    }

    /// How two members compare in this order (`Less`: `a` is listed first).
    pub(crate) fn compare(&self, a: &str, b: &str) -> Ordering {
        let ascending = a.as_bytes().cmp(b.as_bytes());
        if self.desc { ascending.reverse() } else { ascending }
    }

    /// Whether `member` comes after the cursor (always, without one).
    pub(crate) fn after_cursor(&self, member: &str) -> bool {
        self.cursor.as_deref().is_none_or(|cursor| self.compare(member, cursor) == Ordering::Greater)
    }
}

/// The member of task `number` in the number index.
pub(crate) fn number_member(number: u64) -> String {
    format!("{}{}", sort_head(&SortValue::Int(i64::try_from(number).unwrap_or(i64::MAX))), pad(number))
}

/// The task number at the end of an index member (its last 20 characters).
pub(crate) fn number_in(member: &str) -> Option<u64> {
    member.get(member.len().checked_sub(20)?..)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskcore::Cursor;

    #[test]
    fn number_members_round_trip_and_order() {
        assert_eq!(number_in(&number_member(42)), Some(42));
        assert!(number_member(9) < number_member(10));
        assert_eq!(number_in("short"), None);
    }

    #[test]
    fn the_cursor_excludes_itself_in_both_directions() {
        let asc = TaskQuery::default().sort(SortKey::Number, SortDir::Asc);
        let cursor = Cursor { sort: asc.sort, value: SortValue::Int(5), number: 5 };
        let order = Order::of(&asc.clone().after(cursor.clone()));
        assert!(!order.after_cursor(&number_member(5)));
        assert!(order.after_cursor(&number_member(6)));
        assert!(!order.after_cursor(&number_member(4)));
        let desc = TaskQuery::default().sort(SortKey::Number, SortDir::Desc);
        let order = Order::of(&desc.clone().after(Cursor { sort: desc.sort, ..cursor }));
        assert!(order.after_cursor(&number_member(4)));
        assert!(!order.after_cursor(&number_member(5)));
        assert_eq!(order.compare(&number_member(9), &number_member(3)), Ordering::Less);
    }
}
