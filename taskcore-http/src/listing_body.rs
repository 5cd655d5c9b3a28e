//! Streaming JSON bodies of task listings — `GET /tasks` and the task list a room embeds —
//! written from a [`TaskListing`] in pieces of about [`PIECE_BYTES`], so that a response's
//! memory does not grow with the room. A room's embedded list also has a byte budget: past it
//! the list stops and says where the rest starts.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use taskcore::{Cursor, Sort, Task, TaskListing};

use crate::dto::TaskRef;

/// About how many bytes one piece of a streamed body holds.
pub(crate) const PIECE_BYTES: usize = 64 * 1024;

/// What surrounds the tasks.
#[derive(Debug)]
pub(crate) enum Shape {
    /// `{"tasks":[…],"total":M,"total_all":T,"next_cursor":C}` — the `GET /tasks` answer.
    TaskList,
    /// A room object ending in its tasks: `prefix` is everything up to and including
    /// `"tasks":[`, `closing` what follows the room object's `}`. When the tasks stop early
    /// (the byte `budget` or the listing's cap) the room gains `"tasks_truncated":true` and
    /// `"next_cursor"`; otherwise it has exactly the original shape.
    Room {
        /// The opening of the body, through `"tasks":[`.
        prefix: Vec<u8>,
        /// After this many bytes of tasks, no further task is embedded.
        budget: usize,
        /// Written after the room's closing brace.
        closing: &'static str,
    },
}

/// The body of `listing` in `shape`, streamed.
pub(crate) fn body(listing: TaskListing, shape: Shape) -> Body {
    let writer = Writer { listing, shape, written: 0, last: None, phase: Phase::Start };
    let stream = futures_util::stream::unfold(writer, |mut writer| async move {
        match writer.next_piece().await {
            Ok(Some(piece)) => Some((Ok::<Bytes, taskcore::Error>(piece), writer)),
            Ok(None) => None,
            Err(error) => {
                // The status line is gone already: end the body early so the client sees a
                // truncated response rather than a wrong one.
                tracing::error!(%error, "a streamed listing could not be completed");
                Some((Err(error), Writer { phase: Phase::Done, ..writer }))
            }
        }
    });
    Body::from_stream(stream)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Tasks,
    Done,
}

struct Writer {
    listing: TaskListing,
    shape: Shape,
    /// Bytes of tasks written so far.
    written: usize,
    last: Option<Arc<Task>>,
    phase: Phase,
}

impl Writer {
    async fn next_piece(&mut self) -> taskcore::Result<Option<Bytes>> {
        let mut piece = Vec::with_capacity(PIECE_BYTES + 1024);
        match self.phase {
            Phase::Done => return Ok(None),
            Phase::Start => {
                match &self.shape {
                    Shape::TaskList => piece.extend_from_slice(br#"{"tasks":["#),
                    Shape::Room { prefix, .. } => piece.extend_from_slice(prefix),
                }
                self.phase = Phase::Tasks;
            }
            Phase::Tasks => {}
        }
        while piece.len() < PIECE_BYTES {
            let Some(task) = self.listing.next_task().await? else {
                self.finish(&mut piece, false);
                return Ok(Some(Bytes::from(piece)));
            };
            if let Shape::Room { budget, .. } = self.shape
                && self.written >= budget
            {
                self.finish(&mut piece, true);
                return Ok(Some(Bytes::from(piece)));
            }
            let before = piece.len();
            if self.last.is_some() {
                piece.push(b',');
            }
            serde_json::to_writer(&mut piece, &TaskRef(&task))
                .map_err(|e| taskcore::Error::backend("could not write a task as JSON", e))?;
            self.written += piece.len() - before;
            self.last = Some(task);
        }
        Ok(Some(Bytes::from(piece)))
    }

    /// Closes the list and the object; `cut` when the byte budget stopped the tasks.
    fn finish(&mut self, piece: &mut Vec<u8>, cut: bool) {
        self.phase = Phase::Done;
        let resume = if cut {
            self.last.as_ref().map(|last| Cursor::after(last, Sort::default()))
        } else {
            self.listing.next_cursor().cloned()
        };
        let cursor = resume.as_ref().map(Cursor::encode);
        let cursor_json = serde_json::to_string(&cursor).unwrap_or_else(|_| "null".to_owned());
        match &self.shape {
            Shape::TaskList => {
                let tail = format!(
                    r#"],"total":{},"total_all":{},"next_cursor":{cursor_json}}}"#,
                    self.listing.matched(),
                    self.listing.total()
                );
                piece.extend_from_slice(tail.as_bytes());
            }
            Shape::Room { closing, .. } => {
                piece.push(b']');
                if cursor.is_some() {
                    piece.extend_from_slice(
                        format!(r#","tasks_truncated":true,"next_cursor":{cursor_json}"#).as_bytes(),
                    );
                }
                piece.push(b'}');
                piece.extend_from_slice(closing.as_bytes());
            }
        }
    }
}
