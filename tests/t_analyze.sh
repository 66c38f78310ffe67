# negsim analyze: effectiveness of each axis level, personality
# regressions, report files. Skips itself while the binary has no
# `analyze` command.
. "$(dirname "$0")/lib.sh"

if ! "$NEGSIM" analyze --help >/dev/null 2>&1; then
    echo "t_analyze: skipped (no analyze command in $NEGSIM)" >&2
    finish
fi

f="$TMP/small.h5"
"$NEGSIM" run tests/data/run/small.yaml -o "$f" -q >/dev/null
check "run exits 0" [ $? -eq 0 ]
cp "$f" "$TMP/before.h5"
d="$TMP/an"
"$NEGSIM" analyze "$f" --out "$d" >"$TMP/out" 2>"$TMP/err"
check "analyze exits 0" [ $? -eq 0 ]
for x in report.md effectiveness.csv regression.csv; do
    check "wrote $x" [ -s "$d/$x" ]
done
check "no .tmp left" [ -z "$(ls "$d" | grep '\.tmp$')" ]
check "results file untouched" cmp -s "$f" "$TMP/before.h5"
check "headline names buyer_tactic" grep -q "^buyer_tactic" "$TMP/out"
check "headline names seller_tactic" grep -q "^seller_tactic" "$TMP/out"
check "report names the seed" grep -q "seed 1" "$d/report.md"
check "report names the resamples" grep -q "1000 resamples" "$d/report.md"

jobs=$(run_attr "$f" jobs_done)
e="$d/effectiveness.csv"
# levels per axis, as in tests/data/run/small.yaml
levels() { awk -F, -v a="$1" 'NR > 1 && $1 == a { print $3 }' "$e" | sort | tr '\n' ' '; }
check "buyer_tactic levels" [ "$(levels buyer_tactic)" = "boulware conceder none tit_for_tat " ]
check "buyer_influence levels" [ "$(levels buyer_influence)" = "none scarcity " ]
check "seller_tactic levels" [ "$(levels seller_tactic)" = "anchoring deadline_pressure none " ]
check "seller_influence levels" [ "$(levels seller_influence)" = "none reciprocity " ]
for a in buyer_tactic buyer_influence seller_tactic seller_influence; do
    n=$(awk -F, -v a="$a" 'NR > 1 && $1 == a { s += $4 } END { print s }' "$e")
    check "$a n sums to $jobs jobs ($n)" [ "$n" = "$jobs" ]
done
check "deal rates inside their Wilson intervals" \
    awk -F, 'NR > 1 && !($7 <= $6 && $6 <= $8 && $7 >= 0 && $8 <= 1) { bad = 1 } END { exit bad }' "$e"
check "own utility inside its bootstrap interval" \
    awk -F, 'NR > 1 && !($10 <= $9 && $9 <= $11) { bad = 1 } END { exit bad }' "$e"
check "none rows have no comparison" \
    awk -F, 'NR > 1 && $3 == "none" && $19 != "nan" { bad = 1 } END { exit bad }' "$e"
check "conceder-vs-none row present" \
    awk -F, '$1 == "buyer_tactic" && $3 == "conceder" && $19 != "nan" { f = 1 } END { exit !f }' "$e"
# planted effect: a conceding buyer gives utility away (diff -0.06, q ~ 1e-14)
check "buyer conceder: lower buyer utility than none, q < 0.05" \
    awk -F, '$1 == "buyer_tactic" && $3 == "conceder" && $19 < 0 && $22 < 0.05 { f = 1 } END { exit !f }' "$e"
# small.yaml holds buyer openness constant: dropped, and said so
check "constant trait dropped in regression.csv" \
    grep -q "^ols_surplus_share_buyer,buyer_openness,dropped constant" "$d/regression.csv"
check "OLS fitted" grep -q "^ols_surplus_share_buyer,intercept,fitted" "$d/regression.csv"
check "report names dropped predictors" grep -q "Dropped predictors" "$d/report.md"

# same seed, same numbers; default folder is FILE without .h5
"$NEGSIM" analyze "$f" --out "$TMP/an2" >/dev/null 2>&1
check "same seed, same effectiveness.csv" cmp -s "$e" "$TMP/an2/effectiveness.csv"
"$NEGSIM" analyze "$f" >/dev/null 2>&1
check "default folder FILE without .h5" [ -s "$TMP/small/report.md" ]

"$NEGSIM" analyze "$TMP/nope.h5" --out "$TMP/x" >/dev/null 2>"$TMP/err"
check "missing file fails" [ $? -ne 0 ]
check "missing file named" grep -q "nope.h5" "$TMP/err"
finish
