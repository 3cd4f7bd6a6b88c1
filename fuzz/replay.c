/* A plain main for any fuzz target: runs LLVMFuzzerTestOneInput once over
 * each file given, and over each file of each directory given (hidden
 * files skipped).  ctest replays the seed corpora and the fixed crashes
 * with it, no fuzzer needed; a broken promise aborts as it would under the
 * fuzzer.  Exit 0, or 2 on bad arguments or unreadable paths. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  long n;
  uint8_t *buf;
  if (!f) {
    perror(path);
    return -1;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return -1;
  }
  /* Exactly n bytes, so ASan sees a read past the input. */
  buf = malloc(n ? (size_t)n : 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  unsigned long files = 0;
  int i;
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 2;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR *d = opendir(argv[i]);
      struct dirent *e;
      if (!d) {
        perror(argv[i]);
        return 2;
      }
      while ((e = readdir(d)) != NULL) {
        char path[4096];
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
        if (run_file(path) != 0) {
          closedir(d);
          return 2;
        }
        files++;
      }
      closedir(d);
    } else {
      if (run_file(argv[i]) != 0) return 2;
      files++;
    }
  }
  printf("%s: %lu inputs replayed, promise kept\n", argv[0], files);
  return 0;
}
