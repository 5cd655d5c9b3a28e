//! Where the servers of the facade's tests are, and one clear line on stderr per missing
//! server (these tests fail then, they never skip).

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Once;
use std::time::Duration;

/// How to get Redis.
pub const REDIS_HELP: &str = "the Redis tests need a Redis at TASKCORE_TEST_REDIS_URL (default redis://127.0.0.1:6379): \
     run ./test at the repository root, or `bash .ci/services.sh`";

/// How to get PostgreSQL.
pub const POSTGRES_HELP: &str = "the PostgreSQL tests need a server at TASKCORE_TEST_POSTGRES_URL (default \
     postgres://postgres@127.0.0.1:5432/postgres): run ./test at the repository root, or `bash .ci/services.sh`";

/// The Redis the tests use.
pub fn redis_url() -> String {
    static CHECK: Once = Once::new();
    CHECK.call_once(|| say_if_down("Redis", "127.0.0.1:6379", "TASKCORE_TEST_REDIS_URL", REDIS_HELP));
    std::env::var("TASKCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The PostgreSQL the tests use.
pub fn postgres_url() -> String {
    static CHECK: Once = Once::new();
    CHECK.call_once(|| say_if_down("PostgreSQL", "127.0.0.1:5432", "TASKCORE_TEST_POSTGRES_URL", POSTGRES_HELP));
    std::env::var("TASKCORE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Writes one line when nothing answers at the default address (and no other address is
/// configured) — to the real stderr, past the test harness's output capture.
fn say_if_down(what: &str, default_addr: &str, variable: &str, help: &str) {
    if std::env::var_os(variable).is_some() {
        return;
    }
    let answers = default_addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok());
    if !answers {
        let _ = writeln!(std::io::stderr(), "\n*** {what} is not answering on {default_addr}; {help} ***\n");
    }
}
