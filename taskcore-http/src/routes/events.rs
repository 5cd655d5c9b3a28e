//! `GET /rooms/{code}/events`: the room's change feed as server-sent events, for live pages.
//!
//! Each connection follows the store's change feed (so it works across replicas sharing a
//! store): it reads new changes, sends each as an `event: change` with `id:` = sequence number
//! (browsers resume with `Last-Event-ID`), then waits until a local write to the room wakes it
//! or the poll interval passes. A reader that fell behind retention gets `event: resync`, and so
//! does one that resumes *past the end* of the feed (`since` or `Last-Event-ID` beyond the room's
//! latest sequence — after a restore or a switch of store): it then follows from the latest
//! change, and the server logs that once per stream. A failing store is logged when reads start
//! failing and when they recover, not on every poll. Streams end when the server starts
//! draining.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use taskcore::RoomCode;
use tokio::sync::broadcast;
use utoipa::IntoParams;

use crate::dto::ChangeJson;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How often a quiet stream re-reads the feed (writes through another replica are seen this
/// late at most).
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Stream parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventParams {
    /// Start after this sequence number; default: the `Last-Event-ID` header, else only changes
    /// from now on. Beyond the room's latest change: one `resync` event, then changes from the
    /// latest on.
    pub since: Option<u64>,
}

/// Live changes of a room as server-sent events.
#[utoipa::path(get, path = "/rooms/{code}/events", tag = "rooms",
    params(("code" = String, Path, description = "Room code"), EventParams),
    responses((status = 200, description = "text/event-stream of `change` events (data: a change object)", content_type = "text/event-stream"),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(params): Query<EventParams>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let code = RoomCode::parse(&code).map_err(ApiError::from)?;
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
    let since = match params.since.or(resume) {
        Some(since) => since,
        None => latest(&state, &code).await.map_err(ApiError::from)?,
    };
    let follower = Follower {
        state: state.clone(),
        wake: state.subscribe(),
        code,
        since,
        pending: VecDeque::new(),
        failing: false,
    };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        follower.next_event().await.map(|event| (Ok(event), follower))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The room's latest change sequence number.
async fn latest(state: &AppState, code: &RoomCode) -> taskcore::Result<u64> {
    match state.tasks.changes(code, 0, Some(1)).await {
        Ok(batch) => Ok(batch.latest),
        Err(taskcore::Error::ResyncNeeded { latest, .. }) => Ok(latest),
        Err(other) => Err(other),
    }
}

struct Follower {
    state: AppState,
    wake: broadcast::Receiver<RoomCode>,
    code: RoomCode,
    since: u64,
    pending: VecDeque<Event>,
    /// Whether the last read of the feed failed (so a lasting failure is logged once).
    failing: bool,
}

/// The event that tells a reader to reload the room, then follow from `latest`.
fn resync(latest: u64) -> Event {
    Event::default().event("resync").id(latest.to_string()).data("{}")
}

impl Follower {
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.state.is_draining() {
                return None;
            }
            match self.state.tasks.changes(&self.code, self.since, None).await {
                Ok(batch) => {
                    self.recovered();
                    if !batch.changes.is_empty() {
                        for change in batch.changes {
                            self.since = change.seq;
                            let id = change.seq.to_string();
                            let data = serde_json::to_string(&ChangeJson::from(change)).unwrap_or_default();
                            self.pending.push_back(Event::default().event("change").id(id).data(data));
                        }
                        continue;
                    }
                }
                Err(taskcore::Error::ResyncNeeded { latest, .. }) => {
                    self.recovered();
                    self.since = latest;
                    return Some(resync(latest));
                }
                Err(taskcore::Error::Invalid { field: "since", .. }) => match latest(&self.state, &self.code).await {
                    Ok(latest) => {
                        self.recovered();
                        tracing::info!(
                            since = self.since,
                            latest,
                            "event stream resumed past the end of the room's change feed; sent resync"
                        );
                        self.since = latest;
                        return Some(resync(latest));
                    }
                    Err(error) => self.failed(&error.to_string()),
                },
                Err(taskcore::Error::NotFound { .. }) => return None,
                Err(error) => self.failed(&error.to_string()),
            }
            self.wait().await;
        }
    }

    /// Logs a failed read of the feed when reads start failing; later failures of the same streak
    /// go to debug, so a lasting outage is not a warning every poll interval per stream.
    fn failed(&mut self, error: &str) {
        if self.failing {
            tracing::debug!(%error, "event stream still cannot read changes");
        } else {
            tracing::warn!(%error, "event stream could not read changes; retrying every poll interval");
            self.failing = true;
        }
    }

    /// Logs that reads of the feed work again after failing.
    fn recovered(&mut self) {
        if self.failing {
            tracing::info!("event stream reads changes again");
            self.failing = false;
        }
    }

    /// Until a local write touches this room, or the poll interval passes.
    async fn wait(&mut self) {
        let sleep = tokio::time::sleep(POLL_INTERVAL);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return,
                woke = self.wake.recv() => match woke {
                    Ok(code) if code == self.code => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => { sleep.as_mut().await; return; }
                },
            }
        }
    }
}
