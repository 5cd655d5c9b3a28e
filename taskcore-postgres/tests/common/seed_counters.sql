-- Sets room $1's allocation state and counters from its tasks, after seed_tasks.sql.
UPDATE rooms AS r SET last_number = c.n,
    pending_low = c.pl, pending_medium = c.pm, pending_high = c.ph,
    done_low = c.dl, done_medium = c.dm, done_high = c.dh
FROM (
    SELECT COALESCE(max(number), 0) AS n,
        count(*) FILTER (WHERE NOT completed AND priority = 0) AS pl,
        count(*) FILTER (WHERE NOT completed AND priority = 1) AS pm,
        count(*) FILTER (WHERE NOT completed AND priority = 2) AS ph,
        count(*) FILTER (WHERE completed AND priority = 0) AS dl,
        count(*) FILTER (WHERE completed AND priority = 1) AS dm,
        count(*) FILTER (WHERE completed AND priority = 2) AS dh
    FROM tasks WHERE room_id = $1
) AS c
WHERE r.id = $1
