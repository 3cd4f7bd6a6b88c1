/* Copying a session that is past its upgrade (for the fuzz harness).
 *
 * Every fuzz input of the frame loop would otherwise replay the same
 * upgrade request, token verification and context factory before its first
 * frame.  Instead the harness runs that prefix once, keeps the open session,
 * and starts each input from a copy of it on the input's own environment
 * (fault plan, counting allocator, randomness): the copy then behaves as
 * the original would from that point on. */
#ifndef WS_CLONE_H
#define WS_CLONE_H

#include "wsgate/wsgate.h"

/* Makes *out a new session on env that continues from src: src must be
 * open (upgraded, authenticated, its context built), at a frame boundary
 * with no message in progress and no pending output.  The copy has src's
 * config, keys, context (user id and ids), trail and limits, a fresh frame
 * loop, and nothing to send.  Errors: WS_ERR_ARG (NULL arguments or env
 * without now/random), WS_ERR_STATE (src not in that state, or
 * ws_global_init not done), WS_ERR_NOMEM. */
int ws_session_clone_open(ws_session **out, const ws_session *src,
                          const ws_env *env);

#endif
