/* chain.h: the tamper-evident history (issue 17) — the canonical form of a history entry and
 * the hash chain over a request's entries. Pure and thread-safe; no storage (the store appends
 * and reads entries, store.c computes each new entry's hash with these functions, the core and
 * `helpmap verify-history` check chains with them).
 *
 * Every history entry carries
 *     hash = SHA-256( previous entry's hash as 64 lower-case hex digits (nothing for the
 *                     request's first entry) || canonical JSON of the entry )
 * as 64 lower-case hex digits. The canonical JSON has exactly these keys, in this order,
 * without whitespace, UTF-8:
 *     {"request":CODE,"at":AT,"actor":ACTOR,"from":FROM,"to":TO,"kind":KIND,
 *      "note_sha256":NOTE,"field":FIELD,"old_sha256":OLD,"new_sha256":NEW,
 *      "contact":CONTACT,"detail":DETAIL}
 *   CODE    the request's code ("CC-4K7M2B")
 *   AT      RFC 3339 UTC to the second, as the API shows it ("2026-11-30T02:15:00Z"), so that
 *           anyone holding an answer of GET /requests/{code} (and the notes) can recompute the
 *           chain
 *   ACTOR   "resident", "system", "hotline" or a team's name as stored
 *   FROM/TO status names ("new"), or null for an entry without a status move
 *   KIND    "status", "note", "verify", "reveal", "edit", "merge", "receipt", ...
 *   NOTE    SHA-256 of the note's UTF-8 bytes in lower-case hex, or null without a note: the
 *           note itself is not hashed, so that `helpmap purge` can erase it and the chain
 *           still verifies (the entry keeps note_sha256). For an entry marked contact, the
 *           SHA-256 of its salt (32 lower-case hex digits, random, kept beside the entry) and
 *           then the note: a purge erases the salt with the texts, so that what stays cannot
 *           be matched against every phone number
 *   FIELD   what an edit, merge or reassignment changed ("phone", "team", "duplicate_of",
 *           ...), or null
 *   OLD/NEW SHA-256 of the old and of the new value (UTF-8, lower-case hex), or null without
 *           one: hashed like the note (salted alike), since a value may be contact data (a
 *           phone) that a purge erases
 *   CONTACT true when the note or the values are contact data (shown only to those who may
 *           see contact data), else false
 *   DETAIL  the entry's structured facts as a canonical JSON object (below), or null
 * Strings are escaped as in RFC 8785 (JSON.stringify): \" \\ \b \t \n \f \r, other
 * characters below U+0020 as \u00xx with lower-case hex, everything else as is. Numbers are
 * integers in decimal. A detail object follows the same rules with its keys in the order this
 * file writes them:
 *     receipt   {"received":"all"|"part"|"nothing","amount_vnd":N|null}
 *     delivery  {"delivered_vnd":N|null,"items":TEXT|null}   (a team's "resolved" with what it
 *               delivered)
 * The digest of a database (`helpmap digest`) is the SHA-256 of one line "CODE HASH\n" per
 * request with history, in the order of the requests' ids, HASH being the chain's head. */
#ifndef HM_CHAIN_H
#define HM_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "entity.h"
#include "hm_buf.h"

/* Append the canonical JSON of entry `h` of request `code` to `out` (it uses h->note_sha256,
 * h->old_sha256 and h->new_sha256, never the texts, and h->detail as given). */
void hm_chain_canonical(const char *code, const hm_history *h, hm_buf *out);

/* The hash of entry `h` of request `code` after an entry whose hash is `prev_hex` ("" or NULL
 * for the first entry) into out[65]. */
void hm_chain_hash(const char *code, const char *prev_hex, const hm_history *h, char out[65]);

/* The SHA-256 of text `text` of an entry with salt `salt` ("" or NULL: none), hex into
 * out[65]; "" when there is no text (NULL or ""). */
void hm_chain_text_sha256(const char *salt, const char *text, char out[65]);

/* Does stored entry `h` follow `prev_hex` in the chain of request `code`? Checks that its note
 * and its old and new values, where it still has them, hash (with h->salt) to h->note_sha256,
 * h->old_sha256 and h->new_sha256 — a contact entry's texts only with their salt — and that
 * h->hash is its chain hash. Returns NULL when it does, else a static English reason ("hash
 * does not match", "note does not match its hash", "value does not match its hash", "no
 * hash"). */
const char *hm_chain_check(const char *code, const char *prev_hex, const hm_history *h);

/* The detail objects, appended to `out` (canonical). `amount_vnd` < 0: null. `items` NULL or
 * "": null. */
void hm_chain_detail_receipt(int received, int64_t amount_vnd, hm_buf *out);
void hm_chain_detail_delivery(int64_t amount_vnd, const char *items, hm_buf *out);

/* Append `s` as a canonical JSON string (quotes included). */
void hm_chain_put_string(hm_buf *out, const char *s);

#endif
