//! What Redis itself spent on the benchmark's behalf: `INFO commandstats` (calls and
//! microseconds per command, read before and after), `SLOWLOG` entries past a mark, and a
//! private `redis-server` on a free port for runs that must not touch a shared one.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use redis::Value;
use redis::aio::MultiplexedConnection;

use crate::BenchError;
use crate::process::{OwnedProcess, free_port};

/// A connection for the measurement's own commands, patient enough for a long `SLOWLOG GET`.
pub async fn connect(url: &str) -> Result<MultiplexedConnection, BenchError> {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(30)));
    Ok(redis::Client::open(url)?.get_multiplexed_async_connection_with_config(&config).await?)
}

/// Calls and busy microseconds of each command, from `INFO commandstats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandStats(pub BTreeMap<String, Usage>);

/// One command's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Times it ran.
    pub calls: u64,
    /// Microseconds Redis spent in it, in total.
    pub usec: u64,
}

impl CommandStats {
    /// Reads `cmdstat_<name>:calls=…,usec=…,…` lines.
    pub fn parse(text: &str) -> Self {
        let mut stats = BTreeMap::new();
        for line in text.lines() {
            let Some((name, fields)) = line.trim().strip_prefix("cmdstat_").and_then(|l| l.split_once(':')) else {
                continue;
            };
            let field = |key: &str| {
                fields.split(',').find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse::<u64>().ok())
            };
            stats.insert(
                name.to_owned(),
                Usage { calls: field("calls").unwrap_or(0), usec: field("usec").unwrap_or(0) },
            );
        }
        Self(stats)
    }

    /// The current figures of the server behind `conn`.
    pub async fn read(conn: &mut MultiplexedConnection) -> Result<Self, BenchError> {
        let text: String = redis::cmd("INFO").arg("commandstats").query_async(conn).await?;
        Ok(Self::parse(&text))
    }

    /// What ran between `before` and `self`, commands that did not run left out.
    pub fn since(&self, before: &Self) -> Vec<(String, Usage)> {
        self.0
            .iter()
            .filter_map(|(name, now)| {
                let was = before.0.get(name).copied().unwrap_or_default();
                let delta =
                    Usage { calls: now.calls.saturating_sub(was.calls), usec: now.usec.saturating_sub(was.usec) };
                (delta.calls > 0).then(|| (name.clone(), delta))
            })
            .collect()
    }
}

/// Whether `command` (a `cmdstat_` name) runs a script or a function. Commands those run
/// are counted twice by `INFO commandstats`: inside the script's time and on their own line.
pub fn is_script(command: &str) -> bool {
    let base = command.split('|').next().unwrap_or(command);
    matches!(base, "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro")
}

/// Seconds of CPU the server's main thread has used (user + system, `INFO cpu`): the time
/// Redis was busy, whatever it was busy with.
pub async fn main_thread_cpu(conn: &mut MultiplexedConnection) -> Result<f64, BenchError> {
    let text: String = redis::cmd("INFO").arg("cpu").query_async(conn).await?;
    Ok(parse_main_thread_cpu(&text))
}

fn parse_main_thread_cpu(text: &str) -> f64 {
    text.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .filter(|(key, _)| matches!(*key, "used_cpu_user_main_thread" | "used_cpu_sys_main_thread"))
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

/// One `SLOWLOG GET` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowEntry {
    /// Its id (increasing).
    pub id: u64,
    /// How long the command ran, microseconds.
    pub micros: u64,
    /// The command and its first arguments, shortened.
    pub command: String,
}

/// The newest `count` slow-log entries.
pub async fn slowlog(conn: &mut MultiplexedConnection, count: u32) -> Result<Vec<SlowEntry>, BenchError> {
    let value: Value = redis::cmd("SLOWLOG").arg("GET").arg(count).query_async(conn).await?;
    let Value::Array(entries) = value else {
        return Ok(Vec::new());
    };
    Ok(entries.iter().filter_map(slow_entry).collect())
}

fn slow_entry(entry: &Value) -> Option<SlowEntry> {
    let Value::Array(fields) = entry else { return None };
    let int = |v: &Value| match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        _ => None,
    };
    let command = match fields.get(3) {
        Some(Value::Array(args)) => args
            .iter()
            .take(4)
            .map(|a| match a {
                Value::BulkString(bytes) => String::from_utf8_lossy(&bytes[..bytes.len().min(48)]).into_owned(),
                Value::SimpleString(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    Some(SlowEntry { id: int(fields.first()?)?, micros: int(fields.get(2)?)?, command })
}

/// A `CONFIG GET` value as text.
pub async fn config_get(conn: &mut MultiplexedConnection, name: &str) -> Result<String, BenchError> {
    let value: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query_async(conn).await?;
    Ok(value.get(1).cloned().unwrap_or_default())
}

/// A `redis-server` of this process on a free loopback port, without persistence:
/// [`PrivateRedis::stop`] it (dropping it sends SIGTERM without waiting).
#[derive(Debug)]
pub struct PrivateRedis {
    process: OwnedProcess,
    url: String,
}

impl PrivateRedis {
    /// Starts `binary` (e.g. `redis-server`) logging to `log`, and waits until it answers PING.
    pub async fn start(binary: &Path, log: &Path) -> Result<Self, BenchError> {
        let port = free_port()?;
        let mut command = Command::new(binary);
        command.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        let mut process = OwnedProcess::spawn("redis-server", &mut command, log)?;
        let url = format!("redis://127.0.0.1:{port}");
        let client = redis::Client::open(url.as_str())?;
        for _ in 0..100 {
            process.check_running()?;
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
                if pong.is_ok() {
                    return Ok(Self { process, url });
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(BenchError::Setup(format!("redis-server did not answer on {url}; its log: {}", log.display())))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.process.id()
    }

    /// Stops it.
    pub async fn stop(mut self) {
        self.process.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_thread_cpu_adds_user_and_system() {
        let text = "# CPU\r\nused_cpu_sys:4.9\r\nused_cpu_user:11.3\r\nused_cpu_sys_main_thread:1.25\r\nused_cpu_user_main_thread:2.5\r\n";
        assert!((parse_main_thread_cpu(text) - 3.75).abs() < 1e-9);
        assert!(is_script("evalsha") && is_script("fcall_ro") && !is_script("hmget"));
    }

    #[test]
    fn commandstats_deltas() {
        let before = CommandStats::parse(
            "# Commandstats\r\ncmdstat_evalsha:calls=10,usec=1000,usec_per_call=100.00,rejected_calls=0,failed_calls=0\r\ncmdstat_get:calls=5,usec=5\r\n",
        );
        let after = CommandStats::parse(
            "cmdstat_evalsha:calls=12,usec=1550,usec_per_call=129.17\r\ncmdstat_get:calls=5,usec=5\r\ncmdstat_fcall:calls=1,usec=7\r\n",
        );
        let delta = after.since(&before);
        assert_eq!(
            delta,
            vec![
                ("evalsha".to_owned(), Usage { calls: 2, usec: 550 }),
                ("fcall".to_owned(), Usage { calls: 1, usec: 7 }),
            ]
        );
    }
}
