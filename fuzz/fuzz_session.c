/* fuzz_session: a fault plan (the leading bytes, as libxml2's fuzzers do)
 * plus a whole client byte stream.
 *
 * Input: a fault plan (ws_fault_plan_decode), one byte choosing the config,
 * then the bytes a client writes, in which "@@TOKEN(<claims>)@@" is replaced
 * by the token of <claims> signed with the test HS256 key (so the fuzzer
 * reaches auth, the context factory and the frame loop with real tokens).
 * The run without faults must keep the promise; the run with the plan is
 * judged against it (absorbed, or a diagnosis that blames the fault). */
#include <stdlib.h>

#include "common.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ws_fault_plan plan;
  ws_run_spec spec;
  uint8_t *stream;
  size_t used, len = 0;
  fz_init();
  used = ws_fault_plan_decode(&plan, data, size);
  if (size <= used) return 0;
  if (!(stream = fz_expand(data + used + 1, size - used - 1, &len))) return 0;
  fz_spec(&spec, fz_config(data[used]), stream, len);
  fz_run_judged("fuzz_session", &spec, &plan);
  free(stream);
  return 0;
}
