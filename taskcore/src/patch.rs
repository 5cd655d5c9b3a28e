//! [`Patch`]: the three states of a field in a partial update — absent (leave it), `null` (clear
//! it) or a value (set it) — with the serde glue that tells the first two apart.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One field of a partial update.
///
/// Deserialised from JSON with `#[serde(default)]` on the field: a missing key is
/// [`Patch::Unchanged`], `null` is [`Patch::Clear`], anything else is [`Patch::Set`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// Leave the field as it is.
    #[default]
    Unchanged,
    /// Reset the field to empty (or its default, for fields that cannot be empty).
    Clear,
    /// Set the field.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the field is left as it is.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, Self::Unchanged)
    }

    /// The patch of a reference to the value.
    pub fn as_ref(&self) -> Patch<&T> {
        match self {
            Self::Unchanged => Patch::Unchanged,
            Self::Clear => Patch::Clear,
            Self::Set(value) => Patch::Set(value),
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets, `None` clears.
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Clear, Self::Set)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Self::from)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    /// `Set` as the value, `Clear` and `Unchanged` as `null`; skip `Unchanged` fields with
    /// `#[serde(skip_serializing_if = "Patch::is_unchanged")]`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Set(value) => serializer.serialize_some(value),
            Self::Clear | Self::Unchanged => serializer.serialize_none(),
        }
    }
}
