//! Runnable examples of taskcore; see the `[[example]]` entries of this package
//! (`cargo run -p taskcore-examples --example embed`).
