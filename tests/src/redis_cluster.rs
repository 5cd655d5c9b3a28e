//! [`RedisCluster`]: a real Redis Cluster of this test process alone — three masters and three
//! replicas, private `redis-server --cluster-enabled yes` processes on free loopback ports, each
//! persisting with `appendonly yes` and `appendfsync always` in a temporary directory, joined by
//! `redis-cli --cluster create … --cluster-replicas 1`. A node can be killed (`SIGKILL`) to test
//! failover. Each node runs under a small shell watchdog that kills it when the test process
//! is gone, so a cluster kept in a `static` (shared by a test binary's tests) does not outlive
//! the binary; a cluster that is dropped is stopped and its files removed at once.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a node may go unanswered before the cluster fails it over (`cluster-node-timeout`).
pub const NODE_TIMEOUT: Duration = Duration::from_millis(1000);

/// How many nodes: three masters, each with one replica.
const NODES: usize = 6;

/// How long starting the cluster, or a failover, may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// A private Redis Cluster (see the module docs).
#[derive(Debug)]
pub struct RedisCluster {
    ports: Vec<u16>,
    watchdogs: Vec<Child>,
    dir: PathBuf,
}

/// One node as `CLUSTER NODES` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Whether it is a master now.
    pub master: bool,
    /// Whether the cluster considers it failed.
    pub failed: bool,
}

