//! [`PgConfig`]: which server and schema a [`PgStore`](crate::PgStore) uses and how it connects
//! — pool size, statement and acquire timeouts, application name, group-commit batch and queue
//! bounds — set in code or in the URL's query string ([`PgConfig::from_url`]); the URL (which may hold a password) is never printed.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use taskcore::{Error, Result, StoreOptions};

use taskcore::store::url_params as params;

/// The query parameters [`PgConfig::from_url`] reads (`max_connections` is another name for
/// `pool_size`, as sqlx calls it).
pub const URL_PARAMETERS: &[&str] = &[
    "schema",
    "pool_size",
    "max_connections",
    "acquire_timeout",
    "statement_timeout",
    "application_name",
    "max_batch",
    "write_queue",
    "writers",
];

/// The query parameters left in the URL for sqlx (see sqlx's `PgConnectOptions`).
pub const DRIVER_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "options",
];

/// The schema a store uses unless configured otherwise.
pub const DEFAULT_SCHEMA: &str = "taskcore";

/// The `application_name` a store's connections report unless configured otherwise (visible in
/// `pg_stat_activity`).
pub const DEFAULT_APPLICATION_NAME: &str = "taskcore";

/// How to open a [`PgStore`](crate::PgStore): in code, or from the URL's query string.
///
/// ```
/// use std::time::Duration;
/// use taskcore_postgres::PgConfig;
/// let config = PgConfig::new("postgres://app:secret@db.internal:5432/tasks")
///     .pool_size(20)
///     .statement_timeout(Duration::from_secs(5))
///     .schema("tasks_eu");
/// let same = PgConfig::from_url(
///     "postgres://app:secret@db.internal:5432/tasks?pool_size=20&statement_timeout=5s&schema=tasks_eu",
/// )?;
/// assert_eq!(config, same);
/// assert!(!format!("{config:?}").contains("secret"));
/// # Ok::<(), taskcore::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgConfig {
    /// `postgres://user:password@host:port/database?…`; query parameters here go to sqlx
    /// ([`DRIVER_PARAMETERS`], such as `sslmode`).
    pub url: String,
    /// The most connections the store holds (default 10). See the crate README for sizing.
    pub pool_size: u32,
    /// The server aborts any statement running longer than this (default 30 s; zero disables
    /// it); the operation fails with `Unavailable`.
    pub statement_timeout: Duration,
    /// How long an operation waits for a free or new connection before failing with
    /// `Unavailable` (default 10 s).
    pub acquire_timeout: Duration,
    /// The schema holding this store's tables and its migrations table (default
    /// [`DEFAULT_SCHEMA`]); created when missing. Lowercase letters, digits and `_`, starting
    /// with a letter or `_`, at most 63 characters.
    pub schema: String,
    /// The `application_name` of the store's connections (default
    /// [`DEFAULT_APPLICATION_NAME`]).
    pub application_name: String,
    /// The most writes one group-commit transaction carries (default 64, at least 1): one
    /// savepoint each, so at most this many subtransactions — PostgreSQL keeps 64 per backend
    /// in shared memory before other sessions' snapshots slow down. See the crate README.
    pub max_batch: usize,
    /// How many writes may wait for each group-commit writer (default 1024, at least 1);
    /// beyond that, callers wait for room in the queue (back-pressure).
    pub write_queue: usize,
    /// How many group-commit writers the store runs (default 4, at least 1, at most
    /// `pool_size`): each room's writes always go to the same one, each holds one pool
    /// connection while it writes a batch.
    pub writers: usize,
    /// Options every taskcore store honours (change retention).
    pub store: StoreOptions,
}

