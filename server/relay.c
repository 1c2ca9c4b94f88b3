/* relay.c -- the publish seam's entry points and the local relay.
 *
 * The wrappers keep the optional operations optional, so callers never test
 * for NULL; the local relay is what a node without an upstream uses: the
 * registry delivers at once and done fires before publish returns. */
#include "server/relay.h"
#include "server/history.h"

#include <errno.h>
#include <string.h>

/* The frames the subscribers' queues now point at learn when their publish
 * began: a connection's write of one gives the publish-to-write latency. */
static void stamp_frames(jl_msg_t *msg, double t0)
{
    for (size_t i = 0; i < JL_FRAME_KINDS; i++)
        if (msg->frames[i] && msg->frames[i]->born == 0)
            msg->frames[i]->born = t0;
    for (size_t i = 0; i < JL_ARRAY_LEN(msg->pframes); i++)
        if (msg->pframes[i] && msg->pframes[i]->born == 0)
            msg->pframes[i]->born = t0;
}

/* Shard channels have no SSE streams, hence no history. */
size_t jl_relay_deliver_local(jl_relay_t *r, const jl_pub_t *pub)
{
    jl_msg_t msg;
    jl_msg_init(&msg, pub->chan, pub->chan_len, pub->payload, pub->payload_len, pub->shard);
    if (r->hist != NULL && !pub->shard)
        jl_hist_publish(r->hist, &msg);
    double t0 = jl_histo_clock();
    size_t n = jl_registry_publish(r->reg, &msg);
    jl_histo_observe(&r->stats->fanout, jl_histo_clock() - t0);
    stamp_frames(&msg, t0);
    jl_msg_release(&msg);
    r->stats->pubsub_messages++;
    r->stats->deliveries += n;
    return n;
}

static int local_publish(jl_relay_t *r, const jl_pub_t *pub, jl_relay_done_fn done, void *ud)
{
    size_t n = jl_relay_deliver_local(r, pub);
    if (done) {
        jl_relay_reply_t reply = {.receivers = (long long)n};
        done(ud, &reply);
    }
    return JL_OK;
}

static const jl_relay_ops_t local_ops = {.publish = local_publish};

void jl_relay_local_init(jl_relay_t *r, jl_registry_t *reg, struct jl_hist *hist,
                         jl_stats_t *stats)
{
    memset(r, 0, sizeof *r);
    r->ops = &local_ops;
    r->reg = reg;
    r->hist = hist;
    r->stats = stats;
}

int jl_relay_publish(jl_relay_t *r, const jl_pub_t *pub, jl_relay_done_fn done, void *ud)
{
    r->error[0] = '\0';
    return r->ops->publish(r, pub, done, ud);
}

void jl_relay_cancel(jl_relay_t *r, void *ud)
{
    if (r->ops->cancel)
        r->ops->cancel(r, ud);
}

int jl_relay_confirmed(const jl_relay_t *r, jl_ns_t ns, const char *name, size_t len)
{
    return r->ops->confirmed ? r->ops->confirmed(r, ns, name, len) : 1;
}

int jl_relay_health(const jl_relay_t *r)
{
    return r->ops->healthy ? r->ops->healthy(r) : -1;
}

int jl_relay_has_info(const jl_relay_t *r) { return r->ops->info != NULL; }

void jl_relay_info(const jl_relay_t *r, jl_buf_t *out)
{
    if (r->ops->info)
        r->ops->info(r, out);
}

void jl_relay_shutdown(jl_relay_t *r)
{
    if (r->ops->shutdown)
        r->ops->shutdown(r);
}

int jl_relay_history(jl_relay_t *r, const jl_relay_name_t *names, size_t n, const char *from,
                     size_t from_len, jl_relay_history_fn done, void *ud)
{
    if (r->ops->history == NULL)
        return -ENOTSUP;
    return r->ops->history(r, names, n, from, from_len, done, ud);
}

int jl_relay_numsub(jl_relay_t *r, jl_ns_t ns, const char *const *names, const size_t *lens,
                    size_t n, jl_relay_counts_fn done, void *ud)
{
    if (r->ops->numsub == NULL)
        return -ENOTSUP;
    return r->ops->numsub(r, ns, names, lens, n, done, ud);
}

void jl_relay_progress(jl_relay_t *r)
{
    if (r->on_ready)
        r->on_ready(r->ready_ud);
}

void jl_relay_gap(jl_relay_t *r)
{
    if (r->on_gap)
        r->on_gap(r->ready_ud);
}

void jl_relay_on_ready(jl_relay_t *r, jl_relay_ready_fn ready, jl_relay_gap_fn gap, void *ud)
{
    r->on_ready = ready;
    r->on_gap = gap;
    r->ready_ud = ud;
}
