//! `GET /rooms/{code}/events`: the room's change feed as server-sent events, for live pages.
//!
//! Each stream follows the store's change feed (so it works across replicas sharing a store),
//! through its room's follower in this process (one per room, see `room_feeds.rs`): the
//! follower reads the feed once per write or interval and every stream of the room sends the
//! changes it kept, each as an `event: change` with `id:` = sequence number (browsers resume
//! with `Last-Event-ID`). A stream reads the store itself when it starts, when it is further
//! behind than the follower keeps, and when the feed went backwards. A reader that fell behind
//! retention gets `event: resync`, and so does one that resumes *past the end* of the feed
//! (`since` or `Last-Event-ID` beyond the room's latest sequence — after a restore or a switch
//! of store): it then follows from the latest change, and the server logs that once per stream.
//! A failing store is logged when reads start failing and when they recover, not on every poll.
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
use utoipa::IntoParams;

use crate::dto::ChangeJson;
use crate::error::{ApiError, ApiResult};
use crate::room_feeds::{Subscription, latest};
use crate::state::AppState;

/// How often a quiet stream checks that the server is not draining, and, should its room's
/// follower be gone, re-reads the feed itself.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Stream parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    let subscription = state.feeds().subscribe(&state, &code);
    let restarts = subscription.feed.restarts();
    let follower = Follower {
        subscription,
        state,
        code,
        since,
        read_store: true,
        restarts,
        pending: VecDeque::new(),
        failing: false,
    };
    let stream = futures_util::stream::unfold(follower, |mut follower| async move {
        follower.next_event().await.map(|event| (Ok(event), follower))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

struct Follower {
    state: AppState,
    subscription: Subscription,
    code: RoomCode,
    since: u64,
    /// Whether the next step reads the store itself rather than the room's follower.
    read_store: bool,
    /// The follower's restarts seen so far.
    restarts: u64,
    pending: VecDeque<Event>,
    /// Whether the last read of the feed failed (so a lasting failure is logged once).
    failing: bool,
}

/// What one read of the store gave a stream.
enum Read {
    /// An event to send before anything else.
    Send(Event),
    /// The room is gone: the stream ends.
    End,
    /// Changes (if any) are pending; go on.
    Continue,
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
            let restarts = self.subscription.feed.restarts();
            if restarts != self.restarts {
                // The follower started over (the feed went backwards, or it fell behind
                // retention): where this stream stands is for the store to say.
                self.restarts = restarts;
                self.read_store = true;
            }
            if !self.read_store {
                let known = *self.subscription.latest.borrow_and_update();
                match known {
                    Some(latest) if latest > self.since => match self.subscription.feed.after(self.since) {
                        Some(changes) => {
                            for (seq, json) in changes {
                                self.since = seq;
                                self.pending
                                    .push_back(Event::default().event("change").id(seq.to_string()).data(&*json));
                            }
                            continue;
                        }
                        None => self.read_store = true, // further behind than the follower keeps
                    },
                    _ => {}
                }
            }
            if self.read_store {
                match self.read_from_store().await {
                    Read::Send(event) => return Some(event),
                    Read::End => return None,
                    Read::Continue if !self.pending.is_empty() => continue,
                    Read::Continue => {}
                }
            }
            self.wait().await;
        }
    }

    /// One read of the store's feed after `since`, as a stream starts or when the follower
    /// cannot serve it: changes go to `pending`.
    async fn read_from_store(&mut self) -> Read {
        match self.state.tasks.changes(&self.code, self.since, None).await {
            Ok(batch) => {
                self.recovered();
                let caught_up = batch.changes.last().is_none_or(|last| last.seq >= batch.latest);
                for change in batch.changes {
                    self.since = change.seq;
                    let id = change.seq.to_string();
                    let data = serde_json::to_string(&ChangeJson::from(change)).unwrap_or_default();
                    self.pending.push_back(Event::default().event("change").id(id).data(data));
                }
                self.read_store = !caught_up;
                Read::Continue
            }
            Err(taskcore::Error::ResyncNeeded { latest, .. }) => {
                self.recovered();
                self.since = latest;
                self.read_store = false;
                Read::Send(resync(latest))
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
                    self.read_store = false;
                    Read::Send(resync(latest))
                }
                Err(error) => {
                    self.failed(&error.to_string());
                    Read::Continue
                }
            },
            Err(taskcore::Error::NotFound(_)) => Read::End,
            Err(error) => {
                self.failed(&error.to_string());
                Read::Continue
            }
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

    /// Until the room's follower has read further, or the poll interval passes (then a
    /// follower that is gone is replaced by reading the store).
    async fn wait(&mut self) {
        tokio::select! {
            changed = self.subscription.latest.changed() => {
                if changed.is_err() {
                    self.read_store = true;
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
            }
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}
