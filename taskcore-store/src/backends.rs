//! [`BACKENDS`]: every storage backend taskcore has, the URL schemes that select it, the cargo
//! feature that compiles it in, and whether this build has it.

/// A backend taskcore knows, whether or not this build has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backend {
    /// Its name, as [`TaskStore::backend`](taskcore::TaskStore::backend) reports it.
    pub name: &'static str,
    /// The URL schemes that select it.
    pub schemes: &'static [&'static str],
    /// The cargo feature of this crate that compiles it in (`None`: always there).
    pub feature: Option<&'static str>,
    /// Whether this build has it.
    pub compiled_in: bool,
}

/// Every backend taskcore knows, compiled in or not.
pub const BACKENDS: &[Backend] = &[
    Backend { name: "memory", schemes: &["memory"], feature: None, compiled_in: true },
    Backend { name: "sqlite", schemes: &["sqlite"], feature: Some("sqlite"), compiled_in: cfg!(feature = "sqlite") },
    Backend {
        name: "redis",
        schemes: &["redis", "rediss", "redis+cluster", "unix", "redis+unix"],
        feature: Some("redis"),
        compiled_in: cfg!(feature = "redis"),
    },
    Backend {
        name: "postgres",
        schemes: &["postgres", "postgresql"],
        feature: Some("postgres"),
        compiled_in: cfg!(feature = "postgres"),
    },
];

/// The backend a (lowercase) scheme selects.
pub(crate) fn by_scheme(scheme: &str) -> Option<&'static Backend> {
    BACKENDS.iter().find(|b| b.schemes.contains(&scheme))
}

/// The schemes this build accepts, for messages: `memory:, sqlite:`.
pub fn compiled_schemes() -> String {
    BACKENDS
        .iter()
        .filter(|b| b.compiled_in)
        .flat_map(|b| b.schemes.iter().map(|s| format!("{s}:")))
        .collect::<Vec<_>>()
        .join(", ")
}
