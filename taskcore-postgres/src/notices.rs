//! Write notices across processes ([`TaskStore::write_notices`](taskcore::TaskStore::write_notices)):
//! after every write the store sends the room's code with `pg_notify` on its schema's channel
//! (`taskcore_writes:<schema>`), and each store that was asked for notices keeps one `LISTEN`
//! connection (a pool of its own, so it takes no connection from the store's pool) that hands
//! the codes to its local receivers. Live streams on every replica then learn of a write at once
//! instead of at their next poll.
//!
//! Notices are sent after the write committed, by one background task per store that sends
//! whatever queued since its last send in one statement: under load, many writes cost one
//! `pg_notify` round trip, and a write's answer never waits for it. They are wake-ups, not
//! records: a notice that cannot be sent is dropped, and a listener that loses its connection
//! reconnects, missing what was sent meanwhile — receivers keep polling as a fallback.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use taskcore::RoomCode;
use tokio::sync::{broadcast, mpsc};

/// How many notices may queue for a slow local receiver before it skips ahead.
const CAPACITY: usize = 1024;

/// How many codes may wait to be sent before new ones are dropped.
const OUTBOX: usize = 4096;

/// How long a lost listener waits before it connects again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The notices of one store.
#[derive(Debug)]
pub(crate) struct Notices {
    channel: String,
    sender: Arc<broadcast::Sender<RoomCode>>,
    outbox: OnceLock<mpsc::Sender<String>>,
    listening: OnceLock<()>,
}

impl Notices {
    /// Notices on the channel of `schema`.
    pub(crate) fn new(schema: &str) -> Self {
        Self {
            channel: format!("taskcore_writes:{schema}"),
            sender: Arc::new(broadcast::channel(CAPACITY).0),
            outbox: OnceLock::new(),
            listening: OnceLock::new(),
        }
    }

    /// Tells every process that `code` was written to (in the background; see the module docs).
    pub(crate) fn publish(&self, pool: &PgPool, code: &RoomCode) {
        let outbox = self.outbox.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(OUTBOX);
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(send_queued(pool.clone(), self.channel.clone(), receiver));
            }
            sender
        });
        let _ = outbox.try_send(code.as_str().to_owned()); // full or closed: receivers poll
    }

    /// A receiver of the codes written to through any process, starting this store's listener
    /// (connecting as `options` say) on the first call.
    pub(crate) fn receiver(&self, options: &PgConnectOptions) -> broadcast::Receiver<RoomCode> {
        self.listening.get_or_init(|| {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(listen(options.clone(), self.channel.clone(), Arc::downgrade(&self.sender)));
            }
        });
        self.sender.subscribe()
    }
}

/// Sends the queued codes, all that queued since the last send in one statement, until the
/// store is gone (its sender dropped).
async fn send_queued(pool: PgPool, channel: String, mut queued: mpsc::Receiver<String>) {
    let mut codes = Vec::new();
    while queued.recv_many(&mut codes, OUTBOX).await > 0 {
        codes.sort_unstable();
        codes.dedup();
        // A failure (the server is down) drops these notices: receivers poll as a fallback.
        let _ = sqlx::query("SELECT pg_notify($1, code) FROM unnest($2::text[]) AS code")
            .bind(&channel)
            .bind(&codes)
            .execute(&pool)
            .await;
        codes.clear();
    }
}

/// Listens on `channel` and forwards each code, reconnecting when the connection is lost,
/// until the store (the owner of `sender`) is gone.
async fn listen(options: PgConnectOptions, channel: String, sender: Weak<broadcast::Sender<RoomCode>>) {
    let pool = PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
    loop {
        if sender.strong_count() == 0 {
            return;
        }
        if let Ok(mut listener) = PgListener::connect_with(&pool).await
            && listener.listen(&channel).await.is_ok()
        {
            loop {
                // Not raced against a timer: a receive cut short could lose a notice. A
                // listener of a store that is gone ends at its next notice.
                match listener.try_recv().await {
                    Ok(Some(notice)) => {
                        let Some(sender) = sender.upgrade() else { return };
                        if let Ok(code) = RoomCode::parse(notice.payload()) {
                            let _ = sender.send(code); // no local receiver right now is fine
                        }
                    }
                    Ok(None) => {} // reconnected: notices sent meanwhile are lost
                    Err(_) => break,
                }
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}
