//! The chunked pass: a listing whose filters no index answers (text, due ranges, overdue) — or
//! whose filter sets are too large to order in one step — read in bounded steps and filtered
//! here instead of inside Redis.
//!
//! 1. One pipeline reads the room's sequence number (`s0`) and the sizes of the candidate
//!    sources: every task (the number index), the due range (due filters, overdue), each filter
//!    set. The smallest is read. (With no filter set and no due range there is no choice, and
//!    the first chunk of the number index comes in the same pipeline.)
//! 2. Round trips of plain commands, each `HGET`/`HMGET` of only the fields the filters need for
//!    the previous chunk (none for what the source guarantees: a set its filter, the due range
//!    the due filters — so a due range alone is answered by the range) plus the next chunk of
//!    candidates (`ZRANGEBYLEX … LIMIT 0 n` or
//!    `SSCAN … COUNT n`, n ≤ the scan step, smaller when tasks are large). No command looks at
//!    more than one chunk, so other clients run between them. Matching numbers are counted
//!    (once each: `SSCAN` may repeat a member) and the first `limit + 1` after the cursor kept
//!    by their index member ([`Top`]).
//! 3. One `MULTI`/`EXEC` reads the sequence number again (`s1`), `total` and the JSON of the
//!    kept rows. If `s1 = s0` nothing was written meanwhile, so the reads form one snapshot.
//!    Otherwise the change feed after `s0` up to `s1` names every task written meanwhile, with
//!    its state at `s1`: those tasks are judged again from it, every other task's reads still
//!    hold at `s1`, and the page and count are those of the state at `s1`. If the feed no
//!    longer covers `s0`, or the kept rows no longer fill the page as far as the pass can vouch
//!    for, the caller lists again.

use std::collections::HashSet;

use redis::{FromRedisValue, Pipeline, Value};
use taskcore::store::NO_DUE_DATE;
use taskcore::{Error, Result, RoomCode, StatusFilter, Task, TaskQuery};
use time::OffsetDateTime;

use super::Listed;
use super::catch_up::written_between;
use super::filter::{Implied, RowFilter};
use super::order::{Order, number_in, number_member};
use super::top::Top;
use crate::keys::RoomKeys;
use crate::row::{corrupt, encode_instant, encode_int, from_json};
use crate::store::RedisStore;

/// Bytes of field values one chunk aims at: the chunk shrinks for tasks with long texts.
const CHUNK_BYTES: usize = 1 << 20;

/// The first chunk of a text search, before the size of the tasks' texts is known.
const FIRST_TEXT_CHUNK: usize = 128;

/// Where candidates come from.
#[derive(Debug)]
enum Source {
    /// A lex index between two bounds (every task, or a due range).
    Range { key: String, min: String, max: String },
    /// A filter set, by `SSCAN` cursor.
    Set { key: String, cursor: String },
}

impl Source {
    fn fetch(&self, pipe: &mut Pipeline, count: usize) {
        match self {
            Self::Range { key, min, max } => {
                pipe.cmd("ZRANGEBYLEX").arg(key).arg(min).arg(max).arg("LIMIT").arg(0).arg(count);
            }
            Self::Set { key, cursor } => {
                pipe.cmd("SSCAN").arg(key).arg(cursor).arg("COUNT").arg(count);
            }
        }
    }

    /// The numbers of a fetched chunk; advances, and says whether more may follow.
    fn take(&mut self, reply: Value, count: usize) -> Result<(Vec<u64>, bool)> {
        match self {
            Self::Range { min, .. } => {
                let members: Vec<String> = parse(reply)?;
                let more = members.len() >= count;
                if let Some(last) = members.last() {
                    *min = format!("({last}");
                }
                let numbers = members
                    .iter()
                    .map(|m| number_in(m).ok_or_else(|| corrupt("index member does not end in a number")))
                    .collect::<Result<_>>()?;
                Ok((numbers, more))
            }
            Self::Set { cursor, .. } => {
                let (next, members): (String, Vec<String>) = parse(reply)?;
                let numbers = members
                    .iter()
                    .map(|m| m.parse().map_err(|_| corrupt("set member is not a task number")))
                    .collect::<Result<_>>()?;
                let more = next != "0";
                *cursor = next;
                Ok((numbers, more))
            }
        }
    }
}

/// Reads one reply as `T`.
pub(super) fn parse<T: FromRedisValue>(value: Value) -> Result<T> {
    redis::from_redis_value(value).map_err(|e| Error::backend("unexpected reply from redis", e))
}

