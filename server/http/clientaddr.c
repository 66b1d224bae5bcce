/* clientaddr.c: client addresses, trusted proxies, X-Forwarded-For; see clientaddr.h. */
#include "clientaddr.h"

#include "hm_buf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Parse `text` (IPv4, IPv6 or IPv4-mapped IPv6, optional "/prefix" when `allow_prefix`) into
 * family, 16 bytes and prefix bits. An IPv4-mapped IPv6 address counts as IPv4. */
static bool parse_addr(const char *text, size_t len, bool allow_prefix, int *family,
                       uint8_t addr[16], int *prefix)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char buf[64];
    char *slash;
    long bits = -1;

    while (len > 0 && (*text == ' ' || *text == '\t'))
        text++, len--;
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if ((slash = strchr(buf, '/'))) {
        char *end;
        if (!allow_prefix)
            return false;
        *slash = '\0';
        bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || bits < 0)
            return false;
    }
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        *prefix = bits < 0 ? 32 : (int)bits;
        return *prefix <= 32;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        if (memcmp(addr, mapped, sizeof mapped) == 0) {
            memmove(addr, addr + 12, 4);
            memset(addr + 4, 0, 12);
            *family = AF_INET;
            *prefix = bits < 0 ? 32 : (int)bits - 96;
            return *prefix >= 0 && *prefix <= 32;
        }
        *family = AF_INET6;
        *prefix = bits < 0 ? 128 : (int)bits;
        return *prefix <= 128;
    }
    return false;
}

int hm_addr_list_add(hm_addr_list *l, const char *text, hm_error *err)
{
    const char *p = text;
    size_t start = l->n;

    if (!text || !*text)
        return hm_error_set(err, HM_E_INVALID_FIELD, "trusted_proxy", "no address given");
    for (;;) {
        size_t len = strcspn(p, ",");
        struct hm_addr_net a;
        if (!parse_addr(p, len, true, &a.family, a.addr, &a.prefix)) {
            l->n = start;
            return hm_error_set(err, HM_E_INVALID_FIELD, "trusted_proxy",
                                "%.*s is not an IP address or prefix", (int)(len > 60 ? 60 : len),
                                p);
        }
        l->items = hm_xrealloc(l->items, (l->n + 1) * sizeof *l->items);
        l->items[l->n++] = a;
        if (!p[len])
            break;
        p += len + 1;
    }
    return HM_OK;
}

static bool in_net(const struct hm_addr_net *n, int family, const uint8_t addr[16])
{
    int full = n->prefix / 8, rest = n->prefix % 8;
    if (n->family != family)
        return false;
    if (memcmp(n->addr, addr, (size_t)full) != 0)
        return false;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));
        if ((n->addr[full] & mask) != (addr[full] & mask))
            return false;
    }
    return true;
}

static bool list_has(const hm_addr_list *l, const char *text, size_t len)
{
    int family, prefix;
    uint8_t addr[16];
    if (!l || !l->n || !parse_addr(text, len, false, &family, addr, &prefix))
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (in_net(&l->items[i], family, addr))
            return true;
    return false;
}

bool hm_addr_list_has(const hm_addr_list *l, const char *text)
{
    return text && list_has(l, text, strlen(text));
}

void hm_addr_list_clear(hm_addr_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void key_of(const char *text, size_t len, char out[HM_CLIENT_KEY_SIZE])
{
    int family, prefix;
    uint8_t addr[16];
    char tmp[INET6_ADDRSTRLEN];

    if (parse_addr(text, len, false, &family, addr, &prefix)) {
        if (family == AF_INET) {
            inet_ntop(AF_INET, addr, tmp, sizeof tmp);
            snprintf(out, HM_CLIENT_KEY_SIZE, "%s", tmp);
        } else {
            memset(addr + 8, 0, 8);
            inet_ntop(AF_INET6, addr, tmp, sizeof tmp);
            snprintf(out, HM_CLIENT_KEY_SIZE, "%s/64", tmp);
        }
        return;
    }
    while (len > 0 && (*text == ' ' || *text == '\t'))
        text++, len--;
    snprintf(out, HM_CLIENT_KEY_SIZE, "%.*s",
             (int)(len < HM_CLIENT_KEY_SIZE - 1 ? len : HM_CLIENT_KEY_SIZE - 1), text);
}

void hm_client_key(const char *addr, char out[HM_CLIENT_KEY_SIZE])
{
    key_of(addr ? addr : "", addr ? strlen(addr) : 0, out);
}

void hm_client_of(const char *peer, const char *forwarded, const hm_addr_list *trusted,
                  char out[HM_CLIENT_KEY_SIZE])
{
    const char *end, *hop = NULL;
    size_t hop_len = 0;

    if (!forwarded || !*forwarded || !hm_addr_list_has(trusted, peer)) {
        hm_client_key(peer, out);
        return;
    }
    /* Right to left: the first hop that is not one of ours is the client. */
    end = forwarded + strlen(forwarded);
    while (end > forwarded) {
        const char *start = end;
        size_t len;
        while (start > forwarded && start[-1] != ',')
            start--;
        len = (size_t)(end - start);
        if (strspn(start, " \t") < len) { /* an empty hop is no hop */
            hop = start;
            hop_len = len;
            if (!list_has(trusted, start, len))
                break;
        }
        end = start > forwarded ? start - 1 : start;
    }
    if (hop)
        key_of(hop, hop_len, out);
    else
        hm_client_key(peer, out);
}
