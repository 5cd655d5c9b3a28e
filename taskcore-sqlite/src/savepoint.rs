//! [`Prefix`]: the savepoint statements the [writer](crate::writer) puts in front of an
//! operation's first statement (so that they cost no round trip of their own), and the record
//! of whether the operation took them — which tells the writer, when the operation fails,
//! whether anything of it can have reached SQLite.

/// The savepoint statements of one operation of a batch, handed out at most once.
#[derive(Debug)]
pub(crate) struct Prefix {
    sql: String,
    taken: bool,
}

impl Prefix {
    /// The statements that release savepoint `open` (the previous operation's, if it is still
    /// open) and open savepoint `own`.
    pub(crate) fn new(open: Option<usize>, own: usize) -> Self {
        let sql = match open {
            Some(previous) => format!("RELEASE {}; SAVEPOINT {}; ", name(previous), name(own)),
            None => format!("SAVEPOINT {}; ", name(own)),
        };
        Self { sql, taken: false }
    }

    /// No statements: for a statement that runs inside an operation's savepoint already, or an
    /// operation outside a batch.
    pub(crate) fn none() -> Self {
        Self { sql: String::new(), taken: true }
    }

    /// The statements, the first time; nothing afterwards. An operation sends what this returns
    /// in front of its first statement, and must call it only once nothing fallible stands
    /// between the call and sending that statement.
    pub(crate) fn take(&mut self) -> &str {
        if self.taken {
            ""
        } else {
            self.taken = true;
            &self.sql
        }
    }

    /// Whether the operation took the statements: if not, nothing of it reached SQLite.
    pub(crate) fn taken(&self) -> bool {
        self.taken
    }
}

/// The name of the savepoint of the `index`th operation of a batch: unique within the batch, so
/// that a rollback can never reach another operation's savepoint.
pub(crate) fn name(index: usize) -> String {
    format!("op_{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_handed_out_once() {
        let mut first = Prefix::new(None, 0);
        assert!(!first.taken());
        assert_eq!(first.take(), "SAVEPOINT op_0; ");
        assert_eq!(first.take(), "");
        assert!(first.taken());
        assert_eq!(Prefix::new(Some(3), 7).take(), "RELEASE op_3; SAVEPOINT op_7; ");
    }
}
