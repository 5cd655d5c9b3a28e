//! [`VERSION`]: which build this is — reported by `/health`, `/api`, the build-info metric and
//! the web UI's asset ETags.

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
