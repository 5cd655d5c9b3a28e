//! [`KeyedLimiter`]: a per-client token bucket (GCRA: one "theoretical arrival time" per client)
//! with a hard cap on the clients it remembers, so memory stays bounded whatever addresses
//! arrive.
//!
//! Written here rather than taken from `governor` because the miss limit needs a check that
//! does not consume ([`KeyedLimiter::check`] before a lookup, [`KeyedLimiter::record`] only when
//! it missed), which `governor` does not offer, and because `governor`'s keyed store grows until
//! `retain_recent` is called and has no upper bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A rate: `per_minute` events per minute on average, up to `burst` at once. `per_minute = 0`
/// turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events per minute, on average.
    pub per_minute: u32,
    /// Events allowed at once after a quiet period (at least 1).
    pub burst: u32,
}

impl Rate {
    /// No limit.
    pub const OFF: Self = Self { per_minute: 0, burst: 0 };

    /// `per_minute` per minute with a burst of `burst`.
    pub const fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }

    /// Whether this rate limits anything.
    pub fn is_off(&self) -> bool {
        self.per_minute == 0
    }
}

/// What a limiter says about one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Within the limit.
    Allowed,
    /// Over the limit: the next event is allowed after this long.
    Limited(Duration),
}

/// How often a full table may be swept for clients whose bucket has refilled.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Per-client GCRA buckets, at most `capacity` clients remembered. When the table is full and
/// a sweep frees nothing, every further new client shares one overflow bucket: a flood of
/// fresh addresses is limited as one client instead of growing memory or escaping the limit.
#[derive(Debug)]
pub(crate) struct KeyedLimiter {
    /// Time between events at the average rate.
    interval: Duration,
    /// How far ahead of now a client's arrival time may run (`interval × (burst − 1)`).
    tolerance: Duration,
    capacity: usize,
    table: Mutex<Table>,
}

#[derive(Debug)]
struct Table {
    arrivals: HashMap<IpAddr, Instant>,
    overflow: Instant,
    swept: Option<Instant>,
}

impl KeyedLimiter {
    /// A limiter at `rate` remembering at most `capacity` clients; `None` when `rate` is off.
    pub(crate) fn new(rate: Rate, capacity: usize) -> Option<Self> {
        if rate.is_off() {
            return None;
        }
        let interval = Duration::from_secs(60) / rate.per_minute;
        let tolerance = interval.saturating_mul(rate.burst.max(1) - 1);
        let table = Table { arrivals: HashMap::new(), overflow: Instant::now(), swept: None };
        Some(Self { interval, tolerance, capacity: capacity.max(1), table: Mutex::new(table) })
    }

    /// Whether one more event by `key` would be allowed, without counting one.
    pub(crate) fn check(&self, key: IpAddr) -> Decision {
        let now = Instant::now();
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let arrival = match table.arrivals.get(&key) {
            Some(at) => *at,
            None if table.full(self.capacity) => table.overflow,
            None => now,
        };
        self.decide(arrival, now)
    }

    /// Counts one event by `key` if it is allowed.
    pub(crate) fn take(&self, key: IpAddr) -> Decision {
        let now = Instant::now();
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = table.slot(key, now, self.capacity);
        let decision = self.decide(*slot, now);
        if decision == Decision::Allowed {
            *slot = (*slot).max(now) + self.interval;
        }
        decision
    }

    /// Counts one event by `key` whatever the limit says (an event that already happened).
    pub(crate) fn record(&self, key: IpAddr) {
        let now = Instant::now();
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = table.slot(key, now, self.capacity);
        *slot = (*slot).max(now) + self.interval;
    }

    /// How many clients are remembered (not counting the overflow bucket).
    #[cfg(test)]
    pub(crate) fn clients(&self) -> usize {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).arrivals.len()
    }

    fn decide(&self, arrival: Instant, now: Instant) -> Decision {
        let ahead = arrival.saturating_duration_since(now);
        if ahead <= self.tolerance { Decision::Allowed } else { Decision::Limited(ahead - self.tolerance) }
    }
}

