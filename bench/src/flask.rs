//! The original Flask TaskManagerAPI as a reference: started from a checkout given on the
//! command line, under gunicorn with one sync worker — its rooms live in that worker's memory,
//! so one worker is the only configuration in which it answers correctly.
//!
//! Getting it (outside this repository; its code is not part of taskcore):
//!
//! ```text
//! # with the project's `fetch` tool, or: git clone https://github.com/AriGameS/TaskManagerAPI
//! git --git-dir=<bare clone> archive HEAD | tar -x -C /var/tmp/flask-ref
//! python3 -m venv /var/tmp/flask-venv
//! /var/tmp/flask-venv/bin/pip install Flask==3.0.0 gunicorn==21.2.0 psycopg2-binary==2.9.7
//! ```
//!
//! then `--flask-dir /var/tmp/flask-ref --flask-python /var/tmp/flask-venv/bin/python`.
//!
//! The app tries PostgreSQL at start-up (`DB_HOST`, `DB_PORT`, …) and keeps rooms in memory
//! when that fails, which is how it has to run here. Unless `DB_HOST` is set in the
//! environment, the benchmark points it at a closed loopback port so that it never finds a
//! database by accident.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::BenchError;
use crate::process::{OwnedProcess, free_port, loopback, wait_ready};

/// Where the original app is and how to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlaskConfig {
    /// The checkout holding its `app.py`.
    pub dir: PathBuf,
    /// The Python interpreter of a venv with Flask 3, gunicorn and psycopg2-binary.
    pub python: PathBuf,
    /// The WSGI application, `module:variable`.
    pub app: String,
}

/// The running original: [`FlaskApp::stop`] it (dropping it sends SIGTERM without waiting).
#[derive(Debug)]
pub struct FlaskApp {
    process: OwnedProcess,
    addr: SocketAddr,
    log: PathBuf,
}

impl FlaskApp {
    /// Starts `gunicorn --workers 1` on a free loopback port, logging to `log`, and waits for
    /// `/health`.
    pub async fn start(config: &FlaskConfig, log: &Path) -> Result<Self, BenchError> {
        let module = config.app.split(':').next().unwrap_or_default();
        if !config.dir.join(format!("{module}.py")).is_file() {
            return Err(BenchError::Setup(format!(
                "--flask-dir {}: no {module}.py there (see `http-bench --help` for how to get the original)",
                config.dir.display()
            )));
        }
        let port = free_port()?;
        let mut command = Command::new(&config.python);
        command.current_dir(&config.dir).args([
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            &format!("127.0.0.1:{port}"),
            &config.app,
        ]);
        if std::env::var_os("DB_HOST").is_none() {
            command.env("DB_HOST", "127.0.0.1").env("DB_PORT", free_port()?.to_string());
        }
        let mut process = OwnedProcess::spawn("gunicorn (original Flask app)", &mut command, log)?;
        let addr = loopback(port);
        wait_ready(&format!("http://{addr}/health"), &mut process, Duration::from_secs(30))
            .await
            .map_err(|e| BenchError::Setup(format!("the original did not start ({e}); its log: {}", log.display())))?;
        Ok(Self { process, addr, log: log.to_owned() })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its gunicorn master's process id.
    pub fn id(&self) -> u32 {
        self.process.id()
    }

    /// Stops gunicorn and its worker.
    pub async fn stop(mut self) {
        self.process.stop().await;
    }

    /// Its log file.
    pub fn log(&self) -> &Path {
        &self.log
    }
}
