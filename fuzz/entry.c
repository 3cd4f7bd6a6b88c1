/* The libFuzzer entry points of every target built on fz_target_decode:
 * set up once (keys, configs, snapshots; under AFL++ this runs before the
 * fork server, so no child pays for it again), then for each input decode
 * it into a case, run it with every check, free it. */
#include "common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_case c;
  fz_init();
  if (fz_target_decode(data, size, &c) != 0) return 0;
  if (c.run)
    c.run(&c);
  else
    fz_run_case(&c);
  fz_case_free(&c);
  return 0;
}
