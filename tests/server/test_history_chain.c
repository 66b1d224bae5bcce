/* test_history_chain.c: the tamper-evident history (issue 17) — the canonical JSON of an entry
 * and its hash, byte for byte as chain.h defines them (expected values computed independently
 * with Python's json rules and hashlib); chains as the store writes them; the walk that finds
 * the first entry changed, removed or emptied behind helpmap's back, and not a redacted note;
 * chaining a database written before chains; the digest; HMAC-SHA-256 (RFC 4231) and the
 * sealed first answers of idempotent creations. */
#include "chain.h"
#include "history.h"
#include "hm_buf.h"
#include "hm_log.h"
#include "hm_test.h"
#include "idempotency.h"
#include "model.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char dir[64];
static char db_path[128];

/* 2026-11-30T02:15:00Z and later, in ms. */
#define T1 1796004900000LL
#define T2 1796007601000LL
#define T3 1796011200000LL

static const char note2[] = "đã phát 10 kg gạo";
static const char actor2[] = "Đội \"Tân An Hội\" 1\\\n\t\x01";

/* Known answers: python3 -c 'import hashlib; ...' over the strings below. */
static const char canon1[] = "{\"request\":\"CC-4K7M2B\",\"at\":\"2026-11-30T02:15:00Z\","
                             "\"actor\":\"resident\",\"from\":null,\"to\":\"new\",\"kind\":"
                             "\"status\",\"note_sha256\":null,\"field\":null,\"old_sha256\":"
                             "null,\"new_sha256\":null,\"contact\":false,\"detail\":null}";
static const char canon2[] =
    "{\"request\":\"CC-4K7M2B\",\"at\":\"2026-11-30T03:00:01Z\",\"actor\":\"Đội \\\"Tân An Hội\\\" "
    "1\\\\\\n\\t\\u0001\",\"from\":\"in_progress\",\"to\":\"resolved\",\"kind\":\"status\","
    "\"note_sha256\":\"f1613f3225b768342505a24719d5caab6d1da97e50326d637ff69e3346ec66de\","
    "\"field\":null,\"old_sha256\":null,\"new_sha256\":null,\"contact\":false,"
    "\"detail\":{\"delivered_vnd\":1000000,\"items\":\"tiền mặt\"}}";
/* An operator's edit of the phone (issue 14): marked contact, the values as the SHA-256 of the
 * entry's salt and the value. */
static const char canon4[] =
    "{\"request\":\"CC-4K7M2B\",\"at\":\"2026-11-30T04:00:00Z\",\"actor\":\"Tổng đài\","
    "\"from\":null,\"to\":null,\"kind\":\"edit\",\"note_sha256\":null,\"field\":\"phone\","
    "\"old_sha256\":\"49d3fe01f997f9adabd3de58a73114c953326b1f0ee0c35e5b6a47493ea7e1d7\","
    "\"new_sha256\":\"7a56f2c827aa5c9d9266f37344649ed22c639992feaca297d42ca583d99bb21c\","
    "\"contact\":true,\"detail\":null}";
static const char hash1[] = "b4d5066ac8fc6825bf306321c8f92818079199ede36c5cb828780e64b51f96bc";
static const char note2_sha[] = "f1613f3225b768342505a24719d5caab6d1da97e50326d637ff69e3346ec66de";
static const char hash2[] = "5664d909ead5a8408473e2963820f149b7a5be0e853832f3c160a61f6228ef77";
static const char hash3[] = "3bdaa4d052a10f6742300f037f66b47eff8e3e8cf92ecc5fb6d4384a65e73316";
static const char hash4[] = "efd5df0d604856019b3924e59d90f7f1976039e040bcc5211aae66e14ae9d5ba";
static const char salt4[] = "00112233445566778899aabbccddeeff";

static hm_history entry(int64_t at, const char *actor, int from, int to, const char *kind,
                        const char *note_sha, const char *detail)
{
    hm_history h;
    memset(&h, 0, sizeof h);
    h.at = at;
    snprintf(h.actor, sizeof h.actor, "%s", actor);
    h.from = from;
    h.to = to;
    snprintf(h.kind, sizeof h.kind, "%s", kind);
    if (note_sha)
        snprintf(h.note_sha256, sizeof h.note_sha256, "%s", note_sha);
    h.detail = (char *)detail;
    return h;
}

