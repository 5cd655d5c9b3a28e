//! A room's tasks as CSV for spreadsheets (`GET /rooms/{code}/export?format=csv`), streamed
//! from a [`TaskListing`] in pieces of about [`PIECE_BYTES`] so that an export's memory does
//! not grow with the room.
//!
//! The text is RFC 4180: a header row, `CRLF` line ends, and a cell quoted (with `"` doubled)
//! when it holds a comma, a quote or a line break. A text cell that a spreadsheet would read as
//! a formula — one starting (after any spaces) with `=`, `+`, `-`, `@`, a tab or a carriage
//! return — is quoted and starts with `'`, so that opening an export never runs what a room
//! member typed (OWASP's advice against CSV injection). Numbers, dates and booleans are the
//! server's own and are written as they are.

use axum::body::{Body, Bytes};
use taskcore::{Task, TaskListing, TimestampText};

use crate::listing_body::PIECE_BYTES;

/// The first row of every export.
pub(crate) const CSV_HEADER: &str =
    "id,title,description,priority,due_date,completed,completed_at,created_at,updated_at,tags,assignee\r\n";

/// The body of `listing` as CSV, streamed.
pub(crate) fn body(listing: TaskListing) -> Body {
    let writer = Writer { listing, started: false, done: false };
    let stream = futures_util::stream::unfold(writer, |mut writer| async move {
        match writer.next_piece().await {
            Ok(Some(piece)) => Some((Ok::<Bytes, taskcore::Error>(piece), writer)),
            Ok(None) => None,
            Err(error) => {
                // The status line is gone already: end the body early so the client sees a
                // truncated download rather than a wrong one.
                tracing::error!(%error, "a CSV export could not be completed");
                Some((Err(error), Writer { done: true, ..writer }))
            }
        }
    });
    Body::from_stream(stream)
}

struct Writer {
    listing: TaskListing,
    started: bool,
    done: bool,
}

impl Writer {
    async fn next_piece(&mut self) -> taskcore::Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        let mut piece = Vec::with_capacity(PIECE_BYTES + 1024);
        if !self.started {
            self.started = true;
            piece.extend_from_slice(CSV_HEADER.as_bytes());
        }
        while piece.len() < PIECE_BYTES {
            let Some(task) = self.listing.next_task().await? else {
                self.done = true;
                break;
            };
            write_row(&mut piece, &task);
        }
        Ok(Some(Bytes::from(piece)))
    }
}

/// One task as one CSV row, in [`CSV_HEADER`]'s order.
pub(crate) fn write_row(out: &mut Vec<u8>, task: &Task) {
    let stamp = |out: &mut Vec<u8>, instant: Option<time::OffsetDateTime>| {
        if let Some(instant) = instant {
            out.extend_from_slice(TimestampText::new(instant).as_str().as_bytes());
        }
    };
    out.extend_from_slice(task.number.to_string().as_bytes());
    out.push(b',');
    write_text(out, &task.title);
    out.push(b',');
    write_text(out, &task.description);
    out.push(b',');
    out.extend_from_slice(task.priority.as_str().as_bytes());
    out.push(b',');
    stamp(out, task.due_date);
    out.push(b',');
    out.extend_from_slice(if task.completed { b"true" } else { b"false" });
    out.push(b',');
    stamp(out, task.completed_at);
    out.push(b',');
    stamp(out, Some(task.created_at));
    out.push(b',');
    stamp(out, Some(task.updated_at));
    out.push(b',');
    // Tags cannot hold commas, so a comma separates them unambiguously (inside one quoted cell).
    let tags: Vec<&str> = task.tags.iter().map(taskcore::Tag::as_str).collect();
    write_text(out, &tags.join(","));
    out.push(b',');
    write_text(out, task.assignee.as_ref().map_or("", taskcore::MemberName::as_str));
    out.extend_from_slice(b"\r\n");
}

/// A text cell: quoted when it must be, and defused when a spreadsheet would run it.
pub(crate) fn write_text(out: &mut Vec<u8>, text: &str) {
    let formula = text.trim_start_matches(' ').starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = formula || text.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for byte in text.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    if quoted {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(text: &str) -> String {
        let mut out = Vec::new();
        write_text(&mut out, text);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_text_is_written_as_it_is() {
        assert_eq!(cell("Buy milk"), "Buy milk");
        assert_eq!(cell(""), "");
        assert_eq!(cell("Crème brûlée 🍮"), "Crème brûlée 🍮");
        assert_eq!(cell("a-b = c"), "a-b = c", "only a leading sign is a formula");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("line 1\nline 2"), "\"line 1\nline 2\"");
        assert_eq!(cell("line 1\r\nline 2"), "\"line 1\r\nline 2\"");
    }

    #[test]
    fn formulas_are_defused() {
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "  =HYPERLINK(\"x\")"] {
            let written = cell(formula);
            assert!(written.starts_with("\"'"), "{formula:?} → {written:?}");
        }
        assert_eq!(cell("=A1,B1"), "\"'=A1,B1\"");
        assert_eq!(cell("=\"x\""), "\"'=\"\"x\"\"\"");
    }
}
