//! [`Reply`]: the answer a group commit owes one caller — the outcome of the caller's write,
//! kept while the batch holding it has not committed, then sent (or replaced by the batch's
//! failure). For backends that batch writes into shared transactions.

use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Where the outcome of one batched write goes, and the outcome kept until the batch is done.
///
/// ```
/// use taskcore::store::Reply;
/// let (mut reply, mut answer) = Reply::<u64>::channel();
/// reply.keep(Ok(7)); // the write ran inside the batch's transaction
/// assert!(matches!(reply.kept(), Some(Ok(7))));
/// reply.answer("example"); // the batch committed
/// assert_eq!(answer.try_recv().unwrap().unwrap(), 7);
/// ```
#[derive(Debug)]
pub struct Reply<T> {
    sender: oneshot::Sender<Result<T>>,
    outcome: Option<Result<T>>,
}

impl<T> Reply<T> {
    /// A reply and the receiver its caller waits on.
    pub fn channel() -> (Self, oneshot::Receiver<Result<T>>) {
        let (sender, receiver) = oneshot::channel();
        (Self { sender, outcome: None }, receiver)
    }

    /// Keeps `outcome` (replacing one kept before, when the batch runs again) until the batch
    /// is done.
    pub fn keep(&mut self, outcome: Result<T>) {
        self.outcome = Some(outcome);
    }

    /// The outcome kept so far, if any.
    pub fn kept(&self) -> Option<&Result<T>> {
        self.outcome.as_ref()
    }

    /// Sends the kept outcome: the batch committed. A reply with nothing kept (a bug of the
    /// batching backend) answers `Backend` naming `backend`. A caller that stopped waiting is
    /// no error.
    pub fn answer(self, backend: &str) {
        let outcome = self
            .outcome
            .unwrap_or_else(|| Err(Error::backend(format!("the {backend} group commit kept no outcome"), "bug")));
        let _gone = self.sender.send(outcome);
    }

    /// Sends `error` instead of any kept outcome: the batch did not commit.
    pub fn fail(self, error: Error) {
        let _gone = self.sender.send(Err(error));
    }
}
