//! The handlers, one file per resource: rooms, tasks, the live event stream, room exports,
//! operations endpoints and the web UI.

pub mod events;
pub mod export;
pub mod ops;
pub mod rooms;
pub mod tasks;
pub mod ui;
