//! Shared set-up of the Redis tests: the machine's Redis with a fresh key prefix per store (and
//! its keys deleted afterwards), and private `redis-server` processes that fault tests kill.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Once};
use std::time::Duration;

use taskcore::{StoreOptions, TaskStore};
use taskcore_redis::{RedisConfig, RedisStore};

/// The environment variable naming the Redis the tests use.
pub const TEST_URL_ENV: &str = "TASKCORE_TEST_REDIS_URL";

/// The machine's Redis: `TASKCORE_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn shared_url() -> String {
    static CHECK: Once = Once::new();
    CHECK.call_once(|| {
        let addr = SocketAddr::from(([127, 0, 0, 1], 6379));
        if std::env::var_os(TEST_URL_ENV).is_none() && TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err()
        {
            say(&format!(
                "Redis is not answering on {addr}: the tests on the shared Redis will fail. Run ./test at the repository \
                 root (installs and starts it), or `bash .ci/services.sh`, or set {TEST_URL_ENV}."
            ));
        }
    });
    std::env::var(TEST_URL_ENV).unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// One line on the real stderr, past the test harness's output capture.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "\n*** {line} ***\n");
}

/// A key prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("tc-test-{}", uuid::Uuid::now_v7().simple())
}

/// Opens a store on the shared Redis under `prefix`, panicking with how to get a Redis when
/// there is none.
pub async fn open_on_shared(prefix: &str, options: StoreOptions) -> RedisStore {
    open_on_shared_with(prefix, options, |config| config).await
}

/// [`open_on_shared`] with more settings (such as a scan step) made by `configure`.
pub async fn open_on_shared_with(
    prefix: &str,
    options: StoreOptions,
    configure: impl FnOnce(RedisConfig) -> RedisConfig,
) -> RedisStore {
    let url = shared_url();
    match RedisStore::open_with(configure(RedisConfig::new(&url).prefix(prefix).store_options(options))).await {
        Ok(store) => store,
        Err(err) => panic!(
            "the Redis tests need a Redis server at {url} ({err}). Start one with \
             `redis-server --daemonize yes --save \"\" --appendonly no`, or point {TEST_URL_ENV} at one \
             (for example redis://127.0.0.1:6380/0)."
        ),
    }
}

/// A store on the shared Redis in a fresh prefix, whose keys are deleted when it is dropped.
pub async fn scoped_store(options: StoreOptions) -> ScopedStore {
    let prefix = unique_prefix();
    let store = open_on_shared(&prefix, options).await;
    ScopedStore { store, guard: PrefixGuard { url: shared_url(), prefix } }
}

/// Deletes every key of `prefix` from the Redis at `url` (blocking; for test clean-up).
pub fn delete_prefix(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else { return };
    let Ok(mut conn) = client.get_connection() else { return };
    for pattern in [format!("{{{prefix}:*"), format!("{prefix}:*")] {
        // SCAN, not KEYS: the shared Redis serves other test runs meanwhile.
        let keys: Vec<String> = match redis::Commands::scan_match(&mut conn, &pattern) {
            Ok(iter) => iter.filter_map(Result::ok).collect(),
            Err(_) => continue,
        };
        for chunk in keys.chunks(500) {
            let _: redis::RedisResult<()> = redis::cmd("UNLINK").arg(chunk).query(&mut conn);
        }
    }
}

/// A [`RedisStore`] and the guard that deletes its prefix's keys when dropped.
#[derive(Debug)]
pub struct ScopedStore {
    /// The store.
    pub store: RedisStore,
    /// Deletes the keys.
    pub guard: PrefixGuard,
}

/// Deletes a prefix's keys when dropped.
#[derive(Debug)]
pub struct PrefixGuard {
    url: String,
    prefix: String,
}

impl Drop for PrefixGuard {
    fn drop(&mut self) {
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        // A plain thread: the drop may run on a runtime worker, where blocking I/O is not welcome.
        let _ = std::thread::spawn(move || delete_prefix(&url, &prefix)).join();
    }
}

/// A `redis-server` of this test alone, on a free port, persisting to an append-only file with
/// `appendfsync always` in its own directory. Killed (and its directory removed) on drop.
#[derive(Debug)]
pub struct PrivateRedis {
    child: Option<Child>,
    /// The port it listens on (kept across restarts).
    pub port: u16,
    /// Its data directory (kept across restarts).
    pub dir: PathBuf,
    /// Whether it runs at a raised scheduling priority.
    favoured: bool,
    /// More `redis-server` arguments (such as `--replicaof`).
    extra: Vec<String>,
}

