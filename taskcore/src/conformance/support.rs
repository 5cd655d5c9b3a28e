//! Shared set-up and assertions of the conformance behaviours: a [`Ctx`] with a manager on a
//! fresh store and a manual clock, and checks that name the error variant and field expected.

use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::datetime;

use super::StoreFactory;
use crate::clock::ManualClock;
use crate::error::{Error, Result};
use crate::input::NewTask;
use crate::manager::TaskManager;
use crate::query::TaskQuery;
use crate::room::{Room, RoomCode};
use crate::store::{StoreOptions, TaskStore};
use crate::task::Task;

/// The instant every behaviour's clock starts at.
pub const START: OffsetDateTime = datetime!(2026-03-10 12:00:00 UTC);

/// One behaviour's world: a store, a manager over it and the clock the manager reads.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The store under test.
    pub store: Arc<dyn TaskStore>,
    /// A manager over `store` reading `clock`.
    pub tasks: TaskManager,
    /// The clock, at [`START`] until moved.
    pub clock: ManualClock,
}

impl Ctx {
    /// A fresh store with default options.
    pub async fn new(factory: &dyn StoreFactory) -> Self {
        Self::with_options(factory, StoreOptions::default()).await
    }

    /// A fresh store with `options`.
    pub async fn with_options(factory: &dyn StoreFactory, options: StoreOptions) -> Self {
        let store = factory.open(options).await;
        let clock = ManualClock::new(START);
        let mut tasks = TaskManager::new(Arc::clone(&store)).with_clock(Arc::new(clock.clone()));
        if let Some(cache) = factory.cache() {
            tasks = tasks.with_cache(cache);
        }
        Self { store, tasks, clock }
    }

    /// Another manager over the same store and clock — another process sharing the store —
    /// reading through its own cache with `cache`.
    pub fn cached_reader(&self, cache: crate::cache::CacheOptions) -> TaskManager {
        TaskManager::new(Arc::clone(&self.store)).with_clock(Arc::new(self.clock.clone())).with_cache(cache)
    }

    /// A new room owned by `owner`.
    pub async fn room(&self, owner: &str) -> Room {
        self.tasks.create_room(owner).await.expect("create_room")
    }

    /// Creates a task from `input` and returns it.
    pub async fn create(&self, code: &RoomCode, input: NewTask) -> Task {
        self.tasks.create_task(code, &input, None).await.expect("create_task").into_task()
    }

    /// Creates a task with just a title.
    pub async fn create_titled(&self, code: &RoomCode, title: &str) -> Task {
        self.create(code, NewTask::titled(title)).await
    }

    /// Every task of the room matching `query`, following cursors page by page.
    pub async fn list_all(&self, code: &RoomCode, query: TaskQuery) -> Vec<Task> {
        let mut query = query;
        let mut out = Vec::new();
        loop {
            let page = self.tasks.list_tasks(code, &query).await.expect("list_tasks");
            out.extend(page.items);
            match page.next_cursor {
                Some(cursor) => query.after = Some(cursor),
                None => return out,
            }
        }
    }

    /// The numbers of the tasks `query` lists (all pages).
    pub async fn numbers(&self, code: &RoomCode, query: TaskQuery) -> Vec<u64> {
        self.list_all(code, query).await.iter().map(|t| t.number).collect()
    }
}

/// Asserts `result` is `Invalid` on `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T>, field: &str) {
    match result {
        Err(Error::Invalid { field: got, .. }) if got == field => {}
        other => panic!("expected Invalid on field {field:?}, got {other:?}"),
    }
}

/// Asserts `result` is `NotFound` of `what`.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T>, what: &str) {
    match result {
        Err(Error::NotFound(missing)) if missing.what() == what => {}
        other => panic!("expected NotFound {what:?}, got {other:?}"),
    }
}

/// Asserts `result` is `Conflict` with these versions.
#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T>, expected: u64, current: u64) {
    match result {
        Err(Error::Conflict { expected: e, current: c }) if e == expected && c == current => {}
        other => panic!("expected Conflict {{ expected: {expected}, current: {current} }}, got {other:?}"),
    }
}
