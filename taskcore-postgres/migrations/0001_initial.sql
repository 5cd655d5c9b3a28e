-- taskcore-postgres schema version 1 (major 1): rooms with their allocation and statistics
-- counters, members, tasks with their precomputed sort and search columns, idempotency keys and
-- the change feed. Runs with search_path set to the store's own schema; names are unqualified.
-- Instants are bigint microseconds since the Unix epoch (taskcore::unix_micros): exact round
-- trips and plain integer comparisons in indexes.

CREATE TABLE rooms (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code           text   NOT NULL UNIQUE,
    owner          text   NOT NULL,
    created_at     bigint NOT NULL,
    -- The highest task number the room ever allocated (deleted tasks included). Every write to
    -- the room's tasks, members or feed first locks this row: see the crate docs.
    last_number    bigint NOT NULL DEFAULT 0,
    -- The newest change-feed sequence number of the room.
    last_seq       bigint NOT NULL DEFAULT 0,
    -- Tasks of the room by completion and priority, maintained in every write transaction:
    -- statistics and most listing totals read this one row.
    pending_low    bigint NOT NULL DEFAULT 0,
    pending_medium bigint NOT NULL DEFAULT 0,
    pending_high   bigint NOT NULL DEFAULT 0,
    done_low       bigint NOT NULL DEFAULT 0,
    done_medium    bigint NOT NULL DEFAULT 0,
    done_high      bigint NOT NULL DEFAULT 0
);

CREATE TABLE members (
    room_id  bigint  NOT NULL REFERENCES rooms (id),
    -- Joining order, 1 for the owner.
    position integer NOT NULL,
    name     text    NOT NULL,
    -- taskcore::MemberName::key, the case-folded uniqueness key.
    name_key text    NOT NULL,
    PRIMARY KEY (room_id, position),
    UNIQUE (room_id, name_key)
);

CREATE TABLE tasks (
    room_id      bigint  NOT NULL REFERENCES rooms (id),
    number       bigint  NOT NULL,
    id           uuid    NOT NULL,
    title        text    NOT NULL,
    description  text    NOT NULL,
    -- taskcore::Priority::rank (low 0, medium 1, high 2): the priority sort value.
    priority     bigint  NOT NULL,
    -- The due instant, taskcore::NO_DUE_DATE when there is none: the due sort value.
    due          bigint  NOT NULL,
    -- Sorted, each once (taskcore::parse_tags); tasks_by_tag indexes them.
    tags         text[]  NOT NULL,
    assignee     text,
    -- taskcore::MemberName::key of the assignee.
    assignee_key text,
    completed    boolean NOT NULL,
    completed_at bigint,
    created_at   bigint  NOT NULL,
    updated_at   bigint  NOT NULL,
    version      bigint  NOT NULL,
    -- The case-folded title: the title sort value, compared bytewise (UTF-8 byte order is code
    -- point order, Rust's String order) whatever the database's collation.
    title_key    text    COLLATE "C" NOT NULL,
    -- taskcore::search_text_of(title, description), searched with strpos() (no wildcards).
    search       text    NOT NULL,
    PRIMARY KEY (room_id, number)
);

-- One index per listing order (the primary key serves the number order), each ending in the
-- number so that keyset cursors `(sort value, number) > ($1, $2)` are index ranges.
CREATE INDEX tasks_by_created ON tasks (room_id, created_at, number);
CREATE INDEX tasks_by_due ON tasks (room_id, due, number);
CREATE INDEX tasks_by_priority ON tasks (room_id, priority, number);
CREATE INDEX tasks_by_title ON tasks (room_id, title_key, number);
-- Status filters in number order.
CREATE INDEX tasks_by_status ON tasks (room_id, completed, number);
-- Pending tasks by due date: overdue counts and listings are index ranges.
CREATE INDEX tasks_pending_by_due ON tasks (room_id, due, number) WHERE NOT completed;
CREATE INDEX tasks_by_assignee ON tasks (room_id, assignee_key, number);
-- Tag filters: `tags @> ARRAY[$1]`.
CREATE INDEX tasks_by_tag ON tasks USING gin (tags);

CREATE TABLE idempotency_keys (
    room_id bigint NOT NULL REFERENCES rooms (id),
    key     text   NOT NULL,
    number  bigint NOT NULL,
    PRIMARY KEY (room_id, key)
);

CREATE TABLE changes (
    room_id bigint NOT NULL REFERENCES rooms (id),
    seq     bigint NOT NULL,
    at      bigint NOT NULL,
    -- The taskcore::ChangeEvent as JSON.
    event   jsonb  NOT NULL,
    PRIMARY KEY (room_id, seq)
);
