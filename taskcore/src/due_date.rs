//! Parsing and writing due dates: the three input forms clients send, normalised to a UTC
//! instant at storage precision, in the years every backend stores and formats
//! ([`MIN_DUE_YEAR`] to [`MAX_DUE_YEAR`] after conversion to UTC). Every conversion is checked:
//! no input makes this module panic.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::clock::to_storage_precision;
use crate::error::{Error, Result};

/// The earliest year of a due date, in UTC.
pub const MIN_DUE_YEAR: i32 = 1;

/// The latest year of a due date, in UTC. RFC 3339 (the API's timestamp format) has four-digit
/// years only.
pub const MAX_DUE_YEAR: i32 = 9999;

/// What a due date may look like, for error messages and API docs.
pub const DUE_DATE_FORMATS: &str =
    "YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] (UTC; 'T' may replace the space) or RFC 3339 with an offset";

/// Parses a due date.
///
/// Accepted forms:
/// - `2026-12-01` — midnight UTC at the start of that day (as the original service did);
/// - `2026-12-01 14:30:00`, `2026-12-01T14:30`, with optional fractional seconds — read as UTC;
/// - RFC 3339 with an offset (`2026-12-01T14:30:00+02:00`, `…Z`) — converted to UTC.
///
/// The result is truncated to microseconds. `field` names the input in the error: text in none
/// of these forms, or an instant outside the years [`MIN_DUE_YEAR`] to [`MAX_DUE_YEAR`] once
/// converted to UTC (`-0001-01-01`, `0000-01-01T00:00:00+01:00`, `9999-12-31T23:59:59-01:00`),
/// is [`Error::Invalid`].
///
/// ```
/// use taskcore::parse_due_date;
/// let due = parse_due_date("2026-12-01T14:30:00+02:00", "due_date")?;
/// assert_eq!(taskcore::format_timestamp(due), "2026-12-01T12:30:00Z");
/// # Ok::<(), taskcore::Error>(())
/// ```
pub fn parse_due_date(input: &str, field: &'static str) -> Result<OffsetDateTime> {
    let text = input.trim();
    let invalid = || Error::invalid(field, format!("'{}' is not a date; use {DUE_DATE_FORMATS}", shorten(text)));
    if text.is_empty() || text.len() > 64 {
        return Err(invalid());
    }
    if let Ok(instant) = OffsetDateTime::parse(text, &Rfc3339) {
        return check_due_instant(instant, field);
    }
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return check_due_instant(date.with_time(Time::MIDNIGHT).assume_utc(), field);
    }
    let normalised = text.replacen('T', " ", 1).replacen('t', " ", 1);
    let with_seconds = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let with_fraction = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let minutes_only = format_description!("[year]-[month]-[day] [hour]:[minute]");
    [with_seconds, with_fraction, minutes_only]
        .into_iter()
        .find_map(|format| PrimitiveDateTime::parse(&normalised, format).ok())
        .ok_or_else(invalid)
        .and_then(|naive| check_due_instant(naive.assume_utc(), field))
}

/// `instant` in UTC at storage precision, if it falls in the years [`MIN_DUE_YEAR`] to
/// [`MAX_DUE_YEAR`] there; otherwise [`Error::Invalid`] on `field`. The conversion is checked, so
/// an instant whose UTC form the `time` crate cannot represent is refused, not a panic.
///
/// ```
/// use time::macros::datetime;
/// let late = datetime!(9999-12-31 23:59:59 -1);
/// assert!(taskcore::check_due_instant(late, "due_before").is_err());
/// let fine = taskcore::check_due_instant(datetime!(9999-12-31 23:59:59 +1), "due_before")?;
/// assert_eq!(fine, datetime!(9999-12-31 22:59:59 UTC));
/// # Ok::<(), taskcore::Error>(())
/// ```
pub fn check_due_instant(instant: OffsetDateTime, field: &'static str) -> Result<OffsetDateTime> {
    instant
        .checked_to_offset(UtcOffset::UTC)
        .filter(|utc| (MIN_DUE_YEAR..=MAX_DUE_YEAR).contains(&utc.year()))
        .map(to_storage_precision)
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("must fall in the years {MIN_DUE_YEAR} to {MAX_DUE_YEAR} once converted to UTC"),
            )
        })
}

/// Writes an instant as RFC 3339 in UTC (`2026-12-01T12:30:00Z`, with fractional seconds only
/// when there are any). An instant RFC 3339 cannot express (a year outside 0 to 9999 in UTC,
/// which validation never lets in) is written as its Unix timestamp in seconds.
pub fn format_timestamp(instant: OffsetDateTime) -> String {
    TimestampText::new(instant).as_str().to_owned()
}

/// [`format_timestamp`]'s text without a heap allocation, for serialising many timestamps
/// (listings write four per task).
#[derive(Clone, Copy)]
pub struct TimestampText {
    bytes: [u8; 40],
    len: usize,
}

impl TimestampText {
    /// The RFC 3339 text of `instant` in UTC.
    pub fn new(instant: OffsetDateTime) -> Self {
        let mut text = Self { bytes: [0; 40], len: 0 };
        let Some(utc) = instant.checked_to_offset(UtcOffset::UTC).filter(|utc| (0..=9999).contains(&utc.year())) else {
            // Outside RFC 3339: the same fallback as ever, seconds since the epoch.
            text.push_str(&instant.unix_timestamp().to_string());
            return text;
        };
        let (hour, minute, second) = utc.to_hms();
        text.push_digits(utc.year().unsigned_abs(), 4);
        text.push_str("-");
        text.push_digits(u32::from(u8::from(utc.month())), 2);
        text.push_str("-");
        text.push_digits(u32::from(utc.day()), 2);
        text.push_str("T");
        text.push_digits(u32::from(hour), 2);
        text.push_str(":");
        text.push_digits(u32::from(minute), 2);
        text.push_str(":");
        text.push_digits(u32::from(second), 2);
        let nanos = utc.nanosecond();
        if nanos != 0 {
            let mut digits = 9;
            let mut fraction = nanos;
            while fraction.is_multiple_of(10) {
                fraction /= 10;
                digits -= 1;
            }
            text.push_str(".");
            text.push_digits(fraction, digits);
        }
        text.push_str("Z");
        text
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    fn push_str(&mut self, text: &str) {
        let end = (self.len + text.len()).min(self.bytes.len());
        self.bytes[self.len..end].copy_from_slice(&text.as_bytes()[..end - self.len]);
        self.len = end;
    }

    /// `value` in exactly `width` decimal digits, zero-padded.
    fn push_digits(&mut self, value: u32, width: usize) {
        let mut value = value;
        for i in (0..width).rev() {
            if let Some(slot) = self.bytes.get_mut(self.len + i) {
                *slot = b'0' + u8::try_from(value % 10).unwrap_or(0);
            }
            value /= 10;
        }
        self.len = (self.len + width).min(self.bytes.len());
    }
}

impl std::fmt::Debug for TimestampText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}
