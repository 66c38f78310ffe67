# Shared helpers for the shell tests (sourced). Each test gets a scratch
# folder that is removed on exit, and counts its checks so that it ends
# with the "N passed, N failed" line ctest's log shows.
set -u
NEGSIM=${1:?usage: $0 path/to/negsim}
TMP=$(mktemp -d /tmp/negsim-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# Debian's interpreter, where python3-h5py is installed (a python3 earlier
# on PATH, e.g. from pyenv, would not have it).
PY=/usr/bin/python3
PASSED=0
FAILED=0
ok()   { PASSED=$((PASSED + 1)); }
bad()  { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }
check() { # check "description" command...
    local what=$1; shift
    if "$@"; then ok; else bad "$what"; fi
}
finish() {
    echo "$(basename "$0" .sh): $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}
# The four tables of two results files are identical, byte for byte.
same_tables() {
    "$PY" "$(dirname "$0")/same_tables.py" "$1" "$2"
}
# The value of a string attribute of /run, e.g. run_attr FILE state.
run_attr() {
    h5dump -a "/run/$2" "$1" 2>/dev/null | sed -n 's/.*(0): *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' | head -1
}
