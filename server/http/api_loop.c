/* api_loop.c: the resident closes the loop (issue 17) — the receipt (JSON API), the tracking
 * page rendered on the server so that it works without JavaScript (status, history, a cancel
 * form and the receipt form, inside web/track.html, which the script then enhances), and the
 * public results (JSON, and a printable page without JavaScript). Handlers parse, call the core
 * (receipts.h, requests.h, results.h) and render. */
#include "api.h"

#include "hm_log.h"
#include "model.h"
#include "present.h"
#include "receipts.h"
#include "requests.h"
#include "results.h"
#include "validate.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const no_store[] = {"Cache-Control", "no-store", NULL};

/* ---- words ------------------------------------------------------------------------------ */

static const char *const status_vi[HM_ST__COUNT] = {"Chờ tiếp nhận", "Đã có tổ nhận", "Đang hỗ trợ",
                                                    "Đã giải quyết", "Đã hủy",        "Trùng lặp"};
static const char *const status_en[HM_ST__COUNT] = {
    "Waiting for a team", "A team has it", "Help under way", "Resolved", "Cancelled", "Duplicate"};
static const char *const hint_vi[HM_ST__COUNT] = {
    "Yêu cầu đã lên bản đồ, đang chờ tổ hỗ trợ gần nhất tiếp nhận.",
    "Tổ hỗ trợ đã nhận yêu cầu và sẽ liên hệ với bạn.",
    "Tổ hỗ trợ đang trên đường tới hoặc đang hỗ trợ bạn.",
    "Tổ hỗ trợ đã báo yêu cầu được giải quyết.",
    "Yêu cầu này đã được hủy.",
    "Yêu cầu này trùng với một yêu cầu khác, được theo dõi ở yêu cầu kia."};
/* A public repeat of a phone's open request (issue 11): the earlier request is not named. */
static const char hint_auto_duplicate_vi[] =
    "Yêu cầu của bạn đang được xử lý cùng với một yêu cầu gửi trước đó từ cùng số điện thoại.";
static const char *const cat_vi[HM_CAT__COUNT] = {"Lương thực", "Nước uống", "Y tế", "Tiền mặt",
                                                  "Chỗ ở",      "Cứu hộ",    "Khác"};
static const char *const cat_en[HM_CAT__COUNT] = {"Food",    "Water",  "Medical", "Cash",
                                                  "Shelter", "Rescue", "Other"};
static const char *const receipt_vi[HM_RCPT__COUNT] = {"", "Đã nhận đủ", "Chỉ nhận được một phần",
                                                       "Không nhận được gì"};
static const char *const receipt_en[HM_RCPT__COUNT] = {"", "all of it", "only part of it",
                                                       "nothing"};

