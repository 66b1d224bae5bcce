/* test_events.c: the SSE hub (server/events.c) behind a real MHD daemon on 127.0.0.1, port 0,
 * read by plain-socket clients that speak HTTP/1.1 and decode chunked SSE.
 * Built twice: `test_events` (the ctest suite) and, with HM_EVENTS_LOAD_MAIN, `events_load`,
 * the by-hand load check of SPEC's /events figure. */
#include "hm_buf.h"
#include "hm_test.h"
#include "sse.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000 /* upper bound of every wait; the tests normally take milliseconds */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    return mono_ns() / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- server: a daemon whose only route is the event stream ---- */

typedef struct server {
    hm_events *ev;
    struct MHD_Daemon *d;
    uint16_t port;
    atomic_int last_rc; /* what the last hm_sse_serve() returned */
} server;

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Test-only identities: X-Role and X-Team headers stand in for a Bearer token;
 * ?ticket= is redeemed as the real handler will do it. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    static int marker;
    server *srv = cls;
    hm_events_who who = {.role = HM_EV_ROLE_PUBLIC};
    const char *role = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Role");
    const char *team = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Team");
    const char *request = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request");
    const char *ticket = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ticket");
    hm_error err;
    int rc;

    (void)url, (void)method, (void)version, (void)upload_data, (void)upload_data_size;
    if (*req_cls == NULL) {
        *req_cls = &marker;
        return MHD_YES;
    }
    if (role)
        who.role = atoi(role);
    if (team)
        who.team_id = strtoll(team, NULL, 10);
    if (request)
        who.request_id = strtoll(request, NULL, 10);
    if (ticket && hm_events_ticket_redeem(srv->ev, ticket, &who) != HM_OK)
        return answer(conn, 401, "{\"error\":{\"code\":\"unauthorized\"}}");
    hm_error_clear(&err);
    rc = hm_sse_serve(srv->ev, conn, &who, hm_sse_last_event_id(conn), &err);
    atomic_store(&srv->last_rc, rc);
    if (rc == HM_E_UNAVAILABLE)
        return answer(conn, 503, "{\"error\":{\"code\":\"unavailable\"}}");
    return rc == HM_OK ? MHD_YES : MHD_NO;
}

static bool server_start(server *srv, const hm_events_config *cfg, unsigned threads,
                         unsigned conn_limit)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    hm_error err;

    memset(srv, 0, sizeof *srv);
    hm_error_clear(&err);
    srv->ev = hm_events_create(cfg, &err);
    if (!srv->ev) {
        fprintf(stderr, "hm_events_create: %s\n", err.msg);
        return false;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The flags and limits of server/http.c. No MHD_USE_ERROR_LOG: clients that hang up are
     * routine here. A pool of 1 is no pool. */
    srv->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO,
        0, NULL, NULL, handler, srv, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_CONNECTION_LIMIT,
        conn_limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)64 * 1024, MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0, MHD_OPTION_END);
    if (!srv->d) {
        fprintf(stderr, "MHD_start_daemon failed\n");
        hm_events_destroy(srv->ev);
        return false;
    }
    info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : 0;
    return srv->port != 0;
}

/* The documented order: end the streams, stop MHD, free the hub. */
static void server_stop(server *srv)
{
    hm_events_shutdown(srv->ev);
    MHD_stop_daemon(srv->d);
    hm_events_destroy(srv->ev);
}

/* ---- client: HTTP/1.1 over a socket, chunked decoding, SSE parsing ---- */

typedef struct sse_event {
    uint64_t id;
    char *type;
    char *data;
} sse_event;

typedef struct client client;
struct client {
    int fd;
    int status; /* 0 until the status line arrived */
    bool headers_done, chunked, event_stream, eof, last_chunk;
    hm_buf in; /* raw bytes after in_off not yet decoded */
    size_t in_off;
    hm_buf body; /* decoded body after body_off not yet parsed */
    size_t body_off;
    size_t chunk_left;
    enum { CH_SIZE, CH_DATA, CH_CRLF } cstate;
    sse_event *evs; /* events received, unless on_event is set */
    size_t n_evs, cap_evs;
    int n_ok, n_heartbeat, n_lagged;
    char lag_text[128];
    void (*on_event)(client *c, uint64_t id, const char *type, const char *data);
    void (*on_ok)(client *c);
    void *arg;
};

static void client_init(client *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    hm_buf_init(&c->in);
    hm_buf_init(&c->body);
}

/* Connect and send GET `path` with `headers` (each line ending in \r\n, or NULL).
 * `rcvbuf` > 0 shrinks the receive buffer (a slow client's window). */
static bool client_open(client *c, uint16_t port, const char *path, const char *headers, int rcvbuf)
{
    struct sockaddr_in sa;
    char req[1024];
    int n;

    client_init(c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    if (rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return false;
    n = snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n%s\r\n", path,
                 headers ? headers : "");
    return n > 0 && (size_t)n < sizeof req && send(c->fd, req, (size_t)n, MSG_NOSIGNAL) == n;
}

static void client_close(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    for (size_t i = 0; i < c->n_evs; i++) {
        free(c->evs[i].type);
        free(c->evs[i].data);
    }
    free(c->evs);
    hm_buf_clear(&c->in);
    hm_buf_clear(&c->body);
    c->evs = NULL;
    c->n_evs = c->cap_evs = 0;
}

static void on_block(client *c, char *block)
{
    uint64_t id = 0;
    char *type = NULL;
    hm_buf data;
    bool has_data = false;

    hm_buf_init(&data);
    for (char *line = block, *next; line; line = next) {
        char *colon, *value;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] == ':') {
            if (strcmp(line, ": ok") == 0)
                c->n_ok++;
            else if (strcmp(line, ": heartbeat") == 0)
                c->n_heartbeat++;
            else if (strncmp(line, ": lagged", 8) == 0) {
                c->n_lagged++;
                snprintf(c->lag_text, sizeof c->lag_text, "%s", line);
            }
            continue;
        }
        colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        value = colon + 1 + (colon[1] == ' ');
        if (strcmp(line, "id") == 0)
            id = strtoull(value, NULL, 10);
        else if (strcmp(line, "event") == 0)
            type = value;
        else if (strcmp(line, "data") == 0) {
            if (has_data)
                hm_buf_putc(&data, '\n');
            hm_buf_puts(&data, value);
            has_data = true;
        }
    }
    if (has_data) {
        if (c->on_event) {
            c->on_event(c, id, type ? type : "message", data.data);
        } else {
            if (c->n_evs == c->cap_evs) {
                c->cap_evs = c->cap_evs ? 2 * c->cap_evs : 64;
                c->evs = hm_xrealloc(c->evs, c->cap_evs * sizeof *c->evs);
            }
            c->evs[c->n_evs].id = id;
            c->evs[c->n_evs].type = hm_xstrdup(type ? type : "message");
            c->evs[c->n_evs].data = hm_buf_steal(&data, NULL);
            c->n_evs++;
        }
    }
    hm_buf_clear(&data);
}

