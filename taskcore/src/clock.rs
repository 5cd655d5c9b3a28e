//! Where taskcore reads the time: the [`Clock`] trait, the [`SystemClock`] used in production and
//! the [`ManualClock`] that tests move by hand (overdue tasks, stats, change timestamps).

use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// A source of "now". Every timestamp taskcore writes comes from one.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned read of the wall clock
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Arc::new(Mutex::new(start)) }
    }

    /// Moves the clock to `instant`.
    pub fn set(&self, instant: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = instant;
    }

    /// Moves the clock forward (or back, for a negative duration) by `by`; a move beyond the
    /// instants `time` can represent leaves the clock where it is.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.checked_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Truncates `instant` to whole microseconds and converts it to UTC: the precision every backend
/// can store exactly, so a value read back compares equal to the value written.
///
/// The conversion is checked: an instant whose UTC form is beyond the years `time` represents
/// (only near year ±9999) keeps its offset instead of panicking. Validation
/// ([`check_due_instant`](crate::check_due_instant)) refuses such instants before they get here.
pub fn to_storage_precision(instant: OffsetDateTime) -> OffsetDateTime {
    let utc = instant.checked_to_offset(time::UtcOffset::UTC).unwrap_or(instant);
    let micros = utc.microsecond();
    utc.replace_microsecond(micros).unwrap_or(utc)
}

/// Microseconds since the Unix epoch: how backends store instants in sortable integer columns.
pub fn unix_micros(instant: OffsetDateTime) -> i64 {
    i64::try_from(instant.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

/// The instant of [`unix_micros`], back.
pub fn from_unix_micros(micros: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|e| Error::backend("stored timestamp out of range", e))
}