/* "1.000.000 đ" */
static void put_vnd(hm_buf *b, int64_t v)
{
    char digits[32], out[48];
    int n = snprintf(digits, sizeof digits, "%" PRId64, v < 0 ? 0 : v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = '.';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    hm_buf_printf(b, "%s đ", out);
}

/* Vietnam time (UTC+7, no daylight saving): "14:05 30/11/2026". */
static void put_time_vn(hm_buf *b, int64_t ms)
{
    time_t t = (time_t)(ms / 1000 + 7 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    hm_buf_printf(b, "%02d:%02d %02d/%02d/%04d", tm.tm_hour, tm.tm_min, tm.tm_mday, tm.tm_mon + 1,
                  tm.tm_year + 1900);
}

static void put_en(hm_buf *b, const char *en)
{
    hm_buf_puts(b, " <span lang=\"en\">");
    hm_buf_put_escaped(b, en);
    hm_buf_puts(b, "</span>");
}

/* ---- form bodies ------------------------------------------------------------------------- */

/* Decode one application/x-www-form-urlencoded component in place. */
static void form_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%' && hm_hexval(p[1]) >= 0 && hm_hexval(p[2]) >= 0) {
            *o++ = (char)(hm_hexval(p[1]) * 16 + hm_hexval(p[2]));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

/* The fields of a form body as a JSON object of strings (the first of repeated names). */
static json_t *form_fields(hm_req *r)
{
    json_t *o = json_object();
    char *data = r->body.data ? hm_xstrndup(r->body.data, r->body.len) : hm_xstrdup("");
    for (char *save = NULL, *pair = strtok_r(data, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq)
            continue;
        *eq = '\0';
        form_decode(pair);
        form_decode(eq + 1);
        if (!json_object_get(o, pair) && hm_text_ok(pair, 64) && hm_text_ok(eq + 1, 2000))
            json_object_set_new(o, pair, json_string(eq + 1));
    }
    free(data);
    return o;
}

static const char *field_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- the tracking page ------------------------------------------------------------------- */

static void put_history(hm_buf *b, const hm_history *h, size_t n)
{
    hm_buf_puts(b, "<ol class=\"history\" id=\"history\">");
    for (size_t k = n; k-- > 0;) {
        const hm_history *e = &h[k];
        char at[32];
        json_t *d = e->detail ? json_loads(e->detail, 0, NULL) : NULL;
        hm_time_format(e->at, at);
        hm_buf_printf(b, "<li data-kind=\"%s\"><time datetime=\"%s\">", e->kind, at);
        put_time_vn(b, e->at);
        hm_buf_puts(b, "</time> <strong>");
        if (strcmp(e->kind, "receipt") == 0) {
            int rc = hm_receipt_parse(json_string_value(json_object_get(d, "received")));
            json_t *amt = json_object_get(d, "amount_vnd");
            hm_buf_puts(b, "Người dân báo: ");
            hm_buf_puts(b, rc > 0 ? receipt_vi[rc] : "?");
            if (json_is_integer(amt)) {
                hm_buf_puts(b, " — ");
                put_vnd(b, (int64_t)json_integer_value(amt));
            }
        } else if (strcmp(e->kind, "safe") == 0) {
            hm_buf_puts(b, "Người dân báo đã an toàn");
        } else if (strcmp(e->kind, "repeat") == 0) {
            hm_buf_puts(b, "Cùng số điện thoại đã gửi lại yêu cầu này");
        } else if (strcmp(e->kind, "purge") == 0) {
            hm_buf_puts(b, "Đã xóa thông tin liên hệ");
        } else if (e->to >= 0 && e->from >= 0 && e->from != e->to) {
            hm_buf_puts(b, status_vi[e->from]);
            hm_buf_puts(b, " → ");
            hm_buf_puts(b, status_vi[e->to]);
        } else if (e->to == HM_ST_NEW && e->from < 0) {
            hm_buf_puts(b, "Đã gửi yêu cầu");
        } else if (e->note) {
            hm_buf_put_escaped(b, e->note);
        }
        hm_buf_puts(b, "</strong> · ");
        hm_buf_put_escaped(b, strcmp(e->actor, "resident") == 0 ? "Người gửi"
                              : strcmp(e->actor, "system") == 0 ? "Hệ thống"
                              : strcmp(e->actor, "unverified caller") == 0
                                  ? "Người gửi chưa xác minh"
                                  : e->actor);
        if (d && e->to == HM_ST_RESOLVED) {
            json_t *amt = json_object_get(d, "delivered_vnd");
            const char *items = json_string_value(json_object_get(d, "items"));
            hm_buf_puts(b, "<div>Tổ báo đã trao: ");
            if (json_is_integer(amt))
                put_vnd(b, (int64_t)json_integer_value(amt));
            if (items) {
                hm_buf_puts(b, json_is_integer(amt) ? " — " : "");
                hm_buf_put_escaped(b, items);
            }
            hm_buf_puts(b, "</div>");
        }
        if (e->note && (strcmp(e->kind, "receipt") == 0 || e->to >= 0)) {
            hm_buf_puts(b, "<div>");
            hm_buf_put_escaped(b, e->note);
            hm_buf_puts(b, "</div>");
        }
        hm_buf_puts(b, "</li>");
        json_decref(d);
    }
    hm_buf_puts(b, "</ol>");
}

static void put_hidden_token(hm_buf *b, const char *token)
{
    hm_buf_puts(b, "<input type=\"hidden\" name=\"token\" value=\"");
    hm_buf_put_escaped(b, token);
    hm_buf_puts(b, "\">");
}

/* The receipt section: after resolution the three answers; before it, "nothing came". */
static void put_receipt(hm_buf *b, const hm_request *q, const char *items, const char *token)
{
    bool resolved = q->status == HM_ST_RESOLVED;
    hm_buf_puts(b, "<section class=\"card receipt\" id=\"receipt\" data-resolved=\"");
    hm_buf_puts(b, resolved ? "1\">" : "0\">");
    if (resolved) {
        hm_buf_puts(b, "<h2>Bạn đã nhận được hỗ trợ chưa?");
        put_en(b, "Did the help reach you?");
        hm_buf_puts(b, "</h2>");
        if (q->delivered) {
            hm_buf_puts(b, "<p id=\"delivered-line\">Tổ hỗ trợ báo đã trao: <strong>");
            if (q->delivered_vnd >= 0)
                put_vnd(b, q->delivered_vnd);
            if (items) {
                hm_buf_puts(b, q->delivered_vnd >= 0 ? " — " : "");
                hm_buf_put_escaped(b, items);
            }
            hm_buf_puts(b, "</strong></p>");
        }
    } else {
        hm_buf_puts(b, "<h2>Chờ lâu mà chưa nhận được gì?");
        put_en(b, "Waited long and nothing came?");
        hm_buf_puts(b, "</h2>");
    }
    if (q->receipt != HM_RCPT_NONE) {
        hm_buf_puts(b, "<p id=\"receipt-now\" data-received=\"");
        hm_buf_puts(b, hm_receipt_name(q->receipt));
        hm_buf_puts(b, "\">Bạn đã báo: <strong>");
        hm_buf_puts(b, receipt_vi[q->receipt]);
        if (q->receipt_vnd >= 0) {
            hm_buf_puts(b, " — ");
            put_vnd(b, q->receipt_vnd);
        }
        hm_buf_puts(b, "</strong> (");
        put_time_vn(b, q->receipt_at);
        hm_buf_puts(b, "). Nếu có thay đổi, bạn có thể báo lại.");
        put_en(b, "You told us; you may tell us again if it changes.");
        hm_buf_puts(b, "</p>");
    }
    hm_buf_puts(b, "<form method=\"post\" action=\"/track/");
    hm_buf_put_escaped(b, q->code);
    hm_buf_puts(b, "/receipt\" id=\"receipt-form\" accept-charset=\"utf-8\">");
    put_hidden_token(b, token);
    if (resolved) {
        hm_buf_puts(b, "<fieldset class=\"received\"><legend>Bạn đã nhận được:");
        put_en(b, "What arrived:");
        hm_buf_puts(b, "</legend>");
        for (int k = HM_RCPT_ALL; k < HM_RCPT__COUNT; k++) {
            hm_buf_printf(b,
                          "<label><input type=\"radio\" name=\"received\" value=\"%s\" "
                          "required> %s",
                          hm_receipt_name(k), receipt_vi[k]);
            put_en(b, receipt_en[k]);
            hm_buf_puts(b, "</label>");
        }
        hm_buf_puts(b, "</fieldset><label class=\"field\">Số tiền thực nhận, nếu là tiền mặt "
                       "(đồng)");
        put_en(b, "Cash actually received (đồng)");
        hm_buf_puts(b, "<input name=\"amount_vnd\" id=\"amount_vnd\" inputmode=\"numeric\" "
                       "maxlength=\"15\" autocomplete=\"off\"></label>");
    } else {
        hm_buf_puts(b, "<input type=\"hidden\" name=\"received\" value=\"nothing\">");
    }
    hm_buf_puts(b, "<label class=\"field\">Ghi chú (không bắt buộc)");
    put_en(b, "Note (optional)");
    hm_buf_puts(b, "<textarea name=\"note\" maxlength=\"500\" rows=\"2\"></textarea></label>"
                   "<p class=\"form-error\" id=\"receipt-error\" role=\"alert\" hidden></p>"
                   "<button type=\"submit\" class=\"btn\" id=\"receipt-btn\">");
    hm_buf_puts(b, resolved ? "Gửi xác nhận" : "Báo chưa nhận được gì");
    put_en(b, "Send");
    hm_buf_puts(b, "</button></form></section>");
}

/* The tracking page's content for view `v` (NULL: no request with this code and token). */
static void put_track(hm_buf *b, const hm_request_view *v, const char *code, const char *token,
                      const char *notice, const char *error)
{
    const hm_request *q = v ? &v->req : NULL;
    const hm_chain_state *chain = v ? hm_request_view_chain(v) : NULL;
    const char *items = v ? (v->pending ? v->reveal.delivered_items : v->delivered_items) : NULL;

    hm_buf_puts(b, "<section class=\"card\" id=\"summary\" data-server=\"1\"><p>Mã yêu cầu");
    put_en(b, "Request code");
    hm_buf_puts(b, "</p><p class=\"code\" id=\"code\">");
    hm_buf_put_escaped(b, q ? q->code : code);
    hm_buf_puts(b, "</p>");
    if (!q) {
        hm_buf_puts(b, "<p class=\"status-big\" id=\"status\"></p><p class=\"form-error\" "
                       "id=\"error\" role=\"alert\">Không tìm thấy yêu cầu với mã và liên kết "
                       "này. Hãy mở đúng liên kết nhận được khi gửi, hoặc gọi 1022.");
        put_en(b, "No request has this code and link.");
        hm_buf_puts(b, "</p></section>");
        return;
    }
    hm_buf_printf(b,
                  "<p class=\"status-big badge st-%s\" id=\"status\" data-status=\"%s\" "
                  "aria-live=\"polite\">%s</p><p class=\"hint\" id=\"status-hint\">%s",
                  hm_status_name(q->status), hm_status_name(q->status), status_vi[q->status],
                  q->auto_duplicate ? hint_auto_duplicate_vi : hint_vi[q->status]);
    put_en(b, status_en[q->status]);
    hm_buf_puts(b, "</p><dl class=\"facts\" id=\"facts\">");
    hm_buf_printf(b, "<dt>Cần</dt><dd>%s</dd><dt>Số người</dt><dd>%d người</dd>",
                  cat_vi[q->category], q->people);
    if (q->address) {
        hm_buf_puts(b, "<dt>Địa chỉ</dt><dd>");
        hm_buf_put_escaped(b, q->address);
        hm_buf_puts(b, "</dd>");
    }
    if (q->note) {
        hm_buf_puts(b, "<dt>Ghi chú</dt><dd>");
        hm_buf_put_escaped(b, q->note);
        hm_buf_puts(b, "</dd>");
    }
    hm_buf_puts(b, "<dt>Gửi lúc</dt><dd>");
    put_time_vn(b, q->created_at);
    hm_buf_puts(b, "</dd></dl>");
    if (notice) {
        hm_buf_puts(b, "<p class=\"notice\" id=\"notice\" role=\"status\">");
        hm_buf_puts(b, notice);
        hm_buf_puts(b, "</p>");
    }
    hm_buf_puts(b, "<p class=\"form-error\" id=\"error\" role=\"alert\"");
    if (error) {
        hm_buf_puts(b, ">");
        hm_buf_put_escaped(b, error);
    } else {
        hm_buf_puts(b, " hidden>");
    }
    hm_buf_puts(b, "</p>");
    if (chain && !chain->verified) {
        hm_buf_printf(b,
                      "<p class=\"form-error\" id=\"chain-warning\" role=\"alert\">Lịch sử của "
                      "yêu cầu này đã bị sửa ngoài hệ thống (từ mục %zu). Đừng dựa vào nó; hãy "
                      "báo Tổng đài 1022.",
                      chain->broken_at + 1);
        put_en(b, "The history of this request was changed outside helpmap.");
        hm_buf_puts(b, "</p>");
    }
    /* The buttons of web/track.html that need its script ("I am safe now", share): hidden
     * here, the script shows them. */
    hm_buf_puts(b,
                "<div class=\"row\" id=\"script-row\"><button type=\"button\" class=\"btn "
                "btn-safe\" id=\"safe-btn\" hidden data-i18n=\"safe\">Tôi đã an toàn</button>"
                "<button type=\"button\" class=\"btn btn-small\" id=\"share-btn\" "
                "data-i18n=\"share\" hidden>Chia sẻ (Zalo, SMS…)</button></div><p "
                "class=\"hint\" id=\"safe-hint\" hidden data-i18n=\"safe_hint\">Đã an toàn "
                "(nước rút, đã có người giúp, đã đến nơi trú ẩn)? Bấm để tổ hỗ trợ không phải đến "
                "nữa.</p><div class=\"share-box\" id=\"share-box\" hidden></div>");
    if (hm_status_is_open(q->status)) {
        hm_buf_puts(b, "<form method=\"post\" action=\"/track/");
        hm_buf_put_escaped(b, q->code);
        hm_buf_puts(b, "/cancel\" id=\"cancel-form\" class=\"row\">");
        put_hidden_token(b, token);
        hm_buf_puts(b, "<label class=\"confirm\" id=\"cancel-confirm\"><input type=\"checkbox\" "
                       "name=\"confirm\" value=\"1\" required> Tôi muốn hủy yêu cầu này");
        put_en(b, "I want to cancel it");
        hm_buf_puts(b, "</label><button type=\"submit\" class=\"btn btn-danger\" id=\"cancel-btn\" "
                       "data-i18n=\"cancel\">Hủy yêu cầu</button></form>");
    }
    hm_buf_puts(b, "</section>");
    if (q->status != HM_ST_CANCELLED && q->status != HM_ST_DUPLICATE)
        put_receipt(b, q, items, token);
    /* The relief points near the request, filled by the script. */
    hm_buf_puts(b, "<section class=\"card points-card\" id=\"points\" hidden "
                   "aria-live=\"polite\"><h2 data-i18n=\"points_near\">Điểm hỗ trợ gần bạn</h2>"
                   "<ul class=\"points-list\" id=\"points-list\"></ul></section>");
    {
        const hm_history *h;
        size_t n;
        h = hm_request_view_history(v, &n);
        hm_buf_puts(b, "<section class=\"card\"><h2 data-i18n=\"history\">Diễn biến</h2>");
        put_history(b, h, n);
        hm_buf_puts(b, "</section>");
    }
}

static const char track_open[] = "<!--hm:track-->", track_close[] = "<!--/hm:track-->";

/* Answer the tracking page of `code` for `token`, with the server's rendering placed in
 * web/track.html between its markers (a page of its own when they are missing). */
static enum MHD_Result track_answer(hm_req *r, unsigned status, const char *code, const char *token,
                                    const char *notice, const char *error)
{
    hm_request_view *v = hm_xcalloc(1, sizeof *v);
    hm_error err = {0};
    const char *tpl = NULL, *a = NULL, *z = NULL;
    const char *tracking[2] = {token, NULL};
    size_t tpl_len = 0, len;
    hm_buf b;
    bool found;
    char *text;

    hm_actor pub;
    memset(&pub, 0, sizeof pub);
    pub.role = HM_ROLE_PUBLIC;
    found = token && *token &&
            hm_core_request_read(r->app, &pub, code, tracking, v, &err) == HM_OK && !v->pending;
    if (!found && err.code && err.code != HM_E_NOT_FOUND) {
        hm_request_view_clear(v);
        free(v);
        return hm_http_error(r, &err);
    }
    hm_buf_init(&b);
    if (hm_http_web_file(r, "track.html", &tpl, &tpl_len)) {
        a = strstr(tpl, track_open);
        z = a ? strstr(a, track_close) : NULL;
    }
    if (a && z) {
        hm_buf_append(&b, tpl, (size_t)(a - tpl));
        put_track(&b, found ? v : NULL, code, token ? token : "", notice, error);
        hm_buf_append(&b, z, tpl_len - (size_t)(z - tpl));
    } else {
        hm_buf_puts(&b, "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta "
                        "name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>"
                        "Theo dõi yêu cầu</title><link rel=\"stylesheet\" "
                        "href=\"/assets/css/app.css\"></head><body class=\"page-track\"><main>");
        put_track(&b, found ? v : NULL, code, token ? token : "", notice, error);
        hm_buf_puts(&b, "</main></body></html>");
    }
    hm_request_view_clear(v);
    free(v);
    text = hm_buf_steal(&b, &len);
    return hm_http_bytes(r, status, "text/html; charset=utf-8", text, len, true, no_store);
}

enum MHD_Result hm_api_track_page(hm_req *r)
{
    const char *done = hm_http_arg(r, "done");
    const char *notice = NULL;
    if (done && strcmp(done, "receipt") == 0)
        notice = "Đã ghi nhận. Cảm ơn bạn. <span lang=\"en\">Thank you, it is recorded.</span>";
    else if (done && strcmp(done, "cancel") == 0)
        notice = "Đã hủy yêu cầu. <span lang=\"en\">The request was cancelled.</span>";
    /* Always 200: a wrong link reads like an unknown code, as in the API. */
    return track_answer(r, 200, r->params[0], hm_http_arg(r, "token"), notice, NULL);
}

/* What a form post of the tracking page keeps while its job runs. */
typedef struct track_form {
    union {
        hm_change_op change;
        hm_receipt_op receipt;
    } op;
    bool is_receipt;
    char *token;
    char code[32];
} track_form;

static void track_form_free(void *p)
{
    track_form *f = p;
    if (f->is_receipt)
        hm_receipt_op_clear(&f->op.receipt);
    else
        hm_change_op_clear(&f->op.change);
    free(f->token);
    free(f);
}

/* Vietnamese words for the errors a resident's form can meet. */
static const char *form_error_vi(const hm_error *e)
{
    if (e->code == HM_E_INVALID_TRANSITION)
        return "Yêu cầu đã đổi trạng thái; không làm được thao tác này nữa.";
    if (e->code == HM_E_RECEIPT_LIMIT)
        return "Yêu cầu này đã nhận đủ số lần xác nhận. Hãy gọi Tổng đài 1022.";
    if (e->field && strcmp(e->field, "amount_vnd") == 0)
        return "Số tiền không hợp lệ (chỉ ghi số, ví dụ 800000; không nhận được gì thì để trống).";
    if (e->field && strcmp(e->field, "received") == 0)
        return "Hãy chọn một câu trả lời: đã nhận đủ, một phần, hay không nhận được gì.";
    if (e->field && strcmp(e->field, "note") == 0)
        return "Ghi chú tối đa 500 ký tự, chữ thường.";
    if (e->code == HM_E_NOT_FOUND)
        return "Không tìm thấy yêu cầu với mã và liên kết này.";
    return "Chưa gửi được. Vui lòng thử lại hoặc gọi 1022.";
}

static enum MHD_Result track_form_done(hm_req *r)
{
    track_form *f = r->state;
    hm_job *job = f->is_receipt ? &f->op.receipt.job : &f->op.change.job;
    char loc[160];
    const char *hdrs[] = {"Location", loc, "Cache-Control", "no-store", NULL};

    if (job->rc)
        return track_answer(r, hm_http_status_of(job->err.code), f->code, f->token, NULL,
                            form_error_vi(&job->err));
    /* Post, redirect, get: a reload does not post again. Codes and tokens are URL-safe. */
    snprintf(loc, sizeof loc, "/track/%s?token=%s&done=%s",
             f->is_receipt ? f->op.receipt.code : f->op.change.code, f->token,
             f->is_receipt ? "receipt" : "cancel");
    return hm_http_bytes(r, 303, "text/plain; charset=utf-8", (void *)"", 0, false, hdrs);
}

/* A token as a form sends it: printable ASCII only (it goes into a Location header). */
static bool token_ok(const char *t)
{
    if (!t || !*t || strlen(t) > 100)
        return false;
    for (; *t; t++)
        if (*t <= ' ' || *t > '~' || *t == '&' || *t == '#' || *t == '%' || *t == '+')
            return false;
    return true;
}

static track_form *new_track_form(hm_req *r, json_t *fields, bool receipt)
{
    track_form *f = hm_xcalloc(1, sizeof *f);
    const char *tok = field_str(fields, "token");
    if (!tok)
        tok = hm_http_arg(r, "token");
    f->token = hm_xstrdup(token_ok(tok) ? tok : "");
    f->is_receipt = receipt;
    snprintf(f->code, sizeof f->code, "%s", r->params[0]);
    r->state = f;
    r->state_free = track_form_free;
    /* The tracking page's forms are the resident's, whatever headers say. */
    memset(&r->actor, 0, sizeof r->actor);
    r->actor.role = HM_ROLE_PUBLIC;
    snprintf(r->actor.client, sizeof r->actor.client, "%s", hm_http_client(r));
    r->auth_done = true;
    return f;
}

enum MHD_Result hm_api_track_cancel(hm_req *r)
{
    json_t *fields = form_fields(r);
    track_form *f = new_track_form(r, fields, false);
    const char *tracking[2] = {f->token, NULL};
    const char *confirm_text = field_str(fields, "confirm");
    bool confirm = confirm_text && strcmp(confirm_text, "1") == 0;
    hm_error err = {0};
    char *note = NULL;

    if (hm_validate_text(fields, "note", 500, &note, &err)) {
        json_decref(fields);
        return track_answer(r, 400, f->code, f->token, NULL, form_error_vi(&err));
    }
    json_decref(fields);
    if (!confirm) {
        free(note);
        return track_answer(r, 400, f->code, f->token, NULL,
                            "Hãy đánh dấu ô \"Tôi muốn hủy yêu cầu này\" rồi bấm Hủy.");
    }
    if (hm_core_cancel(r->app, &r->actor, f->code, tracking, note, &f->op.change, &err))
        return track_answer(r, hm_http_status_of(err.code), f->code, f->token, NULL,
                            form_error_vi(&err));
    return hm_http_submit_job(r, &f->op.change.job, track_form_done);
}

/* A form's amount as typed ("800.000", "800 000", "800000"): digits with dots and spaces
 * between them; anything else stays text for the core to refuse. */
static json_t *form_amount(const char *s)
{
    char digits[24];
    size_t n = 0;
    if (!s)
        return NULL;
    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n + 1 >= sizeof digits)
                return json_string(s);
            digits[n++] = *p;
        } else if (*p != '.' && *p != ' ' && *p != ',') {
            return json_string(s);
        }
    }
    if (!n)
        return json_string(s);
    digits[n] = '\0';
    return json_integer((json_int_t)strtoll(digits, NULL, 10));
}

