//! [`RedisConfig`]: where the Redis server or cluster is, which key prefix (namespace) to use,
//! the timeouts that bound every operation, and how many replicas must have a write before it
//! is acknowledged — set in code or in the URL's query string ([`RedisConfig::from_url`]); the
//! URL (which may hold a password) is never printed.

use std::fmt;
use std::time::Duration;

use taskcore::{Error, Result, StoreOptions};

use taskcore::store::url_params as params;

use crate::target::{CLUSTER_SCHEME, Target};

/// The query parameters [`RedisConfig::from_url`] reads.
pub const URL_PARAMETERS: &[&str] = &[
    "prefix",
    "connect_timeout",
    "response_timeout",
    "operation_timeout",
    "reconnect_retries",
    "scan_step",
    "replica_acks",
    "replica_ack_timeout",
    "ack_connections",
];

/// The query parameters left in the URL for the redis driver (`protocol`; `db`, `user` and
/// `pass` of `unix://` URLs).
pub const DRIVER_PARAMETERS: &[&str] = &["protocol", "db", "user", "pass"];

/// The key prefix used unless another is set.
pub const DEFAULT_PREFIX: &str = "taskcore";

/// The URL used unless another is set.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// How to reach Redis and how long to wait for it: in code, or from the URL's query string.
///
/// ```
/// use std::time::Duration;
/// use taskcore_redis::RedisConfig;
/// let config = RedisConfig::new("redis://:secret@cache:6379/0").prefix("myapp").operation_timeout(Duration::from_secs(3));
/// let same = RedisConfig::from_url("redis://:secret@cache:6379/0?prefix=myapp&operation_timeout=3s")?;
/// assert_eq!(config, same);
/// assert!(!format!("{config:?}").contains("secret"));
/// # Ok::<(), taskcore::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    url: String,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    operation_timeout: Duration,
    reconnect_retries: usize,
    scan_step: usize,
    replica_acks: u32,
    replica_ack_timeout: Duration,
    ack_connections: usize,
    store: StoreOptions,
}

/// The default [`RedisConfig::scan_step`].
pub const DEFAULT_SCAN_STEP: usize = 512;

/// The largest [`RedisConfig::scan_step`] accepted.
pub const MAX_SCAN_STEP: usize = 4096;

/// The largest [`RedisConfig::replica_acks`] accepted.
pub const MAX_REPLICA_ACKS: u32 = 16;

/// The default [`RedisConfig::ack_connections`].
pub const DEFAULT_ACK_CONNECTIONS: usize = 32;

/// The largest [`RedisConfig::ack_connections`] accepted.
pub const MAX_ACK_CONNECTIONS: usize = 256;

