//! The HTTP clients of `redis-search`: search clients sending a fixed number of requests, and
//! a bystander reading another room, alone or until the searches end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use taskcore_bench::BenchError;
use tokio::task::JoinSet;

/// Latencies of successful requests over a wall-clock span, and the statuses of the others.
#[derive(Debug, Clone, Default)]
pub(crate) struct Latencies {
    samples: Vec<Duration>,
    span: Duration,
    failures: BTreeMap<u16, u32>,
}

impl Latencies {
    /// Successful requests per second over the span.
    pub(crate) fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let count = self.samples.len() as f64;
        count / self.span.as_secs_f64().max(1e-9)
    }

    /// `"3× 503"`-style counts of the requests that failed, or `"none"`.
    pub(crate) fn failures(&self) -> String {
        if self.failures.is_empty() {
            return "none".to_owned();
        }
        self.failures.iter().map(|(status, n)| format!("{n}× {status}")).collect::<Vec<_>>().join(", ")
    }

    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok(took) => self.samples.push(took),
            Outcome::Failed(status) => *self.failures.entry(status).or_insert(0) += 1,
        }
    }

    /// The `p`th percentile (100: the maximum), milliseconds.
    pub(crate) fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let index = ((sorted.len() as f64 * p / 100.0).ceil() as usize).saturating_sub(1);
        sorted.get(index.min(sorted.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// How one request ended.
enum Outcome {
    /// 2xx, after this long.
    Ok(Duration),
    /// Another status (a 503 when the store timed out).
    Failed(u16),
}

async fn get(client: &reqwest::Client, url: &str) -> Result<Outcome, BenchError> {
    let started = Instant::now();
    let response = client.get(url).send().await?;
    let status = response.status();
    let _ = response.bytes().await?;
    Ok(if status.is_success() { Outcome::Ok(started.elapsed()) } else { Outcome::Failed(status.as_u16()) })
}

/// One client reading `url` in a loop, for `duration` or until `stop` is set.
pub(crate) async fn bystander(
    client: &reqwest::Client,
    url: &str,
    duration: Option<Duration>,
    stop: Option<Arc<AtomicBool>>,
) -> Result<Latencies, BenchError> {
    let started = Instant::now();
    let mut seen = Latencies::default();
    loop {
        let over = duration.is_some_and(|d| started.elapsed() >= d);
        let stopped = stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
        if over || stopped {
            break;
        }
        seen.add(get(client, url).await?);
    }
    seen.span = started.elapsed();
    Ok(seen)
}

/// `requests` searches of `url` from `clients` concurrent clients, with a bystander reading
/// `bystander_url` meanwhile when given; returns the searches' and the bystander's latencies
/// (empty without a bystander).
pub(crate) async fn searches(
    client: &reqwest::Client,
    url: &str,
    requests: u32,
    clients: u32,
    bystander_url: Option<&str>,
) -> Result<(Latencies, Latencies), BenchError> {
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = bystander_url.map(|url| {
        let (client, url, stop) = (client.clone(), url.to_owned(), Arc::clone(&stop));
        tokio::spawn(async move { bystander(&client, &url, None, Some(stop)).await })
    });
    let left = Arc::new(AtomicU32::new(requests));
    let started = Instant::now();
    let mut running = JoinSet::new();
    for _ in 0..clients.max(1) {
        let (client, url, left) = (client.clone(), url.to_owned(), Arc::clone(&left));
        running.spawn(async move {
            let mut outcomes = Vec::new();
            while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                outcomes.push(get(&client, &url).await?);
            }
            Ok::<_, BenchError>(outcomes)
        });
    }
    let mut searched = Latencies::default();
    let mut failed = None;
    while let Some(done) = running.join_next().await {
        match done {
            Ok(Ok(outcomes)) => outcomes.into_iter().for_each(|o| searched.add(o)),
            Ok(Err(error)) => failed = Some(error),
            Err(error) => failed = Some(BenchError::Setup(format!("search client failed: {error}"))),
        }
    }
    searched.span = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = match watcher {
        Some(watcher) => watcher.await.map_err(|e| BenchError::Setup(format!("bystander failed: {e}")))??,
        None => Latencies::default(),
    };
    if let Some(error) = failed {
        return Err(error);
    }
    Ok((searched, during))
}
