/* An empty target built with the same flags as the others: the baseline of
 * the exec/s ratio in fuzz/bench.sh.  Not one of the five targets of POLICY §6.
 */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)data;
  (void)size;
  return 0;
}
