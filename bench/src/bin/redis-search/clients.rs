//! The HTTP clients of `redis-search`: search clients sending a fixed number of requests, and
//! a bystander reading another room, alone or until the searches end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use taskcore_bench::BenchError;
use tokio::task::JoinSet;

/// Latencies of completed requests over a wall-clock span.
#[derive(Debug, Clone, Default)]
pub(crate) struct Latencies {
    samples: Vec<Duration>,
    span: Duration,
}

impl Latencies {
    /// Requests per second over the span.
    pub(crate) fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let count = self.samples.len() as f64;
        count / self.span.as_secs_f64().max(1e-9)
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

async fn get(client: &reqwest::Client, url: &str) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let response = client.get(url).send().await?;
    let status = response.status();
    let _ = response.bytes().await?;
    if !status.is_success() {
        return Err(BenchError::unexpected(format!("GET {url}"), status.to_string()));
    }
    Ok(started.elapsed())
}

/// One client reading `url` in a loop, for `duration` or until `stop` is set.
pub(crate) async fn bystander(
    client: &reqwest::Client,
    url: &str,
    duration: Option<Duration>,
    stop: Option<Arc<AtomicBool>>,
) -> Result<Latencies, BenchError> {
    let started = Instant::now();
    let mut samples = Vec::new();
    loop {
        let over = duration.is_some_and(|d| started.elapsed() >= d);
        let stopped = stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
        if over || stopped {
            break;
        }
        samples.push(get(client, url).await?);
    }
    Ok(Latencies { samples, span: started.elapsed() })
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
            let mut samples = Vec::new();
            while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                samples.push(get(&client, &url).await?);
            }
            Ok::<_, BenchError>(samples)
        });
    }
    let mut samples = Vec::new();
    let mut failed = None;
    while let Some(done) = running.join_next().await {
        match done {
            Ok(Ok(mut more)) => samples.append(&mut more),
            Ok(Err(error)) => failed = Some(error),
            Err(error) => failed = Some(BenchError::Setup(format!("search client failed: {error}"))),
        }
    }
    let span = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let during = match watcher {
        Some(watcher) => watcher.await.map_err(|e| BenchError::Setup(format!("bystander failed: {e}")))??,
        None => Latencies::default(),
    };
    if let Some(error) = failed {
        return Err(error);
    }
    Ok((Latencies { samples, span }, during))
}
