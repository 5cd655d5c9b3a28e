//! Mapping `redis::RedisError` into [`taskcore::Error`]: connection refused, reset, timed out
//! or any other I/O failure, a server that is loading or failing over, and a Redis Cluster
//! whose slot has no reachable master (during a failover, or while slots move) are `Unavailable`
//! (retry later); a server at `maxmemory` that refuses writes (`OOM`, the `noeviction` policy)
//! is `StorageFull` (reads go on); everything else is `Backend`.

use std::time::Duration;

use redis::{ErrorKind, RedisError, ServerErrorKind};
use taskcore::Error;

/// The taskcore error of a failed Redis call.
pub(crate) fn from_redis(err: RedisError) -> Error {
    if err.code() == Some("OOM") {
        Error::storage_full("redis is at maxmemory and refuses writes (OOM)", err)
    } else if is_transient(&err) {
        Error::unavailable(format!("redis is unreachable or not ready ({})", err.category()), err)
    } else {
        Error::backend(format!("redis command failed ({})", err.category()), err)
    }
}

/// An operation that did not finish within the configured operation timeout.
pub(crate) fn timed_out(after: Duration) -> Error {
    Error::Unavailable { message: format!("redis did not answer within {after:?}"), source: None }
}

fn is_transient(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || err.is_timeout()
        || matches!(
            err.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::Moved
                        | ServerErrorKind::Ask
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_failures_are_unavailable_and_the_rest_backend() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(from_redis(refused).is_retryable());
        let reset = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(from_redis(reset).is_retryable());
        let typed = RedisError::from((ErrorKind::UnexpectedReturnType, "bad reply"));
        assert!(matches!(from_redis(typed), Error::Backend { .. }));
        assert!(timed_out(Duration::from_secs(1)).is_retryable());
    }

    #[test]
    fn out_of_memory_is_storage_full_and_not_retryable() {
        let oom = redis::make_extension_error(
            "OOM".to_owned(),
            Some("command not allowed when used memory > 'maxmemory'.".to_owned()),
        );
        let mapped = from_redis(oom);
        assert!(matches!(mapped, Error::StorageFull { .. }), "{mapped:?}");
        assert!(!mapped.is_retryable());
    }
}
