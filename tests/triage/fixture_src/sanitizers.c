/* Test data generator for tests/triage (gen_fixtures.sh): each mode makes
 * the sanitizers report one kind of bug, so the triage tests classify real
 * reports of this toolchain.  Not part of any build of the project.
 *
 *   sanitizers MODE      (libFuzzer build: the input's first byte is MODE)
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char global_buf[8];
static volatile int sink;

__attribute__((noinline)) static char *keep_block(size_t n) {
  return malloc(n);
}

__attribute__((noinline)) static void leak_direct(void) {
  char *p = keep_block(24);
  p[0] = 1;
  sink = p[0];
}

__attribute__((noinline)) static int add_counts(int a, int b) {
  return a + b;
}

__attribute__((noinline)) static int descend(int depth) {
  volatile char frame[512];
  frame[0] = (char)depth;
  return descend(depth + 1) + frame[0];
}

/* Through a pointer, so UBSan's bounds check does not see the array and
 * AddressSanitizer reports the access. */
__attribute__((noinline)) static void write_past_stack(int i) {
  volatile char buf[8];
  volatile char *p = buf;
  p[i] = 1;
}

__attribute__((noinline)) static int read_global(int i) {
  char *volatile p = global_buf;
  return p[i];
}

__attribute__((noinline)) static void release_twice(void) {
  char *volatile p = malloc(16);
  free(p);
  free(p);
}

__attribute__((noinline)) static int read_null(int *p) {
  return *p;
}

__attribute__((noinline)) static int index_table(int i) {
  int table[4] = {1, 2, 3, 4};
  return table[i];
}

__attribute__((noinline)) static void spin(void) {
  for (;;) sink++;
}

__attribute__((noinline)) static void grab(void) {
  for (;;) {
    char *p = malloc(1 << 20);
    memset(p, 1, 1 << 20);
    sink += p[7];
  }
}

static int run_mode(int mode, int arg) {
  switch (mode) {
    case 'l': leak_direct(); return 0;
    case 'i': return add_counts(INT_MAX, arg);
    case 's': return descend(0);
    case 'b': write_past_stack(8 + arg - 1); return 0;
    case 'g': return read_global(8 + arg - 1);
    case 'd': release_twice(); return 0;
    case 'n': return read_null((int *)(intptr_t)(16 * arg));
    case 'w': return read_null((int *)(intptr_t)0x7f0000001000ull);
    case 'x': return index_table(4 + arg - 1);
    case 't': spin(); return 0;
    case 'o': grab(); return 0;
  }
  return 0;
}

#ifdef FUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0) sink = run_mode(data[0], 1);
  return 0;
}
#else
int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s l|i|s|b|g|d|n|w|x|t|o\n", argv[0]);
    return 2;
  }
  return run_mode(argv[1][0], argc - 1);
}
#endif
