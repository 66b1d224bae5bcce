#include "worker.h"

#include "hm_buf.h"
#include "hm_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_key_t worker_key;
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;
static const char *worker_db;

static void worker_destroy(void *p)
{
    hm_worker *w = p;
    if (!w)
        return;
    hm_store_close(w->store);
    if (w->geos)
        GEOS_finish_r(w->geos);
    free(w);
}

static void make_key(void)
{
    pthread_key_create(&worker_key, worker_destroy);
}

void hm_worker_configure(const char *db_path)
{
    pthread_once(&worker_once, make_key);
    worker_db = db_path;
}

static void on_geos_error_r(const char *msg, void *userdata)
{
    hm_worker *w = userdata;
    snprintf(w->geos_msg, sizeof w->geos_msg, "%s", msg);
}

hm_worker *hm_worker_get(hm_error *err)
{
    hm_worker *w;
    pthread_once(&worker_once, make_key);
    w = pthread_getspecific(worker_key);
    if (w)
        return w;
    w = hm_xcalloc(1, sizeof *w);
    w->store = hm_store_open(worker_db, 0, err);
    if (!w->store) {
        free(w);
        return NULL;
    }
    w->geos = GEOS_init_r();
    GEOSContext_setErrorMessageHandler_r(w->geos, on_geos_error_r, w);
    pthread_setspecific(worker_key, w);
    return w;
}

hm_worker *hm_worker_peek(void)
{
    pthread_once(&worker_once, make_key);
    return pthread_getspecific(worker_key);
}

void hm_worker_release(void)
{
    hm_worker *w;
    pthread_once(&worker_once, make_key);
    w = pthread_getspecific(worker_key);
    pthread_setspecific(worker_key, NULL);
    worker_destroy(w);
}

bool hm_worker_quiesce(char *what, size_t what_size)
{
    hm_worker *w = hm_worker_peek();
    return !w || hm_store_quiesce(w->store, what, what_size);
}
