//! The store's connections: [`Connection`] is one auto-reconnecting connection to a single Redis
//! (the redis crate's `ConnectionManager`) or to a Redis Cluster (its cluster connection, which
//! routes each command by its key's slot, follows `MOVED`/`ASK`, and rediscovers the topology
//! after a failover); [`Endpoint`] makes them — the shared one, one of its own for a long call,
//! and the subscriber of write notices — and lists a cluster's masters for a keyspace walk;
//! [`AckConnections`] are the connections of the writes that wait for replicas.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, RedisResult, Value};
use taskcore::{Error, Result};

use crate::row::corrupt;

use crate::config::RedisConfig;
use crate::error::from_redis;
use crate::target::Target;

/// How long the cluster client waits at most between two attempts of a command that failed
/// because the cluster was moving slots or failing over.
const CLUSTER_MAX_RETRY_WAIT: Duration = Duration::from_millis(500);

/// How many slots' masters a cluster's `PING` tries before the store reports Redis unreachable.
const PING_PROBES: u16 = 8;

/// The slots of a Redis Cluster.
const SLOTS: u16 = 16_384;

/// How many times the cluster client retries one command (redirections, a failover) within the
/// operation timeout.
const CLUSTER_RETRIES: u32 = 16;

/// One connection to Redis, cheap to clone (clones share it).
#[derive(Clone)]
pub(crate) enum Connection {
    /// To one server, reconnecting by itself.
    Node(ConnectionManager),
    /// To one server, made for one long call and dropped after it.
    Direct(MultiplexedConnection),
    /// To a Redis Cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(conn) => conn.req_packed_command(cmd),
            Self::Direct(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Direct(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(conn) => conn.get_db(),
            Self::Direct(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// Where connections come from: a single server's client, or a cluster's seed nodes.
#[derive(Clone)]
pub(crate) enum Endpoint {
    /// One server.
    Node(redis::Client),
    /// A Redis Cluster, by the `redis://` URLs of its seed nodes.
    Cluster(Vec<String>),
}

impl Endpoint {
    /// The endpoint of `config`'s URL; `Invalid` on `url` when it does not parse.
    pub(crate) fn of(config: &RedisConfig) -> Result<Self> {
        let not_redis = |e: redis::RedisError| Error::invalid("url", format!("not a Redis URL: {e}"));
        match config.target()? {
            Target::Node(url) => redis::Client::open(url).map(Self::Node).map_err(not_redis),
            Target::Cluster(nodes) => {
                // Built once here so that a malformed seed is `Invalid` at open.
                ClusterClient::new(nodes.iter().map(String::as_str)).map_err(not_redis)?;
                Ok(Self::Cluster(nodes))
            }
        }
    }

    /// Whether this is a Redis Cluster.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// The store's shared connection. To a single server it connects lazily (the first command
    /// connects, and a lost connection is made again); to a cluster it connects now, to learn
    /// the slots — `Unavailable` when no seed answers within the connect timeout.
    pub(crate) async fn connect(&self, config: &RedisConfig) -> Result<Connection> {
        match self {
            Self::Node(client) => {
                let manager_config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(config.connect_timeout_value()))
                    .set_response_timeout(Some(config.response_timeout_value()))
                    .set_number_of_retries(config.reconnect_retries_value())
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_lazy_with_config(client.clone(), manager_config)
                    .map(Connection::Node)
                    .map_err(from_redis)
            }
            Self::Cluster(nodes) => {
                let client = cluster_builder(nodes, config)
                    .response_timeout(config.response_timeout_value())
                    .overall_response_timeout(Some(config.operation_timeout_value()))
                    .build()
                    .map_err(from_redis)?;
                connect_cluster(&client, config).await.map(Connection::Cluster)
            }
        }
    }

    /// A connection of its own whose commands may each take up to `limit` (for the one-script
    /// steps whose work grows with a room).
    pub(crate) async fn connect_long(&self, config: &RedisConfig, limit: Duration) -> RedisResult<Connection> {
        match self {
            Self::Node(client) => {
                let settings = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(config.connect_timeout_value()))
                    .set_response_timeout(Some(limit));
                client.get_multiplexed_async_connection_with_config(&settings).await.map(Connection::Direct)
            }
            Self::Cluster(nodes) => {
                let client = cluster_builder(nodes, config)
                    .response_timeout(limit)
                    .overall_response_timeout(Some(limit))
                    .build()?;
                client.get_async_connection().await.map(Connection::Cluster)
            }
        }
    }

    /// The addresses (`host`, `port`) of the cluster's masters, asked of any node (`CLUSTER
    /// SHARDS`); `None` for a single server.
    pub(crate) async fn masters(&self, conn: &mut Connection) -> Result<Option<Vec<(String, u16)>>> {
        let Connection::Cluster(cluster) = conn else { return Ok(None) };
        let slots: Value = cluster
            .route_command(
                redis::cmd("CLUSTER").arg("SLOTS").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await
            .map_err(from_redis)?;
        let mut masters: Vec<(String, u16)> = Vec::new();
        let Value::Array(ranges) = slots else {
            return Err(corrupt("CLUSTER SLOTS did not answer an array"));
        };
        for range in ranges {
            // [start, end, [host, port, id, …] (the master), replicas…]
            let Value::Array(parts) = range else { continue };
            let Some(Value::Array(master)) = parts.get(2) else { continue };
            let host = match master.first() {
                Some(Value::BulkString(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
                Some(Value::SimpleString(text)) => text.clone(),
                _ => continue,
            };
            let Some(Value::Int(port)) = master.get(1) else { continue };
            let Ok(port) = u16::try_from(*port) else { continue };
            if !masters.iter().any(|(h, p)| *h == host && *p == port) {
                masters.push((host, port));
            }
        }
        Ok(Some(masters))
    }

    /// Whether the store can reach Redis: `PING` on a single server; on a cluster, `PING` to the
    /// masters of slots spread over the key space ([`PING_PROBES`] of them, 2,048 slots apart),
    /// in turn until one answers. (The cluster client would send a plain `PING` to every master
    /// and fail it when one is down — during a failover every server replica would then report
    /// itself unready, and a load balancer take them all out, although the other masters'
    /// rooms are served.)
    pub(crate) async fn ping(conn: &mut Connection) -> RedisResult<()> {
        let Connection::Cluster(cluster) = conn else {
            return redis::cmd("PING").query_async::<String>(conn).await.map(drop);
        };
        let mut last = None;
        for probe in 0..PING_PROBES {
            let route = Route::new(probe * (SLOTS / PING_PROBES), SlotAddr::Master);
            let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
            match cluster.route_command(redis::cmd("PING").clone(), routing).await {
                Ok(_) => return Ok(()),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| redis::RedisError::from((redis::ErrorKind::Client, "no PING probe"))))
    }

    /// Runs `cmd` on the cluster node at `host:port`.
    pub(crate) async fn on_node<T: redis::FromRedisValue>(
        conn: &mut Connection,
        host: &str,
        port: u16,
        cmd: Cmd,
    ) -> RedisResult<T> {
        match conn {
            Connection::Cluster(cluster) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host: host.to_owned(), port });
                let value = cluster.route_command(cmd, routing).await?;
                redis::from_redis_value(value).map_err(Into::into)
            }
            Connection::Node(_) | Connection::Direct(_) => cmd.query_async(conn).await,
        }
    }

    /// A cluster client for write notices: RESP3, its pushed messages handed to `push`, its
    /// subscriptions renewed by the client after a reconnection or failover.
    pub(crate) fn notice_client(
        nodes: &[String],
        config: &RedisConfig,
        push: impl redis::aio::AsyncPushSender,
    ) -> RedisResult<ClusterClient> {
        cluster_builder(nodes, config)
            .use_protocol(redis::ProtocolVersion::RESP3)
            .push_sender(push)
            .response_timeout(config.response_timeout_value())
            .build()
    }
}

/// The connections of the writes that wait for replicas ([`RedisConfig::replica_acks`]): a
/// `WAIT` holds its connection until the replicas answer — Redis runs a connection's commands in
/// order — so on the store's one shared connection every other request would queue behind it.
/// Writes take these connections in turn, each made on first use.
pub(crate) struct AckConnections {
    slots: Vec<tokio::sync::OnceCell<Connection>>,
    next: AtomicUsize,
}

impl AckConnections {
    /// `count` connections (at least one), none made yet.
    pub(crate) fn new(count: usize) -> Self {
        Self { slots: (0..count.max(1)).map(|_| tokio::sync::OnceCell::new()).collect(), next: AtomicUsize::new(0) }
    }

    /// The next connection in turn, made now if it is its first use.
    pub(crate) async fn next(&self, endpoint: &Endpoint, config: &RedisConfig) -> Result<Connection> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let slot = self.slots.get(index).ok_or_else(|| corrupt("no write connection"))?;
        slot.get_or_try_init(|| endpoint.connect(config)).await.cloned()
    }
}

/// A cluster client builder for `nodes` with the connect timeout and retry policy of `config`.
fn cluster_builder(nodes: &[String], config: &RedisConfig) -> ClusterClientBuilder {
    ClusterClientBuilder::new(nodes.iter().map(String::as_str))
        .connection_timeout(config.connect_timeout_value())
        .retries(CLUSTER_RETRIES)
        .max_retry_wait(u64::try_from(CLUSTER_MAX_RETRY_WAIT.as_millis()).unwrap_or(u64::MAX))
        .min_retry_wait(20)
}

/// Connects to the cluster within the operation timeout.
async fn connect_cluster(client: &ClusterClient, config: &RedisConfig) -> Result<ClusterConnection> {
    let limit = config.operation_timeout_value();
    match tokio::time::timeout(limit, client.get_async_connection()).await {
        Ok(result) => result.map_err(from_redis),
        Err(_) => Err(crate::error::timed_out(limit)),
    }
}
