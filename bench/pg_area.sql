-- pg_area.sql (pgbench, one client): the peer of point-to-area assignment: 10,000 of the
-- micro-benchmark's uniform points per transaction, each given its ward, former ward and hamlet
-- by ST_Covers on the GIST-indexed areas (lowest code wins). points/s = 10,000 / latency.
SET max_parallel_workers_per_gather = 0;
\set b random(0, :nblocks - 1)
SELECT count(w.code), count(f.code), count(h.code)
FROM bench_area_pt p
LEFT JOIN LATERAL (SELECT code FROM area a WHERE a.level = 0 AND ST_Covers(a.geom, p.geom)
                    ORDER BY code LIMIT 1) w ON true
LEFT JOIN LATERAL (SELECT code FROM area a WHERE a.level = 1 AND ST_Covers(a.geom, p.geom)
                    ORDER BY code LIMIT 1) f ON true
LEFT JOIN LATERAL (SELECT code FROM area a WHERE a.level = 2 AND ST_Covers(a.geom, p.geom)
                    ORDER BY code LIMIT 1) h ON true
WHERE p.i > :b * 10000 AND p.i <= (:b + 1) * 10000;
