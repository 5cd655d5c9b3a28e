//! `GET /rooms/{code}/events`: the room's change feed as server-sent events, for live pages.
//!
//! Each connection follows the store's change feed (so it works across replicas sharing a
//! store): it reads new changes, sends each as an `event: change` with `id:` = sequence number
//! (browsers resume with `Last-Event-ID`), then waits until a local write to the room wakes it
//! or the poll interval passes. A reader that fell behind retention gets `event: resync`.
//! Streams end when the server starts draining.

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
    /// from now on.
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
        None => latest(&state, &code).await?,
    };
    let follower = Follower { state: state.clone(), wake: state.subscribe(), code, since, pending: VecDeque::new() };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        follower.next_event().await.map(|event| (Ok(event), follower))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn latest(state: &AppState, code: &RoomCode) -> ApiResult<u64> {
    match state.tasks.changes(code, 0, Some(1)).await {
        Ok(batch) => Ok(batch.latest),
        Err(taskcore::Error::ResyncNeeded { latest, .. }) => Ok(latest),
        Err(other) => Err(other.into()),
    }
}

struct Follower {
    state: AppState,
    wake: broadcast::Receiver<RoomCode>,
    code: RoomCode,
    since: u64,
    pending: VecDeque<Event>,
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
                Ok(batch) if !batch.changes.is_empty() => {
                    for change in batch.changes {
                        self.since = change.seq;
                        let id = change.seq.to_string();
                        let data = serde_json::to_string(&ChangeJson::from(change)).unwrap_or_default();
                        self.pending.push_back(Event::default().event("change").id(id).data(data));
                    }
                    continue;
                }
                Ok(_) => {}
                Err(taskcore::Error::ResyncNeeded { latest, .. }) => {
                    self.since = latest;
                    return Some(Event::default().event("resync").id(latest.to_string()).data("{}"));
                }
                Err(taskcore::Error::NotFound { .. }) => return None,
                Err(error) => tracing::warn!(%error, room = %self.code, "event stream could not read changes"),
            }
            self.wait().await;
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
