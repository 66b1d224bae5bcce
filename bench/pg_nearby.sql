-- pg_nearby.sql (pgbench): the peer of GET /api/v1/requests/nearby?limit=5 (radius 5 km):
-- KNN on the partial GIST index of open requests, geography distance. Variables: npts.
\set i random(1, :npts)
SELECT r.id, r.code, r.lat, r.lon, r.location_precision, r.category, r.people, r.vulnerable,
       r.priority, r.note, r.name, r.address, r.phone, r.status, r.ward_code, r.former_ward_code,
       r.hamlet_code, r.source, r.verified, r.team_id, r.duplicate_of, r.created_at,
       r.updated_at, round(ST_Distance(r.geog, p.geog)::numeric, 1) AS distance_m
FROM bench_pt p
CROSS JOIN LATERAL (
    SELECT * FROM request r
     WHERE r.status IN ('new', 'assigned', 'in_progress') AND ST_DWithin(r.geog, p.geog, 5000)
     ORDER BY r.geog <-> p.geog
     LIMIT 5) r
WHERE p.i = :i;
