//! [`StreamCaps`]: how many `/rooms/{code}/events` streams may be open at once per room and per
//! client. A [`StreamPermit`] holds one slot of each until it is dropped (with the response
//! body of the stream).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Which cap a stream would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamRefusal {
    /// The room has `per_room` streams open.
    Room,
    /// The client has `per_client` streams open.
    Client,
}

/// Open-stream counts per room and per client. Entries exist only while a stream is open, so
/// memory is bounded by the number of open streams (itself bounded by the connection cap).
#[derive(Debug)]
pub(crate) struct StreamCaps {
    per_room: usize,
    per_client: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    rooms: HashMap<String, usize>,
    clients: HashMap<IpAddr, usize>,
}

impl StreamCaps {
    /// Caps of `per_room` and `per_client` streams; 0 means no cap.
    pub(crate) fn new(per_room: usize, per_client: usize) -> Arc<Self> {
        let cap = |n: usize| if n == 0 { usize::MAX } else { n };
        Arc::new(Self { per_room: cap(per_room), per_client: cap(per_client), open: Mutex::default() })
    }

    /// A slot for one more stream of `room` (normalised code) by `client`, or which cap is full.
    pub(crate) fn acquire(self: &Arc<Self>, room: String, client: IpAddr) -> Result<StreamPermit, StreamRefusal> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.clients.get(&client).copied().unwrap_or(0) >= self.per_client {
            return Err(StreamRefusal::Client);
        }
        if open.rooms.get(&room).copied().unwrap_or(0) >= self.per_room {
            return Err(StreamRefusal::Room);
        }
        *open.clients.entry(client).or_default() += 1;
        *open.rooms.entry(room.clone()).or_default() += 1;
        Ok(StreamPermit { caps: Arc::clone(self), room, client })
    }

    /// The caps, as configured (for messages).
    pub(crate) fn limits(&self) -> (usize, usize) {
        (self.per_room, self.per_client)
    }
}

/// One open stream; frees its slots when dropped.
#[derive(Debug)]
pub(crate) struct StreamPermit {
    caps: Arc<StreamCaps>,
    room: String,
    client: IpAddr,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.caps.open.lock().unwrap_or_else(PoisonError::into_inner);
        release(&mut open.rooms, &self.room);
        release(&mut open.clients, &self.client);
    }
}

fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn slots_are_capped_per_room_and_per_client_and_freed_on_drop() {
        let caps = StreamCaps::new(2, 3);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let first = caps.acquire("ROOM1".into(), a).unwrap();
        let _second = caps.acquire("ROOM1".into(), b).unwrap();
        assert_eq!(caps.acquire("ROOM1".into(), a).unwrap_err(), StreamRefusal::Room);
        let _third = caps.acquire("ROOM2".into(), a).unwrap();
        let _fourth = caps.acquire("ROOM3".into(), a).unwrap();
        assert_eq!(caps.acquire("ROOM4".into(), a).unwrap_err(), StreamRefusal::Client);
        drop(first);
        assert!(caps.acquire("ROOM1".into(), a).is_ok(), "a closed stream frees both slots");
        let open = caps.open.lock().unwrap();
        assert_eq!(open.rooms.len(), 3, "rooms without streams are forgotten");
    }
}
