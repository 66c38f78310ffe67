# Crash safety: kill -9 at random moments (during the first run and during
# a resume) must leave a results file that opens, and --resume must then
# finish with tables identical to an uninterrupted run. Ctrl-C (SIGINT)
# stops cleanly with status 130 and resumes the same way.
. "$(dirname "$0")/lib.sh"
spec=tests/data/run/resume.yaml
t0=$(date +%s%N)
"$NEGSIM" run "$spec" -o "$TMP/ref.h5" -j2 -q >/dev/null; check "reference run" [ $? -eq 0 ]
ref_ms=$((($(date +%s%N) - t0) / 1000000))
# A random moment between 5% and 90% of an uninterrupted run's duration,
# so kills land mid-run however fast this machine is.
# (moment LO HI: between LO and HI of it, default 0.05 0.90.)
moment() {
    awk -v ms="$ref_ms" -v r="$RANDOM" -v lo="${1:-0.05}" -v hi="${2:-0.90}" \
        'BEGIN { printf "%.3f", ms * (lo + (hi - lo) * r / 32767) / 1000 }'
}

opens() { h5dump -H "$1" >/dev/null 2>&1; }
kill_after() { # kill_after SIGNAL SECONDS args...
    local sig=$1 secs=$2; shift 2
    "$NEGSIM" "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$secs"
    kill -"$sig" "$pid" 2>/dev/null
    wait "$pid"
}
for trial in 1 2 3 4 5; do
    f="$TMP/t$trial.h5"
    d1=$(moment)
    d2=$(moment)
    kill_after KILL "$d1" run "$spec" -o "$f" -j2 -q
    check "trial $trial: file opens after kill -9 at ${d1}s" opens "$f"
    kill_after KILL "$d2" run "$spec" -o "$f" -j2 -q --resume
    check "trial $trial: file opens after kill -9 during resume" opens "$f"
    "$NEGSIM" run "$spec" -o "$f" -j1 -q --resume >/dev/null 2>&1
    check "trial $trial: resume finishes" [ $? -eq 0 ]
    check "trial $trial: complete" [ "$(run_attr "$f" state)" = complete ]
    check "trial $trial: tables identical to uninterrupted run" same_tables "$TMP/ref.h5" "$f"
    check "trial $trial: journal removed" [ ! -e "$f.journal" ]
done

f="$TMP/int.h5"
# Interrupt once the journal holds records (the run is under way), not
# after a fixed time: under a loaded ctest -j the run may be much faster
# or slower than the reference run was.
"$NEGSIM" run "$spec" -o "$f" -j2 -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 500); do
    [ "$(stat -c %s "$f.journal" 2>/dev/null || echo 0)" -gt 4096 ] && break
    sleep 0.01
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
check "SIGINT exits 130 (got $rc)" [ $rc -eq 130 ]
check "interrupted state recorded" [ "$(run_attr "$f" state)" = interrupted ]
"$NEGSIM" run "$spec" -o "$f" -q 2>/dev/null
check "interrupted file not overwritten without --resume/--force" [ $? -eq 2 ]
"$NEGSIM" run "$spec" -o "$f" -j2 -q --resume >/dev/null
check "resume after SIGINT" [ $? -eq 0 ]
check "tables identical after SIGINT + resume" same_tables "$TMP/ref.h5" "$f"

# --limit stops early and --resume completes
f="$TMP/lim.h5"
"$NEGSIM" run "$spec" -o "$f" -q --limit 1000 >/dev/null; check "limited run" [ $? -eq 0 ]
check "limited run is incomplete" [ "$(run_attr "$f" state)" = interrupted ]
"$NEGSIM" run "$spec" -o "$f" -q --resume >/dev/null; check "resume after --limit" [ $? -eq 0 ]
check "tables identical after --limit + resume" same_tables "$TMP/ref.h5" "$f"

# a changed spec is refused on resume
f="$TMP/mis.h5"
"$NEGSIM" run "$spec" -o "$f" -q --limit 500 >/dev/null
sed 's/^seed: 99/seed: 100/' "$spec" >"$TMP/other.yaml"
"$NEGSIM" run "$TMP/other.yaml" -o "$f" -q --resume 2>"$TMP/err"
check "resume with another spec refused (exit 2)" [ $? -eq 2 ]
check "refusal explains" grep -q "different spec" "$TMP/err"
finish
