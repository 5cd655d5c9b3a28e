//! The HTTP contract, in-process: the router over a `MemoryStore`, driven with `oneshot`.

mod support;

use support::Target;

async fn in_process() -> (Target, ()) {
    (Target::memory().0, ())
}

crate::contract_tests!(in_process);
