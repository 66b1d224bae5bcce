#include "http.h"

#include "api.h"
#include "cache.h"
#include "hm_log.h"
#include "import.h"
#include "metrics.h"
#include "model.h"
#include "present.h"
#include "worker.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* MHD's memory per connection (headers, read and write buffers). MHD zeroes the part of its
 * read buffer it gives back, so part of this is resident for every open connection (issue 7:
 * 5,000 /events streams): about 12 KB a stream at 8 KiB, 16 KB at 16 KiB. 16 KiB because a
 * request whose header just fits the pool leaves no room for any answer and libmicrohttpd
 * 0.9.75 then resets the connection (issue 11: at 8 KiB that hit headers of 7.8 to 8 KiB):
 * with 16 KiB a header block up to 8 KiB is served, one over it is answered 431 by
 * refuse_header(), and the band where libmicrohttpd itself runs out lies beyond 10 KiB. Bodies
 * go to our own buffer, so their 16 KiB limit does not depend on it. */
#define HTTP_CONN_MEMORY (16 * 1024)

/* Referrer-Policy same-origin: nothing leaves for other sites, and a form posted from our own
 * page carries its real Origin (with no-referrer browsers send "Origin: null", which a hostile
 * page can send too; POST /report tells the two apart by it, issue 11). The tracking page,
 * whose address holds a token, keeps no-referrer in its own meta tag. */
static const char *const security_headers[][2] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "same-origin"},
    {"X-Frame-Options", "DENY"},
};

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data: blob:; worker-src 'self' blob:; "
                          "child-src 'self' blob:; connect-src 'self'; font-src 'self'; "
                          "object-src 'none'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";

/* ---- routing ------------------------------------------------------------- */

typedef struct route {
    const char *method;
    const char *pattern; /* segments; "*" matches one segment */
    hm_handler handler;
} route;