static void parse_body(client *c)
{
    int oks = c->n_ok;

    for (;;) {
        char *start = c->body.data + c->body_off;
        char *end = c->body_off < c->body.len ? strstr(start, "\n\n") : NULL;
        if (!end)
            break;
        *end = '\0';
        c->body_off = (size_t)(end - c->body.data) + 2;
        on_block(c, start);
    }
    if (c->body_off == c->body.len) {
        c->body.len = c->body_off = 0;
        if (c->body.data)
            c->body.data[0] = '\0';
    } else if (c->body_off > 65536) {
        memmove(c->body.data, c->body.data + c->body_off, c->body.len - c->body_off + 1);
        c->body.len -= c->body_off;
        c->body_off = 0;
    }
    if (c->n_ok != oks && c->on_ok)
        c->on_ok(c);
}

static void parse_headers(client *c, const char *h)
{
    c->status = atoi(h + 9); /* "HTTP/1.1 200 OK" */
    for (const char *line = strstr(h, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Transfer-Encoding:", 18) == 0 && strstr(line + 2, "chunked") &&
            strstr(line + 2, "chunked") < strstr(line + 2, "\r\n"))
            c->chunked = true;
        if (strncasecmp(line + 2, "Content-Type: text/event-stream", 31) == 0)
            c->event_stream = true;
    }
}

/* Decode what arrived: headers, then the (chunked) body, then SSE blocks. */
static void client_feed(client *c, const char *bytes, size_t n)
{
    hm_buf_append(&c->in, bytes, n);
    if (!c->headers_done) {
        char *end = strstr(c->in.data, "\r\n\r\n");
        if (!end)
            return;
        end[2] = '\0';
        parse_headers(c, c->in.data);
        c->headers_done = true;
        c->in_off = (size_t)(end - c->in.data) + 4;
    }
    while (c->in_off < c->in.len && !c->last_chunk) {
        char *p = c->in.data + c->in_off;
        size_t avail = c->in.len - c->in_off;
        if (!c->chunked) {
            hm_buf_append(&c->body, p, avail);
            c->in_off += avail;
        } else if (c->cstate == CH_SIZE) {
            char *eol = memchr(p, '\n', avail);
            if (!eol)
                break;
            c->chunk_left = strtoul(p, NULL, 16);
            c->in_off += (size_t)(eol - p) + 1;
            if (c->chunk_left == 0)
                c->last_chunk = true;
            else
                c->cstate = CH_DATA;
        } else if (c->cstate == CH_DATA) {
            size_t take = avail < c->chunk_left ? avail : c->chunk_left;
            hm_buf_append(&c->body, p, take);
            c->in_off += take;
            c->chunk_left -= take;
            if (c->chunk_left == 0)
                c->cstate = CH_CRLF;
        } else {
            if (avail < 2)
                break;
            c->in_off += 2;
            c->cstate = CH_SIZE;
        }
    }
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
        c->in.data[0] = '\0';
    } else if (c->in_off > 65536) {
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off + 1);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    if (c->body.len > c->body_off)
        parse_body(c);
}

/* Read what is there (non-blocking socket) or at most until `deadline_ms`. False on EOF,
 * error or timeout. */
static bool client_pump(client *c, int64_t deadline_ms)
{
    char buf[65536];
    struct pollfd pfd = {c->fd, POLLIN, 0};
    int64_t left = deadline_ms - mono_ms();
    ssize_t n;

    if (c->eof || left <= 0)
        return false;
    if (poll(&pfd, 1, (int)left) <= 0)
        return false;
    n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0) {
        c->eof = true;
        return false;
    }
    client_feed(c, buf, (size_t)n);
    return true;
}

#define WAIT_UNTIL(c, cond)                                                                        \
    do {                                                                                           \
        int64_t deadline_ = mono_ms() + WAIT_MS;                                                   \
        while (!(cond) && client_pump((c), deadline_))                                             \
            ;                                                                                      \
    } while (0)

static bool has_id(const client *c, uint64_t id)
{
    return c->n_evs > 0 && c->evs[c->n_evs - 1].id >= id;
}

/* Bounded polling of the hub's count (disconnects are noticed at the next heartbeat). */
static bool wait_count(hm_events *ev, size_t want, int ms)
{
    int64_t deadline = mono_ms() + ms;
    while (hm_events_subscriber_count(ev) != want) {
        if (mono_ms() > deadline)
            return false;
        sleep_ms(5);
    }
    return true;
}

/* Open a stream and wait for its greeting, so that the subscriber is registered. */
static bool subscribe(client *c, server *srv, const char *path, const char *headers)
{
    if (!client_open(c, srv->port, path, headers, 0))
        return false;
    WAIT_UNTIL(c, c->n_ok > 0);
    return c->status == 200 && c->event_stream && c->n_ok == 1;
}

/* ---- tests ---- */

/* Events arrive in order with their ids, each subscriber getting exactly what its role and
 * team may see, in the payload for its audience. */
