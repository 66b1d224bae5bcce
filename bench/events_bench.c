/* events_bench.c: end-to-end load of GET /api/v1/events (SPEC "Performance": 5,000 concurrent
 * subscribers at 50 events/s, each event delivered to all within 1 s).
 *
 * One process, two threads, loopback only:
 * - the receiver opens --subscribers public SSE streams (HTTP/1.1, chunked) in batches and
 *   then reads them all with epoll, parsing the SSE frames;
 * - once every stream is open, the generator POSTs --rate new requests a second for
 *   --seconds (operator token, one keep-alive connection, paced on a monotonic clock). The
 *   request number is carried in `people` (1..500, public in the event), so the receiver
 *   knows which send time an event belongs to: latency = receipt - the moment just before
 *   the POST was written, i.e. it includes the durable insert and the group commit.
 * After the last POST the receiver waits up to --drain seconds for stragglers, then prints
 * human lines and one "RESULT key=value ..." line for bench/report.py.
 *
 * Every loop is bounded in time: connecting (--connect-timeout), the run, and the drain.
 *
 * Usage: events_bench --port P --token OPERATOR_TOKEN --points FILE
 *                     [--subscribers 5000] [--rate 50] [--seconds 20] [--drain 5]
 *                     [--connect-timeout 60] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
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

#define SLOTS        500   /* `people` is 1..500: request number modulo 500 */
#define HIST_MS      60000 /* latency histogram, 1 ms buckets */
#define LINE_MAX_LEN 16384 /* longest SSE line kept; longer ones are skipped */

typedef struct sub {
    int fd;
    int state; /* 0 connecting, 1 reading headers, 2 streaming, 3 closed */
    char *buf; /* header bytes, then the current SSE line */
    size_t len, cap;
    bool chunked;
    /* chunked decoder: 0 size line, 1 data (left bytes), 2 CRLF after data */
    int cstate;
    size_t cleft;
    char csize[20];
    size_t csize_len;
    /* SSE frame being read */
    bool created;
    int people;
    bool skip_line;
} sub;

static int port;
static const char *token;
static double *pts; /* lon, lat pairs */
static size_t npts;
static int rate = 50, seconds = 20;
static _Atomic int64_t send_ns[SLOTS];
static atomic_int gen_sent, gen_ok, gen_failed;
static atomic_bool gen_done;
static uint64_t hist[HIST_MS + 1];
static uint64_t delivered, unknown, late;
static double max_ms;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until_ns(int64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000LL), (long)(t % 1000000000LL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int connect_to(bool nonblock)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    int one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- generator ------------------------------------------------------------------------- */

/* Read one HTTP response from a blocking socket; returns the status or -1. */
static int read_response(int fd)
{
    char buf[8192];
    size_t len = 0;
    long clen = -1;
    char *end = NULL;
    int status = -1;

    for (;;) {
        ssize_t n;
        if (len == sizeof buf - 1)
            return -1;
        n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")))
            break;
    }
    sscanf(buf, "HTTP/1.%*d %d", &status);
    {
        char *h = strcasestr(buf, "\r\ncontent-length:");
        if (h && h < end)
            clen = strtol(h + 17, NULL, 10);
    }
    if (clen < 0)
        return -1;
    {
        size_t have = len - (size_t)(end + 4 - buf);
        while ((long)have < clen) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                return -1;
            have += (size_t)n;
        }
    }
    return status;
}

