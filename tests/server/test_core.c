/* test_core.c: the core without HTTP — this file links hm_core and nothing of the edge (no
 * libmicrohttpd), which is what the layering promises. It drives a real core on a temporary
 * SpatiaLite file through the operations the edge calls: creation and its refusals, every
 * path of the status machine with each kind of actor, assignment checks inside the writer's
 * transaction, the claim cap, the resident's token, claim time-outs, the change log, and a
 * change made by another connection (as `helpmap import-areas` does) reaching the core's
 * indexes. */
#include "hm_test.h"

#include "areas.h"
#include "core.h"
#include "core_int.h"
#include "events.h"
#include "export.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "model.h"
#include "openindex.h"
#include "policy.h"
#include "present.h"
#include "publisher.h"
#include "requests.h"
#include "teams.h"
#include "writer.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef HM_TEST_DATA
#define HM_TEST_DATA "tests/data"
#endif

static hm_core *core;
static char db_path[256];

/* A point well inside ward 27496 (see api_test.py's WARD_POINTS), and the sea. */
#define IN_LON  106.4651
#define IN_LAT  10.9703
#define SEA_LON 106.9
#define SEA_LAT 10.3

static int run(hm_job *job)
{
    return hm_writer_run(core->writer, job);
}

/* A team of `role` through the account operation the CLI uses; its actor into *a. */
static void make_team(const char *name, int role, hm_actor *a)
{
    hm_team_admin_op op;
    hm_team_admin_init(&op, HM_TEAM_ADD);
    snprintf(op.team.name, sizeof op.team.name, "%s", name);
    op.team.role = role;
    snprintf(op.team.capabilities, sizeof op.team.capabilities, "[]");
    CHECK_INT_EQ(run(&op.job), HM_OK);
    memset(a, 0, sizeof *a);
    CHECK_INT_EQ(hm_core_authenticate(core, op.token, a, NULL), HM_OK);
    CHECK_INT_EQ(a->role, role);
    snprintf(a->client, sizeof a->client, "10.0.0.%d", role);
}

static hm_actor public_actor(const char *client)
{
    hm_actor a;
    memset(&a, 0, sizeof a);
    a.role = HM_ROLE_PUBLIC;
    snprintf(a.client, sizeof a.client, "%s", client);
    return a;
}

static int phone_seq = 1000;

/* Create a request at (lon, lat) as `a`; its code into code[16] and token into token[33]
 * (either may be NULL). Returns the job's (or the validation's) result. */
static int create_at(const hm_actor *a, double lon, double lat, const char *category, char *code,
                     char *token, bool *duplicate)
{
    hm_create_op op;
    hm_error err = {0};
    char phone[32];
    json_t *body;
    int rc;

    snprintf(phone, sizeof phone, "0909%06d", phone_seq++);
    body = json_pack("{s:f,s:f,s:s,s:i,s:s}", "lat", lat, "lon", lon, "category", category,
                     "people", 2, "phone", phone);
    rc = hm_core_create(core, a, body, &op, &err);
    json_decref(body);
    if (rc == HM_OK)
        rc = run(&op.job);
    if (rc == HM_OK) {
        if (code)
            snprintf(code, 16, "%s", op.req.code);
        if (token)
            snprintf(token, 33, "%s", op.token);
        if (duplicate)
            *duplicate = op.duplicate;
    }
    hm_create_op_clear(&op);
    return rc;
}

/* ---- creation ---- */

static void test_create_and_refusals(void)
{
    hm_actor pub = public_actor("10.1.0.1"), vol;
    char code[16];
    size_t before = hm_open_index_count(core->open);

    make_team("Đội tạo", HM_ROLE_VOLUNTEER, &vol);
    CHECK_INT_EQ(create_at(&pub, IN_LON, IN_LAT, "food", code, NULL, NULL), HM_OK);
    CHECK(strncmp(code, "CC-", 3) == 0 && strlen(code) == 9);
    /* The writer applied the change before answering: this server sees it at once. */
    CHECK_INT_EQ(hm_open_index_count(core->open), before + 1);
    CHECK_INT_EQ(create_at(&pub, SEA_LON, SEA_LAT, "food", NULL, NULL, NULL), HM_E_OUTSIDE_AREA);
    CHECK_INT_EQ(create_at(&vol, IN_LON, IN_LAT, "food", NULL, NULL, NULL), HM_E_FORBIDDEN);
    CHECK_INT_EQ(create_at(&pub, IN_LON, IN_LAT, "pizza", NULL, NULL, NULL), HM_E_INVALID_FIELD);
    CHECK_INT_EQ(hm_open_index_count(core->open), before + 1);
}

