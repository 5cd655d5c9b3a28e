//! The `taskcore-server` under probe: started on a SQLite file and a free loopback port,
//! stopped by its process id.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use taskcore_bench::BenchError;
use taskcore_bench::process::{OwnedProcess, free_port, loopback, proc_status_kib, wait_ready};

/// A running server.
#[derive(Debug)]
pub(crate) struct Server {
    process: OwnedProcess,
    addr: SocketAddr,
}

impl Server {
    /// Starts `binary` on `db` and waits for `/livez`; output goes to `log`.
    pub(crate) async fn start(
        binary: &Path,
        db: &Path,
        body_limit: Option<usize>,
        log: &Path,
    ) -> Result<Self, BenchError> {
        let addr = loopback(free_port()?);
        let mut command = Command::new(binary);
        command.args(["--bind", &addr.to_string(), "--log", "warn"]);
        command.arg("--store").arg(format!("sqlite://{}", db.display()));
        if let Some(limit) = body_limit {
            command.args(["--body-limit", &limit.to_string()]);
        }
        let mut process = OwnedProcess::spawn("taskcore-server", &mut command, log)?;
        wait_ready(&format!("http://{addr}/livez"), &mut process, Duration::from_secs(30)).await.map_err(|e| {
            BenchError::Setup(format!("taskcore-server did not start ({e}); its log: {}", log.display()))
        })?;
        Ok(Self { process, addr })
    }

    /// `http://addr`.
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resident and peak resident memory now, KiB.
    pub(crate) fn memory(&self) -> (Option<u64>, Option<u64>) {
        let pid = self.process.id();
        (proc_status_kib(pid, "VmRSS"), proc_status_kib(pid, "VmHWM"))
    }

    /// Whether it is still running.
    pub(crate) fn running(&mut self) -> bool {
        self.process.check_running().is_ok()
    }

    /// Stops it (SIGTERM, then SIGKILL).
    pub(crate) async fn stop(&mut self) {
        self.process.stop().await;
    }
}
