/* follow.c: what follows a committed change — the in-memory indexes, the live counts and the
 * tile cache take it on the writer thread (so that the next read on this server sees it), and
 * its events are rendered and sent by the publisher thread in commit order (publisher.h), so
 * that the writer never pays for the subscribers. */
#include "core_int.h"

#include "cache.h"
#include "events.h"
#include "hm_buf.h"
#include "model.h"
#include "openindex.h"
#include "present.h"
#include "publisher.h"
#include "teamindex.h"

#include <stdlib.h>
#include <string.h>

void hm_core__filter_init(hm_request_filter *f)
{
    memset(f, 0, sizeof *f);
    f->category = -1;
    f->verified = -1;
}

void hm_core__locate(const hm_area_index *idx, hm_request *r)
{
    const char *codes[HM_LEVEL__COUNT] = {NULL};
    if (idx)
        hm_area_index_locate(idx, r->lon, r->lat, codes);
    snprintf(r->ward_code, sizeof r->ward_code, "%s", codes[HM_LEVEL_WARD] ? codes[0] : "");
    snprintf(r->former_ward_code, sizeof r->former_ward_code, "%s",
             codes[HM_LEVEL_FORMER_WARD] ? codes[1] : "");
    snprintf(r->hamlet_code, sizeof r->hamlet_code, "%s", codes[HM_LEVEL_HAMLET] ? codes[2] : "");
}

/* ---- publishing ---- */

enum { PUB_REQUEST, PUB_CREATED, PUB_TEAM };

typedef struct pub_item {
    hm_pub_job job;
    hm_core *core;
    int kind;
    const char *type; /* the event type */
    hm_request req;   /* without contact data: events never carry it */
    hm_team team;     /* PUB_TEAM */
} pub_item;

static void pub_run(hm_pub_job *job)
{
    pub_item *it = (pub_item *)job;
    hm_core *c = it->core;
    char *pub = NULL, *team = NULL;

    if (it->kind == PUB_TEAM) {
        json_t *o = hm_team_json(&it->team);
        team = json_dumps(o, HM_JSON_FLAGS);
        json_decref(o);
        if (team)
            hm_events_publish(c->events, "team.moved", NULL, team, HM_EV_COORD, NULL, 0);
    } else {
        pub = hm_request_event_text(&it->req, true);
        team = hm_request_event_text(&it->req, false);
        hm_events_publish(c->events, it->type, pub, team, HM_EV_PUBLIC, NULL, 0);
        if (it->kind == PUB_CREATED)
            hm_alerts__created(c, &it->req, team);
    }
    free(pub);
    free(team);
    free(it);
}

/* Writer thread (and start-up) only: the order of posts is the order of commits. */
static void post(hm_core *c, int kind, const char *type, const hm_request *r, const hm_team *t)
{
    pub_item *it;
    if (!c->events)
        return;
    it = hm_xcalloc(1, sizeof *it);
    it->job.run = pub_run;
    it->core = c;
    it->kind = kind;
    it->type = type;
    if (r) {
        it->req = *r;
        it->req.note = it->req.name = it->req.address = it->req.phone = NULL;
    }
    if (t)
        it->team = *t;
    hm_publisher_post(c->publisher, &it->job);
}

void hm_core__request_changed(hm_core *c, const hm_request *after, const hm_tally_row *before,
                              const char *type)
{
    hm_tally_row now;

    hm_open_index_apply(c->open, after);
    hm_tally_row_of(&now, after);
    hm_tally_move(c->tally, before, &now);
    if (c->tiles)
        hm_tile_cache_invalidate_point(c->tiles, hm_snap(after->lon), hm_snap(after->lat));
    post(c, strcmp(type, "request.created") == 0 ? PUB_CREATED : PUB_REQUEST, type, after, NULL);
}

void hm_core__team_changed(hm_core *c, const hm_team *t, bool publish)
{
    hm_team_index_apply(c->teams, t);
    if (publish)
        post(c, PUB_TEAM, "team.moved", NULL, t);
}
