#!/usr/bin/env bash
# Lint for what the compiler does not catch (POLICY §7.2, §7.3, §7.4, §7.13):
#  - libc allocation only in core/mem.c; no exit/abort/assert in core/;
#  - no socket headers, clocks or randomness in core/;
#  - each dependency's headers in exactly one adapter file;
#  - no writable data symbols in the core library except the one documented
#    thread-local (core/mem.c: the session allocator the cJSON/OpenSSL
#    trampolines forward to);
#  - sources formatted by the committed .clang-format (when clang-format is
#    installed).
# usage: lint.sh SOURCE_DIR [CORE_LIBRARY]
set -u
src=${1:?source dir}
lib=${2:-}
cd "$src" || exit 2
fail=0
bad() { echo "lint: $*"; fail=1; }

core_c=$(ls core/*.c)
# grep over code only: drop comment lines ("/*", " *", "//").
code() { grep -nE "$1" "${@:2}" | grep -vE '^[^:]+:[0-9]+:\s*(/\*|\*|//)'; }
hits=$(code '(^|[^_a-zA-Z>.])(malloc|calloc|realloc|free)\s*\(' $core_c | grep -v '^core/mem.c:')
[ -z "$hits" ] || bad "libc allocation outside core/mem.c:"$'\n'"$hits"
hits=$(code '(^|[^_a-zA-Z>.])(exit|abort|assert|_Exit)\s*\(' $core_c core/*.h)
[ -z "$hits" ] || bad "exit/abort/assert in core:"$'\n'"$hits"
hits=$(code '#include <(sys/socket|netinet/[a-z]+|arpa/[a-z]+|time|sys/time|sys/random)\.h>|(^|[^_a-zA-Z>.])(time|rand|srand|random|getrandom|clock_gettime|gettimeofday)\s*\(' $core_c core/*.h)
[ -z "$hits" ] || bad "socket, clock or randomness in core:"$'\n'"$hits"

check_adapter() { # pattern, the one allowed file
  local files
  files=$(grep -lE "#include <$1" core/*.c core/*.h core/include/wsgate/*.h | sort -u)
  [ "$files" = "$2" ] || bad "<$1> must be included only by $2, found in: $(echo $files)"
}
check_adapter 'openssl/' core/crypto.c
check_adapter 'cjson/' core/json.c
check_adapter 'wslay/' core/frames.c

if [ -n "$lib" ]; then
  # Writable data lives in .data/.bss (and .tdata/.tbss for thread-locals);
  # .data.rel.ro is read-only after relocation.  UBSan's __unnamed_* type
  # descriptors are the sanitizer's, not ours.
  syms=$(objdump -t "$lib" | awk 'NF>=6 && $4 ~ /^\.(data|bss|tdata|tbss)/ && $4 !~ /^\.data\.rel\.ro/ {print $NF}' |
         grep -vE '^(ws_mem_tls_current|__unnamed_[0-9]+|\.(data|bss|tdata|tbss).*)$' | sort -u)
  [ -z "$syms" ] || bad "writable data symbols in $lib: $(echo $syms)"
  objdump -t "$lib" | grep -q 'tbss.*ws_mem_tls_current' || bad "expected thread-local ws_mem_tls_current in $lib"
fi

if command -v clang-format >/dev/null 2>&1; then
  files=$(git ls-files 'core/*.c' 'core/*.h' 'cli/*.c' 'cli/*.h' 'faults/*.c' 'faults/*.h' 'fuzz/*.c' 'fuzz/*.h' 'tests/*.c' 'tests/*.h' 2>/dev/null)
  [ -z "$files" ] || clang-format --dry-run -Werror $files >/dev/null 2>&1 || bad "not clang-formatted (run: clang-format -i <files>)"
fi

[ $fail -eq 0 ] && echo "lint: clean"
exit $fail
