/* api.h: the HTTP handlers, one per route (api_*.c). Each takes an hm_req
 * whose path parameters are in r->params and answers with hm_http_*. */
#ifndef HM_API_H
#define HM_API_H

#include "http.h"

/* api_requests.c */
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

/* api_teams.c */
enum MHD_Result hm_api_nearby(hm_req *r);
enum MHD_Result hm_api_responders(hm_req *r);
enum MHD_Result hm_api_team_location(hm_req *r);
enum MHD_Result hm_api_team_status(hm_req *r);
enum MHD_Result hm_api_teams_list(hm_req *r);
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

/* api_tiles.c */
enum MHD_Result hm_api_tile(hm_req *r);
enum MHD_Result hm_api_tilejson(hm_req *r);

#endif