/// The filter sets of a query (the sets the write scripts keep per status, priority, tag and
/// assignee), each with the filter its members pass.
fn filter_sets(keys: &RoomKeys, query: &TaskQuery) -> Vec<(String, Implied)> {
    let mut sets = Vec::new();
    match query.status {
        StatusFilter::All => {}
        StatusFilter::Pending => sets.push((keys.status_set(false), Implied::Status)),
        StatusFilter::Completed => sets.push((keys.status_set(true), Implied::Status)),
    }
    if let Some(priority) = query.priority {
        sets.push((keys.priority_set(priority.rank()), Implied::Priority));
    }
    if let Some(tag) = &query.tag {
        sets.push((keys.tag_set(tag.as_str()), Implied::Tag));
    }
    if let Some(who) = &query.assignee {
        sets.push((keys.assignee_set(&who.key()), Implied::Assignee));
    }
    sets
}

/// The due-index range that holds exactly the tasks passing the due filters (and overdue), as
/// (key, min, max): members are the encoded due instant, NUL, the padded number, and tasks
/// without a due date sit at `NO_DUE_DATE`, past every bound.
fn due_range(keys: &RoomKeys, query: &TaskQuery, now: OffsetDateTime) -> Option<(String, String, String)> {
    if query.due_after.is_none() && query.due_before.is_none() && !query.overdue {
        return None;
    }
    let mut upper = query.due_before;
    let key = if query.overdue {
        upper = Some(upper.map_or(now, |before| before.min(now)));
        keys.pending_due()
    } else {
        keys.index(taskcore::SortKey::Due)
    };
    let min = query.due_after.map_or_else(|| "-".to_owned(), |after| format!("[{}", encode_instant(after)));
    let max = match upper {
        Some(before) => format!("({}", encode_instant(before)),
        None => format!("({}", encode_int(NO_DUE_DATE)),
    };
    Some((key, min, max))
}

/// The sequence number and total of a room from `HMGET meta seq total`.
fn room_state(value: Value, code: &RoomCode) -> Result<(u64, u64)> {
    match parse::<(Option<u64>, Option<u64>)>(value)? {
        (Some(seq), Some(total)) => Ok((seq, total)),
        _ => Err(Error::room_not_found(code)),
    }
}

