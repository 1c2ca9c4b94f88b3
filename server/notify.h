/* notify.h -- telling the service manager (systemd) what state we are in.
 *
 * The sd_notify(3) protocol without libsystemd: when a service manager
 * starts us with Type=notify it names an AF_UNIX datagram socket in
 * $NOTIFY_SOCKET, and each state change is one datagram of "KEY=VALUE"
 * lines ("READY=1" once the listeners are up, "STOPPING=1" when a clean
 * shutdown starts). Started any other way, there is no $NOTIFY_SOCKET and
 * nothing is sent. */
#ifndef JL_NOTIFY_H
#define JL_NOTIFY_H

/* Sends 'state' as one datagram to the socket named by $NOTIFY_SOCKET: a
 * path, or a name in the abstract namespace when it starts with '@'.
 * Returns 1 if sent, 0 if $NOTIFY_SOCKET is unset or empty (not run by a
 * service manager), or -errno: -EAFNOSUPPORT for an address that is neither
 * (systemd's vsock: form is not supported), -ENAMETOOLONG for one longer
 * than sun_path, or socket()/sendto()'s error. Never blocks, logs nothing,
 * leaves no descriptor open. */
int jl_notify(const char *state);

#endif