impl PrivateRedis {
    /// Starts a server on a free port and waits until it answers.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// Starts a server like [`start`](Self::start), under a real-time scheduling policy
    /// (`chrt --fifo 10`, when permitted; otherwise as usual): on a shared, busy machine ordinary
    /// processes then cannot preempt it in the middle of a command, which `SLOWLOG` and
    /// `INFO commandstats` would count as the command's own time. It blocks between requests
    /// like any Redis, and the kernel's real-time throttling leaves the others their share.
    pub async fn start_favoured() -> Self {
        Self::start_with(true).await
    }

    /// Starts a server that replicates `master` (`--replicaof`), and waits until it is in sync.
    pub async fn start_replica_of(master: &PrivateRedis) -> Self {
        let extra = vec!["--replicaof".to_owned(), "127.0.0.1".to_owned(), master.port.to_string()];
        let replica = Self::start_with_args(false, extra).await;
        for _ in 0..200 {
            let info: String = replica.command(redis::cmd("INFO").arg("replication")).await;
            if info.contains("master_link_status:up") {
                return replica;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the replica on port {} did not sync with its master within 10 s", replica.port);
    }

    async fn start_with(favoured: bool) -> Self {
        Self::start_with_args(favoured, Vec::new()).await
    }

    async fn start_with_args(favoured: bool, extra: Vec<String>) -> Self {
        static CHECK: Once = Once::new();
        CHECK.call_once(|| {
            if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
                say("redis-server is not installed: the fault tests, which start their own, will fail. Run ./test at \
                     the repository root (installs it), or `apt-get install redis-server`.");
            }
        });
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let dir = std::env::temp_dir().join(format!("taskcore-redis-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut server = Self { child: None, port, dir, favoured, extra };
        server.restart().await;
        server
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server with SIGKILL (no shutdown save) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill redis-server");
            child.wait().expect("reap redis-server");
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server: a stopped server keeps its connections
    /// open but answers nothing, like a hung or partitioned host.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the server is running").id();
        let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().expect("run kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Starts the server (again) on the same port and directory and waits until it answers,
    /// which includes loading its append-only file.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let favoured =
            self.favoured && Command::new("chrt").args(["--fifo", "10", "true"]).status().is_ok_and(|s| s.success());
        let mut command = if favoured {
            // `chrt` execs the server, so the child is the server.
            let mut chrt = Command::new("chrt");
            chrt.args(["--fifo", "10", "redis-server"]);
            chrt
        } else {
            Command::new("redis-server")
        };
        let child = command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", "always", "--dir"])
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server) to run the fault tests");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).expect("url");
        for _ in 0..200 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
                if pong.is_ok() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not answer within 10 s", self.port);
    }

    /// One command against the server, outside any store (for `INFO`, `CONFIG RESETSTAT`).
    pub async fn command<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let client = redis::Client::open(self.url()).expect("url");
        let mut conn = client.get_multiplexed_async_connection().await.expect("connect to the private redis");
        cmd.query_async(&mut conn).await.expect("command on the private redis")
    }

    /// How many times each command ran since the last `CONFIG RESETSTAT`, from `INFO commandstats`.
    pub async fn command_calls(&self, command: &str) -> u64 {
        let info: String = self.command(redis::cmd("INFO").arg("commandstats")).await;
        let prefix = format!("cmdstat_{command}:calls=");
        info.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|rest| rest.split(',').next())
            .and_then(|calls| calls.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A store on a private server with short timeouts, so that failures surface quickly.
pub async fn open_private(server: &PrivateRedis, options: StoreOptions) -> RedisStore {
    let config = RedisConfig::new(server.url())
        .prefix("fault")
        .connect_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(3))
        .store_options(options);
    RedisStore::open_with(config).await.expect("open a store on the private redis")
}

/// An `Arc<dyn TaskStore>` of a [`ScopedStore`].
pub fn shared(scoped: ScopedStore) -> Arc<dyn TaskStore> {
    taskcore::conformance::guarded(Arc::new(scoped.store), scoped.guard)
}