impl Table {
    fn full(&self, capacity: usize) -> bool {
        self.arrivals.len() >= capacity
    }

    /// The arrival time of `key`, inserting it (after a sweep if the table is full) or, when
    /// there is no room, the shared overflow bucket.
    fn slot(&mut self, key: IpAddr, now: Instant, capacity: usize) -> &mut Instant {
        if !self.arrivals.contains_key(&key) && self.full(capacity) {
            self.sweep(now);
        }
        if self.arrivals.contains_key(&key) || !self.full(capacity) {
            return self.arrivals.entry(key).or_insert(now);
        }
        &mut self.overflow
    }

    /// Forgets clients whose bucket is full again (their arrival time has passed): they are
    /// indistinguishable from clients never seen. At most once per [`SWEEP_INTERVAL`].
    fn sweep(&mut self, now: Instant) {
        if self.swept.is_some_and(|at| now.saturating_duration_since(at) < SWEEP_INTERVAL) {
            return;
        }
        self.swept = Some(now);
        self.arrivals.retain(|_, at| *at > now);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::net::Ipv4Addr;

    fn client(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + n))
    }

    #[test]
    fn a_burst_then_the_average_rate() {
        let limiter = KeyedLimiter::new(Rate::new(60, 3), 100).unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.take(client(1)), Decision::Allowed);
        }
        let Decision::Limited(wait) = limiter.take(client(1)) else { panic!("the 4th of a burst of 3 is limited") };
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(limiter.take(client(2)), Decision::Allowed, "clients have their own buckets");
    }

    #[test]
    fn check_does_not_consume_and_record_always_does() {
        let limiter = KeyedLimiter::new(Rate::new(60, 2), 100).unwrap();
        for _ in 0..10 {
            assert_eq!(limiter.check(client(1)), Decision::Allowed);
        }
        limiter.record(client(1));
        assert_eq!(limiter.check(client(1)), Decision::Allowed, "1 of a burst of 2 used: the next may come");
        limiter.record(client(1));
        assert!(matches!(limiter.check(client(1)), Decision::Limited(_)), "the burst is used up");
        limiter.record(client(1));
        let Decision::Limited(wait) = limiter.check(client(1)) else { panic!("limited") };
        assert!(wait > Duration::from_millis(1900), "each recorded event pushes the wait further: {wait:?}");
    }

    #[test]
    fn memory_is_capped_and_new_clients_share_the_overflow_bucket() {
        let limiter = KeyedLimiter::new(Rate::new(1, 1), 1_000).unwrap();
        for n in 0..1_000 {
            assert_eq!(limiter.take(client(n)), Decision::Allowed);
        }
        assert_eq!(limiter.clients(), 1_000);
        // 100,000 spoofed addresses: none is remembered, and together they get one event
        let allowed = (1_000..101_000).filter(|n| limiter.take(client(*n)) == Decision::Allowed).count();
        assert_eq!(limiter.clients(), 1_000);
        assert_eq!(allowed, 1, "the overflow bucket is one client");
        assert!(matches!(limiter.take(client(0)), Decision::Limited(_)), "known clients keep their own state");
    }

    #[test]
    fn refilled_clients_are_swept_to_make_room() {
        let limiter = KeyedLimiter::new(Rate::new(60_000, 1), 10).unwrap();
        for n in 0..10 {
            limiter.take(client(n));
        }
        let refilled = Instant::now() + Duration::from_millis(5); // every bucket refills after 1 ms
        while Instant::now() < refilled {
            std::thread::park_timeout(refilled.saturating_duration_since(Instant::now()));
        }
        assert_eq!(limiter.take(client(99)), Decision::Allowed);
        assert_eq!(limiter.clients(), 1, "the refilled clients were forgotten, the new one remembered");
    }

    #[test]
    fn zero_per_minute_is_off() {
        assert!(KeyedLimiter::new(Rate::OFF, 10).is_none());
    }
}
