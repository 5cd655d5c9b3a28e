//! The read cache: [`RoomCache`], a per-process materialised view of rooms that a
//! [`TaskManager`](crate::TaskManager) serves listings, rooms and statistics from, and the
//! [`CacheOptions`] that bound it.
//!
//! # How it stays correct
//!
//! Every read validates first, with the store's cheapest read,
//! [`TaskStore::latest_seq`]: when the room's newest change is the one the view reflects, the
//! view is current; otherwise the missing changes are read from the room's change feed (which
//! carries every task's whole state) and applied. A read therefore never reflects less than
//! every write acknowledged before it started — through this process or any other sharing the
//! store. When the feed no longer has the changes needed (retention, a restore), the room is
//! loaded again.
//!
//! Validations of one room are coalesced: a read waits for a validation that *started after
//! it arrived* instead of starting its own, so under load one small read per room is in flight
//! at a time, whatever the number of readers.
//!
//! # How it stays bounded
//!
//! The cache holds at most [`CacheOptions::max_bytes`] (estimated), evicting the least
//! recently used rooms. A room that would take more than [`CacheOptions::max_room_bytes`] is
//! not cached: it is read from the store page by page, as without a cache. Rooms are loaded
//! in pages of about 1 MiB, never in one store call.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use taskcore::{CacheOptions, MemoryStore, NewTask, TaskManager, TaskQuery};
//!
//! let store = Arc::new(MemoryStore::new());
//! let writer = TaskManager::new(store.clone());
//! let reader = TaskManager::new(store).with_cache(CacheOptions::default());
//! let room = writer.create_room("alice").await?;
//! assert_eq!(reader.list_tasks(&room.code, &TaskQuery::default()).await?.total, 0);
//! writer.create_task(&room.code, &NewTask::titled("Seen at once"), None).await?;
//! assert_eq!(reader.list_tasks(&room.code, &TaskQuery::default()).await?.total, 1);
//! # Ok::<(), taskcore::Error>(())
//! # }).unwrap();
//! ```
//!
//! [`TaskStore::latest_seq`]: crate::TaskStore::latest_seq

mod entry;
mod view;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;

use crate::error::Result;
use crate::query::TaskQuery;
use crate::room::{Room, RoomCode};
use crate::stats::TaskCounts;
use crate::store::TaskStore;

use entry::Entry;
pub(crate) use view::{Selection, task_bytes};

/// The default bound of a cache: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Bounds of a [`RoomCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheOptions {
    max_bytes: usize,
    max_room_bytes: usize,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self { max_bytes: DEFAULT_CACHE_BYTES, max_room_bytes: DEFAULT_CACHE_BYTES / 2 }
    }
}

impl CacheOptions {
    /// At most `bytes` (estimated) in the cache; the largest room cached becomes half of it.
    /// 0 caches nothing.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self.max_room_bytes = bytes / 2;
        self
    }

    /// Rooms larger than `bytes` are not cached (at most [`max_bytes`](Self::max_bytes)).
    pub fn max_room_bytes(mut self, bytes: usize) -> Self {
        self.max_room_bytes = bytes;
        self
    }

    /// The bound of the whole cache, in bytes.
    pub fn total_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The bound of one room, in bytes.
    pub fn room_bytes(&self) -> usize {
        self.max_room_bytes.min(self.max_bytes)
    }
}

/// Counters of a cache's work since it was made, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheStats {
    /// Rooms held now.
    pub rooms: u64,
    /// Estimated bytes held now.
    pub bytes: u64,
    /// Reads answered from memory.
    pub hits: u64,
    /// Reads that had to go to the store (room too large to cache).
    pub bypasses: u64,
    /// Rooms loaded from the store (first read, after eviction, or after a gap in the feed).
    pub loads: u64,
    /// Changes applied from rooms' feeds.
    pub changes_applied: u64,
    /// Validations that found the room current.
    pub validations: u64,
    /// Rooms evicted to stay within the bound.
    pub evictions: u64,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    bypasses: AtomicU64,
    loads: AtomicU64,
    changes_applied: AtomicU64,
    validations: AtomicU64,
    evictions: AtomicU64,
}

/// A per-process cache of rooms, shared by the clones of the [`TaskManager`](crate::TaskManager)
/// it was given to. See the [module documentation](self).
#[derive(Debug)]
pub struct RoomCache {
    options: CacheOptions,
    rooms: Mutex<Rooms>,
    counters: Counters,
    tick: AtomicU64,
}

