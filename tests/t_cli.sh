# The command line behaves as GNU tools do: --help and --version on
# stdout with status 0, usage errors on stderr with status 2, and errors
# that name the problem.
. "$(dirname "$0")/lib.sh"

out=$("$NEGSIM" --help); check "--help exits 0" [ $? -eq 0 ]
check "--help lists commands" grep -q "validate SPEC" <<<"$out"
out=$("$NEGSIM" --version); check "--version exits 0" [ $? -eq 0 ]
check "--version names negsim" grep -qE "^negsim [0-9]+\.[0-9]+" <<<"$out"
for c in run validate plan show export; do
    out=$("$NEGSIM" $c --help); rc=$?
    check "$c --help exits 0" [ $rc -eq 0 ]
    check "$c --help shows usage" grep -q "Usage: negsim $c" <<<"$out"
done
"$NEGSIM" frobnicate 2>"$TMP/err"; check "unknown command exits 2" [ $? -eq 2 ]
check "unknown command named" grep -q "unknown command 'frobnicate'" "$TMP/err"
"$NEGSIM" run --bogus x 2>"$TMP/err"; check "bad option exits 2" [ $? -eq 2 ]
check "bad option hint" grep -q "Try 'negsim run --help'" "$TMP/err"
"$NEGSIM" run 2>/dev/null; check "missing SPEC exits 2" [ $? -eq 2 ]
"$NEGSIM" run tests/data/run/small.yaml -j 0 2>/dev/null; check "-j 0 exits 2" [ $? -eq 2 ]
"$NEGSIM" validate "$TMP/nope.yaml" 2>"$TMP/err"; check "missing spec exits 2" [ $? -eq 2 ]
check "missing spec named" grep -q "nope.yaml" "$TMP/err"

# validate and plan write nothing
sed "s|file: results/small.h5|file: $TMP/never.h5|" tests/data/run/small.yaml >"$TMP/small.yaml"
out=$("$NEGSIM" validate "$TMP/small.yaml"); check "validate ok" [ $? -eq 0 ]
check "validate counts jobs" grep -qE "ok: [0-9]+ jobs" <<<"$out"
out=$("$NEGSIM" plan "$TMP/small.yaml" -s 200); check "plan ok" [ $? -eq 0 ]
check "plan shows axes" grep -q "buyer.tactic" <<<"$out"
check "plan estimates time" grep -q "run time:" <<<"$out"
check "plan estimates size" grep -q "on disk" <<<"$out"
check "validate/plan wrote nothing" [ ! -e "$TMP/never.h5" ]

# an empty ZOPA is reported, not refused
printf 'scenarios: [%s]\n' "$PWD/tests/data/scenarios/empty_zopa.yaml" >"$TMP/ez.yaml"
"$NEGSIM" validate "$TMP/ez.yaml" >/dev/null 2>"$TMP/err"
check "empty ZOPA validates (exit 0)" [ $? -eq 0 ]
check "empty ZOPA warned about" grep -q "warning: .*empty ZOPA" "$TMP/err"

# run; never overwrite without --force; --resume on a finished run is a no-op
f="$TMP/a.h5"
"$NEGSIM" run tests/data/run/small.yaml -o "$f" -q >"$TMP/out" 2>"$TMP/err"
check "run exits 0" [ $? -eq 0 ]
check "summary on stdout" grep -q "deals:" "$TMP/out"
check "nothing on stderr with -q" [ ! -s "$TMP/err" ]
check "state complete" [ "$(run_attr "$f" state)" = complete ]
check "no journal left" [ ! -e "$f.journal" ]
cp "$f" "$TMP/copy.h5"
"$NEGSIM" run tests/data/run/small.yaml -o "$f" -q 2>"$TMP/err"
check "existing file refused (exit 2)" [ $? -eq 2 ]
check "refusal names --force" grep -q -- "--force" "$TMP/err"
check "refused file untouched" cmp -s "$f" "$TMP/copy.h5"
"$NEGSIM" run tests/data/run/small.yaml -o "$f" -q --resume 2>"$TMP/err"
check "resume of finished run exits 0" [ $? -eq 0 ]
check "resume says nothing to do" grep -q "nothing to do" "$TMP/err"
check "finished file untouched" cmp -s "$f" "$TMP/copy.h5"
"$NEGSIM" run tests/data/run/small.yaml -o "$f" -q --force >/dev/null
check "--force replaces" [ $? -eq 0 ]

# --resume on a file that does not exist yet starts the run
"$NEGSIM" run tests/data/run/small.yaml -o "$TMP/new.h5" -q --resume >/dev/null
check "--resume without a file starts the run" [ "$(run_attr "$TMP/new.h5" state)" = complete ]

# show and export
out=$("$NEGSIM" show "$f" --job 0); check "show exits 0" [ $? -eq 0 ]
check "show prints messages" grep -qi "buyer" <<<"$out"
"$NEGSIM" show "$f" --job 999999999 2>/dev/null; check "show unknown job fails" [ $? -ne 0 ]
"$NEGSIM" export "$f" --csv "$TMP/csv" >/dev/null; check "export exits 0" [ $? -eq 0 ]
for t in jobs outcomes rounds transcripts; do
    check "export wrote $t.csv" [ -s "$TMP/csv/$t.csv" ]
done
jobs=$(($(wc -l <"$TMP/csv/jobs.csv") - 1))
outs=$(($(wc -l <"$TMP/csv/outcomes.csv") - 1))
check "one outcome per job in CSV ($jobs vs $outs)" [ "$jobs" -eq "$outs" ]
finish
