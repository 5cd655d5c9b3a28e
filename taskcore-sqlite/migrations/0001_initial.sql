-- taskcore-sqlite schema version 1 (major 1): rooms, members, tasks with their precomputed
-- sort and search columns, the tag index, maintained per-room counters, idempotency keys and the
-- change feed. Instants are integer microseconds since the Unix epoch (taskcore::unix_micros).

CREATE TABLE rooms (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    owner       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    -- The highest task number the room ever allocated (deleted tasks included).
    last_number INTEGER NOT NULL DEFAULT 0,
    -- The newest change-feed sequence number of the room.
    last_seq    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE members (
    room_id  INTEGER NOT NULL REFERENCES rooms (id),
    -- Joining order, 1 for the owner.
    position INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    -- taskcore::MemberName::key, the case-folded uniqueness key.
    name_key TEXT    NOT NULL,
    PRIMARY KEY (room_id, position),
    UNIQUE (room_id, name_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE tasks (
    room_id      INTEGER NOT NULL REFERENCES rooms (id),
    number       INTEGER NOT NULL,
    id           BLOB    NOT NULL,
    title        TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    -- taskcore::Priority::rank (low 0, medium 1, high 2): the priority sort value.
    priority     INTEGER NOT NULL,
    -- The due instant, taskcore::NO_DUE_DATE when there is none: the due sort value.
    due          INTEGER NOT NULL,
    -- The tags as a JSON array; task_tags indexes them.
    tags         TEXT    NOT NULL,
    assignee     TEXT,
    -- taskcore::MemberName::key of the assignee.
    assignee_key TEXT,
    completed    INTEGER NOT NULL,
    completed_at INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    -- The case-folded title: the title sort value.
    title_key    TEXT    NOT NULL,
    -- taskcore::search_text_of(title, description), searched with instr().
    search       TEXT    NOT NULL,
    PRIMARY KEY (room_id, number)
) STRICT, WITHOUT ROWID;

-- One index per listing order (the primary key serves the number order), each ending in the
-- number so that keyset cursors (sort value, number) are index ranges.
CREATE INDEX tasks_by_created ON tasks (room_id, created_at, number);
CREATE INDEX tasks_by_due ON tasks (room_id, due, number);
CREATE INDEX tasks_by_priority ON tasks (room_id, priority, number);
CREATE INDEX tasks_by_title ON tasks (room_id, title_key, number);
-- Status filters in number order, and pending/completed tasks by due date (overdue counts).
CREATE INDEX tasks_by_status ON tasks (room_id, completed, number);
CREATE INDEX tasks_by_status_due ON tasks (room_id, completed, due, number);
CREATE INDEX tasks_by_assignee ON tasks (room_id, assignee_key, number);

CREATE TABLE task_tags (
    room_id INTEGER NOT NULL,
    tag     TEXT    NOT NULL,
    number  INTEGER NOT NULL,
    PRIMARY KEY (room_id, tag, number)
) STRICT, WITHOUT ROWID;

-- Tasks per room by completion and priority, maintained by the triggers below in the same
-- transaction as every write: statistics and most listing counts read six rows.
CREATE TABLE task_counts (
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    completed INTEGER NOT NULL,
    priority  INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (room_id, completed, priority)
) STRICT, WITHOUT ROWID;

-- Pending tasks with a due date per room and due day (due / 86400000000, truncating like
-- SQLite's integer division), maintained by the triggers below: the overdue count of the
-- statistics sums the days before today's and counts today's tasks through an index range, so
-- it costs one row per past day instead of one index entry per overdue task.
CREATE TABLE pending_due_days (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    day     INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (room_id, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE idempotency_keys (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    key     TEXT    NOT NULL,
    number  INTEGER NOT NULL,
    PRIMARY KEY (room_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE changes (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    -- The taskcore::ChangeEvent as JSON.
    event   TEXT    NOT NULL,
    PRIMARY KEY (room_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER rooms_counts AFTER INSERT ON rooms BEGIN
    INSERT INTO task_counts (room_id, completed, priority, n)
    SELECT NEW.id, c.value, p.value, 0
    FROM json_each('[0, 1]') AS c, json_each('[0, 1, 2]') AS p;
END;

CREATE TRIGGER tasks_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_tags (room_id, tag, number) SELECT NEW.room_id, value, NEW.number FROM json_each(NEW.tags);
    UPDATE task_counts SET n = n + 1
    WHERE room_id = NEW.room_id AND completed = NEW.completed AND priority = NEW.priority;
    INSERT INTO pending_due_days (room_id, day, n)
    SELECT NEW.room_id, NEW.due / 86400000000, 1 WHERE NEW.completed = 0 AND NEW.due <> 9223372036854775807
    ON CONFLICT (room_id, day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tasks_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM task_tags
    WHERE room_id = OLD.room_id AND number = OLD.number AND tag IN (SELECT value FROM json_each(OLD.tags));
    UPDATE task_counts SET n = n - 1
    WHERE room_id = OLD.room_id AND completed = OLD.completed AND priority = OLD.priority;
    UPDATE pending_due_days SET n = n - 1
    WHERE room_id = OLD.room_id AND day = OLD.due / 86400000000
      AND OLD.completed = 0 AND OLD.due <> 9223372036854775807;
END;

CREATE TRIGGER tasks_update_due AFTER UPDATE OF completed, due ON tasks
WHEN OLD.completed IS NOT NEW.completed OR OLD.due IS NOT NEW.due BEGIN
    UPDATE pending_due_days SET n = n - 1
    WHERE room_id = OLD.room_id AND day = OLD.due / 86400000000
      AND OLD.completed = 0 AND OLD.due <> 9223372036854775807;
    INSERT INTO pending_due_days (room_id, day, n)
    SELECT NEW.room_id, NEW.due / 86400000000, 1 WHERE NEW.completed = 0 AND NEW.due <> 9223372036854775807
    ON CONFLICT (room_id, day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tasks_update_tags AFTER UPDATE OF tags ON tasks WHEN OLD.tags IS NOT NEW.tags BEGIN
    DELETE FROM task_tags
    WHERE room_id = OLD.room_id AND number = OLD.number AND tag IN (SELECT value FROM json_each(OLD.tags));
    INSERT INTO task_tags (room_id, tag, number) SELECT NEW.room_id, value, NEW.number FROM json_each(NEW.tags);
END;

CREATE TRIGGER tasks_update_counts AFTER UPDATE OF completed, priority ON tasks
WHEN OLD.completed IS NOT NEW.completed OR OLD.priority IS NOT NEW.priority BEGIN
    UPDATE task_counts SET n = n - 1
    WHERE room_id = OLD.room_id AND completed = OLD.completed AND priority = OLD.priority;
    UPDATE task_counts SET n = n + 1
    WHERE room_id = NEW.room_id AND completed = NEW.completed AND priority = NEW.priority;
END;
