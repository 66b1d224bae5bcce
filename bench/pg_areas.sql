-- pg_areas.sql (pgbench): the peer of GET /api/v1/areas?level=former_ward: the 21 former wards
-- as a GeoJSON FeatureCollection with their live counts (open and resolved requests, open ones
-- by category), the same properties as helpmap's, built by PostgreSQL from the request rows.
-- PostgreSQL sends it uncompressed over its wire protocol (helpmap sends it gzip'd over HTTP).
WITH c AS (
  SELECT former_ward_code AS code,
         count(*) FILTER (WHERE status IN ('new', 'assigned', 'in_progress')) AS open,
         count(*) FILTER (WHERE status = 'resolved') AS resolved
    FROM request GROUP BY former_ward_code),
k AS (
  SELECT code, json_object_agg(category, n ORDER BY category) AS by_cat
    FROM (SELECT former_ward_code AS code, category, count(*) AS n FROM request
           WHERE status IN ('new', 'assigned', 'in_progress') GROUP BY 1, 2) s
   GROUP BY code)
SELECT json_build_object('type', 'FeatureCollection', 'level', 'former_ward', 'features',
         json_agg(json_build_object(
           'type', 'Feature', 'id', a.code, 'geometry', ST_AsGeoJSON(a.geom, 7)::json,
           'properties', json_build_object(
             'code', a.code, 'name', a.name, 'parent_code', a.parent_code,
             'level', 'former_ward', 'label_lon', ST_X(ST_PointOnSurface(a.geom)),
             'label_lat', ST_Y(ST_PointOnSurface(a.geom)), 'open', coalesce(c.open, 0),
             'resolved', coalesce(c.resolved, 0),
             'open_by_category', coalesce(k.by_cat, '{}'::json))) ORDER BY a.code))::text
  FROM area a LEFT JOIN c ON c.code = a.code LEFT JOIN k ON k.code = a.code
 WHERE a.level = 1;
