//! Rooms and the people in them: the [`RoomCode`] a room is shared by, the [`MemberName`] of each
//! person, the [`Room`] record, and the [`RoomCodeGenerator`] that mints new codes.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// The characters generated room codes are drawn from: uppercase letters and digits without the
/// look-alikes `0 O 1 I L`, so a code read aloud or off a screen is typed right the first time.
pub const ROOM_CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// The length of generated room codes unless configured otherwise (the original service used 6).
pub const DEFAULT_ROOM_CODE_LENGTH: usize = 6;

/// The shortest room code accepted, generated or typed.
pub const MIN_ROOM_CODE_LENGTH: usize = 4;

/// The longest room code accepted, generated or typed.
pub const MAX_ROOM_CODE_LENGTH: usize = 16;

/// The code a room is shared by, always uppercase ASCII letters and digits.
///
/// Parsing is case-insensitive and ignores surrounding whitespace. Any ASCII letter or digit is
/// accepted (codes minted by the original service may contain look-alikes); generated codes use
/// [`ROOM_CODE_ALPHABET`] only.
///
/// ```
/// use taskcore::RoomCode;
/// let code: RoomCode = " ab3xyz ".parse()?;
/// assert_eq!(code.as_str(), "AB3XYZ");
/// assert!("AB-3".parse::<RoomCode>().is_err());
/// # Ok::<(), taskcore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RoomCode(String);

impl RoomCode {
    /// Validates and normalises a room code typed by a person or sent by a client.
    pub fn parse(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        let len = trimmed.chars().count();
        if !(MIN_ROOM_CODE_LENGTH..=MAX_ROOM_CODE_LENGTH).contains(&len) {
            return Err(Error::invalid(
                "room_code",
                format!(
                    "must be {MIN_ROOM_CODE_LENGTH} to {MAX_ROOM_CODE_LENGTH} letters or digits, got {len} characters"
                ),
            ));
        }
        if !trimmed.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid("room_code", "may contain only letters A-Z and digits 0-9"));
        }
        Ok(Self(trimmed.to_ascii_uppercase()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RoomCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for RoomCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl AsRef<str> for RoomCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Mints random room codes of a fixed length from [`ROOM_CODE_ALPHABET`].
#[derive(Debug, Clone, Copy)]
pub struct RoomCodeGenerator {
    length: usize,
}

impl RoomCodeGenerator {
    /// A generator of codes `length` characters long, within
    /// [`MIN_ROOM_CODE_LENGTH`]`..=`[`MAX_ROOM_CODE_LENGTH`].
    pub fn new(length: usize) -> Result<Self> {
        if !(MIN_ROOM_CODE_LENGTH..=MAX_ROOM_CODE_LENGTH).contains(&length) {
            return Err(Error::invalid(
                "room_code_length",
                format!("must be between {MIN_ROOM_CODE_LENGTH} and {MAX_ROOM_CODE_LENGTH}"),
            ));
        }
        Ok(Self { length })
    }

    /// The length of the codes this generator mints.
    pub fn length(&self) -> usize {
        self.length
    }

    /// A fresh random code. Collisions are possible; the caller retries on
    /// [`Error::AlreadyExists`].
    pub fn generate(&self) -> RoomCode {
        let mut rng = rand::rng();
        let code = (0..self.length)
            .map(|_| char::from(ROOM_CODE_ALPHABET[rng.random_range(0..ROOM_CODE_ALPHABET.len())]))
            .collect();
        RoomCode(code)
    }
}

impl Default for RoomCodeGenerator {
    fn default() -> Self {
        Self { length: DEFAULT_ROOM_CODE_LENGTH }
    }
}

/// The longest member name accepted, in characters.
pub const MAX_MEMBER_NAME_CHARS: usize = 64;

/// The name a person goes by in a room: trimmed, 1 to [`MAX_MEMBER_NAME_CHARS`] characters, no
/// control characters.
///
/// Names keep the case they were first given in, but two names that differ only in case are the
/// same member: [`MemberName::key`] is what uniqueness and assignee filters compare.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct MemberName(String);

impl MemberName {
    /// Validates and trims a member name. `field` names the input in the error
    /// (`"username"`, `"assignee"`).
    pub fn parse_field(input: &str, field: &'static str) -> Result<Self> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        let len = trimmed.chars().count();
        if len > MAX_MEMBER_NAME_CHARS {
            return Err(Error::invalid(
                field,
                format!("must be at most {MAX_MEMBER_NAME_CHARS} characters, got {len}"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(Error::invalid(field, "must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Validates a member name given as `username`.
    pub fn parse(input: &str) -> Result<Self> {
        Self::parse_field(input, "username")
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form two names are compared by.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl PartialEq for MemberName {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for MemberName {}

impl fmt::Display for MemberName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for MemberName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for MemberName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A shared space of tasks. The owner is the first member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// The code the room is shared by.
    pub code: RoomCode,
    /// The member who created the room.
    pub owner: MemberName,
    /// Everyone who joined, owner first, in joining order, each once.
    pub members: Vec<MemberName>,
    /// When the room was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Room {
    /// A new room with `owner` as its only member.
    pub fn new(code: RoomCode, owner: MemberName, created_at: OffsetDateTime) -> Self {
        Self { code, members: vec![owner.clone()], owner, created_at }
    }

    /// The member named `name` (compared case-insensitively), as spelled when they joined.
    pub fn member(&self, name: &MemberName) -> Option<&MemberName> {
        self.members.iter().find(|m| *m == name)
    }

    /// The member `name` as spelled in the member list, or [`Error::Invalid`] on `field` when
    /// `name` is not a member.
    pub fn resolve_member(&self, name: &MemberName, field: &'static str) -> Result<MemberName> {
        self.member(name)
            .cloned()
            .ok_or_else(|| Error::invalid(field, format!("'{name}' is not a member of room {}", self.code)))
    }

    /// Whether `name` is a member.
    pub fn has_member(&self, name: &MemberName) -> bool {
        self.member(name).is_some()
    }
}
