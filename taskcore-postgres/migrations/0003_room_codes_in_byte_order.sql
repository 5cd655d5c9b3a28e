-- taskcore-postgres schema version 3 (major 1, additive): room codes indexed in byte order
-- (COLLATE "C"), whatever the database's collation, so that a dump pages through the rooms
-- (TaskStore::room_codes: code > $1 ORDER BY code COLLATE "C" LIMIT n) along an index instead of
-- sorting the whole table for every page.

CREATE INDEX rooms_code_bytes ON rooms (code COLLATE "C");