static void test_audiences(void)
{
    enum { PUB, COORD, T7, T8, N_CLIENTS };
    static const char *const hdr[N_CLIENTS] = {
        NULL,
        "X-Role: 3\r\nX-Team: 1\r\n",
        "X-Role: 1\r\nX-Team: 7\r\n",
        "X-Role: 1\r\nX-Team: 8\r\n",
    };
    static const int64_t team7[] = {7}, team89[] = {8, 9};
    static const struct {
        const char *type, *pub, *team;
        unsigned audience;
        const int64_t *targets;
        size_t n_targets;
        const char *want[N_CLIENTS]; /* payload each client must get, or NULL */
    } cases[] = {
        {"request.created",
         "{\"code\":\"CC-1\",\"view\":\"public\"}",
         "{\"code\":\"CC-1\",\"view\":\"team\"}",
         HM_EV_PUBLIC,
         NULL,
         0,
         {"{\"code\":\"CC-1\",\"view\":\"public\"}", "{\"code\":\"CC-1\",\"view\":\"team\"}",
          "{\"code\":\"CC-1\",\"view\":\"team\"}", "{\"code\":\"CC-1\",\"view\":\"team\"}"}},
        {"team.moved",
         NULL,
         "{\"team_id\":7}",
         HM_EV_COORD,
         NULL,
         0,
         {NULL, "{\"team_id\":7}", NULL, NULL}},
        {"request.alert",
         NULL,
         "{\"code\":\"CC-1\"}",
         HM_EV_TARGET,
         team7,
         1,
         {NULL, NULL, "{\"code\":\"CC-1\"}", NULL}},
        {"request.updated",
         "{\"code\":\"CC-1\",\"status\":\"assigned\"}",
         NULL,
         HM_EV_PUBLIC,
         NULL,
         0,
         {"{\"code\":\"CC-1\",\"status\":\"assigned\"}",
          "{\"code\":\"CC-1\",\"status\":\"assigned\"}",
          "{\"code\":\"CC-1\",\"status\":\"assigned\"}",
          "{\"code\":\"CC-1\",\"status\":\"assigned\"}"}},
        {"request.updated",
         NULL,
         "{\"code\":\"CC-2\"}",
         HM_EV_PUBLIC,
         NULL,
         0,
         {NULL, "{\"code\":\"CC-2\"}", "{\"code\":\"CC-2\"}", "{\"code\":\"CC-2\"}"}},
        {"team.note",
         NULL,
         "{\"n\":1}",
         HM_EV_TEAMS,
         NULL,
         0,
         {NULL, "{\"n\":1}", "{\"n\":1}", "{\"n\":1}"}},
        {"request.alert",
         NULL,
         "{\"code\":\"CC-3\"}",
         HM_EV_TARGET,
         team89,
         2,
         {NULL, NULL, NULL, "{\"code\":\"CC-3\"}"}},
        {"team.moved",
         NULL,
         "{\"team_id\":8}",
         HM_EV_COORD | HM_EV_TARGET,
         team7,
         1,
         {NULL, "{\"team_id\":8}", "{\"team_id\":8}", NULL}},
        {"sync.end",
         "{\"end\":true}",
         NULL,
         HM_EV_PUBLIC,
         NULL,
         0,
         {"{\"end\":true}", "{\"end\":true}", "{\"end\":true}", "{\"end\":true}"}},
    };
    enum { N_CASES = sizeof cases / sizeof cases[0] };
    hm_events_config cfg = {.first_id = 0};
    client c[N_CLIENTS];
    uint64_t ids[N_CASES];
    server srv;

    if (!server_start(&srv, &cfg, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    for (int k = 0; k < N_CLIENTS; k++)
        CHECK(subscribe(&c[k], &srv, "/api/v1/events", hdr[k]));
    CHECK_INT_EQ(hm_events_subscriber_count(srv.ev), N_CLIENTS);
    for (size_t i = 0; i < N_CASES; i++) {
        ids[i] = hm_events_publish(srv.ev, cases[i].type, cases[i].pub, cases[i].team,
                                   cases[i].audience, cases[i].targets, cases[i].n_targets);
        CHECK_INT_EQ(ids[i], i + 1);
    }
    for (int k = 0; k < N_CLIENTS; k++) {
        size_t got = 0;
        WAIT_UNTIL(&c[k], has_id(&c[k], ids[N_CASES - 1]));
        for (size_t i = 0; i < N_CASES; i++) {
            if (!cases[i].want[k])
                continue;
            CHECK(got < c[k].n_evs);
            if (got >= c[k].n_evs)
                break;
            CHECK_INT_EQ(c[k].evs[got].id, ids[i]);
            CHECK_STR_EQ(c[k].evs[got].type, cases[i].type);
            CHECK_STR_EQ(c[k].evs[got].data, cases[i].want[k]);
            got++;
        }
        CHECK_INT_EQ(c[k].n_evs, got);
    }
    {
        hm_events_stats st;
        size_t want = 0;
        for (size_t i = 0; i < N_CASES; i++)
            for (int k = 0; k < N_CLIENTS; k++)
                want += cases[i].want[k] != NULL;
        hm_events_stats_get(srv.ev, &st);
        CHECK_INT_EQ(st.subscribers, N_CLIENTS);
        CHECK_INT_EQ(st.published, N_CASES);
        CHECK_INT_EQ(st.last_id, ids[N_CASES - 1]);
        CHECK_INT_EQ(st.frames_sent, want);
        CHECK_INT_EQ(st.lag_notices, 0);
        CHECK(st.max_delay_us >= 0);
    }
    /* The public stream never carries a team payload. */
    for (size_t i = 0; i < c[PUB].n_evs; i++)
        CHECK(strstr(c[PUB].evs[i].data, "\"team\"") == NULL);
    for (int k = 0; k < N_CLIENTS; k++)
        client_close(&c[k]);
    server_stop(&srv);
}

/* Events a suspended subscriber may not see leave it asleep but caught up: the public stream
 * idles through coordinator-only traffic, then gets the next public event and nothing else. */
static void test_idle_through_hidden_events(void)
{
    client pub, coord;
    server srv;
    uint64_t id = 0;

    if (!server_start(&srv, NULL, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    CHECK(subscribe(&pub, &srv, "/api/v1/events", NULL));
    CHECK(subscribe(&coord, &srv, "/api/v1/events", "X-Role: 3\r\nX-Team: 1\r\n"));
    for (int i = 0; i < 5; i++) {
        id = hm_events_publish(srv.ev, "team.moved", NULL, "{\"team_id\":2}", HM_EV_COORD, NULL, 0);
        WAIT_UNTIL(&coord, has_id(&coord, id)); /* one at a time, so that `pub` is asleep */
    }
    CHECK_INT_EQ(coord.n_evs, 5);
    id = hm_events_publish(srv.ev, "request.created", "{\"code\":\"CC-9\"}", NULL, HM_EV_PUBLIC,
                           NULL, 0);
    WAIT_UNTIL(&pub, has_id(&pub, id));
    CHECK_INT_EQ(pub.n_evs, 1);
    if (pub.n_evs == 1) {
        CHECK_INT_EQ(pub.evs[0].id, 6);
        CHECK_STR_EQ(pub.evs[0].type, "request.created");
    }
    client_close(&pub);
    client_close(&coord);
    server_stop(&srv);
}

/* Last-Event-ID (header or ?last_event_id) replays exactly the missed events the subscriber
 * may see; without it only new events come; an id above the newest (a client from a server
 * that is ahead) skips what is published up to it. */
static void test_resume(void)
{
    client a, b, q, t, fresh, future;
    uint64_t first, sentinel;
    char hdr[128], path[128];
    server srv;

    if (!server_start(&srv, NULL, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    CHECK(subscribe(&a, &srv, "/api/v1/events", NULL));
    first = hm_events_publish(srv.ev, "request.created", "{\"n\":1}", NULL, HM_EV_PUBLIC, NULL, 0);
    WAIT_UNTIL(&a, has_id(&a, first));
    CHECK_INT_EQ(a.n_evs, 1);
    client_close(&a);

    /* Missed while away: 2 public, 3 coordinators only, 4 teams only, 5 public. */
    CHECK_INT_EQ(
        hm_events_publish(srv.ev, "request.updated", "{\"n\":2}", NULL, HM_EV_PUBLIC, NULL, 0),
        first + 1);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "team.moved", NULL, "{\"n\":3}", HM_EV_COORD, NULL, 0),
                 first + 2);
    CHECK_INT_EQ(
        hm_events_publish(srv.ev, "request.updated", NULL, "{\"n\":4}", HM_EV_PUBLIC, NULL, 0),
        first + 3);
    CHECK_INT_EQ(
        hm_events_publish(srv.ev, "request.updated", "{\"n\":5}", NULL, HM_EV_PUBLIC, NULL, 0),
        first + 4);

    snprintf(hdr, sizeof hdr, "Last-Event-ID: %" PRIu64 "\r\n", first);
    CHECK(subscribe(&b, &srv, "/api/v1/events", hdr));
    snprintf(path, sizeof path, "/api/v1/events?last_event_id=%" PRIu64, first);
    CHECK(subscribe(&q, &srv, path, NULL));
    snprintf(hdr, sizeof hdr, "Last-Event-ID: %" PRIu64 "\r\nX-Role: 1\r\nX-Team: 4\r\n", first);
    CHECK(subscribe(&t, &srv, "/api/v1/events", hdr));
    CHECK(subscribe(&fresh, &srv, "/api/v1/events", NULL));
    snprintf(hdr, sizeof hdr, "Last-Event-ID: %" PRIu64 "\r\n", first + 5);
    CHECK(subscribe(&future, &srv, "/api/v1/events", hdr));
    sentinel = hm_events_publish(srv.ev, "sync.end", "{\"n\":6}", NULL, HM_EV_PUBLIC, NULL, 0);
    CHECK_INT_EQ(sentinel, first + 5);

    WAIT_UNTIL(&b, has_id(&b, sentinel));
    CHECK_INT_EQ(b.n_evs, 3);
    if (b.n_evs == 3) {
        CHECK_INT_EQ(b.evs[0].id, first + 1);
        CHECK_STR_EQ(b.evs[0].data, "{\"n\":2}");
        CHECK_INT_EQ(b.evs[1].id, first + 4);
        CHECK_STR_EQ(b.evs[1].data, "{\"n\":5}");
        CHECK_INT_EQ(b.evs[2].id, sentinel);
    }
    WAIT_UNTIL(&q, has_id(&q, sentinel));
    CHECK_INT_EQ(q.n_evs, 3);
    if (q.n_evs == 3) {
        CHECK_INT_EQ(q.evs[0].id, first + 1);
        CHECK_INT_EQ(q.evs[1].id, first + 4);
    }
    WAIT_UNTIL(&t, has_id(&t, sentinel));
    CHECK_INT_EQ(t.n_evs, 4); /* 2, 4 (team payload), 5, sentinel; not the coordinators' 3 */
    if (t.n_evs == 4) {
        CHECK_INT_EQ(t.evs[1].id, first + 3);
        CHECK_STR_EQ(t.evs[1].data, "{\"n\":4}");
    }
    WAIT_UNTIL(&fresh, has_id(&fresh, sentinel));
    CHECK_INT_EQ(fresh.n_evs, 1);
    /* The sentinel is what `future` had; the next one it gets. */
    CHECK_INT_EQ(hm_events_publish(srv.ev, "sync.end", "{\"n\":7}", NULL, HM_EV_PUBLIC, NULL, 0),
                 first + 6);
    WAIT_UNTIL(&future, has_id(&future, first + 6));
    CHECK_INT_EQ(future.n_evs, 1);
    CHECK_INT_EQ(future.n_lagged, 0);

    client_close(&b);
    client_close(&q);
    client_close(&t);
    client_close(&fresh);
    client_close(&future);
    server_stop(&srv);
}

/* One request's own stream (the resident's tracking page, issue 15) gets the events published
 * about that request, with their team payload, and nothing else: not other requests', not
 * targeted or coordinator events, not the public payload; a resume replays the same way. */
static void test_request_stream(void)
{
    static const int64_t team7[] = {7};
    client mine, other, pub, again;
    uint64_t first, own1, own2, last;
    char hdr[128];
    server srv;

    if (!server_start(&srv, NULL, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    CHECK(subscribe(&mine, &srv, "/api/v1/events", "X-Request: 42\r\n"));
    CHECK(subscribe(&other, &srv, "/api/v1/events", "X-Request: 43\r\n"));
    CHECK(subscribe(&pub, &srv, "/api/v1/events", NULL));
    first = hm_events_publish_about(srv.ev, 0, 41, "request.created", "{\"r\":41,\"v\":\"p\"}",
                                    "{\"r\":41,\"v\":\"t\"}", HM_EV_PUBLIC, NULL, 0);
    own1 = hm_events_publish_about(srv.ev, 0, 42, "request.updated", "{\"r\":42,\"v\":\"p\"}",
                                   "{\"r\":42,\"v\":\"t\"}", HM_EV_PUBLIC, NULL, 0);
    hm_events_publish(srv.ev, "request.alert", NULL, "{\"r\":42}", HM_EV_TARGET, team7, 1);
    hm_events_publish(srv.ev, "team.moved", NULL, "{\"team_id\":7}", HM_EV_COORD, NULL, 0);
    hm_events_publish(srv.ev, "request.updated", "{\"r\":42,\"v\":\"no subject\"}", NULL,
                      HM_EV_PUBLIC, NULL, 0);
    /* Without a team payload, the public one. */
    own2 = hm_events_publish_about(srv.ev, 0, 42, "request.updated", "{\"r\":42,\"v\":\"p2\"}",
                                   NULL, HM_EV_PUBLIC, NULL, 0);
    last = hm_events_publish_about(srv.ev, 0, 43, "request.updated", "{\"r\":43}", NULL,
                                   HM_EV_PUBLIC, NULL, 0);
    WAIT_UNTIL(&pub, has_id(&pub, last));
    CHECK_INT_EQ(pub.n_evs, 5); /* the public stream as before: every public event */
    WAIT_UNTIL(&other, has_id(&other, last));
    CHECK_INT_EQ(other.n_evs, 1);
    WAIT_UNTIL(&mine, has_id(&mine, own2));
    CHECK_INT_EQ(mine.n_evs, 2);
    if (mine.n_evs == 2) {
        CHECK_INT_EQ(mine.evs[0].id, own1);
        CHECK_STR_EQ(mine.evs[0].type, "request.updated");
        CHECK_STR_EQ(mine.evs[0].data, "{\"r\":42,\"v\":\"t\"}");
        CHECK_INT_EQ(mine.evs[1].id, own2);
        CHECK_STR_EQ(mine.evs[1].data, "{\"r\":42,\"v\":\"p2\"}");
    }
    /* The foreign events woke nobody on the request stream: after the last one it still has
     * exactly its two. */
    CHECK_INT_EQ(mine.n_evs, 2);

    /* Back after losing the connection: only its own missed events. */
    snprintf(hdr, sizeof hdr, "Last-Event-ID: %" PRIu64 "\r\nX-Request: 42\r\n", first);
    CHECK(subscribe(&again, &srv, "/api/v1/events", hdr));
    last = hm_events_publish_about(srv.ev, 0, 42, "request.updated", "{\"r\":42,\"v\":\"p3\"}",
                                   "{\"r\":42,\"v\":\"t3\"}", HM_EV_PUBLIC, NULL, 0);
    WAIT_UNTIL(&again, has_id(&again, last));
    CHECK_INT_EQ(again.n_evs, 3);
    if (again.n_evs == 3) {
        CHECK_INT_EQ(again.evs[0].id, own1);
        CHECK_INT_EQ(again.evs[1].id, own2);
        CHECK_INT_EQ(again.evs[2].id, last);
        CHECK_STR_EQ(again.evs[2].data, "{\"r\":42,\"v\":\"t3\"}");
    }
    client_close(&mine);
    client_close(&other);
    client_close(&pub);
    client_close(&again);
    server_stop(&srv);
}

/* A Last-Event-ID older than the ring gets the lag comment, then the ring. */
static void test_resume_past_ring(void)
{
    hm_events_config cfg = {.ring_size = 4};
    client c;
    server srv;

    if (!server_start(&srv, &cfg, 1, 100)) {
        CHECK(!"server_start");
        return;
    }
    for (int i = 1; i <= 10; i++)
        CHECK_INT_EQ(hm_events_publish(srv.ev, "e", "{}", NULL, HM_EV_PUBLIC, NULL, 0), i);
    CHECK(subscribe(&c, &srv, "/api/v1/events", "Last-Event-ID: 2\r\n"));
    WAIT_UNTIL(&c, has_id(&c, 10));
    CHECK_INT_EQ(c.n_lagged, 1);
    CHECK_STR_EQ(c.lag_text, ": lagged; events 3 to 6 dropped");
    CHECK_INT_EQ(c.n_evs, 4);
    if (c.n_evs == 4)
        CHECK_INT_EQ(c.evs[0].id, 7);
    client_close(&c);
    server_stop(&srv);
}

/* Past max_subscribers the hub says HM_E_UNAVAILABLE (503); a slot frees when one leaves. */
static void test_cap(void)
{
    hm_events_config cfg = {.max_subscribers = 2, .heartbeat_s = 1};
    client a, b, c, d;
    server srv;

    if (!server_start(&srv, &cfg, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    CHECK(subscribe(&a, &srv, "/api/v1/events", NULL));
    CHECK(subscribe(&b, &srv, "/api/v1/events", "X-Role: 1\r\nX-Team: 2\r\n"));
    CHECK(client_open(&c, srv.port, "/api/v1/events", NULL, 0));
    WAIT_UNTIL(&c, c.status != 0);
    CHECK_INT_EQ(c.status, 503);
    CHECK_INT_EQ(atomic_load(&srv.last_rc), HM_E_UNAVAILABLE);
    CHECK_INT_EQ(hm_events_subscriber_count(srv.ev), 2);
    client_close(&c);

    client_close(&a);
    CHECK(wait_count(srv.ev, 1, WAIT_MS));
    CHECK(subscribe(&d, &srv, "/api/v1/events", NULL));
    CHECK_INT_EQ(hm_events_subscriber_count(srv.ev), 2);
    client_close(&b);
    client_close(&d);
    server_stop(&srv);
}

/* An idle stream gets ": heartbeat" every heartbeat_s. */
static void test_heartbeat(void)
{
    hm_events_config cfg = {.heartbeat_s = 1};
    client c;
    server srv;

    if (!server_start(&srv, &cfg, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    CHECK(subscribe(&c, &srv, "/api/v1/events", NULL));
    WAIT_UNTIL(&c, c.n_heartbeat >= 2);
    CHECK(c.n_heartbeat >= 2);
    CHECK_INT_EQ(c.n_evs, 0);
    client_close(&c);
    server_stop(&srv);
}

/* Clients that go away are released and the count drops to zero. */
static void test_disconnect(void)
{
    enum { N = 8 };
    hm_events_config cfg = {.heartbeat_s = 1};
    client c[N];
    server srv;

    if (!server_start(&srv, &cfg, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    for (int i = 0; i < N; i++)
        CHECK(
            subscribe(&c[i], &srv, "/api/v1/events", i % 2 ? "X-Role: 2\r\nX-Team: 3\r\n" : NULL));
    CHECK_INT_EQ(hm_events_subscriber_count(srv.ev), N);
    for (int i = 0; i < N; i++)
        client_close(&c[i]);
    CHECK(wait_count(srv.ev, 0, WAIT_MS));
    server_stop(&srv);
}

/* A subscriber that never reads does not hold up publishing; once it reads again it is told
 * what it lost and continues from the ring. */
static void test_slow_subscriber(void)
{
    enum { N_EVENTS = 100000 };
    hm_events_config cfg = {.ring_size = 256};
    char payload[1100];
    client slow;
    server srv;
    uint64_t id = 0, prev = 0;
    bool increasing = true, consecutive = true;
    int64_t t0;

    if (!server_start(&srv, &cfg, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    CHECK(client_open(&slow, srv.port, "/api/v1/events", NULL, 4096));
    WAIT_UNTIL(&slow, slow.n_ok > 0);
    CHECK_INT_EQ(hm_events_subscriber_count(srv.ev), 1);

    memset(payload, 'x', sizeof payload);
    memcpy(payload, "{\"pad\":\"", 8);
    memcpy(payload + sizeof payload - 3, "\"}", 3);
    t0 = mono_ms();
    for (uint64_t i = 1; i <= N_EVENTS; i++) {
        id = hm_events_publish(srv.ev, "request.updated", payload, NULL, HM_EV_PUBLIC, NULL, 0);
        consecutive = consecutive && id == i;
    }
    CHECK(consecutive);
    CHECK_INT_EQ(id, N_EVENTS);
    fprintf(stderr,
            "test_slow_subscriber: %d publishes of 1 KiB in %" PRId64
            " ms with a stalled subscriber\n",
            N_EVENTS, mono_ms() - t0);

    WAIT_UNTIL(&slow, has_id(&slow, N_EVENTS));
    CHECK(has_id(&slow, N_EVENTS));
    CHECK(slow.n_lagged >= 1);
    for (size_t i = 0; i < slow.n_evs; i++) {
        increasing = increasing && slow.evs[i].id > prev;
        prev = slow.evs[i].id;
    }
    CHECK(increasing);
    CHECK(slow.n_evs < N_EVENTS);
    {
        hm_events_stats st;
        hm_events_stats_get(srv.ev, &st);
        CHECK_INT_EQ(st.published, N_EVENTS);
        CHECK_INT_EQ(st.lag_notices, (uint64_t)slow.n_lagged);
    }
    client_close(&slow);
    server_stop(&srv);
}

static atomic_llong fake_now_ms;

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return atomic_load(&fake_now_ms);
}

/* Tickets: one use, expire after ticket_ttl_s, only for token holders, capped; and a ticket
 * in ?ticket= opens the holder's stream. */
static void test_tickets(void)
{
    hm_events_config cfg = {.clock_ms = fake_clock, .max_tickets = 3};
    hm_events_who pub = {.role = HM_EV_ROLE_PUBLIC},
                  vol = {.role = HM_EV_ROLE_VOLUNTEER, .team_id = 7},
                  got = {.role = -1, .team_id = -1};
    char tk[HM_EVENTS_TICKET_SIZE], tk2[HM_EVENTS_TICKET_SIZE], path[128];
    int expires = 0;
    client c, again;
    server srv;
    hm_error err;
    uint64_t id;

    atomic_store(&fake_now_ms, 1000000);
    if (!server_start(&srv, &cfg, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_events_ticket_issue(srv.ev, &pub, tk, NULL, &err), HM_E_UNAUTHORIZED);
    CHECK_INT_EQ(err.code, HM_E_UNAUTHORIZED);

    CHECK_INT_EQ(hm_events_ticket_issue(srv.ev, &vol, tk, &expires, NULL), HM_OK);
    CHECK_INT_EQ(strlen(tk), 48);
    CHECK_INT_EQ(strspn(tk, "0123456789abcdef"), 48);
    CHECK_INT_EQ(expires, 60);
    CHECK_INT_EQ(hm_events_ticket_issue(srv.ev, &vol, tk2, NULL, NULL), HM_OK);
    CHECK(strcmp(tk, tk2) != 0);
    CHECK_INT_EQ(hm_events_ticket_redeem(srv.ev, tk, &got), HM_OK);
    CHECK_INT_EQ(got.role, HM_EV_ROLE_VOLUNTEER);
    CHECK_INT_EQ(got.team_id, 7);
    CHECK_INT_EQ(hm_events_ticket_redeem(srv.ev, tk, &got), HM_E_UNAUTHORIZED); /* one use */

    /* tk2 expires at 60 s. */
    atomic_store(&fake_now_ms, 1000000 + 60000);
    CHECK_INT_EQ(hm_events_ticket_redeem(srv.ev, tk2, &got), HM_E_UNAUTHORIZED);

    /* Garbage. */
    CHECK_INT_EQ(hm_events_ticket_redeem(srv.ev, NULL, &got), HM_E_UNAUTHORIZED);
    CHECK_INT_EQ(hm_events_ticket_redeem(srv.ev, "", &got), HM_E_UNAUTHORIZED);
    CHECK_INT_EQ(hm_events_ticket_redeem(srv.ev, "0123", &got), HM_E_UNAUTHORIZED);
    CHECK_INT_EQ(
        hm_events_ticket_redeem(srv.ev, "000000000000000000000000000000000000000000000000", &got),
        HM_E_UNAUTHORIZED);

    /* Cap: three live tickets; expired ones make room. */
    CHECK_INT_EQ(hm_events_ticket_issue(srv.ev, &vol, tk, NULL, NULL), HM_OK);
    CHECK_INT_EQ(hm_events_ticket_issue(srv.ev, &vol, tk, NULL, NULL), HM_OK);
    CHECK_INT_EQ(hm_events_ticket_issue(srv.ev, &vol, tk, NULL, NULL), HM_OK);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_events_ticket_issue(srv.ev, &vol, tk2, NULL, &err), HM_E_UNAVAILABLE);
    atomic_store(&fake_now_ms, 1000000 + 200000);
    CHECK_INT_EQ(hm_events_ticket_issue(srv.ev, &vol, tk, NULL, NULL), HM_OK);

    /* Over HTTP: the ticket opens team 7's stream, once. */
    snprintf(path, sizeof path, "/api/v1/events?ticket=%s", tk);
    CHECK(subscribe(&c, &srv, path, NULL));
    CHECK(client_open(&again, srv.port, path, NULL, 0));
    WAIT_UNTIL(&again, again.status != 0);
    CHECK_INT_EQ(again.status, 401);
    client_close(&again);
    id = hm_events_publish(srv.ev, "request.alert", NULL, "{\"for\":7}", HM_EV_TARGET, &vol.team_id,
                           1);
    WAIT_UNTIL(&c, has_id(&c, id));
    CHECK_INT_EQ(c.n_evs, 1);
    if (c.n_evs == 1)
        CHECK_STR_EQ(c.evs[0].data, "{\"for\":7}");
    client_close(&c);
    server_stop(&srv);
}

/* Invalid publishes change nothing; line breaks become data lines; big frames arrive whole. */
static void test_publish_edges(void)
{
    static const int64_t one = 1;
    char *big = hm_xmalloc(300001);
    client c;
    server srv;
    uint64_t id;

    if (!server_start(&srv, NULL, 2, 100)) {
        CHECK(!"server_start");
        free(big);
        return;
    }
    CHECK(subscribe(&c, &srv, "/api/v1/events", "X-Role: 4\r\nX-Team: 1\r\n"));
    CHECK_INT_EQ(hm_events_publish(srv.ev, NULL, "{}", NULL, HM_EV_PUBLIC, NULL, 0), 0);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "", "{}", NULL, HM_EV_PUBLIC, NULL, 0), 0);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "two words", "{}", NULL, HM_EV_PUBLIC, NULL, 0), 0);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "x\ndata: {}", "{}", NULL, HM_EV_PUBLIC, NULL, 0), 0);
    CHECK_INT_EQ(hm_events_publish(
                     srv.ev, "a234567890123456789012345678901234567890123456789012345678901234",
                     "{}", NULL, HM_EV_PUBLIC, NULL, 0),
                 0);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "e", "{}", NULL, 0, NULL, 0), 0);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "e", "{}", NULL, 16, NULL, 0), 0);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "e", NULL, NULL, HM_EV_PUBLIC, NULL, 0), 0);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "e", "{}", NULL, HM_EV_TARGET, NULL, 1), 0);
    CHECK_INT_EQ(hm_events_publish(srv.ev, "e", "{}", NULL, HM_EV_TARGET, &one, 0), 0);

    CHECK_INT_EQ(
        hm_events_publish(srv.ev, "e", "{\n\"a\": 1,\r\n\"b\": 2\r}", NULL, HM_EV_PUBLIC, NULL, 0),
        1);
    memset(big, 'y', 300000);
    big[0] = '"';
    big[299999] = '"';
    big[300000] = '\0';
    CHECK_INT_EQ(hm_events_publish(srv.ev, "e", big, NULL, HM_EV_PUBLIC, NULL, 0), 2);
    id = hm_events_publish(srv.ev, "end", "{}", NULL, HM_EV_PUBLIC, NULL, 0);
    CHECK_INT_EQ(id, 3);
    WAIT_UNTIL(&c, has_id(&c, id));
    CHECK_INT_EQ(c.n_evs, 3);
    if (c.n_evs == 3) {
        CHECK_STR_EQ(c.evs[0].data, "{\n\"a\": 1,\n\"b\": 2\n}");
        CHECK(strcmp(c.evs[1].data, big) == 0);
        CHECK_STR_EQ(c.evs[2].type, "end");
    }
    client_close(&c);
    server_stop(&srv);
    free(big);
}