static void test_canonical(void)
{
    hm_buf b, d;
    hm_history h1 = entry(T1, "resident", -1, HM_ST_NEW, "status", NULL, NULL), h2, h3;
    char out[65], nh[65];

    hm_buf_init(&b);
    hm_chain_canonical("CC-4K7M2B", &h1, &b);
    CHECK_STR_EQ(b.data, canon1);
    hm_chain_hash("CC-4K7M2B", "", &h1, out);
    CHECK_STR_EQ(out, hash1);
    hm_chain_hash("CC-4K7M2B", NULL, &h1, out); /* NULL is the first entry too */
    CHECK_STR_EQ(out, hash1);

    hm_sha256_hex(note2, strlen(note2), nh);
    CHECK_STR_EQ(nh, note2_sha);
    hm_buf_init(&d);
    hm_chain_detail_delivery(1000000, "tiền mặt", &d);
    CHECK_STR_EQ(d.data, "{\"delivered_vnd\":1000000,\"items\":\"tiền mặt\"}");
    h2 = entry(T2, actor2, HM_ST_IN_PROGRESS, HM_ST_RESOLVED, "status", nh, d.data);
    b.len = 0;
    hm_chain_canonical("CC-4K7M2B", &h2, &b);
    CHECK_STR_EQ(b.data, canon2);
    hm_chain_hash("CC-4K7M2B", hash1, &h2, out);
    CHECK_STR_EQ(out, hash2);

    /* Details, table-driven: what a receipt and a delivery look like. */
    {
        static const struct {
            int kind; /* 0 receipt, 1 delivery */
            int received;
            int64_t amount;
            const char *items;
            const char *want;
        } cases[] = {
            {0, HM_RCPT_PART, 800000, NULL, "{\"received\":\"part\",\"amount_vnd\":800000}"},
            {0, HM_RCPT_ALL, -1, NULL, "{\"received\":\"all\",\"amount_vnd\":null}"},
            {0, HM_RCPT_NOTHING, 0, NULL, "{\"received\":\"nothing\",\"amount_vnd\":0}"},
            {1, 0, -1, NULL, "{\"delivered_vnd\":null,\"items\":null}"},
            {1, 0, -1, "", "{\"delivered_vnd\":null,\"items\":null}"},
            {1, 0, 0, "gạo \"ST25\"\r\n",
             "{\"delivered_vnd\":0,\"items\":\"gạo \\\"ST25\\\"\\r\\n\"}"},
        };
        for (size_t i = 0; i < N(cases); i++) {
            d.len = 0;
            if (cases[i].kind == 0)
                hm_chain_detail_receipt(cases[i].received, cases[i].amount, &d);
            else
                hm_chain_detail_delivery(cases[i].amount, cases[i].items, &d);
            CHECK_STR_EQ(d.data, cases[i].want);
        }
    }
    d.len = 0;
    hm_chain_detail_receipt(HM_RCPT_PART, 800000, &d);
    h3 = entry(T3, "resident", -1, -1, "receipt", NULL, d.data);
    hm_chain_hash("CC-4K7M2B", hash2, &h3, out);
    CHECK_STR_EQ(out, hash3);

    /* The check: a stored entry with its note and its hash. */
    h2.note = (char *)note2;
    snprintf(h2.hash, sizeof h2.hash, "%s", hash2);
    h2.detail = (char *)"{\"delivered_vnd\":1000000,\"items\":\"tiền mặt\"}";
    CHECK(hm_chain_check("CC-4K7M2B", hash1, &h2) == NULL);
    CHECK(hm_chain_check("CC-4K7M2B", "", &h2) != NULL);      /* another predecessor */
    CHECK(hm_chain_check("CC-4K7M2B-X", hash1, &h2) != NULL); /* another request */
    h2.note = (char *)"đã phát 5 kg gạo";                     /* the note rewritten */
    CHECK_STR_EQ(hm_chain_check("CC-4K7M2B", hash1, &h2), "note does not match its hash");
    h2.note = NULL; /* erased by a purge: fine */
    CHECK(hm_chain_check("CC-4K7M2B", hash1, &h2) == NULL);
    h2.detail = (char *)"{\"delivered_vnd\":800000,\"items\":\"tiền mặt\"}"; /* the amount */
    CHECK_STR_EQ(hm_chain_check("CC-4K7M2B", hash1, &h2), "hash does not match");
    h2.hash[0] = '\0';
    CHECK_STR_EQ(hm_chain_check("CC-4K7M2B", hash1, &h2), "no hash");

    /* An edit names its field; its values count as their SHA-256 like the note. */
    {
        hm_history h4 = entry(T3, "Tổng đài", -1, -1, "edit", NULL, NULL);
        snprintf(h4.field, sizeof h4.field, "phone");
        h4.old_value = (char *)"+84901234567";
        h4.new_value = (char *)"+84907654321";
        h4.contact = true;
        snprintf(h4.salt, sizeof h4.salt, "%s", salt4);
        hm_chain_text_sha256(h4.salt, h4.old_value, h4.old_sha256);
        hm_chain_text_sha256(h4.salt, h4.new_value, h4.new_sha256);
        CHECK_STR_EQ(h4.old_sha256,
                     "49d3fe01f997f9adabd3de58a73114c953326b1f0ee0c35e5b6a47493ea7e1d7");
        b.len = 0;
        hm_chain_canonical("CC-4K7M2B", &h4, &b);
        CHECK_STR_EQ(b.data, canon4);
        hm_chain_hash("CC-4K7M2B", hash3, &h4, h4.hash);
        CHECK_STR_EQ(h4.hash, hash4);
        CHECK(hm_chain_check("CC-4K7M2B", hash3, &h4) == NULL);
        h4.new_value = (char *)"+84900000000"; /* the value rewritten */
        CHECK_STR_EQ(hm_chain_check("CC-4K7M2B", hash3, &h4), "value does not match its hash");
        h4.new_value = (char *)"+84907654321";
        h4.salt[0] = '\0'; /* the salt gone, the values kept: not a purge */
        CHECK_STR_EQ(hm_chain_check("CC-4K7M2B", hash3, &h4), "value does not match its hash");
        h4.old_value = h4.new_value = NULL; /* erased with the salt, as a purge does: fine */
        CHECK(hm_chain_check("CC-4K7M2B", hash3, &h4) == NULL);
        h4.contact = false; /* shown to everyone now */
        CHECK_STR_EQ(hm_chain_check("CC-4K7M2B", hash3, &h4), "hash does not match");
        h4.contact = true;
        snprintf(h4.field, sizeof h4.field, "name"); /* another field */
        CHECK_STR_EQ(hm_chain_check("CC-4K7M2B", hash3, &h4), "hash does not match");
    }
    hm_buf_clear(&b);
    hm_buf_clear(&d);
}

