//! [`EdgeConfig`], the limits of the edge with their defaults, and `EdgeArgs` (feature
//! `server`), the same as command-line flags and `TASKCORE_*` environment variables (the binary
//! flattens them into its own flags).

use std::time::Duration;

#[cfg(feature = "server")]
use crate::edge::client_addr::Cidr;
use crate::edge::client_addr::TrustedProxies;
use crate::edge::rate_limit::Rate;

/// The limits of the edge. `Default` is what the binary uses without flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    /// How long a client may take to send a request head (and, on HTTP/1, to start the next
    /// request on a kept-alive connection) before the connection is closed. Zero: no limit.
    pub header_timeout: Duration,
    /// How long a connection may stay without a request in flight before it is closed.
    /// Zero: no limit.
    pub idle_timeout: Duration,
    /// Connections served at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Connections from one client at once (trusted proxies exempt); 0: no cap.
    pub max_connections_per_client: usize,
    /// Proxies whose `X-Forwarded-For` names the client; empty: the peer is the client.
    pub trusted_proxies: TrustedProxies,
    /// Room codes that name no room, per client (a 404 for the room counts); a client over it
    /// gets 429 on every request that names a room until it has waited.
    pub room_misses: Rate,
    /// Rooms created per client.
    pub rooms_created: Rate,
    /// Open `/rooms/{code}/events` streams per room; 0: no cap.
    pub streams_per_room: usize,
    /// Open `/rooms/{code}/events` streams per client; 0: no cap.
    pub streams_per_client: usize,
    /// Clients each rate limit remembers at most; beyond that, new clients share one bucket.
    pub tracked_clients: usize,
}

/// Default [`EdgeConfig::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`EdgeConfig::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`EdgeConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default [`EdgeConfig::max_connections_per_client`].
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 512;
/// Default [`EdgeConfig::room_misses`]: 10 a minute, 30 at once.
pub const DEFAULT_ROOM_MISSES: Rate = Rate::new(10, 30);
/// Default [`EdgeConfig::rooms_created`]: 30 a minute, 30 at once.
pub const DEFAULT_ROOMS_CREATED: Rate = Rate::new(30, 30);
/// Default [`EdgeConfig::streams_per_room`].
pub const DEFAULT_STREAMS_PER_ROOM: usize = 500;
/// Default [`EdgeConfig::streams_per_client`].
pub const DEFAULT_STREAMS_PER_CLIENT: usize = 100;
/// Default [`EdgeConfig::tracked_clients`].
pub const DEFAULT_TRACKED_CLIENTS: usize = 100_000;

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_client: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            trusted_proxies: TrustedProxies::default(),
            room_misses: DEFAULT_ROOM_MISSES,
            rooms_created: DEFAULT_ROOMS_CREATED,
            streams_per_room: DEFAULT_STREAMS_PER_ROOM,
            streams_per_client: DEFAULT_STREAMS_PER_CLIENT,
            tracked_clients: DEFAULT_TRACKED_CLIENTS,
        }
    }
}