impl PgConfig {
    /// Defaults for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 10,
            statement_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(10),
            schema: DEFAULT_SCHEMA.to_owned(),
            application_name: DEFAULT_APPLICATION_NAME.to_owned(),
            max_batch: 64,
            write_queue: 1024,
            writers: 4,
            store: StoreOptions::default(),
        }
    }

    /// The settings a URL gives: the defaults of [`PgConfig::new`], then the URL's query
    /// parameters —
    ///
    /// | parameter | example | setting |
    /// |---|---|---|
    /// | `schema` | `taskcore` | [`PgConfig::schema`] |
    /// | `pool_size` (or `max_connections`) | `20` | [`PgConfig::pool_size`] |
    /// | `acquire_timeout` | `10s`, `500ms` (bare number: seconds) | [`PgConfig::acquire_timeout`] |
    /// | `statement_timeout` | `30s` (`0` disables it) | [`PgConfig::statement_timeout`] |
    /// | `application_name` | `replica-2` | [`PgConfig::application_name`] |
    /// | `max_batch` | `64` | [`PgConfig::max_batch`] |
    /// | `write_queue` | `1024` | [`PgConfig::write_queue`] |
    /// | `writers` | `4` | [`PgConfig::writers`] |
    ///
    /// sqlx's own parameters ([`DRIVER_PARAMETERS`]: `sslmode`, `sslrootcert`, `options`, …)
    /// stay in [`PgConfig::url`]. Any other parameter, or a value that does not parse, is
    /// `Invalid` with a message naming it.
    pub fn from_url(url: &str) -> Result<Self> {
        let mut config = Self::new("");
        config.url = params::split(url).read("postgres://", URL_PARAMETERS, DRIVER_PARAMETERS, |key, value| {
            match key {
                "schema" => config.schema = value.to_owned(),
                "pool_size" | "max_connections" => {
                    config.pool_size = params::number::<u32>("pool_size", value)?.max(1);
                }
                "acquire_timeout" => config.acquire_timeout = params::duration("acquire_timeout", value)?,
                "statement_timeout" => config.statement_timeout = params::duration("statement_timeout", value)?,
                "application_name" => config.application_name = value.to_owned(),
                "max_batch" => config.max_batch = params::number::<usize>("max_batch", value)?.max(1),
                "write_queue" => config.write_queue = params::number::<usize>("write_queue", value)?.max(1),
                "writers" => config.writers = params::number::<usize>("writers", value)?.max(1),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(config)
    }

    /// With a pool of at most `connections` (at least 1).
    pub fn pool_size(mut self, connections: u32) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// With a statement timeout (zero disables it).
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// With an acquire timeout.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// With another schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// With another `application_name`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// With at most `operations` writes per group-commit transaction (at least 1).
    pub fn max_batch(mut self, operations: usize) -> Self {
        self.max_batch = operations.max(1);
        self
    }

    /// With room for `writes` waiting writes per group-commit writer (at least 1).
    pub fn write_queue(mut self, writes: usize) -> Self {
        self.write_queue = writes.max(1);
        self
    }

    /// With `writers` group-commit writers (at least 1; at most the pool size is used).
    pub fn writers(mut self, writers: usize) -> Self {
        self.writers = writers.max(1);
        self
    }

    /// With taskcore store options.
    pub fn store_options(mut self, options: StoreOptions) -> Self {
        self.store = options;
        self
    }

    /// Checks the schema name and parses the URL into connect options that set the schema as
    /// the search path, the statement timeout and the application name at connection start-up
    /// (no extra round trip per connection).
    ///
    /// - a schema name that is not a plain identifier → `Invalid { field: "schema" }`;
    /// - a URL that does not parse → `Invalid { field: "url" }` (the message never shows the
    ///   URL, which may hold a password).
    pub(crate) fn connect_options(&self) -> Result<PgConnectOptions> {
        check_schema(&self.schema)?;
        let scheme = self.url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("postgres" | "postgresql")) {
            return Err(Error::invalid("url", "the URL does not start with postgres:// or postgresql://"));
        }
        let options = PgConnectOptions::from_str(&self.url).map_err(|e| {
            Error::invalid(
                "url",
                format!("not a PostgreSQL URL ({e}): use postgres://user:password@host:5432/database"),
            )
        })?;
        let timeout = format!("{}ms", self.statement_timeout.as_millis());
        Ok(options
            .application_name(&self.application_name)
            .options([("search_path", self.schema.as_str()), ("statement_timeout", timeout.as_str())]))
    }
}

/// Never the URL itself: it may hold a password. (`taskcore_store::redact_url` shows a URL
/// with its secrets masked, for logs.)
impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &"<hidden>")
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("schema", &self.schema)
            .field("application_name", &self.application_name)
            .field("max_batch", &self.max_batch)
            .field("write_queue", &self.write_queue)
            .field("writers", &self.writers)
            .field("store", &self.store)
            .finish()
    }
}

