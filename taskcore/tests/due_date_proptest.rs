//! Property tests of every way a date enters taskcore (`due_date`, `due_before`, `due_after`, and
//! instants handed to a query by a library caller): no input panics, every input is either
//! refused as `Invalid` naming its field or accepted as a UTC instant in the years 1 to 9999 at
//! microsecond precision, and every accepted instant survives the encodings backends use (RFC 3339
//! text, integer microseconds, JSON of a task).

#![allow(clippy::unwrap_used)] // property bodies assert by unwrapping

use proptest::prelude::*;
use taskcore::store::{from_unix_micros, unix_micros};
use taskcore::{
    Error, MAX_DUE_YEAR, MIN_DUE_YEAR, NewTask, TaskQuery, check_due_instant, format_timestamp, parse_due_date,
};
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// The first instant accepted: 0001-01-01T00:00:00Z, in Unix seconds.
const FIRST_SECOND: i64 = -62_135_596_800;
/// The last second accepted: 9999-12-31T23:59:59Z, in Unix seconds.
const LAST_SECOND: i64 = 253_402_300_799;

/// The invariants of an accepted instant, and its round trips through what backends store.
fn assert_storable(instant: OffsetDateTime) -> Result<(), TestCaseError> {
    prop_assert_eq!(instant.offset(), UtcOffset::UTC);
    prop_assert!((MIN_DUE_YEAR..=MAX_DUE_YEAR).contains(&instant.year()), "year of {}", instant);
    prop_assert_eq!(instant.nanosecond() % 1_000, 0, "microsecond precision");
    // The API's text form and every backend's integer column read back to the same instant.
    prop_assert_eq!(parse_due_date(&format_timestamp(instant), "due_date").unwrap(), instant);
    prop_assert_eq!(from_unix_micros(unix_micros(instant)).unwrap(), instant);
    // The JSON of a task (the change feed of every backend, Redis's task records) encodes it.
    let task = NewTask::titled("t").validate(instant).unwrap().into_task(1);
    let task = taskcore::Task { due_date: Some(instant), ..task };
    let json = serde_json::to_string(&task).expect("a task with an accepted due date encodes");
    let back: taskcore::Task = serde_json::from_str(&json).unwrap();
    prop_assert_eq!(back.due_date, Some(instant));
    Ok(())
}

/// What [`parse_due_date`] may answer for `field`.
fn assert_invalid_or_storable(
    outcome: taskcore::Result<OffsetDateTime>,
    field: &str,
) -> Result<Option<OffsetDateTime>, TestCaseError> {
    match outcome {
        Ok(instant) => {
            assert_storable(instant)?;
            Ok(Some(instant))
        }
        Err(Error::Invalid { field: got, .. }) => {
            prop_assert_eq!(got, field);
            Ok(None)
        }
        Err(other) => Err(TestCaseError::fail(format!("neither accepted nor Invalid: {other:?}"))),
    }
}

fn field() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("due_date"), Just("due_before"), Just("due_after")]
}

/// `±HH:MM` for every offset RFC 3339 can write, and some it cannot.
fn offset_text() -> impl Strategy<Value = (String, Option<i64>)> {
    prop_oneof![
        Just(("Z".to_owned(), Some(0))),
        (any::<bool>(), 0_i64..=23, 0_i64..=59).prop_map(|(negative, h, m)| {
            let seconds = (h * 3600 + m * 60) * if negative { -1 } else { 1 };
            (format!("{}{h:02}:{m:02}", if negative { '-' } else { '+' }), Some(seconds))
        }),
        (any::<bool>(), 24_i64..=99, 0_i64..=99)
            .prop_map(|(negative, h, m)| { (format!("{}{h:02}:{m:02}", if negative { '-' } else { '+' }), None) }),
    ]
}