/* ---- the status machine ---- */

enum step_op { CLAIM, MOVE, CANCEL, ASSIGN };

typedef struct step {
    const char *who; /* "A", "B" (volunteers), "O" (operator), "C" (coordinator), "R" (resident
                        with the token), "P" (public without it) */
    enum step_op op;
    int to;     /* MOVE */
    int want;   /* result */
    int status; /* the request's status afterwards (when want is HM_OK) */
} step;

static hm_actor A, B, O, C;

static const hm_actor *actor_of(const char *who)
{
    switch (who[0]) {
        case 'A':
            return &A;
        case 'B':
            return &B;
        case 'O':
            return &O;
        default:
            return &C;
    }
}

static int do_step(const step *s, const char *code, const char *token, int *status)
{
    hm_change_op op;
    hm_error err = {0};
    hm_actor pub = public_actor("10.2.0.1");
    const char *tracking[2] = {NULL, NULL};
    int rc;

    memset(&op, 0, sizeof op);
    switch (s->op) {
        case CLAIM:
            rc = hm_core_claim(core, actor_of(s->who), code, &op, &err);
            break;
        case MOVE:
            rc = hm_core_move(core, actor_of(s->who), code, s->to, NULL, NULL, &op, &err);
            break;
        case ASSIGN:
            rc = hm_core_assign(core, actor_of(s->who), code, A.team.id, NULL, &op, &err);
            break;
        default:
            if (s->who[0] == 'R' || s->who[0] == 'P')
                tracking[0] = s->who[0] == 'R' ? token : "0123456789abcdef0123456789abcdef";
            rc =
                hm_core_cancel(core, s->who[0] == 'R' || s->who[0] == 'P' ? &pub : actor_of(s->who),
                               code, tracking, NULL, &op, &err);
            break;
    }
    if (rc == HM_OK)
        rc = run(&op.job);
    if (rc == HM_OK)
        *status = op.result.status;
    hm_change_op_clear(&op);
    return rc;
}

static void run_path(const char *name, const step *steps, size_t n)
{
    hm_actor pub = public_actor("10.3.0.1");
    char code[16], token[33];
    int status = HM_ST_NEW;

    CHECK_INT_EQ(create_at(&pub, IN_LON, IN_LAT, "medical", code, token, NULL), HM_OK);
    for (size_t i = 0; i < n; i++) {
        int got = do_step(&steps[i], code, token, &status);
        if (got != steps[i].want)
            fprintf(stderr, "%s, step %zu (%s):\n", name, i, steps[i].who);
        CHECK_INT_EQ(got, steps[i].want);
        if (got == HM_OK && steps[i].want == HM_OK)
            CHECK_STR_EQ(hm_status_name(status), hm_status_name(steps[i].status));
    }
}

