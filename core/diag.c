/* The diagnosis table (POLICY §7.6): one row per code, built from WS_DIAG_LIST.
 */
#include <string.h>

#include "wsgate/diag.h"

static const ws_diag_info diag_rows[] = {
    {WS_DIAG_NONE, NULL, WS_STAGE_HANDSHAKE, WS_CLASS_NONE, 0, 0, NULL},
#define WS_DIAG_ROW_(id, st, cl, http, close, desc) \
  {WS_DIAG_##id, #id, WS_STAGE_##st, WS_CLASS_##cl, http, close, desc},
    WS_DIAG_LIST(WS_DIAG_ROW_)
#undef WS_DIAG_ROW_
};

const ws_diag_info *ws_diag_get(ws_diag d) {
  if ((int)d <= 0 || (int)d >= (int)WS_DIAG_COUNT_) return NULL;
  return &diag_rows[d];
}

const ws_diag_info *ws_diag_find(const char *code) {
  int i;
  if (!code) return NULL;
  for (i = 1; i < (int)WS_DIAG_COUNT_; i++)
    if (strcmp(diag_rows[i].code, code) == 0) return &diag_rows[i];
  return NULL;
}

int ws_diag_count(void) {
  return (int)WS_DIAG_COUNT_ - 1;
}

const char *ws_stage_name(ws_stage st) {
  static const char *const names[] = {"handshake", "auth", "context", "frames"};
  return (unsigned)st < 4 ? names[st] : "?";
}

const char *ws_class_name(ws_class cl) {
  static const char *const names[] = {
      "none", "protocol", "auth", "policy", "resource", "internal", "message"};
  return (unsigned)cl < 7 ? names[cl] : "?";
}
