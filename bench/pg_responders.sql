-- pg_responders.sql (pgbench): the peer of GET /api/v1/requests/{code}/responders?k=5: the
-- nearest available teams with a position fresher than 30 min and fewer than 5 open requests.
-- Variables: ncodes.
\set i random(1, :ncodes)
SELECT t.id, t.name, t.role, t.status, t.capabilities, t.lon, t.lat, t.pos_at,
       round(ST_Distance(t.geog, r.geog)::numeric, 1) AS distance_m, t.open_requests
FROM bench_code c
JOIN request r ON r.code = c.code
CROSS JOIN LATERAL (
    SELECT t.*, o.n AS open_requests
      FROM team t
      CROSS JOIN LATERAL (SELECT count(*) AS n FROM request o
                           WHERE o.team_id = t.id AND o.status IN ('assigned', 'in_progress')) o
     WHERE t.status = 0 AND t.pos_at > now() - interval '30 minutes' AND o.n < 5
     ORDER BY t.geog <-> r.geog
     LIMIT 5) t
WHERE c.i = :i;
