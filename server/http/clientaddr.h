/* clientaddr.h: who the client is — addresses as rate limits and connection caps count them,
 * trusted proxies, and the client behind them in X-Forwarded-For. Pure functions on text; no
 * libmicrohttpd. Thread-safe (a list is read-only once parsed).
 *
 * Issue 11: behind a proxy that appends its own X-Forwarded-For line (HAProxy `option
 * forwardfor`), libmicrohttpd handed back only the client's forged first line, and an IPv6
 * client had 2^64 addresses to rotate through. */
#ifndef HM_CLIENTADDR_H
#define HM_CLIENTADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hm_error.h"

/* Addresses and CIDR prefixes ("10.0.0.0/8", "2001:db8::/32", "127.0.0.1"). */
typedef struct hm_addr_list {
    struct hm_addr_net {
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        int prefix; /* bits */
    } * items;
    size_t n;
} hm_addr_list;

/* Add the comma-separated addresses and prefixes of `text` to `l`. HM_OK, or HM_E_INVALID_FIELD
 * naming the first one that is not an address (nothing added then). */
int hm_addr_list_add(hm_addr_list *l, const char *text, hm_error *err);
/* Whether address `text` (IPv4, IPv6, or IPv4-mapped IPv6) is in `l`. */
bool hm_addr_list_has(const hm_addr_list *l, const char *text);
void hm_addr_list_clear(hm_addr_list *l);

#define HM_CLIENT_KEY_SIZE 64

/* The key under which address `addr` is counted, into out[HM_CLIENT_KEY_SIZE]: an IPv4 address
 * as it is; an IPv6 address as its /64 ("2001:db8:1:2::/64": one household or host gets a whole
 * /64); an IPv4-mapped IPv6 address as its IPv4 address; anything else, cut to fit. */
void hm_client_key(const char *addr, char out[HM_CLIENT_KEY_SIZE]);

/* The client of a request from peer `peer` carrying the X-Forwarded-For hops `forwarded` (every
 * header line joined with commas; NULL when none): when the peer is in `trusted`, the
 * right-most hop that is not a trusted proxy (each proxy appends the address it saw, so hops
 * left of it may be forged), or the left-most when all are trusted; otherwise the peer. As a
 * key (hm_client_key) into out[HM_CLIENT_KEY_SIZE]. */
void hm_client_of(const char *peer, const char *forwarded, const hm_addr_list *trusted,
                  char out[HM_CLIENT_KEY_SIZE]);

#endif