static void test_digests(void)
{
    /* RFC 4231 test cases 1, 2 and 6. */
    static const struct {
        const char *key;
        size_t key_len;
        const char *msg, *want;
    } hmacs[] = {
        {"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b", 20,
         "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {NULL, 131, "Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    };
    unsigned char big[131];
    memset(big, 0xaa, sizeof big);
    for (size_t i = 0; i < N(hmacs); i++) {
        uint8_t mac[32];
        char hex[65];
        hm_hmac_sha256(hmacs[i].key ? (const void *)hmacs[i].key : big, hmacs[i].key_len,
                       hmacs[i].msg, strlen(hmacs[i].msg), mac);
        hm_hex(mac, 32, hex);
        CHECK_STR_EQ(hex, hmacs[i].want);
    }
    /* A stream in pieces of every size up to 130 bytes hashes as one piece. */
    {
        unsigned char data[1000];
        uint8_t one[32], streamed[32];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (unsigned char)(i * 7 + 3);
        hm_sha256(data, sizeof data, one);
        for (size_t piece = 1; piece <= 130; piece++) {
            hm_sha256_ctx c;
            hm_sha256_init(&c);
            for (size_t off = 0; off < sizeof data; off += piece)
                hm_sha256_update(&c, data + off,
                                 off + piece <= sizeof data ? piece : sizeof data - off);
            hm_sha256_final(&c, streamed);
            CHECK(memcmp(one, streamed, 32) == 0);
        }
    }
}

static void test_idempotency_seal(void)
{
    hm_actor pub, team;
    hm_idem a, b, c;
    hm_error err = {0};
    const char answer[] = "{\"request\":{\"code\":\"CC-4K7M2B\"},\"token\":\"0123456789abcdef\"}";
    unsigned char *blob = NULL;
    size_t len = 0, out_len = 0;
    char *out = NULL;

    memset(&pub, 0, sizeof pub);
    memset(&team, 0, sizeof team);
    team.role = HM_ROLE_OPERATOR;
    team.team.id = 7;
    CHECK_INT_EQ(hm_idem_init(&pub, "0f4c1a52-8d5e-4f2a-9c57-6b0e2d9f1a33", "{}", 2, &a, &err),
                 HM_OK);
    CHECK_INT_EQ(hm_idem_init(&pub, "0f4c1a52-8d5e-4f2a-9c57-6b0e2d9f1a34", "{}", 2, &b, &err),
                 HM_OK);
    CHECK_INT_EQ(hm_idem_init(&team, "0f4c1a52-8d5e-4f2a-9c57-6b0e2d9f1a33", "{}", 2, &c, &err),
                 HM_OK);
    CHECK(memcmp(a.id, b.id, 32) != 0);
    CHECK(memcmp(a.id, c.id, 32) != 0); /* a key belongs to its caller */
    CHECK(memcmp(a.id, a.seal, 32) != 0);
    hm_idem_seal(&a, answer, strlen(answer), &blob, &len);
    CHECK_INT_EQ(len, strlen(answer) + 32);
    {
        bool clear = false; /* the token is not in clear */
        for (size_t i = 0; i + 16 <= len; i++)
            clear = clear || memcmp(blob + i, "0123456789abcdef", 16) == 0;
        CHECK(!clear);
    }
    CHECK(hm_idem_open(&a, blob, len, &out, &out_len));
    CHECK_INT_EQ(out_len, strlen(answer));
    CHECK_STR_EQ(out, answer);
    free(out);
    CHECK(!hm_idem_open(&b, blob, len, &out, &out_len)); /* another key */
    blob[3] ^= 1;
    CHECK(!hm_idem_open(&a, blob, len, &out, &out_len)); /* damaged */
    free(blob);
    /* Malformed keys. */
    {
        static const char *const bad[] = {"", "short", "0f4c1a52 8d5e 4f2a 9c57",
                                          "ключ-ключ-ключ-ключ"};
        for (size_t i = 0; i < N(bad); i++) {
            hm_error e = {0};
            CHECK_INT_EQ(hm_idem_init(&pub, bad[i], "{}", 2, &a, &e), HM_E_INVALID_FIELD);
            CHECK_STR_EQ(e.field, "Idempotency-Key");
        }
    }
}

/* ---- chains in a store -------------------------------------------------------------------- */

static int plain_exec(const char *sql)
{
    sqlite3 *db = NULL;
    char *m = NULL;
    int rc;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, sql, NULL, NULL, &m);
    if (rc != SQLITE_OK)
        fprintf(stderr, "sql: %s\n", m ? m : "?");
    sqlite3_free(m);
    sqlite3_close(db);
    return rc;
}

