-- Inserts tasks numbered 1..$2 into room $1 in one statement, with values spread like real use
-- (three priorities, due dates around $3 or none, ten tags, every fifth assigned to bob, every
-- other completed) and the precomputed columns exactly as taskcore-postgres writes them.
-- Shared by the query-plan test and the benchmark; run it in the store's schema.
INSERT INTO tasks (room_id, number, id, title, description, priority, due, tags, assignee, assignee_key,
    completed, completed_at, created_at, updated_at, version, title_key, search)
SELECT $1, g, gen_random_uuid(), 'Task ' || g, 'Details ' || (g % 97), g % 3,
    CASE WHEN g % 4 = 0 THEN 9223372036854775807 ELSE $3::bigint + (g % 200 - 100) * 3600000000 END,
    ARRAY['t' || (g % 10)], CASE WHEN g % 5 = 0 THEN 'bob' END, CASE WHEN g % 5 = 0 THEN 'bob' END,
    g % 2 = 0, CASE WHEN g % 2 = 0 THEN $3::bigint END, $3::bigint + g, $3::bigint + g, 1,
    'task ' || g, 'task ' || g || E'\n' || 'details ' || (g % 97)
FROM generate_series(1, $2::bigint) AS g