static void *generator(void *arg)
{
    int fd = connect_to(false);
    int total = rate * seconds;
    int64_t t0 = now_ns() + 100000000LL, period = 1000000000LL / rate;
    /* Phones differ between runs too (a repeat within 24 h would be a duplicate, not a 201). */
    int base = (int)(time(NULL) % 1000) * 10000;
    (void)arg;

    for (int i = 0; i < total; i++) {
        char body[256], req[1024];
        int blen, rlen, status;
        const double *p = &pts[2 * ((size_t)i % npts)];

        sleep_until_ns(t0 + (int64_t)i * period);
        if (fd < 0 && (fd = connect_to(false)) < 0) {
            atomic_fetch_add(&gen_failed, 1);
            continue;
        }
        /* A fresh phone per request: never a duplicate of an earlier one. */
        blen = snprintf(body, sizeof body,
                        "{\"lat\":%.7f,\"lon\":%.7f,\"category\":\"water\",\"people\":%d,"
                        "\"phone\":\"+8497%07d\",\"note\":\"events bench\"}",
                        p[1], p[0], i % SLOTS + 1, base + i % 10000);
        rlen = snprintf(req, sizeof req,
                        "POST /api/v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\n\r\n%s",
                        token, blen, body);
        atomic_store(&send_ns[i % SLOTS], now_ns());
        atomic_fetch_add(&gen_sent, 1);
        if (send(fd, req, (size_t)rlen, MSG_NOSIGNAL) != rlen || (status = read_response(fd)) < 0) {
            atomic_fetch_add(&gen_failed, 1);
            close(fd);
            fd = -1;
            continue;
        }
        if (status == 201)
            atomic_fetch_add(&gen_ok, 1);
        else
            atomic_fetch_add(&gen_failed, 1);
    }
    if (fd >= 0)
        close(fd);
    atomic_store(&gen_done, true);
    return NULL;
}

/* ---- receiver -------------------------------------------------------------------------- */

static void buf_add(sub *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->buf = realloc(s->buf, s->cap);
        if (!s->buf) {
            perror("realloc");
            exit(1);
        }
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

static void dispatch(sub *s)
{
    if (s->created && s->people >= 1 && s->people <= SLOTS) {
        int64_t t = atomic_load(&send_ns[s->people - 1]);
        if (t == 0) {
            unknown++;
        } else {
            double ms = (double)(now_ns() - t) / 1e6;
            int b = ms < 0 ? 0 : ms > HIST_MS ? HIST_MS : (int)ms;
            hist[b]++;
            delivered++;
            if (ms > 1000.0)
                late++;
            if (ms > max_ms)
                max_ms = ms;
        }
    }
    s->created = false;
    s->people = 0;
}

static void sse_line(sub *s, const char *line, size_t n)
{
    if (n > 0 && line[n - 1] == '\r')
        n--;
    if (n == 0) {
        dispatch(s);
    } else if (n >= 6 && memcmp(line, "event:", 6) == 0) {
        const char *v = line + 6;
        size_t vn = n - 6;
        if (vn && *v == ' ')
            v++, vn--;
        s->created = vn == 15 && memcmp(v, "request.created", 15) == 0;
    } else if (n >= 5 && memcmp(line, "data:", 5) == 0) {
        const char *p = memmem(line, n, "\"people\":", 9);
        if (p)
            s->people = atoi(p + 9);
    }
}

/* Feed SSE body bytes (after de-chunking). */
static void sse_bytes(sub *s, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!s->skip_line) {
            if (s->len + take > LINE_MAX_LEN) {
                s->skip_line = true;
                s->len = 0;
            } else {
                buf_add(s, p, take);
            }
        }
        if (!nl)
            return;
        if (!s->skip_line)
            sse_line(s, s->buf, s->len);
        s->skip_line = false;
        s->len = 0;
        p = nl + 1;
        n -= take + 1;
    }
}

/* Feed raw body bytes through the chunked decoder. Returns -1 on a framing error. */
static int body_bytes(sub *s, const char *p, size_t n)
{
    if (!s->chunked) {
        sse_bytes(s, p, n);
        return 0;
    }
    while (n > 0) {
        if (s->cstate == 0) {
            char c = *p++;
            n--;
            if (c == '\n') {
                s->csize[s->csize_len] = '\0';
                s->cleft = strtoul(s->csize, NULL, 16);
                s->csize_len = 0;
                if (s->cleft == 0)
                    return -1; /* end of stream */
                s->cstate = 1;
            } else if (c != '\r' && s->csize_len < sizeof s->csize - 1) {
                s->csize[s->csize_len++] = c;
            }
        } else if (s->cstate == 1) {
            size_t take = n < s->cleft ? n : s->cleft;
            sse_bytes(s, p, take);
            p += take;
            n -= take;
            s->cleft -= take;
            if (s->cleft == 0)
                s->cstate = 2;
        } else {
            char c = *p++;
            n--;
            if (c == '\n')
                s->cstate = 0;
        }
    }
    return 0;
}