/* The text of the first column of the first row of `sql` into out (out_size), "" without. */
static void plain_text(const char *sql, char *out, size_t out_size)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    out[0] = '\0';
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_text(q, 0))
        snprintf(out, out_size, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static int64_t add_request(hm_store *st, const char *code)
{
    hm_request r;
    uint8_t hash[32] = {1};
    hm_error err = {0};
    memset(&r, 0, sizeof r);
    snprintf(r.code, sizeof r.code, "%s", code);
    r.lon = 106.5, r.lat = 11.0;
    r.people = 1;
    snprintf(r.ward_code, sizeof r.ward_code, "27496");
    r.created_at = T1;
    CHECK_INT_EQ(hm_store_request_insert(st, &r, hash, &err), HM_OK);
    return r.id;
}

typedef struct seen {
    hm_history h[8];
    char notes[8][64];
    size_t n;
} seen;

static int collect(void *ctx, const hm_history *h)
{
    seen *s = ctx;
    if (s->n < 8) {
        s->h[s->n] = *h;
        s->h[s->n].note = NULL;
        s->h[s->n].detail = NULL;
        s->h[s->n].old_value = s->h[s->n].new_value = NULL;
        snprintf(s->notes[s->n], 64, "%s", h->note ? h->note : "");
    }
    s->n++;
    return 0;
}

static void list(hm_store *st, int64_t id, seen *s)
{
    hm_error err = {0};
    memset(s, 0, sizeof *s);
    CHECK_INT_EQ(hm_store_history_list(st, id, collect, s, &err), HM_OK);
}

typedef struct walk {
    const char *code;
    char prev[65];
    int n, broken;
} walk;

static int walk_entry(void *ctx, const hm_history *h)
{
    walk *w = ctx;
    if (w->broken < 0 && hm_chain_check(w->code, w->prev, h))
        w->broken = w->n;
    snprintf(w->prev, sizeof w->prev, "%s", h->hash);
    w->n++;
    return 0;
}

/* The index of the first entry of request `id` whose chain check fails, or -1. */
static int broken_at(hm_store *st, int64_t id, const char *code)
{
    walk w = {code, "", 0, -1};
    hm_error err = {0};
    CHECK_INT_EQ(hm_store_history_list(st, id, walk_entry, &w, &err), HM_OK);
    return w.broken;
}

static void test_store_chain(void)
{
    hm_error err = {0};
    hm_store *st = hm_store_open(db_path, HM_STORE_CREATE, &err);
    hm_history_report rep;
    hm_buf d;
    seen s;
    int64_t id, other;
    hm_history edit; /* as stored, without its texts */
    char digest1[65], digest2[65], digest_day[65];
    int64_t chains = 0, entries = 0;

    CHECK(st != NULL);
    if (!st)
        return;
    id = add_request(st, "CC-4K7M2B");
    other = add_request(st, "CC-5M2B4K");
    hm_buf_init(&d);
    hm_chain_detail_delivery(1000000, "tiền mặt", &d);
    CHECK_INT_EQ(
        hm_store_history_append(st, id, T1, "resident", -1, HM_ST_NEW, NULL, "status", &err),
        HM_OK);
    CHECK_INT_EQ(
        hm_store_history_append(st, other, T1, "hotline", -1, HM_ST_NEW, "gọi lại", "status", &err),
        HM_OK);
    CHECK_INT_EQ(hm_store_history_append_detail(st, id, T2, actor2, HM_ST_IN_PROGRESS,
                                                HM_ST_RESOLVED, note2, "status", d.data, &err),
                 HM_OK);
    d.len = 0;
    hm_chain_detail_receipt(HM_RCPT_PART, 800000, &d);
    CHECK_INT_EQ(hm_store_history_append_detail(st, id, T3, "resident", -1, -1, NULL, "receipt",
                                                d.data, &err),
                 HM_OK);
    hm_buf_clear(&d);
    /* An edit with its field and values (issue 14), through the same append; the hashes the
     * caller may have set are not taken. */
    {
        hm_history e = entry(T3, "Tổng đài", -1, -1, "edit", NULL, NULL);
        snprintf(e.field, sizeof e.field, "phone");
        e.old_value = (char *)"+84901234567";
        e.new_value = (char *)"+84907654321";
        e.contact = true;
        snprintf(e.hash, sizeof e.hash, "%s", hash1);
        snprintf(e.note_sha256, sizeof e.note_sha256, "%s", hash1);
        CHECK_INT_EQ(hm_store_history_add(st, id, &e, &err), HM_OK);
    }
    /* The store wrote the known answers: the same chain, whoever computes it. */
    list(st, id, &s);
    CHECK_INT_EQ(s.n, 4);
    CHECK_STR_EQ(s.h[0].hash, hash1);
    CHECK_STR_EQ(s.h[1].hash, hash2);
    CHECK_STR_EQ(s.h[1].note_sha256, note2_sha);
    CHECK_STR_EQ(s.h[2].hash, hash3);
    /* The edit: a salt of its own, its values hashed after it, chained on from hash3. */
    {
        char want[65];
        edit = s.h[3];
        CHECK_INT_EQ(strlen(edit.salt), 32);
        CHECK(strcmp(edit.salt, salt4) != 0);
        hm_chain_text_sha256(edit.salt, "+84901234567", want);
        CHECK_STR_EQ(edit.old_sha256, want);
        hm_chain_text_sha256(edit.salt, "+84907654321", want);
        CHECK_STR_EQ(edit.new_sha256, want);
        hm_chain_hash("CC-4K7M2B", hash3, &edit, want);
        CHECK_STR_EQ(edit.hash, want);
        CHECK_STR_EQ(edit.field, "phone");
        CHECK(edit.contact);
        CHECK_STR_EQ(edit.note_sha256, "");
    }
    CHECK_STR_EQ(s.h[0].note_sha256, "");
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), -1);
    CHECK_INT_EQ(hm_history_verify(st, &rep, &err), HM_OK);
    CHECK_INT_EQ(rep.chains, 2);
    CHECK_INT_EQ(rep.entries, 5);
    CHECK_INT_EQ(rep.broken, 0);
    CHECK_INT_EQ(hm_history_digest(st, 0, digest1, &chains, &entries, &err), HM_OK);
    CHECK_INT_EQ(chains, 2);
    CHECK_INT_EQ(entries, 5);
    /* The digest of the heads as chain.h defines it. */
    {
        char want[65], line[256];
        list(st, other, &s);
        snprintf(line, sizeof line, "CC-4K7M2B %s\nCC-5M2B4K %s\n", edit.hash, s.h[0].hash);
        hm_sha256_hex(line, strlen(line), want);
        CHECK_STR_EQ(digest1, want);
    }
    /* Before the end of the day of T2's entry (UTC+7: 2026-11-30 ends at T1 + 14h45m):
     * every entry; before T3: the chain of CC-4K7M2B ends at hash2. */
    CHECK_INT_EQ(hm_history_digest(st, T3, digest_day, &chains, &entries, &err), HM_OK);
    CHECK_INT_EQ(entries, 3);
    CHECK(strcmp(digest_day, digest1) != 0);

    /* Behind helpmap's back (the append-only trigger dropped first, as anyone with the file
     * can): the note rewritten, then put back; the status changed; an entry removed. */
    CHECK_INT_EQ(plain_exec("DROP TRIGGER history_append_only_u; DROP TRIGGER "
                            "history_append_only_d;"),
                 SQLITE_OK);
    CHECK_INT_EQ(plain_exec("UPDATE history SET note = 'đã phát 5 kg gạo' WHERE note LIKE 'đã "
                            "phát 10%'"),
                 SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), 1);
    CHECK_INT_EQ(hm_history_verify(st, &rep, &err), HM_OK);
    CHECK_INT_EQ(rep.broken, 1);
    CHECK_STR_EQ(rep.code, "CC-4K7M2B");
    CHECK_INT_EQ(rep.position, 2);
    CHECK_STR_EQ(rep.why, "note does not match its hash");
    /* A purge erases the note and keeps its hash: the chain still verifies. */
    CHECK_INT_EQ(plain_exec("UPDATE history SET note = NULL WHERE kind = 'status' AND "
                            "to_status = 3"),
                 SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), -1);
    CHECK_INT_EQ(hm_history_digest(st, 0, digest2, &chains, &entries, &err), HM_OK);
    CHECK_STR_EQ(digest2, digest1);
    CHECK_INT_EQ(plain_exec("UPDATE history SET to_status = 4 WHERE kind = 'status' AND "
                            "to_status = 3"),
                 SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), 1);
    CHECK_INT_EQ(plain_exec("UPDATE history SET to_status = 3 WHERE kind = 'status' AND "
                            "to_status = 4"),
                 SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), -1);
    /* The amount a resident reported, lowered. */
    CHECK_INT_EQ(plain_exec("UPDATE history SET detail = replace(detail, '800000', '1000000') "
                            "WHERE kind = 'receipt'"),
                 SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), 2);
    CHECK_INT_EQ(plain_exec("UPDATE history SET detail = replace(detail, '1000000', '800000') "
                            "WHERE kind = 'receipt'"),
                 SQLITE_OK);
    /* An edit's new phone rewritten; its values erased as a purge would; its contact flag
     * dropped (the phone shown to everyone). */
    CHECK_INT_EQ(plain_exec("UPDATE history SET new_value = '+84900000000' WHERE kind = 'edit'"),
                 SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), 3);
    CHECK_INT_EQ(hm_history_verify(st, &rep, &err), HM_OK);
    CHECK_STR_EQ(rep.why, "value does not match its hash");
    CHECK_INT_EQ(plain_exec("UPDATE history SET new_value = '+84907654321', salt = NULL WHERE "
                            "kind = 'edit'"),
                 SQLITE_OK); /* the salt dropped, the values kept: not what a purge does */
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), 3);
    CHECK_INT_EQ(plain_exec("UPDATE history SET old_value = NULL, new_value = NULL WHERE kind = "
                            "'edit'"),
                 SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), -1);
    CHECK_INT_EQ(plain_exec("UPDATE history SET contact = 0 WHERE kind = 'edit'"), SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), 3);
    CHECK_INT_EQ(plain_exec("UPDATE history SET contact = 1 WHERE kind = 'edit'"), SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), -1);
    /* The middle entry removed: the one after it no longer follows. */
    CHECK_INT_EQ(plain_exec("DELETE FROM history WHERE kind = 'status' AND to_status = 3"),
                 SQLITE_OK);
    CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), 1);
    CHECK_INT_EQ(hm_history_verify(st, &rep, &err), HM_OK);
    CHECK_INT_EQ(rep.broken, 1);
    CHECK_INT_EQ(rep.position, 2);
    CHECK_STR_EQ(rep.kind, "receipt");
    /* Whoever also re-chains what follows (the code is public) hides it from the walk, but
     * not from the digest published before: the head moved. */
    {
        hm_buf rd;
        hm_history h3, h4;
        char rehash[65], rehash4[65], sql[256];
        hm_buf_init(&rd);
        hm_chain_detail_receipt(HM_RCPT_PART, 800000, &rd);
        h3 = entry(T3, "resident", -1, -1, "receipt", NULL, rd.data);
        hm_chain_hash("CC-4K7M2B", hash1, &h3, rehash);
        hm_buf_clear(&rd);
        h4 = edit;
        hm_chain_hash("CC-4K7M2B", rehash, &h4, rehash4);
        snprintf(sql, sizeof sql, "UPDATE history SET hash = '%s' WHERE kind = 'receipt'", rehash);
        CHECK_INT_EQ(plain_exec(sql), SQLITE_OK);
        CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), 2);
        snprintf(sql, sizeof sql, "UPDATE history SET hash = '%s' WHERE kind = 'edit'", rehash4);
        CHECK_INT_EQ(plain_exec(sql), SQLITE_OK);
        CHECK_INT_EQ(broken_at(st, id, "CC-4K7M2B"), -1);
        CHECK_INT_EQ(hm_history_verify(st, &rep, &err), HM_OK);
        CHECK_INT_EQ(rep.broken, 0);
        CHECK_INT_EQ(hm_history_digest(st, 0, digest2, &chains, &entries, &err), HM_OK);
        CHECK(strcmp(digest2, digest1) != 0);
    }
    hm_store_close(st);
}

