#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build of wsgate's fuzz targets.
#
# Honors what the infrastructure sets: $CC $CXX $CFLAGS $CXXFLAGS
# $LIB_FUZZING_ENGINE $SANITIZER $OUT $SRC $WORK.  Links the targets with
# $CXX.  Builds static, instrumented wslay and cJSON from $SRC/wslay and
# $SRC/cJSON (the Dockerfile clones them; their source is never part of
# wsgate), and OpenSSL 3 from $SRC/openssl when it is there (else the
# system's, which must be >= 3.0).  Writes to $OUT: every fuzz_<name>, its
# <target>_seed_corpus.zip (seeds + fixed crashes), .dict and .options.
#
# Locally (see fuzz/oss-fuzz/local.sh) the same script runs with the
# environment OSS-Fuzz would set.
WSGATE=${WSGATE:-$SRC/wsgate}

# OSS-Fuzz's AFL++ builds sometimes set AFL_LLVM_LAF_ALL; its compare
# transform turns memcmp against a constant array into a string compare cut
# at the first NUL byte.  core/crypto.c orders big-endian integers with a
# loop (be_cmp), not memcmp, so every LAF-Intel pass is kept here.
JOBS=${JOBS:-$(nproc)}
deps=$WORK/deps
mkdir -p "$deps"
# No CMAKE_BUILD_TYPE anywhere: its -O2/-O3, -g and -DNDEBUG would override
# the infrastructure's $CFLAGS (-O1 -gline-tables-only ...).
# CMAKE_POLICY_VERSION_MINIMUM lets CMake >= 4 configure the dependencies,
# whose cmake_minimum_required predates 3.5 (older CMake ignores it).
dep_cmake=(-DCMAKE_BUILD_TYPE= -DCMAKE_POLICY_VERSION_MINIMUM=3.5
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS"
  -DCMAKE_INSTALL_PREFIX="$deps" -DCMAKE_INSTALL_LIBDIR=lib)

# cJSON 1.7.15 (static, with the fuzzing flags).
cmake -S "$SRC/cJSON" -B "$WORK/build-cjson" "${dep_cmake[@]}" \
  -DBUILD_SHARED_LIBS=OFF -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
  -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DENABLE_CJSON_UNINSTALL=OFF >/dev/null
cmake --build "$WORK/build-cjson" -j"$JOBS" >/dev/null
cmake --install "$WORK/build-cjson" >/dev/null

# wslay 1.1.1 (static).
cmake -S "$SRC/wslay" -B "$WORK/build-wslay" "${dep_cmake[@]}" \
  -DWSLAY_STATIC=ON -DWSLAY_SHARED=OFF -DWSLAY_TESTS=OFF \
  -DWSLAY_EXAMPLES=OFF >/dev/null
cmake --build "$WORK/build-wslay" -j"$JOBS" >/dev/null
cmake --install "$WORK/build-wslay" >/dev/null

openssl_args=()
if [ -d "$SRC/openssl" ]; then
  if [ ! -f "$deps/lib/libcrypto.a" ]; then
    (cd "$SRC/openssl" &&
      CC="$CC" CFLAGS="$CFLAGS" ./Configure no-shared no-tests no-apps no-asm \
        no-module --prefix="$deps" --libdir=lib >/dev/null &&
      make -j"$JOBS" build_libs >/dev/null && make install_dev >/dev/null)
  fi
  openssl_args=(-DOPENSSL_ROOT_DIR="$deps" -DOPENSSL_USE_STATIC_LIBS=TRUE)
fi

# wsgate's targets, linked by $CXX with $LIB_FUZZING_ENGINE.
PKG_CONFIG_PATH="$deps/lib/pkgconfig" cmake -S "$WSGATE" -B "$WORK/build-wsgate" \
  -DCMAKE_BUILD_TYPE= \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DWSGATE_FUZZ_ENGINE=external -DWSGATE_FUZZ_LINK="$LIB_FUZZING_ENGINE" \
  -DWSGATE_TESTS=OFF -DWSGATE_BENCH=OFF -DWSGATE_SANITIZE= \
  -DWSLAY_INCLUDE_DIR="$deps/include" -DWSLAY_LIBRARY="$deps/lib/libwslay.a" \
  -DCMAKE_PREFIX_PATH="$deps" "${openssl_args[@]}" >/dev/null
cmake --build "$WORK/build-wsgate" -j"$JOBS" --target \
  fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session fuzz_empty

for t in fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session; do
  cp "$WORK/build-wsgate/fuzz/$t" "$WORK/build-wsgate/fuzz/$t.dict" \
    "$WORK/build-wsgate/fuzz/$t.options" "$OUT/"
  rm -f "$OUT/${t}_seed_corpus.zip"
  # Regressions not already among the seeds: files are named by their
  # SHA-1, so the same name is the same input, and zip refuses a name twice.
  fixed=()
  while IFS= read -r f; do
    [ -e "$WSGATE/corpus/$t/$(basename "$f")" ] || fixed+=("$f")
  done < <(find "$WSGATE/corpus/regressions/$t" -type f ! -name '.*')
  zip -q -j "$OUT/${t}_seed_corpus.zip" "$WSGATE/corpus/$t"/* \
    ${fixed[@]+"${fixed[@]}"}
done