static void test_status_machine(void)
{
    /* Claimed, started, resolved by the holding team; nobody else may move it meanwhile. */
    static const step holder[] = {
        {"A", CLAIM, 0, HM_OK, HM_ST_ASSIGNED},
        {"B", CLAIM, 0, HM_E_ALREADY_CLAIMED, 0},
        {"B", MOVE, HM_ST_IN_PROGRESS, HM_E_FORBIDDEN, 0},
        {"O", MOVE, HM_ST_IN_PROGRESS, HM_E_FORBIDDEN, 0},
        {"A", MOVE, HM_ST_RESOLVED, HM_E_INVALID_TRANSITION, 0},
        {"A", MOVE, HM_ST_IN_PROGRESS, HM_OK, HM_ST_IN_PROGRESS},
        {"A", MOVE, HM_ST_RESOLVED, HM_OK, HM_ST_RESOLVED},
        {"A", MOVE, HM_ST_NEW, HM_E_FORBIDDEN, 0},
        {"C", MOVE, HM_ST_NEW, HM_OK, HM_ST_NEW},
        {"A", CLAIM, 0, HM_OK, HM_ST_ASSIGNED},
        {"A", MOVE, HM_ST_NEW, HM_OK, HM_ST_NEW},
    };
    /* Cancelled by the resident with the token; a wrong token reads as an unknown request;
     * a volunteer releases instead of cancelling; nothing moves a cancelled request but a
     * coordinator's reopening. */
    static const step cancel[] = {
        {"P", CANCEL, 0, HM_E_NOT_FOUND, 0},          {"A", CANCEL, 0, HM_E_FORBIDDEN, 0},
        {"R", CANCEL, 0, HM_OK, HM_ST_CANCELLED},     {"A", CLAIM, 0, HM_E_INVALID_TRANSITION, 0},
        {"R", CANCEL, 0, HM_E_INVALID_TRANSITION, 0}, {"C", MOVE, HM_ST_NEW, HM_OK, HM_ST_NEW},
        {"O", CANCEL, 0, HM_OK, HM_ST_CANCELLED},
    };
    /* Assigned by a coordinator; operators may not assign or claim. */
    static const step assign[] = {
        {"O", ASSIGN, 0, HM_E_FORBIDDEN, 0},
        {"O", CLAIM, 0, HM_E_FORBIDDEN, 0},
        {"C", ASSIGN, 0, HM_OK, HM_ST_ASSIGNED},
        {"A", MOVE, HM_ST_IN_PROGRESS, HM_OK, HM_ST_IN_PROGRESS},
        {"C", ASSIGN, 0, HM_OK, HM_ST_ASSIGNED},
        {"C", MOVE, HM_ST_CANCELLED, HM_OK, HM_ST_CANCELLED},
    };
    run_path("holder", holder, sizeof holder / sizeof holder[0]);
    run_path("cancel", cancel, sizeof cancel / sizeof cancel[0]);
    run_path("assign", assign, sizeof assign / sizeof assign[0]);
}

/* The team a coordinator assigns to is checked in the transaction that assigns: a team
 * disabled a moment before, or an operator team, is refused; the claim cap holds. */
