-- pg_tile_points.sql (pgbench): the peer of GET /tiles/requests/{z}/{x}/{y}.mvt at point zooms
-- (z >= 13): ST_AsMVT of the open requests at their public position (geom_m, precomputed in
-- 3857), extent 4096, buffer 64, the same attributes as helpmap. Variables: z, first, last (the tiles
-- numbered first..last in bench_tile, busiest first).
\set i random(:first, :last)
SELECT ST_AsMVT(t.*, 'requests', 4096, 'geom', 'id')
FROM (
    SELECT r.id, r.code, r.category, r.status, r.priority, r.ward_code, r.people, r.verified,
           extract(epoch FROM r.created_at)::bigint AS created_at,
           ST_AsMVTGeom(r.geom_m, ST_TileEnvelope(b.z, b.x, b.y), 4096, 64, true) AS geom
      FROM bench_tile b
      JOIN request r ON r.geom_m && ST_TileEnvelope(b.z, b.x, b.y, margin => 64.0 / 4096)
     WHERE b.z = :z AND b.i = :i AND r.status IN ('new', 'assigned', 'in_progress')) t;
