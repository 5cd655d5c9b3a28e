//! Parsing and writing due dates: the three input forms clients send, normalised to a UTC
//! instant at storage precision.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::clock::to_storage_precision;
use crate::error::{Error, Result};

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
/// The result is truncated to microseconds. `field` names the input in the error.
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
        return Ok(to_storage_precision(instant));
    }
    if let Ok(date) = Date::parse(text, format_description!("[year]-[month]-[day]")) {
        return Ok(date.with_time(Time::MIDNIGHT).assume_utc());
    }
    let normalised = text.replacen('T', " ", 1).replacen('t', " ", 1);
    let with_seconds = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let with_fraction = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let minutes_only = format_description!("[year]-[month]-[day] [hour]:[minute]");
    [with_seconds, with_fraction, minutes_only]
        .into_iter()
        .find_map(|format| PrimitiveDateTime::parse(&normalised, format).ok())
        .map(|naive| to_storage_precision(naive.assume_offset(UtcOffset::UTC)))
        .ok_or_else(invalid)
}

/// Writes an instant as RFC 3339 in UTC (`2026-12-01T12:30:00Z`, with fractional seconds only
/// when there are any).
pub fn format_timestamp(instant: OffsetDateTime) -> String {
    instant.to_offset(UtcOffset::UTC).format(&Rfc3339).unwrap_or_else(|_| instant.unix_timestamp().to_string())
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}
