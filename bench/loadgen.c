/* loadgen.c -- pub/sub load generator for jugglite, Redis and Nchan.
 *
 * Why this exists: the comparison in bench/compare needs one client that can
 * hold tens of thousands of subscribers (SSE over HTTP, or RESP SUBSCRIBE),
 * publish stamped messages at a set rate or flat out, and say exactly what
 * arrived, how late, and what it cost the server. redis-benchmark cannot
 * subscribe and curl cannot hold 100,000 streams, hence this file.
 *
 * Shape: the parent process is the controller and the publisher; it forks
 * --procs worker processes that each own a slice of the subscribers (every
 * process is capped by RLIMIT_NOFILE, 20,000 fds here). Workers report over a
 * pipe twice: READY (all their subscribers registered or failed) and FINAL
 * (every registered subscriber got every message, or the parent said quit).
 * All clocks are CLOCK_MONOTONIC, shared by the processes, so a payload's
 * send stamp "t=<ns> s=<seq> xxxx..." gives the latency wherever it lands.
 * For history resumes (--last-event-id, --replay) the streams are owed the
 * events a previous run published; the stamps' sequence numbers, carried in
 * the replayed frames, make the same once-and-in-order check possible.
 *
 * Invariants: no allocation per event; one shared read buffer per process;
 * a subscriber costs one lg_conn_t (96 bytes) plus its socket; every parser
 * is an incremental byte-state machine, so events may split anywhere across
 * reads. Every phase has a deadline; the exit status is 0 only if every
 * expected event arrived once and in order. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_PORTS 64
#define LG_MAX_PIDS 64
#define LG_MAX_PROCS 64
#define LG_READ_BUF (256 * 1024)
#define LG_FD_RESERVE 32          /* fds a process keeps for pipes, stdio, publisher */
#define LG_CONNS_PER_SRC 8000     /* default source-address spread: the kernel's
                                   * port search slows sharply as one source
                                   * address fills (100k conns: 41 s at 4
                                   * addresses, 5 s at 12) */
#define LG_MIN_SIZE 40            /* room for "t=<20 digits> s=<10 digits> " */

/* ------------------------------------------------------------------ time */

static uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* -------------------------------------------------------------- histogram */

/* Log-linear latency histogram in ns: values < 64 are exact, above that each
 * power of two is split into 32 buckets (~3% wide). Fixed size, mergeable. */
#define LG_HIST_SUB_BITS 5
#define LG_HIST_SUB (1u << LG_HIST_SUB_BITS)
#define LG_HIST_BUCKETS ((64 - LG_HIST_SUB_BITS) * LG_HIST_SUB + LG_HIST_SUB)

typedef struct lg_hist {
    uint64_t count;
    uint64_t max;
    uint64_t sum;
    uint64_t b[LG_HIST_BUCKETS];
} lg_hist_t;

static unsigned hist_index(uint64_t v)
{
    if (v < 2 * LG_HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - LG_HIST_SUB_BITS;
    return shift * LG_HIST_SUB + (unsigned)(v >> shift);
}

static uint64_t hist_value(unsigned idx)   /* bucket midpoint */
{
    if (idx < 2 * LG_HIST_SUB)
        return idx;
    unsigned shift = idx / LG_HIST_SUB - 1;
    uint64_t low = (uint64_t)(idx - shift * LG_HIST_SUB) << shift;
    return low + ((1ull << shift) >> 1);
}

static inline void hist_add(lg_hist_t *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

static void hist_merge(lg_hist_t *dst, const lg_hist_t *src)
{
    for (unsigned i = 0; i < LG_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

static uint64_t hist_pct(const lg_hist_t *h, double pct)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* ----------------------------------------------------------------- /proc */

/* Sum of VmRSS over pids, in KiB; 0 when unknown. */
static uint64_t proc_rss_kb(const int *pids, int n)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", pids[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "VmRSS:", 6))
                total += strtoull(line + 6, NULL, 10);
        fclose(f);
    }
    return total;
}

/* Sum of utime+stime over pids, in microseconds (clock-tick resolution). */
static uint64_t proc_cpu_us(const int *pids, int n)
{
    uint64_t ticks = 0;
    for (int i = 0; i < n; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                        &ut, &st) == 2)
            ticks += ut + st;
    }
    long hz = sysconf(_SC_CLK_TCK);
    return ticks * 1000000u / (uint64_t)(hz > 0 ? hz : 100);
}

/* Sum of on-CPU ns over every thread of pids (/proc/PID/task/TID/schedstat):
 * a nanosecond-resolution companion to proc_cpu_us. 0 when unavailable. */
static uint64_t proc_sched_ns(const int *pids, int n)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        char path[96];
        snprintf(path, sizeof path, "/proc/%d/task", pids[i]);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "/proc/%d/task/%.20s/schedstat", pids[i], e->d_name);
            FILE *f = fopen(path, "r");
            unsigned long long ns = 0;
            if (f && fscanf(f, "%llu", &ns) == 1)
                total += ns;
            if (f)
                fclose(f);
        }
        if (d)
            closedir(d);
    }
    return total;
}

/* --------------------------------------------------------------- options */

enum { LG_SSE = 0, LG_RESP = 1 };

typedef struct lg_opts {
    uint32_t n_sse, n_resp;
    char host[64];
    struct in_addr addr;
    int sse_ports[LG_MAX_PORTS], n_sse_ports;
    int resp_ports[LG_MAX_PORTS], n_resp_ports;
    char path[512];
    char channel[128];
    int src_addrs;
    double connect_rate;
    uint32_t max_pending;
    double connect_timeout;
    int procs;
    uint64_t publish;
    double rate;
    size_t size;
    int pub_port;
    char pub_host[64];
    struct in_addr pub_addr;
    int pub_proto;
    char pub_path[512];
    char pub_token[256];
    uint32_t window;
    double hold, settle, timeout;
    int pids[LG_MAX_PIDS], n_pids;
    int quiet;
    double ping_every;          /* ms between PINGs of the bystander client, 0 = none */
    int ping_port;
    char last_event_id[128];    /* SSE: sent as Last-Event-ID when set */
    uint32_t replay;            /* SSE: events each stream is owed before live ones */
    uint64_t seq_base;          /* sequence number of the first message published */
    int64_t capture_seq;        /* report the SSE id of this sequence number, -1 = no */
    int tls;                    /* SSE over TLS (HTTP/1.1 by ALPN); no verification */
} lg_opts_t;

static void usage(FILE *f)
{
    fprintf(f,
"usage: loadgen [subscribers] [publisher] [options]\n"
"subscribers:\n"
"  --sse N               open N SSE streams (GET --path, Accept: text/event-stream)\n"
"  --resp-subs N         open N RESP connections that SUBSCRIBE --channel\n"
"  --url-host ADDR       server IPv4 address (default 127.0.0.1)\n"
"  --port P[,P...]       subscriber port(s); connections go round-robin\n"
"  --sse-port / --resp-port P[,P...]  per-protocol override of --port\n"
"  --path PATH           SSE path (default /stream?channel=<channel>)\n"
"  --channel NAME        channel (default bench)\n"
"  --src-addrs K         bind sources over 127.0.0.1..127.0.0.K (default ceil(N/8000))\n"
"  --connect-rate R      new connections per second, all processes (default 20000)\n"
"  --max-pending N       connects in flight, all processes (default 1000)\n"
"  --connect-timeout S   per connection, until registered (default 15)\n"
"  --procs P             worker processes (default: enough for RLIMIT_NOFILE)\n"
"  --tls                 SSE streams over TLS (ALPN http/1.1, certificate not checked:\n"
"                        a benchmark, not a client to trust)\n"
"publisher:\n"
"  --publish M           messages to publish (default 0)\n"
"  --rate R              messages per second, 0 = flat out (default 0)\n"
"  --size S              payload bytes, >= %d (default 64)\n"
"  --pub-port P          publisher port (default: first subscriber port)\n"
"  --pub-host ADDR       publisher address (default --url-host)\n"
"  --pub-proto resp|http PUBLISH over RESP, or HTTP POST --pub-path (default resp)\n"
"  --pub-path PATH       default /publish?channel=<channel>\n"
"  --pub-token T         HTTP: send 'Authorization: Bearer T'\n"
"  --window W            requests in flight (default 64)\n"
"  --seq-base B          stamp the published messages B, B+1, ... (default 0)\n"
"resume (SSE):\n"
"  --last-event-id ID    send 'Last-Event-ID: ID' with every SSE request\n"
"  --replay K            each SSE stream is owed the K events stamped B-K .. B-1\n"
"                        (B = --seq-base) before the live ones: checked once and in\n"
"                        order; reports the storm (first connect to last stream caught\n"
"                        up, storm_s), replay_eps and per-stream catch-up times; the\n"
"                        server CPU then counts from the first connect\n"
"  --capture-id S        report the SSE id: of the event stamped S (id_at=, first stream)\n"
"bystander:\n"
"  --ping-every MS       an unrelated RESP client sends PING every MS ms during the\n"
"                        publish phase, without waiting for replies (no coordinated\n"
"                        omission); reports the round trips (ping_p50_us ...)\n"
"  --ping-port P         its port (default --pub-port)\n"
"run:\n"
"  --hold S              hold connections idle S seconds before publishing\n"
"  --settle S            pause after registration before publishing (default 0.2)\n"
"  --timeout S           bound of the connect phase and of the delivery phase (60)\n"
"  --server-pid PID[,..] read RSS and CPU of these server processes\n"
"  --quiet               no progress on stderr\n"
"  --free-ports K        print K free loopback TCP ports and exit\n"
"Prints a report and a last line 'RESULT key=value ...'. Exit 0 only when every\n"
"expected event arrived exactly once, in order, and every connection succeeded.\n",
        LG_MIN_SIZE);
}

static int parse_int_list(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 65535)
            return -1;
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

static int parse_addr(const char *s, char *dst, size_t cap, struct in_addr *a)
{
    if (strlen(s) >= cap || inet_pton(AF_INET, s, a) != 1)
        return -1;
    strcpy(dst, s);
    return 0;
}

static void opts_defaults(lg_opts_t *o)
{
    memset(o, 0, sizeof *o);
    strcpy(o->host, "127.0.0.1");
    inet_pton(AF_INET, o->host, &o->addr);
    strcpy(o->channel, "bench");
    o->connect_rate = 20000;
    o->max_pending = 1000;
    o->connect_timeout = 15;
    o->size = 64;
    o->pub_proto = LG_RESP;
    o->window = 64;
    o->settle = 0.2;
    o->timeout = 60;
    o->capture_seq = -1;
}

enum {
    OPT_SSE = 256, OPT_RESP_SUBS, OPT_HOST, OPT_PORT, OPT_SSE_PORT, OPT_RESP_PORT, OPT_PATH,
    OPT_CHANNEL, OPT_SRC, OPT_CRATE, OPT_PENDING, OPT_CTIMEOUT, OPT_PROCS, OPT_PUBLISH, OPT_RATE,
    OPT_SIZE, OPT_PUB_PORT, OPT_PUB_HOST, OPT_PUB_PROTO, OPT_PUB_PATH, OPT_PUB_TOKEN, OPT_WINDOW,
    OPT_HOLD, OPT_SETTLE, OPT_TIMEOUT, OPT_PID, OPT_QUIET, OPT_HELP, OPT_FREE_PORTS,
    OPT_PING_EVERY, OPT_PING_PORT, OPT_LAST_ID, OPT_REPLAY, OPT_SEQ_BASE, OPT_CAPTURE, OPT_TLS
};

