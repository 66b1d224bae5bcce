/* core.c: starting and stopping a core, loading its indexes, the writer's tick; see core.h. */
#include "core.h"

#include "areas.h"
#include "cache.h"
#include "core_int.h"
#include "events.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "idempotency.h"
#include "mbtiles.h"
#include "model.h"
#include "openindex.h"
#include "publisher.h"
#include "ratelimit.h"
#include "reliefindex.h"
#include "results.h"
#include "teamindex.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

void hm_core_config_init(hm_core_config *cfg)
{
    *cfg = (hm_core_config){
        .db_path = "data/helpmap.db",
        .rate_limit = 10,
        .address_rate_limit = 300,
        .phone_rate_limit = 5,
        .code_prefix = "CC",
        .claim_timeout_s = 7200,
        .claim_cap = 5,
        .alert_teams = 3,
        .alert_escalate_s = 600,
        .max_subscribers = 10000,
        .tile_cache_mb = -1,
        .hold_releases = 10,
        .max_streams_per_client = 8,
        .public_stream_percent = 80,
    };
}

/* ---- loading ---- */

/* The indexes from `st` and the id of the last change they hold, read in one transaction so
 * that the follower continues exactly where the load ended. */
static int load(hm_core *c, hm_store *st, int64_t *last, hm_error *err)
{
    int rc = hm_store_begin(st, false, err);
    if (rc)
        return rc;
    if ((rc = hm_store_change_last(st, last, err)) || (rc = hm_core__load_indexes(c, st, err))) {
        hm_store_rollback(st);
        return rc;
    }
    return hm_store_commit(st, err);
}

/* ---- the writer's tick ---- */

static void tick(hm_store *st, void *arg)
{
    hm_core *c = arg;
    int64_t now = hm_now_ms();
    hm_core__claim_timeouts(c, st, now);
    hm_alerts__escalate(c, st, now);
    /* First answers of creations with an Idempotency-Key live 24 h (issue 17). */
    if (now - c->idem_purged_ms >= 60000) {
        hm_error err = {0};
        int64_t n = 0;
        c->idem_purged_ms = now;
        if (hm_store_idem_purge(st, now - HM_IDEM_TTL_MS, &n, &err))
            hm_log(HM_LOG_WARN, "event=idempotency_purge_failed msg=\"%s\"", err.msg);
        else if (n)
            hm_log(HM_LOG_DEBUG, "event=idempotency_purged records=%lld", (long long)n);
    }
}

/* ---- life cycle ---- */

static struct hm_tile_cache *tile_cache(const hm_core_config *cfg, hm_error *err)
{
    hm_tile_cache_options to;
    hm_tile_cache_options_init(&to);
    /* Area tiles carry open counts that move with every request: keep them at most 10 s
     * (requests tiles are invalidated per point). */
    to.max_age_s[HM_TILE_WARDS] = to.max_age_s[HM_TILE_FORMER_WARDS] =
        to.max_age_s[HM_TILE_HAMLETS] = 10;
    /* 0: a one-byte bound that no tile fits, so every tile is encoded anew (bench/). */
    if (cfg->tile_cache_mb >= 0)
        to.max_bytes = cfg->tile_cache_mb > 0 ? (size_t)cfg->tile_cache_mb << 20 : 1;
    return hm_tile_cache_create(&to, err);
}