typedef struct pub_arg {
    hm_events *ev;
    int n;
    atomic_bool *stop;
} pub_arg;

static void *publisher_main(void *p)
{
    pub_arg *a = p;
    for (int i = 0; i < a->n && !(a->stop && atomic_load(a->stop)); i++)
        hm_events_publish(a->ev, "request.updated", "{\"k\":1}", "{\"k\":2}", HM_EV_PUBLIC, NULL,
                          0);
    return NULL;
}

/* Concurrent publishers: one reader sees every id once, in order. */
static void test_concurrent_publishers(void)
{
    enum { THREADS = 4, EACH = 3000 };
    hm_events_config cfg = {.ring_size = 16384};
    pthread_t th[THREADS];
    pub_arg pa;
    client c;
    server srv;
    bool in_order = true;

    if (!server_start(&srv, &cfg, 2, 100)) {
        CHECK(!"server_start");
        return;
    }
    CHECK(subscribe(&c, &srv, "/api/v1/events", "X-Role: 1\r\nX-Team: 5\r\n"));
    pa = (pub_arg){srv.ev, EACH, NULL};
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, publisher_main, &pa);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    WAIT_UNTIL(&c, has_id(&c, THREADS * EACH));
    CHECK_INT_EQ(c.n_evs, THREADS * EACH);
    for (size_t i = 0; i < c.n_evs; i++)
        in_order = in_order && c.evs[i].id == i + 1 && strcmp(c.evs[i].data, "{\"k\":2}") == 0;
    CHECK(in_order);
    client_close(&c);
    server_stop(&srv);
}

