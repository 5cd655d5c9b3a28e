//! The walk: a listing whose filters are all sets (status, priority, tag, assignee) or none,
//! answered by the `list_step` script in steps of at most the scan step of index entries.
//!
//! The first step usually answers alone (one round trip, one atomic script: a consistent
//! snapshot). When it stops early it returns the last index member it looked at, and the next
//! step continues strictly after it. Each step is atomic; between steps the room may change, so
//! when a step reports a newer sequence number than the rows gathered so far were read at, the
//! change feed in between names the tasks written meanwhile: they are dropped from the gathered
//! rows and judged again from their state in the feed (if their index member lies in the part
//! of the index already walked), which brings the gathered rows to the newer state before the
//! new step's rows are added. The page is therefore the state at the last step.

use std::cmp::Ordering;

use taskcore::{Error, Result, RoomCode, StatusFilter, Task, TaskQuery};
use time::OffsetDateTime;

use super::Listed;
use super::catch_up::written_between;
use super::order::Order;
use crate::keys::index_name;
use crate::row::{corrupt, from_json};
use crate::script::Reply;
use crate::store::RedisStore;

/// What a walk found.
#[derive(Debug)]
pub(super) enum Walked {
    /// The page; its count when a step could tell it.
    Listed(Listed),
    /// The filter sets are better read in a chunked pass (see `pass.rs`).
    NeedsPass,
}

/// One step's answer.
struct Step {
    seq: u64,
    total: u64,
    matched: Option<u64>,
    smallest: Option<u64>,
    last: Option<String>,
    exhausted: bool,
    rows: Vec<(String, Task)>,
}

fn number(text: &str, what: &str) -> Result<u64> {
    text.parse().map_err(|_| corrupt(format!("listing step returned a {what} that is not a number: {text:?}")))
}

fn optional(text: &str, what: &str) -> Result<Option<u64>> {
    if text.is_empty() { Ok(None) } else { number(text, what).map(Some) }
}

impl Step {
    fn read(reply: &Reply, order: &Order) -> Result<Self> {
        let rows = reply
            .rest(7)
            .iter()
            .map(|json| from_json(json).map(|task| (order.member_of(&task), task)))
            .collect::<Result<_>>()?;
        Ok(Self {
            seq: number(reply.get(1), "sequence number")?,
            total: number(reply.get(2), "total")?,
            matched: optional(reply.get(3), "match count")?,
            smallest: optional(reply.get(4), "set size")?,
            last: Some(reply.get(5)).filter(|last| !last.is_empty()).map(str::to_owned),
            exhausted: reply.get(6) == "1",
            rows,
        })
    }
}

/// Lists by walking; `None`: the room changed too much between steps; list again.
pub(super) async fn walk(
    store: &RedisStore,
    code: &RoomCode,
    query: &TaskQuery,
    now: OffsetDateTime,
    wanted: usize,
) -> Result<Option<Walked>> {
    let keys = store.room_keys(code);
    let order = Order::of(query);
    let budget = store.scan_step();
    let status = match query.status {
        StatusFilter::All => "",
        StatusFilter::Pending => "open",
        StatusFilter::Completed => "done",
    };
    let args = |start: &str, wanted: usize, mode: &str| {
        vec![
            index_name(order.key()).to_owned(),
            if order.desc() { "desc" } else { "asc" }.to_owned(),
            start.to_owned(),
            wanted.to_string(),
            status.to_owned(),
            query.priority.map(|p| p.rank().to_string()).unwrap_or_default(),
            query.tag.as_ref().map(|t| t.as_str().to_owned()).unwrap_or_default(),
            query.assignee.as_ref().map(taskcore::MemberName::key).unwrap_or_default(),
            budget.to_string(),
            mode.to_owned(),
        ]
    };

    let script = store.list_step_script();
    let reply = store.eval(script, &keys, &args(order.cursor().unwrap_or_default(), wanted, "first")).await?;
    match reply.status() {
        "ok" => {}
        "pass" => return Ok(Some(Walked::NeedsPass)),
        "noroom" => return Err(Error::room_not_found(code)),
        other => return Err(corrupt(format!("unexpected listing step reply {other:?}"))),
    }
    let first = Step::read(&reply, &order)?;
    let (mut seq, mut total, mut matched) = (first.seq, first.total, first.matched);
    let (smallest, mut last, mut exhausted) = (first.smallest, first.last, first.exhausted);
    let mut rows = first.rows;
    let mut looked = budget;

    while rows.len() < wanted && !exhausted {
        let Some(start) = last.clone() else { break };
        if smallest.is_some_and(|size| u64::try_from(looked).unwrap_or(u64::MAX) > size) {
            // Walked further than the smallest filter set is long: reading that set is cheaper.
            return Ok(Some(Walked::NeedsPass));
        }
        let reply = store.eval(script, &keys, &args(&start, wanted - rows.len(), "more")).await?;
        match reply.status() {
            "ok" => {}
            "noroom" => return Err(Error::room_not_found(code)),
            other => return Err(corrupt(format!("unexpected listing step reply {other:?}"))),
        }
        let step = Step::read(&reply, &order)?;
        if step.seq != seq {
            let Some(written) = written_between(store, &keys, seq, step.seq).await? else { return Ok(None) };
            rows.retain(|(_, task)| !written.contains_key(&task.number));
            for task in written.values().flatten() {
                let member = order.member_of(task);
                let walked = order.compare(&member, &start) != Ordering::Greater;
                if walked && order.after_cursor(&member) && query.matches(task, now) {
                    rows.push((member, task.clone()));
                }
            }
            rows.sort_by(|(a, _), (b, _)| order.compare(a, b));
        }
        rows.extend(step.rows);
        (seq, total, matched) = (step.seq, step.total, step.matched);
        last = step.last.or(last);
        exhausted = step.exhausted;
        looked += budget;
    }
    rows.truncate(wanted);
    Ok(Some(Walked::Listed(Listed { rows: rows.into_iter().map(|(_, task)| task).collect(), matched, total })))
}