static const route routes[] = {
    {"POST", "/api/v1/requests", hm_api_request_create},
    {"GET", "/api/v1/requests", hm_api_request_list},
    {"POST", "/api/v1/requests/import", hm_api_request_import},
    {"GET", "/api/v1/requests/nearby", hm_api_nearby},
    {"GET", "/api/v1/requests/*", hm_api_request_get},
    {"PATCH", "/api/v1/requests/*", hm_api_request_edit},
    {"POST", "/api/v1/requests/*/cancel", hm_api_request_cancel},
    {"POST", "/api/v1/requests/*/safe", hm_api_request_safe},
    {"POST", "/api/v1/requests/*/verify", hm_api_request_verify},
    {"POST", "/api/v1/requests/*/claim", hm_api_request_claim},
    {"POST", "/api/v1/requests/*/status", hm_api_request_status},
    {"POST", "/api/v1/requests/*/assign", hm_api_request_assign},
    {"GET", "/api/v1/requests/*/responders", hm_api_responders},
    {"POST", "/api/v1/teams/me/location", hm_api_team_location},
    {"POST", "/api/v1/teams/me/status", hm_api_team_status},
    {"GET", "/api/v1/teams/me/requests", hm_api_team_requests},
    {"GET", "/api/v1/teams", hm_api_teams_list},
    {"POST", "/api/v1/teams", hm_api_team_add},
    {"POST", "/api/v1/teams/*/rotate", hm_api_team_rotate},
    {"POST", "/api/v1/teams/*/disable", hm_api_team_disable},
    {"POST", "/api/v1/teams/*/enable", hm_api_team_enable},
    {"GET", "/api/v1/areas", hm_api_areas_list},
    {"POST", "/api/v1/areas", hm_api_area_create},
    {"PUT", "/api/v1/areas/*/*", hm_api_area_put},
    {"DELETE", "/api/v1/areas/*/*", hm_api_area_delete},
    {"GET", "/api/v1/stats", hm_api_stats},
    {"POST", "/api/v1/events/ticket", hm_api_events_ticket},
    {"GET", "/api/v1/events", hm_api_events},
    {"GET", "/api/v1/export", hm_api_export},
    {"GET", "/api/v1/audit", hm_api_audit},
    {"GET", "/api/v1/places", hm_api_places},
    {"GET", "/api/v1/places/all", hm_api_places_all},
    /* The street map before the tile routes it would otherwise match. */
    {"GET", "/tiles/basemap.json", hm_api_basemap_tilejson},
    {"GET", "/tiles/basemap/*/*/*", hm_api_basemap_tile},
    {"GET", "/style.json", hm_api_style},
    {"GET", "/fonts/*/*", hm_api_fonts},
    {"GET", "/sprite.json", hm_api_sprite},
    {"GET", "/sprite.png", hm_api_sprite},
    {"GET", "/sprite@2x.json", hm_api_sprite},
    {"GET", "/sprite@2x.png", hm_api_sprite},
    {"GET", "/api/v1/points", hm_api_points_list},
    {"POST", "/api/v1/points", hm_api_point_create},
    {"GET", "/api/v1/points/nearest", hm_api_points_nearest},
    {"GET", "/api/v1/points/*", hm_api_point_get},
    {"PUT", "/api/v1/points/*", hm_api_point_put},
    {"DELETE", "/api/v1/points/*", hm_api_point_delete},
    {"GET", "/api/v1/geo/parse", hm_api_geo_parse},
    {"GET", "/tiles/*", hm_api_tilejson},
    {"GET", "/tiles/*/*/*/*", hm_api_tile},
    {"GET", "/healthz", hm_api_healthz},
    {"GET", "/metrics", hm_api_metrics},
    {"POST", "/report", hm_api_report_form},
    {"POST", "/api/v1/requests/*/receipt", hm_api_request_receipt},
    {"GET", "/api/v1/results", hm_api_results},
    {"GET", "/results", hm_api_results_page},
    {"GET", "/track/*", hm_api_track_page},
    {"POST", "/track/*/cancel", hm_api_track_cancel},
    {"POST", "/track/*/receipt", hm_api_track_receipt},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

int hm_http_route_names(const char **names, const char **methods, int max)
{
    int n = 0;
    for (size_t i = 0; i < N_ROUTES && n < max; i++, n++) {
        names[n] = routes[i].pattern;
        methods[n] = routes[i].method;
    }
    return n;
}

/* Match `path` against `pattern`, capturing "*" segments into r->params. */
static bool match(hm_req *r, const char *pattern, const char *path)
{
    const char *p = pattern, *u = path;
    size_t used = 0;
    int np = 0;

    while (*p && *u) {
        if (*p != '/' || *u != '/')
            return false;
        p++, u++;
        const char *pe = strchr(p, '/'), *ue = strchr(u, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), ul = ue ? (size_t)(ue - u) : strlen(u);
        if (pl == 1 && *p == '*') {
            if (ul == 0 || np >= 4 || used + ul + 1 > sizeof r->param_buf)
                return false;
            memcpy(r->param_buf + used, u, ul);
            r->param_buf[used + ul] = '\0';
            r->params[np++] = r->param_buf + used;
            used += ul + 1;
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return false;
        }
        p += pl, u += ul;
    }
    return *p == '\0' && *u == '\0';
}

/* ---- responses ------------------------------------------------------------ */

unsigned hm_http_status_of(enum hm_err code)
{
    switch (code) {
        case HM_OK:
            return 200;
        case HM_E_BAD_JSON:
        case HM_E_INVALID_FIELD:
            return 400;
        case HM_E_UNAUTHORIZED:
            return 401;
        case HM_E_FORBIDDEN:
            return 403;
        case HM_E_NOT_FOUND:
            return 404;
        case HM_E_METHOD:
            return 405;
        case HM_E_INVALID_TRANSITION:
        case HM_E_ALREADY_CLAIMED:
        case HM_E_CLAIM_LIMIT:
        case HM_E_OVERLAP:
        case HM_E_IN_USE:
        case HM_E_RECEIPT_LIMIT:
            return 409;
        case HM_E_TOO_LARGE:
            return 413;
        case HM_E_HEADER_TOO_LARGE:
            return 431;
        case HM_E_OUTSIDE_AREA:
        case HM_E_IDEMPOTENCY_MISMATCH:
            return 422;
        case HM_E_RATE_LIMITED:
            return 429;
        case HM_E_UNAVAILABLE:
            return 503;
        default:
            return 500;
    }
}

static enum MHD_Result respond(hm_req *r, unsigned status, const char *content_type,
                               struct MHD_Response *resp, size_t len,
                               const char *const *extra_headers);

/* Worth compressing: JSON, GeoJSON and text answers of more than a packet (issue 14: the
 * former wards' GeoJSON was 527 KB on the wire). */
static bool gzip_worth(const char *content_type, size_t len)
{
    return content_type && len > 1400 &&
           (strstr(content_type, "json") || strncmp(content_type, "text/", 5) == 0 ||
            strstr(content_type, "xml"));
}

/* Each thread's deflate stream, made once and reset per answer: making one allocates and
 * clears some 270 KB, which under tens of thousands of answers a second (nearby) cost more
 * than compressing them, and its mmap/munmap turns made the throughput swing (issue 18). */
static pthread_key_t gz_key;
static pthread_once_t gz_once = PTHREAD_ONCE_INIT;

static void gz_free(void *p)
{
    deflateEnd(p);
    free(p);
}

static void gz_key_make(void)
{
    pthread_key_create(&gz_key, gz_free);
}

/* gzip (RFC 1952) of data[0, len) into a malloc'd buffer, or NULL. Level 1 for answers under
 * 16 KiB (a few hundred bytes more for a phone, half the time), 6 above (answers are made per
 * request, unlike the static files: level 9, once). */
static void *gzip_bytes(const void *data, size_t len, size_t *out_len)
{
    z_stream *zs;
    uLong cap = compressBound((uLong)len) + 32;
    unsigned char *out;

    pthread_once(&gz_once, gz_key_make);
    if (!(zs = pthread_getspecific(gz_key))) {
        zs = hm_xcalloc(1, sizeof *zs);
        if (deflateInit2(zs, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(zs);
            return NULL;
        }
        pthread_setspecific(gz_key, zs);
    } else if (deflateReset(zs) != Z_OK) {
        return NULL;
    }
    if (deflateParams(zs, len < 16384 ? 1 : 6, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    out = hm_xmalloc(cap);
    zs->next_in = (Bytef *)data;
    zs->avail_in = (uInt)len;
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    if (deflate(zs, Z_FINISH) != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *out_len = zs->total_out;
    return out;
}

bool hm_http_accepts_gzip(hm_req *r)
{
    const char *ae = hm_http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    return ae && strstr(ae, "gzip") && !strstr(ae, "gzip;q=0");
}

enum MHD_Result hm_http_bytes(hm_req *r, unsigned status, const char *content_type, void *data,
                              size_t len, bool must_free, const char *const *extra_headers)
{
    struct MHD_Response *resp;
    bool encoded = false;

    for (size_t i = 0; extra_headers && extra_headers[i]; i += 2)
        encoded = encoded || strcasecmp(extra_headers[i], "Content-Encoding") == 0;
    if (!encoded && gzip_worth(content_type, len) && hm_http_accepts_gzip(r)) {
        size_t gz_len = 0;
        void *gz = gzip_bytes(data, len, &gz_len);
        if (gz) {
            const char *hdrs[24];
            size_t n = 0;
            for (size_t i = 0; extra_headers && extra_headers[i] && n + 6 < 24; i += 2) {
                hdrs[n++] = extra_headers[i];
                hdrs[n++] = extra_headers[i + 1];
            }
            hdrs[n++] = "Content-Encoding";
            hdrs[n++] = "gzip";
            hdrs[n++] = "Vary";
            hdrs[n++] = "Accept-Encoding";
            hdrs[n] = NULL;
            if (must_free)
                free(data);
            resp = MHD_create_response_from_buffer(gz_len, gz, MHD_RESPMEM_MUST_FREE);
            if (!resp) {
                free(gz);
                return MHD_NO;
            }
            return respond(r, status, content_type, resp, gz_len, hdrs);
        }
    } else if (!encoded && gzip_worth(content_type, len)) {
        /* The same URL may answer gzip'd to another client: caches must know. */
        const char *hdrs[24];
        size_t n = 0;
        for (size_t i = 0; extra_headers && extra_headers[i] && n + 4 < 24; i += 2) {
            hdrs[n++] = extra_headers[i];
            hdrs[n++] = extra_headers[i + 1];
        }
        hdrs[n++] = "Vary";
        hdrs[n++] = "Accept-Encoding";
        hdrs[n] = NULL;
        resp = MHD_create_response_from_buffer(
            len, data, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
        if (!resp) {
            if (must_free)
                free(data);
            return MHD_NO;
        }
        return respond(r, status, content_type, resp, len, hdrs);
    }

    resp = MHD_create_response_from_buffer(
        len, data, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        if (must_free)
            free(data);
        return MHD_NO;
    }
    return respond(r, status, content_type, resp, len, extra_headers);
}

enum MHD_Result hm_http_borrowed(hm_req *r, unsigned status, const char *content_type,
                                 const void *data, size_t len, void (*release)(void *cls),
                                 void *cls, const char *const *extra_headers)
{
    struct MHD_Response *resp;

    resp = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)data, release, cls);
    if (!resp) {
        release(cls);
        return MHD_NO;
    }
    return respond(r, status, content_type, resp, len, extra_headers);
}

/* Add the headers to `resp`, queue it and drop our reference. */
static enum MHD_Result respond(hm_req *r, unsigned status, const char *content_type,
                               struct MHD_Response *resp, size_t len,
                               const char *const *extra_headers)
{
    enum MHD_Result ret;

    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        MHD_add_response_header(resp, security_headers[i][0], security_headers[i][1]);
    if (content_type && strncmp(content_type, "text/html", 9) == 0)
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
    for (size_t i = 0; extra_headers && extra_headers[i]; i += 2)
        MHD_add_response_header(resp, extra_headers[i], extra_headers[i + 1]);
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->bytes = len;
    r->responded = true;
    return ret;
}

enum MHD_Result hm_http_json(hm_req *r, unsigned status, json_t *body_new)
{
    char *text = json_dumps(body_new, HM_JSON_FLAGS);
    static const char *const nocache[] = {"Cache-Control", "no-store", NULL};
    json_decref(body_new);
    if (!text)
        return MHD_NO;
    return hm_http_bytes(r, status, "application/json; charset=utf-8", text, strlen(text), true,
                         nocache);
}

enum MHD_Result hm_http_error(hm_req *r, const hm_error *err)
{
    enum hm_err code = err && err->code ? err->code : HM_E_INTERNAL;
    unsigned status = hm_http_status_of(code);
    const char *msg = err ? err->msg : "internal error";
    json_t *body;
    const char *extra[5] = {NULL};
    char retry[16];
    char *text;

    if (status >= 500 && code != HM_E_UNAVAILABLE) {
        hm_log(HM_LOG_ERROR, "event=internal_error route=%s code=%d msg=\"%s\"", r->route,
               (int)code, msg);
        msg = "internal error; the operators have been told";
    }
    body = json_pack("{s:{s:s,s:s,s:o}}", "error", "code", hm_err_name(code), "message", msg,
                     "field", err && err->field ? json_string(err->field) : json_null());
    r->err_code = hm_err_name(code);
    if (code == HM_E_RATE_LIMITED) {
        snprintf(retry, sizeof retry, "%d",
                 err && err->retry_after_s > 0 ? err->retry_after_s : 60);
        extra[0] = "Retry-After";
        extra[1] = retry;
    } else if (code == HM_E_UNAVAILABLE) {
        extra[0] = "Retry-After";
        extra[1] = "5";
    }
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return MHD_NO;
    {
        const char *hdrs[7] = {"Cache-Control", "no-store", extra[0], extra[1], NULL};
        return hm_http_bytes(r, status, "application/json; charset=utf-8", text, strlen(text), true,
                             hdrs);
    }
}

enum MHD_Result hm_http_fail(hm_req *r, enum hm_err code, const char *field, const char *fmt, ...)
{
    hm_error err = {0};
    va_list ap;
    err.code = code;
    err.field = field;
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof err.msg, fmt, ap);
    va_end(ap);
    return hm_http_error(r, &err);
}

/* ---- requests ------------------------------------------------------------- */

const char *hm_http_arg(hm_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct arg_check {
    const char *const *allowed;
    const char *unknown;
} arg_check;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    arg_check *a = cls;
    (void)kind;
    (void)value;
    for (size_t i = 0; a->allowed[i]; i++)
        if (strcmp(a->allowed[i], key) == 0)
            return MHD_YES;
    a->unknown = key;
    return MHD_NO;
}

int hm_http_check_args(hm_req *r, const char *const *allowed, hm_error *err)
{
    arg_check a = {allowed, NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &a);
    if (!a.unknown)
        return HM_OK;
    /* err->field borrows MHD's copy of the name, valid while the request is answered. */
    return hm_error_set(err, HM_E_INVALID_FIELD, a.unknown,
                        "unknown parameter %.40s; this list takes %s%s%s%s%s%s", a.unknown,
                        allowed[0] ? allowed[0] : "none", allowed[0] && allowed[1] ? ", " : "",
                        allowed[0] && allowed[1] ? allowed[1] : "",
                        allowed[0] && allowed[1] && allowed[2] ? ", " : "",
                        allowed[0] && allowed[1] && allowed[2] ? allowed[2] : "",
                        allowed[0] && allowed[1] && allowed[2] && allowed[3] ? " ..." : "");
}

const char *hm_http_header(hm_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Every X-Forwarded-For line, joined with commas (MHD_lookup_connection_value() gives the
 * first only). */
static enum MHD_Result join_forwarded(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    hm_buf *b = cls;
    (void)kind;
    if (key && value && strcasecmp(key, "X-Forwarded-For") == 0 && b->len < 4096) {
        if (b->len)
            hm_buf_putc(b, ',');
        hm_buf_puts(b, value);
    }
    return MHD_YES;
}

const char *hm_http_client(hm_req *r)
{
    if (!r->client[0]) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;
        char peer[INET6_ADDRSTRLEN] = "unknown";
        hm_buf xff;
        if (sa && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, sizeof peer);
        else if (sa && sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof peer);
        hm_buf_init(&xff);
        if (r->srv->trusted.n)
            MHD_get_connection_values(r->conn, MHD_HEADER_KIND, join_forwarded, &xff);
        hm_client_of(peer, xff.len ? xff.data : NULL, &r->srv->trusted, r->client);
        hm_buf_clear(&xff);
    }
    return r->client;
}

/* The host[:port] of origin or URL `u` ("https://host:port/..."), lower-cased, default ports
 * dropped, into out; false when it is not an http(s) URL. */
static bool url_host(const char *u, char *out, size_t size)
{
    const char *p;
    size_t n;
    bool https = strncasecmp(u, "https://", 8) == 0;
    if (!https && strncasecmp(u, "http://", 7) != 0)
        return false;
    p = u + (https ? 8 : 7);
    n = strcspn(p, "/?#");
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)p[i]);
    out[n] = '\0';
    if ((https && n > 4 && strcmp(out + n - 4, ":443") == 0) ||
        (!https && n > 3 && strcmp(out + n - 3, ":80") == 0))
        out[strrchr(out, ':') - out] = '\0';
    return true;
}

/* Whether origin or URL `u` is this server: the request's own Host, or the public URL. */
static bool is_own(hm_req *r, const char *u)
{
    char want[256], got[256];
    const char *host = hm_http_header(r, MHD_HTTP_HEADER_HOST);
    if (!url_host(u, got, sizeof got))
        return false;
    if (r->srv->public_url[0] && url_host(r->srv->public_url, want, sizeof want) &&
        strcmp(got, want) == 0)
        return true;
    if (host && *host && strlen(host) < sizeof want) {
        size_t n = strlen(host);
        for (size_t i = 0; i <= n; i++)
            want[i] = (char)tolower((unsigned char)host[i]);
        /* A Host with the default port names the same origin as one without it. */
        if ((n > 3 && strcmp(want + n - 3, ":80") == 0 && !strchr(got, ':')) ||
            (n > 4 && strcmp(want + n - 4, ":443") == 0 && !strchr(got, ':')))
            want[strrchr(want, ':') - want] = '\0';
        if (strcmp(got, want) == 0)
            return true;
    }
    return false;
}

bool hm_http_same_origin(hm_req *r)
{
    const char *origin = hm_http_header(r, "Origin");
    const char *fetch_site = hm_http_header(r, "Sec-Fetch-Site");
    const char *referer;

    if (origin) {
        /* "null": a page with Referrer-Policy no-referrer (ours) or a sandboxed frame (anyone's);
         * the browser's own Sec-Fetch-Site, which pages cannot set, tells them apart. */
        if (strcmp(origin, "null") == 0)
            return fetch_site && strcmp(fetch_site, "same-origin") == 0;
        return is_own(r, origin);
    }
    if (fetch_site &&
        (strcmp(fetch_site, "cross-site") == 0 || strcmp(fetch_site, "same-site") == 0))
        return false;
    if ((referer = hm_http_header(r, MHD_HTTP_HEADER_REFERER)))
        return is_own(r, referer);
    return true;
}

const char *hm_http_bearer(hm_req *r)
{
    const char *h = hm_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return h;
}

int hm_http_auth(hm_req *r, hm_error *err)
{
    const char *h;
    int rc;

    if (r->auth_done)
        return r->auth_bad ? hm_error_set(err, HM_E_UNAUTHORIZED, NULL, "invalid token") : HM_OK;
    snprintf(r->actor.client, sizeof r->actor.client, "%s", hm_http_client(r));
    h = hm_http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h && strncasecmp(h, "Bearer ", 7) != 0) {
        r->auth_done = r->auth_bad = true;
        return hm_error_set(err, HM_E_UNAUTHORIZED, NULL, "use Authorization: Bearer TOKEN");
    }
    /* A token that is no team's may be a resident's tracking token, which the request's own
     * check compares. */
    if ((rc = hm_core_authenticate(r->app, hm_http_bearer(r), &r->actor, err)))
        return rc;
    r->auth_done = true;
    return HM_OK;
}

