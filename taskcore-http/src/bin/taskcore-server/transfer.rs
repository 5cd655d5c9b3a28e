//! The `export` and `import` commands: a dump of the store's rooms to a file or standard output,
//! and a dump loaded into the store, with a progress line on standard error (when it is a
//! terminal) and a summary at the end. The format and its rules are `taskcore::dump`'s.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use taskcore::dump::{DumpError, DumpReader, Progress};
use taskcore::{Clock, OnConflict, RoomCode, SystemClock, TaskStore};
use time::OffsetDateTime;

use crate::fail;

/// What `import` does with a room whose code the store already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum ConflictArg {
    /// Stop with an error; the rooms before it stay imported.
    #[default]
    Fail,
    /// Keep the stored room and go on.
    Skip,
    /// Replace the stored room, whole, with the dump's.
    Replace,
}

impl From<ConflictArg> for OnConflict {
    fn from(arg: ConflictArg) -> Self {
        match arg {
            ConflictArg::Fail => Self::Fail,
            ConflictArg::Skip => Self::Skip,
            ConflictArg::Replace => Self::Replace,
        }
    }
}

/// A progress line on standard error, drawn only when it is a terminal.
fn progress_line(verb: &'static str) -> (ProgressBar, impl FnMut(&Progress) + Send) {
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    let shown = bar.clone();
    (bar, move |done: &Progress| shown.set_message(format!("{verb} {} rooms, {} tasks", done.rooms, done.tasks)))
}

fn rate(tasks: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-6);
    format!("{:.2} s, {:.0} tasks/s", seconds, tasks as f64 / seconds)
}

/// `taskcore-server export`: every room (or those named) to `output` or standard output.
#[allow(clippy::print_stderr)] // the summary is for the operator at the terminal, not a log line
pub(crate) async fn export(store: &dyn TaskStore, rooms: &[String], output: Option<&Path>) -> ExitCode {
    let codes = match rooms.iter().map(|code| RoomCode::parse(code)).collect::<Result<Vec<_>, _>>() {
        Ok(codes) => codes,
        Err(error) => return fail("invalid --room", &error),
    };
    let named = (!codes.is_empty()).then_some(codes.as_slice());
    let (bar, mut progress) = progress_line("exported");
    let started = Instant::now();
    let now = SystemClock.now();
    let output = output.map(|path| dump_path(path, store.backend(), now));
    let result = match output.as_deref() {
        Some(path) => match Staged::create(path) {
            Ok(file) => match taskcore::dump::export(store, named, file, now, &mut progress).await {
                Ok((file, summary)) => file.commit().map(|()| summary).map_err(DumpError::Io),
                Err(error) => Err(error),
            },
            Err(error) => Err(DumpError::Io(error)),
        },
        None => taskcore::dump::export(store, named, std::io::stdout(), now, &mut progress)
            .await
            .and_then(|(mut out, summary)| out.flush().map(|()| summary).map_err(DumpError::Io)),
    };
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            let to = output.map_or_else(|| "standard output".to_owned(), |path| path.display().to_string());
            eprintln!(
                "exported {} rooms, {} tasks, {} idempotency keys from {} to {to} ({})",
                summary.rooms,
                summary.tasks,
                summary.keys,
                store.backend(),
                rate(summary.tasks, started.elapsed())
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail("export failed", &error),
    }
}

/// `taskcore-server import`: the dump in `input` or standard input, into the store.
#[allow(clippy::print_stderr)] // the summary is for the operator at the terminal, not a log line
pub(crate) async fn import(store: &dyn TaskStore, input: Option<&Path>, on_conflict: OnConflict) -> ExitCode {
    let source: Box<dyn BufRead + Send> = match input {
        Some(path) => match File::open(path) {
            Ok(file) => Box::new(BufReader::with_capacity(256 * 1024, file)),
            Err(error) => return fail(&format!("cannot open {}", path.display()), &error),
        },
        None => Box::new(BufReader::with_capacity(256 * 1024, std::io::stdin())),
    };
    let mut reader = match DumpReader::new(source) {
        Ok(reader) => reader,
        Err(error) => return fail("not a readable dump", &error),
    };
    let (bar, mut progress_shown) = progress_line("imported");
    let mut last = Progress::default();
    let mut progress = |done: &Progress| {
        last = done.clone();
        progress_shown(done);
    };
    let started = Instant::now();
    let result = taskcore::dump::import(store, &mut reader, on_conflict, &mut progress).await;
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            eprintln!(
                "imported {} rooms into {} ({} created, {} replaced, {} skipped), {} tasks ({})",
                summary.created + summary.replaced + summary.skipped,
                store.backend(),
                summary.created,
                summary.replaced,
                summary.skipped,
                summary.tasks,
                rate(summary.tasks, started.elapsed())
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "import stopped after {} rooms ({} tasks); each room is imported all or nothing, so the room at fault \
                 was not written",
                last.rooms, last.tasks
            );
            fail("import failed", &error)
        }
    }
}

/// `output`, or — when it is a directory, as for scheduled backups — a file in it named after
/// the backend and the time: `taskcore-sqlite-20261130T170000Z.jsonl`.
fn dump_path(output: &Path, backend: &str, now: OffsetDateTime) -> PathBuf {
    if !output.is_dir() {
        return output.to_owned();
    }
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    output.join(format!("taskcore-{backend}-{stamp}.jsonl"))
}

/// An output file written under a temporary name and renamed into place once whole, so that a
/// failed export never leaves a file that looks like a dump.
struct Staged {
    file: std::io::BufWriter<File>,
    temporary: PathBuf,
    path: PathBuf,
}

impl Staged {
    fn create(path: &Path) -> std::io::Result<Self> {
        let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".partial");
        let temporary = path.with_file_name(name);
        let file = std::io::BufWriter::new(File::create(&temporary)?);
        Ok(Self { file, temporary, path: path.to_owned() })
    }

    fn commit(self) -> std::io::Result<()> {
        let file = self.file.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&self.temporary, &self.path)
    }
}

impl Write for Staged {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.file.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
