-- pg_floor.sql (pgbench): the floor that any durable store pays for a new request: PostgreSQL's
-- one-row INSERT of a request row (the same columns and values as pg_create.sql's) into
-- floor_request, a copy of the request rows with only a primary key and a GiST index on the
-- position; one statement, its own transaction, fsync and synchronous_commit on. No duplicate
-- check, no area lookup, no history, no code or phone index: less work than helpmap does.
-- Variables: npts.
\set i random(1, :npts)
\set ph random(10000000, 99999999)
INSERT INTO floor_request(code, lat, lon, location_precision, category, people, vulnerable,
                          priority, note, phone, status, source, verified, created_at,
                          updated_at, token_hash, geom)
SELECT 'FL-' || nextval('floor_code_seq'), p.lat, p.lon, 'gps', 'food', 2, '', 'normal',
       'bench', '+849' || :ph, 'new', 'hotline', false, now(), now(),
       '\x00000000000000000000000000000000', p.geom
  FROM bench_pt p WHERE p.i = :i;