int hm_http_require(hm_req *r, int min_role, hm_error *err)
{
    int rc = hm_http_auth(r, err);
    return rc ? rc : hm_policy_require(&r->actor, min_role, err);
}

int hm_http_json_body(hm_req *r, json_t **out, hm_error *err)
{
    json_error_t jerr;
    json_t *j;

    if (!r->body.data || r->body.len == 0)
        return hm_error_set(err, HM_E_BAD_JSON, NULL, "the body must be a JSON object");
    j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return hm_error_set(err, HM_E_BAD_JSON, NULL, "invalid JSON at line %d column %d: %s",
                            jerr.line, jerr.column, jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return hm_error_set(err, HM_E_BAD_JSON, NULL, "the body must be a JSON object");
    }
    *out = j;
    return HM_OK;
}

static void on_job_done(hm_job *job)
{
    hm_req *r = job->arg;
    __atomic_store_n(&r->job_done, 1, __ATOMIC_RELEASE);
    MHD_resume_connection(r->conn);
}

enum MHD_Result hm_http_submit_job(hm_req *r, hm_job *job, hm_handler resume)
{
    r->resume = resume;
    r->job = job;
    job->arg = r;
    job->notify = on_job_done;
    r->job_submitted = true;
    MHD_suspend_connection(r->conn);
    hm_core_submit(r->app, job);
    return MHD_YES;
}

