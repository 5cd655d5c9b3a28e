//! Reading a [`TaskQuery`] from URL query parameters (`?status=pending&sort=-due&limit=20`), so
//! every front end parses listings the same way and reports bad parameters by name.

use crate::due_date::parse_due_date;
use crate::error::{Error, Result};
use crate::priority::Priority;
use crate::query::{Cursor, SearchText, SortDir, SortKey, StatusFilter, TaskQuery};
use crate::room::MemberName;
use crate::tag::Tag;

/// The parameter names [`TaskQuery::from_params`] understands; any other key it refuses unless
/// the caller passes it in `ignore`. Front ends that describe the listing parameters (such as an
/// OpenAPI document) compare their description with this list, plus their own keys.
pub const QUERY_PARAMS: &[&str] = &[
    "status",
    "priority",
    "tag",
    "assignee",
    "q",
    "due_before",
    "due_after",
    "overdue",
    "sort",
    "order",
    "cursor",
    "limit",
];

impl TaskQuery {
    /// Parses query parameters. Keys in `ignore` (such as `room`) are skipped; any other unknown
    /// key, a repeated key, or a bad value is [`Error::Invalid`] naming the parameter.
    ///
    /// | key | value |
    /// |---|---|
    /// | `status` | `all`, `pending`, `completed` |
    /// | `priority` | `low`, `medium`, `high` |
    /// | `tag`, `assignee` | a tag, a member name |
    /// | `q` | text to find in title or description (case-insensitive) |
    /// | `due_before`, `due_after` | a date in any accepted due-date form |
    /// | `overdue` | `true`/`false` (also `1`/`0`, `yes`/`no`), any case |
    /// | `sort` | `number`/`id`, `created`/`created_at`, `due`/`due_date`, `priority`, `title`; `-key` descends |
    /// | `order` | `asc`, `desc` |
    /// | `cursor` | `next_cursor` of the previous page |
    /// | `limit` | 1 to 500 (default 50) |
    ///
    /// ```
    /// use taskcore::{SortDir, SortKey, StatusFilter, TaskQuery};
    /// let query = TaskQuery::from_params([("room", "ABC234"), ("status", "Pending"), ("sort", "-due")], &["room"])?;
    /// assert_eq!(query.status, StatusFilter::Pending);
    /// assert_eq!((query.sort.key, query.sort.dir), (SortKey::Due, SortDir::Desc));
    /// # Ok::<(), taskcore::Error>(())
    /// ```
    pub fn from_params<I, K, V>(params: I, ignore: &[&str]) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut query = Self::default();
        let mut seen: Vec<&'static str> = Vec::new();
        let mut order: Option<SortDir> = None;
        let mut cursor: Option<Cursor> = None;
        for (key, value) in params {
            let (key, value) = (key.as_ref(), value.as_ref());
            if ignore.contains(&key) {
                continue;
            }
            let Some(name) = QUERY_PARAMS.iter().copied().find(|known| *known == key) else {
                return Err(Error::invalid(
                    "query",
                    format!(
                        "unknown parameter '{}'; known: {}",
                        key.chars().take(40).collect::<String>(),
                        QUERY_PARAMS.join(", ")
                    ),
                ));
            };
            if seen.contains(&name) {
                return Err(Error::invalid(name, "given more than once"));
            }
            seen.push(name);
            match name {
                "status" => query.status = StatusFilter::parse(value)?,
                "priority" => query.priority = Some(Priority::parse(value)?),
                "tag" => query.tag = Some(Tag::parse(value)?),
                "assignee" => query.assignee = Some(MemberName::parse_field(value, "assignee")?),
                "q" => query.text = Some(SearchText::parse(value)?),
                "due_before" => query.due_before = Some(parse_due_date(value, "due_before")?),
                "due_after" => query.due_after = Some(parse_due_date(value, "due_after")?),
                "overdue" => query.overdue = parse_bool(value, "overdue")?,
                "sort" => {
                    let (desc, key) = value.trim().strip_prefix('-').map_or((false, value), |rest| (true, rest));
                    query.sort.key = SortKey::parse(key)?;
                    if desc {
                        query.sort.dir = SortDir::Desc;
                    }
                }
                "order" => order = Some(SortDir::parse(value)?),
                "cursor" => cursor = Some(Cursor::decode(value)?),
                "limit" => query.limit = parse_limit(value)?,
                _ => unreachable!("every name in QUERY_PARAMS has an arm"),
            }
        }
        if let Some(dir) = order {
            query.sort.dir = dir;
        }
        query.after = cursor;
        query.check()?;
        Ok(query)
    }
}

fn parse_bool(value: &str, field: &'static str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Error::invalid(field, "must be true or false")),
    }
}

fn parse_limit(value: &str) -> Result<u32> {
    value.trim().parse::<u32>().map_err(|_| Error::invalid("limit", "must be a whole number between 1 and 500"))
}