static void test_assign_checks_and_cap(void)
{
    hm_actor pub = public_actor("10.4.0.1"), v, op;
    char codes[4][16];
    hm_team_admin_op dis;
    hm_change_op ch;
    hm_error err = {0};

    make_team("Đội tắt", HM_ROLE_VOLUNTEER, &v);
    make_team("Tổng đài 2", HM_ROLE_OPERATOR, &op);
    for (int i = 0; i < 4; i++)
        CHECK_INT_EQ(create_at(&pub, IN_LON + 0.001 * i, IN_LAT, "water", codes[i], NULL, NULL),
                     HM_OK);
    hm_team_admin_init(&dis, HM_TEAM_DISABLE);
    dis.team.id = v.team.id;
    CHECK_INT_EQ(run(&dis.job), HM_OK);
    memset(&ch, 0, sizeof ch);
    CHECK_INT_EQ(hm_core_assign(core, &C, codes[0], v.team.id, NULL, &ch, &err), HM_OK);
    CHECK_INT_EQ(run(&ch.job), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(ch.job.err.field, "team_id");
    hm_change_op_clear(&ch);
    memset(&ch, 0, sizeof ch);
    CHECK_INT_EQ(hm_core_assign(core, &C, codes[0], op.team.id, NULL, &ch, &err), HM_OK);
    CHECK_INT_EQ(run(&ch.job), HM_E_INVALID_FIELD);
    hm_change_op_clear(&ch);

    /* The cap (2 in this core): the third claim of one team is refused. */
    make_team("Đội đầy", HM_ROLE_VOLUNTEER, &v);
    for (int i = 1; i < 4; i++) {
        memset(&ch, 0, sizeof ch);
        CHECK_INT_EQ(hm_core_claim(core, &v, codes[i], &ch, &err), HM_OK);
        CHECK_INT_EQ(run(&ch.job), i < 3 ? HM_OK : HM_E_CLAIM_LIMIT);
        hm_change_op_clear(&ch);
    }
    CHECK_INT_EQ(hm_open_index_held(core->open, v.team.id), 2);
}

/* An operator's repeat of an open request (same phone and category within 200 m) is reported
 * as a duplicate of it, not stored twice. */
static void test_operator_duplicate(void)
{
    hm_create_op a, b;
    hm_error err = {0};
    json_t *body = json_pack("{s:f,s:f,s:s,s:s,s:s}", "lat", IN_LAT, "lon", IN_LON, "category",
                             "cash", "phone", "0912 000 111", "note", "lần 1");
    CHECK_INT_EQ(hm_core_create(core, &O, body, &a, &err), HM_OK);
    CHECK_INT_EQ(run(&a.job), HM_OK);
    CHECK(!a.duplicate);
    json_object_set_new(body, "lat", json_real(IN_LAT + 0.0005));
    CHECK_INT_EQ(hm_core_create(core, &O, body, &b, &err), HM_OK);
    CHECK_INT_EQ(run(&b.job), HM_OK);
    CHECK(b.duplicate);
    CHECK_STR_EQ(b.req.code, a.req.code);
    json_decref(body);
    hm_create_op_clear(&a);
    hm_create_op_clear(&b);
}

/* A claim not started within the time-out goes back to new, through the same status move as
 * any other, recorded as the system's. */
static void test_claim_timeout(void)
{
    hm_actor pub = public_actor("10.5.0.1");
    hm_request_view v;
    hm_change_op ch;
    hm_error err = {0};
    char code[16];
    hm_store *st;

    CHECK_INT_EQ(create_at(&pub, IN_LON, IN_LAT + 0.002, "food", code, NULL, NULL), HM_OK);
    memset(&ch, 0, sizeof ch);
    CHECK_INT_EQ(hm_core_claim(core, &B, code, &ch, &err), HM_OK);
    CHECK_INT_EQ(run(&ch.job), HM_OK);
    hm_change_op_clear(&ch);
    st = hm_store_open(db_path, 0, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    /* As if the tick ran two hours and a minute later (the writer is idle meanwhile: this
     * thread is the only one writing). */
    hm_core__claim_timeouts(core, st,
                            hm_now_ms() + (int64_t)core->cfg.claim_timeout_s * 1000 + 60000);
    hm_store_close(st);
    CHECK_INT_EQ(hm_core_request_read(core, &C, code, (const char *const[2]){NULL, NULL}, &v, &err),
                 HM_OK);
    CHECK_STR_EQ(hm_status_name(v.req.status), "new");
    CHECK_INT_EQ(v.req.team_id, 0);
    {
        /* A coordinator's first look at the contact data is recorded first. */
        const hm_history *h;
        size_t n;
        if (v.pending)
            CHECK_INT_EQ(run(v.pending), HM_OK);
        h = hm_request_view_history(&v, &n);
        CHECK(n >= 3);
        if (n >= 4) {
            CHECK_STR_EQ(h[n - 2].actor, "system"); /* the time-out, then the reveal */
            CHECK_STR_EQ(h[n - 1].kind, "reveal");
        }
    }
    hm_request_view_clear(&v);
}

static int count_kind(void *ctx, const hm_change *c)
{
    int *counts = ctx;
    if (c->kind > 0 && c->kind < 16)
        counts[c->kind]++;
    return 0;
}

/* Every change above is in the log, in id order, with its kind. */
static void test_change_log(void)
{
    hm_error err = {0};
    int counts[16] = {0};
    int64_t last = 0;
    hm_store *st = hm_store_open(db_path, 0, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT_EQ(hm_store_changes_since(st, 0, 0, count_kind, counts, &err), HM_OK);
    CHECK_INT_EQ(hm_store_change_last(st, &last, &err), HM_OK);
    CHECK(counts[HM_CH_REQUEST_CREATED] >= 10);
    CHECK(counts[HM_CH_REQUEST_UPDATED] >= 12);
    CHECK(counts[HM_CH_TEAM] >= 6);
    CHECK(counts[HM_CH_RELOAD] >= 2); /* the default areas of a new database */
    CHECK(last > 0);
    hm_store_close(st);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    hm_buf b;
    char chunk[8192];
    size_t n;
    if (!f)
        return NULL;
    hm_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        hm_buf_append(&b, chunk, n);
    fclose(f);
    return hm_buf_steal(&b, len);
}

/* Hamlets imported by another connection (as `helpmap import-areas` on the database of a
 * running server) reach the core through the change log: a new request inside one gets its
 * hamlet code within 5 seconds, without a restart. */
static void test_change_from_another_connection(void)
{
    hm_actor pub = public_actor("10.6.0.1");
    hm_import_report rep;
    hm_error err = {0};
    hm_request_view v;
    size_t len = 0;
    char *text = read_all(HM_TEST_DATA "/api_hamlets_synthetic.geojson", &len);
    hm_area_fields fields = {NULL, NULL, "parent_code"};
    char code[16];
    hm_store *st;
    bool found = false;

    CHECK(text != NULL);
    st = hm_store_open(db_path, 0, &err);
    CHECK(st != NULL);
    if (!st || !text) {
        free(text);
        return;
    }
    CHECK_INT_EQ(hm_areas_import(st, HM_LEVEL_HAMLET, text, len, &fields, false, &rep, &err),
                 HM_OK);
    hm_store_close(st);
    free(text);
    /* The synthetic hamlet 27496-T01 covers 106.458–106.464 E, 10.964–10.970 N. */
    for (int i = 0; i < 100 && !found; i++) {
        CHECK_INT_EQ(create_at(&pub, 106.461, 10.967, "other", code, NULL, NULL), HM_OK);
        CHECK_INT_EQ(
            hm_core_request_read(core, &C, code, (const char *const[2]){NULL, NULL}, &v, &err),
            HM_OK);
        found = strcmp(v.req.hamlet_code, "27496-T01") == 0;
        hm_request_view_clear(&v);
        if (!found)
            usleep(50 * 1000);
    }
    CHECK(found);
}

/* ---- regression: an alert computed after a claim ---- */

typedef struct gate {
    hm_pub_job job;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open;
} gate;

static void gate_run(hm_pub_job *j)
{
    gate *g = (gate *)j;
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void no_op(void *conn)
{
    (void)conn;
}

static const hm_events_transport quiet_transport = {no_op, no_op};

/* Whether the stream of `s` holds a request.alert for `code`, reading what is pending. */
static bool stream_has_alert(hm_events_sub *s, const char *code)
{
    char buf[HM_EVENTS_BLOCK_SIZE + 1];
    bool found = false;
    ssize_t n;
    while ((n = hm_events_read(s, buf, sizeof buf - 1)) > 0) {
        buf[n] = '\0';
        /* Frame by frame ("id: N\nevent: TYPE\ndata: JSON\n\n"). */
        for (char *f = buf, *end; f && *f; f = end ? end + 2 : NULL) {
            end = strstr(f, "\n\n");
            if (end)
                *end = '\0';
            if (strstr(f, "event: request.alert") && strstr(f, code))
                found = true;
        }
    }
    return found;
}

/* The api_test EscalationTest failed now and then under load: a request claimed right after
 * its creation alerted the second-nearest team. The publisher thread chose whom to alert when
 * it got to the creation, after the claim had made the nearest team busy. The teams are now
 * chosen when the creation is applied, in the order of changes. Here the publisher is held
 * while a request is created and claimed: the alert still goes to the team that was nearest
 * and available at the creation, and not to the next one. */
static void test_regress_alert_chosen_at_creation(void)
{
    hm_actor pub = public_actor("10.7.0.1"), near, next;
    hm_events_who who_near, who_next;
    hm_events_sub *s_near = NULL, *s_next = NULL;
    hm_team_op loc;
    hm_change_op ch;
    hm_error err = {0};
    gate g = {{NULL, gate_run}, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    const double lon = 106.5562, lat = 10.9888; /* ward 27541, away from the other tests */
    char code[16];

    make_team("Đội gần", HM_ROLE_VOLUNTEER, &near);
    make_team("Đội kế", HM_ROLE_VOLUNTEER, &next);
    CHECK_INT_EQ(hm_core_team_location(core, &near, lon + 0.001, lat, &loc, &err), HM_OK);
    CHECK_INT_EQ(run(&loc.job), HM_OK);
    CHECK_INT_EQ(hm_core_team_location(core, &next, lon + 0.01, lat, &loc, &err), HM_OK);
    CHECK_INT_EQ(run(&loc.job), HM_OK);
    who_near = (hm_events_who){.role = HM_EV_ROLE_VOLUNTEER, .team_id = near.team.id};
    who_next = (hm_events_who){.role = HM_EV_ROLE_VOLUNTEER, .team_id = next.team.id};
    CHECK_INT_EQ(
        hm_events_subscribe(core->events, &quiet_transport, NULL, &who_near, 0, &s_near, &err),
        HM_OK);
    CHECK_INT_EQ(
        hm_events_subscribe(core->events, &quiet_transport, NULL, &who_next, 0, &s_next, &err),
        HM_OK);
    hm_publisher_post(core->publisher, &g.job);
    CHECK_INT_EQ(create_at(&pub, lon, lat, "food", code, NULL, NULL), HM_OK);
    memset(&ch, 0, sizeof ch);
    CHECK_INT_EQ(hm_core_claim(core, &near, code, &ch, &err), HM_OK);
    CHECK_INT_EQ(run(&ch.job), HM_OK);
    hm_change_op_clear(&ch);
    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_signal(&g.cv);
    pthread_mutex_unlock(&g.mu);
    hm_publisher_flush(core->publisher);
    for (int i = 0; i < 200 && hm_events_subscriber_count(core->events) > 0; i++) {
        bool a = stream_has_alert(s_near, code);
        CHECK(!stream_has_alert(s_next, code));
        if (a)
            break;
        CHECK(i < 199);
        usleep(10 * 1000);
    }
    hm_events_unsubscribe(s_near);
    hm_events_unsubscribe(s_next);
}

/* ---- export escaping ---- */

/* One request with hostile free text, created as an operator would. */
static void create_text(const char *note, const char *name, const char *address, char *code)
{
    hm_create_op op;
    hm_error err = {0};
    char phone[32];
    json_t *body;

    snprintf(phone, sizeof phone, "0909%06d", phone_seq++);
    body = json_pack("{s:f,s:f,s:s,s:i,s:s,s:s,s:s,s:s}", "lat", IN_LAT, "lon", IN_LON, "category",
                     "food", "people", 1, "phone", phone, "note", note, "name", name, "address",
                     address);
    CHECK_INT_EQ(hm_core_create(core, &O, body, &op, &err), HM_OK);
    CHECK_INT_EQ(run(&op.job), HM_OK);
    snprintf(code, 16, "%s", op.req.code);
    hm_create_op_clear(&op);
    json_decref(body);
}

/* The line of `csv` that holds `code` (malloc'd; lines end with CRLF, quoted cells may hold
 * line breaks, so the record is cut at the CRLF that follows an even number of quotes). */
static char *csv_record_of(const char *csv, const char *code)
{
    const char *at = strstr(csv, code), *start, *p;
    size_t quotes = 0;

    if (!at)
        return NULL;
    for (start = at; start > csv && !(start[-1] == '\n' && start[-2] == '\r'); start--)
        ;
    for (p = start; *p; p++) {
        if (*p == '"')
            quotes++;
        if (p[0] == '\r' && p[1] == '\n' && quotes % 2 == 0)
            break;
    }
    return strndup(start, (size_t)(p - start));
}

/* Export escaping (issue 11, issue 12): a spreadsheet opening the CSV with any of its default
 * separators finds no cell that starts a formula, quotes are doubled, line breaks stay inside
 * their quoted cell, the file starts with a BOM; KML escapes markup; GeoJSON keeps the text as
 * written. */
static void test_export_escaping(void)
{
    static const struct {
        const char *note, *name, *address, *want_note;
    } rows[] = {
        {"=1+1", "Bà Tư", "Ấp 3", "\"'=1+1\""},
        {"giúp;=HYPERLINK(\"x\")", "@cmd", "-2", "\"giúp;'=HYPERLINK(\"\"x\"\")\""},
        {"dòng 1\n+dòng 2", "a\tb", "x, y", "\"dòng 1\n'+dòng 2\""},
        {"\"=quoted\"", "Ông Năm", "Tổ 5", "\"\"\"'=quoted\"\"\""},
        {"hết gạo, 2 cháu", "<b>&</b>", "Ấp 1", "\"hết gạo, 2 cháu\""},
    };
    enum { N = sizeof rows / sizeof rows[0] };
    char codes[N][16];
    hm_error err = {0};
    hm_store *st;
    hm_buf out;
    size_t n = 0;

    for (size_t i = 0; i < N; i++)
        create_text(rows[i].note, rows[i].name, rows[i].address, codes[i]);
    st = hm_store_open(db_path, 0, &err);
    CHECK(st != NULL);
    if (!st)
        return;

    hm_buf_init(&out);
    CHECK_INT_EQ(hm_export_write(st, HM_EXPORT_CSV, NULL, &out, &n, &err), HM_OK);
    hm_buf_putc(&out, '\0');
    CHECK(n >= N);
    CHECK(memcmp(out.data,
                 "\xEF\xBB\xBF"
                 "id,code,",
                 11) == 0);
    for (size_t i = 0; i < N; i++) {
        char *rec = csv_record_of(out.data, codes[i]);
        CHECK(rec != NULL);
        if (!rec)
            continue;
        if (!strstr(rec, rows[i].want_note))
            fprintf(stderr, "  export of %s: want %s in %s\n", codes[i], rows[i].want_note, rec);
        CHECK(strstr(rec, rows[i].want_note) != NULL);
        /* Split on every separator a spreadsheet may choose: no piece starts a formula. */
        for (const char *p = rec; *p; p++) {
            if (p == rec || strchr(",;\t\n", p[-1])) {
                const char *q = p;
                while (*q == ' ' || *q == '"')
                    q++;
                /* a phone's "+849…" is a number to a spreadsheet, not a formula */
                bool formula = *q == '=' || *q == '@' ||
                               ((*q == '+' || *q == '-') && !(q[1] >= '0' && q[1] <= '9'));
                if (formula)
                    fprintf(stderr, "  a cell starts a formula: %.30s\n", q);
                CHECK(!formula);
            }
        }
        free(rec);
    }
    CHECK(strstr(out.data, "\"'@cmd\"") != NULL);
    CHECK(strstr(out.data, "\"'-2\"") != NULL);
    hm_buf_clear(&out);

    hm_buf_init(&out);
    CHECK_INT_EQ(hm_export_write(st, HM_EXPORT_KML, NULL, &out, &n, &err), HM_OK);
    hm_buf_putc(&out, '\0');
    CHECK(strstr(out.data, "&lt;b&gt;&amp;&lt;/b&gt;") != NULL);
    CHECK(strstr(out.data, "<b>&</b>") == NULL);
    hm_buf_clear(&out);

    hm_buf_init(&out);
    CHECK_INT_EQ(hm_export_write(st, HM_EXPORT_GEOJSON, NULL, &out, &n, &err), HM_OK);
    {
        json_error_t jerr;
        json_t *fc = json_loadb(out.data, out.len, 0, &jerr);
        size_t found = 0, i;
        json_t *f;
        CHECK(fc != NULL);
        json_array_foreach(json_object_get(fc, "features"), i, f)
        {
            const char *note =
                json_string_value(json_object_get(json_object_get(f, "properties"), "note"));
            for (size_t k = 0; k < N; k++)
                if (note && strcmp(note, rows[k].note) == 0)
                    found++;
        }
        CHECK_INT_EQ(found, N);
        json_decref(fc);
    }
    hm_buf_clear(&out);
    hm_store_close(st);
}

/* Event payloads are rendered without a JSON tree (present.c, reqjson.c): the same bytes as
 * jansson's dump of hm_core_request_json(), public and team view, for requests with every
 * kind of value, and hm_request_text() the same as hm_request_json() in every view. */
static void test_event_text_matches_json(void)
{
    static const struct {
        double lon, lat;
        const char *code, *ward, *former, *hamlet, *dup;
        unsigned vulnerable;
        int status, people;
        int64_t team, created;
        bool verified, auto_dup;
    } cases[] = {
        {106.4651, 11.0357, "CC-4K7M2B", "27496", "27526", "27496-H01", "", 0, HM_ST_NEW, 1, 0,
         1764547200000, false, false},
        {106.5, 11.0, "CC-000000", "", "", "", "CC-AAAAAA", 31, HM_ST_DUPLICATE, 500, 12,
         1764547200123, true, true},
        {-0.00001, 1e-7, "X\"Y\\Z", "a\tb\nc\x01", "\xe1\xba\xa5p", "", "CC-BBBBBB", 5,
         HM_ST_DUPLICATE, 3, 9007199254740993LL, 0, false, false},
        {180.0, -90.0, "CC-ZZZZZZ", "27541", "\xff\xfe", "", "", 16, HM_ST_RESOLVED, 7, 1, 1, true,
         false},
        {106.12345678901234, 10.999999999999, "CC-1", "1", "2", "3", "", 2, HM_ST_CANCELLED, 42,
         2000, 253402300799000LL, false, false},
    };
    /* HM_VIEW_RECEIPT: coordinators' list of flagged requests carries the team's delivery and
     * the resident's receipt (it once lost them: test_loop's seed case). */
    static const unsigned views[] = {0,
                                     HM_VIEW_SNAP,
                                     HM_VIEW_RESIDENT,
                                     HM_VIEW_RECEIPT,
                                     HM_VIEW_SNAP | HM_VIEW_RECEIPT,
                                     HM_VIEW_CONTACT | HM_VIEW_RESIDENT};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hm_request r;
        memset(&r, 0, sizeof r);
        r.id = (int64_t)i * 1000003 + 1;
        snprintf(r.code, sizeof r.code, "%s", cases[i].code);
        r.lon = cases[i].lon;
        r.lat = cases[i].lat;
        r.precision = (int)(i % 3);
        r.category = (int)(i % 7);
        r.people = cases[i].people;
        r.vulnerable = cases[i].vulnerable;
        r.priority = (int)(i % 2);
        r.status = cases[i].status;
        snprintf(r.ward_code, sizeof r.ward_code, "%s", cases[i].ward);
        snprintf(r.former_ward_code, sizeof r.former_ward_code, "%s", cases[i].former);
        snprintf(r.hamlet_code, sizeof r.hamlet_code, "%s", cases[i].hamlet);
        snprintf(r.duplicate_of, sizeof r.duplicate_of, "%s", cases[i].dup);
        r.auto_duplicate = cases[i].auto_dup;
        r.source = (int)(i % 3);
        r.verified = cases[i].verified;
        r.team_id = cases[i].team;
        r.created_at = cases[i].created;
        r.updated_at = cases[i].created + 61000;
        for (int pub = 0; pub < 2; pub++) {
            json_t *o = hm_core_request_json(core, &r, pub ? HM_VIEW_SNAP : 0, !pub);
            char *want = json_dumps(o, HM_JSON_FLAGS);
            char *got = hm_core__request_event_text(core, &r, pub);
            CHECK(want != NULL && got != NULL);
            if (want && got)
                CHECK_STR_EQ(got, want);
            free(want);
            free(got);
            json_decref(o);
        }
        for (int k = 0; k < 4; k++) {
            /* nearby's features: hm_core_request_feature() with distance_m added. */
            const unsigned view = k & 1 ? HM_VIEW_SNAP : 0;
            const double d = k < 2 ? 1234.5678 : NAN;
            json_t *f = hm_core_request_feature(core, &r, view, k == 1);
            char *want, *got;
            hm_buf b;
            if (!isnan(d))
                json_object_set_new(json_object_get(f, "properties"), "distance_m",
                                    json_real(round(d * 10) / 10));
            want = json_dumps(f, HM_JSON_FLAGS);
            hm_buf_init(&b);
            hm_core_request_feature_text(core, &b, &r, view, k == 1, d);
            got = hm_buf_steal(&b, NULL);
            CHECK(want != NULL);
            if (want)
                CHECK_STR_EQ(got, want);
            free(want);
            free(got);
            json_decref(f);
        }
        for (size_t v = 0; v < sizeof views / sizeof views[0]; v++) {
            static const char *const keys[2] = {"place", "team_name"};
            const char *values[2] = {"Chợ Củ Chi", NULL};
            json_t *o = hm_request_json(&r, views[v]);
            char *want, *got = hm_request_text(&r, views[v], keys, values, 2);
            json_object_set_new(o, "place", json_string(values[0]));
            json_object_set_new(o, "team_name", json_null());
            want = json_dumps(o, HM_JSON_FLAGS);
            CHECK(want != NULL && got != NULL);
            if (want && got)
                CHECK_STR_EQ(got, want);
            free(want);
            free(got);
            json_decref(o);
        }
    }
}

int main(void)
{
    hm_core_config cfg;
    hm_error err = {0};
    char dir[] = "/tmp/hm-core-XXXXXX";

    json_object_seed(0);
    hm_log_level = HM_LOG_WARN;
    if (!mkdtemp(dir))
        return 1;
    snprintf(db_path, sizeof db_path, "%s/core.db", dir);
    hm_core_config_init(&cfg);
    cfg.db_path = db_path;
    cfg.claim_cap = 2;
    cfg.alert_teams = 1; /* the nearest team only (test_regress_alert_chosen_at_creation) */
    cfg.rate_limit = 0;
    cfg.phone_rate_limit = 0;
    core = hm_core_start(&cfg, &err);
    CHECK(core != NULL);
    if (!core) {
        fprintf(stderr, "cannot start a core: %s\n", err.msg);
        return hm_test_done("test_core");
    }
    make_team("Đội A", HM_ROLE_VOLUNTEER, &A);
    make_team("Đội B", HM_ROLE_VOLUNTEER, &B);
    make_team("Tổng đài", HM_ROLE_OPERATOR, &O);
    make_team("Chỉ huy", HM_ROLE_COORDINATOR, &C);

    test_create_and_refusals();
    test_status_machine();
    test_assign_checks_and_cap();
    test_operator_duplicate();
    test_claim_timeout();
    test_change_log();
    test_change_from_another_connection();
    test_regress_alert_chosen_at_creation();
    test_export_escaping();
    test_event_text_matches_json();

    hm_core_shutdown(core);
    hm_core_destroy(core);
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return hm_test_done("test_core");
}
