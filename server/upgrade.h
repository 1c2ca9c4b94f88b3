/* upgrade.h -- replacing the running process without closing its ports.
 *
 * SIGUSR2 starts a new process from the binary this one was started from
 * (so a package upgrade runs the new version), with the same command line,
 * and passes it the listening sockets (JL_INHERIT_LISTENERS_ENV): no port is
 * ever closed, and connections that arrive meanwhile wait in the backlog.
 * The two talk over a socketpair, one byte at a time:
 *
 *   new -> old  'P'  configured and listening, ready to load the history
 *   old -> new  'G'  this process no longer reads or accepts anything (the
 *                    server is held, jl_server_hold) and its history is in
 *                    the file the new one was told of
 *   new -> old  'R'  the history is loaded and the new process accepts
 *
 * On 'R' the old process tells systemd the new main PID and shuts down as
 * on SIGTERM: every stream gets a jittered retry: and closes, the browsers
 * reconnect to the new process with their Last-Event-ID and resume from
 * the history it loaded, and RESP clients get what they are owed. Nothing
 * is published between the history's save and the new process accepting,
 * so no accepted event is missing from it. Should the new process exit,
 * fail to say 'P' or 'R' within JL_UPGRADE_TIMEOUT seconds, or the history
 * not save, it is killed if need be, the hold is lifted and this process
 * carries on as before, with a log line saying why. */
#ifndef JL_UPGRADE_H
#define JL_UPGRADE_H

#include "server/server.h"

#define JL_UPGRADE_TIMEOUT 30.0

typedef struct jl_upgrade jl_upgrade_t;

/* Installs the SIGUSR2 handler. argv (NULL-terminated; the command line
 * before its secrets were blanked) is borrowed and must outlive u. */
jl_upgrade_t *jl_upgrade_new(jl_server_t *srv, char **argv);
void jl_upgrade_free(jl_upgrade_t *u);

/* ---- the new process's side ---- */

/* In a process started by a restart: the control socket, and in *history
 * the file to load the history from (the caller frees it), both taken out
 * of the environment. Else -1 and *history NULL. */
int jl_upgrade_child_begin(char **history);
/* Says 'P' and waits (blocking: the loop does not run yet) for 'G'.
 * Returns 0, or -1 if the old process went away or never answered (then
 * there is no history to load). */
int jl_upgrade_child_prepared(int fd);
/* Says 'R' and closes fd: the old process drains from here. */
void jl_upgrade_child_ready(int fd);

#endif