/// Checks that `schema` is a plain lowercase identifier, so that it needs no escaping anywhere
/// and names the same schema quoted or not.
pub(crate) fn check_schema(schema: &str) -> Result<()> {
    let mut chars = schema.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= 63 && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(Error::invalid(
            "schema",
            format!(
                "{schema:?} is not a plain schema name: use 1 to 63 lowercase letters, digits and _, starting with a \
                 letter or _ (and not pg_)"
            ),
        ))
    }
}

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let config = PgConfig::new("postgres://app:hunter2@db/tasks?password=hunter2");
        assert!(!format!("{config:?}").contains("hunter2"));
        let bad = PgConfig::new("postgres://app:hunter2@db:notaport/tasks").connect_options().unwrap_err();
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["taskcore", "tc_test_0123abcd", "_x"] {
            assert!(check_schema(good).is_ok(), "{good}");
        }
        for bad in ["", "Taskcore", "1abc", "a-b", "a\"b", "pg_catalog", &"a".repeat(64)] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_settings_are_start_up_parameters() {
        let config = PgConfig::new("postgres://app@db/tasks")
            .schema("tc_x")
            .statement_timeout(Duration::from_millis(1500))
            .application_name("replica-2");
        let options = config.connect_options().unwrap();
        assert_eq!(options.get_options(), Some("-c search_path=tc_x -c statement_timeout=1500ms"));
        assert_eq!(options.get_application_name(), Some("replica-2"));
        assert!(PgConfig::new("mysql://x@db/tasks").connect_options().is_err());
    }

    #[test]
    fn url_parameters_set_every_setting() {
        let config = PgConfig::from_url(
            "postgres://app@db/tasks?schema=tc_x&max_connections=3&acquire_timeout=2s&statement_timeout=1500ms\
             &application_name=replica-2&max_batch=9&write_queue=20&writers=2&sslmode=disable",
        )
        .unwrap();
        let expected = PgConfig::new("postgres://app@db/tasks?sslmode=disable")
            .schema("tc_x")
            .pool_size(3)
            .acquire_timeout(Duration::from_secs(2))
            .statement_timeout(Duration::from_millis(1500))
            .application_name("replica-2")
            .max_batch(9)
            .write_queue(20)
            .writers(2);
        assert_eq!(config, expected);
        assert_eq!(PgConfig::from_url("postgres://db/x?pool_size=4").unwrap().pool_size, 4);
        let unknown = PgConfig::from_url("postgres://db/x?shcema=a").unwrap_err().to_string();
        assert!(unknown.contains("'shcema'") && unknown.contains("schema"), "{unknown}");
        let bad = PgConfig::from_url("postgres://db/x?acquire_timeout=soon").unwrap_err();
        assert!(matches!(bad, Error::Invalid { field: "acquire_timeout", .. }), "{bad:?}");
    }

    #[test]
    fn sizes_are_at_least_one() {
        assert_eq!(PgConfig::new("postgres://x").pool_size(0).pool_size, 1);
        let config = PgConfig::new("postgres://x").max_batch(0).write_queue(0).writers(0);
        assert_eq!((config.max_batch, config.write_queue, config.writers), (1, 1, 1));
    }
}
