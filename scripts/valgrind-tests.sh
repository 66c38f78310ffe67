#!/bin/sh
# Runs every C test program under valgrind (memcheck, full leak check) from
# the source root, as ctest does, and fails on any error or leak.
# Usage: scripts/valgrind-tests.sh BUILD_DIR
set -eu
build=${1:-build}
# test_http's memory case sends 20,000 requests; 2,000 show the same under
# valgrind in a fraction of the time
export NS_HTTP_TEST_N=2000
status=0
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        "$t" >"/tmp/valgrind-$name.log" 2>&1; then
        echo "valgrind $name: clean"
    else
        echo "valgrind $name: FAILED (see /tmp/valgrind-$name.log)"
        status=1
    fi
done
exit $status
