/* holds.c: volunteer teams held from claiming after too many claim-and-release cycles; see
 * core_int.h ("Holds"). */
#include "core_int.h"

#include "hm_buf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RELEASES 64 /* releases remembered per team: more than any sane limit */

typedef struct hold {
    int64_t team_id;
    int64_t at[MAX_RELEASES]; /* ring of the latest releases, ms */
    size_t n, next;
    int64_t until; /* held until, ms; 0 when never held */
} hold;

struct hm_holds {
    pthread_mutex_t mu;
    int limit;         /* releases allowed within the window; 0: off */
    int64_t window_ms; /* the window, and how long a hold lasts */
    hold *items;
    size_t n, cap;
};

struct hm_holds *hm_holds__create(int limit, int window_s)
{
    struct hm_holds *h = hm_xcalloc(1, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    h->limit = limit < 0 ? 0 : limit >= MAX_RELEASES ? MAX_RELEASES - 1 : limit;
    h->window_ms = (int64_t)window_s * 1000;
    return h;
}

void hm_holds__destroy(struct hm_holds *h)
{
    if (!h)
        return;
    free(h->items);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* The record of `team_id`, created when `create`. Caller holds the mutex. */
static hold *find(struct hm_holds *h, int64_t team_id, bool create)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->items[i].team_id == team_id)
            return &h->items[i];
    if (!create)
        return NULL;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->items = hm_xrealloc(h->items, h->cap * sizeof *h->items);
    }
    memset(&h->items[h->n], 0, sizeof h->items[h->n]);
    h->items[h->n].team_id = team_id;
    return &h->items[h->n++];
}

bool hm_holds__release(struct hm_holds *h, int64_t team_id, int64_t now)
{
    hold *t;
    size_t within = 0;
    bool held = false;

    if (!h || h->limit <= 0 || team_id <= 0)
        return false;
    pthread_mutex_lock(&h->mu);
    t = find(h, team_id, true);
    t->at[t->next] = now;
    t->next = (t->next + 1) % MAX_RELEASES;
    if (t->n < MAX_RELEASES)
        t->n++;
    for (size_t i = 0; i < t->n; i++)
        within += now - t->at[i] < h->window_ms;
    if (within > (size_t)h->limit && t->until <= now) {
        t->until = now + h->window_ms;
        held = true;
    }
    pthread_mutex_unlock(&h->mu);
    return held;
}

int64_t hm_holds__until(struct hm_holds *h, int64_t team_id, int64_t now)
{
    hold *t;
    int64_t until = 0;
    if (!h)
        return 0;
    pthread_mutex_lock(&h->mu);
    if ((t = find(h, team_id, false)) && t->until > now)
        until = t->until;
    pthread_mutex_unlock(&h->mu);
    return until;
}
