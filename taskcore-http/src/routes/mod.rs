//! The API's handlers, one file per resource: rooms, tasks, operations endpoints.

pub mod ops;
pub mod rooms;
pub mod tasks;
