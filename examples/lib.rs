//! Runnable examples of taskcore; see the `[[example]]` entries of this package:
//!
//! | example | run with | shows |
//! |---|---|---|
//! | `embed` | `cargo run -p taskcore-examples --example embed` | the whole API over the in-memory store |
//! | `embed_sqlite` | `cargo run -p taskcore-examples --features sqlite --example embed_sqlite` | a SQLite file opened by URL, reopened |
//! | `embed_redis` | `cargo run -p taskcore-examples --features redis --example embed_redis [-- URL]` | Redis opened by URL, with a key prefix |
//! | `embed_postgres` | `cargo run -p taskcore-examples --features postgres --example embed_postgres [-- URL]` | PostgreSQL opened by URL, in its own schema |
//! | `swap_backend` | `cargo run -p taskcore-examples --features <backend> --example swap_backend` | one source; the backend is the cargo feature |