/// Lists by a chunked pass: the first `wanted` rows after the cursor and the match count, or
/// only the count when `wanted` is 0. `None`: the room changed too much meanwhile; list again.
pub(super) async fn pass(
    store: &RedisStore,
    code: &RoomCode,
    query: &TaskQuery,
    now: OffsetDateTime,
    wanted: usize,
) -> Result<Option<Listed>> {
    let keys = store.room_keys(code);
    let order = Order::of(query);

    // 1. The starting state and the smallest candidate source.
    let sets = filter_sets(&keys, query);
    let range = due_range(&keys, query, now);
    let step = store.scan_step();
    let mut chunk = if query.text.is_some() { step.min(FIRST_TEXT_CHUNK) } else { step };
    let mut source = Source::Range { key: keys.index(taskcore::SortKey::Number), min: "-".into(), max: "+".into() };
    let only_source = sets.is_empty() && range.is_none();
    let mut pipe = redis::pipe();
    pipe.cmd("HMGET").arg(keys.meta()).arg("seq").arg("total");
    for (set, _) in &sets {
        pipe.scard(set);
    }
    if let Some((key, min, max)) = &range {
        pipe.zlexcount(key, min, max);
    }
    if only_source {
        // Nothing to choose from: the first chunk comes with the starting state.
        source.fetch(&mut pipe, chunk);
    }
    let replies: Vec<Value> = store.query_pipe(pipe).await?;
    let mut replies = replies.into_iter();
    let (seq, total) = room_state(replies.next().unwrap_or(Value::Nil), code)?;
    let mut size = total;
    let mut implied = Implied::Nothing;
    for (set, guarantees) in sets {
        let set_size: u64 = parse(replies.next().unwrap_or(Value::Nil))?;
        if set_size < size {
            (source, size, implied) = (Source::Set { key: set, cursor: "0".into() }, set_size, guarantees);
        }
    }
    if let Some((key, min, max)) = range {
        let range_size: u64 = parse(replies.next().unwrap_or(Value::Nil))?;
        if range_size <= size {
            implied = Implied::DueRange { pending_only: key == keys.pending_due() };
            source = Source::Range { key, min, max };
        }
    }
    let filter = RowFilter::new(query, now).given(implied);
    let mut fields = filter.fields().to_vec();
    let sort_field = if wanted > 0 { order.field() } else { None };
    fields.extend(sort_field);
    let mut pending: Vec<u64> = Vec::new();
    let mut more = true;
    if only_source {
        (pending, more) = source.take(replies.next().unwrap_or(Value::Nil), chunk)?;
    }

    // 2. Chunks of candidates, each judged on its stored fields in the next round trip.
    let mut matched = HashSet::new();
    let mut top = Top::new(wanted);
    let mut source = more.then_some(source);
    while !pending.is_empty() || source.is_some() {
        let mut pipe = redis::pipe();
        let reads = if fields.is_empty() { 0 } else { pending.len() };
        for number in &pending[..reads] {
            if let [field] = fields[..] {
                pipe.hget(keys.task(*number), field);
            } else {
                pipe.cmd("HMGET").arg(keys.task(*number)).arg(&fields);
            }
        }
        let asked = source.as_ref().map(|source| {
            source.fetch(&mut pipe, chunk);
            chunk
        });
        let mut replies: Vec<Value> =
            if reads == 0 && asked.is_none() { Vec::new() } else { store.query_pipe(pipe).await? };
        let fetched = asked.and_then(|asked| replies.pop().map(|reply| (reply, asked)));
        let mut bytes = 0;
        let judged = pending.len();
        let mut replies = replies.into_iter();
        for number in pending.drain(..) {
            // With nothing to read, the source vouches for the candidate (it was in the set or
            // range when that chunk was read).
            let values: Vec<Option<String>> = match fields[..] {
                [] => Vec::new(),
                [_] => vec![parse(replies.next().unwrap_or(Value::Nil))?],
                _ => parse(replies.next().unwrap_or(Value::Nil))?,
            };
            bytes += values.iter().flatten().map(String::len).sum::<usize>();
            let vanished = !values.is_empty() && values.iter().all(Option::is_none);
            if vanished || !filter.admits(&values) {
                continue; // deleted since its number was read, or no match
            }
            if !matched.insert(number) || wanted == 0 {
                continue;
            }
            let member = match sort_field {
                Some(_) => values.last().cloned().flatten().unwrap_or_default(),
                None => number_member(number),
            };
            if order.after_cursor(&member) {
                top.offer(&order, member, number);
            }
        }
        if let Some(per_task) = bytes.checked_div(judged) {
            let per_task = per_task.max(1);
            chunk = (CHUNK_BYTES / per_task).clamp(1, step);
        }
        if let (Some((reply, asked)), Some(current)) = (fetched, source.as_mut()) {
            let (numbers, more) = current.take(reply, asked)?;
            pending = numbers;
            if !more {
                source = None;
            }
        }
    }

    // 3. The rows and the state they were read at; caught up with writes made meanwhile.
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("HMGET").arg(keys.meta()).arg("seq").arg("total");
    for (_, number) in top.kept() {
        pipe.hget(keys.task(*number), "j");
    }
    let replies: Vec<Value> = store.query_pipe(pipe).await?;
    let mut replies = replies.into_iter();
    let (seq_now, total) = room_state(replies.next().unwrap_or(Value::Nil), code)?;
    let mut rows = Vec::with_capacity(top.kept().len());
    for ((member, number), reply) in top.kept().iter().zip(replies) {
        rows.push((member.clone(), *number, parse::<Option<String>>(reply)?));
    }
    if seq_now == seq {
        let rows = rows
            .into_iter()
            .map(|(_, _, json)| json.ok_or_else(|| corrupt("a listed task vanished while its room did not change")))
            .map(|json| json.and_then(|json| from_json(&json)))
            .collect::<Result<_>>()?;
        return Ok(Some(Listed { rows, matched: Some(count(&matched)), total }));
    }
    let Some(written) = written_between(store, &keys, seq, seq_now).await? else {
        return Ok(None);
    };
    matched.retain(|number| !written.contains_key(number));
    let now_matching: Vec<&Task> = written.values().flatten().filter(|task| query.matches(task, now)).collect();
    let matched = count(&matched) + count_of(now_matching.len());
    let mut page: Vec<(String, Task)> = Vec::with_capacity(rows.len());
    for (member, number, json) in rows {
        if written.contains_key(&number) {
            continue;
        }
        let Some(json) = json else { return Ok(None) };
        page.push((member, from_json(&json)?));
    }
    for task in now_matching {
        let member = order.member_of(task);
        if order.after_cursor(&member) {
            page.push((member, task.clone()));
        }
    }
    if let Some(horizon) = top.horizon() {
        // Beyond the last kept member, rows the pass turned away may come first now.
        page.retain(|(member, _)| order.compare(member, horizon).is_le());
        if page.len() < wanted {
            return Ok(None);
        }
    }
    page.sort_by(|(a, _), (b, _)| order.compare(a, b));
    page.truncate(wanted);
    Ok(Some(Listed { rows: page.into_iter().map(|(_, task)| task).collect(), matched: Some(matched), total }))
}

fn count(numbers: &HashSet<u64>) -> u64 {
    count_of(numbers.len())
}

fn count_of(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