/* Shutdown while events flow and streams are suspended, reading or half-open: every stream
 * ends, MHD_stop_daemon finds nothing suspended, the hub is freed with no subscriber left. */
static void test_shutdown_under_load(void)
{
    enum { N = 40, ROUNDS = 3 };

    for (int round = 0; round < ROUNDS; round++) {
        hm_events_config cfg = {.heartbeat_s = 1};
        atomic_bool stop = false;
        pub_arg pa;
        pthread_t th;
        client c[N];
        server srv;
        int ended = 0;

        if (!server_start(&srv, &cfg, 2, 200)) {
            CHECK(!"server_start");
            return;
        }
        for (int i = 0; i < N; i++)
            CHECK(subscribe(&c[i], &srv, "/api/v1/events", i % 3 ? NULL : "X-Role: 3\r\n"));
        for (int i = 0; i < N; i += 4)
            client_close(&c[i]); /* gone without the server noticing yet */
        pa = (pub_arg){srv.ev, 1000000, &stop};
        pthread_create(&th, NULL, publisher_main, &pa);
        sleep_ms(20 * round);
        hm_events_shutdown(srv.ev);
        CHECK_INT_EQ(hm_events_publish(srv.ev, "e", "{}", NULL, HM_EV_PUBLIC, NULL, 0) > 0, 1);
        for (int i = 1; i < N; i++) {
            if (i % 4 == 0)
                continue;
            WAIT_UNTIL(&c[i], c[i].last_chunk || c[i].eof);
            ended += c[i].last_chunk || c[i].eof;
        }
        CHECK_INT_EQ(ended, N - N / 4);
        atomic_store(&stop, true);
        pthread_join(th, NULL);
        MHD_stop_daemon(srv.d);
        CHECK_INT_EQ(hm_events_subscriber_count(srv.ev), 0);
        hm_events_destroy(srv.ev);
        for (int i = 0; i < N; i++)
            client_close(&c[i]);
    }
}

