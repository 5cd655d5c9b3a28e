//! [`StoreHealth`]: the storage check behind `/health` and `/readyz`, single-flight. One check
//! runs at a time; callers that arrive while it runs wait for it and share its result, and a
//! check that passed is reused for a short while. So a thousand concurrent health requests
//! cost one storage round trip, and a busy server never fails its own health check because the
//! checks crowded each other out.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// The shared state of the storage check. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StoreHealth {
    last: Arc<Mutex<Option<Outcome>>>,
}

#[derive(Debug, Clone, Copy)]
struct Outcome {
    ok: bool,
    finished: Instant,
}

impl StoreHealth {
    /// The storage's health: the result of a check that finished after this call began (a
    /// check already in flight is waited for, not repeated), or of one that passed less than
    /// `reuse` ago; otherwise `probe` runs — by one caller at a time.
    pub async fn check<F, Fut>(&self, reuse: Duration, probe: F) -> bool
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = bool>,
    {
        let asked = Instant::now();
        let mut last = self.last.lock().await;
        if let Some(outcome) = *last
            && (outcome.finished >= asked || (outcome.ok && outcome.finished.elapsed() < reuse))
        {
            return outcome.ok;
        }
        let ok = probe().await;
        *last = Some(Outcome { ok, finished: Instant::now() });
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_probe() {
        let health = StoreHealth::default();
        let probes = Arc::new(AtomicUsize::new(0));
        let callers = (0..256).map(|_| {
            let (health, probes) = (health.clone(), Arc::clone(&probes));
            tokio::spawn(async move {
                health
                    .check(Duration::ZERO, || async move {
                        probes.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        true
                    })
                    .await
            })
        });
        let results = futures_util::future::join_all(callers).await;
        assert!(results.into_iter().all(|r| matches!(r, Ok(true))));
        let probes = probes.load(Ordering::SeqCst);
        assert!(probes <= 2, "256 concurrent callers ran {probes} probes");
    }

    #[tokio::test]
    async fn a_failure_is_shared_with_waiters_but_never_reused_later() {
        let health = StoreHealth::default();
        assert!(!health.check(Duration::from_secs(60), || async { false }).await);
        assert!(health.check(Duration::from_secs(60), || async { true }).await, "a failed check is not reused");
        assert!(health.check(Duration::from_secs(60), || async { false }).await, "a passed one is, within the window");
    }
}
