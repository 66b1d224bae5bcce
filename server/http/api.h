/* api.h: the HTTP handlers, one per route (api_*.c). Each takes an hm_req
 * whose path parameters are in r->params and answers with hm_http_*. */
#ifndef HM_API_H
#define HM_API_H

#include "http.h"

/* api_requests.c */
/* The filters of request lists and exports from the query (bbox, status, category, ward,
 * former_ward, hamlet, priority, team_id, verified, source, q, since, order, cursor) into `f`;
 * `qbuf` holds the folded q. HM_OK or HM_E_INVALID_FIELD naming the argument. */
int hm_api_parse_filter(hm_req *r, hm_request_filter *f, char *qbuf, size_t qbuf_size,
                        hm_error *err);
enum MHD_Result hm_api_request_create(hm_req *r);
enum MHD_Result hm_api_request_get(hm_req *r);
enum MHD_Result hm_api_request_list(hm_req *r);
enum MHD_Result hm_api_request_cancel(hm_req *r);
enum MHD_Result hm_api_request_safe(hm_req *r);
enum MHD_Result hm_api_request_verify(hm_req *r);
enum MHD_Result hm_api_request_claim(hm_req *r);
enum MHD_Result hm_api_request_status(hm_req *r);
enum MHD_Result hm_api_request_assign(hm_req *r);
enum MHD_Result hm_api_report_form(hm_req *r);
enum MHD_Result hm_api_request_edit(hm_req *r);
enum MHD_Result hm_api_request_import(hm_req *r);
/* The no-JavaScript form's 413 page. */
enum MHD_Result hm_api_report_too_large(hm_req *r);
/* The resident's page `page` (index.html, `len` bytes) with the hamlets filled in where it says
 * <!--hm:hamlets--> (the no-JavaScript form offers their names: issue 14), made once per
 * change of the areas; NULL when the page has no such place (serve it as it is). Release with
 * hm_tile_blob_release(). */
struct hm_tile_blob *hm_api_form_page(hm_req *r, const char *page, size_t len);

/* api_teams.c */
enum MHD_Result hm_api_nearby(hm_req *r);
enum MHD_Result hm_api_responders(hm_req *r);
enum MHD_Result hm_api_team_location(hm_req *r);
enum MHD_Result hm_api_team_status(hm_req *r);
enum MHD_Result hm_api_teams_list(hm_req *r);
enum MHD_Result hm_api_team_requests(hm_req *r);
enum MHD_Result hm_api_team_add(hm_req *r);
enum MHD_Result hm_api_team_rotate(hm_req *r);
enum MHD_Result hm_api_team_disable(hm_req *r);
enum MHD_Result hm_api_team_enable(hm_req *r);
enum MHD_Result hm_api_events(hm_req *r);
enum MHD_Result hm_api_events_ticket(hm_req *r);
enum MHD_Result hm_api_export(hm_req *r);
enum MHD_Result hm_api_audit(hm_req *r);

/* api_areas.c */
enum MHD_Result hm_api_areas_list(hm_req *r);
enum MHD_Result hm_api_area_create(hm_req *r);
enum MHD_Result hm_api_area_put(hm_req *r);
enum MHD_Result hm_api_area_delete(hm_req *r);

/* api_misc.c */
enum MHD_Result hm_api_stats(hm_req *r);
enum MHD_Result hm_api_healthz(hm_req *r);
enum MHD_Result hm_api_metrics(hm_req *r);

/* api_places.c */
enum MHD_Result hm_api_places(hm_req *r);
enum MHD_Result hm_api_places_all(hm_req *r);

/* api_basemap.c */
enum MHD_Result hm_api_basemap_tile(hm_req *r);
enum MHD_Result hm_api_basemap_tilejson(hm_req *r);
enum MHD_Result hm_api_style(hm_req *r);
enum MHD_Result hm_api_fonts(hm_req *r);
enum MHD_Result hm_api_sprite(hm_req *r);

/* api_points.c */
enum MHD_Result hm_api_points_list(hm_req *r);
enum MHD_Result hm_api_points_nearest(hm_req *r);
enum MHD_Result hm_api_point_get(hm_req *r);
enum MHD_Result hm_api_point_create(hm_req *r);
enum MHD_Result hm_api_point_put(hm_req *r);
enum MHD_Result hm_api_point_delete(hm_req *r);
enum MHD_Result hm_api_geo_parse(hm_req *r);

/* api_loop.c (issue 17) */
enum MHD_Result hm_api_request_receipt(hm_req *r);
enum MHD_Result hm_api_results(hm_req *r);
enum MHD_Result hm_api_results_page(hm_req *r);
enum MHD_Result hm_api_track_page(hm_req *r);
enum MHD_Result hm_api_track_cancel(hm_req *r);
enum MHD_Result hm_api_track_receipt(hm_req *r);

/* api_tiles.c */
enum MHD_Result hm_api_tile(hm_req *r);
enum MHD_Result hm_api_tilejson(hm_req *r);

#endif
