/* alerts.c: request.alert — a new request goes to the nearest available teams at once, and to
 * the next ones when nobody claimed it within the escalation time (SPEC "/events"). */
#include "core_int.h"

#include "events.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"
#include "present.h"
#include "teamindex.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ALERTED 8 /* --alert-teams is at most 8 */

/* New requests waiting for escalation, oldest first: records of `stride` int64 each —
 * request id, creation time (ms), how many teams were alerted, their ids (`want` of them at
 * most). Appended by the publisher thread, taken from the front by the writer's tick, under
 * `mu`. Compact because every new request has one for 10 minutes (issue 7: memory). */
struct hm_alerts {
    pthread_mutex_t mu;
    int64_t *recs;
    size_t head, tail, cap; /* records; [head, tail) are waiting */
    size_t stride;          /* fixed by the first record */
};

struct hm_alerts *hm_alerts__create(void)
{
    struct hm_alerts *a = hm_xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void hm_alerts__destroy(struct hm_alerts *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a->recs);
    free(a);
}

static size_t wanted(const hm_core *c)
{
    size_t want = c->cfg.alert_teams > 0 ? (size_t)c->cfg.alert_teams : 3;
    return want > MAX_ALERTED ? MAX_ALERTED : want;
}

static void push(struct hm_alerts *a, int64_t request_id, int64_t created_ms, const int64_t *teams,
                 size_t n, size_t want)
{
    int64_t *rec;
    pthread_mutex_lock(&a->mu);
    if (!a->stride)
        a->stride = 3 + want;
    if (n > a->stride - 3)
        n = a->stride - 3;
    if (a->tail == a->cap) {
        if (a->head > a->cap / 2) {
            memmove(a->recs, a->recs + a->head * a->stride,
                    (a->tail - a->head) * a->stride * sizeof *a->recs);
        } else {
            int64_t *grown;
            a->cap = a->cap ? a->cap * 2 : 256;
            grown = hm_xmalloc(a->cap * a->stride * sizeof *a->recs);
            if (a->tail > a->head)
                memcpy(grown, a->recs + a->head * a->stride,
                       (a->tail - a->head) * a->stride * sizeof *a->recs);
            free(a->recs);
            a->recs = grown;
        }
        a->tail -= a->head;
        a->head = 0;
    }
    rec = a->recs + a->tail++ * a->stride;
    rec[0] = request_id;
    rec[1] = created_ms;
    rec[2] = (int64_t)n;
    memcpy(rec + 3, teams, n * sizeof *teams);
    pthread_mutex_unlock(&a->mu);
}

size_t hm_alerts__targets(hm_core *c, const hm_request *r, int64_t *out)
{
    return hm_team_index_nearest(c->teams, r->lon, r->lat, hm_now_ms(), wanted(c), NULL, 0, out,
                                 NULL);
}

void hm_alerts__created(hm_core *c, const hm_request *r, const char *team_text, uint64_t id,
                        const int64_t *teams, size_t n)
{
    if (n > 0 && team_text)
        hm_events_publish_id(c->events, id, "request.alert", NULL, team_text, HM_EV_TARGET, teams,
                             n);
    push(c->alerts, r->id, r->created_at, teams, n, wanted(c));
}

void hm_alerts__escalate(hm_core *c, hm_store *st, int64_t now)
{
    struct hm_alerts *a = c->alerts;
    int64_t *due = NULL;
    size_t n_due = 0, stride;

    /* The due ones are taken from the front under the lock, then looked at without it. */
    pthread_mutex_lock(&a->mu);
    stride = a->stride;
    while (a->head < a->tail &&
           now - a->recs[a->head * stride + 1] >= (int64_t)c->cfg.alert_escalate_s * 1000) {
        due = hm_xrealloc(due, (n_due + 1) * stride * sizeof *due);
        memcpy(due + n_due * stride, a->recs + a->head * stride, stride * sizeof *due);
        n_due++;
        a->head++;
    }
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < n_due; i++) {
        const int64_t *rec = due + i * stride;
        hm_request r;
        if (hm_store_request_get_id(st, rec[0], &r, NULL) != HM_OK)
            continue;
        if (r.status == HM_ST_NEW) {
            int64_t next[MAX_ALERTED];
            size_t n_first = (size_t)rec[2];
            size_t n =
                hm_team_index_nearest(c->teams, r.lon, r.lat, now, n_first ? n_first : wanted(c),
                                      rec + 3, n_first, next, NULL);
            if (n > 0 && c->events) {
                hm_request pub = r;
                char *text;
                hm_request_drop_text(&pub); /* events never carry contact data */
                text = hm_core__request_event_text(c, &pub, false);
                hm_events_publish(c->events, "request.alert", NULL, text, HM_EV_TARGET, next, n);
                free(text);
            }
        }
        hm_request_clear(&r);
    }
    free(due);
}
