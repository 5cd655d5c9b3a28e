//! The savepoints of a group-commit batch: the [`Name`] an operation's savepoint gets, and the
//! [`Prefix`] the [writer](crate::writer) puts in front of the operation's first statement (so
//! that savepoints cost no round trip of their own), with the record of whether the operation
//! took it — which tells the writer, when the operation fails, whether anything of it can have
//! reached SQLite.

/// One of the two savepoint names of a batch.
///
/// At most one savepoint is open at a time: the last successful operation's, until the next
/// operation's prefix releases it. An operation's savepoint is named unlike that open one, so a
/// rollback to the operation's savepoint can never reach the open one — if the operation's own
/// savepoint never came to exist, the rollback fails instead. Two fixed names keep the SQL text
/// of each operation to a handful of variants, which sqlx's statement cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    /// `op_a`.
    A,
    /// `op_b`.
    B,
}

impl Name {
    /// The name for the next savepoint while `open` is open.
    pub(crate) fn next(open: Option<Name>) -> Self {
        match open {
            Some(Name::A) => Name::B,
            Some(Name::B) | None => Name::A,
        }
    }

    /// `ROLLBACK TO` and `RELEASE` of this savepoint: undoes what the operation wrote.
    pub(crate) fn rollback_sql(self) -> &'static str {
        match self {
            Name::A => "ROLLBACK TO op_a; RELEASE op_a",
            Name::B => "ROLLBACK TO op_b; RELEASE op_b",
        }
    }
}

/// The savepoint statements of one operation of a batch, handed out at most once.
#[derive(Debug)]
pub(crate) struct Prefix {
    sql: &'static str,
    taken: bool,
}

impl Prefix {
    /// The statements that release savepoint `open` (the previous operation's, if it is still
    /// open) and open savepoint `own`.
    pub(crate) fn new(open: Option<Name>, own: Name) -> Self {
        let sql = match (open, own) {
            (Some(Name::A), Name::B) => "RELEASE op_a; SAVEPOINT op_b; ",
            (Some(Name::B), Name::A) => "RELEASE op_b; SAVEPOINT op_a; ",
            // Never asked for (see Name::next): releasing and reopening one name is still right.
            (Some(Name::A), Name::A) => "RELEASE op_a; SAVEPOINT op_a; ",
            (Some(Name::B), Name::B) => "RELEASE op_b; SAVEPOINT op_b; ",
            (None, Name::A) => "SAVEPOINT op_a; ",
            (None, Name::B) => "SAVEPOINT op_b; ",
        };
        Self { sql, taken: false }
    }

    /// No statements: for a statement that runs inside an operation's savepoint already, or an
    /// operation outside a batch.
    pub(crate) fn none() -> Self {
        Self { sql: "", taken: true }
    }

    /// The statements, the first time; nothing afterwards. An operation sends what this returns
    /// in front of its first statement, and must call it only once nothing fallible stands
    /// between the call and sending that statement.
    pub(crate) fn take(&mut self) -> &'static str {
        if self.taken {
            ""
        } else {
            self.taken = true;
            self.sql
        }
    }

    /// Whether the operation took the statements: if not, nothing of it reached SQLite.
    pub(crate) fn taken(&self) -> bool {
        self.taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_handed_out_once() {
        let mut first = Prefix::new(None, Name::next(None));
        assert!(!first.taken());
        assert_eq!(first.take(), "SAVEPOINT op_a; ");
        assert_eq!(first.take(), "");
        assert!(first.taken());
        let own = Name::next(Some(Name::A));
        assert_eq!(Prefix::new(Some(Name::A), own).take(), "RELEASE op_a; SAVEPOINT op_b; ");
        assert_eq!(own.rollback_sql(), "ROLLBACK TO op_b; RELEASE op_b");
    }

    #[test]
    fn an_operation_is_never_named_like_the_open_savepoint() {
        for open in [None, Some(Name::A), Some(Name::B)] {
            assert_ne!(Some(Name::next(open)), open);
        }
    }
}