/* After shutdown, new streams are refused. */
static void test_refused_after_shutdown(void)
{
    client c;
    server srv;

    if (!server_start(&srv, NULL, 1, 100)) {
        CHECK(!"server_start");
        return;
    }
    hm_events_shutdown(srv.ev);
    CHECK(client_open(&c, srv.port, "/api/v1/events", NULL, 0));
    WAIT_UNTIL(&c, c.status != 0);
    CHECK_INT_EQ(c.status, 503);
    client_close(&c);
    server_stop(&srv);
}

static void test_config(void)
{
    hm_events_config bad = {.heartbeat_s = -1};
    hm_error err;

    hm_error_clear(&err);
    CHECK(hm_events_create(&bad, &err) == NULL);
    CHECK_INT_EQ(err.code, HM_E_INVALID_FIELD);
    hm_events_destroy(NULL);
}

/* ---- events_load: N subscribers, R events/s for S seconds, delivery latency ---- */

typedef struct load_stats {
    atomic_int oks;
    atomic_llong deliveries;
    int64_t *hist_us100; /* delivery latency histogram, 0.1 ms buckets */
    size_t n_hist;
    int64_t *first_ns, *last_ns; /* per event: first and last delivery time */
    int32_t *count;              /* per event: deliveries */
    int64_t *pub_ns;             /* per event: publish time (from the payload) */
    size_t n_events;
    uint64_t first_id;
} load_stats;

