/* core.h: one running helpmap core — what the server decides and keeps, without HTTP. Owns
 * the configuration, the writer (every change to the store goes through it), the in-memory
 * indexes that follow the store, the event hub and its publisher, the tile cache, the rate
 * limiters and the alert queue. The HTTP edge (server/http) parses a request, calls one of the
 * hm_core_* functions declared in the core's headers (requests.h, teams.h, areas.h, views.h)
 * and renders what it returns; the command line (server/main.c) starts and stops it.
 *
 * Threads: hm_core_start() and the shutdown functions run on the main thread; every other
 * function may be called from any thread at once unless it says otherwise. Reads run on the
 * calling thread with its own store connection (worker.h); writes are jobs the caller submits
 * to the writer (hm_core_submit) and whose result it reads after `notify`. */
#ifndef HM_CORE_H
#define HM_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "area.h"
#include "hm_error.h"
#include "writer.h"

struct hm_events;
struct hm_ratelimit;
struct hm_tile_cache;
struct hm_tally;
struct hm_publisher;
struct hm_open_index;
struct hm_team_index;
struct hm_alerts;
struct hm_gazetteer;
struct hm_mbtiles;
struct hm_relief_index;
struct hm_results_cache;
struct hm_holds;

typedef struct hm_core_config {
    const char *db_path;
    /* Public creations a minute per client address and phone (one device behind its address;
     * 0 = off); and a minute per client address whatever the phone (many phones behind one
     * carrier NAT share an address: a higher ceiling; 0 = off). */
    int rate_limit;
    int address_rate_limit;
    int phone_rate_limit; /* creations an hour per phone; 0 = off */
    bool no_default_areas;
    const char *code_prefix;  /* "CC" */
    int claim_timeout_s;      /* 7200 */
    int claim_cap;            /* 5 */
    int alert_teams;          /* 3 */
    int alert_escalate_s;     /* 600 */
    int max_subscribers;      /* 10000 */
    long tile_cache_mb;       /* -1: the cache's default; 0: keep no tile */
    const char *basemap_path; /* MBTiles street map to serve (--basemap), or NULL */
    int hold_releases;        /* releases a volunteer team may make in an hour; 0 off (10) */
    /* Event streams (issue 11): public streams per client address (0: no cap), and the share
     * of max_subscribers anonymous streams may take, in percent (token holders keep the
     * rest). */
    int max_streams_per_client; /* 8 */
    int public_stream_percent;  /* 80 */
} hm_core_config;

/* The defaults of `helpmap serve`. */
void hm_core_config_init(hm_core_config *cfg);

typedef struct hm_core {
    hm_core_config cfg;
    hm_writer *writer;
    /* The point-to-area index of the committed areas, replaced by the follower under
     * areas_lock (written), read under it (read). */
    hm_area_index *areas;
    pthread_rwlock_t areas_lock;
    /* Grows (atomically) each time the follower replaces `areas`: cached area answers made
     * under an older value are stale. */
    unsigned long areas_gen;
    struct hm_areas_cache *areas_cache; /* rendered GET /areas answers (areas.h) */
    struct hm_follower *follower;       /* applies the store's change log (follow.c) */
    struct hm_open_index *open;         /* open requests without contact data */
    struct hm_team_index *teams;
    struct hm_relief_index *reliefs; /* relief points (public places) */
    struct hm_tally *tally;          /* live counts */
    struct hm_events *events;
    /* Renders and sends the events of committed changes, in commit order. */
    struct hm_publisher *publisher;
    struct hm_tile_cache *tiles;
    struct hm_ratelimit *ratelimit;
    struct hm_ratelimit *phone_limit;
    struct hm_ratelimit *address_limit;
    struct hm_alerts *alerts;         /* new requests waiting for escalation */
    struct hm_mbtiles *basemap;       /* the street map (read-only), NULL without --basemap */
    struct hm_gazetteer *places;      /* the place index and its rebuilding thread */
    struct hm_results_cache *results; /* area names for /results (results.h) */
    struct hm_holds *holds;           /* volunteer teams held from claiming (core_int.h) */
    int64_t started_ms;
    int64_t idem_purged_ms; /* writer tick: when first answers were last purged (issue 17) */
} hm_core;

/* Open (creating when missing, with the default areas unless cfg->no_default_areas) the
 * database, load the indexes, start the event hub, the publisher and the writer. `cfg` is
 * copied; its strings are borrowed and must outlive the core. Returns NULL with `err`
 * filled. */
hm_core *hm_core_start(const hm_core_config *cfg, hm_error *err);
/* First step of a shutdown, before the HTTP edge stops: end every event stream, finish and
 * answer the queued writes, stop the writer. */
void hm_core_shutdown(hm_core *c);
/* Free everything, after the HTTP edge stopped. Accepts NULL. */
void hm_core_destroy(hm_core *c);

/* Queue `job` on the writer; its notify runs when it is done (rc and err final). */
void hm_core_submit(hm_core *c, hm_job *job);

/* The event hub, for the edge's stream transport (server/http/sse.c). */
struct hm_events *hm_core_events(hm_core *c);

#endif
