//! [`DumpWriter`]: writes a dump line by line — the header, each room with its tasks and keys,
//! the end line — to any [`Write`], buffered.

use std::io::{BufWriter, Write};

use time::OffsetDateTime;

use super::line::{End, Header, LineRef, RoomLineRef};
use super::{DUMP_FORMAT, DUMP_VERSION, DumpError};
use crate::snapshot::RoomSnapshot;

/// Writes a dump: [`new`](Self::new) writes the header, [`room`](Self::room) one room,
/// [`finish`](Self::finish) the end line (a dump without it reads as cut short).
///
/// ```
/// use taskcore::dump::{DumpReader, DumpWriter};
/// let mut out = Vec::new();
/// let writer = DumpWriter::new(&mut out, "memory", time::OffsetDateTime::UNIX_EPOCH)?;
/// writer.finish()?;
/// let mut reader = DumpReader::new(out.as_slice())?;
/// assert!(reader.next_room()?.is_none());
/// # Ok::<(), taskcore::dump::DumpError>(())
/// ```
#[derive(Debug)]
pub struct DumpWriter<W: Write> {
    out: BufWriter<W>,
    end: End,
}

impl<W: Write> DumpWriter<W> {
    /// Starts a dump taken from the backend `source` at `created_at`, writing its header.
    pub fn new(out: W, source: &str, created_at: OffsetDateTime) -> Result<Self, DumpError> {
        let mut writer = Self { out: BufWriter::with_capacity(256 * 1024, out), end: End { rooms: 0, tasks: 0 } };
        let header =
            Header { format: DUMP_FORMAT.to_owned(), version: DUMP_VERSION, source: source.to_owned(), created_at };
        writer.line(&LineRef::Header(&header))?;
        Ok(writer)
    }

    /// Writes one room: its line, then its tasks and keys.
    pub fn room(&mut self, snapshot: &RoomSnapshot) -> Result<(), DumpError> {
        let room = RoomLineRef {
            room: &snapshot.room,
            last_number: snapshot.last_number,
            last_seq: snapshot.last_seq,
            tasks: snapshot.tasks.len() as u64,
            keys: snapshot.keys.len() as u64,
        };
        self.line(&LineRef::Room(room))?;
        for task in &snapshot.tasks {
            self.line(&LineRef::Task(task))?;
        }
        for key in &snapshot.keys {
            self.line(&LineRef::Key(key))?;
        }
        self.end.rooms += 1;
        self.end.tasks += snapshot.tasks.len() as u64;
        Ok(())
    }

    /// Writes the end line and flushes; returns the writer it wrote to.
    pub fn finish(mut self) -> Result<W, DumpError> {
        let end = self.end;
        self.line(&LineRef::End(&end))?;
        self.out.into_inner().map_err(|error| DumpError::Io(error.into_error()))
    }

    fn line(&mut self, line: &LineRef<'_>) -> Result<(), DumpError> {
        serde_json::to_writer(&mut self.out, line).map_err(|error| DumpError::Io(error.into()))?;
        self.out.write_all(b"\n")?;
        Ok(())
    }
}