enum MHD_Result hm_api_track_receipt(hm_req *r)
{
    json_t *fields = form_fields(r), *body = json_object(), *amount;
    track_form *f = new_track_form(r, fields, true);
    const char *tracking[2] = {f->token, NULL};
    hm_error err = {0};
    int rc;

    if (field_str(fields, "received"))
        json_object_set_new(body, "received", json_string(field_str(fields, "received")));
    if ((amount = form_amount(field_str(fields, "amount_vnd"))))
        json_object_set_new(body, "amount_vnd", amount);
    if (field_str(fields, "note"))
        json_object_set_new(body, "note", json_string(field_str(fields, "note")));
    json_decref(fields);
    rc = hm_core_receipt(r->app, &r->actor, f->code, tracking, body, &f->op.receipt, &err);
    json_decref(body);
    if (rc)
        return track_answer(r, hm_http_status_of(err.code), f->code, f->token, NULL,
                            form_error_vi(&err));
    return hm_http_submit_job(r, &f->op.receipt.job, track_form_done);
}

/* ---- the receipt API ---------------------------------------------------------------------- */

static void receipt_free(void *p)
{
    hm_receipt_op_clear(p);
    free(p);
}

static enum MHD_Result receipt_done(hm_req *r)
{
    hm_receipt_op *op = r->state;
    if (op->job.rc)
        return hm_http_error(r, &op->job.err);
    return hm_http_json(r, 200,
                        json_pack("{s:o}", "request",
                                  hm_core_request_json(r->app, &op->result,
                                                       HM_VIEW_CONTACT | HM_VIEW_RESIDENT, true)));
}

