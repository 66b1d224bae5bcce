/* http.h: the libmicrohttpd glue. Owns the daemon, per-request state
 * (hm_req), routing, body reading and its 16 KiB limit, authentication of
 * bearer tokens, error bodies in SPEC's format, security headers, the access
 * log and static files. Handlers in api_*.c receive an hm_req and answer
 * with one of the hm_http_* responders. */
#ifndef HM_HTTP_H
#define HM_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "clientaddr.h"
#include "connguard.h"
#include "core.h"
#include "hm_buf.h"
#include "hm_error.h"
#include "policy.h"
#include "server.h"
#include "writer.h"

#define HM_MAX_BODY (16 * 1024)

typedef struct hm_req hm_req;
typedef enum MHD_Result (*hm_handler)(hm_req *r);

struct hm_http_server {
    hm_http_config cfg;
    hm_core *core;
    struct MHD_Daemon *daemon;
    hm_addr_list trusted; /* cfg.trusted_proxy parsed */
    hm_conn_guard *guard; /* connections per client, header and body deadlines */
    char public_url[256]; /* cfg.public_url without a trailing slash; "" when none */
};

struct hm_req {
    struct MHD_Connection *conn;
    hm_http_server *srv;
    hm_core *app;       /* srv->core */
    const char *method; /* borrowed from MHD */
    const char *url;    /* path without query, borrowed from MHD */
    const char *route;  /* route template for logs and metrics */
    int route_id;
    const char *params[4]; /* path parameters, pointing into param_buf */
    char param_buf[256];
    hm_buf body;
    size_t max_body; /* HM_MAX_BODY, or larger on the import route */
    bool body_too_large;
    int64_t t0_us;
    unsigned status;
    size_t bytes;
    const char *err_code;
    char client[HM_CLIENT_KEY_SIZE];
    /* Authentication, filled by hm_http_auth(). */
    bool auth_done;
    bool auth_bad;  /* the Authorization header is not "Bearer TOKEN" */
    hm_actor actor; /* role HM_ROLE_PUBLIC without a team token */
    /* Asynchronous write: the job, whether it is done, and what answers. */
    hm_job *job;
    bool job_submitted;
    int job_done; /* atomic */
    hm_handler resume;
    void *state;
    void (*state_free)(void *state);
    bool responded;
};

/* Query-string argument or NULL. */
const char *hm_http_arg(hm_req *r, const char *name);
/* Request header or NULL. */
const char *hm_http_header(hm_req *r, const char *name);
/* HM_OK when every query argument is one of `allowed` (NULL-terminated); otherwise
 * HM_E_INVALID_FIELD naming the first unknown one (a filter a list does not know must not
 * pass silently: issue 14). */
int hm_http_check_args(hm_req *r, const char *const *allowed, hm_error *err);
/* The client sends Accept-Encoding: gzip. */
bool hm_http_accepts_gzip(hm_req *r);

/* Resolve the bearer token (if any) into r->actor. Returns HM_OK (also for no token and for a
 * token that is no team's: role public), HM_E_UNAUTHORIZED for a header that is not "Bearer
 * TOKEN", HM_E_UNAVAILABLE when tokens cannot be checked now. */
int hm_http_auth(hm_req *r, hm_error *err);
/* hm_http_auth(), then require at least `min_role` (enum hm_role): HM_OK or 401/403. */
int hm_http_require(hm_req *r, int min_role, hm_error *err);
/* The bearer token as sent (after "Bearer "), or NULL. */
const char *hm_http_bearer(hm_req *r);

/* Parse the body as a JSON object. HM_E_BAD_JSON on failure. The caller
 * json_decref()s *out. */
int hm_http_json_body(hm_req *r, json_t **out, hm_error *err);

/* Responders: each queues one response and returns MHD's result. JSON, GeoJSON and text
 * answers over 1,400 bytes are gzip'd for clients that accept it (Vary: Accept-Encoding),
 * unless `extra_headers` carry a Content-Encoding of their own. */
enum MHD_Result hm_http_json(hm_req *r, unsigned status, json_t *body_new);
enum MHD_Result hm_http_error(hm_req *r, const hm_error *err);
enum MHD_Result hm_http_fail(hm_req *r, enum hm_err code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* `data` is copied unless `must_free` (then malloc'd bytes are handed over). */
/* Like hm_http_bytes() without copying `data`: it must stay valid and unchanged until MHD
 * calls release(cls), exactly once (also when the answer cannot be queued). For shared,
 * immutable bytes such as cached tiles (issue 7: no copy of ~100 KB per hit). */
enum MHD_Result hm_http_borrowed(hm_req *r, unsigned status, const char *content_type,
                                 const void *data, size_t len, void (*release)(void *cls),
                                 void *cls, const char *const *extra_headers);
enum MHD_Result hm_http_bytes(hm_req *r, unsigned status, const char *content_type, void *data,
                              size_t len, bool must_free, const char *const *extra_headers);

/* Answer with the file at `path` (a static file: cached in memory while the server runs, ETag
 * and 304, gzip when accepted and worth it), or 404 when there is none. */
enum MHD_Result hm_http_file(hm_req *r, const char *path, const char *cache_control);

/* Run `job` (owned by the caller, usually inside r->state) on the core's writer and answer with
 * `resume` once it is done, without holding a pool thread meanwhile. */
enum MHD_Result hm_http_submit_job(hm_req *r, hm_job *job, hm_handler resume);

/* The client, as rate limits count it (clientaddr.h: IPv6 per /64): the peer's address, or
 * behind a trusted proxy the right-most X-Forwarded-For hop, over every line of that header,
 * that is not a trusted proxy. */
const char *hm_http_client(hm_req *r);

/* The bytes of file `name` under the web root (cached; borrowed for the server's life, they
 * never change while it runs unless the file does), or false when it is missing. */
bool hm_http_web_file(hm_req *r, const char *name, const char **data, size_t *len);

/* Whether the request comes from a page of this server (POST /report, issue 11): false for a
 * cross-site Origin (or "null" unless Sec-Fetch-Site says same-origin) or, without Origin, a
 * cross-site Referer; true without either. Same origin means the request's own Host, or the
 * configured public URL. */
bool hm_http_same_origin(hm_req *r);

/* Route templates and their methods in route-id order into names and methods (at most max);
 * returns the count. */
int hm_http_route_names(const char **names, const char **methods, int max);

/* HTTP status for an error code. */
unsigned hm_http_status_of(enum hm_err code);

#endif