#[derive(Debug, Default)]
struct Rooms {
    entries: HashMap<RoomCode, Arc<Entry>>,
    bytes: usize,
}

/// One consistent read of a cached room: the room, the change it is current to, and either
/// the tasks a query selected or the room's counts.
#[derive(Debug, Clone)]
pub(crate) struct CachedRead<T> {
    pub(crate) room: Room,
    pub(crate) seq: u64,
    pub(crate) value: T,
}

impl RoomCache {
    /// An empty cache.
    pub fn new(options: CacheOptions) -> Self {
        Self { options, rooms: Mutex::default(), counters: Counters::default(), tick: AtomicU64::new(0) }
    }

    /// Its bounds.
    pub fn options(&self) -> CacheOptions {
        self.options
    }

    /// What it holds and what it did so far.
    pub fn stats(&self) -> CacheStats {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CacheStats {
            rooms: rooms.entries.len() as u64,
            bytes: rooms.bytes as u64,
            hits: load(&self.counters.hits),
            bypasses: load(&self.counters.bypasses),
            loads: load(&self.counters.loads),
            changes_applied: load(&self.counters.changes_applied),
            validations: load(&self.counters.validations),
            evictions: load(&self.counters.evictions),
        }
    }

    /// The tasks `query` selects (at most `cap`), current as of this call, or `None` when the
    /// room is not cached (too large): then the caller reads the store.
    pub(crate) async fn select(
        &self,
        store: &dyn TaskStore,
        code: &RoomCode,
        query: &TaskQuery,
        now: OffsetDateTime,
        cap: usize,
    ) -> Result<Option<CachedRead<Selection>>> {
        self.read(store, code, now, |view| view.select(query, now, cap)).await
    }

    /// The room's counts as of this call, or `None` when the room is not cached.
    pub(crate) async fn counts(
        &self,
        store: &dyn TaskStore,
        code: &RoomCode,
        now: OffsetDateTime,
    ) -> Result<Option<CachedRead<TaskCounts>>> {
        self.read(store, code, now, |view| view.counts(now)).await
    }

    async fn read<T>(
        &self,
        store: &dyn TaskStore,
        code: &RoomCode,
        now: OffsetDateTime,
        with: impl FnOnce(&view::RoomView) -> T,
    ) -> Result<Option<CachedRead<T>>> {
        if self.options.room_bytes() == 0 {
            self.counters.bypasses.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        let entry = self.entry(code);
        let outcome = entry.validate(store, code, now, self.options.room_bytes(), &self.counters).await;
        let read = match outcome {
            Ok(()) => entry.read(|view| CachedRead { room: view.room.clone(), seq: view.seq, value: with(view) }),
            Err(error) => {
                self.forget(code, &entry);
                return Err(error);
            }
        };
        let counter = if read.is_some() { &self.counters.hits } else { &self.counters.bypasses };
        counter.fetch_add(1, Ordering::Relaxed);
        self.account(code, &entry);
        Ok(read)
    }

    /// The entry of `code`, made when missing, marked as just used.
    fn entry(&self, code: &RoomCode) -> Arc<Entry> {
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = rooms.entries.entry(code.clone()).or_insert_with(|| Arc::new(Entry::default()));
        entry.touch(tick);
        Arc::clone(entry)
    }

    /// Drops the entry of `code` if it is still `entry` (a failed read: unknown room, outage).
    fn forget(&self, code: &RoomCode, entry: &Arc<Entry>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if rooms.entries.get(code).is_some_and(|held| Arc::ptr_eq(held, entry)) {
            rooms.entries.remove(code);
            rooms.bytes -= entry.accounted();
        }
    }

    /// Brings the byte count up to date with `entry`'s size, then evicts the least recently
    /// used rooms while over the bound.
    fn account(&self, code: &RoomCode, entry: &Arc<Entry>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if !rooms.entries.get(code).is_some_and(|held| Arc::ptr_eq(held, entry)) {
            return; // evicted meanwhile: it no longer counts
        }
        let (before, after) = entry.reaccount();
        rooms.bytes = rooms.bytes - before + after;
        while rooms.bytes > self.options.max_bytes {
            let Some(oldest) = rooms.entries.iter().min_by_key(|(_, e)| e.last_used()).map(|(c, _)| c.clone()) else {
                break;
            };
            if let Some(evicted) = rooms.entries.remove(&oldest) {
                rooms.bytes -= evicted.accounted();
                evicted.drop_view();
                self.counters.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