static void load_on_event(client *c, uint64_t id, const char *type, const char *data)
{
    load_stats *st = c->arg;
    int64_t now = mono_ns(), t, lat;
    const char *p = strstr(data, "\"t_ns\":");
    size_t k;

    (void)type;
    if (!p || id < st->first_id || id - st->first_id >= st->n_events)
        return;
    t = strtoll(p + 7, NULL, 10);
    k = (size_t)(id - st->first_id);
    lat = (now - t) / 100000;
    st->hist_us100[(size_t)lat < st->n_hist ? (size_t)lat : st->n_hist - 1]++;
    if (st->count[k]++ == 0)
        st->first_ns[k] = now;
    st->last_ns[k] = now;
    st->pub_ns[k] = t;
    atomic_fetch_add_explicit(&st->deliveries, 1, memory_order_relaxed);
}

static void load_on_ok(client *c)
{
    load_stats *st = c->arg;
    atomic_fetch_add(&st->oks, 1);
}

typedef struct load_reader {
    client *cs;
    int n, epfd;
    atomic_bool stop;
} load_reader;

static void *load_reader_main(void *p)
{
    load_reader *r = p;
    struct epoll_event evs[256];
    static char buf[65536];

    while (!atomic_load(&r->stop)) {
        int n = epoll_wait(r->epfd, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            client *c = &r->cs[evs[i].data.u32];
            for (;;) {
                ssize_t k = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
                if (k > 0) {
                    client_feed(c, buf, (size_t)k);
                    if ((size_t)k < sizeof buf)
                        break;
                    continue;
                }
                if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                    epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
                    c->eof = true;
                }
                break;
            }
        }
    }
    return NULL;
}

static double pct(const load_stats *st, double q)
{
    int64_t want = (int64_t)(q * (double)atomic_load(&st->deliveries)), seen = 0;
    if (q >= 1.0) {
        for (size_t i = st->n_hist; i-- > 0;)
            if (st->hist_us100[i])
                return (double)(i + 1) / 10.0;
        return 0;
    }
    for (size_t i = 0; i < st->n_hist; i++) {
        seen += st->hist_us100[i];
        if (seen > want)
            return (double)i / 10.0;
    }
    return (double)st->n_hist / 10.0;
}

/* CPU seconds of this process's threads, split into the server's (MHD workers and the hub's
 * thread) and the rest (the load's client reader and publisher). */
static void thread_cpu(double *server_s, double *client_s)
{
    char path[64], comm[64], stat[1024];
    long tick = sysconf(_SC_CLK_TCK);
    int tids[64], n = 0;
    struct dirent *de;
    DIR *d = opendir("/proc/self/task");
    FILE *f;

    *server_s = *client_s = 0;
    if (!d)
        return;
    while (n < 64 && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            tids[n++] = atoi(de->d_name);
    closedir(d);
    for (int i = 0; i < n; i++) {
        unsigned long ut = 0, st = 0;
        char *p;
        size_t k;
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)getpid(), tids[i]);
        f = fopen(path, "r");
        if (!f)
            continue;
        k = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[k] = '\0';
        p = strrchr(stat, ')');
        if (!p ||
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)getpid(), tids[i]);
        f = fopen(path, "r");
        comm[0] = '\0';
        if (f) {
            if (!fgets(comm, sizeof comm, f))
                comm[0] = '\0';
            fclose(f);
        }
        if (strncmp(comm, "MHD-", 4) == 0 || strncmp(comm, "hm-events", 9) == 0)
            *server_s += (double)(ut + st) / (double)tick;
        else
            *client_s += (double)(ut + st) / (double)tick;
    }
}

