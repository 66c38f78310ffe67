# The results layout stays usable from Python: h5py (Debian's python3-h5py)
# reads every table into numpy, with consistent row counts and ids.
. "$(dirname "$0")/lib.sh"
"$NEGSIM" run tests/data/run/small.yaml -o "$TMP/r.h5" -q >/dev/null
check "run" [ $? -eq 0 ]
"$PY" tests/read_results.py "$TMP/r.h5"
check "h5py reads the results" [ $? -eq 0 ]
finish
