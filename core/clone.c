/* ws_session_clone_open: see clone.h. */
#include "clone.h"

#include <string.h>

#include "session_int.h"

int ws_session_clone_open(ws_session **out, const ws_session *src,
                          const ws_env *env) {
  ws_session *s = NULL;
  ws_frames_handler h;
  ws_mem *prev;
  int rc;
  if (!out) return WS_ERR_ARG;
  *out = NULL;
  if (!src || !env) return WS_ERR_ARG;
  if (src->state != WS_S_OPEN || !src->authenticated || !src->ctx ||
      !src->frames || src->out.len || src->head.len)
    return WS_ERR_STATE;
  if (ws_frames_eof(src->frames) != WS_DIAG_EOF_CLEAN) return WS_ERR_STATE;
  if ((rc = ws_session_new(&s, src->cfg, src->keys, env)) != WS_OK) return rc;
  prev = ws_mem_enter(&s->mem);
  rc = WS_ERR_NOMEM;
  if (!(s->ctx = ws_mem_malloc(&s->mem, sizeof(*s->ctx)))) goto fail;
  memcpy(s->ctx, src->ctx, sizeof(*s->ctx));
  h.on_text = ws_message_on_text;
  h.ud = s;
  if (ws_frames_new(&s->frames, &s->mem, s->cfg->max_message_bytes, &s->out,
                    &h) != 0)
    goto fail;
  s->outcome = src->outcome;
  s->authenticated = 1;
  s->state = WS_S_OPEN;
  s->stage = WS_STAGE_FRAMES;
  ws_mem_leave(prev);
  *out = s;
  return WS_OK;
fail:
  ws_mem_leave(prev);
  ws_session_free(s);
  return rc;
}