static void sub_close(int ep, sub *s, int *open_count)
{
    if (s->state == 3)
        return;
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    if (s->state == 2)
        (*open_count)--;
    s->state = 3;
}

static const char get_req[] = "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Accept: text/event-stream\r\n\r\n";

/* Handle readiness of `s`. Returns 1 when it just became streaming. */
static int sub_event(int ep, sub *s, uint32_t evs, int *open_count, int *failed)
{
    char buf[65536];
    int became = 0;

    if (s->state == 0 && (evs & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int e = 0;
        socklen_t el = sizeof e;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        if (e || send(s->fd, get_req, sizeof get_req - 1, MSG_NOSIGNAL) != sizeof get_req - 1) {
            (*failed)++;
            sub_close(ep, s, open_count);
            return 0;
        }
        s->state = 1;
        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
        return 0;
    }
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = recv(s->fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            if (s->state == 1)
                (*failed)++;
            sub_close(ep, s, open_count);
            return became;
        }
        if (s->state == 1) {
            char *end;
            buf_add(s, buf, (size_t)n);
            if (!(end = strstr(s->buf, "\r\n\r\n")))
                continue;
            if (strncmp(s->buf, "HTTP/1.1 200", 12) != 0) {
                (*failed)++;
                sub_close(ep, s, open_count);
                return became;
            }
            *end = '\0';
            s->chunked = strcasestr(s->buf, "transfer-encoding: chunked") != NULL;
            {
                size_t hl = (size_t)(end + 4 - s->buf), rest = s->len - hl;
                char *tail = rest ? malloc(rest) : NULL;
                if (rest)
                    memcpy(tail, end + 4, rest);
                s->len = 0;
                s->state = 2;
                (*open_count)++;
                became = 1;
                if (rest && body_bytes(s, tail, rest) < 0) {
                    free(tail);
                    sub_close(ep, s, open_count);
                    return became;
                }
                free(tail);
            }
        } else if (body_bytes(s, buf, (size_t)n) < 0) {
            sub_close(ep, s, open_count);
            return became;
        }
    }
    return became;
}

static double percentile_ms(double q)
{
    uint64_t want = (uint64_t)((double)delivered * q + 0.5), acc = 0;
    if (delivered == 0)
        return 0;
    if (want < 1)
        want = 1;
    for (int i = 0; i <= HIST_MS; i++) {
        acc += hist[i];
        if (acc >= want)
            return i + 0.5;
    }
    return HIST_MS;
}

static int load_points(const char *path)
{
    FILE *f = fopen(path, "r");
    double lon, lat;
    size_t cap = 0;
    if (!f)
        return -1;
    while (fscanf(f, "%lf %lf", &lon, &lat) == 2) {
        if (npts == cap) {
            cap = cap ? cap * 2 : 1024;
            pts = realloc(pts, cap * 2 * sizeof *pts);
            if (!pts)
                return -1;
        }
        pts[2 * npts] = lon;
        pts[2 * npts + 1] = lat;
        npts++;
    }
    fclose(f);
    return npts ? 0 : -1;
}

