//! [`Entry`]: one room's slot in the cache — its view, and the coalesced validation that keeps
//! the view current (a read waits for a validation that started after it arrived, or runs one).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::Counters;
use super::view::RoomView;
use crate::changes::MAX_CHANGES_PER_READ;
use crate::error::{Error, Result};
use crate::query::TaskQuery;
use crate::room::RoomCode;
use crate::store::TaskStore;

/// How long a room found too large to cache is read from the store before trying again.
const OVERSIZED_RETRY: Duration = Duration::from_secs(60);

/// How many times one validation reloads a room whose feed keeps moving past retention.
const RELOAD_ATTEMPTS: usize = 3;

/// A room's slot.
#[derive(Debug, Default)]
pub(super) struct Entry {
    /// Tickets handed to arriving reads, 1, 2, 3…
    arrivals: AtomicU64,
    /// Every read with a ticket up to this one has been served by a validation that started
    /// after it arrived.
    validated: AtomicU64,
    /// Held by the one validation in flight.
    refresh: tokio::sync::Mutex<()>,
    view: RwLock<Option<RoomView>>,
    /// Set when the room was too large to cache, with when that was found.
    oversized: RwLock<Option<Instant>>,
    /// When the view was last read (the cache's tick), for eviction.
    last_used: AtomicU64,
    /// The bytes the cache counts for this entry.
    accounted: AtomicUsize,
    /// Set once evicted: a view is never kept again.
    evicted: AtomicBool,
}

impl Entry {
    pub(super) fn touch(&self, tick: u64) {
        self.last_used.store(tick, Ordering::Relaxed);
    }

    pub(super) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    pub(super) fn accounted(&self) -> usize {
        self.accounted.load(Ordering::Relaxed)
    }

    /// Records the view's current size as the accounted one; returns (before, after).
    pub(super) fn reaccount(&self) -> (usize, usize) {
        let now = self.view.read().unwrap_or_else(PoisonError::into_inner).as_ref().map_or(0, RoomView::bytes);
        (self.accounted.swap(now, Ordering::Relaxed), now)
    }

    /// Frees the view of an evicted entry.
    pub(super) fn drop_view(&self) {
        self.evicted.store(true, Ordering::SeqCst);
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// `with` applied to the view, or `None` when there is none (too large, evicted).
    pub(super) fn read<T>(&self, with: impl FnOnce(&RoomView) -> T) -> Option<T> {
        self.view.read().unwrap_or_else(PoisonError::into_inner).as_ref().map(with)
    }

    /// Makes the view reflect at least every change acknowledged before this call, sharing a
    /// validation that started after this call with other readers.
    pub(super) async fn validate(
        &self,
        store: &dyn TaskStore,
        code: &RoomCode,
        now: OffsetDateTime,
        max_bytes: usize,
        counters: &Counters,
    ) -> Result<()> {
        let ticket = self.arrivals.fetch_add(1, Ordering::SeqCst) + 1;
        let _running = self.refresh.lock().await;
        if self.validated.load(Ordering::SeqCst) >= ticket {
            return Ok(()); // a validation that started after this read arrived has finished
        }
        // Every read holding a ticket up to here arrived before the store read below starts.
        let covered = self.arrivals.load(Ordering::SeqCst);
        self.refresh(store, code, now, max_bytes, counters).await?;
        self.validated.store(covered, Ordering::SeqCst);
        Ok(())
    }

    async fn refresh(
        &self,
        store: &dyn TaskStore,
        code: &RoomCode,
        now: OffsetDateTime,
        max_bytes: usize,
        counters: &Counters,
    ) -> Result<()> {
        let oversized_since = *self.oversized.read().unwrap_or_else(PoisonError::into_inner);
        if oversized_since.is_some_and(|at| at.elapsed() < OVERSIZED_RETRY) || self.evicted.load(Ordering::SeqCst) {
            return Ok(()); // no view: the caller reads the store, which answers fresh
        }
        let held = self.view.read().unwrap_or_else(PoisonError::into_inner).as_ref().map(|view| view.seq);
        let Some(held) = held else {
            return self.reload(store, code, now, max_bytes, counters).await;
        };
        let latest = store.latest_seq(code).await?;
        if latest == held {
            counters.validations.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if latest < held {
            // The store went back in time (a restore, a switched backend): start over.
            return self.reload(store, code, now, max_bytes, counters).await;
        }
        match self.catch_up(store, code, held, counters).await {
            Err(Error::ResyncNeeded { .. } | Error::Invalid { field: "since", .. }) => {
                self.reload(store, code, now, max_bytes, counters).await
            }
            other => other,
        }
    }

    /// Applies the room's changes after `from` until the view reaches the newest one.
    async fn catch_up(&self, store: &dyn TaskStore, code: &RoomCode, from: u64, counters: &Counters) -> Result<()> {
        let mut since = from;
        loop {
            let batch = store.changes(code, since, MAX_CHANGES_PER_READ).await?;
            let Some(last) = batch.changes.last().map(|c| c.seq) else { return Ok(()) };
            counters.changes_applied.fetch_add(batch.changes.len() as u64, Ordering::Relaxed);
            let mut view = self.view.write().unwrap_or_else(PoisonError::into_inner);
            let Some(view) = view.as_mut() else { return Ok(()) };
            for change in batch.changes {
                view.apply(change);
            }
            if last >= batch.latest {
                return Ok(());
            }
            since = last;
        }
    }

    /// Reads the room from the store in pages, then the changes made meanwhile. A room that
    /// grows beyond `max_bytes` while loading is marked oversized and left uncached.
    async fn reload(
        &self,
        store: &dyn TaskStore,
        code: &RoomCode,
        now: OffsetDateTime,
        max_bytes: usize,
        counters: &Counters,
    ) -> Result<()> {
        for _ in 0..RELOAD_ATTEMPTS {
            *self.view.write().unwrap_or_else(PoisonError::into_inner) = None;
            counters.loads.fetch_add(1, Ordering::Relaxed);
            // The sequence first: every change after it is applied again below, so what the
            // pages read later is never newer than what the view ends up at.
            let start = store.latest_seq(code).await?;
            let room = store.room(code).await?;
            let mut view = RoomView::new(room, start);
            let mut query = TaskQuery::default().limit(crate::listing::FIRST_STORE_PAGE);
            loop {
                let page = store.list_tasks(code, &query, now).await?;
                query.limit = crate::listing::next_page_limit(&page.items, usize::MAX);
                for task in page.items {
                    view.put(task);
                }
                if view.bytes() > max_bytes {
                    *self.oversized.write().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                    return Ok(());
                }
                match page.next_cursor {
                    Some(cursor) => query.after = Some(cursor),
                    None => break,
                }
            }
            if self.evicted.load(Ordering::SeqCst) {
                return Ok(());
            }
            *self.oversized.write().unwrap_or_else(PoisonError::into_inner) = None;
            *self.view.write().unwrap_or_else(PoisonError::into_inner) = Some(view);
            match self.catch_up(store, code, start, counters).await {
                Err(Error::ResyncNeeded { .. } | Error::Invalid { field: "since", .. }) => continue,
                other => return other,
            }
        }
        // The feed moves faster than a load: serve this room from the store for a while.
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = None;
        *self.oversized.write().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        Ok(())
    }
}
