//! A real `taskcore-server` process under measurement: started from a release binary on a
//! store URL and a free loopback port, stopped by its own process id.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::BenchError;
use crate::process::{OwnedProcess, free_port, loopback, proc_status_kib, wait_ready};

/// The server binary of a release build: `$CARGO_TARGET_DIR/release/taskcore-server`, else
/// `target/release/taskcore-server`.
pub fn default_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("release").join("taskcore-server")
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    process: OwnedProcess,
    addr: SocketAddr,
}

impl Server {
    /// Starts `binary` on the store at `store_url` with `args` besides, and waits for
    /// `/livez`; output goes to `log`.
    pub async fn start(binary: &Path, store_url: &str, args: &[String], log: &Path) -> Result<Self, BenchError> {
        let addr = loopback(free_port()?);
        let mut command = Command::new(binary);
        command.args(["--bind", &addr.to_string(), "--log", "warn", "--store", store_url]);
        command.args(args);
        let mut process = OwnedProcess::spawn("taskcore-server", &mut command, log)?;
        wait_ready(&format!("http://{addr}/livez"), &mut process, Duration::from_secs(30)).await.map_err(|e| {
            BenchError::Setup(format!("taskcore-server did not start ({e}); its log: {}", log.display()))
        })?;
        Ok(Self { process, addr })
    }

    /// `http://addr`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.process.id()
    }

    /// Resident and peak resident memory now, KiB.
    pub fn memory(&self) -> (Option<u64>, Option<u64>) {
        let pid = self.process.id();
        (proc_status_kib(pid, "VmRSS"), proc_status_kib(pid, "VmHWM"))
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.process.check_running().is_ok()
    }

    /// Stops it (SIGTERM, then SIGKILL).
    pub async fn stop(&mut self) {
        self.process.stop().await;
    }
}
