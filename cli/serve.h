/* wsgate serve: the sans-IO session core behind real sockets.
 *
 * One epoll loop per thread, each with its own SO_REUSEPORT listener on the
 * same address; non-blocking sockets, TCP_NODELAY; a session's output is
 * written as the socket takes it and a connection with output still pending
 * is not read (backpressure).  Deadlines (handshake, first-message auth,
 * idle, close handshake, shutdown grace) are kept here, on a monotonic
 * clock, and reported to the core with ws_session_timeout.  One JSON line
 * per finished session to --log (or stderr) and a periodic stats line.
 * Lives in cli/, not core/: it uses sockets, threads, clocks and the fault
 * layer, none of which the core may touch. */
#ifndef WS_SERVE_H
#define WS_SERVE_H

/* argv excludes "serve".  Exit status: 0 after a clean shutdown
 * (SIGINT/SIGTERM), 2 for bad arguments or unreadable/invalid files, 1 when
 * the server could not start (bind, epoll, threads). */
int cmd_serve(int argc, char **argv);

#endif
