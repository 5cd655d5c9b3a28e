//! [`PgConfig`]: which server and schema a [`PgStore`](crate::PgStore) uses and how it connects
//! — pool size, statement and acquire timeouts, application name — with the password redacted
//! wherever the configuration is printed.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use taskcore::{Error, Result, StoreOptions};

/// The schema a store uses unless configured otherwise.
pub const DEFAULT_SCHEMA: &str = "taskcore";

/// The `application_name` a store's connections report unless configured otherwise (visible in
/// `pg_stat_activity`).
pub const DEFAULT_APPLICATION_NAME: &str = "taskcore";

/// How to open a [`PgStore`](crate::PgStore).
///
/// ```
/// use std::time::Duration;
/// use taskcore_postgres::PgConfig;
/// let config = PgConfig::new("postgres://app:secret@db.internal:5432/tasks")
///     .pool_size(20)
///     .statement_timeout(Duration::from_secs(5))
///     .schema("taskcore");
/// assert_eq!(config.pool_size, 20);
/// assert!(!format!("{config:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/database?…` (any parameter libpq-style URLs take
    /// that sqlx understands, such as `sslmode`).
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
            store: StoreOptions::default(),
        }
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
    ///   password).
    pub(crate) fn connect_options(&self) -> Result<PgConnectOptions> {
        check_schema(&self.schema)?;
        let scheme = self.url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("postgres" | "postgresql")) {
            return Err(Error::invalid(
                "url",
                format!("{} is not a postgres:// or postgresql:// URL", redact(&self.url)),
            ));
        }
        let options = PgConnectOptions::from_str(&self.url).map_err(|e| {
            Error::invalid(
                "url",
                format!(
                    "{} is not a PostgreSQL URL ({e}): use postgres://user:password@host:5432/database",
                    redact(&self.url)
                ),
            )
        })?;
        let timeout = format!("{}ms", self.statement_timeout.as_millis());
        Ok(options
            .application_name(&self.application_name)
            .options([("search_path", self.schema.as_str()), ("statement_timeout", timeout.as_str())]))
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &redact(&self.url))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("schema", &self.schema)
            .field("application_name", &self.application_name)
            .field("store", &self.store)
            .finish()
    }
}

/// `url` with the password (in the user information or a `password=` parameter) replaced by
/// `***`, for logs and error messages.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    if scheme.is_empty() { format!("{authority}{tail}") } else { format!("{scheme}://{authority}{tail}") }
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
        assert_eq!(redact("postgres://app:s3cr%40t@db:5432/tasks"), "postgres://app:***@db:5432/tasks");
        assert_eq!(
            redact("postgres://app@db/tasks?password=x&sslmode=require"),
            "postgres://app@db/tasks?password=***&sslmode=require"
        );
        assert_eq!(redact("postgres://db/tasks"), "postgres://db/tasks");
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
    fn sizes_are_at_least_one() {
        assert_eq!(PgConfig::new("postgres://x").pool_size(0).pool_size, 1);
    }
}
