/* resp_commands.h -- executing RESP commands on a client (resp_commands.c).
 *
 * The session (resp_session.c) parses; this module decides what a command
 * means and answers it as Redis does. */
#ifndef JL_RESP_COMMANDS_H
#define JL_RESP_COMMANDS_H

#include "resp/resp_client.h"

#include <stddef.h>

/* Executes one command (argv slices valid during the call) and queues its
 * reply on the client's connection, followed by the pushes it caused this
 * client to receive. A PUBLISH answered later (an upstream) leaves the
 * client JL_RESP_BLOCKED with its input paused; the answer unblocks it and
 * resumes its input from the loop. */
void jl_resp_execute(jl_resp_client_t *c, size_t argc, const char **argv, const size_t *argvlen);

/* Drops the MULTI queue and leaves MULTI state. */
void jl_resp_discard_multi(jl_resp_client_t *c);

/* Forgets what a client being freed still holds here: its pending relay
 * answer and the pushes held back for it. */
void jl_resp_forget(jl_resp_client_t *c);

#endif
