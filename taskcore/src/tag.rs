//! Tags: short labels on tasks, normalised so that `Urgent`, ` urgent ` and `URGENT` are one tag.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest tag accepted, in characters.
pub const MAX_TAG_CHARS: usize = 32;

/// The most tags one task may carry.
pub const MAX_TAGS_PER_TASK: usize = 20;

/// A label on a task: trimmed, lowercase, 1 to [`MAX_TAG_CHARS`] characters, no whitespace,
/// commas or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    /// Validates and normalises one tag. `field` names the input in the error.
    pub fn parse_field(input: &str, field: &'static str) -> Result<Self> {
        let tag = input.trim().to_lowercase();
        let len = tag.chars().count();
        if len == 0 || len > MAX_TAG_CHARS {
            return Err(Error::invalid(field, format!("each tag must be 1 to {MAX_TAG_CHARS} characters")));
        }
        if tag.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',') {
            return Err(Error::invalid(field, "a tag must not contain spaces, commas or control characters"));
        }
        Ok(Self(tag))
    }

    /// Validates one tag given as `tag`.
    pub fn parse(input: &str) -> Result<Self> {
        Self::parse_field(input, "tag")
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Validates a list of tags into a sorted set without duplicates.
pub fn parse_tags<S: AsRef<str>>(inputs: &[S]) -> Result<Vec<Tag>> {
    let mut tags = inputs.iter().map(|raw| Tag::parse_field(raw.as_ref(), "tags")).collect::<Result<Vec<_>>>()?;
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS_PER_TASK {
        return Err(Error::invalid("tags", format!("at most {MAX_TAGS_PER_TASK} tags per task")));
    }
    Ok(tags)
}
