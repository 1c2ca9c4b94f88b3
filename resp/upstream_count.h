/* upstream_count.h -- subscriber counts across bridged nodes (JUGGLITE NUMSUB).
 *
 * PUBSUB NUMSUB counts one node's subscribers, browsers included; the
 * upstream knows only that some nodes listen. So a node asks them all,
 * through the upstream, and adds up what they say:
 *
 *   PUBSUB NUMSUB jugglite:numsub    -- how many nodes listen, the node
 *                                       asking included: the answers to wait for
 *   PUBLISH jugglite:numsub {"from":"<run id>","req":7,"kind":"channel","names":["61","62"]}
 *     -- names in hex: a channel name is any bytes
 *   every node: PUBLISH jugglite:numsub:<from> {"req":7,"node":"<its run id>","counts":[3,0]}
 *
 * Every bridged node subscribes to both channels of its own (JL_UPC_REQUESTS
 * and JL_UPC_REQUESTS ":<run id>") on each connection; nothing on them
 * reaches local subscribers. The answer comes once every node did, or at
 * the deadline with what came (a node that cannot answer in time is
 * counted out, and said to be). Nothing is stored anywhere: a node that
 * dies takes its counts with it, at once. Only nodes may subscribe to
 * jugglite:numsub itself: any other subscriber is waited for in vain.
 *
 * This file keeps the questions in flight (owned by the bridge's jl_upc_t)
 * and the JSON both ways; upstream.c sends and receives. */
#ifndef JL_UPSTREAM_COUNT_H
#define JL_UPSTREAM_COUNT_H

#include "server/buf.h"
#include "server/registry.h"
#include "server/relay.h"
#include "server/util.h"

#include <stdint.h>

#define JL_UPC_REQUESTS "jugglite:numsub"
#define JL_UPC_REQUESTS_LEN 15
/* How long a question waits for the nodes that have not answered. */
#define JL_UPC_TIMEOUT 2.0

typedef struct jl_upc {
    jl_list_t asks;             /* questions in flight, oldest first */
    uint64_t next_req;
    unsigned long long asked, timeouts;     /* INFO */
} jl_upc_t;

void jl_upc_init(jl_upc_t *q);
/* Answers every question in flight with 'error' and forgets them. */
void jl_upc_fail_all(jl_upc_t *q, const char *error);
/* A new question: names[0..n) of namespace ns, for done(ud). Writes the
 * request's payload to 'payload' and returns its number (for jl_upc_expect
 * and jl_upc_fail). node: this node's run id. */
uint64_t jl_upc_ask(jl_upc_t *q, const char *node, jl_ns_t ns, const char *const *names,
                    const size_t *lens, size_t n, double deadline, jl_relay_counts_fn done,
                    void *ud, jl_buf_t *payload);
/* The PUBSUB NUMSUB before the request was answered: 'nodes' will answer. */
void jl_upc_expect(jl_upc_t *q, uint64_t req, long long nodes);
/* The PUBSUB NUMSUB before the request failed (error of error_len). */
void jl_upc_fail(jl_upc_t *q, uint64_t req, const char *error, size_t error_len);
/* One node's answer, as it came on our channel; bad JSON is ignored. */
void jl_upc_on_answer(jl_upc_t *q, const char *payload, size_t len);
/* Answers what is past its deadline with what came. */
void jl_upc_tick(jl_upc_t *q, double now);
/* Forgets every question of ud (a client gone): done will not fire. */
void jl_upc_cancel(jl_upc_t *q, void *ud);
/* A request seen on JL_UPC_REQUESTS: this node's answer, to publish on
 * *chan (written there) with *answer as payload. Returns -1 for a payload
 * that is not a request (nothing written). node: this node's run id. */
int jl_upc_answer(const jl_registry_t *reg, const char *node, const char *payload, size_t len,
                  jl_buf_t *chan, jl_buf_t *answer);
/* 1 when chan is one of the count channels (ours or another node's). */
int jl_upc_is_channel(const char *chan, size_t len);

#endif
