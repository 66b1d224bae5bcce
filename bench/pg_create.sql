-- pg_create.sql (pgbench): the peer of POST /api/v1/requests, durable (synchronous_commit on):
-- the duplicate check on the phone's open requests of the last 24 h, the insert with the three
-- area codes found by ST_Covers (lowest code wins, as in helpmap), and the history entry, in one
-- transaction. Variables: npts.
\set i random(1, :npts)
\set ph random(10000000, 99999999)
BEGIN;
SELECT id FROM request
 WHERE phone = '+849' || :ph AND created_at >= now() - interval '24 hours'
   AND status IN ('new', 'assigned', 'in_progress') AND category = 'food'
   AND ST_DWithin(geog, (SELECT geog FROM bench_pt WHERE i = :i), 200)
 LIMIT 1;
WITH p AS (SELECT lon, lat, geom, geog FROM bench_pt WHERE i = :i),
r AS (
  INSERT INTO request(code, lat, lon, location_precision, category, people, vulnerable, priority,
                      note, name, address, phone, status, ward_code, former_ward_code,
                      hamlet_code, source, verified, created_at, updated_at, token_hash, geom,
                      geog, geom_m)
  SELECT 'PG-' || nextval('bench_code_seq'), p.lat, p.lon, 'gps', 'food', 2, '', 'normal',
         'bench', NULL, NULL, '+849' || :ph, 'new',
         (SELECT code FROM area a WHERE a.level = 0 AND ST_Covers(a.geom, p.geom) ORDER BY code LIMIT 1),
         (SELECT code FROM area a WHERE a.level = 1 AND ST_Covers(a.geom, p.geom) ORDER BY code LIMIT 1),
         (SELECT code FROM area a WHERE a.level = 2 AND ST_Covers(a.geom, p.geom) ORDER BY code LIMIT 1),
         'hotline', false, now(), now(), sha256(convert_to(gen_random_uuid()::text, 'UTF8')),
         p.geom, p.geog,
         ST_Transform(ST_SetSRID(ST_MakePoint(round(p.lon::numeric, 3)::float8,
                                              round(p.lat::numeric, 3)::float8), 4326), 3857)
    FROM p
  RETURNING *)
INSERT INTO history(request_id, at, actor, from_status, to_status, kind)
SELECT id, created_at, 'hotline', NULL, 'new', 'status' FROM r
RETURNING request_id;
COMMIT;