impl RedisCluster {
    /// Starts six nodes and joins them into a cluster of three masters with one replica each;
    /// returns once every slot is served and every replica is in sync. Panics, saying how to get
    /// `redis-server`/`redis-cli`, when they are not installed.
    #[must_use]
    pub fn start() -> Self {
        for tool in ["redis-server", "redis-cli"] {
            let found = Command::new(tool).arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
            assert!(
                found,
                "{tool} is not installed: the Redis Cluster tests start their own cluster. Run ./test at the \
                 repository root (installs it), or `apt-get install redis-server` (Redis 7 or newer)."
            );
        }
        let dir = std::env::temp_dir().join(format!("taskcore-cluster-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("a temporary directory for the cluster");
        let ports: Vec<u16> = free_ports(NODES);
        let mut cluster = Self { ports, watchdogs: Vec::new(), dir };
        for port in cluster.ports.clone() {
            let watchdog = cluster.spawn_node(port);
            cluster.watchdogs.push(watchdog);
        }
        for &port in &cluster.ports {
            wait_until(&format!("node {port} answers"), || ping(port));
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for port in &cluster.ports {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let output = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_until_healthy();
        cluster
    }

    /// A cluster shared by every test of this test binary, started by the first that asks.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<RedisCluster> = OnceLock::new();
        SHARED.get_or_init(Self::start)
    }

    /// `redis+cluster://127.0.0.1:<p1>,…/` naming every node as a seed (any one suffices).
    #[must_use]
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self.ports.iter().map(|port| format!("127.0.0.1:{port}")).collect();
        format!("redis+cluster://{}/", seeds.join(","))
    }

    /// Every node's ports.
    #[must_use]
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The nodes as a live node sees them now.
    #[must_use]
    pub fn nodes(&self) -> Vec<Node> {
        for &port in &self.ports {
            if let Ok(text) = query::<String>(port, redis::cmd("CLUSTER").arg("NODES")) {
                return parse_nodes(&text);
            }
        }
        panic!("no node of the cluster answers CLUSTER NODES");
    }

    /// The port of the master that serves `key` now (by `CLUSTER KEYSLOT` and `CLUSTER SHARDS`
    /// of a live node).
    #[must_use]
    pub fn master_of(&self, key: &str) -> u16 {
        let port = self.live_port();
        let slot: i64 = query(port, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key)).expect("CLUSTER KEYSLOT");
        let slots: redis::Value = query(port, redis::cmd("CLUSTER").arg("SLOTS")).expect("CLUSTER SLOTS");
        let redis::Value::Array(ranges) = slots else { panic!("CLUSTER SLOTS: {slots:?}") };
        for range in ranges {
            let redis::Value::Array(parts) = range else { continue };
            let (Some(redis::Value::Int(start)), Some(redis::Value::Int(end)), Some(redis::Value::Array(master))) =
                (parts.first(), parts.get(1), parts.get(2))
            else {
                continue;
            };
            if (*start..=*end).contains(&slot)
                && let Some(redis::Value::Int(port)) = master.get(1)
            {
                return u16::try_from(*port).expect("a port");
            }
        }
        panic!("no master serves slot {slot}");
    }

    /// Kills the node on `port` with `SIGKILL` (no shutdown, no save), as a crash would.
    pub fn kill(&self, port: u16) {
        let info: String = query(port, redis::cmd("INFO").arg("server")).expect("INFO server of the node to kill");
        let pid = info
            .lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .map(str::trim)
            .expect("INFO server has process_id");
        let status = Command::new("kill").args(["-9", pid]).status().expect("run kill");
        assert!(status.success(), "kill -9 {pid} (node {port})");
        wait_until(&format!("node {port} is gone"), || !ping(port));
    }

    /// Waits until the cluster serves every slot again with a master that is not `failed`
    /// (after a kill: the replica of the killed master has been promoted); returns how long it
    /// took.
    pub fn wait_for_failover(&self, failed: u16) -> Duration {
        let start = Instant::now();
        wait_until("the replica's promotion", || {
            let nodes = self.nodes();
            let dead_known = nodes.iter().any(|node| node.port == failed && node.failed);
            dead_known && self.all_slots_served()
        });
        start.elapsed()
    }

    /// Starts the killed node on `port` again with its files (as a supervisor would): it
    /// rejoins the cluster as a replica of the master that took over; returns once it is in sync.
    pub fn restart(&mut self, port: u16) {
        assert!(!ping(port), "node {port} is still running");
        let watchdog = self.spawn_node(port);
        self.watchdogs.push(watchdog);
        wait_until(&format!("node {port} answers again"), || ping(port));
        wait_until(&format!("node {port} is a replica in sync"), || {
            query::<String>(port, redis::cmd("INFO").arg("replication"))
                .is_ok_and(|info| info.contains("role:slave") && info.contains("master_link_status:up"))
        });
    }

    fn live_port(&self) -> u16 {
        self.ports.iter().copied().find(|&port| ping(port)).expect("a live node")
    }

    fn all_slots_served(&self) -> bool {
        self.ports.iter().filter(|&&port| ping(port)).all(|&port| {
            query::<String>(port, redis::cmd("CLUSTER").arg("INFO"))
                .is_ok_and(|info| info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384"))
        })
    }

    fn wait_until_healthy(&self) {
        wait_until("cluster_state:ok on every node", || self.all_slots_served());
        wait_until("three masters and three replicas", || {
            let nodes = self.nodes();
            nodes.len() == NODES && nodes.iter().filter(|node| node.master).count() == NODES / 2
        });
        wait_until("every replica in sync with its master", || {
            self.nodes().iter().filter(|node| !node.master).all(|node| {
                query::<String>(node.port, redis::cmd("INFO").arg("replication"))
                    .is_ok_and(|info| info.contains("master_link_status:up"))
            })
        });
    }

    /// Starts the node on `port` under a watchdog shell that kills it once this process is gone
    /// and removes its files (and the cluster's directory, when it is the last).
    fn spawn_node(&self, port: u16) -> Child {
        let dir = self.dir.join(port.to_string());
        std::fs::create_dir_all(&dir).expect("a node directory");
        let node_timeout = NODE_TIMEOUT.as_millis().to_string();
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            &node_timeout,
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--logfile",
            "redis.log",
        ]
        .map(shell_quote)
        .join(" ");
        let script = format!(
            "cd {dir} && redis-server {args} & node=$!; \
             while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; kill -9 $node 2>/dev/null; wait $node; \
             cd / && rm -rf {dir}; rmdir {cluster_dir} 2>/dev/null",
            dir = shell_quote(&dir.to_string_lossy()),
            cluster_dir = shell_quote(&self.dir.to_string_lossy()),
            parent = std::process::id(),
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a cluster node")
    }

    /// The log of the node on `port`, for a failing test's message.
    #[must_use]
    pub fn log(&self, port: u16) -> String {
        std::fs::read_to_string(self.dir.join(port.to_string()).join("redis.log")).unwrap_or_default()
    }

    /// The cluster's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for &port in &self.ports {
            if let Ok(info) = query::<String>(port, redis::cmd("INFO").arg("server"))
                && let Some(pid) = info.lines().find_map(|line| line.strip_prefix("process_id:"))
            {
                let _ = Command::new("kill").args(["-9", pid.trim()]).status();
            }
        }
        for watchdog in &mut self.watchdogs {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `count` distinct free loopback ports whose cluster bus ports (`port + 10000`) are free too.
fn free_ports(count: usize) -> Vec<u16> {
    let mut ports = Vec::new();
    let mut held = Vec::new();
    while ports.len() < count {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        let bus_free = port < 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok();
        if bus_free && !ports.contains(&port) {
            ports.push(port);
        }
        held.push(listener);
    }
    ports
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// One command on the node at `port`, with short timeouts.
fn query<T: redis::FromRedisValue>(port: u16, cmd: &mut redis::Cmd) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_millis(300))?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    cmd.query(&mut conn)
}

fn ping(port: u16) -> bool {
    query::<String>(port, &mut redis::cmd("PING")).is_ok()
}

/// Polls `ready` every 50 ms until it holds, panicking after [`PATIENCE`]. Blocking, as the whole
/// launcher is (it is started from a `OnceLock`, before any async test body runs); async tests
/// call its waiting methods inside `tokio::task::block_in_place`.
#[allow(clippy::disallowed_methods)]
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < PATIENCE, "the Redis Cluster test waited {PATIENCE:?} for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The nodes of a `CLUSTER NODES` reply: `<id> <ip:port@bus[,host]> <flags> …` per line.
fn parse_nodes(text: &str) -> Vec<Node> {
    let mut nodes = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(address), Some(flags)) = (fields.get(1), fields.get(2)) else { continue };
        let Some(port) = address.split('@').next().and_then(|a| a.rsplit_once(':')).and_then(|(_, p)| p.parse().ok())
        else {
            continue;
        };
        let flags: Vec<&str> = flags.split(',').collect();
        nodes.insert(
            port,
            Node {
                port,
                master: flags.contains(&"master"),
                failed: flags.contains(&"fail") || flags.contains(&"fail?"),
            },
        );
    }
    nodes.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_lines_are_read() {
        let text = "07c3 127.0.0.1:30004@40004 slave e7d1 0 1426238317239 4 connected\n\
                    67ed 127.0.0.1:30002@40002,host master - 0 1426238316232 2 connected 5461-10922\n\
                    292f 127.0.0.1:30003@40003 master,fail - 0 1426238318243 3 connected 10923-16383\n";
        assert_eq!(
            parse_nodes(text),
            vec![
                Node { port: 30002, master: true, failed: false },
                Node { port: 30003, master: true, failed: true },
                Node { port: 30004, master: false, failed: false },
            ]
        );
    }
}
