/* core.h: the state of one running helpmap core — configuration, the writer, the in-memory
 * indexes, the event hub and its publisher, the tile cache and the rate limiters — shared by
 * the core's modules and handed to the HTTP edge. No HTTP types: the edge keeps its own
 * state (http.h). Immutable after start-up except where a field says which lock or thread
 * owns it. */
#ifndef HM_CORE_H
#define HM_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "area.h"
#include "pointindex.h"
#include "store.h"
#include "writer.h"

struct hm_events;
struct hm_ratelimit;
struct hm_tile_cache;

typedef struct hm_core_config {
    const char *db_path;
    int rate_limit;       /* creations a minute per client address; 0 = off */
    int phone_rate_limit; /* creations an hour per phone; 0 = off */
    bool no_default_areas;
    const char *code_prefix; /* "CC" */
    int claim_timeout_s;     /* 7200 */
    int claim_cap;           /* 5 */
    int alert_teams;         /* 3 */
    int alert_escalate_s;    /* 600 */
    int max_subscribers;     /* 10000 */
} hm_core_config;

typedef struct hm_core {
    hm_core_config cfg;
    hm_writer *writer;
    /* Owned by the writer thread: replaced only by it, read only by it. */
    hm_area_index *areas;
    /* Open requests (tag = category, aux = team id, data = the hm_request without its
     * contact data, kept current by the writer) and team positions (tag = status,
     * aux = position time); internally locked. */
    hm_pointindex *open_requests;
    hm_pointindex *team_positions;
    struct hm_events *events;
    /* Renders and sends the events of committed changes, in commit order (NULL: the writer
     * does it itself). */
    struct hm_publisher *publisher;
    struct hm_tile_cache *tiles; /* internally locked */
    struct hm_tally *tally;      /* live counts; internally locked, moved by the writer */
    struct hm_ratelimit *ratelimit;
    struct hm_ratelimit *phone_limit;
    int64_t started_ms;
} hm_core;

#endif