/// The edge limits as flags (each also read from the environment variable it names). With the
/// `server` feature (it needs `clap`).
#[cfg(feature = "server")]
#[derive(Debug, Clone, clap::Args)]
pub struct EdgeArgs {
    /// Longest a client may take to send a request's headers (and, on HTTP/1, to start its next
    /// request on a kept-alive connection), e.g. 10s, 500ms, 1m; 0 = no limit.
    #[arg(long, env = "TASKCORE_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub header_timeout: Duration,
    /// Close a connection after this long without a request in flight; 0 = never.
    #[arg(long, env = "TASKCORE_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration, global = true)]
    pub idle_timeout: Duration,
    /// Connections served at once; more are answered 503 (too_many_connections) and closed.
    #[arg(long, env = "TASKCORE_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS, global = true)]
    pub max_connections: usize,
    /// Connections from one client address (IPv4, or IPv6 /64) at once; more are answered 503
    /// (too_many_connections_from_client); trusted proxies are exempt; 0 = no cap.
    #[arg(long, env = "TASKCORE_MAX_CONNECTIONS_PER_CLIENT", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_CLIENT, global = true)]
    pub max_connections_per_client: usize,
    /// Proxies (comma-separated addresses or CIDR blocks) whose X-Forwarded-For names the
    /// client; without it X-Forwarded-For is ignored and the TCP peer is the client.
    #[arg(long, env = "TASKCORE_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<Cidr>,
    /// Length of new room codes (4 to 16); codes of every length keep working.
    #[arg(long, env = "TASKCORE_ROOM_CODE_LENGTH", default_value_t = taskcore::DEFAULT_ROOM_CODE_LENGTH,
        value_parser = parse_code_length, global = true)]
    pub room_code_length: usize,
    /// Room codes naming no room a client may try per minute (then 429 too_many_room_misses on
    /// every room request until it waits); 0 = no limit.
    #[arg(long, env = "TASKCORE_ROOM_MISSES_PER_MINUTE", default_value_t = DEFAULT_ROOM_MISSES.per_minute, global = true)]
    pub room_misses_per_minute: u32,
    /// Room codes naming no room a client may try at once before the per-minute rate applies.
    #[arg(long, env = "TASKCORE_ROOM_MISS_BURST", default_value_t = DEFAULT_ROOM_MISSES.burst, global = true)]
    pub room_miss_burst: u32,
    /// Rooms a client may create per minute (and at once); 0 = no limit.
    #[arg(long, env = "TASKCORE_ROOMS_PER_MINUTE", default_value_t = DEFAULT_ROOMS_CREATED.per_minute, global = true)]
    pub rooms_per_minute: u32,
    /// Open event streams per room (429 too_many_streams_in_room beyond); 0 = no cap.
    #[arg(long, env = "TASKCORE_STREAMS_PER_ROOM", default_value_t = DEFAULT_STREAMS_PER_ROOM, global = true)]
    pub streams_per_room: usize,
    /// Open event streams per client (429 too_many_streams_for_client beyond); 0 = no cap.
    #[arg(long, env = "TASKCORE_STREAMS_PER_CLIENT", default_value_t = DEFAULT_STREAMS_PER_CLIENT, global = true)]
    pub streams_per_client: usize,
    /// Clients each rate limit remembers at most (bounds its memory); beyond, new clients
    /// share one budget.
    #[arg(long, env = "TASKCORE_RATE_LIMIT_CLIENTS", default_value_t = DEFAULT_TRACKED_CLIENTS, global = true)]
    pub rate_limit_clients: usize,
}

#[cfg(feature = "server")]
impl EdgeArgs {
    /// The [`EdgeConfig`] these flags describe.
    pub fn config(&self) -> EdgeConfig {
        EdgeConfig {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections.max(1),
            max_connections_per_client: self.max_connections_per_client,
            trusted_proxies: TrustedProxies::new(self.trusted_proxies.clone()),
            room_misses: Rate::new(self.room_misses_per_minute, self.room_miss_burst),
            rooms_created: Rate::new(self.rooms_per_minute, self.rooms_per_minute),
            streams_per_room: self.streams_per_room,
            streams_per_client: self.streams_per_client,
            tracked_clients: self.rate_limit_clients.max(1),
        }
    }
}

/// `10s`, `500ms`, `2m`, `1h`, or a plain number of seconds.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let text = input.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("'{input}' is not a duration such as 10s, 500ms or 1m"))?;
    let duration = match unit.trim() {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        _ => return Err(format!("'{input}' has an unknown unit; use ms, s, m or h")),
    };
    Ok(duration)
}

#[cfg(feature = "server")]
fn parse_code_length(input: &str) -> Result<usize, String> {
    let range = taskcore::MIN_ROOM_CODE_LENGTH..=taskcore::MAX_ROOM_CODE_LENGTH;
    input
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| format!("must be a whole number from {} to {}", range.start(), range.end()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "s", "-1s", "1d", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "server")]
    #[test]
    fn code_lengths_are_in_range() {
        assert!(parse_code_length("3").is_err() && parse_code_length("17").is_err());
        assert_eq!(parse_code_length("10").unwrap(), 10);
    }
}
