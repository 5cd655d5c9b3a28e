//! [`DumpReader`]: reads a dump one room at a time from any [`BufRead`], checking the shape of
//! every line and naming the line at fault, and telling a dump cut short from a whole one.

use std::io::{BufRead, Read};

use time::OffsetDateTime;

use super::line::{Header, Line, RoomLine};
use super::{DUMP_FORMAT, DUMP_VERSION, DumpError};
use crate::snapshot::RoomSnapshot;

/// The longest line a reader accepts, in bytes: far beyond the longest task (a 10,000-character
/// description is at most 40 KB of UTF-8, escaped) and a room of 1,000 members, while a hostile
/// file cannot make the reader buffer without bound.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Reads a dump: [`new`](Self::new) reads and checks the header, [`next_room`](Self::next_room)
/// returns the rooms one by one and `None` after the end line.
#[derive(Debug)]
pub struct DumpReader<R: BufRead> {
    input: R,
    header: Header,
    line: u64,
    buffer: Vec<u8>,
    rooms: u64,
    tasks: u64,
    ended: bool,
}

impl<R: BufRead> DumpReader<R> {
    /// Reads the header: the first line must name the format and a version this build reads.
    pub fn new(input: R) -> Result<Self, DumpError> {
        let mut reader = Self {
            input,
            header: Header {
                format: String::new(),
                version: 0,
                source: String::new(),
                created_at: OffsetDateTime::UNIX_EPOCH,
            },
            line: 0,
            buffer: Vec::with_capacity(64 * 1024),
            rooms: 0,
            tasks: 0,
            ended: false,
        };
        let header = match reader.read_line("the header line")? {
            Line::Header(header) => header,
            other => return Err(reader.malformed(format!("expected the header line, found a {} line", other.kind()))),
        };
        if header.format != DUMP_FORMAT {
            return Err(reader.malformed(format!("not a taskcore dump (format {:?})", header.format)));
        }
        if header.version == 0 || header.version > DUMP_VERSION {
            return Err(reader.malformed(format!(
                "dump format version {} is not supported by this build (reads 1 to {DUMP_VERSION})",
                header.version
            )));
        }
        reader.header = header;
        Ok(reader)
    }

    /// The backend the dump was taken from.
    pub fn source(&self) -> &str {
        &self.header.source
    }

    /// When the dump was started.
    pub fn created_at(&self) -> OffsetDateTime {
        self.header.created_at
    }

    /// The number of the last line read.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next room, whole, or `None` once the end line was read (and checked against the
    /// rooms and tasks read).
    pub fn next_room(&mut self) -> Result<Option<RoomSnapshot>, DumpError> {
        if self.ended {
            return Ok(None);
        }
        let room = match self.read_line("a room line or the end line")? {
            Line::Room(room) => room,
            Line::End(end) => {
                if (end.rooms, end.tasks) != (self.rooms, self.tasks) {
                    return Err(self.malformed(format!(
                        "the end line counts {} rooms and {} tasks, the dump holds {} and {}",
                        end.rooms, end.tasks, self.rooms, self.tasks
                    )));
                }
                self.ended = true;
                self.expect_nothing_more()?;
                return Ok(None);
            }
            other => {
                return Err(
                    self.malformed(format!("expected a room line or the end line, found a {} line", other.kind()))
                );
            }
        };
        let snapshot = self.room_body(room)?;
        self.rooms += 1;
        self.tasks += snapshot.tasks.len() as u64;
        Ok(Some(snapshot))
    }