/* ---- static files ------------------------------------------------------------ */

typedef struct static_file {
    char *path;
    time_t mtime;
    off_t size;
    char *data;
    size_t len;
    char *gz;
    size_t gz_len;
    char etag[40];
    struct static_file *next;
} static_file;

static pthread_mutex_t static_mu = PTHREAD_MUTEX_INITIALIZER;
static static_file *static_cache;

static const char *mime_of(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".webmanifest", "application/manifest+json"},
        {".pbf", "application/x-protobuf"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i][0]) == 0)
                return types[i][1];
    return "application/octet-stream";
}

static bool compressible(const char *mime)
{
    /* protobuf: the map's glyph ranges shrink to about 60% */
    return strncmp(mime, "text/", 5) == 0 || strstr(mime, "json") || strstr(mime, "svg") ||
           strstr(mime, "protobuf");
}

/* Load (or reuse) `path` into the cache; returns a borrowed entry or NULL.
 * Entries are never freed while the server runs (the web root is small). */
static static_file *static_get(const char *path)
{
    struct stat sb;
    static_file *f;
    int fd = -1;

    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > 16 * 1024 * 1024)
        return NULL;
    pthread_mutex_lock(&static_mu);
    for (f = static_cache; f; f = f->next)
        if (strcmp(f->path, path) == 0 && f->mtime == sb.st_mtime && f->size == sb.st_size)
            goto out;
    f = hm_xcalloc(1, sizeof *f);
    f->path = hm_xstrdup(path);
    f->mtime = sb.st_mtime;
    f->size = sb.st_size;
    f->data = hm_xmalloc((size_t)sb.st_size + 1);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, f->data, (size_t)sb.st_size) != sb.st_size) {
        free(f->data);
        free(f->path);
        free(f);
        f = NULL;
        goto out;
    }
    f->len = (size_t)sb.st_size;
    {
        uint8_t h[32];
        hm_sha256(f->data, f->len, h);
        snprintf(f->etag, sizeof f->etag, "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", h[0], h[1], h[2],
                 h[3], h[4], h[5], h[6], h[7]);
    }
    if (compressible(mime_of(path)) && f->len > 512) {
        uLongf cap = compressBound(f->len) + 32;
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        f->gz = hm_xmalloc(cap);
        if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
            zs.next_in = (Bytef *)f->data;
            zs.avail_in = (uInt)f->len;
            zs.next_out = (Bytef *)f->gz;
            zs.avail_out = (uInt)cap;
            if (deflate(&zs, Z_FINISH) == Z_STREAM_END)
                f->gz_len = zs.total_out;
            deflateEnd(&zs);
        }
        if (!f->gz_len) {
            free(f->gz);
            f->gz = NULL;
        }
    }
    f->next = static_cache;
    static_cache = f;
