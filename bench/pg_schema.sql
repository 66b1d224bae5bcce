-- pg_schema.sql: the PostGIS peer's schema and load (bench/run runs it with psql).
-- The same rows as helpmap: requests from `helpmap export --format csv` (:'requests_csv'),
-- teams and areas dumped from the helpmap database (:'teams_csv', :'areas_csv'), and the
-- benchmark's sample points, codes and tiles (:'points_csv', :'codes_csv', :'tiles_csv',
-- :'area_points_csv'; bench/run writes the file names in, since psql does not expand
-- variables in \copy). Indexes are what a careful PostGIS deployment would build for these
-- queries: GIST on the positions (all rows, and partial on open requests in 4326, geography
-- and 3857), B-trees on code, phone, team and ward.
\set ON_ERROR_STOP on
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE UNLOGGED TABLE request_csv(
    id bigint, code text, lat double precision, lon double precision, location_precision text,
    category text, people int, vulnerable text, priority text, note text, name text,
    address text, phone text, status text, ward_code text, former_ward_code text,
    hamlet_code text, source text, verified boolean, team_id bigint, duplicate_of text,
    created_at timestamptz, updated_at timestamptz,
    -- columns of later exports that the peer's queries do not read
    reporter_name text, reporter_phone text, location_text text);
\copy request_csv FROM :'requests_csv' WITH (FORMAT csv, HEADER true)

CREATE TABLE request AS
SELECT id, code, lat, lon, location_precision, category, people, vulnerable, priority, note,
       name, address, phone, status, ward_code, former_ward_code, hamlet_code, source, verified,
       team_id, duplicate_of, created_at, updated_at,
       sha256(convert_to(code, 'UTF8')) AS token_hash,
       ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom,
       ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS geog,
       -- the public position (0.001 degree grid) in web mercator: what tiles draw
       ST_Transform(ST_SetSRID(ST_MakePoint(round(lon::numeric, 3)::float8,
                                            round(lat::numeric, 3)::float8), 4326), 3857) AS geom_m
FROM request_csv ORDER BY id;
DROP TABLE request_csv;
ALTER TABLE request ADD PRIMARY KEY (id);
CREATE SEQUENCE request_id_seq OWNED BY request.id;
SELECT setval('request_id_seq', (SELECT coalesce(max(id), 0) + 1 FROM request));
ALTER TABLE request ALTER COLUMN id SET DEFAULT nextval('request_id_seq');
CREATE UNIQUE INDEX request_code ON request(code);
CREATE INDEX request_phone ON request(phone, created_at);
CREATE INDEX request_team ON request(team_id, status);
CREATE INDEX request_ward ON request(ward_code, status, category);
CREATE INDEX request_geom ON request USING gist(geom);
CREATE INDEX request_geom_open ON request USING gist(geom)
    WHERE status IN ('new', 'assigned', 'in_progress');
CREATE INDEX request_geog_open ON request USING gist(geog)
    WHERE status IN ('new', 'assigned', 'in_progress');
CREATE INDEX request_geom_m_open ON request USING gist(geom_m)
    WHERE status IN ('new', 'assigned', 'in_progress');

-- The floor of durable creation (pg_floor.sql): the same rows with only a primary key and a GiST
-- index on the position.
CREATE TABLE floor_request AS SELECT * FROM request;
ALTER TABLE floor_request ADD PRIMARY KEY (id);
CREATE SEQUENCE floor_request_id_seq OWNED BY floor_request.id;
SELECT setval('floor_request_id_seq', (SELECT coalesce(max(id), 0) + 1 FROM floor_request));
ALTER TABLE floor_request ALTER COLUMN id SET DEFAULT nextval('floor_request_id_seq');
CREATE INDEX floor_request_geom ON floor_request USING gist(geom);
CREATE SEQUENCE floor_code_seq;

CREATE TABLE history(id bigserial PRIMARY KEY, request_id bigint NOT NULL, at timestamptz NOT NULL,
                     actor text NOT NULL, from_status text, to_status text, note text,
                     kind text NOT NULL);
CREATE INDEX history_request ON history(request_id, id);

CREATE TABLE team(id bigint PRIMARY KEY, name text, role int, status int, capabilities text,
                  lon double precision, lat double precision, pos_at_ms bigint);
\copy team FROM :'teams_csv' WITH (FORMAT csv)
ALTER TABLE team ADD COLUMN pos_at timestamptz, ADD COLUMN geog geography(Point, 4326);
UPDATE team SET pos_at = to_timestamp(pos_at_ms / 1000.0),
                geog = ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography
 WHERE lon IS NOT NULL;
CREATE INDEX team_geog ON team USING gist(geog);

CREATE TABLE area(level int, code text, name text, parent_code text, wkb_hex text);
\copy area FROM :'areas_csv' WITH (FORMAT csv)
ALTER TABLE area ADD COLUMN geom geometry(MultiPolygon, 4326);
UPDATE area SET geom = ST_Multi(ST_GeomFromWKB(decode(wkb_hex, 'hex'), 4326));
ALTER TABLE area DROP COLUMN wkb_hex;
CREATE INDEX area_geom ON area USING gist(geom);

-- Benchmark inputs, numbered 1..n so that pgbench's random(1, n) picks one.
CREATE TABLE bench_pt(i int PRIMARY KEY, lon double precision, lat double precision);
\copy bench_pt FROM :'points_csv' WITH (FORMAT csv)
ALTER TABLE bench_pt ADD COLUMN geom geometry(Point, 4326), ADD COLUMN geog geography(Point, 4326);
UPDATE bench_pt SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326),
                    geog = ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography;
CREATE TABLE bench_code(i int PRIMARY KEY, code text);
\copy bench_code FROM :'codes_csv' WITH (FORMAT csv)
CREATE TABLE bench_tile(z int, i int, x int, y int, PRIMARY KEY (z, i));
\copy bench_tile FROM :'tiles_csv' WITH (FORMAT csv)
CREATE TABLE bench_area_pt(i int PRIMARY KEY, lon double precision, lat double precision);
\copy bench_area_pt FROM :'area_points_csv' WITH (FORMAT csv)
ALTER TABLE bench_area_pt ADD COLUMN geom geometry(Point, 4326);
UPDATE bench_area_pt SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326);
CREATE SEQUENCE bench_code_seq;

VACUUM ANALYZE;