    fn room_body(&mut self, head: RoomLine) -> Result<RoomSnapshot, DumpError> {
        let code = head.room.code.clone();
        // The counts are the file's word: capacity is capped so a hostile count allocates nothing.
        let mut tasks = Vec::with_capacity(usize::try_from(head.tasks.min(16_384)).unwrap_or(0));
        for n in 1..=head.tasks {
            let expected = format!("task {n} of {} of room {code}", head.tasks);
            match self.read_line(&expected)? {
                Line::Task(task) => tasks.push(task),
                other => return Err(self.malformed(format!("expected {expected}, found a {} line", other.kind()))),
            }
        }
        let mut keys = Vec::with_capacity(usize::try_from(head.keys.min(16_384)).unwrap_or(0));
        for n in 1..=head.keys {
            let expected = format!("key {n} of {} of room {code}", head.keys);
            match self.read_line(&expected)? {
                Line::Key(key) => keys.push(key),
                other => return Err(self.malformed(format!("expected {expected}, found a {} line", other.kind()))),
            }
        }
        Ok(RoomSnapshot { room: head.room, last_number: head.last_number, last_seq: head.last_seq, tasks, keys })
    }

    fn expect_nothing_more(&mut self) -> Result<(), DumpError> {
        while self.next_raw_line()? {
            if !self.buffer.iter().all(u8::is_ascii_whitespace) {
                return Err(self.malformed("nothing may follow the end line".to_owned()));
            }
        }
        Ok(())
    }

    /// Reads and parses the next non-blank line; `expected` says what should come, for the
    /// error when the input ends.
    fn read_line(&mut self, expected: &str) -> Result<Line, DumpError> {
        loop {
            if !self.next_raw_line()? {
                return Err(DumpError::Truncated { line: self.line, expected: format!("expected {expected}") });
            }
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return serde_json::from_slice(&self.buffer).map_err(|error| self.malformed(error.to_string()));
        }
    }

