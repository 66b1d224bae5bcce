-- pg_tile_clusters.sql (pgbench): the peer of GET /tiles/requests/{z}/{x}/{y}.mvt at cluster
-- zooms (z < 13): open requests grouped on the 16 x 16 grid of 256-unit cells aligned to the
-- tile (plus the one-cell ring helpmap draws in the buffer), one feature per cell at the mean
-- position with point_count, people, urgent and per-category and per-status counts.
-- Variables: z, first, last (the tiles
-- numbered first..last in bench_tile, busiest first).
\set i random(:first, :last)
WITH b AS (SELECT ST_TileEnvelope(z, x, y) AS e FROM bench_tile WHERE z = :z AND i = :i),
g AS (SELECT e, ST_XMin(e) AS x0, ST_YMin(e) AS y0, (ST_XMax(e) - ST_XMin(e)) / 16 AS cell FROM b),
c AS (
    SELECT floor((ST_X(r.geom_m) - g.x0) / g.cell) AS cx, floor((ST_Y(r.geom_m) - g.y0) / g.cell) AS cy,
           count(*) AS point_count, sum(r.people) AS people,
           count(*) FILTER (WHERE r.priority = 'urgent') AS urgent,
           count(*) FILTER (WHERE r.category = 'food') AS food,
           count(*) FILTER (WHERE r.category = 'water') AS water,
           count(*) FILTER (WHERE r.category = 'medical') AS medical,
           count(*) FILTER (WHERE r.category = 'cash') AS cash,
           count(*) FILTER (WHERE r.category = 'shelter') AS shelter,
           count(*) FILTER (WHERE r.category = 'rescue') AS rescue,
           count(*) FILTER (WHERE r.category = 'other') AS other,
           count(*) FILTER (WHERE r.status = 'new') AS "new",
           count(*) FILTER (WHERE r.status = 'assigned') AS assigned,
           count(*) FILTER (WHERE r.status = 'in_progress') AS in_progress,
           count(*) FILTER (WHERE r.status = 'resolved') AS resolved,
           count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE r.status = 'duplicate') AS duplicate,
           avg(ST_X(r.geom_m)) AS mx, avg(ST_Y(r.geom_m)) AS my
      FROM g JOIN request r ON r.geom_m && ST_Expand(g.e, g.cell)
     WHERE r.status IN ('new', 'assigned', 'in_progress')
     GROUP BY 1, 2)
SELECT ST_AsMVT(t.*, 'requests', 4096, 'geom', 'id')
FROM (
    SELECT (c.cy * 100000 + c.cx)::bigint AS id, true AS cluster, c.point_count, c.people,
           c.urgent, c.food, c.water, c.medical, c.cash, c.shelter, c.rescue, c.other, c."new",
           c.assigned, c.in_progress, c.resolved, c.cancelled, c.duplicate,
           ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.mx, c.my), 3857), g.e, 4096, 256, true) AS geom
      FROM c, g) t;
