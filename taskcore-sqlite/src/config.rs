//! [`SqliteConfig`]: where the database is and how it is opened — durability, busy timeout,
//! read pool size, group-commit batch size — with defaults safe for production, set in code or
//! in the URL's query string ([`SqliteConfig::from_url`]).

use std::str::FromStr;
use std::time::Duration;

use taskcore::{Error, Result, StoreOptions};

use taskcore::store::url_params as params;

/// The query parameters [`SqliteConfig::from_url`] reads.
pub const URL_PARAMETERS: &[&str] = &["durability", "busy_timeout", "read_connections", "max_batch"];

/// The query parameters left in the URL for sqlx (see sqlx's `SqliteConnectOptions`).
pub const DRIVER_PARAMETERS: &[&str] = &["mode", "cache", "immutable", "vfs"];

/// A setting that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Durability is `full` or `normal`.
    #[error("unknown durability {0:?}: use \"full\" (power-loss safe) or \"normal\" (process-crash safe)")]
    Durability(String),
}

/// How hard a commit works to survive failures: SQLite's `synchronous` setting in WAL mode.
///
/// Both settings keep every acknowledged write through a **process crash** (a panic, `kill -9`,
/// an OOM kill): the write is in the WAL file before the caller is answered, and the operating
/// system holds it. They differ on **power loss or an operating-system crash**:
///
/// | setting | fsync | acknowledged writes after power loss |
/// |---|---|---|
/// | [`Durability::Full`] (default) | the WAL on every commit | kept |
/// | [`Durability::Normal`] | only at checkpoints | the last commits may be lost (the database stays consistent) |
///
/// Group commit makes `Full` cheap under concurrency: one fsync covers every write of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `PRAGMA synchronous = FULL`: power-loss safe.
    #[default]
    Full,
    /// `PRAGMA synchronous = NORMAL`: process-crash safe, faster single writes.
    Normal,
}

impl FromStr for Durability {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            _ => Err(ConfigError::Durability(s.to_owned())),
        }
    }
}

/// How to open a [`SqliteStore`](crate::SqliteStore): in code, or from the URL's query string.
///
/// ```
/// use std::time::Duration;
/// use taskcore_sqlite::{Durability, SqliteConfig};
/// let config = SqliteConfig::new("sqlite://data/tasks.db")
///     .durability(Durability::Normal)
///     .busy_timeout(Duration::from_secs(5));
/// let same = SqliteConfig::from_url("sqlite://data/tasks.db?durability=normal&busy_timeout=5s")?;
/// assert_eq!(config, same);
/// assert_eq!(same.url, "sqlite://data/tasks.db");
/// # Ok::<(), taskcore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteConfig {
    /// `sqlite://path/to/file.db` (created when missing), `sqlite:relative.db`, or
    /// `sqlite::memory:` for a private in-memory database; query parameters here go to sqlx
    /// (`mode`, `cache`, `immutable`, `vfs`).
    pub url: String,
    /// See [`Durability`]; default [`Durability::Full`].
    pub durability: Durability,
    /// How long a writer waits for another process's write lock before failing with
    /// `Unavailable` (default 30 s).
    pub busy_timeout: Duration,
    /// Connections of the read pool (default 4). An in-memory database uses one connection for
    /// everything.
    pub read_connections: u32,
    /// The most operations one group commit holds (default 512).
    pub max_batch: usize,
    /// Options every taskcore store honours (change retention).
    pub store: StoreOptions,
}