    /// Reads the next line into the buffer (without its line ending); false at the end of input.
    fn next_raw_line(&mut self) -> Result<bool, DumpError> {
        self.buffer.clear();
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX) + 1;
        let read = (&mut self.input).take(limit).read_until(b'\n', &mut self.buffer)?;
        if read == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        } else if self.buffer.len() > MAX_LINE_BYTES {
            return Err(self.malformed(format!("longer than {MAX_LINE_BYTES} bytes")));
        }
        Ok(true)
    }

    fn malformed(&self, message: String) -> DumpError {
        DumpError::Malformed { line: self.line, message }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::macros::datetime;

    use super::*;
    use crate::dump::DumpWriter;
    use crate::input::{IdempotencyKey, NewTask};
    use crate::room::{MemberName, Room, RoomCode};
    use crate::snapshot::StoredKey;

    const AT: OffsetDateTime = datetime!(2026-11-30 17:00 UTC);

    fn snapshot(code: &str, tasks: u64) -> RoomSnapshot {
        let owner = MemberName::parse("alice").unwrap();
        let room = Room::new(RoomCode::parse(code).unwrap(), owner, AT);
        let tasks: Vec<_> = (1..=tasks)
            .map(|n| NewTask::titled(format!("täsk {n}")).tags(["a"]).validate(AT).unwrap().into_task(n * 2))
            .collect();
        let key = StoredKey { key: IdempotencyKey::parse("k").unwrap(), number: 2, fingerprint: None };
        RoomSnapshot { room, last_number: tasks.len() as u64 * 2 + 1, last_seq: 9, tasks, keys: vec![key] }
    }

    fn dump(rooms: &[RoomSnapshot]) -> String {
        let mut writer = DumpWriter::new(Vec::new(), "memory", AT).unwrap();
        for room in rooms {
            writer.room(room).unwrap();
        }
        String::from_utf8(writer.finish().unwrap()).unwrap()
    }

    fn read_all(text: &str) -> Result<Vec<RoomSnapshot>, DumpError> {
        let mut reader = DumpReader::new(text.as_bytes())?;
        let mut rooms = Vec::new();
        while let Some(room) = reader.next_room()? {
            rooms.push(room);
        }
        Ok(rooms)
    }

    #[track_caller]
    fn assert_malformed(result: Result<Vec<RoomSnapshot>, DumpError>, at: u64, needle: &str) {
        match result {
            Err(DumpError::Malformed { line, message }) if line == at && message.contains(needle) => {}
            other => panic!("expected line {at} to be malformed ({needle}), got {other:?}"),
        }
    }

    #[test]
    fn rooms_round_trip_with_every_field() {
        let rooms = [snapshot("ABC234", 3), snapshot("XYZ789", 0)];
        let text = dump(&rooms);
        assert_eq!(text.lines().count(), 9, "header, room + 3 tasks + key, room + key, end");
        assert!(text.starts_with(r#"{"header":{"format":"taskcore-dump","version":1,"source":"memory""#), "{text}");
        assert!(text.ends_with("{\"end\":{\"rooms\":2,\"tasks\":3}}\n"), "{text}");
        let mut reader = DumpReader::new(text.as_bytes()).unwrap();
        assert_eq!((reader.source(), reader.created_at()), ("memory", AT));
        assert_eq!(reader.next_room().unwrap().as_ref(), Some(&rooms[0]));
        assert_eq!(reader.next_room().unwrap().as_ref(), Some(&rooms[1]));
        assert!(reader.next_room().unwrap().is_none());
        assert!(reader.next_room().unwrap().is_none(), "stays at the end");
    }

    #[test]
    fn a_dump_cut_short_is_truncated_anywhere() {
        let text = dump(&[snapshot("ABC234", 3)]);
        let lines: Vec<&str> = text.lines().collect();
        for keep in 0..lines.len() {
            let cut = lines[..keep].iter().map(|l| format!("{l}\n")).collect::<String>();
            match read_all(&cut) {
                Err(DumpError::Truncated { line, .. }) => assert_eq!(line, keep as u64, "{cut}"),
                other => panic!("{keep} lines: expected Truncated, got {other:?}"),
            }
        }
        // Cut inside a line: that line is malformed.
        let half = &text[..text.len() - 10];
        assert_malformed(read_all(half), lines.len() as u64, "EOF");
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        let text = dump(&[snapshot("ABC234", 2)]);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let with = |lines: &[String]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        let original = lines.clone();
        lines[3] = lines[3].replace("\"title\":\"täsk 2\"", "\"title\":7");
        assert_malformed(read_all(&with(&lines)), 4, "invalid type");
        let mut lines = original.clone();
        lines.swap(3, 4);
        assert_malformed(read_all(&with(&lines)), 4, "expected task 2 of 2 of room ABC234, found a key line");
        let mut lines = original.clone();
        lines[1] = lines[1].replace("\"code\":\"ABC234\"", "\"code\":\"no\"");
        assert_malformed(read_all(&with(&lines)), 2, "code");
        let mut lines = original.clone();
        lines[5] = "{\"end\":{\"rooms\":1,\"tasks\":5}}".to_owned();
        assert_malformed(read_all(&with(&lines)), 6, "counts 1 rooms and 5 tasks");
        let mut lines = original.clone();
        lines.push("{\"end\":{\"rooms\":1,\"tasks\":2}}".to_owned());
        assert_malformed(read_all(&with(&lines)), 7, "nothing may follow");
        let mut lines = original;
        lines[0] = lines[0].replace("\"version\":1", "\"version\":2");
        assert_malformed(read_all(&with(&lines)), 1, "version 2 is not supported");
        assert_malformed(read_all("{\"task\":{}}\n"), 1, "");
        assert_malformed(read_all("not json\n"), 1, "expected");
    }

    #[test]
    fn an_overlong_line_is_refused_without_reading_it_whole() {
        let mut text = dump(&[]);
        let end = text.split_off(text.find("{\"end\"").unwrap());
        text.push_str(&" ".repeat(MAX_LINE_BYTES + 10));
        text.push('\n');
        text.push_str(&end);
        assert_malformed(read_all(&text), 2, "longer than");
        let blank_lines = dump(&[snapshot("ABC234", 1)]).replace('\n', "\r\n\n");
        assert_eq!(read_all(&blank_lines).unwrap().len(), 1, "CRLF and blank lines are fine");
    }
}
