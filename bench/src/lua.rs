//! The wrk Lua scripts of the workloads that are not a plain GET, written to a temporary
//! directory. Each takes the room code, so the same script drives taskcore, the original and the
//! axum reference (all three number a room's tasks 1, 2, 3…).

use std::path::PathBuf;

use crate::BenchError;

/// The body every `POST /tasks` sends.
pub const CREATE_BODY: &str =
    r#"{"title":"Benchmark task","description":"made by wrk","priority":"high","due_date":"2030-01-01"}"#;

/// Every how many requests the mixed workload writes: 10 → 90 % reads, 10 % writes.
pub const MIXED_WRITE_EVERY: u32 = 10;

/// A directory of generated scripts, removed when dropped.
#[derive(Debug)]
pub struct Scripts {
    dir: tempfile::TempDir,
}

impl Scripts {
    /// A new, empty directory.
    pub fn new() -> Result<Self, BenchError> {
        Ok(Self { dir: tempfile::tempdir()? })
    }

    /// `POST` [`CREATE_BODY`] to the URL given to wrk.
    pub fn create(&self) -> Result<PathBuf, BenchError> {
        let text = format!(
            "wrk.method = \"POST\"\nwrk.body = '{CREATE_BODY}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
        );
        self.write("create.lua", &text)
    }

    /// `PUT /tasks/{1..tasks}?room={room}`, a new title each time: every request is a write.
    pub fn update(&self, room: &str, tasks: u32) -> Result<PathBuf, BenchError> {
        let text = format!(
            "counter = 0\nrequest = function()\n  counter = counter + 1\n  return {}\nend\n",
            put_call(room, tasks)
        );
        self.write(&format!("update-{room}.lua"), &text)
    }

    /// Every [`MIXED_WRITE_EVERY`]th request of each wrk thread is `PUT /tasks/{1..tasks}` with
    /// a new title; the others read the whole room with `GET /tasks?room={room}`.
    pub fn mixed(&self, room: &str, tasks: u32) -> Result<PathBuf, BenchError> {
        let text = format!(
            "counter = 0\nrequest = function()\n  counter = counter + 1\n  if counter % {MIXED_WRITE_EVERY} == 0 then\n    return {}\n  end\n  return wrk.format(\"GET\", \"/tasks?room={room}\")\nend\n",
            put_call(room, tasks)
        );
        self.write(&format!("mixed-{room}.lua"), &text)
    }

    fn write(&self, name: &str, text: &str) -> Result<PathBuf, BenchError> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    }
}

/// The Lua expression of one rename: the body is `{"title": "renamed <counter>"}`, which the
/// original's `PUT /tasks/<id>?room=` and taskcore's accept alike.
fn put_call(room: &str, tasks: u32) -> String {
    format!(
        "wrk.format(\"PUT\", \"/tasks/\" .. math.random(1, {tasks}) .. \"?room={room}\", {{[\"Content-Type\"] = \"application/json\"}}, '{{\"title\":\"renamed ' .. counter .. '\"}}')"
    )
}