int main(int argc, char **argv)
{
    int nsubs = 5000, drain = 5, connect_timeout = 60, ep, open_count = 0, failed = 0;
    int started = 0, batch = 250;
    const char *points = NULL;
    sub *subs;
    pthread_t gen;
    struct epoll_event evs[1024];
    int64_t t_connect, deadline, t_end = 0;
    struct rlimit rl;
    uint64_t expected;
    int end_open;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "events_bench: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--token") == 0)
            token = v;
        else if (strcmp(a, "--points") == 0)
            points = v;
        else if (strcmp(a, "--subscribers") == 0)
            nsubs = atoi(v);
        else if (strcmp(a, "--rate") == 0)
            rate = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            seconds = atoi(v);
        else if (strcmp(a, "--drain") == 0)
            drain = atoi(v);
        else if (strcmp(a, "--connect-timeout") == 0)
            connect_timeout = atoi(v);
        else {
            fprintf(stderr, "events_bench: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (port <= 0 || !token || !points || nsubs < 1 || rate < 1 || rate > 10000 || seconds < 1 ||
        seconds > 3600 || drain < 0 || drain > 600) {
        fprintf(stderr, "usage: events_bench --port P --token T --points FILE [--subscribers N] "
                        "[--rate N] [--seconds N] [--drain N] [--connect-timeout N]\n");
        return 2;
    }
    if (load_points(points) < 0) {
        fprintf(stderr, "events_bench: cannot read points from %s\n", points);
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nsubs + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)nsubs + 64 ? rl.rlim_max : (rlim_t)nsubs + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    subs = calloc((size_t)nsubs, sizeof *subs);
    ep = epoll_create1(0);
    if (!subs || ep < 0) {
        perror("events_bench");
        return 1;
    }

    /* Phase 1: open the streams, `batch` connections in flight at a time. */
    t_connect = now_ns();
    deadline = t_connect + (int64_t)connect_timeout * 1000000000LL;
    while (open_count + failed < nsubs && now_ns() < deadline) {
        while (started < nsubs && started - open_count - failed < batch) {
            sub *s = &subs[started++];
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = s};
            s->fd = connect_to(true);
            if (s->fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
                if (s->fd >= 0)
                    close(s->fd);
                s->state = 3;
                failed++;
            }
        }
        int n = epoll_wait(ep, evs, 1024, 100);
        for (int i = 0; i < n; i++)
            sub_event(ep, evs[i].data.ptr, evs[i].events, &open_count, &failed);
    }
    printf("events_bench: %d of %d streams open in %.1f s (%d failed)\n", open_count, nsubs,
           (double)(now_ns() - t_connect) / 1e9, failed);
    fflush(stdout);

    /* Phase 2: generate and receive; then drain. */
    memset(hist, 0, sizeof hist);
    delivered = unknown = late = 0;
    if (pthread_create(&gen, NULL, generator, NULL) != 0) {
        perror("pthread_create");
        return 1;
    }
    deadline = now_ns() + ((int64_t)seconds + 30) * 1000000000LL; /* hard bound on the run */
    for (;;) {
        int64_t t = now_ns();
        int n;
        if (atomic_load(&gen_done) && t_end == 0)
            t_end = t + (int64_t)drain * 1000000000LL;
        if ((t_end && t >= t_end) || t >= deadline)
            break;
        if (t_end && delivered + unknown >= (uint64_t)atomic_load(&gen_ok) * (uint64_t)open_count)
            break; /* everything arrived */
        n = epoll_wait(ep, evs, 1024, 50);
        for (int i = 0; i < n; i++)
            sub_event(ep, evs[i].data.ptr, evs[i].events, &open_count, &failed);
    }
    pthread_join(gen, NULL);
    end_open = open_count;
    expected = (uint64_t)atomic_load(&gen_ok) * (uint64_t)end_open;
    printf("events_bench: %d events published (%d failed POSTs) at %d/s for %d s to %d streams\n",
           atomic_load(&gen_ok), atomic_load(&gen_failed), rate, seconds, end_open);
    printf("events_bench: %llu of %llu deliveries (%.3f %%), latency p50 %.1f ms, p99 %.1f ms, "
           "max %.1f ms, %llu later than 1 s\n",
           (unsigned long long)delivered, (unsigned long long)expected,
           expected ? 100.0 * (double)delivered / (double)expected : 0.0, percentile_ms(0.5),
           percentile_ms(0.99), max_ms, (unsigned long long)late);
    printf("RESULT scenario=events subscribers=%d open=%d rate=%d seconds=%d published=%d "
           "post_failed=%d expected=%llu delivered=%llu late=%llu p50_ms=%.1f p99_ms=%.1f "
           "max_ms=%.1f\n",
           nsubs, end_open, rate, seconds, atomic_load(&gen_ok), atomic_load(&gen_failed),
           (unsigned long long)expected, (unsigned long long)delivered, (unsigned long long)late,
           percentile_ms(0.5), percentile_ms(0.99), max_ms);
    for (int i = 0; i < started; i++) {
        if (subs[i].state != 3)
            close(subs[i].fd);
        free(subs[i].buf);
    }
    free(subs);
    free(pts);
    close(ep);
    return 0;
}