out:
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(&static_mu);
    return f;
}

bool hm_http_web_file(hm_req *r, const char *name, const char **data, size_t *len)
{
    char path[1024];
    static_file *f;
    if (snprintf(path, sizeof path, "%s/%s", r->srv->cfg.web_dir, name) >= (int)sizeof path ||
        !(f = static_get(path)))
        return false;
    *data = f->data;
    *len = f->len;
    return true;
}

static void release_page(void *cls)
{
    hm_tile_blob_release(cls);
}

/* A page made by the server (a blob with its gzip'd copy and ETags); takes over `b`. */
static enum MHD_Result send_page(hm_req *r, hm_tile_blob *b, const char *mime)
{
    const char *inm = hm_http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool gz = hm_http_accepts_gzip(r) && b->gz_len > 0;
    const char *hdrs[] = {"ETag",
                          gz ? b->etag_gz : b->etag,
                          "Cache-Control",
                          "no-cache",
                          "Vary",
                          "Accept-Encoding",
                          gz ? "Content-Encoding" : NULL,
                          "gzip",
                          NULL};
    enum MHD_Result ret;
    if (hm_tile_blob_etag_match(b, inm)) {
        hdrs[6] = NULL;
        ret = hm_http_bytes(r, 304, NULL, (void *)"", 0, false, hdrs);
    } else {
        ret = hm_http_borrowed(r, 200, mime, gz ? b->gz : b->data, gz ? b->gz_len : b->len,
                               release_page, hm_tile_blob_ref(b), hdrs);
    }
    hm_tile_blob_release(b);
    return ret;
}

