//! [`Top`]: the first `cap` index members seen in a listing's order, kept while a chunked pass
//! sees candidates in any order — the page of a pass, in bounded memory. It remembers whether
//! it ever turned a member away, so that a page repaired after concurrent writes knows how far
//! its knowledge reaches.

use std::cmp::Ordering;

use super::order::Order;

/// The best `cap` (member, number) pairs offered so far, in order.
#[derive(Debug)]
pub(crate) struct Top {
    cap: usize,
    kept: Vec<(String, u64)>,
    full: bool,
}

impl Top {
    pub(crate) fn new(cap: usize) -> Self {
        Self { cap, kept: Vec::with_capacity(cap.min(1024)), full: false }
    }

    /// Offers a member; keeps it if it is among the best `cap` so far.
    pub(crate) fn offer(&mut self, order: &Order, member: String, number: u64) {
        if self.cap == 0 {
            self.full = true;
            return;
        }
        let at = self.kept.partition_point(|(kept, _)| order.compare(kept, &member) == Ordering::Less);
        if self.kept.len() < self.cap {
            self.kept.insert(at, (member, number));
        } else {
            self.full = true;
            if at < self.kept.len() {
                self.kept.pop();
                self.kept.insert(at, (member, number));
            }
        }
    }

    /// The kept members, in order.
    pub(crate) fn kept(&self) -> &[(String, u64)] {
        &self.kept
    }

    /// The last member such that every member offered up to it (inclusive) is kept — `None` when
    /// nothing was ever turned away (everything offered is kept).
    pub(crate) fn horizon(&self) -> Option<&str> {
        if self.full { self.kept.last().map(|(member, _)| member.as_str()) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::order::number_member;
    use taskcore::{SortDir, SortKey, TaskQuery};

    #[test]
    fn keeps_the_first_in_order_and_knows_its_horizon() {
        let order = Order::of(&TaskQuery::default().sort(SortKey::Number, SortDir::Desc));
        let mut top = Top::new(3);
        for n in [4, 9, 1] {
            top.offer(&order, number_member(n), n);
        }
        assert_eq!(top.horizon(), None, "nothing turned away yet");
        top.offer(&order, number_member(7), 7);
        top.offer(&order, number_member(8), 8);
        let numbers: Vec<u64> = top.kept().iter().map(|(_, n)| *n).collect();
        assert_eq!(numbers, [9, 8, 7]);
        assert_eq!(top.horizon(), Some(number_member(7).as_str()));
        top.offer(&order, number_member(2), 2);
        assert_eq!(top.kept().len(), 3);
    }
}