/* A database written before chains: its entries are chained once, by the first connection
 * that may write, and to the same hashes as if they had been chained when written. */
static void test_backfill(void)
{
    hm_error err = {0};
    hm_store *st;
    hm_history_report rep;
    seen s;
    int64_t id, other, n = 0;

    unlink(db_path);
    st = hm_store_open(db_path, HM_STORE_CREATE, &err);
    CHECK(st != NULL);
    if (!st)
        return;
    id = add_request(st, "CC-4K7M2B");
    other = add_request(st, "CC-5M2B4K");
    CHECK_INT_EQ(
        hm_store_history_append(st, id, T1, "resident", -1, HM_ST_NEW, NULL, "status", &err),
        HM_OK);
    CHECK_INT_EQ(
        hm_store_history_append(st, other, T1, "hotline", -1, HM_ST_NEW, "gọi lại", "status", &err),
        HM_OK);
    CHECK_INT_EQ(hm_store_history_append(st, id, T2, actor2, HM_ST_NEW, HM_ST_ASSIGNED, note2,
                                         "status", &err),
                 HM_OK);
    {
        /* A version 8 file has edits with their values (issue 14). */
        hm_history e = entry(T3, "Tổng đài", -1, -1, "edit", NULL, NULL);
        snprintf(e.field, sizeof e.field, "phone");
        e.old_value = (char *)"+84901234567";
        e.new_value = (char *)"+84907654321";
        e.contact = true;
        CHECK_INT_EQ(hm_store_history_add(st, id, &e, &err), HM_OK);
    }
    list(st, id, &s);
    {
        char h0[65], h1[65], want[65], trigger[4096], sql[4200];
        memcpy(h0, s.h[0].hash, 65);
        memcpy(h1, s.h[1].hash, 65);
        hm_store_close(st);
        plain_text("SELECT sql FROM sqlite_master WHERE name = 'history_append_only_u'", trigger,
                   sizeof trigger);
        CHECK(strstr(trigger, "unchained_upto") != NULL);
        /* As a version 8 file left them: no hashes, no text hashes, no salts, and the mark. */
        CHECK_INT_EQ(plain_exec("DROP TRIGGER history_append_only_u; UPDATE history SET hash = "
                                "NULL, note_sha256 = NULL, old_sha256 = NULL, new_sha256 = NULL, "
                                "salt = NULL; "
                                "UPDATE history_chain SET unchained_upto = (SELECT max(id) FROM "
                                "history); CREATE TRIGGER history_append_only_u BEFORE UPDATE ON "
                                "history BEGIN SELECT RAISE(ABORT, 'history is append-only'); "
                                "END;"),
                     SQLITE_OK);
        /* Read-only: nothing chained, verification says so. */
        st = hm_store_open(db_path, HM_STORE_READONLY, &err);
        CHECK(st != NULL);
        if (!st)
            return;
        CHECK_INT_EQ(hm_history_verify(st, &rep, &err), HM_OK);
        CHECK_INT_EQ(rep.broken, 2);
        CHECK_STR_EQ(rep.why, "no hash");
        hm_store_close(st);
        /* The trigger of version 8 lets the backfill (and only it) write the hashes. */
        snprintf(sql, sizeof sql, "DROP TRIGGER history_append_only_u; %s;", trigger);
        CHECK_INT_EQ(plain_exec(sql), SQLITE_OK);
        st = hm_store_open(db_path, 0, &err);
        CHECK(st != NULL);
        if (!st)
            return;
        list(st, id, &s);
        CHECK_STR_EQ(s.h[0].hash, h0);
        CHECK_STR_EQ(s.h[1].hash, h1);
        CHECK_STR_EQ(s.h[1].note_sha256, note2_sha);
        /* The edit, a contact entry, gets a salt of its own now. */
        CHECK_INT_EQ(strlen(s.h[2].salt), 32);
        hm_chain_text_sha256(s.h[2].salt, "+84901234567", want);
        CHECK_STR_EQ(s.h[2].old_sha256, want);
        CHECK_INT_EQ(hm_history_verify(st, &rep, &err), HM_OK);
        CHECK_INT_EQ(rep.broken, 0);
        CHECK_INT_EQ(rep.entries, 4);
        /* Once: the mark is gone, a second run chains nothing, and nulling a hash now is
         * refused by the trigger and would be reported, not repaired. */
        CHECK_INT_EQ(hm_store_history_backfill(st, &n, &err), HM_OK);
        CHECK_INT_EQ(n, 0);
        hm_store_close(st);
        CHECK(plain_exec("UPDATE history SET hash = NULL") != SQLITE_OK);
        CHECK(plain_exec("UPDATE history SET new_value = '+84900000000' WHERE kind = 'edit'") !=
              SQLITE_OK);
    }
}

int main(void)
{
    hm_log_level = HM_LOG_WARN;
    snprintf(dir, sizeof dir, "/tmp/hm-test-chain-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(db_path, sizeof db_path, "%s/chain.db", dir);
    test_canonical();
    test_digests();
    test_idempotency_seal();
    test_store_chain();
    test_backfill();
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return hm_test_done("test_history_chain");
}