hm_core *hm_core_start(const hm_core_config *cfg, hm_error *err)
{
    hm_core *c = hm_xcalloc(1, sizeof *c);
    hm_events_config ec;
    hm_store *st;

    int64_t last = 0;

    c->cfg = *cfg;
    c->started_ms = hm_now_ms();
    pthread_rwlock_init(&c->areas_lock, NULL);
    c->tally = hm_tally_create();
    c->open = hm_open_index_create();
    c->teams = hm_team_index_create();
    c->reliefs = hm_relief_index_create();
    c->alerts = hm_alerts__create();
    if (cfg->basemap_path && !(c->basemap = hm_mbtiles_open(cfg->basemap_path, err)))
        goto fail;
    c->results = hm_results__create();
    c->holds = hm_holds__create(cfg->hold_releases, 3600);
    if (!(st = hm_store_open(cfg->db_path, HM_STORE_CREATE, err)))
        goto fail;
    if (hm_store_created(st) && !cfg->no_default_areas && hm_areas_import_defaults(st, err)) {
        hm_store_close(st);
        goto fail;
    }
    if (load(c, st, &last, err)) {
        hm_store_close(st);
        goto fail;
    }
    hm_store_close(st);
    memset(&ec, 0, sizeof ec);
    /* Event ids come from the store's change log (follow.c), the same on every server. */
    ec.max_subscribers = cfg->max_subscribers > 0 ? (size_t)cfg->max_subscribers : 10000;
    /* Token holders keep the rest: the command center's stream never waits for the public's
     * (issue 11). At least one public stream whatever the share. */
    if (cfg->public_stream_percent > 0 && cfg->public_stream_percent < 100) {
        ec.max_public = ec.max_subscribers * (size_t)cfg->public_stream_percent / 100;
        if (ec.max_public == 0)
            ec.max_public = 1;
    }
    ec.max_public_per_client = cfg->max_streams_per_client > 0 ? cfg->max_streams_per_client : 0;
    if (!(c->events = hm_events_create(&ec, err)) || !(c->tiles = tile_cache(cfg, err)))
        goto fail;
    c->ratelimit = hm_ratelimit_create(cfg->rate_limit, 60);
    c->phone_limit = hm_ratelimit_create(cfg->phone_rate_limit, 3600);
    c->address_limit = hm_ratelimit_create(cfg->address_rate_limit, 60);
    hm_worker_configure(cfg->db_path);
    /* 4,096 events waiting at most: beyond that the writer waits for the hub. */
    if (!(c->publisher = hm_publisher_start(4096, err)))
        goto fail;
    /* Before the follower: it signals the place index of the changes after `last`. */
    if (hm_core__places_start(c, err) || hm_core__follow_start(c, last, err) ||
        !(c->writer = hm_writer_start(cfg->db_path, tick, hm_core__follow_changes, c, 5000, err)))
        goto fail;
    return c;
fail:
    hm_core_shutdown(c);
    hm_core_destroy(c);
    return NULL;
}

void hm_core_shutdown(hm_core *c)
{
    if (!c)
        return;
    hm_events_shutdown(c->events);
    hm_writer_stop(c->writer);
    hm_core__follow_stop(c);
}

void hm_core_destroy(hm_core *c)
{
    if (!c)
        return;
    if (c->publisher)
        hm_publisher_stop(c->publisher); /* after the writer (no more posts), before the hub */
    hm_events_destroy(c->events);
    hm_writer_destroy(c->writer);
    hm_ratelimit_destroy(c->ratelimit);
    hm_ratelimit_destroy(c->phone_limit);
    hm_ratelimit_destroy(c->address_limit);
    hm_areas__cache_destroy(c->areas_cache);
    hm_tile_cache_destroy(c->tiles);
    hm_tally_destroy(c->tally);
    hm_open_index_destroy(c->open);
    hm_team_index_destroy(c->teams);
    hm_relief_index_destroy(c->reliefs);
    hm_alerts__destroy(c->alerts);
    /* After the HTTP edge stopped (a search may hold the place index until then) and the
     * writer and the follower (they use it), before the areas and the basemap it reads. */
    hm_core__places_stop(c);
    hm_results__destroy(c->results);
    hm_holds__destroy(c->holds);
    hm_area_index_destroy(c->areas);
    pthread_rwlock_destroy(&c->areas_lock);
    hm_mbtiles_close(c->basemap);
    hm_worker_release();
    free(c);
}

void hm_core_submit(hm_core *c, hm_job *job)
{
    hm_writer_submit(c->writer, job);
}

struct hm_events *hm_core_events(hm_core *c)
{
    return c->events;
}
