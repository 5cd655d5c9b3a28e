//! [`Target`]: where Redis is — one server (`redis://`, `unix://`) or the seed nodes of a Redis
//! Cluster (`redis+cluster://host1:port1,host2:port2/`) — read from the store's URL. The cluster
//! form follows the redis crate's cluster client: each seed becomes a `redis://` URL with the
//! same credentials and driver parameters, and any one reachable seed is enough (the client
//! learns the rest from `CLUSTER SLOTS`).

use taskcore::{Error, Result};

/// The scheme of a Redis Cluster URL.
pub(crate) const CLUSTER_SCHEME: &str = "redis+cluster";

/// The most seed nodes a cluster URL may list.
const MAX_SEEDS: usize = 64;

/// Where the store's Redis is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// One server (or a server with replicas behind one address), by its URL.
    Node(String),
    /// A Redis Cluster, by the `redis://` URLs of its seed nodes.
    Cluster(Vec<String>),
}

impl Target {
    /// The target of `url` (its taskcore parameters already taken out). A cluster URL must name
    /// at least one `host:port`, and no database (a cluster has only database 0).
    pub(crate) fn of(url: &str) -> Result<Self> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(Error::invalid("url", "must start with redis://, redis+cluster:// or unix://"));
        };
        if !scheme.eq_ignore_ascii_case(CLUSTER_SCHEME) {
            return Ok(Self::Node(url.to_owned()));
        }
        let (address, query) = rest.split_once('?').map_or((rest, None), |(address, query)| (address, Some(query)));
        let (authority, path) = address.split_once('/').unwrap_or((address, ""));
        if !matches!(path, "" | "0") {
            return Err(Error::invalid(
                "url",
                format!("a Redis Cluster has only database 0; remove /{path} from the redis+cluster:// URL"),
            ));
        }
        let (credentials, hosts) = match authority.rsplit_once('@') {
            Some((credentials, hosts)) => (Some(credentials), hosts),
            None => (None, authority),
        };
        let seeds: Vec<&str> = hosts.split(',').map(str::trim).filter(|host| !host.is_empty()).collect();
        if seeds.is_empty() {
            return Err(Error::invalid(
                "url",
                "redis+cluster:// needs at least one seed node: redis+cluster://host:port,…",
            ));
        }
        if seeds.len() > MAX_SEEDS {
            return Err(Error::invalid("url", format!("redis+cluster:// lists more than {MAX_SEEDS} seed nodes")));
        }
        let nodes = seeds
            .into_iter()
            .map(|host| {
                check_host(host)?;
                let mut node = String::from("redis://");
                if let Some(credentials) = credentials {
                    node.push_str(credentials);
                    node.push('@');
                }
                node.push_str(host);
                if let Some(query) = query {
                    node.push_str("/?");
                    node.push_str(query);
                }
                Ok(node)
            })
            .collect::<Result<_>>()?;
        Ok(Self::Cluster(nodes))
    }
}

/// A seed must be `host:port` (an IPv6 address in brackets): the cluster client has no default
/// port to fall back on that would be right for every seed.
fn check_host(host: &str) -> Result<()> {
    let port = host.rsplit_once(':').map(|(name, port)| (name, port.parse::<u16>()));
    match port {
        Some((name, Ok(port))) if !name.is_empty() && port != 0 => Ok(()),
        _ => Err(Error::invalid("url", format!("seed node {host:?} of the redis+cluster:// URL must be host:port"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_servers_pass_through() {
        assert_eq!(Target::of("redis://h:1/2").unwrap(), Target::Node("redis://h:1/2".into()));
        assert_eq!(Target::of("unix:///run/redis.sock").unwrap(), Target::Node("unix:///run/redis.sock".into()));
    }

    #[test]
    fn cluster_seeds_become_node_urls_with_credentials_and_driver_parameters() {
        let target = Target::of("redis+cluster://app:s%40cret@10.0.0.1:7000, [::1]:7001/?protocol=resp3").unwrap();
        assert_eq!(
            target,
            Target::Cluster(vec![
                "redis://app:s%40cret@10.0.0.1:7000/?protocol=resp3".into(),
                "redis://app:s%40cret@[::1]:7001/?protocol=resp3".into(),
            ])
        );
        assert_eq!(
            Target::of("REDIS+CLUSTER://a:1,b:2").unwrap(),
            Target::Cluster(vec!["redis://a:1".into(), "redis://b:2".into()])
        );
    }

    #[test]
    fn bad_cluster_urls_say_what_is_wrong() {
        for (url, says) in [
            ("redis+cluster:///", "at least one seed"),
            ("redis+cluster://a:1/3", "only database 0"),
            ("redis+cluster://a", "host:port"),
            ("redis+cluster://a:0", "host:port"),
            ("redis+cluster://:7000", "host:port"),
            ("redis+cluster://a:1,b:x", "\"b:x\""),
        ] {
            let err = Target::of(url).unwrap_err();
            assert!(
                matches!(err, Error::Invalid { field: "url", .. }) && err.to_string().contains(says),
                "{url}: {err}"
            );
        }
    }
}