static enum MHD_Result serve_static(hm_req *r)
{
    const char *url = r->url;
    const char *file = NULL;
    char path[1024];

    r->route = "static";
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
        file = "index.html";
    else if (strncmp(url, "/track/", 7) == 0 && !strchr(url + 7, '/'))
        file = "track.html";
    else if (strcmp(url, "/team") == 0 || strcmp(url, "/team/") == 0)
        file = "team.html";
    else if (strcmp(url, "/operator") == 0 || strcmp(url, "/operator/") == 0)
        file = "operator.html";
    else if (strcmp(url, "/command") == 0 || strcmp(url, "/command/") == 0)
        file = "command.html";
    else
        file = url + 1;
    /* Only plain relative paths under the web root: no "..", no hidden
     * files, no backslashes or control bytes. */
    for (const char *p = file; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '\\' || *p == '%' ||
            ((p == file || p[-1] == '/') && *p == '.'))
            return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "not found");
    if (!*file || strlen(file) > 512 ||
        snprintf(path, sizeof path, "%s/%s", r->srv->cfg.web_dir, file) >= (int)sizeof path)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "not found");
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        static const char *const allow[] = {"Allow", "GET, HEAD", NULL};
        hm_error e = {0};
        (void)allow;
        hm_error_set(&e, HM_E_METHOD, NULL, "method %s is not allowed here", r->method);
        return hm_http_error(r, &e);
    }
    if (strcmp(file, "index.html") == 0) {
        /* The resident's page with the hamlets' names filled in for the no-JS form. */
        static_file *f = static_get(path);
        hm_tile_blob *page = f ? hm_api_form_page(r, f->data, f->len) : NULL;
        if (page)
            return send_page(r, page, mime_of(path));
    }
    return hm_http_file(r, path,
                        strncmp(file, "vendor/", 7) == 0 ? "public, max-age=86400" : "no-cache");
}

enum MHD_Result hm_http_file(hm_req *r, const char *path, const char *cache_control)
{
    static_file *f;
    const char *ae, *inm, *mime;
    bool gz;
    const char *hdrs[9];
    int nh = 0;

    f = static_get(path);
    if (!f)
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "not found");
    mime = mime_of(path);
    hdrs[nh++] = "ETag";
    hdrs[nh++] = f->etag;
    hdrs[nh++] = "Cache-Control";
    hdrs[nh++] = cache_control;
    inm = hm_http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && strstr(inm, f->etag)) {
        hdrs[nh] = NULL;
        return hm_http_bytes(r, 304, NULL, (void *)"", 0, false, hdrs);
    }
    ae = hm_http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    gz = f->gz && ae && strstr(ae, "gzip");
    hdrs[nh++] = "Vary";
    hdrs[nh++] = "Accept-Encoding";
    if (gz) {
        hdrs[nh++] = "Content-Encoding";
        hdrs[nh++] = "gzip";
    }
    hdrs[nh] = NULL;
    return hm_http_bytes(r, 200, mime, gz ? f->gz : f->data, gz ? f->gz_len : f->len, false, hdrs);
}

/* ---- MHD callbacks ---------------------------------------------------------- */

/* The largest request header block served (issue 11: one over 8 KiB reset the connection). */
#define HM_MAX_HEADER (8 * 1024)

typedef struct length_check {
    const char *first;
    bool differ;
    size_t header_bytes; /* the header block as sent: "Name: value\r\n" lines */
} length_check;

/* The bytes of the query string, as "key=value&" pairs. */
static enum MHD_Result count_args(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    size_t *n = cls;
    (void)kind;
    *n += (key ? strlen(key) : 0) + (value ? strlen(value) + 1 : 0) + 1;
    return MHD_YES;
}

static enum MHD_Result check_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    length_check *lc = cls;
    (void)kind;
    lc->header_bytes += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 4;
    if (key && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (!lc->first)
            lc->first = value ? value : "";
        else if (strcmp(lc->first, value ? value : "") != 0)
            lc->differ = true;
    }
    return MHD_YES;
}

