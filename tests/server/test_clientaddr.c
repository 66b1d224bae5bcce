/* test_clientaddr.c: server/http/clientaddr.c — trusted proxies, the client behind
 * X-Forwarded-For, and the keys rate limits count (issue 11 item 8). Tables of cases. */
#include "clientaddr.h"
#include "hm_test.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_keys(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"203.0.113.7", "203.0.113.7"},
        {" 203.0.113.7 ", "203.0.113.7"},
        {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
        {"2001:db8:1:2::1", "2001:db8:1:2::/64"},
        {"2001:DB8:1:2::ffff", "2001:db8:1:2::/64"},
        {"::ffff:198.51.100.4", "198.51.100.4"},
        {"::1", "::/64"},
        {"unknown", "unknown"},
        {"", ""},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char out[HM_CLIENT_KEY_SIZE];
        hm_client_key(cases[i].in, out);
        CHECK_STR_EQ(out, cases[i].want);
    }
}

static void test_lists(void)
{
    hm_addr_list l = {NULL, 0};
    hm_error err = {0};
    static const struct {
        const char *addr;
        bool in;
    } cases[] = {
        {"127.0.0.1", true},       {"127.0.0.2", false},    {"10.1.2.3", true},
        {"11.0.0.1", false},       {"2001:db8:9::5", true}, {"2001:db9::1", false},
        {"::ffff:10.0.0.9", true}, {"192.0.2.1", true},     {"192.0.2.2", false},
        {"not an address", false}, {"10.0.0.1/8", false},
    };
    CHECK_INT_EQ(hm_addr_list_add(&l, "127.0.0.1,10.0.0.0/8, 2001:db8::/32", &err), HM_OK);
    CHECK_INT_EQ(hm_addr_list_add(&l, "192.0.2.1", &err), HM_OK);
    CHECK_INT_EQ(l.n, 4);
    for (size_t i = 0; i < N(cases); i++)
        CHECK(hm_addr_list_has(&l, cases[i].addr) == cases[i].in);
    /* A list with a bad entry adds nothing. */
    CHECK_INT_EQ(hm_addr_list_add(&l, "10.9.9.9,proxy.example", &err), HM_E_INVALID_FIELD);
    CHECK_STR_EQ(err.field, "trusted_proxy");
    CHECK_INT_EQ(l.n, 4);
    hm_error_clear(&err);
    CHECK_INT_EQ(hm_addr_list_add(&l, "10.0.0.0/33", &err), HM_E_INVALID_FIELD);
    hm_addr_list_clear(&l);
}

/* Issue 11 item 8: behind a proxy that appends its own X-Forwarded-For line, the forged first
 * line must not choose the client. */
static void test_issue11_08_client_is_the_right_most_untrusted_hop(void)
{
    hm_addr_list l = {NULL, 0};
    hm_error err = {0};
    static const struct {
        const char *peer, *forwarded, *want;
    } cases[] = {
        /* A trusted peer: the right-most hop that is not a trusted proxy. */
        {"127.0.0.1", "198.18.0.1,203.0.113.7", "203.0.113.7"},
        {"127.0.0.1", "198.18.0.1, 203.0.113.7, 10.0.0.5", "203.0.113.7"},
        {"127.0.0.1", "203.0.113.7 ,10.0.0.5,10.0.0.6", "203.0.113.7"},
        {"127.0.0.1", "2001:db8:aa:bb::1", "2001:db8:aa:bb::/64"},
        {"127.0.0.1", "10.0.0.5", "10.0.0.5"},            /* all trusted: the first */
        {"127.0.0.1", ",, 203.0.113.9 ,", "203.0.113.9"}, /* empty hops are none */
        {"127.0.0.1", "garbage", "garbage"},              /* an odd hop is its own key */
        {"127.0.0.1", NULL, "127.0.0.1"},
        {"127.0.0.1", "", "127.0.0.1"},
        /* Anyone else's X-Forwarded-For is ignored. */
        {"203.0.113.50", "198.18.0.1", "203.0.113.50"},
        {"2001:db8:77:1::9", "198.18.0.1", "2001:db8:77:1::/64"},
    };
    CHECK_INT_EQ(hm_addr_list_add(&l, "127.0.0.1,10.0.0.0/8", &err), HM_OK);
    for (size_t i = 0; i < N(cases); i++) {
        char out[HM_CLIENT_KEY_SIZE];
        hm_client_of(cases[i].peer, cases[i].forwarded, &l, out);
        CHECK_STR_EQ(out, cases[i].want);
    }
    {
        char out[HM_CLIENT_KEY_SIZE];
        hm_addr_list none = {NULL, 0};
        hm_client_of("127.0.0.1", "198.18.0.1", &none, out); /* no proxy trusted */
        CHECK_STR_EQ(out, "127.0.0.1");
    }
    hm_addr_list_clear(&l);
}

int main(void)
{
    test_keys();
    test_lists();
    test_issue11_08_client_is_the_right_most_untrusted_hop();
    return hm_test_done("test_clientaddr");
}
