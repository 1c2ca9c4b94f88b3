/* histogram.h -- fixed-bucket histograms, in the shape Prometheus exposes.
 *
 * /metrics reports how long things take (a publish's fan-out) as
 * cumulative buckets with a sum and a count; keeping the buckets fixed and
 * few makes an observation a handful of comparisons and no allocation. The
 * bounds are in seconds and shared by every histogram. */
#ifndef JL_HISTOGRAM_H
#define JL_HISTOGRAM_H

#define JL_HISTO_BUCKETS 16

/* Upper bounds (seconds), increasing: 10 us .. 1 s. */
extern const double jl_histo_bounds[JL_HISTO_BUCKETS];

typedef struct jl_histo {
    unsigned long long bucket[JL_HISTO_BUCKETS + 1];    /* not cumulative; last: above every bound */
    unsigned long long count;
    double sum;
} jl_histo_t;

void jl_histo_observe(jl_histo_t *h, double seconds);
/* Seconds on the monotonic clock, for measuring an interval. */
double jl_histo_clock(void);

#endif