/* Refuse what the request's header says before anything of it is read: a header block over
 * 8 KiB (431), two different Content-Lengths (400: which body is it? a request smuggled past a
 * proxy that read the other one; issue 11), a body announced over r->max_body (413; the form's
 * is an HTML page). The JSON answers close the connection. Returns MHD_NO to go on, or the queued
 * answer's result in *ret. */
static bool refuse_header(hm_req *r, enum MHD_Result *ret)
{
    static const char *const close_hdr[] = {"Connection", "close", NULL};
    length_check lc = {NULL, false, 0};
    size_t query = 0;
    hm_error e = {0};
    json_t *o;
    char *text;
    unsigned status;

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, check_length, &lc);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, count_args, &query);
    /* The request line and the header lines, as the client sent them (MHD's own
     * MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE counts from where its parser stands). */
    lc.header_bytes += strlen(r->method) + strlen(r->url) + query + strlen("  HTTP/1.1\r\n\r\n");
    if (lc.header_bytes > HM_MAX_HEADER)
        hm_error_set(&e, HM_E_HEADER_TOO_LARGE, NULL, "the request header is larger than 8 KiB");
    else if (lc.differ)
        hm_error_set(&e, HM_E_INVALID_FIELD, "Content-Length",
                     "the request has two different Content-Length headers");
    else if (lc.first && strtoull(lc.first, NULL, 10) > r->max_body) {
        r->body_too_large = true;
        if (strcmp(r->url, "/report") == 0) { /* the no-JavaScript form: an HTML page */
            *ret = hm_api_report_too_large(r);
            return true;
        }
        hm_error_set(&e, HM_E_TOO_LARGE, NULL, "the body is larger than %s",
                     r->max_body > HM_MAX_BODY ? "2 MiB" : "16 KiB");
    } else
        return false;
    status = hm_http_status_of(e.code);
    r->err_code = hm_err_name(e.code);
    o = json_pack("{s:{s:s,s:s,s:o}}", "error", "code", hm_err_name(e.code), "message", e.msg,
                  "field", e.field ? json_string(e.field) : json_null());
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    *ret = text ? hm_http_bytes(r, status, "application/json; charset=utf-8", text, strlen(text),
                                true, close_hdr)
                : MHD_NO;
    return true;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum MHD_Result dispatch(hm_req *r)
{
    bool path_matched = false;
    const char *allow = NULL;

    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!match(r, routes[i].pattern, r->url))
            continue;
        path_matched = true;
        if (strcmp(routes[i].method, r->method) != 0 &&
            !(strcmp(r->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            allow = routes[i].method;
            continue;
        }
        r->route = routes[i].pattern;
        r->route_id = (int)i;
        return routes[i].handler(r);
    }
    if (path_matched) {
        const char *hdrs[] = {"Allow", allow, NULL};
        hm_error e = {0};
        char *text;
        hm_error_set(&e, HM_E_METHOD, NULL, "method %s is not allowed here (allowed: %s)",
                     r->method, allow);
        r->route = "method_not_allowed";
        r->err_code = "method_not_allowed";
        {
            json_t *o = json_pack("{s:{s:s,s:s,s:n}}", "error", "code", "method_not_allowed",
                                  "message", e.msg, "field");
            text = json_dumps(o, JSON_COMPACT);
            json_decref(o);
        }
        return hm_http_bytes(r, 405, "application/json; charset=utf-8", text, strlen(text), true,
                             hdrs);
    }
    if (strncmp(r->url, "/api/", 5) == 0 || strncmp(r->url, "/tiles/", 7) == 0) {
        r->route = "not_found";
        return hm_http_fail(r, HM_E_NOT_FOUND, NULL, "no such path");
    }
    return serve_static(r);
}

/* 413: an HTML page for the no-JavaScript form, SPEC's JSON error elsewhere. */
static enum MHD_Result too_large(hm_req *r)
{
    if (strcmp(r->url, "/report") == 0)
        return hm_api_report_too_large(r);
    return hm_http_fail(r, HM_E_TOO_LARGE, NULL, "the body is larger than %s",
                        r->max_body > HM_MAX_BODY ? "2 MiB" : "16 KiB");
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    hm_http_server *srv = cls;
    hm_req *r = *req_cls;
    (void)version;