enum MHD_Result hm_api_request_receipt(hm_req *r)
{
    hm_receipt_op *op = hm_xcalloc(1, sizeof *op);
    hm_error err = {0};
    const char *tracking[2];
    json_t *body = NULL;
    int rc;

    r->state = op;
    r->state_free = receipt_free;
    if (hm_http_auth(r, &err))
        return hm_http_error(r, &err);
    tracking[0] = hm_http_arg(r, "token");
    tracking[1] = r->actor.role == HM_ROLE_PUBLIC ? hm_http_bearer(r) : NULL;
    /* Unparseable JSON is refused whatever the code; hm_core_receipt() checks the token before
     * the fields, so that a stranger learns nothing from a field's error. */
    if (r->body.len && hm_http_json_body(r, &body, &err))
        return hm_http_error(r, &err);
    rc = hm_core_receipt(r->app, &r->actor, r->params[0], tracking, body, op, &err);
    json_decref(body);
    if (rc)
        return hm_http_error(r, &err);
    return hm_http_submit_job(r, &op->job, receipt_done);
}

/* ---- public results -------------------------------------------------------------------------- */

static json_t *num_or_null(double h)
{
    return h >= 0 ? json_real(round(h * 10.0) / 10.0) : json_null();
}

static json_t *area_json(const char *code, const char *name, const hm_area_count *a)
{
    json_t *o = json_object(), *cats = json_object();
    if (code)
        json_object_set_new(o, "code", json_string(code));
    if (name)
        json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "received", json_integer(hm_result_received(a)));
    json_object_set_new(o, "resolved", json_integer(hm_result_resolved(a)));
    json_object_set_new(o, "open", json_integer(hm_area_count_open(a)));
    json_object_set_new(o, "cancelled", json_integer(a->by_status[HM_ST_CANCELLED]));
    /* "I am safe now" check-ins (issue 19): closed by the resident, among the cancelled */
    json_object_set_new(o, "safe", json_integer(a->safe));
    json_object_set_new(o, "median_hours_to_resolve", num_or_null(a->median_resolve_h));
    json_object_set_new(o, "receipts",
                        json_pack("{s:I,s:I}", "confirmed", (json_int_t)hm_result_confirmed(a),
                                  "disputed", (json_int_t)hm_result_disputed(a)));
    for (int c = 0; c < HM_CAT__COUNT; c++)
        json_object_set_new(cats, hm_category_name(c),
                            json_pack("{s:I,s:I,s:I,s:I}", "received",
                                      (json_int_t)a->received_by_cat[c], "resolved",
                                      (json_int_t)a->resolved_by_cat[c], "confirmed",
                                      (json_int_t)a->confirmed_by_cat[c], "disputed",
                                      (json_int_t)a->disputed_by_cat[c]));
    json_object_set_new(o, "by_category", cats);
    return o;
}

