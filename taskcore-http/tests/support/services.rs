//! Where the servers the HTTP tests use are, and one clear line on stderr per missing server,
//! written past the test harness's output capture before the first test that needs it fails
//! (these tests fail then; they never skip).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Once;
use std::time::Duration;

/// The machine's Redis: `TASKCORE_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    static CHECK: Once = Once::new();
    CHECK.call_once(|| say_if_down("Redis", 6379, "TASKCORE_TEST_REDIS_URL"));
    std::env::var("TASKCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The machine's PostgreSQL: `TASKCORE_TEST_POSTGRES_URL`, default
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub fn postgres_url() -> String {
    static CHECK: Once = Once::new();
    CHECK.call_once(|| say_if_down("PostgreSQL", 5432, "TASKCORE_TEST_POSTGRES_URL"));
    std::env::var("TASKCORE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn say_if_down(what: &str, port: u16, variable: &str) {
    if std::env::var_os(variable).is_some() {
        return;
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err() {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** {what} is not answering on {addr}: the tests that need it will fail. Run ./test at the \
             repository root (installs and starts everything), or `bash .ci/services.sh`, or set {variable}. ***\n"
        );
    }
}

/// A test's PostgreSQL schema, dropped (with `psql`) when the guard is dropped — also when the
/// test panics.
pub struct SchemaGuard(pub String);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args([postgres_url().as_str(), "-q", "-c", &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0)])
            .output();
    }
}
