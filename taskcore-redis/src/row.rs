//! How tasks and changes are written into Redis values and read back: the byte-sortable
//! encoding of sort values that makes every index a lexicographic sorted set, the indexed
//! fields of a task hash, and the change records of the feed.

use taskcore::store::{SortValue, StoredColumns, TaskWrite, from_unix_micros, unix_micros};
use taskcore::{Change, ChangeEvent, Cursor, Error, MemberName, Result, SortKey, Task};
use time::OffsetDateTime;

/// An integer sort value as 16 lowercase hex digits with the sign bit flipped, so that byte
/// order equals numeric order.
pub(crate) fn encode_int(value: i64) -> String {
    format!("{:016x}", value.cast_unsigned() ^ (1 << 63))
}

/// A task number as 20 zero-padded digits: the tail of every index member, so that ties of the
/// sort value order by number, as [`taskcore::TaskQuery::compare`] does.
pub(crate) fn pad(number: u64) -> String {
    format!("{number:020}")
}

/// The head of an index member: the encoded sort value and a NUL separator. Titles cannot hold
/// control characters, so a shorter title that is a prefix of a longer one sorts first, as in
/// `String` order.
pub(crate) fn sort_head(value: &SortValue) -> String {
    match value {
        SortValue::Int(v) => format!("{}\0", encode_int(*v)),
        SortValue::Text(text) => format!("{text}\0"),
    }
}

/// The index member a cursor points at; listings continue strictly after (or before) it.
pub(crate) fn cursor_member(cursor: &Cursor) -> String {
    format!("{}{}", sort_head(&cursor.value), pad(cursor.number))
}

/// The encoded instant as stored in the `due` field and used for due-range bounds.
pub(crate) fn encode_instant(instant: OffsetDateTime) -> String {
    encode_int(unix_micros(instant))
}

/// The fields of a task hash that indexes and counters are derived from, in the order of
/// `INDEXED` in `scripts/lib.lua`: completed, priority rank, due (encoded or empty), tags
/// (comma-joined; tags cannot hold commas), assignee key (or empty), and the heads of the
/// created, due, priority and title index members (the number tail is added by the script on
/// insert, here otherwise).
pub(crate) fn indexed_fields(task: &Task, with_number: bool) -> [String; 9] {
    let tail = if with_number { pad(task.number) } else { String::new() };
    let member = |key: SortKey| format!("{}{tail}", sort_head(&task.sort_value(key)));
    let columns = StoredColumns::of(task);
    [
        if task.completed { "1" } else { "0" }.to_owned(),
        columns.priority_rank.to_string(),
        task.due_date.map(|_| encode_int(columns.due)).unwrap_or_default(),
        task.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(","),
        columns.assignee_key.unwrap_or_default(),
        member(SortKey::Created),
        member(SortKey::Due),
        member(SortKey::Priority),
        member(SortKey::Title),
    ]
}

/// Splits the JSON of a task numbered 0 around its number, so that the insert script can splice
/// in the number it allocates: the stored JSON is `before + number + after`.
pub(crate) fn split_at_number(unnumbered: &Task) -> Result<(String, String)> {
    const FIELD: &str = "\"number\":";
    let json = to_json(unnumbered)?;
    let at = json.find("\"number\":0,").ok_or_else(|| corrupt("task JSON has no number field"))?;
    Ok((json[..at + FIELD.len()].to_owned(), json[at + FIELD.len() + 1..].to_owned()))
}

/// A task as stored in the `j` field.
pub(crate) fn to_json(task: &Task) -> Result<String> {
    serde_json::to_string(task).map_err(|e| Error::backend("cannot encode task", e))
}

/// A task read back from the `j` field.
pub(crate) fn from_json(json: &str) -> Result<Task> {
    serde_json::from_str(json).map_err(|e| Error::backend("stored task is not valid JSON", e))
}

/// The change record of a task write: `<at micros>\n<kind>\n<task JSON>`.
pub(crate) fn write_record(task: &Task, write: TaskWrite) -> Result<String> {
    let kind = match write {
        TaskWrite::Updated => "updated",
        TaskWrite::Completed => "completed",
        TaskWrite::Reopened => "reopened",
    };
    Ok(format!("{}\n{kind}\n{}", unix_micros(task.updated_at), to_json(task)?))
}

/// Reads a member of the feed sorted set (`<seq, 20 digits>\n<at>\n<kind>\n<payload>`) back.
pub(crate) fn parse_change(member: &str) -> Result<Change> {
    let mut parts = member.splitn(4, '\n');
    let (Some(seq), Some(at), Some(kind), Some(payload)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(corrupt("change record has too few parts"));
    };
    let seq = seq.parse().map_err(|_| corrupt("change sequence is not a number"))?;
    let at = from_unix_micros(at.parse().map_err(|_| corrupt("change time is not a number"))?)?;
    let event = match kind {
        "created" => ChangeEvent::TaskCreated { task: from_json(payload)? },
        "updated" => ChangeEvent::TaskUpdated { task: from_json(payload)? },
        "completed" => ChangeEvent::TaskCompleted { task: from_json(payload)? },
        "reopened" => ChangeEvent::TaskReopened { task: from_json(payload)? },
        "deleted" => {
            let (number, id) = payload.split_once('\n').ok_or_else(|| corrupt("tombstone has no id"))?;
            ChangeEvent::TaskDeleted {
                number: number.parse().map_err(|_| corrupt("tombstone number is not a number"))?,
                id: id.parse().map_err(|e| Error::backend("tombstone id is not a UUID", e))?,
            }
        }
        "joined" => ChangeEvent::MemberJoined {
            member: MemberName::parse(payload).map_err(|e| Error::backend("stored member name is invalid", e))?,
        },
        other => return Err(corrupt(format!("unknown change kind {other:?}"))),
    };
    Ok(Change { seq, at, event })
}

/// A [`Error::Backend`] for data that does not have the shape this build writes.
pub(crate) fn corrupt(message: impl Into<String>) -> Error {
    Error::Backend { message: message.into(), source: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskcore::store::NO_DUE_DATE;

    #[test]
    fn integer_encoding_keeps_numeric_order() {
        let values = [i64::MIN, -5_000_000, -1, 0, 1, 9, 10, 1_773_144_000_000_000, NO_DUE_DATE];
        for pair in values.windows(2) {
            assert!(encode_int(pair[0]) < encode_int(pair[1]), "{pair:?}");
        }
        assert_eq!(encode_int(5), format!("8{:015x}", 5), "the scripts build number members this way");
        assert_eq!(sort_head(&SortValue::Int(NO_DUE_DATE)), "ffffffffffffffff\0");
    }

    #[test]
    fn members_order_like_compare() {
        let member = |value: SortValue, number: u64| format!("{}{}", sort_head(&value), pad(number));
        let ordered = [
            member(SortValue::Text("ab".into()), 9),
            member(SortValue::Text("ab".into()), 10),
            member(SortValue::Text("ab c".into()), 1),
            member(SortValue::Text("abc".into()), 1),
            member(SortValue::Text("été".into()), 1),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0].as_bytes() < pair[1].as_bytes(), "{pair:?}");
        }
    }
}