enum MHD_Result hm_api_results(hm_req *r)
{
    hm_results res;
    hm_error err = {0};
    json_t *o, *wards = json_array(), *former = json_array();
    char at[32];

    if (hm_core_results(r->app, &res, &err)) {
        json_decref(wards);
        json_decref(former);
        return hm_http_error(r, &err);
    }
    for (size_t i = 0; i < res.n_wards; i++)
        json_array_append_new(
            wards, area_json(res.wards[i].code, res.wards[i].name, &res.wards[i].counts));
    for (size_t i = 0; i < res.n_former_wards; i++)
        json_array_append_new(former, area_json(res.former_wards[i].code, res.former_wards[i].name,
                                                &res.former_wards[i].counts));
    hm_time_format(res.generated_at, at);
    o = json_pack("{s:s,s:o,s:o,s:o}", "generated_at", at, "district",
                  area_json(NULL, NULL, &res.district), "wards", wards, "former_wards", former);
    hm_results_clear(&res);
    return hm_http_json(r, 200, o);
}

/* A bar of `a`'s requests, `max` the widest at this level: resolved and confirmed, resolved
 * and disputed, resolved without a receipt, open, cancelled (inline SVG: no script, no style
 * attribute the page's CSP would refuse). */
static void put_bar(hm_buf *b, const hm_area_count *a, int64_t max)
{
    static const char *const fill[5] = {"#15803d", "#b91c1c", "#86efac", "#f59e0b", "#cbd5e1"};
    int64_t conf = hm_result_confirmed(a), disp = hm_result_disputed(a);
    int64_t part[5] = {conf, disp, hm_result_resolved(a) - conf - disp, hm_area_count_open(a),
                       a->by_status[HM_ST_CANCELLED]};
    double x = 0, w = 240;
    hm_buf_printf(b,
                  "<svg class=\"bar\" viewBox=\"0 0 240 14\" width=\"240\" height=\"14\" "
                  "role=\"img\" aria-label=\"%" PRId64 " đã giải quyết, %" PRId64
                  " xác nhận đủ, %" PRId64 " báo thiếu, %" PRId64 " đang mở\">",
                  hm_result_resolved(a), conf, disp, hm_area_count_open(a));
    for (int i = 0; i < 5; i++) {
        double pw = max > 0 ? w * (double)part[i] / (double)max : 0;
        if (pw <= 0)
            continue;
        hm_buf_printf(b, "<rect x=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>", x, pw,
                      fill[i]);
        x += pw;
    }
    hm_buf_puts(b, "</svg>");
}

