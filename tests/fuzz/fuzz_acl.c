/* fuzz_acl.c -- libFuzzer target for the ACL rule parser (server/acl.c).
 *
 * Rules come from an operator's aclfile and --user, and from ACL SETUSER,
 * which any client allowed to run it can send with arbitrary bytes. The
 * input is lines of space-separated words, each line one SETUSER (the
 * first word the user name), applied to one ACL as a server would, with
 * every byte value allowed. Beyond not crashing or leaking, one property
 * is asserted for every user left: its ACL LIST line, parsed again into a
 * fresh ACL, describes the same user (so ACL LIST, the aclfile format and
 * the parser agree). Inputs with NUL bytes skip that check: a NUL in a key
 * pattern is kept but, as in Redis's sds-to-C-string paths, not shown. */
#include "server/acl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_WORDS = 64 };

static int known(const char *name, size_t len)
{
    static const char *const names[] = {"publish", "subscribe", "ping", "client", "client|id",
                                        "client|kill", NULL};
    for (const char *const *n = names; *n; n++)
        if (strlen(*n) == len && memcmp(*n, name, len) == 0)
            return 1;
    return 0;
}

static size_t split(const char *p, size_t n, const char **w, size_t *len)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < MAX_WORDS;) {
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && p[i] != ' ' && p[i] != '\t')
            i++;
        w[k] = p + start;
        len[k++] = i - start;
    }
    return k;
}

static void setuser_line(jl_acl_t *acl, const char *p, size_t n)
{
    const char *w[MAX_WORDS];
    size_t len[MAX_WORDS];
    size_t k = split(p, n, w, len);
    char err[512];
    if (k > 0)
        jl_acl_setuser(acl, w[0], len[0], k - 1, w + 1, len + 1, err, sizeof err);
}

static void check_round_trip(const jl_acl_user_t *u)
{
    jl_buf_t a = {0}, b = {0};
    jl_acl_describe(u, &a);
    jl_acl_t again;
    jl_acl_init(&again, known);
    /* A line describes a user from scratch; "default" exists already, so it
     * is first made as blank as a new user (as loading an aclfile does). */
    static const char blank[] = "default off resetpass resetkeys resetchannels nocommands";
    setuser_line(&again, blank, sizeof blank - 1);
    /* "user " is not part of a SETUSER line. */
    setuser_line(&again, a.data + 5, a.len - 5);
    const jl_acl_user_t *v = jl_acl_find(&again, u->name, strlen(u->name));
    if (v == NULL)
        abort();
    jl_acl_describe(v, &b);
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
        fprintf(stderr, "round trip differs:\n  %.*s\n  %.*s\n", (int)a.len, a.data, (int)b.len, b.data);
        abort();
    }
    jl_acl_free(&again);
    jl_buf_free(&a);
    jl_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);
    jl_acl_t acl;
    jl_acl_init(&acl, known);
    for (size_t at = 0; at < size;) {
        const char *nl = memchr(copy + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - copy) : size;
        setuser_line(&acl, copy + at, end - at);
        at = end + 1;
    }
    if (memchr(copy, '\0', size) == NULL)
        for (size_t i = 0; i < acl.n; i++)
            check_round_trip(acl.users[i]);
    jl_acl_free(&acl);
    free(copy);
    return 0;
}
