#include "metrics.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_ROUTES 64
static const unsigned status_list[] = {0,   200, 201, 204, 304, 400, 401, 403, 404,
                                       405, 409, 413, 422, 429, 431, 500, 503};
#define N_STATUS (sizeof status_list / sizeof status_list[0])
static const double buckets_ms[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
#define N_BUCKETS (sizeof buckets_ms / sizeof buckets_ms[0])

static uint64_t counts[MAX_ROUTES + 1][N_STATUS + 1];
static uint64_t hist[N_BUCKETS + 1];
static uint64_t hist_sum_us;

void hm_metrics_observe(int route_id, unsigned status, double ms)
{
    size_t ri = route_id >= 0 && route_id < MAX_ROUTES ? (size_t)route_id : MAX_ROUTES;
    size_t si = N_STATUS;
    size_t b = N_BUCKETS;
    for (size_t i = 0; i < N_STATUS; i++)
        if (status_list[i] == status)
            si = i;
    __atomic_add_fetch(&counts[ri][si], 1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (ms <= buckets_ms[i]) {
            b = i;
            break;
        }
    __atomic_add_fetch(&hist[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&hist_sum_us, (uint64_t)(ms * 1000), __ATOMIC_RELAXED);
}

void hm_metrics_render(hm_buf *out, const char *const *names, const char *const *methods,
                       int n_routes)
{
    uint64_t cum = 0;
    hm_buf_puts(out, "# HELP helpmap_http_requests_total HTTP requests answered, by method, route "
                     "and status.\n# TYPE helpmap_http_requests_total counter\n");
    for (int r = 0; r <= MAX_ROUTES; r++) {
        const bool known = r < n_routes && r < MAX_ROUTES;
        const char *name = known ? names[r] : "other";
        const char *method = known ? methods[r] : "other";
        if (r >= n_routes && r < MAX_ROUTES)
            continue;
        for (size_t s = 0; s <= N_STATUS; s++) {
            uint64_t c = __atomic_load_n(&counts[r][s], __ATOMIC_RELAXED);
            char status[16];
            if (!c)
                continue;
            if (s < N_STATUS)
                snprintf(status, sizeof status, "%u", status_list[s]);
            else
                snprintf(status, sizeof status, "other");
            hm_buf_printf(out,
                          "helpmap_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} "
                          "%llu\n",
                          method, name, status, (unsigned long long)c);
        }
    }
    hm_buf_puts(out, "# HELP helpmap_http_request_duration_seconds Time to answer.\n"
                     "# TYPE helpmap_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= N_BUCKETS; i++) {
        cum += __atomic_load_n(&hist[i], __ATOMIC_RELAXED);
        if (i < N_BUCKETS)
            hm_buf_printf(out, "helpmap_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                          buckets_ms[i] / 1000.0, (unsigned long long)cum);
        else
            hm_buf_printf(out, "helpmap_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                          (unsigned long long)cum);
    }
    hm_buf_printf(out, "helpmap_http_request_duration_seconds_sum %.6f\n",
                  __atomic_load_n(&hist_sum_us, __ATOMIC_RELAXED) / 1e6);
    hm_buf_printf(out, "helpmap_http_request_duration_seconds_count %llu\n",
                  (unsigned long long)cum);
}