static const struct option LG_LONGOPTS[] = {
    {"sse", 1, 0, OPT_SSE}, {"resp-subs", 1, 0, OPT_RESP_SUBS},
    {"url-host", 1, 0, OPT_HOST}, {"host", 1, 0, OPT_HOST}, {"port", 1, 0, OPT_PORT},
    {"sse-port", 1, 0, OPT_SSE_PORT}, {"resp-port", 1, 0, OPT_RESP_PORT},
    {"path", 1, 0, OPT_PATH}, {"channel", 1, 0, OPT_CHANNEL},
    {"src-addrs", 1, 0, OPT_SRC}, {"connect-rate", 1, 0, OPT_CRATE},
    {"max-pending", 1, 0, OPT_PENDING}, {"connect-timeout", 1, 0, OPT_CTIMEOUT},
    {"procs", 1, 0, OPT_PROCS}, {"publish", 1, 0, OPT_PUBLISH}, {"rate", 1, 0, OPT_RATE},
    {"size", 1, 0, OPT_SIZE}, {"pub-port", 1, 0, OPT_PUB_PORT},
    {"pub-host", 1, 0, OPT_PUB_HOST}, {"pub-proto", 1, 0, OPT_PUB_PROTO},
    {"pub-path", 1, 0, OPT_PUB_PATH}, {"pub-token", 1, 0, OPT_PUB_TOKEN},
    {"window", 1, 0, OPT_WINDOW}, {"hold", 1, 0, OPT_HOLD}, {"settle", 1, 0, OPT_SETTLE},
    {"timeout", 1, 0, OPT_TIMEOUT}, {"server-pid", 1, 0, OPT_PID},
    {"quiet", 0, 0, OPT_QUIET}, {"help", 0, 0, OPT_HELP},
    {"free-ports", 1, 0, OPT_FREE_PORTS}, {"ping-every", 1, 0, OPT_PING_EVERY},
    {"ping-port", 1, 0, OPT_PING_PORT}, {"last-event-id", 1, 0, OPT_LAST_ID},
    {"replay", 1, 0, OPT_REPLAY}, {"seq-base", 1, 0, OPT_SEQ_BASE},
    {"capture-id", 1, 0, OPT_CAPTURE}, {"tls", 0, 0, OPT_TLS}, {0, 0, 0, 0}
};

static int copy_str(char *dst, size_t cap, const char *s)
{
    if (strlen(s) >= cap)
        return -1;
    strcpy(dst, s);
    return 0;
}

/* --free-ports K: prints K distinct free TCP ports on 127.0.0.1 (for scripts
 * that start servers) and exits. All K are held open together while chosen. */
static void print_free_ports(int k)
{
    int fds[64];
    if (k < 1 || k > 64)
        exit(2);
    for (int i = 0; i < k; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof a) < 0
            || getsockname(fds[i], (struct sockaddr *)&a, &len) < 0)
            exit(3);
        printf("%s%u", i ? " " : "", ntohs(a.sin_port));
    }
    printf("\n");
    exit(0);
}

/* Applies one option; returns 0, or -1 with a message on stderr. */
static int opt_apply(lg_opts_t *o, int c, const char *v, int *ports, int *nports)
{
    int bad = 0;
    switch (c) {
    case OPT_SSE: o->n_sse = (uint32_t)strtoul(v, NULL, 10); break;
    case OPT_RESP_SUBS: o->n_resp = (uint32_t)strtoul(v, NULL, 10); break;
    case OPT_HOST: bad = parse_addr(v, o->host, sizeof o->host, &o->addr); break;
    case OPT_PORT: bad = (*nports = parse_int_list(v, ports, LG_MAX_PORTS)) <= 0; break;
    case OPT_SSE_PORT:
        bad = (o->n_sse_ports = parse_int_list(v, o->sse_ports, LG_MAX_PORTS)) <= 0; break;
    case OPT_RESP_PORT:
        bad = (o->n_resp_ports = parse_int_list(v, o->resp_ports, LG_MAX_PORTS)) <= 0; break;
    case OPT_PATH: bad = copy_str(o->path, sizeof o->path, v); break;
    case OPT_CHANNEL: bad = copy_str(o->channel, sizeof o->channel, v) || !*v; break;
    case OPT_SRC: o->src_addrs = atoi(v); bad = o->src_addrs < 1 || o->src_addrs > 254; break;
    case OPT_CRATE: o->connect_rate = atof(v); bad = o->connect_rate <= 0; break;
    case OPT_PENDING: o->max_pending = (uint32_t)atoi(v); bad = o->max_pending < 1; break;
    case OPT_CTIMEOUT: o->connect_timeout = atof(v); bad = o->connect_timeout <= 0; break;
    case OPT_PROCS: o->procs = atoi(v); bad = o->procs < 1 || o->procs > LG_MAX_PROCS; break;
    case OPT_PUBLISH: o->publish = strtoull(v, NULL, 10); break;
    case OPT_RATE: o->rate = atof(v); bad = o->rate < 0; break;
    case OPT_SIZE: o->size = strtoul(v, NULL, 10); bad = o->size < LG_MIN_SIZE || o->size > (64u << 20); break;
    case OPT_PUB_PORT: o->pub_port = atoi(v); bad = o->pub_port <= 0 || o->pub_port > 65535; break;
    case OPT_PUB_HOST: bad = parse_addr(v, o->pub_host, sizeof o->pub_host, &o->pub_addr); break;
    case OPT_PUB_PROTO:
        if (!strcmp(v, "resp")) o->pub_proto = LG_RESP;
        else if (!strcmp(v, "http")) o->pub_proto = LG_SSE;
        else bad = 1;
        break;
    case OPT_PUB_PATH: bad = copy_str(o->pub_path, sizeof o->pub_path, v); break;
    case OPT_PUB_TOKEN: bad = copy_str(o->pub_token, sizeof o->pub_token, v); break;
    case OPT_WINDOW: o->window = (uint32_t)atoi(v); bad = o->window < 1 || o->window > 100000; break;
    case OPT_HOLD: o->hold = atof(v); bad = o->hold < 0; break;
    case OPT_SETTLE: o->settle = atof(v); bad = o->settle < 0; break;
    case OPT_TIMEOUT: o->timeout = atof(v); bad = o->timeout <= 0; break;
    case OPT_PID: bad = (o->n_pids = parse_int_list(v, o->pids, LG_MAX_PIDS)) <= 0; break;
    case OPT_QUIET: o->quiet = 1; break;
    case OPT_HELP: usage(stdout); exit(0);
    case OPT_FREE_PORTS: print_free_ports(atoi(v)); break;
    case OPT_PING_EVERY: o->ping_every = atof(v); bad = o->ping_every < 0.1; break;
    case OPT_PING_PORT: o->ping_port = atoi(v); bad = o->ping_port <= 0 || o->ping_port > 65535; break;
    case OPT_LAST_ID:   /* a header value: no CR, LF or NUL */
        bad = copy_str(o->last_event_id, sizeof o->last_event_id, v) || !*v || strpbrk(v, "\r\n");
        break;
    case OPT_REPLAY: o->replay = (uint32_t)strtoul(v, NULL, 10); break;
    case OPT_SEQ_BASE: o->seq_base = strtoull(v, NULL, 10); break;
    case OPT_CAPTURE: o->capture_seq = strtoll(v, NULL, 10); bad = o->capture_seq < 0; break;
    case OPT_TLS: o->tls = 1; break;
    default: return -1;
    }
    return bad ? -1 : 0;
}

/* Fills defaults that depend on other options; returns -1 on a usage error. */
static int opts_finish(lg_opts_t *o, const int *ports, int nports)
{
    if (!o->n_sse_ports) {
        memcpy(o->sse_ports, ports, sizeof(int) * (size_t)nports);
        o->n_sse_ports = nports;
    }
    if (!o->n_resp_ports) {
        memcpy(o->resp_ports, ports, sizeof(int) * (size_t)nports);
        o->n_resp_ports = nports;
    }
    if ((o->n_sse && !o->n_sse_ports) || (o->n_resp && !o->n_resp_ports)) {
        fprintf(stderr, "loadgen: subscribers need --port\n");
        return -1;
    }
    if (!o->path[0])
        snprintf(o->path, sizeof o->path, "/stream?channel=%s", o->channel);
    if (!o->pub_path[0])
        snprintf(o->pub_path, sizeof o->pub_path, "/publish?channel=%s", o->channel);
    if (!o->pub_host[0]) {
        strcpy(o->pub_host, o->host);
        o->pub_addr = o->addr;
    }
    if (!o->pub_port)
        o->pub_port = nports ? ports[0] : 0;
    if (!o->ping_port)
        o->ping_port = o->pub_port;
    if (o->ping_every > 0 && (!o->ping_port || !o->publish)) {
        fprintf(stderr, "loadgen: --ping-every needs --publish and a port\n");
        return -1;
    }
    if (o->publish && !o->pub_port) {
        fprintf(stderr, "loadgen: --publish needs --pub-port or --port\n");
        return -1;
    }
    if (o->replay && !o->n_sse) {
        fprintf(stderr, "loadgen: --replay needs --sse\n");
        return -1;
    }
    if (o->replay > o->seq_base) {
        fprintf(stderr, "loadgen: --replay K owes the events stamped B-K .. B-1: give --seq-base B >= K\n");
        return -1;
    }
    if (!o->n_sse && !o->n_resp && !o->publish) {
        fprintf(stderr, "loadgen: nothing to do (give --sse, --resp-subs or --publish)\n");
        return -1;
    }
    uint64_t n = (uint64_t)o->n_sse + o->n_resp;
    if (!o->src_addrs)
        o->src_addrs = (int)((n + LG_CONNS_PER_SRC - 1) / LG_CONNS_PER_SRC);
    if (o->src_addrs < 1)
        o->src_addrs = 1;
    if (o->src_addrs > 254) {
        fprintf(stderr, "loadgen: needs more than 254 source addresses\n");
        return -1;
    }
    return 0;
}

