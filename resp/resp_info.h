/* resp_info.h -- INFO text and CLIENT LIST lines (see resp_info.c). */
#ifndef JL_RESP_INFO_H
#define JL_RESP_INFO_H

#include "resp/resp_client.h"
#include "server/buf.h"

/* The INFO text of the sections named (Redis 7: several at once, shown in
 * Redis's order whatever the order asked; none: the default set). */
void jl_resp_info(const jl_resp_t *resp, const char *const *want, const size_t *lens, size_t n,
                  jl_buf_t *out);
/* Appends one CLIENT LIST line for c (ending in '\n'). */
void jl_resp_describe(const jl_resp_client_t *c, jl_buf_t *out);

#endif
