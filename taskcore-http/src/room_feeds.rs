//! [`RoomFeeds`]: one follower per room per process for the live event streams. The follower
//! reads the room's change feed — when a write through this process announces the room, when
//! the store pushes a write through another process
//! ([`TaskStore::write_notices`](taskcore::TaskStore::write_notices): Redis pub/sub,
//! PostgreSQL `LISTEN`), and every [`FOLLOW_INTERVAL`] as the fallback — keeps the recent changes
//! already serialised, and tells every stream of the room the latest sequence it knows. A
//! thousand streams on one room thus cost one store read per write (or per interval), not a
//! thousand, and each change is serialised once.
//!
//! A stream that is further behind than the recent changes kept (it resumed from an old
//! `Last-Event-ID`, or it was slow) reads the store itself, as every stream used to; so do the
//! streams of a room whose feed went backwards (a restore), which then get their `resync`.
//! The follower of a room ends with the last stream of the room.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use taskcore::{Change, RoomCode};
use tokio::sync::{broadcast, watch};

use crate::dto::ChangeJson;
use crate::state::AppState;

/// How often a follower reads its room's feed when no local write announced it: how late a
/// write through another replica reaches this one's streams, at most.
pub(crate) const FOLLOW_INTERVAL: Duration = Duration::from_millis(250);

/// How many recent changes a room's follower keeps for its streams.
const RECENT_CHANGES: usize = 512;

/// A change as streams send it: its sequence number and its JSON.
pub(crate) type SharedChange = (u64, Arc<str>);

/// The followers of this process, by room. Cheap to share.
#[derive(Debug, Default)]
pub(crate) struct RoomFeeds {
    rooms: Mutex<HashMap<RoomCode, Arc<RoomFeed>>>,
}

/// One room's follower state, shared with the room's streams.
#[derive(Debug)]
pub(crate) struct RoomFeed {
    /// The latest sequence number the follower has read (`None` before its first read).
    latest: watch::Sender<Option<u64>>,
    recent: RwLock<Recent>,
    /// How many times the follower started over after its first read (its feed went
    /// backwards, or it fell behind retention): streams then check with the store.
    restarts: AtomicU64,
}

/// The recent changes: every change after `first - 1` up to the latest read, in order.
#[derive(Debug, Default)]
struct Recent {
    first: u64,
    changes: VecDeque<SharedChange>,
}

/// A stream's hold on its room's follower.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) feed: Arc<RoomFeed>,
    pub(crate) latest: watch::Receiver<Option<u64>>,
}

impl RoomFeeds {
    /// Follows `code` for one more stream, starting the room's follower if it has none.
    pub(crate) fn subscribe(self: &Arc<Self>, state: &AppState, code: &RoomCode) -> Subscription {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(feed) = rooms.get(code) {
            return Subscription { feed: Arc::clone(feed), latest: feed.latest.subscribe() };
        }
        let feed = Arc::new(RoomFeed::new());
        rooms.insert(code.clone(), Arc::clone(&feed));
        let subscription = Subscription { feed: Arc::clone(&feed), latest: feed.latest.subscribe() };
        let follower = Follower { state: state.clone(), feeds: Arc::clone(self), code: code.clone(), feed };
        tokio::spawn(follower.run());
        subscription
    }

    /// How many rooms are followed now.
    pub(crate) fn followed(&self) -> usize {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Forgets `feed` if no stream follows it any more; then its follower ends. Checked under
    /// the map's lock, so a stream subscribing at the same time gets a new follower.
    fn release_if_unused(&self, code: &RoomCode, feed: &Arc<RoomFeed>) -> bool {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if feed.latest.receiver_count() > 0 {
            return false;
        }
        if rooms.get(code).is_some_and(|held| Arc::ptr_eq(held, feed)) {
            rooms.remove(code);
        }
        true
    }
}

impl RoomFeed {
    fn new() -> Self {
        Self { latest: watch::channel(None).0, recent: RwLock::default(), restarts: AtomicU64::new(0) }
    }

