/* metrics.h: counters for /metrics (Prometheus text): requests by route and
 * status, a latency histogram. Lock-free (atomics); thread-safe. */
#ifndef HM_METRICS_H
#define HM_METRICS_H

#include "hm_buf.h"

/* Count one answered request of route `route_id` (-1: static or unknown). */
void hm_metrics_observe(int route_id, unsigned status, double ms);
/* Append the counters in Prometheus text format: one series per method, route and status (a
 * route template is the same for GET and POST: the method keeps their series apart); route
 * templates and methods by route id from `names` and `methods`. */
void hm_metrics_render(hm_buf *out, const char *const *names, const char *const *methods,
                       int n_routes);

#endif