static void put_hours(hm_buf *b, double h)
{
    if (h < 0)
        hm_buf_puts(b, "–");
    else
        hm_buf_printf(b, "%.1f", round(h * 10.0) / 10.0);
}

static void put_area_rows(hm_buf *b, const hm_result_area *areas, size_t n)
{
    int64_t max = 1;
    for (size_t i = 0; i < n; i++) {
        int64_t t = hm_result_received(&areas[i].counts); /* every part of the bar */
        if (t > max)
            max = t;
    }
    for (size_t i = 0; i < n; i++) {
        const hm_area_count *a = &areas[i].counts;
        hm_buf_puts(b, "<tr><th scope=\"row\">");
        hm_buf_put_escaped(b, areas[i].name[0] ? areas[i].name : areas[i].code);
        hm_buf_printf(b, "</th><td>%" PRId64 "</td><td>%" PRId64 "</td><td>", hm_result_received(a),
                      hm_result_resolved(a));
        put_hours(b, a->median_resolve_h);
        hm_buf_printf(b, "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>",
                      hm_result_confirmed(a), hm_result_disputed(a), a->safe);
        put_bar(b, a, max);
        hm_buf_puts(b, "</td></tr>");
    }
}

static void put_area_table(hm_buf *b, const char *id, const char *caption,
                           const hm_result_area *areas, size_t n)
{
    hm_buf_printf(b,
                  "<table id=\"%s\"><caption>%s</caption><thead><tr><th scope=\"col\">Xã"
                  "<span lang=\"en\">Commune</span></th><th scope=\"col\">Đã nhận<span "
                  "lang=\"en\">Received</span></th><th scope=\"col\">Đã giải quyết<span "
                  "lang=\"en\">Resolved</span></th><th scope=\"col\">Trung vị (giờ)<span "
                  "lang=\"en\">Median hours</span></th><th scope=\"col\">Xác nhận đủ<span "
                  "lang=\"en\">Confirmed</span></th><th scope=\"col\">Báo thiếu<span "
                  "lang=\"en\">Disputed</span></th><th scope=\"col\">Báo an toàn<span "
                  "lang=\"en\">Marked safe</span></th><th scope=\"col\">Biểu đồ<span "
                  "lang=\"en\">Chart</span></th></tr></thead><tbody>",
                  id, caption);
    put_area_rows(b, areas, n);
    hm_buf_puts(b, "</tbody></table>");
}

