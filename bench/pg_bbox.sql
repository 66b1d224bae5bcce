-- pg_bbox.sql (pgbench): the peer of the public GeoJSON query
-- GET /api/v1/requests?bbox=... (0.01 degree box around a sample point, open requests, limit
-- 1000, positions snapped to the 0.001 degree grid, no contact fields), built as GeoJSON text by
-- PostgreSQL itself. Variables: npts.
\set i random(1, :npts)
SELECT json_build_object('type', 'FeatureCollection', 'features',
         coalesce(json_agg(json_build_object(
           'type', 'Feature', 'id', q.id,
           'geometry', json_build_object('type', 'Point', 'coordinates',
                                         json_build_array(round(q.lon::numeric, 3),
                                                          round(q.lat::numeric, 3))),
           'properties', json_build_object(
             'id', q.id, 'code', q.code, 'lat', round(q.lat::numeric, 3),
             'lon', round(q.lon::numeric, 3), 'location_precision', q.location_precision,
             'category', q.category, 'people', q.people, 'vulnerable', q.vulnerable,
             'priority', q.priority, 'status', q.status, 'ward_code', q.ward_code,
             'former_ward_code', q.former_ward_code, 'hamlet_code', q.hamlet_code,
             'source', q.source, 'verified', q.verified, 'team_id', q.team_id,
             'duplicate_of', q.duplicate_of, 'created_at', q.created_at,
             'updated_at', q.updated_at)) ORDER BY q.id), '[]'::json),
         'next', NULL)::text
FROM bench_pt p
CROSS JOIN LATERAL (
    SELECT * FROM request r
     WHERE r.status IN ('new', 'assigned', 'in_progress')
       AND r.geom && ST_MakeEnvelope(p.lon - 0.005, p.lat - 0.005, p.lon + 0.005, p.lat + 0.005, 4326)
       AND r.lon BETWEEN p.lon - 0.005 AND p.lon + 0.005
       AND r.lat BETWEEN p.lat - 0.005 AND p.lat + 0.005
     ORDER BY r.id
     LIMIT 1000) q
WHERE p.i = :i;
