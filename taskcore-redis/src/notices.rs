//! Write notices across processes ([`TaskStore::write_notices`](taskcore::TaskStore::write_notices)):
//! after every write the store publishes the room's code on its prefix's channel
//! (`<prefix>:writes`, Redis pub/sub; on a Redis Cluster the shard channel `{<prefix>}:writes`
//! with `SPUBLISH`, so a notice goes to the one shard that owns the channel's slot and its
//! replicas instead of every node of the cluster), and each store that was asked for notices
//! keeps one subscriber connection that hands the codes to its local receivers. Live streams on
//! every replica then learn of a write at once instead of at their next poll.
//!
//! Notices are wake-ups, not records: a publish that fails is dropped, and a subscriber that
//! loses its connection reconnects after a second, missing what was published meanwhile —
//! receivers keep polling the change feed as a fallback.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::{PushInfo, PushKind, Value};
use taskcore::RoomCode;
use tokio::sync::broadcast;

use crate::config::RedisConfig;
use crate::connection::{Connection, Endpoint};

/// How many notices may queue for a slow local receiver before it skips ahead.
const CAPACITY: usize = 1024;

/// How long a lost subscriber connection waits before it connects again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// How often an idle subscriber checks whether its store still exists.
const ALIVE_CHECK: Duration = Duration::from_secs(30);

/// The notices of one store: where writes are published and local receivers subscribe.
pub(crate) struct Notices {
    channel: String,
    /// `SPUBLISH` on a shard channel (Redis Cluster) rather than `PUBLISH`.
    sharded: bool,
    sender: Arc<broadcast::Sender<RoomCode>>,
    listening: OnceLock<()>,
}

impl Notices {
    /// Notices on `<prefix>:writes`, or on the shard channel `{<prefix>}:writes` when
    /// `sharded` (a Redis Cluster).
    pub(crate) fn new(prefix: &str, sharded: bool) -> Self {
        Self {
            channel: if sharded { format!("{{{prefix}}}:writes") } else { format!("{prefix}:writes") },
            sharded,
            sender: Arc::new(broadcast::channel(CAPACITY).0),
            listening: OnceLock::new(),
        }
    }

    /// Tells every process that `code` was written to. Sent in the background: a write's
    /// answer does not wait for it, and a failure only means receivers learn of it by polling.
    pub(crate) fn publish(&self, conn: &Connection, code: &RoomCode) {
        let (mut conn, channel, code) = (conn.clone(), self.channel.clone(), code.as_str().to_owned());
        let command = if self.sharded { "SPUBLISH" } else { "PUBLISH" };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                // A failed publish is expected while Redis is down (the write itself then failed
                // too, or it succeeded just before): receivers poll as a fallback.
                let _: redis::RedisResult<()> = redis::cmd(command).arg(channel).arg(code).query_async(&mut conn).await;
            });
        }
    }

    /// A receiver of the codes written to through any process, starting this store's
    /// subscriber (from `endpoint`) on the first call.
    pub(crate) fn receiver(&self, endpoint: &Endpoint, config: &RedisConfig) -> broadcast::Receiver<RoomCode> {
        self.listening.get_or_init(|| {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let (channel, sender) = (self.channel.clone(), Arc::downgrade(&self.sender));
                match endpoint {
                    Endpoint::Node(client) => runtime.spawn(listen(client.clone(), channel, sender)),
                    Endpoint::Cluster(nodes) => {
                        runtime.spawn(listen_sharded(nodes.clone(), config.clone(), channel, sender))
                    }
                };
            }
        });
        self.sender.subscribe()
    }
}

/// Subscribes to the shard `channel` of a Redis Cluster and forwards each code, until the store
/// (the owner of `sender`) is gone. The cluster client renews the subscription by itself after a
/// reconnection or a failover of the channel's shard; a subscription that cannot be made at all
/// is tried again after a second.
async fn listen_sharded(
    nodes: Vec<String>,
    config: RedisConfig,
    channel: String,
    sender: Weak<broadcast::Sender<RoomCode>>,
) {
    loop {
        if sender.strong_count() == 0 {
            return;
        }
        let forward = {
            let sender = sender.clone();
            move |push: PushInfo| -> Result<(), StoreGone> {
                let sender = sender.upgrade().ok_or(StoreGone)?;
                if let Some(code) = pushed_code(&push) {
                    let _ = sender.send(code); // no local receiver right now is fine
                }
                Ok(())
            }
        };
        if let Ok(client) = Endpoint::notice_client(&nodes, &config, forward)
            && let Ok(mut conn) = client.get_async_connection().await
            && conn.ssubscribe(&channel).await.is_ok()
        {
            // Held (the connection delivers to `forward`) until the store is dropped.
            loop {
                tokio::time::sleep(ALIVE_CHECK).await;
                if sender.strong_count() == 0 {
                    return;
                }
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

/// The room code of a shard-channel message (`smessage`, channel, code); `None` for any other
/// push (subscription confirmations, disconnections).
fn pushed_code(push: &PushInfo) -> Option<RoomCode> {
    if push.kind != PushKind::SMessage {
        return None;
    }
    let text = match push.data.last()? {
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?,
        Value::SimpleString(text) => text.as_str(),
        _ => return None,
    };
    RoomCode::parse(text).ok()
}

/// The store that asked for notices was dropped: the subscriber's connection may go.
#[derive(Debug)]
struct StoreGone;

/// Subscribes to `channel` and forwards each code, reconnecting when the connection is lost,
/// until the store (the owner of `sender`) is gone.
async fn listen(client: redis::Client, channel: String, sender: Weak<broadcast::Sender<RoomCode>>) {
    loop {
        if sender.strong_count() == 0 {
            return;
        }
        if let Ok(mut pubsub) = client.get_async_pubsub().await
            && pubsub.subscribe(&channel).await.is_ok()
        {
            let mut messages = pubsub.on_message();
            loop {
                let message = tokio::select! {
                    message = messages.next() => message,
                    () = tokio::time::sleep(ALIVE_CHECK) => {
                        if sender.strong_count() == 0 { return; }
                        continue;
                    }
                };
                let Some(message) = message else { break };
                let Some(sender) = sender.upgrade() else { return };
                if let Ok(text) = message.get_payload::<String>()
                    && let Ok(code) = RoomCode::parse(&text)
                {
                    let _ = sender.send(code); // no local receiver right now is fine
                }
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}