    if (!r) {
        r = hm_xcalloc(1, sizeof *r);
        r->conn = conn;
        r->srv = srv;
        r->app = srv->core;
        r->url = url;
        r->method = method;
        r->route = "unknown";
        r->route_id = -1;
        r->t0_us = now_us();
        hm_buf_init(&r->body);
        *req_cls = r;
        /* The header is in: its deadline is met, the body's starts. */
        hm_conn_guard_header_done(srv->guard, conn);
        /* Bulk imports take a larger body on their route alone (issue 14). */
        r->max_body = strcmp(method, "POST") == 0 && strcmp(url, "/api/v1/requests/import") == 0
                          ? HM_IMPORT_MAX_BYTES
                          : HM_MAX_BODY;
        {
            enum MHD_Result ret;
            if (refuse_header(r, &ret))
                return ret;
        }
        return MHD_YES;
    }
    if (r->responded)
        return MHD_YES; /* a response is queued; discard the rest of the upload */
    if (*upload_data_size) {
        /* MHD takes no response while it hands us upload data: discard the
         * rest of an oversized (chunked) body and answer 413 at its end. */
        if (r->body_too_large || r->body.len + *upload_data_size > r->max_body) {
            r->body_too_large = true;
            *upload_data_size = 0;
            return MHD_YES;
        }
        hm_buf_append(&r->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->body_too_large)
        return too_large(r);
    if (r->job_submitted) {
        if (!__atomic_load_n(&r->job_done, __ATOMIC_ACQUIRE))
            return MHD_YES;
        return r->resume(r);
    }
    /* The whole request is in: no deadline while it is handled (a write, an event stream). */
    hm_conn_guard_handled(srv->guard, conn);
    return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    hm_http_server *srv = cls;
    hm_req *r = *req_cls;
    /* The next request on this connection has its header deadline from now. */
    hm_conn_guard_request_done(srv->guard, conn);
    if (!r)
        return;
    {
        double ms = (now_us() - r->t0_us) / 1000.0;
        unsigned status = r->responded ? r->status : 0;
        hm_metrics_observe(r->route_id, status, ms);
        /* Route template only: paths may hold codes, query strings may hold
         * tokens; neither is logged. */
        hm_log(HM_LOG_INFO, "event=access method=%s route=%s status=%u bytes=%zu ms=%.2f code=%s%s",
               r->method, r->route, status, r->bytes, ms, r->err_code ? r->err_code : "-",
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    }
    {
        /* A read left half-run would pin this thread's connection to an old snapshot, and
         * later reads would miss new requests. */
        char what[160];
        if (!hm_worker_quiesce(what, sizeof what))
            hm_log(HM_LOG_ERROR, "event=statement_left_busy route=%s sql=\"%.100s\"", r->route,
                   what);
    }
    if (r->state_free)
        r->state_free(r->state);
    hm_buf_clear(&r->body);
    free(r);
    *req_cls = NULL;
}

/* Percent-decoding of the path and query arguments (MHD_OPTION_UNESCAPE_CALLBACK):
 * MHD's own, except that "%00" stays as it is. Decoded, it cut the C string
 * short, so "/index.html%00/../x" was served as "/index.html" (issue 6).
 * Decodes `s` in place and returns its new length. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *o = s;
    (void)cls;
    (void)conn;
    for (const char *p = s; *p; p++) {
        int hi = *p == '%' ? hm_hexval(p[1]) : -1, lo = hi >= 0 ? hm_hexval(p[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *o++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return (size_t)(o - s);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    hm_log(HM_LOG_WARN, "event=mhd msg=\"%s\"", msg);
}

hm_http_server *hm_http_start(hm_core *core, const hm_http_config *cfg, hm_error *err)
{
    hm_http_server *srv;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr *sa;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    int threads = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);

    memset(&sin, 0, sizeof sin);
    memset(&sin6, 0, sizeof sin6);
    if (inet_pton(AF_INET, cfg->bind, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&sin;
    } else if (inet_pton(AF_INET6, cfg->bind, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&sin6;
        flags |= MHD_USE_IPv6;
    } else {
        hm_error_set(err, HM_E_INVALID_FIELD, "bind", "--bind %s is not an IP address", cfg->bind);
        return NULL;
    }
    if (threads < 1)
        threads = 1;
    srv = hm_xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->core = core;
    for (int i = 0; i < cfg->n_trusted_proxy && i < 16; i++)
        if (hm_addr_list_add(&srv->trusted, cfg->trusted_proxy[i], err))
            goto fail;
    if (cfg->public_url && *cfg->public_url) {
        size_t n = strlen(cfg->public_url);
        char host[256];
        while (n > 0 && cfg->public_url[n - 1] == '/')
            n--;
        if (n >= sizeof srv->public_url ||
            snprintf(srv->public_url, sizeof srv->public_url, "%.*s", (int)n, cfg->public_url) <
                0 ||
            !url_host(srv->public_url, host, sizeof host) ||
            strcspn(srv->public_url, " \"<>\\") != strlen(srv->public_url)) {
            hm_error_set(err, HM_E_INVALID_FIELD, "public_url",
                         "--public-url must be an http:// or https:// address such as "
                         "https://map.example.org");
            goto fail;
        }
    }
    {
        hm_conn_guard_config gc = {
            .max_per_client =
                cfg->max_connections_per_ip > 0 ? (unsigned)cfg->max_connections_per_ip : 0,
            .header_timeout_s = cfg->header_timeout_s,
            .body_timeout_s = cfg->body_timeout_s,
            .exempt = &srv->trusted,
        };
        if (!(srv->guard = hm_conn_guard_create(&gc, err)))
            goto fail;
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, hm_conn_guard_accept, srv->guard, on_access, srv,
        MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_NOTIFY_CONNECTION, hm_conn_guard_notify, srv->guard,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        srv, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(cfg->connection_timeout_s > 0 ? cfg->connection_timeout_s : 30),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)0, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONN_MEMORY, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_END);
    if (!srv->daemon) {
        hm_error_set(err, HM_E_IO, NULL, "cannot listen on %s port %d: %s", cfg->bind, cfg->port,
                     strerror(errno));
        goto fail;
    }
    return srv;
fail:
    hm_conn_guard_destroy(srv->guard);
    hm_addr_list_clear(&srv->trusted);
    free(srv);
    return NULL;
}

void hm_http_stop(hm_http_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    hm_conn_guard_destroy(s->guard);
    hm_addr_list_clear(&s->trusted);
    free(s);
}

int hm_http_port(hm_http_server *s)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return di ? di->port : 0;
}
