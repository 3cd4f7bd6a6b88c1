/* The libFuzzer entry point of every target built on fz_target_decode:
 * decode the input into a case, run it with every check, free it. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
