//! [`TaskListing`]: every task a query selects, up to a cap, handed out in chunks so that a
//! caller can stream a large listing without holding it twice. It comes from the
//! [cache](crate::cache) when the room is cached (a snapshot of shared tasks), and otherwise
//! from the store, one bounded page at a time.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::cache::Selection;
use crate::cache::task_bytes;
use crate::error::Result;
use crate::query::{Cursor, MAX_PAGE_LIMIT, TaskQuery};
use crate::room::RoomCode;
use crate::store::TaskStore;
use crate::task::Task;

/// How many tasks a chunk from memory holds.
const MEMORY_CHUNK: usize = 256;

/// About how many bytes of tasks one store page may hold: pages of large tasks are shorter.
const STORE_PAGE_BYTES: usize = 1024 * 1024;

/// The first store page's size, before task sizes are known.
pub(crate) const FIRST_STORE_PAGE: u32 = 50;

/// The smallest store page.
const MIN_STORE_PAGE: u32 = 10;

/// The tasks of a listing, in order, with its counts.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use taskcore::{MemoryStore, NewTask, TaskManager, TaskQuery};
///
/// let tasks = TaskManager::new(Arc::new(MemoryStore::new()));
/// let room = tasks.create_room("alice").await?;
/// for title in ["one", "two", "three"] {
///     tasks.create_task(&room.code, &NewTask::titled(title), None).await?;
/// }
/// let mut listing = tasks.listing(&room.code, &TaskQuery::default(), 2).await?;
/// assert_eq!((listing.matched(), listing.total()), (3, 3));
/// let mut titles = Vec::new();
/// while let Some(chunk) = listing.next_chunk().await? {
///     titles.extend(chunk.iter().map(|t| t.title.clone()));
/// }
/// assert_eq!(titles, ["one", "two"]);
/// assert!(listing.next_cursor().is_some(), "capped at 2: a next page starts after \"two\"");
/// # Ok::<(), taskcore::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TaskListing {
    seq: u64,
    matched: u64,
    total: u64,
    next_cursor: Option<Cursor>,
    source: Source,
    /// The rest of the chunk [`next_task`](Self::next_task) is handing out.
    pending: std::vec::IntoIter<Arc<Task>>,
}

#[derive(Debug)]
enum Source {
    Memory(std::vec::IntoIter<Arc<Task>>),
    Store(Box<StorePages>),
}

#[derive(Debug)]
struct StorePages {
    store: Arc<dyn TaskStore>,
    code: RoomCode,
    query: TaskQuery,
    now: OffsetDateTime,
    /// How many more tasks may be handed out.
    remaining: usize,
    /// The page read at the start, not handed out yet.
    first: Option<Vec<Task>>,
    /// Whether the store has tasks after the last page read.
    more: bool,
}

impl TaskListing {
    pub(crate) fn from_memory(seq: u64, selection: Selection) -> Self {
        Self {
            seq,
            matched: selection.matched,
            total: selection.total,
            next_cursor: selection.next_cursor,
            source: Source::Memory(selection.items.into_iter()),
            pending: Vec::new().into_iter(),
        }
    }

    pub(crate) async fn from_store(
        store: Arc<dyn TaskStore>,
        code: RoomCode,
        query: TaskQuery,
        now: OffsetDateTime,
        cap: usize,
    ) -> Result<Self> {
        // The sequence first, so that it never claims more than the tasks read after it show.
        let seq = store.latest_seq(&code).await?;
        let mut query = query;
        query.limit = page_limit(FIRST_STORE_PAGE, cap);
        let page = store.list_tasks(&code, &query, now).await?;
        query.after = page.next_cursor.clone();
        let pages = StorePages {
            store,
            code,
            query,
            now,
            remaining: cap,
            more: page.next_cursor.is_some(),
            first: Some(page.items),
        };
        Ok(Self {
            seq,
            matched: page.matched,
            total: page.total,
            next_cursor: None,
            source: Source::Store(Box::new(pages)),
            pending: Vec::new().into_iter(),
        })
    }

    /// The room's change sequence number the listing is current to: every change up to it is
    /// reflected. With a query, the basis of an `ETag`.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// How many tasks of the room pass the filters (ignoring cursor and cap).
    pub fn matched(&self) -> u64 {
        self.matched
    }

    /// How many tasks the room has.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The next tasks in order, or `None` when the listing is done.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<Arc<Task>>>> {
        if self.pending.len() > 0 {
            return Ok(Some(std::mem::take(&mut self.pending).collect()));
        }
        match &mut self.source {
            Source::Memory(items) => {
                let chunk: Vec<Arc<Task>> = items.by_ref().take(MEMORY_CHUNK).collect();
                Ok((!chunk.is_empty()).then_some(chunk))
            }
            Source::Store(pages) => {
                let chunk = pages.next_page().await?;
                if let Some(last) = chunk.as_ref().and_then(|c| c.last())
                    && pages.remaining == 0
                    && pages.more
                {
                    self.next_cursor = Some(Cursor::after(last, pages.query.sort));
                }
                Ok(chunk)
            }
        }
    }

    /// The next task in order, or `None` when the listing is done: the tasks of
    /// [`next_chunk`](Self::next_chunk) one at a time, for writers that stop at a byte count.
    pub async fn next_task(&mut self) -> Result<Option<Arc<Task>>> {
        loop {
            if let Some(task) = self.pending.next() {
                return Ok(Some(task));
            }
            match self.next_chunk().await? {
                Some(chunk) => self.pending = chunk.into_iter(),
                None => return Ok(None),
            }
        }
    }

    /// Where the next page starts when the cap cut the listing short; known once
    /// [`next_chunk`](Self::next_chunk) has returned `None`.
    pub fn next_cursor(&self) -> Option<&Cursor> {
        self.next_cursor.as_ref()
    }
}

impl StorePages {
    async fn next_page(&mut self) -> Result<Option<Vec<Arc<Task>>>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let items = match self.first.take() {
            Some(first) => first,
            None if self.more => {
                let page = self.store.list_tasks(&self.code, &self.query, self.now).await?;
                self.more = page.next_cursor.is_some();
                self.query.after = page.next_cursor;
                page.items
            }
            None => return Ok(None),
        };
        if items.is_empty() {
            return Ok(None);
        }
        let following = next_page_limit(&items, self.remaining.saturating_sub(items.len()));
        let mut chunk: Vec<Arc<Task>> = items.into_iter().map(Arc::new).collect();
        if chunk.len() >= self.remaining {
            self.more |= chunk.len() > self.remaining;
            chunk.truncate(self.remaining);
        }
        self.remaining -= chunk.len();
        self.query.limit = following;
        Ok(Some(chunk))
    }
}

/// The size of the page after `page`: about [`STORE_PAGE_BYTES`] of tasks as large as its
/// tasks, and no more than `remaining`.
pub(crate) fn next_page_limit(page: &[Task], remaining: usize) -> u32 {
    let average = page.iter().map(task_bytes).sum::<usize>() / page.len().max(1);
    let fitting = u32::try_from(STORE_PAGE_BYTES / average.max(1)).unwrap_or(MAX_PAGE_LIMIT);
    page_limit(fitting, remaining)
}

/// A page size of about `wanted` tasks, within the store's bounds and not beyond what is still
/// to be handed out.
fn page_limit(wanted: u32, remaining: usize) -> u32 {
    let remaining = u32::try_from(remaining).unwrap_or(MAX_PAGE_LIMIT).max(1);
    wanted.clamp(MIN_STORE_PAGE, MAX_PAGE_LIMIT).min(remaining)
}
