/* histogram.c -- fixed-bucket histograms (see histogram.h). */
#include "server/histogram.h"

#include <time.h>

const double jl_histo_bounds[JL_HISTO_BUCKETS] = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
    0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1.0,
};

void jl_histo_observe(jl_histo_t *h, double seconds)
{
    int i = 0;
    while (i < JL_HISTO_BUCKETS && seconds > jl_histo_bounds[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += seconds;
}

double jl_histo_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
