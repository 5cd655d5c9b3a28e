//! The filters of a listing that are values of their own: [`StatusFilter`] (by completion) and
//! [`SearchText`] (case-folded text to find in titles and descriptions).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::task::Task;

/// The longest search text accepted, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Which tasks by completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusFilter {
    /// Every task.
    #[default]
    All,
    /// Tasks not completed.
    Pending,
    /// Completed tasks.
    Completed,
}

impl StatusFilter {
    /// Parses `all`, `pending` or `completed`, any case.
    pub fn parse(input: &str) -> Result<Self> {
        match input.trim().to_ascii_lowercase().as_str() {
            "all" | "" => Ok(Self::All),
            "pending" => Ok(Self::Pending),
            "completed" => Ok(Self::Completed),
            _ => Err(Error::invalid("status", "must be one of: all, pending, completed")),
        }
    }

    /// Whether a task of this completion state passes the filter.
    pub fn admits(self, completed: bool) -> bool {
        match self {
            Self::All => true,
            Self::Pending => !completed,
            Self::Completed => completed,
        }
    }
}

/// A case-folded, trimmed piece of text to find in tasks' titles and descriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SearchText(String);

impl SearchText {
    /// Validates and case-folds search text: 1 to [`MAX_SEARCH_CHARS`] characters after trimming,
    /// no control characters (titles cannot hold any, and PostgreSQL text cannot hold NUL).
    pub fn parse(input: &str) -> Result<Self> {
        let text = input.trim().to_lowercase();
        let len = text.chars().count();
        if len == 0 || len > MAX_SEARCH_CHARS {
            return Err(Error::invalid("q", format!("search text must be 1 to {MAX_SEARCH_CHARS} characters")));
        }
        if text.chars().any(char::is_control) {
            return Err(Error::invalid("q", "search text must not contain control characters"));
        }
        Ok(Self(text))
    }

    /// The case-folded text; match it as a substring of [`Task::search_text`](crate::Task::search_text).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this text occurs in the search text of `task` — the same answer as
    /// `task.search_text().contains(self.as_str())`, without building the search text when
    /// title, description and needle are ASCII (the common case, and the hot loop of listings
    /// served from memory).
    pub fn found_in(&self, task: &Task) -> bool {
        let needle = self.0.as_bytes();
        let ascii = self.0.is_ascii() && task.title.is_ascii() && task.description.is_ascii();
        if ascii && !needle.contains(&b'\n') {
            return contains_ascii_folded(task.title.as_bytes(), needle)
                || contains_ascii_folded(task.description.as_bytes(), needle);
        }
        task.search_text().contains(self.as_str())
    }
}

/// Whether lower-cased ASCII `needle` occurs in `haystack` ignoring ASCII case.
fn contains_ascii_folded(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else { return true };
    if needle.len() > haystack.len() {
        return false;
    }
    haystack
        .windows(needle.len())
        .any(|window| window[0].to_ascii_lowercase() == first && window.eq_ignore_ascii_case(needle))
}
