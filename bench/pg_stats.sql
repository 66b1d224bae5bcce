-- pg_stats.sql (pgbench): the peer of GET /api/v1/stats: totals by status and category,
-- open/resolved per ward (and category), the median time from new to resolved, hourly counts
-- of the last 24 h.
SELECT status, category, count(*) FROM request GROUP BY status, category;
SELECT ward_code, status, category, count(*) FROM request GROUP BY ward_code, status, category;
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY updated_at - created_at)
  FROM request WHERE status = 'resolved';
SELECT floor(extract(epoch FROM created_at - (now() - interval '24 hours')) / 3600) AS h, count(*)
  FROM request WHERE created_at >= now() - interval '24 hours' GROUP BY 1;
