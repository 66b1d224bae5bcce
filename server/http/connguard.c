/* connguard.c: connections per client and request deadlines; see connguard.h. */
#include "connguard.h"

#include "hm_buf.h"
#include "hm_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>

#define COUNT_BUCKETS 4096
#define TICK_MS       250

typedef struct guard_conn {
    struct guard_conn *prev, *next; /* g->conns */
    int fd;
    int64_t deadline_ms; /* CLOCK_MONOTONIC; 0: none */
    char key[HM_CLIENT_KEY_SIZE];
    bool counted; /* in its client's count */
    bool cut;     /* shut down by the guard */
    bool proxy;   /* from a trusted proxy: no header deadline (the proxy has its own) */
} guard_conn;

typedef struct client_count {
    char key[HM_CLIENT_KEY_SIZE];
    unsigned n;
    struct client_count *next;
} client_count;

struct hm_conn_guard {
    hm_conn_guard_config cfg;
    pthread_mutex_t mu;
    guard_conn *conns;
    client_count *counts[COUNT_BUCKETS];
    pthread_t thread;
    pthread_cond_t cv;
    bool stop, started;
    unsigned long long cut_total;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void key_of_sockaddr(const struct sockaddr *sa, char key[HM_CLIENT_KEY_SIZE])
{
    char text[INET6_ADDRSTRLEN] = "unknown";
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof text);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof text);
    hm_client_key(text, key);
}

static bool exempt(const hm_conn_guard *g, const struct sockaddr *sa)
{
    char text[INET6_ADDRSTRLEN];
    if (!g->cfg.exempt || !sa)
        return false;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof text);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof text);
    else
        return false;
    return hm_addr_list_has(g->cfg.exempt, text);
}

/* The count of `key`, created when `create`. Caller holds g->mu. */
static client_count **count_slot(hm_conn_guard *g, const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    client_count **pp;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (pp = &g->counts[h % COUNT_BUCKETS]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0)
            break;
    return pp;
}

static unsigned count_of(hm_conn_guard *g, const char *key)
{
    client_count **pp = count_slot(g, key);
    return *pp ? (*pp)->n : 0;
}

static void count_add(hm_conn_guard *g, const char *key, int delta)
{
    client_count **pp = count_slot(g, key), *c = *pp;
    if (!c) {
        if (delta < 0)
            return;
        c = *pp = hm_xcalloc(1, sizeof *c);
        snprintf(c->key, sizeof c->key, "%s", key);
    }
    if (delta > 0)
        c->n++;
    else if (c->n > 0)
        c->n--;
    if (c->n == 0) {
        *pp = c->next;
        free(c);
    }
}

enum MHD_Result hm_conn_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    hm_conn_guard *g = cls;
    char key[HM_CLIENT_KEY_SIZE];
    bool ok;
    (void)addrlen;
    if (!g->cfg.max_per_client || exempt(g, addr))
        return MHD_YES;
    key_of_sockaddr(addr, key);
    pthread_mutex_lock(&g->mu);
    ok = count_of(g, key) < g->cfg.max_per_client;
    pthread_mutex_unlock(&g->mu);
    if (!ok)
        hm_log(HM_LOG_DEBUG, "event=connection_refused reason=per_client_cap");
    return ok ? MHD_YES : MHD_NO;
}

/* Cut `c` (caller holds g->mu; the connection is not closed yet). */
static void cut(hm_conn_guard *g, guard_conn *c)
{
    if (c->cut || c->fd < 0)
        return;
    c->cut = true;
    g->cut_total++;
    shutdown(c->fd, SHUT_RDWR);
}

void hm_conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    hm_conn_guard *g = cls;
    guard_conn *c;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ai ? ai->client_addr : NULL;
        c = hm_xcalloc(1, sizeof *c);
        c->fd = fi ? fi->connect_fd : -1;
        c->proxy = exempt(g, sa);
        key_of_sockaddr(sa, c->key);
        pthread_mutex_lock(&g->mu);
        c->deadline_ms = g->cfg.header_timeout_s > 0 && !c->proxy
                             ? mono_ms() + (int64_t)g->cfg.header_timeout_s * 1000
                             : 0;
        if (g->cfg.max_per_client && !c->proxy) {
            /* Accepted by several threads at once past the cap: cut here. */
            if (count_of(g, c->key) >= g->cfg.max_per_client) {
                cut(g, c);
            } else {
                c->counted = true;
                count_add(g, c->key, +1);
            }
        }
        c->next = g->conns;
        if (g->conns)
            g->conns->prev = c;
        g->conns = c;
        pthread_mutex_unlock(&g->mu);
        *socket_context = c;
        return;
    }
    /* Closed (libmicrohttpd closes the socket after this returns). */
    if (!(c = *socket_context))
        return;
    *socket_context = NULL;
    pthread_mutex_lock(&g->mu);
    if (c->counted)
        count_add(g, c->key, -1);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&g->mu);
    free(c);
}

static guard_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Set the connection's deadline `timeout_s` from now (0: none); a header deadline
 * (`header`) is none for a trusted proxy's connection. */
static void set_deadline(hm_conn_guard *g, struct MHD_Connection *conn, int timeout_s, bool header)
{
    guard_conn *c;
    if (!g || !(c = conn_of(conn)))
        return;
    pthread_mutex_lock(&g->mu);
    c->deadline_ms =
        timeout_s > 0 && !(header && c->proxy) ? mono_ms() + (int64_t)timeout_s * 1000 : 0;
    pthread_mutex_unlock(&g->mu);
}

void hm_conn_guard_header_done(hm_conn_guard *g, struct MHD_Connection *conn)
{
    set_deadline(g, conn, g ? g->cfg.body_timeout_s : 0, false);
}

void hm_conn_guard_handled(hm_conn_guard *g, struct MHD_Connection *conn)
{
    set_deadline(g, conn, 0, false);
}

void hm_conn_guard_request_done(hm_conn_guard *g, struct MHD_Connection *conn)
{
    set_deadline(g, conn, g ? g->cfg.header_timeout_s : 0, true);
}

static void *guard_main(void *arg)
{
    hm_conn_guard *g = arg;
    struct timespec until;

    prctl(PR_SET_NAME, "hm-connguard", 0, 0, 0);
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        int64_t now = mono_ms();
        for (guard_conn *c = g->conns; c; c = c->next)
            if (c->deadline_ms && now >= c->deadline_ms)
                cut(g, c);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!g->stop && pthread_cond_timedwait(&g->cv, &g->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

hm_conn_guard *hm_conn_guard_create(const hm_conn_guard_config *cfg, hm_error *err)
{
    hm_conn_guard *g = hm_xcalloc(1, sizeof *g);
    pthread_condattr_t ca;
    g->cfg = *cfg;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&g->thread, NULL, guard_main, g) != 0) {
        hm_conn_guard_destroy(g);
        hm_error_set(err, HM_E_INTERNAL, NULL, "cannot start the connection guard thread");
        return NULL;
    }
    g->started = true;
    return g;
}

void hm_conn_guard_destroy(hm_conn_guard *g)
{
    if (!g)
        return;
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    /* libmicrohttpd stopped: every connection was closed and notified. */
    for (guard_conn *c = g->conns, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    for (size_t i = 0; i < COUNT_BUCKETS; i++)
        for (client_count *c = g->counts[i], *n; c; c = n) {
            n = c->next;
            free(c);
        }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
