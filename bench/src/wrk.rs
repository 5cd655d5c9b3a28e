//! Running wrk against one server and reading its summary into [`Measured`].

use std::net::SocketAddr;
use std::path::Path;

use crate::BenchError;

/// How wrk loads a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Seconds per run.
    pub seconds: u64,
    /// Open connections.
    pub connections: u32,
    /// wrk threads.
    pub threads: u32,
    /// Seconds after which wrk gives up on a response (counted as an error, its latency
    /// not recorded).
    pub timeout: u64,
}

/// What one wrk run saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Completed requests per second.
    pub rps: f64,
    /// Median latency, milliseconds (0 when unknown).
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds (0 when unknown).
    pub p99_ms: f64,
    /// Non-2xx answers plus socket errors (connect, read, write, timeout).
    pub errors: u64,
    /// Responses completed in the run.
    pub requests: u64,
}

impl Measured {
    /// Whether the run completed fewer than two rounds of its connections: a request took
    /// about as long as the run, so the rate is mostly start-up and end effects. Run longer.
    pub fn too_short(&self, connections: u32) -> bool {
        self.requests < 2 * u64::from(connections)
    }
}

/// Checks that wrk is installed.
pub async fn check_installed() -> Result<(), BenchError> {
    match tokio::process::Command::new("wrk").arg("--version").output().await {
        Ok(_) => Ok(()),
        Err(_) => Err(BenchError::Setup("wrk is not installed: apt-get install -y wrk".to_owned())),
    }
}

/// Runs wrk on `http://addr{path}`, with a Lua script when given. Asynchronous, so the
/// servers measured in this process keep every runtime worker while wrk runs.
pub async fn run(addr: SocketAddr, path: &str, script: Option<&Path>, load: Load) -> Result<Measured, BenchError> {
    let mut command = tokio::process::Command::new("wrk");
    command.args([
        format!("-t{}", load.threads),
        format!("-c{}", load.connections),
        format!("-d{}s", load.seconds),
        "--latency".to_owned(),
        "--timeout".to_owned(),
        format!("{}s", load.timeout.max(1)),
    ]);
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(format!("http://{addr}{path}")).output().await?;
    parse(&String::from_utf8_lossy(&output.stdout))
}

/// Reads wrk's `--latency` summary.
pub fn parse(text: &str) -> Result<Measured, BenchError> {
    let number = |prefix: &str| -> Option<&str> {
        text.lines().map(str::trim).find(|l| l.starts_with(prefix)).and_then(|l| l.split_whitespace().nth(1))
    };
    let non_2xx: u64 = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let socket_errors: u64 = text
        .lines()
        .find(|l| l.contains("Socket errors"))
        .map(|l| l.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    Ok(Measured {
        rps: number("Requests/sec:").and_then(|n| n.parse().ok()).ok_or_else(|| BenchError::Wrk(text.to_owned()))?,
        p50_ms: number("50%").map_or(0.0, millis),
        p99_ms: number("99%").map_or(0.0, millis),
        errors: non_2xx + socket_errors,
        requests: text
            .lines()
            .map(str::trim)
            .find(|l| l.contains(" requests in "))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0),
    })
}

fn millis(text: &str) -> f64 {
    let (value, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len()));
    let value: f64 = value.parse().unwrap_or(0.0);
    match unit {
        "us" => value / 1000.0,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_summary() {
        let text = "Running 5s test @ http://127.0.0.1:1/x\n  2 threads and 64 connections\n  Latency Distribution\n     50%  812.00us\n     75%    1.20ms\n     90%    2.00ms\n     99%    1.05s\n  1000 requests in 5.00s, 1.00MB read\n  Socket errors: connect 0, read 3, write 0, timeout 2\n  Non-2xx or 3xx responses: 7\nRequests/sec:    200.50\nTransfer/sec:    204.80KB\n";
        let m = parse(text).unwrap();
        assert!((m.rps - 200.5).abs() < 1e-9);
        assert!((m.p50_ms - 0.812).abs() < 1e-9);
        assert!((m.p99_ms - 1050.0).abs() < 1e-9);
        assert_eq!(m.errors, 12);
        assert_eq!(m.requests, 1000);
        assert!(m.too_short(501) && !m.too_short(500));
        assert!(parse("unable to connect").is_err());
    }
}