static int run_load(int n_subs, int seconds, int rate, int batch_ms)
{
    struct rlimit rl;
    hm_events_config cfg = {.max_subscribers = (size_t)n_subs + 16, .batch_ms = batch_ms};
    load_stats st;
    load_reader rd;
    pthread_t th;
    server srv;
    char payload[600], pad[400];
    int64_t t_start, t_pub_end, pub_max_ns = 0, pub_sum_ns = 0, all_by;
    size_t total;
    int64_t worst_all_ns = 0, events_complete = 0;
    struct rusage ru0, ru1;
    double srv0, cli0, srv1, cli1;
    hm_events_stats hs;

    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)(2 * n_subs + 256)) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)(2 * n_subs + 256)) {
            fprintf(stderr, "events_load: RLIMIT_NOFILE %llu too low for %d subscribers\n",
                    (unsigned long long)rl.rlim_cur, n_subs);
            return 2;
        }
    }
    if (!server_start(&srv, &cfg, 2, (unsigned)n_subs + 64))
        return 2;

    memset(&st, 0, sizeof st);
    st.n_events = (size_t)seconds * (size_t)rate;
    st.n_hist = 200000; /* up to 20 s */
    st.hist_us100 = hm_xcalloc(st.n_hist, sizeof *st.hist_us100);
    st.first_ns = hm_xcalloc(st.n_events, sizeof *st.first_ns);
    st.last_ns = hm_xcalloc(st.n_events, sizeof *st.last_ns);
    st.pub_ns = hm_xcalloc(st.n_events, sizeof *st.pub_ns);
    st.count = hm_xcalloc(st.n_events, sizeof *st.count);
    st.first_id = 1;

    rd.cs = hm_xcalloc((size_t)n_subs, sizeof *rd.cs);
    rd.n = n_subs;
    rd.epfd = epoll_create1(EPOLL_CLOEXEC);
    atomic_init(&rd.stop, false);
    t_start = mono_ms();
    for (int i = 0; i < n_subs; i++) {
        client *c = &rd.cs[i];
        struct epoll_event ee = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (!client_open(c, srv.port, "/api/v1/events", NULL, 0)) {
            fprintf(stderr, "events_load: connect %d: %s\n", i, strerror(errno));
            return 2;
        }
        c->on_event = load_on_event;
        c->on_ok = load_on_ok;
        c->arg = &st;
        epoll_ctl(rd.epfd, EPOLL_CTL_ADD, c->fd, &ee);
        if (i == 0)
            pthread_create(&th, NULL, load_reader_main, &rd);
    }
    while (atomic_load(&st.oks) < n_subs && mono_ms() - t_start < 60000)
        sleep_ms(10);
    printf("events_load: %d/%d subscribers connected in %" PRId64 " ms (hub count %zu)\n",
           atomic_load(&st.oks), n_subs, mono_ms() - t_start, hm_events_subscriber_count(srv.ev));

    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    getrusage(RUSAGE_SELF, &ru0);
    thread_cpu(&srv0, &cli0);
    hm_events_stats_get(srv.ev, &hs); /* resets the server-side maximum */
    t_start = mono_ns();
    for (size_t k = 0; k < st.n_events; k++) {
        int64_t due = t_start + (int64_t)k * 1000000000 / rate, now = mono_ns(), t1;
        if (due > now)
            sleep_ms((int)((due - now) / 1000000));
        now = mono_ns();
        snprintf(payload, sizeof payload, "{\"k\":%zu,\"t_ns\":%" PRId64 ",\"pad\":\"%s\"}", k, now,
                 pad);
        if (hm_events_publish(srv.ev, "request.created", payload, NULL, HM_EV_PUBLIC, NULL, 0) !=
            k + 1)
            fprintf(stderr, "events_load: publish %zu failed\n", k);
        t1 = mono_ns();
        pub_sum_ns += t1 - now;
        if (t1 - now > pub_max_ns)
            pub_max_ns = t1 - now;
    }
    t_pub_end = mono_ms();
    total = st.n_events * (size_t)n_subs;
    all_by = t_pub_end + 10000;
    while (mono_ms() < all_by) {
        if ((size_t)atomic_load(&st.deliveries) >= total)
            break;
        sleep_ms(20);
    }
    atomic_store(&rd.stop, true);
    getrusage(RUSAGE_SELF, &ru1);
    thread_cpu(&srv1, &cli1);
    hm_events_stats_get(srv.ev, &hs);
    pthread_join(th, NULL);

    for (size_t k = 0; k < st.n_events; k++) {
        if (st.count[k] == n_subs) {
            events_complete++;
            if (st.last_ns[k] - st.pub_ns[k] > worst_all_ns)
                worst_all_ns = st.last_ns[k] - st.pub_ns[k];
        }
    }
    printf("events_load: subscribers=%d events=%zu rate=%d/s batch_ms=%d deliveries=%lld/%zu "
           "events_delivered_to_all=%" PRId64 "\n",
           n_subs, st.n_events, rate, batch_ms, (long long)atomic_load(&st.deliveries), total,
           events_complete);
    printf("events_load: delivery latency ms p50=%.1f p90=%.1f p99=%.1f p99.9=%.1f max=%.1f; "
           "publish-to-last-subscriber max=%.1f ms; publish() call mean=%.3f max=%.2f ms\n",
           pct(&st, 0.50), pct(&st, 0.90), pct(&st, 0.99), pct(&st, 0.999), pct(&st, 1.0),
           (double)worst_all_ns / 1e6,
           (double)pub_sum_ns / 1e6 / (double)(st.n_events ? st.n_events : 1),
           (double)pub_max_ns / 1e6);
    printf("events_load: server side (publish to hand-over to MHD) max=%.1f ms; "
           "frames_sent=%llu lag_notices=%llu\n",
           (double)hs.max_delay_us / 1e3, (unsigned long long)hs.frames_sent,
           (unsigned long long)hs.lag_notices);
    printf("events_load: cpu during publishing: server threads %.2fs (%.2f us per delivery), "
           "client threads %.2fs, process user %.2fs sys %.2fs, over %.1fs wall\n",
           srv1 - srv0, (srv1 - srv0) * 1e6 / (double)(total ? total : 1), cli1 - cli0,
           (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
               (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6,
           (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
               (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6,
           (double)(mono_ns() - t_start) / 1e9);

    for (int i = 0; i < n_subs; i++)
        client_close(&rd.cs[i]);
    close(rd.epfd);
    server_stop(&srv);
    free(rd.cs);
    free(st.hist_us100);
    free(st.first_ns);
    free(st.last_ns);
    free(st.pub_ns);
    free(st.count);
    return (size_t)atomic_load(&st.deliveries) == total && worst_all_ns <= 1000000000 ? 0 : 1;
}

int main(int argc, char **argv)
{
#ifdef HM_EVENTS_LOAD_MAIN
    const bool load = true;
    const int a = 1; /* events_load [subscribers] [seconds] [events_per_s] [batch_ms] */
#else
    const bool load = argc > 1 && strcmp(argv[1], "load") == 0;
    const int a = 2; /* test_events load [subscribers] [seconds] [events_per_s] [batch_ms] */
#endif

    signal(SIGPIPE, SIG_IGN);
    if (load)
        return run_load(argc > a ? atoi(argv[a]) : 5000, argc > a + 1 ? atoi(argv[a + 1]) : 10,
                        argc > a + 2 ? atoi(argv[a + 2]) : 50,
                        argc > a + 3 ? atoi(argv[a + 3]) : 0);
    test_config();
    test_audiences();
    test_idle_through_hidden_events();
    test_resume();
    test_request_stream();
    test_resume_past_ring();
    test_cap();
    test_heartbeat();
    test_disconnect();
    test_publish_edges();
    test_tickets();
    test_concurrent_publishers();
    test_slow_subscriber();
    test_refused_after_shutdown();
    test_shutdown_under_load();
    return hm_test_done("test_events");
}
