/* resp_session.h -- the RESP listener's side: accepting and running clients.
 *
 * main.c creates one jl_resp_t for the server and opens the RESP listeners
 * with jl_resp_accept; everything else about a client lives in
 * resp_client.h (its state) and resp_commands.h (what its commands do). */
#ifndef JL_RESP_SESSION_H
#define JL_RESP_SESSION_H

#include "resp/resp_client.h"

typedef struct jl_server jl_server_t;

/* acl: the users (must outlive the RESP side). */
jl_resp_t *jl_resp_new(jl_server_t *srv, jl_acl_t *acl);
/* Makes c the default user, authenticated if that needs no password
 * (a new connection, RESET). */
void jl_resp_session_login_default(jl_resp_client_t *c);
/* After jl_server_close_all: no client may be left. NULL is a no-op. */
void jl_resp_free(jl_resp_t *resp);
/* jl_accept_fn for the RESP listeners (ud: the jl_resp_t). over_cap:
 * refused with Redis's max-clients error. */
void jl_resp_accept(void *ud, jl_server_t *srv, int fd, int unix_socket, int over_cap,
                    jl_tls_t *tls);

#endif
