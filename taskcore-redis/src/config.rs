//! [`RedisConfig`]: where the Redis server is, which key prefix (namespace) to use, and the
//! timeouts that bound every operation. Defaults, then environment variables, then builder
//! calls; the password in the URL is redacted in `Debug`.

use std::fmt;
use std::time::Duration;

use taskcore::{Error, Result};

/// The environment variable [`RedisConfig::from_env`] reads the URL from.
pub const URL_ENV: &str = "TASKCORE_REDIS_URL";

/// The environment variable [`RedisConfig::from_env`] reads the key prefix from.
pub const PREFIX_ENV: &str = "TASKCORE_REDIS_PREFIX";

/// The key prefix used unless another is set.
pub const DEFAULT_PREFIX: &str = "taskcore";

/// The URL used unless another is set.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// How to reach Redis and how long to wait for it.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    url: String,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    operation_timeout: Duration,
    reconnect_retries: usize,
    scan_step: usize,
}

/// The default [`RedisConfig::scan_step`].
pub const DEFAULT_SCAN_STEP: usize = 512;

/// The largest [`RedisConfig::scan_step`] accepted.
pub const MAX_SCAN_STEP: usize = 4096;

impl RedisConfig {
    /// The settings for `url` (`redis://[user:password@]host:port[/db]`, or `unix:///path`),
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
        }
    }

    /// The defaults, then [`URL_ENV`] and [`PREFIX_ENV`] when set.
    pub fn from_env() -> Self {
        let mut config = Self::new(std::env::var(URL_ENV).unwrap_or_else(|_| DEFAULT_URL.to_owned()));
        if let Ok(prefix) = std::env::var(PREFIX_ENV) {
            config.prefix = prefix;
        }
        config
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

    /// The URL as given (with its password, if any).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL with its password replaced by `***`, for logs.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
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

    /// Checks the prefix, the scan step and the URL scheme.
    pub(crate) fn check(&self) -> Result<()> {
        if !(1..=MAX_SCAN_STEP).contains(&self.scan_step) {
            return Err(Error::invalid("scan_step", format!("must be between 1 and {MAX_SCAN_STEP}")));
        }
        let prefix_ok = (1..=64).contains(&self.prefix.len())
            && self.prefix.bytes().all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
        if !prefix_ok {
            return Err(Error::invalid("prefix", "must be 1 to 64 visible ASCII characters without '{' or '}'"));
        }
        let scheme = self.url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("redis" | "unix" | "redis+unix") => Ok(()),
            Some("rediss") => Err(Error::invalid(
                "url",
                "rediss:// (TLS) is not supported by this build of taskcore-redis; use redis:// on a private \
                 network or a TLS-terminating proxy (stunnel, a sidecar) in front of Redis",
            )),
            _ => {
                Err(Error::invalid("url", format!("must start with redis:// or unix://, got {}", self.redacted_url())))
            }
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self::new(DEFAULT_URL)
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.redacted_url())
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("reconnect_retries", &self.reconnect_retries)
            .field("scan_step", &self.scan_step)
            .finish()
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let Some((credentials, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    let user = credentials.split_once(':').map_or("", |(user, _)| user);
    let path = path.map(|p| format!("/{p}")).unwrap_or_default();
    format!("{scheme}://{user}:***@{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_password() {
        let config = RedisConfig::new("redis://app:s3cret@cache:6379/2");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("redis://app:***@cache:6379/2"), "{shown}");
        assert_eq!(redact("redis://:pw@h:1"), "redis://:***@h:1");
        assert_eq!(redact("redis://h:1/0"), "redis://h:1/0");
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
    }
}