/// A year as clients might write it: signed, unpadded, padded, five digits.
fn year_text() -> impl Strategy<Value = (String, i32)> {
    prop_oneof![
        // Mostly the edges, where conversion to UTC crosses a year boundary.
        prop_oneof![Just(0), Just(1), Just(2), Just(9998), Just(9999)].prop_map(|y: i32| (format!("{y:04}"), y)),
        (0_i32..=9999).prop_map(|y| (format!("{y:04}"), y)),
        (-99_999_i32..=99_999).prop_map(|y| (format!("{y}"), y)),
        (1_i32..=9999).prop_map(|y| (format!("-{y:04}"), -y)),
        (0_i32..=99_999).prop_map(|y| (format!("+{y:05}"), y)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// RFC 3339 with an offset: accepted exactly when the UTC instant is in the years 1–9999.
    #[test]
    fn rfc3339_with_offsets_is_in_range_or_invalid(
        (year, y) in year_text(),
        month in 1_u8..=12,
        day in 1_u8..=31,
        (hour, minute, second) in (0_u8..=23, 0_u8..=59, 0_u8..=59),
        fraction in prop_oneof![Just(String::new()), "\\.[0-9]{1,9}"],
        (offset, offset_seconds) in offset_text(),
        field in field(),
    ) {
        let text = format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{offset}");
        let accepted = assert_invalid_or_storable(parse_due_date(&text, field), field)?;
        // The reference: the local wall time minus the offset, in Unix seconds.
        let canonical = year.len() == 4 && !year.starts_with(['-', '+']);
        let local = Month::try_from(month).ok().and_then(|m| Date::from_calendar_date(y, m, day).ok())
            .and_then(|date| date.with_hms(hour, minute, second).ok())
            .map(|local| local.assume_utc().unix_timestamp());
        if let (true, Some(local), Some(offset_seconds)) = (canonical, local, offset_seconds) {
            let utc = local - offset_seconds;
            prop_assert_eq!(accepted.is_some(), (FIRST_SECOND..=LAST_SECOND).contains(&utc), "{}", text);
            if let Some(instant) = accepted {
                prop_assert_eq!(instant.unix_timestamp(), utc, "{}", text);
            }
        }
    }

    /// `YYYY-MM-DD` and the naive UTC forms: accepted exactly for the years 1–9999.
    #[test]
    fn dates_and_naive_times_are_in_range_or_invalid(
        (year, y) in year_text(),
        month in 1_u8..=13,
        day in 1_u8..=32,
        time in prop_oneof![
            Just(String::new()),
            "[ Tt][0-2][0-9]:[0-5][0-9]",
            "[ Tt][0-2][0-9]:[0-5][0-9]:[0-6][0-9]",
            "[ Tt][0-2][0-9]:[0-5][0-9]:[0-5][0-9]\\.[0-9]{1,9}",
        ],
        field in field(),
    ) {
        let text = format!("{year}-{month:02}-{day:02}{time}");
        if let Some(instant) = assert_invalid_or_storable(parse_due_date(&text, field), field)? {
            prop_assert_eq!(instant.year(), y, "{}", text);
            prop_assert_eq!((u8::from(instant.month()), instant.day()), (month, day), "{}", text);
        }
        if !(MIN_DUE_YEAR..=MAX_DUE_YEAR).contains(&y) {
            prop_assert!(parse_due_date(&text, field).is_err(), "year {} refused: {}", y, text);
        }
    }

    /// Anything at all: no panic, Invalid or a storable instant.
    #[test]
    fn any_text_is_in_range_or_invalid(text in prop_oneof!["\\PC{0,70}", "[-+0-9:TtZz. ]{0,40}"], field in field()) {
        assert_invalid_or_storable(parse_due_date(&text, field), field)?;
    }

    /// Instants handed over by a library caller, with any offset `time` has (±25:59:59): checked
    /// as due bounds of a query, never a panic, and accepted only when storable.
    #[test]
    fn instants_with_any_offset_are_checked(
        seconds in -377_705_116_800_i64..=LAST_SECOND,
        nanos in 0_u32..1_000_000_000,
        offset in -93_599_i32..=93_599,
    ) {
        let Ok(utc) = OffsetDateTime::from_unix_timestamp(seconds) else { return Ok(()) };
        let Ok(offset) = UtcOffset::from_whole_seconds(offset) else { return Ok(()) };
        let Some(instant) = utc.replace_nanosecond(nanos).ok().and_then(|t| t.checked_to_offset(offset)) else {
            return Ok(());
        };
        let _ = format_timestamp(instant);
        let checked = assert_invalid_or_storable(check_due_instant(instant, "due_before"), "due_before")?;
        prop_assert_eq!(checked.is_some(), (FIRST_SECOND..=LAST_SECOND).contains(&seconds));
        let query = TaskQuery::default().due_before(instant).due_after(instant);
        prop_assert_eq!(query.check().is_ok(), checked.is_some());
    }
}

/// The three inputs of the report, named.
#[test]
fn reported_inputs_are_invalid_on_their_field() {
    for text in ["-0001-01-01", "0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0000-12-31"] {
        for field in ["due_date", "due_before", "due_after"] {
            match parse_due_date(text, field) {
                Err(Error::Invalid { field: got, message }) => {
                    assert_eq!(got, field);
                    assert!(message.contains("9999"), "{message}");
                }
                other => panic!("{text} as {field}: {other:?}"),
            }
            let params = [(field, text)];
            if field != "due_date" {
                assert!(
                    matches!(TaskQuery::from_params(params, &[]), Err(Error::Invalid { field: f, .. }) if f == field)
                );
            }
        }
    }
    assert_eq!(format_timestamp(parse_due_date("0001-01-01", "due_date").unwrap()), "0001-01-01T00:00:00Z");
    assert_eq!(
        format_timestamp(parse_due_date("9999-12-31T23:59:59.999999999Z", "due_date").unwrap()),
        "9999-12-31T23:59:59.999999Z"
    );
}