enum MHD_Result hm_api_results_page(hm_req *r)
{
    static const char *const legend[5][2] = {{"#15803d", "xác nhận đủ"},
                                             {"#b91c1c", "báo thiếu / không nhận"},
                                             {"#86efac", "đã giải quyết, chưa xác nhận"},
                                             {"#f59e0b", "đang mở"},
                                             {"#cbd5e1", "đã hủy"}};
    static const char *const cache[] = {"Cache-Control", "public, max-age=60", NULL};
    hm_results res;
    hm_error err = {0};
    hm_buf b;
    size_t len;
    char *text;

    if (hm_core_results(r->app, &res, &err))
        return hm_http_error(r, &err);
    hm_buf_init(&b);
    hm_buf_puts(&b, "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta "
                    "name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Kết "
                    "quả hỗ trợ – Bản đồ hỗ trợ</title><link rel=\"icon\" "
                    "href=\"/assets/icon.svg\" type=\"image/svg+xml\"><link rel=\"stylesheet\" "
                    "href=\"/assets/css/results.css\"></head><body><header><h1>Kết quả hỗ trợ "
                    "người dân<span lang=\"en\">Results: what was asked, what was done</span></h1>"
                    "<p>Cập nhật lúc ");
    put_time_vn(&b, res.generated_at);
    hm_buf_puts(&b, " (giờ Việt Nam). Số liệu công khai: không có tên, số điện thoại hay vị trí "
                    "nhà; chỉ tính đến cấp xã. Người dân tự xác nhận đã nhận đủ hay chưa.<span "
                    "lang=\"en\">Public figures: no names, phones or homes, nothing finer than a "
                    "commune. Residents confirm themselves what arrived.</span></p></header>"
                    "<main><section id=\"district\"><h2>Toàn huyện<span lang=\"en\">The whole "
                    "district</span></h2><dl class=\"totals\">");
    hm_buf_printf(
        &b,
        "<div><dt>Yêu cầu đã nhận<span lang=\"en\">Received</span></dt><dd>%" PRId64
        "</dd></div><div><dt>Đã giải quyết<span lang=\"en\">Resolved</span></dt><dd>%" PRId64
        "</dd></div><div><dt>Thời gian giải quyết (trung vị)<span lang=\"en\">Median "
        "time to resolve</span></dt><dd>",
        hm_result_received(&res.district), hm_result_resolved(&res.district));
    put_hours(&b, res.district.median_resolve_h);
    hm_buf_printf(&b,
                  " giờ</dd></div><div><dt>Người dân xác nhận đã nhận đủ<span lang=\"en\">"
                  "Confirmed by residents</span></dt><dd>%" PRId64 "</dd></div><div><dt>Người "
                  "dân báo thiếu hoặc không nhận được<span lang=\"en\">Disputed by "
                  "residents</span></dt><dd>%" PRId64 "</dd></div><div><dt>Người dân báo đã "
                  "an toàn<span lang=\"en\">Marked themselves safe</span></dt><dd>%" PRId64
                  "</dd></div></dl></section>",
                  hm_result_confirmed(&res.district), hm_result_disputed(&res.district),
                  res.district.safe);
    hm_buf_puts(&b, "<p class=\"legend\">");
    for (int i = 0; i < 5; i++)
        hm_buf_printf(&b,
                      "<span><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect "
                      "width=\"12\" height=\"12\" fill=\"%s\"/></svg> %s</span> ",
                      legend[i][0], legend[i][1]);
    hm_buf_puts(&b, "</p>");
    put_area_table(&b, "wards",
                   "Theo xã (từ 01/07/2025)<span lang=\"en\">By commune (since 2025-07-01)</span>",
                   res.wards, res.n_wards);
    /* By category: resolved / received, and what residents disputed. */
    hm_buf_puts(&b, "<table id=\"categories\"><caption>Theo loại hỗ trợ: đã giải quyết / đã nhận "
                    "(báo thiếu)<span lang=\"en\">By need: resolved / received "
                    "(disputed)</span></caption><thead><tr><th scope=\"col\">Xã</th>");
    for (int c = 0; c < HM_CAT__COUNT; c++)
        hm_buf_printf(&b, "<th scope=\"col\">%s<span lang=\"en\">%s</span></th>", cat_vi[c],
                      cat_en[c]);
    hm_buf_puts(&b, "</tr></thead><tbody>");
    for (size_t i = 0; i < res.n_wards; i++) {
        const hm_area_count *a = &res.wards[i].counts;
        hm_buf_puts(&b, "<tr><th scope=\"row\">");
        hm_buf_put_escaped(&b, res.wards[i].name[0] ? res.wards[i].name : res.wards[i].code);
        hm_buf_puts(&b, "</th>");
        for (int c = 0; c < HM_CAT__COUNT; c++) {
            hm_buf_printf(&b, "<td>%" PRId64 "/%" PRId64, a->resolved_by_cat[c],
                          a->received_by_cat[c]);
            if (a->disputed_by_cat[c])
                hm_buf_printf(&b, " <b>(%" PRId64 ")</b>", a->disputed_by_cat[c]);
            hm_buf_puts(&b, "</td>");
        }
        hm_buf_puts(&b, "</tr>");
    }
    hm_buf_puts(&b, "</tbody></table>");
    put_area_table(&b, "former-wards",
                   "Theo xã cũ (trước 01/07/2025)<span lang=\"en\">By former commune</span>",
                   res.former_wards, res.n_former_wards);
    hm_buf_puts(&b, "</main><footer><p><a href=\"/\">Gửi yêu cầu hỗ trợ</a> · <a "
                    "href=\"/api/v1/results\">Dữ liệu (JSON)</a></p></footer></body></html>");
    hm_results_clear(&res);
    text = hm_buf_steal(&b, &len);
    return hm_http_bytes(r, 200, "text/html; charset=utf-8", text, len, true, cache);
}
