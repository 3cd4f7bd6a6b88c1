#!/bin/bash -eu
# ClusterFuzzLite build: the same script as OSS-Fuzz's, from this checkout.
exec bash -eu "$SRC/wsgate/fuzz/oss-fuzz/build.sh"