static int opts_parse(lg_opts_t *o, int argc, char **argv)
{
    int ports[LG_MAX_PORTS], nports = 0, c;
    opts_defaults(o);
    while ((c = getopt_long(argc, argv, "h", LG_LONGOPTS, NULL)) != -1) {
        if (c == 'h')
            c = OPT_HELP;
        if (c == '?') {
            usage(stderr);
            return -1;
        }
        if (opt_apply(o, c, optarg, ports, &nports) < 0) {
            fprintf(stderr, "loadgen: bad value '%s' for %s\n", optarg ? optarg : "",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return opts_finish(o, ports, nports);
}

/* ---------------------------------------------------------------- reports */

enum { LG_REP_READY = 1, LG_REP_FINAL = 2 };

/* What a worker tells the parent; the parent sums them. */
typedef struct lg_stats {
    uint32_t kind;
    uint32_t proc;
    uint64_t wanted;          /* subscribers this process was asked to open */
    uint64_t registered;      /* subscription confirmed / stream started */
    uint64_t failed;          /* never registered */
    uint64_t fail_connect, fail_timeout, fail_status, fail_closed, fail_proto;
    uint64_t dropped;         /* closed by the server after registering */
    uint64_t delivered;       /* stamped events received */
    uint64_t foreign;         /* events without our stamp */
    uint64_t gaps, dups, ooo; /* sequence anomalies, summed over subscribers */
    uint64_t subs_incomplete; /* registered subscribers with fewer than M events */
    uint64_t first_ns, last_ns, ready_ns;
    uint64_t conn0_ns;        /* --replay: the first connect started */
    uint64_t replay_done_ns;  /* --replay: the last stream got its K-th event */
    uint64_t subs_replayed;   /* --replay: streams that got all K */
    char first_error[120];
    char id_at[64];           /* --capture-id: the id: of that event, "" if unseen */
    lg_hist_t hist;
    lg_hist_t catchup;        /* --replay: per stream, connect start -> K-th event */
} lg_stats_t;

static int write_full(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static int read_full(int fd, void *p, size_t n)
{
    char *s = p;
    while (n) {
        ssize_t k = read(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static void stats_merge(lg_stats_t *d, const lg_stats_t *s)
{
    d->wanted += s->wanted;
    d->registered += s->registered;
    d->failed += s->failed;
    d->fail_connect += s->fail_connect;
    d->fail_timeout += s->fail_timeout;
    d->fail_status += s->fail_status;
    d->fail_closed += s->fail_closed;
    d->fail_proto += s->fail_proto;
    d->dropped += s->dropped;
    d->delivered += s->delivered;
    d->foreign += s->foreign;
    d->gaps += s->gaps;
    d->dups += s->dups;
    d->ooo += s->ooo;
    d->subs_incomplete += s->subs_incomplete;
    if (s->first_ns && (!d->first_ns || s->first_ns < d->first_ns))
        d->first_ns = s->first_ns;
    if (s->last_ns > d->last_ns)
        d->last_ns = s->last_ns;
    if (s->ready_ns > d->ready_ns)
        d->ready_ns = s->ready_ns;
    if (s->conn0_ns && (!d->conn0_ns || s->conn0_ns < d->conn0_ns))
        d->conn0_ns = s->conn0_ns;
    if (s->replay_done_ns > d->replay_done_ns)
        d->replay_done_ns = s->replay_done_ns;
    d->subs_replayed += s->subs_replayed;
    if (!d->first_error[0] && s->first_error[0])
        memcpy(d->first_error, s->first_error, sizeof d->first_error);
    if (!d->id_at[0] && s->id_at[0])
        memcpy(d->id_at, s->id_at, sizeof d->id_at);
    hist_merge(&d->hist, &s->hist);
    hist_merge(&d->catchup, &s->catchup);
}

/* ------------------------------------------------------------ subscribers */

enum { PH_IDLE, PH_CONNECTING, PH_HEAD, PH_STREAM, PH_CLOSED };
enum { F_REG = 1, F_CHUNKED = 2, F_HASDATA = 4, F_NEG = 8, F_IDCAP = 16 };

/* Payload stamp parser: "t=<digits> s=<digits> " at the start of a value. */
enum { T_T, T_EQ1, T_TD, T_S, T_EQ2, T_SD, T_OK, T_BAD };

typedef struct lg_stamp {
    uint64_t t;
    uint32_t s;
    uint8_t st, nd;
} lg_stamp_t;

static inline void stamp_reset(lg_stamp_t *p)
{
    p->t = 0;
    p->s = 0;
    p->st = T_T;
    p->nd = 0;
}

static inline int stamp_busy(const lg_stamp_t *p)
{
    return p->st < T_OK;
}

static inline void stamp_feed(lg_stamp_t *p, unsigned ch)
{
    unsigned d = ch - '0';
    switch (p->st) {
    case T_T: p->st = ch == 't' ? T_EQ1 : T_BAD; break;
    case T_EQ1: p->st = ch == '=' ? T_TD : T_BAD; break;
    case T_TD:
        if (d < 10 && p->nd < 20) { p->t = p->t * 10 + d; p->nd++; }
        else p->st = (ch == ' ' && p->nd) ? T_S : T_BAD;
        break;
    case T_S: p->st = ch == 's' ? T_EQ2 : T_BAD; p->nd = 0; break;
    case T_EQ2: p->st = ch == '=' ? T_SD : T_BAD; break;
    case T_SD:
        if (d < 10 && p->nd < 10) { p->s = p->s * 10 + d; p->nd++; }
        else p->st = (ch == ' ' && p->nd) ? T_OK : T_BAD;
        break;
    default: break;
    }
}

static inline void stamp_end(lg_stamp_t *p)
{
    if (p->st == T_SD && p->nd)
        p->st = T_OK;
    else if (p->st != T_OK)
        p->st = T_BAD;
}

/* One subscriber. io must stay first: callbacks cast the watcher back. */
typedef struct lg_conn {
    ev_io io;                 /* io.data points at the worker */
    uint32_t next_seq;        /* sequence number expected next */
    uint32_t got;             /* stamped events received */
    uint32_t t_start_ms;      /* connect start, ms since worker start */
    uint8_t proto, phase;
    uint8_t ps;               /* stream parser state (SSE line / RESP) */
    uint8_t hs;               /* HTTP head / chunk state; RESP value type */
    uint8_t idx;              /* name-match index */
    uint8_t flags;
    uint8_t kind;             /* RESP: first byte of the frame's first element */
    uint8_t elem, elems_left; /* RESP: position in the current array */
    uint16_t code;            /* HTTP status */
    int64_t num;              /* number being parsed / bytes left in bulk or chunk */
    lg_stamp_t stamp;
} lg_conn_t;

_Static_assert(sizeof(lg_conn_t) <= 128, "a subscriber must stay small");

typedef struct lg_worker {
    struct ev_loop *loop;
    const lg_opts_t *o;
    int id;
    lg_conn_t *conns;
    uint32_t lo, n;           /* conns[i] is subscriber number lo + i */
    uint32_t next;            /* next local index to connect */
    uint32_t pending;         /* started, neither registered nor failed */
    uint32_t max_pending;
    double rate;              /* this process's share of --connect-rate */
    double t0;                /* ev_now at start */
    uint64_t remaining;       /* events still due to registered subscribers */
    int ready_sent, final_sent;
    int report_fd;
    ev_timer tick;
    ev_io ctl;
    unsigned char *buf;
    uint64_t *start_ns;       /* --replay: per subscriber, when its connect began */
    char id_buf[64];          /* --capture-id: the id: value of the capturing stream */
    size_t id_len;
    char *req[2][LG_MAX_PORTS];
    size_t req_len[2][LG_MAX_PORTS];
    SSL_CTX *tls;             /* --tls: one context for the process */
    SSL **ssl;                /* --tls: per subscriber (kept out of lg_conn_t) */
    lg_stats_t st;
} lg_worker_t;

static void worker_report(lg_worker_t *w, uint32_t kind);
static void worker_check_ready(lg_worker_t *w);

/* Events one subscriber is owed: the replayed ones (SSE), then the published. */
static inline uint32_t conn_due(const lg_worker_t *w, const lg_conn_t *c)
{
    return (uint32_t)w->o->publish + (c->proto == LG_SSE ? w->o->replay : 0);
}

static void worker_error(lg_worker_t *w, const char *what, int err)
{
    if (w->st.first_error[0])
        return;
    if (err)
        snprintf(w->st.first_error, sizeof w->st.first_error, "%s: %s", what, strerror(err));
    else
        snprintf(w->st.first_error, sizeof w->st.first_error, "%s", what);
}

static SSL **conn_ssl(lg_worker_t *w, lg_conn_t *c)
{
    return w->ssl ? &w->ssl[c - w->conns] : NULL;
}

static void conn_close(lg_worker_t *w, lg_conn_t *c)
{
    SSL **ssl = conn_ssl(w, c);
    if (ssl && *ssl) {
        SSL_free(*ssl);
        *ssl = NULL;
    }
    ev_io_stop(w->loop, &c->io);
    close(c->io.fd);
    c->phase = PH_CLOSED;
}

/* Counts a lost connection: a failure before registration, a drop after. */
static void conn_lost(lg_worker_t *w, lg_conn_t *c, uint64_t *why, const char *what, int err)
{
    if (c->phase == PH_CLOSED)
        return;
    if (c->flags & F_REG) {
        w->st.dropped++;
        uint32_t m = conn_due(w, c);
        if (w->ready_sent && c->got < m && w->remaining) {
            uint64_t owed = m - c->got;
            w->remaining = owed > w->remaining ? 0 : w->remaining - owed;
            if (!w->remaining && !w->final_sent)
                worker_report(w, LG_REP_FINAL);
        }
        worker_error(w, what, err);
        conn_close(w, c);
        return;
    }
    w->st.failed++;
    (*why)++;
    w->pending--;
    worker_error(w, what, err);
    conn_close(w, c);
    worker_check_ready(w);
}

static void conn_registered(lg_worker_t *w, lg_conn_t *c)
{
    c->flags |= F_REG;
    w->st.registered++;
    w->pending--;
    worker_check_ready(w);
}

/* A complete event arrived on c at time now (ns). */
static void conn_event(lg_worker_t *w, lg_conn_t *c, uint64_t now)
{
    lg_stamp_t *s = &c->stamp;
    if (s->st != T_OK) {
        w->st.foreign++;
        return;
    }
    uint32_t replay = c->proto == LG_SSE ? w->o->replay : 0;
    if (c->got >= replay)     /* a replayed event's stamp is from the first run */
        hist_add(&w->st.hist, now > s->t ? now - s->t : 0);
    if ((c->flags & F_IDCAP) && (int64_t)s->s == w->o->capture_seq && !w->st.id_at[0])
        memcpy(w->st.id_at, w->id_buf, w->id_len + 1);
    w->st.delivered++;
    if (!w->st.first_ns)
        w->st.first_ns = now;
    w->st.last_ns = now;
    if (s->s == c->next_seq) {
        c->next_seq++;
    } else if (s->s > c->next_seq) {
        w->st.gaps += s->s - c->next_seq;
        c->next_seq = s->s + 1;
    } else if (s->s + 1 == c->next_seq) {
        w->st.dups++;
    } else {
        w->st.ooo++;
    }
    c->got++;
    if (replay && c->got == replay) {
        uint64_t t0 = w->start_ns[c - w->conns];
        w->st.subs_replayed++;
        if (now > w->st.replay_done_ns)
            w->st.replay_done_ns = now;
        hist_add(&w->st.catchup, now > t0 ? now - t0 : 0);
    }
    if (c->got <= conn_due(w, c) && w->remaining && --w->remaining == 0 && !w->final_sent)
        worker_report(w, LG_REP_FINAL);
}

/* -- SSE: an incremental line parser (LF or CRLF line ends) -------------- */

enum { S_BOL, S_BOL_CR, S_FIELD, S_DATA_SP, S_DATA_VAL, S_SKIP, S_ID_SP, S_ID_VAL };

/* Field-name matcher states in idx: 0..4 = a prefix of "data", 0x10/0x11 = of "id". */
enum { FN_DATA = 4, FN_I = 0x10, FN_ID = 0x11, FN_OTHER = 0xff };

static inline void sse_dispatch(lg_worker_t *w, lg_conn_t *c, uint64_t now)
{
    if (c->flags & F_HASDATA) {
        c->flags &= (uint8_t)~F_HASDATA;
        conn_event(w, c, now);
    }
}

/* The field name ended at ':' (colon = 1) or at the end of the line. */
static inline void sse_field_end(lg_worker_t *w, lg_conn_t *c, int colon)
{
    int is_data = c->idx == FN_DATA;
    if (c->idx == FN_ID && (c->flags & F_IDCAP)) {
        w->id_len = 0;
        w->id_buf[0] = 0;
        c->ps = colon ? S_ID_SP : S_SKIP;
    } else if (is_data && !(c->flags & F_HASDATA)) {
        c->flags |= F_HASDATA;
        stamp_reset(&c->stamp);
        if (!colon)
            stamp_end(&c->stamp);
        c->ps = colon ? S_DATA_SP : S_SKIP;
    } else {
        c->ps = S_SKIP;
    }
}

static void sse_feed(lg_worker_t *w, lg_conn_t *c, const unsigned char *p, size_t n, uint64_t now)
{
    const unsigned char *end = p + n;
    if (!(c->flags & F_REG) && n)
        conn_registered(w, c);    /* any body byte: nchan ": hi", jugglite ": registered" */
    while (p < end) {
        switch (c->ps) {
        case S_SKIP: {
            const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                return;
            p = nl + 1;
            c->ps = S_BOL;
            break;
        }
        case S_BOL:
            if (*p == '\n') { p++; sse_dispatch(w, c, now); }
            else if (*p == '\r') { p++; c->ps = S_BOL_CR; }
            else if (*p == ':') { p++; c->ps = S_SKIP; }
            else { c->idx = 0; c->ps = S_FIELD; }
            break;
        case S_BOL_CR:
            if (*p == '\n')
                p++;
            sse_dispatch(w, c, now);
            c->ps = S_BOL;
            break;
        case S_FIELD: {
            unsigned ch = *p++;
            if (ch == ':')
                sse_field_end(w, c, 1);
            else if (ch == '\n' || ch == '\r') {
                sse_field_end(w, c, 0);
                c->ps = ch == '\n' ? S_BOL : S_SKIP;
            } else if (c->idx < FN_DATA && ch == (unsigned char)"data"[c->idx])
                c->idx++;
            else if (c->idx == 0 && ch == 'i')
                c->idx = FN_I;
            else if (c->idx == FN_I && ch == 'd')
                c->idx = FN_ID;
            else
                c->idx = FN_OTHER;
            break;
        }
        case S_ID_VAL: {
            unsigned ch = *p++;
            if (ch == '\n' || ch == '\r')
                c->ps = ch == '\n' ? S_BOL : S_SKIP;
            else if (w->id_len < sizeof w->id_buf - 1) {
                w->id_buf[w->id_len++] = (char)ch;
                w->id_buf[w->id_len] = 0;
            }
            break;
        }
        case S_DATA_SP:
        case S_ID_SP:             /* the one optional space after "field:" */
            if (*p == ' ')
                p++;
            c->ps = c->ps == S_ID_SP ? S_ID_VAL : S_DATA_VAL;
            break;
        case S_DATA_VAL: {
            unsigned ch = *p++;
            if (ch == '\n' || ch == '\r') {
                stamp_end(&c->stamp);
                c->ps = ch == '\n' ? S_BOL : S_SKIP;
            } else {
                stamp_feed(&c->stamp, ch);
                if (!stamp_busy(&c->stamp))
                    c->ps = S_SKIP;
            }
            break;
        }
        }
    }
}

/* -- HTTP response head and chunked decoding ----------------------------- */

enum { H_VER, H_CODE, H_REST, H_BOL, H_NAME, H_TEVAL, H_SKIP, H_END };
enum { C_SIZE, C_EXT, C_DATA, C_CRLF, C_DONE };

static inline unsigned lower(unsigned ch)
{
    return ch - 'A' < 26 ? ch + 32 : ch;
}

/* Returns bytes consumed once the head is complete, 0 if all of p was
 * consumed and more is needed, -1 if the head is malformed. */
static long head_feed(lg_conn_t *c, const unsigned char *p, size_t n)
{
    static const char te[] = "transfer-encoding", ch_[] = "chunked";
    for (size_t i = 0; i < n; i++) {
        unsigned ch = lower(p[i]);
        switch (c->hs) {
        case H_VER: if (ch == ' ') c->hs = H_CODE; else if (ch == '\n') return -1; break;
        case H_CODE:
            if (ch - '0' < 10 && c->code < 1000) c->code = (uint16_t)(c->code * 10 + ch - '0');
            else c->hs = ch == '\n' ? H_BOL : H_REST;
            break;
        case H_REST: if (ch == '\n') c->hs = H_BOL; break;
        case H_BOL:
            if (ch == '\r') c->hs = H_END;
            else if (ch == '\n') return (long)i + 1;
            else { c->idx = ch == (unsigned char)te[0] ? 1 : 0xff; c->hs = H_NAME; }
            break;
        case H_NAME:
            if (ch == ':') { c->hs = c->idx == sizeof te - 1 ? H_TEVAL : H_SKIP; c->idx = 0; }
            else if (ch == '\n') c->hs = H_BOL;
            else if (c->idx < sizeof te - 1 && ch == (unsigned char)te[c->idx]) c->idx++;
            else c->idx = 0xff;
            break;
        case H_TEVAL:
            if (ch == '\n') c->hs = H_BOL;
            else if (ch == (unsigned char)ch_[c->idx]) {
                if (++c->idx == sizeof ch_ - 1) { c->flags |= F_CHUNKED; c->hs = H_SKIP; }
            } else c->idx = ch == 'c';
            break;
        case H_SKIP: if (ch == '\n') c->hs = H_BOL; break;
        case H_END: if (ch == '\n') return (long)i + 1; return -1;
        }
    }
    return 0;
}

static inline int hexval(unsigned ch)
{
    if (ch - '0' < 10) return (int)(ch - '0');
    ch = lower(ch);
    if (ch - 'a' < 6) return (int)(ch - 'a' + 10);
    return -1;
}

/* De-chunks p into the SSE parser. Returns 0, 1 once the last chunk has been
 * seen (the stream is over), or -1 on a framing error. */
static int chunk_feed(lg_worker_t *w, lg_conn_t *c, const unsigned char *p, size_t n, uint64_t now)
{
    const unsigned char *end = p + n;
    while (p < end) {
        switch (c->hs) {
        case C_SIZE: {
            int v = hexval(*p);
            if (v >= 0) {
                if (c->num > (1ll << 40)) return -1;
                c->num = c->num * 16 + v;
                p++;
                break;
            }
            c->hs = C_EXT;
            break;
        }
        case C_EXT:
            if (*p++ == '\n') c->hs = c->num ? C_DATA : C_DONE;
            break;
        case C_DATA: {
            size_t take = (size_t)(end - p) < (uint64_t)c->num ? (size_t)(end - p) : (size_t)c->num;
            sse_feed(w, c, p, take, now);
            p += take;
            c->num -= (int64_t)take;
            if (!c->num) c->hs = C_CRLF;
            break;
        }
        case C_CRLF:
            if (*p++ == '\n') { c->hs = C_SIZE; c->num = 0; }
            break;
        case C_DONE:
            return 1;
        }
    }
    return c->hs == C_DONE;
}

/* Returns 0, or -1 when the connection was closed. */
static int sse_input(lg_worker_t *w, lg_conn_t *c, const unsigned char *p, size_t n, uint64_t now)
{
    if (c->phase == PH_HEAD) {
        long used = head_feed(c, p, n);
        if (used < 0) {
            conn_lost(w, c, &w->st.fail_proto, "malformed HTTP response", 0);
            return -1;
        }
        if (used == 0)
            return 0;
        if (c->code != 200) {
            char why[64];
            snprintf(why, sizeof why, "HTTP status %u", c->code);
            conn_lost(w, c, &w->st.fail_status, why, 0);
            return -1;
        }
        c->phase = PH_STREAM;
        c->hs = C_SIZE;
        c->num = 0;
        c->ps = S_BOL;
        p += used;
        n -= (size_t)used;
    }
    if (!n)
        return 0;
    if (!(c->flags & F_CHUNKED)) {
        sse_feed(w, c, p, n, now);
        return 0;
    }
    int rc = chunk_feed(w, c, p, n, now);
    if (rc < 0)
        conn_lost(w, c, &w->st.fail_proto, "bad chunked encoding", 0);
    else if (rc > 0)
        conn_lost(w, c, &w->st.fail_closed, "stream ended (last chunk)", 0);
    return rc ? -1 : 0;
}

/* -- RESP subscriber: flat arrays of bulks/integers ---------------------- */

enum { R_TYPE, R_NUM, R_NUM_LF, R_BULK, R_BULK_CR, R_BULK_LF, R_LINE };

static inline int resp_payload_elem(const lg_conn_t *c)
{
    return c->kind == 'p' ? 3 : 2;   /* pmessage has the pattern first */
}

static void resp_frame_done(lg_worker_t *w, lg_conn_t *c, uint64_t now)
{
    if (c->kind == 's' && !(c->flags & F_REG))
        conn_registered(w, c);
    else if (c->kind == 'm' || c->kind == 'p')
        conn_event(w, c, now);
}

/* Returns 0, or -1 for a top-level error reply. */
static int resp_elem_done(lg_worker_t *w, lg_conn_t *c, uint64_t now)
{
    c->ps = R_TYPE;
    if (!c->elems_left)
        return c->hs == '-' ? -1 : 0;
    c->elem++;
    if (--c->elems_left == 0)
        resp_frame_done(w, c, now);
    return 0;
}

static int resp_number_done(lg_worker_t *w, lg_conn_t *c, uint64_t now)
{
    int64_t v = (c->flags & F_NEG) ? -c->num : c->num;
    c->flags &= (uint8_t)~F_NEG;
    if (c->hs == '*' || c->hs == '>') {
        if (c->elems_left || v > 255)
            return -1;              /* nested or huge: not a pub/sub frame */
        c->ps = R_TYPE;
        c->elem = 0;
        c->kind = 0;
        stamp_reset(&c->stamp);
        c->stamp.st = T_BAD;
        if (v > 0)
            c->elems_left = (uint8_t)v;
        return 0;
    }
    if (c->hs == '$' && v >= 0) {
        c->num = v;
        c->ps = v ? R_BULK : R_BULK_CR;
        if (c->kind == 'm' || c->kind == 'p')
            if (c->elem == resp_payload_elem(c))
                stamp_reset(&c->stamp);
        return 0;
    }
    return resp_elem_done(w, c, now);
}

static void resp_bulk_bytes(lg_conn_t *c, const unsigned char *p, size_t take)
{
    if (c->elem == 0 && !c->kind)
        c->kind = p[0];
    if ((c->kind == 'm' || c->kind == 'p') && c->elem == resp_payload_elem(c))
        for (size_t i = 0; i < take && stamp_busy(&c->stamp); i++)
            stamp_feed(&c->stamp, p[i]);
}

/* Returns 0, or -1 on a protocol error / error reply. */
static int resp_feed(lg_worker_t *w, lg_conn_t *c, const unsigned char *p, size_t n, uint64_t now)
{
    const unsigned char *end = p + n;
    while (p < end) {
        switch (c->ps) {
        case R_TYPE:
            c->hs = *p++;
            c->num = 0;
            if (c->hs && strchr("*>$:", c->hs)) c->ps = R_NUM;
            else if (c->hs && strchr("+-_,#", c->hs)) c->ps = R_LINE;
            else return -1;
            break;
        case R_NUM: {
            unsigned ch = *p++;
            if (ch - '0' < 10) {
                if (c->num > (1ll << 40)) return -1;
                c->num = c->num * 10 + (ch - '0');
            } else if (ch == '-') c->flags |= F_NEG;
            else if (ch == '\r') c->ps = R_NUM_LF;
            else return -1;
            break;
        }
        case R_NUM_LF:
            if (*p++ != '\n' || resp_number_done(w, c, now) < 0) return -1;
            break;
        case R_BULK: {
            size_t take = (size_t)(end - p) < (uint64_t)c->num ? (size_t)(end - p) : (size_t)c->num;
            resp_bulk_bytes(c, p, take);
            p += take;
            c->num -= (int64_t)take;
            if (!c->num) c->ps = R_BULK_CR;
            break;
        }
        case R_BULK_CR:
            if (*p++ != '\r') return -1;
            c->ps = R_BULK_LF;
            break;
        case R_BULK_LF:
            if (*p++ != '\n') return -1;
            if ((c->kind == 'm' || c->kind == 'p') && c->elem == resp_payload_elem(c))
                stamp_end(&c->stamp);
            if (resp_elem_done(w, c, now) < 0) return -1;
            break;
        case R_LINE: {
            const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) return 0;
            p = nl + 1;
            if (resp_elem_done(w, c, now) < 0) return -1;
            break;
        }
        }
    }
    return 0;
}

/* -- connection life ----------------------------------------------------- */

static void conn_on_read(EV_P_ ev_io *io, int revents)
{
    lg_conn_t *c = (lg_conn_t *)io;
    lg_worker_t *w = io->data;
    (void)revents;
    (void)EV_A;
    SSL **ssl = conn_ssl(w, c);
    SSL *tls = ssl ? *ssl : NULL;
    for (int round = 0; round < 8; round++) {
        ssize_t n;
        if (tls) {
            n = SSL_read(tls, w->buf, LG_READ_BUF);
            if (n <= 0) {
                int e = SSL_get_error(tls, (int)n);
                ERR_clear_error();
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    return;
                n = e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
                errno = e == SSL_ERROR_SYSCALL ? errno : EPROTO;
            }
        } else {
            n = read(io->fd, w->buf, LG_READ_BUF);
        }
        if (n > 0) {
            uint64_t now = lg_now_ns();
            int rc = c->proto == LG_SSE ? sse_input(w, c, w->buf, (size_t)n, now)
                                        : resp_feed(w, c, w->buf, (size_t)n, now);
            if (rc < 0) {
                if (c->proto == LG_RESP)
                    conn_lost(w, c, &w->st.fail_proto, "RESP error reply or protocol error", 0);
                return;
            }
            if ((size_t)n < LG_READ_BUF && !(tls && SSL_pending(tls) > 0))
                return;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_lost(w, c, &w->st.fail_closed, n == 0 ? "closed by server" : "read",
                  n == 0 ? 0 : errno);
        return;
    }
}

static void conn_on_read(EV_P_ ev_io *io, int revents);
static void conn_send_request(EV_P_ lg_worker_t *w, lg_conn_t *c);

/* --tls: drives the handshake, then sends the request. */
static void conn_on_handshake(EV_P_ ev_io *io, int revents)
{
    lg_conn_t *c = (lg_conn_t *)io;
    lg_worker_t *w = io->data;
    SSL *ssl = *conn_ssl(w, c);
    (void)revents;
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) {
        ev_io_stop(EV_A_ io);
        conn_send_request(EV_A_ w, c);
        return;
    }
    int e = SSL_get_error(ssl, rc);
    ERR_clear_error();
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        conn_lost(w, c, &w->st.fail_connect, "TLS handshake", EPROTO);
        return;
    }
    ev_io_stop(EV_A_ io);
    ev_io_set(io, io->fd, e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
    ev_io_start(EV_A_ io);
}

static void conn_on_connected(EV_P_ ev_io *io, int revents)
{
    lg_conn_t *c = (lg_conn_t *)io;
    lg_worker_t *w = io->data;
    int err = 0;
    socklen_t len = sizeof err;
    (void)revents;
    if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        conn_lost(w, c, &w->st.fail_connect, "connect", err);
        return;
    }
    SSL **ssl = conn_ssl(w, c);
    if (ssl && c->proto == LG_SSE) {
        *ssl = SSL_new(w->tls);
        if (*ssl == NULL || SSL_set_fd(*ssl, io->fd) != 1) {
            conn_lost(w, c, &w->st.fail_connect, "TLS setup", EPROTO);
            return;
        }
        SSL_set_connect_state(*ssl);
        ev_io_stop(EV_A_ io);
        ev_set_cb(io, conn_on_handshake);
        conn_on_handshake(EV_A_ io, 0);
        return;
    }
    conn_send_request(EV_A_ w, c);
}

/* The request, written whole (it is small), then reading. */
static void conn_send_request(EV_P_ lg_worker_t *w, lg_conn_t *c)
{
    ev_io *io = &c->io;
    uint32_t g = w->lo + (uint32_t)(c - w->conns);
    uint32_t base = c->proto == LG_SSE ? 0 : w->o->n_sse;
    int np = c->proto == LG_SSE ? w->o->n_sse_ports : w->o->n_resp_ports;
    int pi = (int)((g - base) % (uint32_t)np);
    SSL **ssl = conn_ssl(w, c);
    ssize_t k = ssl && *ssl ? SSL_write(*ssl, w->req[c->proto][pi], (int)w->req_len[c->proto][pi])
                            : write(io->fd, w->req[c->proto][pi], w->req_len[c->proto][pi]);
    if (k != (ssize_t)w->req_len[c->proto][pi]) {
        conn_lost(w, c, &w->st.fail_connect, "send request", k < 0 ? errno : EAGAIN);
        return;
    }
    ev_io_stop(EV_A_ io);
    ev_io_set(io, io->fd, EV_READ);
    ev_set_cb(io, conn_on_read);
    ev_io_start(EV_A_ io);
    c->phase = c->proto == LG_SSE ? PH_HEAD : PH_STREAM;
}

static int conn_socket(const lg_opts_t *o, uint32_t g, int port, int *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr = o->addr};
    if ((ntohl(o->addr.s_addr) >> 24) == 127) {
        int one = 1;
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + g % (uint32_t)o->src_addrs);
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
        (void)one;
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            *err = errno;
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

static void conn_start(lg_worker_t *w, uint32_t i)
{
    const lg_opts_t *o = w->o;
    lg_conn_t *c = &w->conns[i];
    uint32_t g = w->lo + i;
    c->proto = g < o->n_sse ? LG_SSE : LG_RESP;
    uint32_t base = c->proto == LG_SSE ? 0 : o->n_sse;
    int port = c->proto == LG_SSE ? o->sse_ports[(g - base) % (uint32_t)o->n_sse_ports]
                                  : o->resp_ports[(g - base) % (uint32_t)o->n_resp_ports];
    c->t_start_ms = (uint32_t)((ev_now(w->loop) - w->t0) * 1000);
    c->phase = PH_CONNECTING;
    c->next_seq = (uint32_t)o->seq_base - (c->proto == LG_SSE ? o->replay : 0);
    if (g == 0 && c->proto == LG_SSE && o->capture_seq >= 0)
        c->flags |= F_IDCAP;
    if (w->start_ns) {
        w->start_ns[i] = lg_now_ns();
        if (!w->st.conn0_ns)
            w->st.conn0_ns = w->start_ns[i];
    }
    w->pending++;
    int err = 0, fd = conn_socket(o, g, port, &err);
    if (fd < 0) {
        w->st.failed++;
        w->st.fail_connect++;
        w->pending--;
        c->phase = PH_CLOSED;
        worker_error(w, "connect", err);
        return;
    }
    ev_io_init(&c->io, conn_on_connected, fd, EV_WRITE);
    c->io.data = w;
    ev_io_start(w->loop, &c->io);
}

/* -- worker process ------------------------------------------------------ */

static void worker_report(lg_worker_t *w, uint32_t kind)
{
    w->st.kind = kind;
    w->st.proc = (uint32_t)w->id;
    if (kind == LG_REP_READY) {
        w->ready_sent = 1;
        w->st.ready_ns = lg_now_ns();
        w->remaining = 0;             /* events owed to live registered subscribers */
        for (uint32_t i = 0; i < w->n; i++) {
            const lg_conn_t *c = &w->conns[i];
            if ((c->flags & F_REG) && c->phase != PH_CLOSED && c->got < conn_due(w, c))
                w->remaining += conn_due(w, c) - c->got;
        }
    } else {
        w->final_sent = 1;
        w->st.subs_incomplete = 0;
        for (uint32_t i = 0; i < w->n; i++)
            if ((w->conns[i].flags & F_REG) && w->conns[i].got < conn_due(w, &w->conns[i]))
                w->st.subs_incomplete++;
    }
    if (write_full(w->report_fd, &w->st, sizeof w->st) < 0)
        _exit(3);
    if (kind == LG_REP_READY && (w->o->publish || w->o->replay) && !w->remaining && !w->final_sent)
        worker_report(w, LG_REP_FINAL);   /* nothing is owed: no live subscriber */
}

static void worker_check_ready(lg_worker_t *w)
{
    if (!w->ready_sent && w->next == w->n && w->pending == 0) {
        ev_timer_stop(w->loop, &w->tick);
        worker_report(w, LG_REP_READY);
    }
}

/* Past the connect deadline: everything not registered has failed. */
static void worker_give_up(lg_worker_t *w)
{
    for (uint32_t i = 0; i < w->next; i++) {   /* started ones only */
        lg_conn_t *c = &w->conns[i];
        if (c->phase != PH_CLOSED && !(c->flags & F_REG))
            conn_lost(w, c, &w->st.fail_timeout, "connect phase deadline", 0);
    }
    while (w->next < w->n) {
        w->next++;
        w->st.failed++;
        w->st.fail_timeout++;
    }
    worker_check_ready(w);
}

static void worker_sweep_timeouts(lg_worker_t *w, double now)
{
    uint32_t limit_ms = (uint32_t)(w->o->connect_timeout * 1000);
    uint32_t now_ms = (uint32_t)((now - w->t0) * 1000);
    for (uint32_t i = 0; i < w->next; i++) {
        lg_conn_t *c = &w->conns[i];
        if (c->phase != PH_CLOSED && !(c->flags & F_REG) && now_ms - c->t_start_ms > limit_ms)
            conn_lost(w, c, &w->st.fail_timeout, "connect/registration timeout", 0);
    }
}

static void worker_on_tick(EV_P_ ev_timer *t, int revents)
{
    lg_worker_t *w = (lg_worker_t *)((char *)t - offsetof(lg_worker_t, tick));
    double now = ev_now(EV_A), elapsed = now - w->t0;
    static double last_sweep;
    (void)revents;
    if (elapsed > w->o->timeout) {
        worker_give_up(w);
        return;
    }
    uint64_t allowed = (uint64_t)(elapsed * w->rate) + 1;
    while (w->next < w->n && w->next < allowed && w->pending < w->max_pending)
        conn_start(w, w->next++);
    if (now - last_sweep >= 1.0) {
        last_sweep = now;
        worker_sweep_timeouts(w, now);
    }
    worker_check_ready(w);
}

static void worker_on_ctl(EV_P_ ev_io *io, int revents)
{
    lg_worker_t *w = (lg_worker_t *)((char *)io - offsetof(lg_worker_t, ctl));
    char cmd = 0;
    ssize_t k = read(io->fd, &cmd, 1);
    (void)revents;
    if (k < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (k == 1 && cmd == 'Q') {
        if (!w->ready_sent)
            worker_give_up(w);
        if (!w->final_sent)
            worker_report(w, LG_REP_FINAL);
    }
    ev_break(EV_A_ EVBREAK_ALL);   /* 'Q', or the parent is gone */
}

static char *build_request(const lg_opts_t *o, int proto, int port, size_t *len)
{
    char *r = malloc(1024 + strlen(o->path) + strlen(o->channel));
    if (!r)
        return NULL;
    int k;
    if (proto == LG_SSE)
        k = sprintf(r, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
                       "Cache-Control: no-cache\r\nUser-Agent: jugglite-loadgen\r\n%s%s%s\r\n",
                    o->path, o->host, port, o->last_event_id[0] ? "Last-Event-ID: " : "",
                    o->last_event_id, o->last_event_id[0] ? "\r\n" : "");
    else
        k = sprintf(r, "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n", strlen(o->channel), o->channel);
    *len = (size_t)k;
    return r;
}

static int worker_run(const lg_opts_t *o, int id, uint32_t lo, uint32_t hi, int report_fd, int ctl_fd,
                      int nprocs)
{
    static lg_worker_t w;
    memset(&w, 0, sizeof w);
    w.o = o;
    w.id = id;
    w.lo = lo;
    w.n = hi - lo;
    w.st.wanted = w.n;
    w.report_fd = report_fd;
    w.rate = o->connect_rate / nprocs;
    w.max_pending = o->max_pending / (uint32_t)nprocs ? o->max_pending / (uint32_t)nprocs : 1;
    w.conns = calloc(w.n ? w.n : 1, sizeof *w.conns);
    w.buf = malloc(LG_READ_BUF);
    w.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
    if (o->replay && !(w.start_ns = calloc(w.n ? w.n : 1, sizeof *w.start_ns)))
        return 3;
    if (!w.conns || !w.buf || !w.loop)
        return 3;
    if (o->tls) {
        static const unsigned char alpn[] = "\x08http/1.1";
        w.tls = SSL_CTX_new(TLS_client_method());
        w.ssl = calloc(w.n ? w.n : 1, sizeof *w.ssl);
        if (!w.tls || !w.ssl)
            return 3;
        SSL_CTX_set_verify(w.tls, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_alpn_protos(w.tls, alpn, sizeof alpn - 1);
        SSL_CTX_set_mode(w.tls, SSL_MODE_RELEASE_BUFFERS);
    }
    for (int p = 0; p < 2; p++) {
        int np = p == LG_SSE ? o->n_sse_ports : o->n_resp_ports;
        const int *ports = p == LG_SSE ? o->sse_ports : o->resp_ports;
        for (int i = 0; i < np; i++)
            if (!(w.req[p][i] = build_request(o, p, ports[i], &w.req_len[p][i])))
                return 3;
    }
    w.t0 = ev_now(w.loop);
    ev_timer_init(&w.tick, worker_on_tick, 0.0, 0.002);
    ev_timer_start(w.loop, &w.tick);
    ev_io_init(&w.ctl, worker_on_ctl, ctl_fd, EV_READ);
    ev_io_start(w.loop, &w.ctl);
    ev_run(w.loop, 0);
    return 0;
}

/* ------------------------------------------------------------- publisher */

enum { P_STATUS, P_HDR, P_BODY, P_CSIZE, P_CDATA, P_CCRLF, P_TRAILER };

typedef struct lg_pub {
    ev_io rio, wio;
    ev_timer pace;
    int fd;
    int connected, failed, done, started;
    uint64_t sent, acked, errors, receivers;
    uint64_t first_ns, last_sent_ns, last_ack_ns;
    double pace_t0;
    char *out;
    size_t out_cap, out_off, out_len;
    char pre[1024];
    size_t pre_len;
    size_t msg_len;
    /* reply parser */
    int rstate, code, chunked;
    int64_t body_left;
    char line[1024];
    size_t line_len;
    char first_error[160];
} lg_pub_t;

/* The bystander: a RESP client that has nothing to do with the fan-out and
 * sends PING on a fixed schedule while the publish phase runs, pipelining
 * when replies are late, so a stalled server shows up in every PING it
 * held (a client that waited for each reply would send fewer PINGs during
 * a stall and hide it). Replies come back in order: a ring of send stamps. */
#define LG_PING_RING 8192

typedef struct lg_ping {
    int fd;
    ev_io rio;
    ev_timer tick;
    uint64_t sent_ns[LG_PING_RING];
    uint64_t sent, got;
    int matched;                /* bytes of "+PONG\r\n" seen so far */
    int failed;
    lg_hist_t hist;
} lg_ping_t;

/* ------------------------------------------------------------ controller */

enum { X_CONNECT, X_HOLD, X_PUBLISH, X_FINISH, X_DONE };

typedef struct lg_ctl {
    struct ev_loop *loop;
    const lg_opts_t *o;
    int phase;
    int nprocs;
    pid_t pids[LG_MAX_PROCS];
    int ctl_fd[LG_MAX_PROCS];
    ev_io rep[LG_MAX_PROCS];
    int got_ready[LG_MAX_PROCS], got_final[LG_MAX_PROCS];
    int n_ready, n_final, crashed;
    lg_stats_t ready, fin;
    ev_timer deadline, hold;
    lg_pub_t pub;
    lg_ping_t ping;
    int timed_out;
    uint64_t t_start, t_ready, t_pub0, t_end;
    uint64_t rss_before, rss_idle, rss_after, rss_closed;
    uint64_t cpu_pub0, cpu_pub1, sched_pub0, sched_pub1;
} lg_ctl_t;

static void ctl_publish_start(lg_ctl_t *x);
static void ctl_check_complete(lg_ctl_t *x);
static void ctl_finish(lg_ctl_t *x);
static void ping_stop(lg_ctl_t *x);

static void say(const lg_ctl_t *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const lg_ctl_t *x, const char *fmt, ...)
{
    if (x->o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void pub_fail(lg_ctl_t *x, const char *what, int err)
{
    lg_pub_t *p = &x->pub;
    if (p->failed)
        return;
    if (!p->started && x->phase < X_PUBLISH && p->fd >= 0) {
        /* the early connection died while idle (e.g. a header timeout during
         * a long hold): drop it quietly, ctl_publish_start reconnects */
        ev_io_stop(x->loop, &p->rio);
        ev_io_stop(x->loop, &p->wio);
        close(p->fd);
        p->fd = -1;
        p->connected = 0;
        return;
    }
    p->failed = 1;
    p->done = 1;
    if (!p->first_error[0])
        snprintf(p->first_error, sizeof p->first_error, "publisher %s%s%s", what,
                 err ? ": " : "", err ? strerror(err) : "");
    fprintf(stderr, "loadgen: %s\n", p->first_error);
    ev_io_stop(x->loop, &p->rio);
    ev_io_stop(x->loop, &p->wio);
    ev_timer_stop(x->loop, &p->pace);
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    ctl_check_complete(x);
}

static void pub_flush(lg_ctl_t *x)
{
    lg_pub_t *p = &x->pub;
    while (p->out_off < p->out_len) {
        ssize_t k = write(p->fd, p->out + p->out_off, p->out_len - p->out_off);
        if (k > 0) {
            p->out_off += (size_t)k;
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            ev_io_start(x->loop, &p->wio);
            return;
        }
        pub_fail(x, "write", k < 0 ? errno : EPIPE);
        return;
    }
    p->out_off = p->out_len = 0;
    ev_io_stop(x->loop, &p->wio);
}

/* Appends one message: constant prefix, stamped padded payload, suffix. */
static void pub_append(lg_ctl_t *x, uint64_t seq)
{
    lg_pub_t *p = &x->pub;
    const lg_opts_t *o = x->o;
    char *d = p->out + p->out_len;
    memcpy(d, p->pre, p->pre_len);
    d += p->pre_len;
    uint64_t now = lg_now_ns();
    int k = snprintf(d, o->size + 1, "t=%" PRIu64 " s=%" PRIu64 " ", now, o->seq_base + seq);
    memset(d + k, 'x', o->size - (size_t)k);
    d += o->size;
    if (o->pub_proto == LG_RESP) {
        *d++ = '\r';
        *d++ = '\n';
    }
    p->out_len = (size_t)(d - p->out);
    if (!p->first_ns)
        p->first_ns = now;
    p->last_sent_ns = now;
}

static void pub_fill(lg_ctl_t *x)
{
    lg_pub_t *p = &x->pub;
    const lg_opts_t *o = x->o;
    if (!p->started || p->done || p->fd < 0)
        return;
    uint64_t limit = o->publish;
    if (o->rate > 0) {
        uint64_t allowed = (uint64_t)((ev_time() - p->pace_t0) * o->rate) + 1;
        if (allowed < limit)
            limit = allowed;
    }
    int added = 0;
    while (p->sent < limit && p->sent - p->acked < o->window) {
        if (p->out_cap - p->out_len < p->msg_len + 1) {
            memmove(p->out, p->out + p->out_off, p->out_len - p->out_off);
            p->out_len -= p->out_off;
            p->out_off = 0;
            if (p->out_cap - p->out_len < p->msg_len + 1)
                break;
        }
        pub_append(x, p->sent++);
        added = 1;
    }
    if (added && !ev_is_active(&p->wio))
        pub_flush(x);
}

static void pub_on_pace(EV_P_ ev_timer *t, int revents)
{
    lg_ctl_t *x = (lg_ctl_t *)((char *)t - offsetof(lg_ctl_t, pub.pace));
    (void)revents;
    (void)EV_A;
    pub_fill(x);
}

static void pub_reply(lg_ctl_t *x, int ok, const char *err)
{
    lg_pub_t *p = &x->pub;
    p->acked++;
    p->last_ack_ns = lg_now_ns();
    if (!ok) {
        p->errors++;
        if (!p->first_error[0])
            snprintf(p->first_error, sizeof p->first_error, "publish error: %.120s", err);
    }
    if (p->acked == x->o->publish) {
        p->done = 1;
        ping_stop(x);
        ev_timer_stop(x->loop, &p->pace);
        ctl_check_complete(x);
    }
}

/* One complete reply line (without CR LF). Returns -1 on protocol error. */
static int pub_line(lg_ctl_t *x, char *line, size_t len)
{
    lg_pub_t *p = &x->pub;
    if (x->o->pub_proto == LG_RESP) {
        if (line[0] == ':') {
            p->receivers += strtoull(line + 1, NULL, 10);
            pub_reply(x, 1, NULL);
        } else if (line[0] == '+' || line[0] == '-') {
            pub_reply(x, line[0] == '+', line);
        } else
            return -1;
        return 0;
    }
    switch (p->rstate) {
    case P_STATUS:
        if (len < 12 || strncmp(line, "HTTP/1.", 7))
            return -1;
        p->code = atoi(line + 9);
        p->body_left = 0;
        p->chunked = 0;
        p->rstate = P_HDR;
        break;
    case P_HDR:
        if (!len) {
            if (p->chunked) p->rstate = P_CSIZE;
            else if (p->body_left > 0) p->rstate = P_BODY;
            else { p->rstate = P_STATUS; pub_reply(x, p->code / 100 == 2, line); }
        } else if (!strncasecmp(line, "content-length:", 15))
            p->body_left = atoll(line + 15);
        else if (!strncasecmp(line, "transfer-encoding:", 18) && strcasestr(line, "chunked"))
            p->chunked = 1;
        break;
    case P_CSIZE:
        p->body_left = strtoll(line, NULL, 16);
        p->rstate = p->body_left > 0 ? P_CDATA : P_TRAILER;
        break;
    case P_CCRLF:
        p->rstate = P_CSIZE;
        break;
    case P_TRAILER:
        if (!len) {
            p->rstate = P_STATUS;
            char why[32];
            snprintf(why, sizeof why, "HTTP %d", p->code);
            pub_reply(x, p->code / 100 == 2, why);
        }
        break;
    }
    return 0;
}

static void pub_body_done(lg_ctl_t *x)
{
    lg_pub_t *p = &x->pub;
    if (p->rstate == P_CDATA) {
        p->rstate = P_CCRLF;
        return;
    }
    p->rstate = P_STATUS;
    char why[32];
    snprintf(why, sizeof why, "HTTP %d", p->code);
    pub_reply(x, p->code / 100 == 2, why);
}

static int pub_input(lg_ctl_t *x, const char *b, size_t n)
{
    lg_pub_t *p = &x->pub;
    size_t i = 0;
    while (i < n) {
        if (p->rstate == P_BODY || p->rstate == P_CDATA) {
            size_t take = n - i < (uint64_t)p->body_left ? n - i : (size_t)p->body_left;
            i += take;
            p->body_left -= (int64_t)take;
            if (!p->body_left)
                pub_body_done(x);
            continue;
        }
        const char *nl = memchr(b + i, '\n', n - i);
        size_t seg = nl ? (size_t)(nl - (b + i)) : n - i;
        size_t room = sizeof p->line - 1 - p->line_len;
        memcpy(p->line + p->line_len, b + i, seg < room ? seg : room);
        p->line_len += seg < room ? seg : room;
        i += seg;
        if (!nl)
            break;
        i++;
        if (p->line_len && p->line[p->line_len - 1] == '\r')
            p->line_len--;
        p->line[p->line_len] = 0;
        size_t len = p->line_len;
        p->line_len = 0;
        if (pub_line(x, p->line, len) < 0)
            return -1;
    }
    return 0;
}

static void pub_on_read(EV_P_ ev_io *io, int revents)
{
    lg_ctl_t *x = (lg_ctl_t *)((char *)io - offsetof(lg_ctl_t, pub.rio));
    static char buf[65536];
    (void)revents;
    (void)EV_A;
    ssize_t k = read(io->fd, buf, sizeof buf);
    if (k < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (k <= 0) {
        pub_fail(x, k == 0 ? "connection closed by server" : "read", k == 0 ? 0 : errno);
        return;
    }
    if (pub_input(x, buf, (size_t)k) < 0) {
        pub_fail(x, "unexpected reply", 0);
        return;
    }
    pub_fill(x);
}

static void pub_on_write(EV_P_ ev_io *io, int revents)
{
    lg_ctl_t *x = (lg_ctl_t *)((char *)io - offsetof(lg_ctl_t, pub.wio));
    lg_pub_t *p = &x->pub;
    (void)revents;
    if (!p->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            pub_fail(x, "connect", err);
            return;
        }
        p->connected = 1;
        ev_io_stop(EV_A_ io);
        ev_io_start(EV_A_ &p->rio);
        if (x->phase == X_PUBLISH)
            ctl_publish_start(x);
        return;
    }
    pub_flush(x);
    pub_fill(x);
}

static void pub_prepare(lg_ctl_t *x)
{
    lg_pub_t *p = &x->pub;
    const lg_opts_t *o = x->o;
    int k;
    if (o->pub_proto == LG_RESP)
        k = snprintf(p->pre, sizeof p->pre, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n",
                     strlen(o->channel), o->channel, o->size);
    else
        k = snprintf(p->pre, sizeof p->pre,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n%s%s%s\r\n",
                     o->pub_path, o->pub_host, o->pub_port, o->size,
                     o->pub_token[0] ? "Authorization: Bearer " : "", o->pub_token,
                     o->pub_token[0] ? "\r\n" : "");
    p->pre_len = (size_t)k < sizeof p->pre ? (size_t)k : sizeof p->pre - 1;
    p->msg_len = p->pre_len + o->size + 2;
    p->out_cap = p->msg_len * (o->window + 1) + 64;
    p->out = malloc(p->out_cap);
    if (!p->out) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(3);
    }
}

static void pub_connect(lg_ctl_t *x)
{
    lg_pub_t *p = &x->pub;
    const lg_opts_t *o = x->o;
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->pub_port),
                              .sin_addr = o->pub_addr};
    int one = 1;
    if (!p->out)
        pub_prepare(x);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        pub_fail(x, "socket", errno);
        return;
    }
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ev_io_init(&p->rio, pub_on_read, p->fd, EV_READ);
    ev_io_init(&p->wio, pub_on_write, p->fd, EV_WRITE);
    if (connect(p->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
        pub_fail(x, "connect", errno);
        return;
    }
    ev_io_start(x->loop, &p->wio);
}

/* -- the bystander ------------------------------------------------------- */

static void ping_on_read(EV_P_ ev_io *io, int revents)
{
    lg_ctl_t *x = (lg_ctl_t *)((char *)io - offsetof(lg_ctl_t, ping.rio));
    lg_ping_t *g = &x->ping;
    static const char pong[] = "+PONG\r\n";
    char buf[4096];
    (void)revents;
    ssize_t n = read(io->fd, buf, sizeof buf);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        g->failed = 1;
        ev_io_stop(EV_A_ io);
        ev_timer_stop(EV_A_ &g->tick);
        return;
    }
    uint64_t now = lg_now_ns();
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != pong[g->matched]) {
            g->failed = 1;
            return;
        }
        if (++g->matched < (int)sizeof pong - 1)
            continue;
        g->matched = 0;
        if (g->got < g->sent)
            hist_add(&g->hist, now - g->sent_ns[g->got++ % LG_PING_RING]);
    }
}

static void ping_on_tick(EV_P_ ev_timer *t, int revents)
{
    lg_ctl_t *x = (lg_ctl_t *)((char *)t - offsetof(lg_ctl_t, ping.tick));
    lg_ping_t *g = &x->ping;
    (void)revents;
    (void)EV_A;
    if (g->failed || g->sent - g->got >= LG_PING_RING)
        return;
    g->sent_ns[g->sent % LG_PING_RING] = lg_now_ns();
    if (write(g->fd, "PING\r\n", 6) != 6) {
        g->failed = 1;
        return;
    }
    g->sent++;
}

/* Connects (blocking: loopback, before the clock starts) and starts the
 * schedule; a failure is reported, the run goes on. */
static void ping_start(lg_ctl_t *x)
{
    lg_ping_t *g = &x->ping;
    const lg_opts_t *o = x->o;
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->ping_port),
                              .sin_addr = o->pub_addr};
    int one = 1;
    g->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (g->fd < 0 || connect(g->fd, (struct sockaddr *)&dst, sizeof dst) < 0) {
        g->failed = 1;
        return;
    }
    setsockopt(g->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(g->fd, F_SETFL, O_NONBLOCK);
    ev_io_init(&g->rio, ping_on_read, g->fd, EV_READ);
    ev_io_start(x->loop, &g->rio);
    ev_timer_init(&g->tick, ping_on_tick, 0, o->ping_every / 1000.0);
    ev_timer_start(x->loop, &g->tick);
}

static void ping_stop(lg_ctl_t *x)
{
    ev_timer_stop(x->loop, &x->ping.tick);
    ev_io_stop(x->loop, &x->ping.rio);
}

/* -- phases -------------------------------------------------------------- */

static void ctl_send_quit(lg_ctl_t *x)
{
    for (int i = 0; i < x->nprocs; i++)
        if (x->ctl_fd[i] >= 0) {
            if (write(x->ctl_fd[i], "Q", 1) < 0) { /* child gone; EOF handles it */ }
            close(x->ctl_fd[i]);
            x->ctl_fd[i] = -1;
        }
}

static void ctl_on_deadline(EV_P_ ev_timer *t, int revents)
{
    lg_ctl_t *x = (lg_ctl_t *)((char *)t - offsetof(lg_ctl_t, deadline));
    (void)revents;
    if (x->phase == X_FINISH) {       /* children did not answer 'Q' in time */
        say(x, "workers did not report; killing them");
        for (int i = 0; i < x->nprocs; i++)
            if (!x->got_final[i])
                kill(x->pids[i], SIGKILL);
        ev_break(EV_A_ EVBREAK_ALL);
        return;
    }
    if (!x->pub.failed) {
        say(x, "deadline reached in %s phase", x->phase == X_CONNECT ? "connect" : "delivery");
        x->timed_out = 1;
    }
    ctl_finish(x);
}

static void ctl_publish_start(lg_ctl_t *x)
{
    lg_pub_t *p = &x->pub;
    const lg_opts_t *o = x->o;
    x->phase = X_PUBLISH;
    ev_timer_stop(x->loop, &x->deadline);
    ev_timer_set(&x->deadline, o->timeout, 0);
    ev_timer_start(x->loop, &x->deadline);
    if (!o->publish && o->replay) {   /* nothing to send: wait for the replays */
        p->done = 1;
        ctl_check_complete(x);
        return;
    }
    if (!o->publish || p->failed) {
        ctl_finish(x);
        return;
    }
    if (!p->connected) {              /* the early connection was lost: retry */
        if (p->fd < 0)
            pub_connect(x);
        return;                       /* pub_on_write calls us again */
    }
    if (!o->replay) {                 /* with --replay: counted from the start */
        x->cpu_pub0 = proc_cpu_us(o->pids, o->n_pids);
        x->sched_pub0 = proc_sched_ns(o->pids, o->n_pids);
    }
    x->t_pub0 = lg_now_ns();
    say(x, "publishing %" PRIu64 " x %zu B over %s at %s", o->publish, o->size,
        o->pub_proto == LG_RESP ? "RESP" : "HTTP", o->rate > 0 ? "a fixed rate" : "full speed");
    if (o->ping_every > 0)
        ping_start(x);
    p->started = 1;
    p->pace_t0 = ev_time();
    if (o->rate > 0) {
        double iv = 1.0 / o->rate;
        iv = iv < 0.0005 ? 0.0005 : iv > 0.01 ? 0.01 : iv;
        ev_timer_init(&p->pace, pub_on_pace, iv, iv);
        ev_timer_start(x->loop, &p->pace);
    }
    pub_fill(x);
}

static void ctl_on_hold(EV_P_ ev_timer *t, int revents)
{
    lg_ctl_t *x = (lg_ctl_t *)((char *)t - offsetof(lg_ctl_t, hold));
    (void)revents;
    (void)EV_A;
    x->rss_idle = proc_rss_kb(x->o->pids, x->o->n_pids);
    ctl_publish_start(x);
}

static void ctl_all_ready(lg_ctl_t *x)
{
    const lg_opts_t *o = x->o;
    x->t_ready = lg_now_ns();
    x->phase = X_HOLD;
    ev_timer_stop(x->loop, &x->deadline);
    if (x->nprocs)
        say(x, "%" PRIu64 "/%" PRIu64 " subscribers registered (%" PRIu64 " failed) in %.2f s",
            x->ready.registered, x->ready.wanted, x->ready.failed,
            (double)(x->t_ready - x->t_start) / 1e9);
    double wait = o->hold > 0 ? o->hold : o->settle;
    if (o->hold > 0)
        say(x, "holding %.1f s idle", o->hold);
    ev_timer_init(&x->hold, ctl_on_hold, wait, 0);
    ev_timer_start(x->loop, &x->hold);
}

static void ctl_check_complete(lg_ctl_t *x)
{
    if (x->phase != X_PUBLISH)
        return;
    if (x->pub.done && x->n_final == x->nprocs)
        ctl_finish(x);
    else if (x->pub.failed && !x->timed_out) {
        /* give in-flight deliveries a moment, then stop */
        ev_timer_stop(x->loop, &x->deadline);
        ev_timer_set(&x->deadline, 1.0, 0);
        ev_timer_start(x->loop, &x->deadline);
    }
}

static void ctl_finish(lg_ctl_t *x)
{
    if (x->phase == X_FINISH || x->phase == X_DONE)
        return;
    if (x->phase == X_CONNECT)
        x->rss_idle = proc_rss_kb(x->o->pids, x->o->n_pids);
    x->t_end = lg_now_ns();
    x->cpu_pub1 = proc_cpu_us(x->o->pids, x->o->n_pids);
    x->sched_pub1 = proc_sched_ns(x->o->pids, x->o->n_pids);
    x->rss_after = proc_rss_kb(x->o->pids, x->o->n_pids);
    x->phase = X_FINISH;
    ev_timer_stop(x->loop, &x->hold);
    ev_timer_stop(x->loop, &x->pub.pace);
    ev_io_stop(x->loop, &x->pub.wio);
    ev_io_stop(x->loop, &x->pub.rio);
    ping_stop(x);
    ctl_send_quit(x);
    if (x->n_final == x->nprocs) {
        x->phase = X_DONE;
        ev_break(x->loop, EVBREAK_ALL);
        return;
    }
    ev_timer_stop(x->loop, &x->deadline);
    ev_timer_set(&x->deadline, 15.0, 0);
    ev_timer_start(x->loop, &x->deadline);
}

static void ctl_child_gone(lg_ctl_t *x, int i)
{
    ev_io_stop(x->loop, &x->rep[i]);
    close(x->rep[i].fd);
    x->crashed++;
    if (!x->got_ready[i]) {
        x->got_ready[i] = 1;
        x->n_ready++;
    }
    if (!x->got_final[i]) {
        x->got_final[i] = 1;
        x->n_final++;
    }
    say(x, "worker %d exited unexpectedly", i);
    if (x->phase == X_CONNECT && x->n_ready == x->nprocs)
        ctl_all_ready(x);
    else if (x->phase == X_FINISH && x->n_final == x->nprocs) {
        x->phase = X_DONE;
        ev_break(x->loop, EVBREAK_ALL);
    } else
        ctl_check_complete(x);
}

static void ctl_on_report(EV_P_ ev_io *io, int revents)
{
    lg_ctl_t *x = io->data;
    int i = (int)(io - x->rep);
    static lg_stats_t s;
    (void)revents;
    if (read_full(io->fd, &s, sizeof s) < 0) {
        ctl_child_gone(x, i);
        return;
    }
    if (s.kind == LG_REP_READY && !x->got_ready[i]) {
        x->got_ready[i] = 1;
        x->n_ready++;
        stats_merge(&x->ready, &s);
        if (x->phase == X_CONNECT && x->n_ready == x->nprocs)
            ctl_all_ready(x);
    } else if (s.kind == LG_REP_FINAL && !x->got_final[i]) {
        x->got_final[i] = 1;
        x->n_final++;
        stats_merge(&x->fin, &s);
        ev_io_stop(EV_A_ io);
        close(io->fd);
        if (x->phase == X_FINISH && x->n_final == x->nprocs) {
            x->phase = X_DONE;
            ev_break(EV_A_ EVBREAK_ALL);
        } else
            ctl_check_complete(x);
    }
}

/* ---------------------------------------------------------------- report */

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static int ctl_report(lg_ctl_t *x)
{
    const lg_opts_t *o = x->o;
    const lg_stats_t *f = &x->fin;
    const lg_pub_t *p = &x->pub;
    uint64_t nsubs = (uint64_t)o->n_sse + o->n_resp;
    uint64_t failed = nsubs - (f->registered < nsubs ? f->registered : nsubs);
    uint64_t expected = nsubs * o->publish + (uint64_t)o->n_sse * o->replay;
    uint64_t replay_due = (uint64_t)o->n_sse * o->replay;
    double storm_s = f->replay_done_ns > f->conn0_ns && f->conn0_ns
        ? (double)(f->replay_done_ns - f->conn0_ns) / 1e9 : 0;
    double replay_eps = storm_s > 0 ? (double)(f->subs_replayed * o->replay) / storm_s : 0;
    const lg_hist_t *cu = &f->catchup;
    uint64_t unique = f->delivered - (f->dups < f->delivered ? f->dups : f->delivered);
    uint64_t lost = expected > unique ? expected - unique : 0;
    uint64_t t_last = f->last_ns > x->t_pub0 ? f->last_ns : x->t_pub0;
    double deliver_s = x->t_pub0 && f->delivered ? (double)(t_last - x->t_pub0) / 1e9 : 0;
    uint64_t live = f->delivered - (replay_due < f->delivered ? replay_due : f->delivered);
    double eps = deliver_s > 0 ? (double)live / deliver_s : 0;    /* live events only */
    double pub_s = p->last_ack_ns > p->first_ns ? (double)(p->last_ack_ns - p->first_ns) / 1e9 : 0;
    double pub_rate = pub_s > 0 ? (double)p->acked / pub_s : 0;
    double connect_s = x->t_ready > x->t_start ? (double)(x->t_ready - x->t_start) / 1e9 : 0;
    int measured = x->t_pub0 || o->replay;    /* the CPU window opened */
    uint64_t cpu_us = x->cpu_pub1 > x->cpu_pub0 && measured ? x->cpu_pub1 - x->cpu_pub0 : 0;
    uint64_t sched_ns = x->sched_pub1 > x->sched_pub0 && measured ? x->sched_pub1 - x->sched_pub0 : 0;
    if (!sched_ns)
        sched_ns = cpu_us * 1000;     /* schedstat unavailable: tick resolution */
    double cpu_per_event = f->delivered ? (double)sched_ns / 1000.0 / (double)f->delivered : 0;
    double cpu_per_msg = p->acked ? (double)sched_ns / 1000.0 / (double)p->acked : 0;
    double idle_per_conn = f->registered && x->rss_idle > x->rss_before
        ? (double)(x->rss_idle - x->rss_before) * 1024.0 / (double)f->registered : 0;
    int ok = !failed && !f->dropped && !lost && !f->dups && !f->ooo && !f->gaps
             && !p->failed && !p->errors && !x->crashed && p->acked == o->publish
             && !x->ping.failed
             && (!o->replay || (!f->foreign && f->subs_replayed == o->n_sse))
             && (o->capture_seq < 0 || f->id_at[0]);
    const lg_hist_t *h = &f->hist;

    printf("== loadgen report ==\n");
    printf("subscribers   : %u SSE + %u RESP over %d process(es), %d source address(es)\n",
           o->n_sse, o->n_resp, x->nprocs, o->src_addrs);
    printf("connections   : %" PRIu64 " registered, %" PRIu64 " failed (connect %" PRIu64
           ", timeout %" PRIu64 ", status %" PRIu64 ", closed %" PRIu64 ", protocol %" PRIu64
           "), %" PRIu64 " dropped later; %.2f s to register\n",
           f->registered, failed, f->fail_connect, f->fail_timeout, f->fail_status,
           f->fail_closed, f->fail_proto, f->dropped, connect_s);
    if (o->publish)
        printf("publish       : %" PRIu64 " sent, %" PRIu64 " acked, %" PRIu64 " errors, "
               "%" PRIu64 " receivers reported, %.3f s (%.0f msg/s) over %s, %zu B, %s\n",
               p->sent, p->acked, p->errors, p->receivers, pub_s, pub_rate,
               o->pub_proto == LG_RESP ? "RESP" : "HTTP", o->size,
               o->rate > 0 ? "rate-limited" : "flat out");
    printf("events        : %" PRIu64 " expected, %" PRIu64 " delivered, %" PRIu64 " lost, "
           "%" PRIu64 " foreign; %.3f s from first publish to last delivery = %.0f events/s\n",
           expected, f->delivered, lost, f->foreign, deliver_s, eps);
    printf("sequence      : %" PRIu64 " gaps, %" PRIu64 " duplicates, %" PRIu64
           " out of order, %" PRIu64 " subscribers incomplete\n",
           f->gaps, f->dups, f->ooo, f->subs_incomplete);
    printf("latency (us)  : p50 %.0f  p90 %.0f  p99 %.0f  max %.0f  mean %.0f\n",
           us(hist_pct(h, 50)), us(hist_pct(h, 90)), us(hist_pct(h, 99)), us(h->max),
           h->count ? us(h->sum / h->count) : 0.0);
    if (o->n_pids)
        printf("server        : RSS %" PRIu64 " KiB before, %" PRIu64 " idle, %" PRIu64
               " after, %" PRIu64 " closed (%.0f B/idle conn); CPU %.1f ms %s "
               "(stat %.0f ms) = %.3f us/event, %.3f us/publish\n",
               x->rss_before, x->rss_idle, x->rss_after, x->rss_closed, idle_per_conn,
               (double)sched_ns / 1e6, o->replay ? "from the first connect" : "in publish phase", (double)cpu_us / 1e3, cpu_per_event, cpu_per_msg);
    if (o->replay)
        printf("replay        : %" PRIu64 "/%u streams got all %u events (%" PRIu64 " due); first "
               "connect to last caught up %.3f s = %.0f replayed events/s; per stream (ms) "
               "p50 %.1f  p99 %.1f  max %.1f; %" PRIu64 " events without a stamp (a gap "
               "event means the history did not hold them)\n",
               f->subs_replayed, o->n_sse, o->replay, replay_due, storm_s, replay_eps,
               us(hist_pct(cu, 50)) / 1e3, us(hist_pct(cu, 99)) / 1e3, us(cu->max) / 1e3,
               f->foreign);
    if (o->capture_seq >= 0)
        printf("captured id   : event s=%" PRId64 " had id: %s\n", o->capture_seq,
               f->id_at[0] ? f->id_at : "(not seen)");
    const lg_hist_t *g = &x->ping.hist;
    if (o->ping_every > 0)
        printf("bystander PING: %" PRIu64 " sent, %" PRIu64 " answered%s; round trip (us) p50 %.0f"
               "  p99 %.0f  max %.0f\n", x->ping.sent, x->ping.got,
               x->ping.failed ? " (connection failed)" : "", us(hist_pct(g, 50)),
               us(hist_pct(g, 99)), us(g->max));
    if (f->first_error[0])
        printf("first error   : %s\n", f->first_error);
    if (p->first_error[0])
        printf("publisher     : %s\n", p->first_error);
    if (x->timed_out)
        printf("note          : a phase deadline (--timeout %.0f s) was reached\n", o->timeout);
    printf("RESULT status=%s sse=%u resp=%u procs=%d src_addrs=%d registered=%" PRIu64
           " failed=%" PRIu64 " dropped=%" PRIu64 " held=%" PRIu64 " connect_s=%.3f msgs=%" PRIu64
           " size=%zu rate=%.0f pub_sent=%" PRIu64 " pub_acked=%" PRIu64 " pub_errors=%" PRIu64
           " receivers=%" PRIu64 " pub_s=%.4f pub_rate=%.0f expected=%" PRIu64
           " delivered=%" PRIu64 " lost=%" PRIu64 " gaps=%" PRIu64 " dups=%" PRIu64
           " ooo=%" PRIu64 " foreign=%" PRIu64 " deliver_s=%.4f events_per_s=%.0f"
           " lat_p50_us=%.0f lat_p90_us=%.0f lat_p99_us=%.0f lat_max_us=%.0f"
           " rss_before_kb=%" PRIu64 " rss_idle_kb=%" PRIu64 " rss_after_kb=%" PRIu64
           " rss_closed_kb=%" PRIu64 " idle_bytes_per_conn=%.0f srv_cpu_ms=%.1f"
           " srv_cpu_stat_ms=%.0f srv_cpu_us_per_event=%.3f srv_cpu_us_per_msg=%.3f timed_out=%d"
           " ping_sent=%" PRIu64 " ping_got=%" PRIu64 " ping_p50_us=%.0f ping_p99_us=%.0f"
           " ping_max_us=%.0f replay=%u seq_base=%" PRIu64 " subs_replayed=%" PRIu64
           " storm_s=%.4f replay_eps=%.0f catchup_p50_ms=%.2f catchup_p99_ms=%.2f"
           " catchup_max_ms=%.2f id_at=%s\n",
           ok ? "ok" : "fail", o->n_sse, o->n_resp, x->nprocs, o->src_addrs, f->registered,
           failed, f->dropped, f->registered - f->dropped, connect_s, o->publish, o->size, o->rate, p->sent, p->acked,
           p->errors, p->receivers, pub_s, pub_rate, expected, f->delivered, lost, f->gaps,
           f->dups, f->ooo, f->foreign, deliver_s, eps, us(hist_pct(h, 50)),
           us(hist_pct(h, 90)), us(hist_pct(h, 99)), us(h->max), x->rss_before, x->rss_idle,
           x->rss_after, x->rss_closed, idle_per_conn, (double)sched_ns / 1e6,
           (double)cpu_us / 1e3, cpu_per_event, cpu_per_msg, x->timed_out, x->ping.sent,
           x->ping.got, us(hist_pct(g, 50)), us(hist_pct(g, 99)), us(g->max), o->replay,
           o->seq_base, f->subs_replayed, storm_s, replay_eps, us(hist_pct(cu, 50)) / 1e3,
           us(hist_pct(cu, 99)) / 1e3, us(cu->max) / 1e3, f->id_at[0] ? f->id_at : "-");
    fflush(stdout);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ main */

/* Raises the soft fd limit to the hard one; returns the usable limit. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

/* Chooses the process count; returns -1 (with a clear message) if the
 * requested split cannot fit RLIMIT_NOFILE. */
static int plan_procs(lg_opts_t *o)
{
    uint64_t n = (uint64_t)o->n_sse + o->n_resp;
    rlim_t lim = raise_nofile();
    uint64_t cap = lim > LG_FD_RESERVE + 1 ? (uint64_t)lim - LG_FD_RESERVE : 1;
    if (!n)
        return 0;
    if (!o->procs) {
        uint64_t p = (n + cap - 1) / cap;
        if (p > LG_MAX_PROCS) {
            fprintf(stderr, "loadgen: %" PRIu64 " connections need %" PRIu64 " processes at "
                    "RLIMIT_NOFILE=%lu; the maximum is %d\n", n, p, (unsigned long)lim, LG_MAX_PROCS);
            return -1;
        }
        o->procs = (int)p;
    }
    uint64_t per = (n + (uint64_t)o->procs - 1) / (uint64_t)o->procs;
    if (per > cap) {
        fprintf(stderr, "loadgen: %" PRIu64 " connections per process exceeds RLIMIT_NOFILE=%lu "
                "(minus %d reserved); use --procs %" PRIu64 " or more\n",
                per, (unsigned long)lim, LG_FD_RESERVE, (n + cap - 1) / cap);
        return -1;
    }
    return o->procs;
}

static int ctl_fork_workers(lg_ctl_t *x)
{
    const lg_opts_t *o = x->o;
    uint64_t n = (uint64_t)o->n_sse + o->n_resp;
    for (int i = 0; i < x->nprocs; i++) {
        int rep[2], ctl[2];
        if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(ctl, O_CLOEXEC) < 0)
            return -1;
        uint32_t lo = (uint32_t)(n * (uint64_t)i / (uint64_t)x->nprocs);
        uint32_t hi = (uint32_t)(n * (uint64_t)(i + 1) / (uint64_t)x->nprocs);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            for (int j = 0; j < i; j++) {
                close(x->ctl_fd[j]);
                close(x->rep[j].fd);
            }
            close(rep[0]);
            close(ctl[1]);
            _exit(worker_run(o, i, lo, hi, rep[1], ctl[0], x->nprocs));
        }
        close(rep[1]);
        close(ctl[0]);
        x->pids[i] = pid;
        x->ctl_fd[i] = ctl[1];
        x->rep[i].fd = rep[0];    /* watcher is initialised after the loop exists */
    }
    return 0;
}

int main(int argc, char **argv)
{
    static lg_opts_t o;
    static lg_ctl_t x;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (opts_parse(&o, argc, argv) < 0)
        return 2;
    x.o = &o;
    x.pub.fd = -1;
    x.ping.fd = -1;
    if ((x.nprocs = plan_procs(&o)) < 0)
        return 2;
    x.t_start = lg_now_ns();
    x.rss_before = proc_rss_kb(o.pids, o.n_pids);
    if (o.replay) {
        x.cpu_pub0 = proc_cpu_us(o.pids, o.n_pids);
        x.sched_pub0 = proc_sched_ns(o.pids, o.n_pids);
    }
    if (x.nprocs)
        say(&x, "%u SSE + %u RESP subscribers in %d process(es), %d source address(es)",
            o.n_sse, o.n_resp, x.nprocs, o.src_addrs);
    if (ctl_fork_workers(&x) < 0) {
        perror("loadgen: fork");
        return 3;
    }
    x.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
    for (int i = 0; i < x.nprocs; i++) {
        int fd = x.rep[i].fd;
        ev_io_init(&x.rep[i], ctl_on_report, fd, EV_READ);
        x.rep[i].data = &x;
        ev_io_start(x.loop, &x.rep[i]);
    }
    ev_timer_init(&x.deadline, ctl_on_deadline, o.timeout + 2.0, 0);
    ev_timer_start(x.loop, &x.deadline);
    x.phase = X_CONNECT;
    if (o.publish)                    /* first, so a server at its connection */
        pub_connect(&x);              /* limit still has room for it          */
    if (!x.nprocs)
        ctl_all_ready(&x);
    ev_run(x.loop, 0);
    for (int i = 0; i < x.nprocs; i++) {
        int status;
        waitpid(x.pids[i], &status, 0);
    }
    if (o.n_pids) {
        usleep(500000);               /* let the server notice the closes */
        x.rss_closed = proc_rss_kb(o.pids, o.n_pids);
    }
    if (x.pub.fd >= 0)
        close(x.pub.fd);
    if (x.ping.fd >= 0)
        close(x.ping.fd);
    return ctl_report(&x);
}