    /// How many times the follower started over after its first read.
    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::SeqCst)
    }

    /// The changes after `since`, when the recent changes reach back that far.
    pub(crate) fn after(&self, since: u64) -> Option<Vec<SharedChange>> {
        let recent = self.recent.read().unwrap_or_else(PoisonError::into_inner);
        if since.saturating_add(1) < recent.first {
            return None;
        }
        let start = recent.changes.partition_point(|(seq, _)| *seq <= since);
        Some(recent.changes.range(start..).cloned().collect())
    }

    /// Starts over at `latest`: nothing before it is kept.
    fn reset(&self, latest: u64) {
        let mut recent = self.recent.write().unwrap_or_else(PoisonError::into_inner);
        recent.changes.clear();
        recent.first = latest.saturating_add(1);
        drop(recent);
        if self.latest.send_replace(Some(latest)).is_some() {
            self.restarts.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Keeps `changes` (the next ones after the latest read) and announces the newest.
    fn append(&self, changes: Vec<Change>) {
        let mut recent = self.recent.write().unwrap_or_else(PoisonError::into_inner);
        let mut newest = None;
        for change in changes {
            let seq = change.seq;
            let json = serde_json::to_string(&ChangeJson::from(change)).unwrap_or_default();
            recent.changes.push_back((seq, Arc::from(json)));
            newest = Some(seq);
        }
        while recent.changes.len() > RECENT_CHANGES {
            if let Some((seq, _)) = recent.changes.pop_front() {
                recent.first = seq + 1;
            }
        }
        drop(recent);
        if newest.is_some() {
            self.latest.send_replace(newest);
        }
    }
}

/// The task that follows one room.
struct Follower {
    state: AppState,
    feeds: Arc<RoomFeeds>,
    code: RoomCode,
    feed: Arc<RoomFeed>,
}

impl Follower {
    async fn run(self) {
        let mut wake = self.state.subscribe();
        // Writes through other processes, pushed by the store where it can (else polling).
        let mut pushed = self.state.tasks.store().write_notices();
        let mut read_to: Option<u64> = None;
        let mut failing = false;
        loop {
            if self.feeds.release_if_unused(&self.code, &self.feed) {
                return;
            }
            let outcome = match read_to {
                None => latest(&self.state, &self.code).await.map(|latest| {
                    self.feed.reset(latest);
                    read_to = Some(latest);
                    false
                }),
                Some(since) => match self.state.tasks.changes(&self.code, since, None).await {
                    Ok(batch) => {
                        let more = batch.changes.last().is_some_and(|last| last.seq < batch.latest);
                        if let Some(last) = batch.changes.last() {
                            read_to = Some(last.seq);
                        }
                        self.feed.append(batch.changes);
                        Ok(more)
                    }
                    Err(taskcore::Error::ResyncNeeded { latest, .. }) => {
                        self.feed.reset(latest);
                        read_to = Some(latest);
                        Ok(false)
                    }
                    // The feed went backwards (a restore): start again from its latest.
                    Err(taskcore::Error::Invalid { field: "since", .. }) => {
                        read_to = None;
                        Ok(true)
                    }
                    Err(error) => Err(error),
                },
            };
            match outcome {
                Ok(more) => {
                    if failing {
                        tracing::info!("room follower reads changes again");
                        failing = false;
                    }
                    if more {
                        continue;
                    }
                }
                Err(taskcore::Error::NotFound(_)) => {
                    // No such room (any more): its streams end when they read it themselves.
                    self.feed.latest.send_replace(None);
                }
                Err(error) if failing => tracing::debug!(%error, "room follower still cannot read changes"),
                Err(error) => {
                    tracing::warn!(%error, "room follower could not read changes; retrying every interval");
                    failing = true;
                }
            }
            wait(&mut wake, pushed.as_mut(), &self.code).await;
        }
    }
}

/// Until a write to `code` is announced — by this process (`local`) or pushed by the store
/// (`pushed`) — or [`FOLLOW_INTERVAL`] passes.
async fn wait(
    local: &mut broadcast::Receiver<RoomCode>,
    mut pushed: Option<&mut broadcast::Receiver<RoomCode>>,
    code: &RoomCode,
) {
    let sleep = tokio::time::sleep(FOLLOW_INTERVAL);
    tokio::pin!(sleep);
    let mut local_open = true;
    loop {
        let from_store = async {
            match pushed.as_deref_mut() {
                Some(receiver) => receiver.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut sleep => return,
            woke = local.recv(), if local_open => match woke {
                Ok(room) if room == *code => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => local_open = false,
            },
            woke = from_store => match woke {
                Ok(room) if room == *code => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => pushed = None,
            },
        }
    }
}

/// The room's latest change sequence number.
pub(crate) async fn latest(state: &AppState, code: &RoomCode) -> taskcore::Result<u64> {
    match state.tasks.changes(code, 0, Some(1)).await {
        Ok(batch) => Ok(batch.latest),
        Err(taskcore::Error::ResyncNeeded { latest, .. }) => Ok(latest),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(seq: u64) -> Change {
        Change {
            seq,
            at: time::OffsetDateTime::UNIX_EPOCH,
            event: taskcore::ChangeEvent::TaskDeleted { number: seq, id: uuid::Uuid::nil() },
        }
    }

    fn feed() -> RoomFeed {
        RoomFeed::new()
    }

    #[test]
    fn recent_changes_answer_from_where_they_reach() {
        let feed = feed();
        feed.reset(10);
        assert_eq!(*feed.latest.borrow(), Some(10));
        assert_eq!(feed.after(10).unwrap(), []);
        assert!(feed.after(9).is_none(), "change 10 was never kept");
        feed.append((11..=13).map(change).collect());
        assert_eq!(*feed.latest.borrow(), Some(13));
        let seqs = |since| feed.after(since).map(|c| c.iter().map(|(seq, _)| *seq).collect::<Vec<_>>());
        assert_eq!(seqs(10), Some(vec![11, 12, 13]));
        assert_eq!(seqs(12), Some(vec![13]));
        assert_eq!(seqs(13), Some(vec![]));
        assert!(feed.after(11).unwrap()[0].1.contains("\"seq\":12"), "kept as JSON");
    }

    #[test]
    fn only_the_most_recent_changes_are_kept() {
        let feed = feed();
        feed.reset(0);
        let total = RECENT_CHANGES as u64 + 10;
        feed.append((1..=total).map(change).collect());
        assert!(feed.after(5).is_none(), "fell out of the window");
        assert_eq!(feed.after(10).unwrap().len(), RECENT_CHANGES);
        assert_eq!(feed.restarts(), 0, "the first read is no restart");
        feed.reset(3);
        assert_eq!(feed.restarts(), 1);
        assert_eq!(feed.after(3).unwrap(), [], "a reset forgets everything before it");
        assert!(feed.after(2).is_none());
    }
}
