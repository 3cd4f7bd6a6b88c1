/* Writes example client byte streams for `wsgate session` (README, CLI
 * tests): the upgrade request with a token signed by the committed test
 * keys, then masked frames.  Tokens expire at 2000000000; run the session
 * with --now 1700000000.
 *
 *   mkstream chat|fma|expired|badframe > stream.bin */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "tokens.h"

int main(int argc, char **argv) {
  const char *kind = argc > 1 ? argv[1] : "";
  const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"typ\":\"JWT\"}";
  char *tok, line[4096];
  tu_bytes b = {0};
  if (argc != 2 || (strcmp(kind, "chat") && strcmp(kind, "fma") &&
                    strcmp(kind, "expired") && strcmp(kind, "badframe"))) {
    /* Before anything is allocated: the usage path leaks nothing. */
    fprintf(stderr, "usage: mkstream chat|fma|expired|badframe > stream.bin\n");
    return 2;
  }
  if (strcmp(kind, "expired") == 0)
    tok = tok_sign(WS_ALG_HS256, "hs256", hdr,
                   "{\"sub\":\"alice\",\"exp\":1600000000}");
  else
    tok = tok_sign(WS_ALG_HS256, "hs256", hdr,
                   "{\"sub\":\"alice\",\"exp\":2000000000}");
  if (strcmp(kind, "fma") == 0) {
    tu_request(&b, NULL);
    snprintf(line, sizeof(line), "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
    tu_text(&b, line);
    tu_text(&b, "{\"type\":\"user_message\",\"text\":\"hi\"}");
    tu_close(&b, 1000, NULL);
  } else {
    snprintf(line, sizeof(line), "Authorization: Bearer %s\r\n", tok);
    tu_request(&b, line);
    if (strcmp(kind, "badframe") == 0) {
      tu_frame(&b, 1, 0x2, "\x01", 1); /* binary: 1003 */
    } else {
      tu_frame(&b, 1, 0x9, "hb", 2);
      tu_text(&b, "{\"type\":\"ping\"}");
      tu_text(&b, "{\"type\":\"user_message\",\"text\":\"hello\"}");
      tu_close(&b, 1000, "bye");
    }
  }
  fwrite(b.p, 1, b.n, stdout);
  tu_bytes_free(&b);
  free(tok);
  return 0;
}
