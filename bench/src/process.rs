//! Child processes the benchmarks start (gunicorn, `taskcore-server`, a private `redis-server`):
//! free loopback ports, waiting for readiness, stopping by process id, and reading a process's
//! memory figures from `/proc`.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchError;

/// A free port on 127.0.0.1 (bound and released; another process could take it in between,
/// which on a benchmark machine is unlikely enough).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A process this benchmark started, stopped by its own process id only: [`OwnedProcess::stop`]
/// (SIGTERM, then SIGKILL after a grace period), or SIGTERM when dropped.
#[derive(Debug)]
pub struct OwnedProcess {
    child: Child,
    name: String,
    grace: Duration,
}

impl OwnedProcess {
    /// Starts `command` with its output appended to `log` (a file path).
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> Result<Self, BenchError> {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
        let err = out.try_clone()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| BenchError::Setup(format!("cannot start {name} ({:?}): {e}", command.get_program())))?;
        Ok(Self { child, name: name.to_owned(), grace: Duration::from_secs(10) })
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Fails when it has already exited (it did not start, or it crashed).
    pub fn check_running(&mut self) -> Result<(), BenchError> {
        match self.child.try_wait()? {
            Some(status) => Err(BenchError::Setup(format!("{} exited early: {status}", self.name))),
            None => Ok(()),
        }
    }

    /// SIGTERM, wait up to the grace period, then SIGKILL.
    pub async fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        self.terminate();
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (a graceful stop: gunicorn stops its workers, taskcore drains).
    fn terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }
}

impl Drop for OwnedProcess {
    /// On paths that did not call [`OwnedProcess::stop`] (errors): SIGTERM, without waiting.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.terminate();
        }
    }
}

/// Polls `url` until it answers 2xx, the process exits, or `timeout` passes.
pub async fn wait_ready(url: &str, process: &mut OwnedProcess, timeout: Duration) -> Result<(), BenchError> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    let deadline = Instant::now() + timeout;
    loop {
        process.check_running()?;
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(BenchError::Setup(format!("{url} did not become ready within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A `kB` figure of `/proc/<pid>/status`, such as `VmRSS` (resident now) or `VmHWM` (peak
/// resident since start), in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}
