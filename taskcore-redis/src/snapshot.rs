//! Reads that must see one moment of a room (a room with its members, a task with its room's
//! existence, counters, the change feed's bounds) run through the `read_snapshot.lua` script
//! instead of `MULTI`/`EXEC`: a Redis at `maxmemory` with `noeviction` refuses every command
//! queued in a transaction — reads too — but still runs a script that does not write. So a
//! full Redis keeps answering reads while writes fail with `StorageFull`.

use redis::{Arg, FromRedisValue, Pipeline};

use crate::store::RedisStore;

impl RedisStore {
    /// The replies of `pipe`'s commands, read atomically; `routing_key` is a key of the room
    /// (for the script's `KEYS[1]`).
    pub(crate) async fn snapshot<T: FromRedisValue>(
        &self,
        routing_key: String,
        pipe: &Pipeline,
    ) -> taskcore::Result<T> {
        let mut invocation = self.scripts().read_snapshot.key(routing_key);
        for cmd in pipe.cmd_iter() {
            let args: Vec<&[u8]> = cmd
                .args_iter()
                .filter_map(|arg| if let Arg::Simple(bytes) = arg { Some(bytes) } else { None })
                .collect();
            invocation.arg(args.len());
            for arg in args {
                invocation.arg(arg);
            }
        }
        let mut conn = self.conn();
        self.run(async move { invocation.invoke_async::<T>(&mut conn).await }).await
    }
}