impl RedisConfig {
    /// The settings for `url` (`redis://[user:password@]host:port[/db]`, `unix:///path`, or a
    /// Redis Cluster's seed nodes: `redis+cluster://[user:password@]host1:port1,host2:port2/`),
    /// with the default prefix and timeouts.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(5),
            reconnect_retries: 2,
            scan_step: DEFAULT_SCAN_STEP,
            replica_acks: 0,
            replica_ack_timeout: Duration::from_secs(1),
            ack_connections: DEFAULT_ACK_CONNECTIONS,
            store: StoreOptions::default(),
        }
    }

    /// The settings a URL gives: the defaults of [`RedisConfig::new`], then the URL's query
    /// parameters —
    ///
    /// | parameter | example | setting |
    /// |---|---|---|
    /// | `prefix` | `myapp` | [`RedisConfig::prefix`] |
    /// | `connect_timeout` | `1s`, `500ms` (bare number: seconds) | [`RedisConfig::connect_timeout`] |
    /// | `response_timeout` | `2s` | [`RedisConfig::response_timeout`] |
    /// | `operation_timeout` | `5s` | [`RedisConfig::operation_timeout`] |
    /// | `reconnect_retries` | `2` | [`RedisConfig::reconnect_retries`] |
    /// | `scan_step` | `512` | [`RedisConfig::scan_step`] |
    /// | `replica_acks` | `1` | [`RedisConfig::replica_acks`] |
    /// | `replica_ack_timeout` | `1s` | [`RedisConfig::replica_ack_timeout`] |
    /// | `ack_connections` | `32` | [`RedisConfig::ack_connections`] |
    ///
    /// The driver's own parameters ([`DRIVER_PARAMETERS`]) stay in the URL. Any other
    /// parameter, or a value that does not parse, is `Invalid` with a message naming it.
    pub fn from_url(url: &str) -> Result<Self> {
        let mut config = Self::new("");
        config.url = params::split(url).read("redis://", URL_PARAMETERS, DRIVER_PARAMETERS, |key, value| {
            match key {
                "prefix" => config.prefix = value.to_owned(),
                "connect_timeout" => config.connect_timeout = params::duration("connect_timeout", value)?,
                "response_timeout" => config.response_timeout = params::duration("response_timeout", value)?,
                "operation_timeout" => config.operation_timeout = params::duration("operation_timeout", value)?,
                "reconnect_retries" => config.reconnect_retries = params::number("reconnect_retries", value)?,
                "scan_step" => config.scan_step = params::number("scan_step", value)?,
                "replica_acks" => config.replica_acks = params::number("replica_acks", value)?,
                "replica_ack_timeout" => {
                    config.replica_ack_timeout = params::duration("replica_ack_timeout", value)?;
                }
                "ack_connections" => config.ack_connections = params::number("ack_connections", value)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(config)
    }

    /// With a key prefix: every key this store touches starts with `<prefix>:` or
    /// `{<prefix>:`, so applications (and tests) that use different prefixes share a Redis
    /// without seeing each other. 1 to 64 visible ASCII characters, no `{` or `}`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one connection attempt may take (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long Redis may take to answer one command (default 2 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The most one store operation may take, reconnection attempts included (default 5 s);
    /// past it the operation is `Unavailable`.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// How many times one operation retries connecting before it fails (default 2).
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// The most index entries or set members one Redis call of a listing looks at (default
    /// [`DEFAULT_SCAN_STEP`], 1 to [`MAX_SCAN_STEP`]). It bounds how long one listing holds
    /// Redis, whatever the room size: a listing that must look further makes several calls, and
    /// other clients are served between them. Smaller steps mean shorter calls and more round
    /// trips.
    pub fn scan_step(mut self, entries: usize) -> Self {
        self.scan_step = entries;
        self
    }

    /// How many replicas must have each write before the store acknowledges it (default 0:
    /// acknowledged once the master applied it). With `n > 0` every write is followed, on the
    /// same connection, by `WAIT n`, so a failover to a replica — Redis Cluster's, or a
    /// promoted replica of a single server — loses no acknowledged write. A write that fewer
    /// replicas confirm within [`replica_ack_timeout`](Self::replica_ack_timeout) answers
    /// `Unavailable`: it was applied on the master but may be lost if the master fails before
    /// its replicas catch up (as with any timeout, a retry should carry an idempotency key).
    /// 0 to [`MAX_REPLICA_ACKS`].
    pub fn replica_acks(mut self, replicas: u32) -> Self {
        self.replica_acks = replicas;
        self
    }

    /// How long a write waits for [`replica_acks`](Self::replica_acks) replicas (default 1 s).
    pub fn replica_ack_timeout(mut self, timeout: Duration) -> Self {
        self.replica_ack_timeout = timeout;
        self
    }

    /// How many connections the writes that wait for replicas take in turn (default
    /// [`DEFAULT_ACK_CONNECTIONS`], 1 to [`MAX_ACK_CONNECTIONS`]; each is a connection to every
    /// node on a cluster, made on first use). A `WAIT` holds its connection until the replicas
    /// answer, so this bounds how many acknowledged writes a store has waiting at once: more
    /// connections, more writes per second for writers that wait on each other.
    pub fn ack_connections(mut self, connections: usize) -> Self {
        self.ack_connections = connections;
        self
    }

    /// With taskcore store options (change retention).
    pub fn store_options(mut self, options: StoreOptions) -> Self {
        self.store = options;
        self
    }

    /// The URL as given (with its password, if any; `taskcore_store::redact_url` masks it for
    /// logs).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store options.
    pub fn options(&self) -> StoreOptions {
        self.store
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn connect_timeout_value(&self) -> Duration {
        self.connect_timeout
    }

    pub(crate) fn response_timeout_value(&self) -> Duration {
        self.response_timeout
    }

    pub(crate) fn operation_timeout_value(&self) -> Duration {
        self.operation_timeout
    }

    pub(crate) fn reconnect_retries_value(&self) -> usize {
        self.reconnect_retries
    }

    pub(crate) fn scan_step_value(&self) -> usize {
        self.scan_step
    }

    pub(crate) fn replica_acks_value(&self) -> u32 {
        self.replica_acks
    }

    pub(crate) fn replica_ack_timeout_value(&self) -> Duration {
        self.replica_ack_timeout
    }

    pub(crate) fn ack_connections_value(&self) -> usize {
        self.ack_connections
    }

    /// Where Redis is: one server or a cluster's seed nodes (checked by [`check`](Self::check)).
    pub(crate) fn target(&self) -> Result<Target> {
        Target::of(&self.url)
    }

    /// Checks the prefix, the scan step, the replica acknowledgements and the URL.
    pub(crate) fn check(&self) -> Result<()> {
        if !(1..=MAX_SCAN_STEP).contains(&self.scan_step) {
            return Err(Error::invalid("scan_step", format!("must be between 1 and {MAX_SCAN_STEP}")));
        }
        if !(1..=MAX_ACK_CONNECTIONS).contains(&self.ack_connections) {
            return Err(Error::invalid("ack_connections", format!("must be between 1 and {MAX_ACK_CONNECTIONS}")));
        }
        if self.replica_acks > MAX_REPLICA_ACKS {
            return Err(Error::invalid("replica_acks", format!("must be between 0 and {MAX_REPLICA_ACKS}")));
        }
        if self.replica_ack_timeout.is_zero() || self.replica_ack_timeout > self.operation_timeout {
            return Err(Error::invalid(
                "replica_ack_timeout",
                "must be more than 0 and at most the operation timeout (a write waits for its replicas within it)",
            ));
        }
        let prefix_ok = (1..=64).contains(&self.prefix.len())
            && self.prefix.bytes().all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
        if !prefix_ok {
            return Err(Error::invalid("prefix", "must be 1 to 64 visible ASCII characters without '{' or '}'"));
        }
        let scheme = self.url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("redis" | "unix" | "redis+unix") => Ok(()),
            Some(CLUSTER_SCHEME) => self.target().map(drop),
            Some("rediss") => Err(Error::invalid(
                "url",
                "rediss:// (TLS) is not supported by this build of taskcore-redis; use redis:// on a private \
                 network or a TLS-terminating proxy (stunnel, a sidecar) in front of Redis",
            )),
            Some(other) => Err(Error::invalid(
                "url",
                format!("must start with redis://, redis+cluster:// or unix://, not {other}://"),
            )),
            None => Err(Error::invalid("url", "must start with redis://, redis+cluster:// or unix://")),
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self::new(DEFAULT_URL)
    }
}

/// Never the URL itself: it may hold a password. (`taskcore_store::redact_url` shows a URL
/// with its secrets masked, for logs.)
impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &"<hidden>")
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("reconnect_retries", &self.reconnect_retries)
            .field("scan_step", &self.scan_step)
            .field("replica_acks", &self.replica_acks)
            .field("replica_ack_timeout", &self.replica_ack_timeout)
            .field("ack_connections", &self.ack_connections)
            .field("store", &self.store)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let config = RedisConfig::new("redis://app:s3cret@cache:6379/2");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        let refused = RedisConfig::new("http://app:s3cret@cache").check().unwrap_err().to_string();
        assert!(!refused.contains("s3cret"), "{refused}");
    }

    #[test]
    fn url_parameters_set_every_setting() {
        let config = RedisConfig::from_url(
            "redis://h:1/2?prefix=a%2Bb&connect_timeout=100ms&response_timeout=3&operation_timeout=1m\
             &reconnect_retries=0&scan_step=64&replica_acks=1&replica_ack_timeout=250ms&ack_connections=4\
             &protocol=resp3",
        )
        .unwrap();
        let expected = RedisConfig::new("redis://h:1/2?protocol=resp3")
            .prefix("a+b")
            .connect_timeout(Duration::from_millis(100))
            .response_timeout(Duration::from_secs(3))
            .operation_timeout(Duration::from_secs(60))
            .reconnect_retries(0)
            .scan_step(64)
            .replica_acks(1)
            .replica_ack_timeout(Duration::from_millis(250))
            .ack_connections(4);
        assert_eq!(config, expected);
        let unknown = RedisConfig::from_url("redis://h?prefx=a").unwrap_err().to_string();
        assert!(unknown.contains("'prefx'") && unknown.contains("prefix"), "{unknown}");
        let bad = RedisConfig::from_url("redis://h?reconnect_retries=many").unwrap_err();
        assert!(matches!(bad, Error::Invalid { field: "reconnect_retries", .. }), "{bad:?}");
    }

    #[test]
    fn schemes_and_prefixes_are_checked() {
        assert!(RedisConfig::new("redis://h:1/0").check().is_ok());
        let tls = RedisConfig::new("rediss://h:1").check().unwrap_err().to_string();
        assert!(tls.contains("TLS"), "{tls}");
        assert!(RedisConfig::new("http://h").check().is_err());
        assert!(RedisConfig::default().prefix("a{b}").check().is_err());
        assert!(RedisConfig::default().prefix("").check().is_err());
        assert!(RedisConfig::default().scan_step(0).check().is_err());
        assert!(RedisConfig::default().scan_step(MAX_SCAN_STEP + 1).check().is_err());
        assert!(RedisConfig::default().scan_step(1).check().is_ok());
        assert!(RedisConfig::new("redis+cluster://a:1,b:2/").check().is_ok());
        assert!(RedisConfig::new("redis+cluster://a").check().is_err());
        assert!(RedisConfig::default().replica_acks(MAX_REPLICA_ACKS + 1).check().is_err());
        assert!(RedisConfig::default().replica_ack_timeout(Duration::ZERO).check().is_err());
        assert!(RedisConfig::default().ack_connections(0).check().is_err());
        assert!(RedisConfig::default().ack_connections(MAX_ACK_CONNECTIONS + 1).check().is_err());
        let longer = RedisConfig::default()
            .operation_timeout(Duration::from_secs(1))
            .replica_ack_timeout(Duration::from_secs(2));
        assert!(matches!(longer.check(), Err(Error::Invalid { field: "replica_ack_timeout", .. })));
    }
}
