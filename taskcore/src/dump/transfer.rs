//! [`export`] and [`import`]: a dump taken from, or loaded into, any [`TaskStore`] — room by
//! room, each room read as one consistent snapshot and imported all or nothing.

use std::io::{BufRead, Write};

use time::OffsetDateTime;

use super::{DumpError, DumpReader, DumpWriter};
use crate::room::RoomCode;
use crate::snapshot::{Imported, OnConflict};
use crate::store::TaskStore;

/// How many room codes an export asks the store for at once.
const ROOM_PAGE: u32 = 256;

/// How far an export or import has come, reported after each room.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Rooms done.
    pub rooms: u64,
    /// Tasks in those rooms.
    pub tasks: u64,
}

/// What an [`export`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpSummary {
    /// Rooms written.
    pub rooms: u64,
    /// Tasks written.
    pub tasks: u64,
    /// Idempotency keys written.
    pub keys: u64,
}

/// What an [`import`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rooms that were new to the store.
    pub created: u64,
    /// Rooms that replaced a stored room ([`OnConflict::Replace`]).
    pub replaced: u64,
    /// Rooms left as stored ([`OnConflict::Skip`]).
    pub skipped: u64,
    /// Tasks in the rooms created or replaced.
    pub tasks: u64,
}

/// Writes a dump of `rooms` (every room of the store when `None`, in code order) to `out`,
/// each room a consistent snapshot taken while writes go on, calling `progress` after each
/// room. `now` is the dump's creation time. Returns `out` and what was written.
///
/// A room named in `rooms` that does not exist is an error; a room that disappears while the
/// store is walked is left out.
pub async fn export<W: Write>(
    store: &dyn TaskStore,
    rooms: Option<&[RoomCode]>,
    out: W,
    now: OffsetDateTime,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<(W, DumpSummary), DumpError> {
    let mut writer = DumpWriter::new(out, store.backend(), now)?;
    let mut summary = DumpSummary::default();
    let mut done = Progress::default();
    let mut write_room = async |code: &RoomCode, named: bool| -> Result<(), DumpError> {
        let snapshot = match store.snapshot_room(code).await {
            Ok(snapshot) => snapshot,
            Err(crate::Error::NotFound(_)) if !named => return Ok(()),
            Err(source) => return Err(DumpError::Store { room: code.to_string(), source }),
        };
        writer.room(&snapshot)?;
        summary.rooms += 1;
        summary.tasks += snapshot.tasks.len() as u64;
        summary.keys += snapshot.keys.len() as u64;
        done.rooms += 1;
        done.tasks += snapshot.tasks.len() as u64;
        progress(&done);
        Ok(())
    };
    match rooms {
        Some(codes) => {
            for code in codes {
                write_room(code, true).await?;
            }
        }
        None => {
            let mut after: Option<RoomCode> = None;
            loop {
                let page = store.room_codes(after.as_ref(), ROOM_PAGE).await.map_err(DumpError::Listing)?;
                for code in &page {
                    write_room(code, false).await?;
                }
                match page.last() {
                    Some(last) if page.len() == ROOM_PAGE as usize => after = Some(last.clone()),
                    _ => break,
                }
            }
        }
    }
    Ok((writer.finish()?, summary))
}

/// Imports every room of the dump `reader` reads into `store`, each room all or nothing,
/// resolving taken codes by `on_conflict`, and calls `progress` after each room.
///
/// Stops at the first error — a malformed or truncated line, a room the store refuses (with
/// [`OnConflict::Fail`], a taken code): the rooms before it are imported, that room is not.
pub async fn import<R: BufRead>(
    store: &dyn TaskStore,
    reader: &mut DumpReader<R>,
    on_conflict: OnConflict,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<ImportSummary, DumpError> {
    let mut summary = ImportSummary::default();
    let mut done = Progress::default();
    while let Some(snapshot) = reader.next_room()? {
        let (code, tasks) = (snapshot.room.code.clone(), snapshot.tasks.len() as u64);
        let imported = store
            .import_room(snapshot, on_conflict)
            .await
            .map_err(|source| DumpError::Store { room: code.to_string(), source })?;
        match imported {
            Imported::Created => summary.created += 1,
            Imported::Replaced => summary.replaced += 1,
            Imported::Skipped => summary.skipped += 1,
        }
        if imported != Imported::Skipped {
            summary.tasks += tasks;
        }
        done.rooms += 1;
        done.tasks += tasks;
        progress(&done);
    }
    Ok(summary)
}