impl SqliteConfig {
    /// Defaults for the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            durability: Durability::default(),
            busy_timeout: Duration::from_secs(30),
            read_connections: 4,
            max_batch: 512,
            store: StoreOptions::default(),
        }
    }

    /// The settings a URL gives: the defaults of [`SqliteConfig::new`], then the URL's query
    /// parameters —
    ///
    /// | parameter | example | setting |
    /// |---|---|---|
    /// | `durability` | `full`, `normal` | [`SqliteConfig::durability`] |
    /// | `busy_timeout` | `5s`, `500ms` (bare number: seconds) | [`SqliteConfig::busy_timeout`] |
    /// | `read_connections` | `4` | [`SqliteConfig::read_connections`] |
    /// | `max_batch` | `512` | [`SqliteConfig::max_batch`] |
    ///
    /// sqlx's own parameters (`mode`, `cache`, `immutable`, `vfs`) stay in [`SqliteConfig::url`];
    /// opening a file database then refuses `immutable`, `vfs` and `mode=ro` (`Invalid`), which
    /// the writer's own connection could not honour.
    /// Any other parameter, or a value that does not parse, is `Invalid` with a message naming
    /// it.
    pub fn from_url(url: &str) -> Result<Self> {
        let mut config = Self::new("");
        config.url = params::split(url).read("sqlite:", URL_PARAMETERS, DRIVER_PARAMETERS, |key, value| {
            match key {
                "durability" => {
                    let durability =
                        value.parse().map_err(|e: ConfigError| Error::invalid("durability", e.to_string()))?;
                    config.durability = durability;
                }
                "busy_timeout" => config.busy_timeout = params::duration("busy_timeout", value)?,
                "read_connections" => {
                    config.read_connections = params::number::<u32>("read_connections", value)?.max(1);
                }
                "max_batch" => config.max_batch = params::number::<usize>("max_batch", value)?.max(1),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(config)
    }

    /// With a durability setting.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// With a busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// With a read pool of `connections` (at least 1).
    pub fn read_connections(mut self, connections: u32) -> Self {
        self.read_connections = connections.max(1);
        self
    }

    /// With at most `operations` per group commit (at least 1).
    pub fn max_batch(mut self, operations: usize) -> Self {
        self.max_batch = operations.max(1);
        self
    }

    /// With taskcore store options.
    pub fn store_options(mut self, options: StoreOptions) -> Self {
        self.store = options;
        self
    }

    /// Refuses the driver parameters that the writer's and checkpointer's connections (rusqlite,
    /// opening the file by its path) could not honour like the read pool does: `immutable`,
    /// `vfs`, and `mode=ro` (the store writes: migrations, every write).
    ///
    /// - such a parameter → `Invalid` naming it.
    pub(crate) fn check_writable(&self) -> Result<()> {
        let Some((_, query)) = self.url.split_once('?') else { return Ok(()) };
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let refused = match (key, value) {
                ("immutable", _) => "immutable",
                ("vfs", _) => "vfs",
                ("mode", "ro") => "mode",
                _ => continue,
            };
            return Err(Error::invalid(
                refused,
                format!("{key}={value} is not supported: the store writes to its database (migrations, every write)"),
            ));
        }
        Ok(())
    }

    /// Whether the URL names an in-memory database.
    pub(crate) fn is_memory(&self) -> bool {
        self.url.contains(":memory:") || self.url.contains("mode=memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_parses_both_names() {
        assert_eq!("FULL".parse(), Ok(Durability::Full));
        assert_eq!(" normal ".parse(), Ok(Durability::Normal));
        assert!("off".parse::<Durability>().is_err());
    }

    #[test]
    fn url_parameters_set_every_setting() {
        let config = SqliteConfig::from_url(
            "sqlite://t.db?durability=normal&busy_timeout=250ms&read_connections=2&max_batch=9&mode=rwc",
        )
        .unwrap();
        let expected = SqliteConfig::new("sqlite://t.db?mode=rwc")
            .durability(Durability::Normal)
            .busy_timeout(Duration::from_millis(250))
            .read_connections(2)
            .max_batch(9);
        assert_eq!(config, expected);
        assert_eq!(SqliteConfig::from_url("sqlite::memory:").unwrap(), SqliteConfig::new("sqlite::memory:"));
        let unknown = SqliteConfig::from_url("sqlite://t.db?durabilty=normal").unwrap_err().to_string();
        assert!(unknown.contains("'durabilty'") && unknown.contains("durability"), "{unknown}");
        let bad = SqliteConfig::from_url("sqlite://t.db?durability=off").unwrap_err();
        assert!(matches!(bad, Error::Invalid { field: "durability", .. }), "{bad:?}");
    }

    #[test]
    fn driver_parameters_the_writer_cannot_honour_are_refused() {
        for (url, field) in [
            ("sqlite://x.db?mode=ro", "mode"),
            ("sqlite://x.db?immutable=1", "immutable"),
            ("sqlite://x.db?durability=normal&vfs=unix-none", "vfs"),
        ] {
            match SqliteConfig::from_url(url).and_then(|config| config.check_writable()) {
                Err(Error::Invalid { field: named, .. }) => assert_eq!(named, field, "{url}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        for url in ["sqlite://x.db", "sqlite://x.db?mode=rwc&cache=shared", "sqlite://x.db?mode=rw"] {
            assert!(SqliteConfig::from_url(url).unwrap().check_writable().is_ok(), "{url}");
        }
    }

    #[test]
    fn memory_urls_are_recognised() {
        assert!(SqliteConfig::new("sqlite::memory:").is_memory());
        assert!(!SqliteConfig::new("sqlite://tasks.db").is_memory());
    }
}
