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

# convergence: decay classes, Faratin beta, Kaplan-Meier still-open curve
c="$d/convergence.csv"
check "wrote convergence.csv" [ -s "$c" ]
check "report has a Convergence section" grep -q "^## Convergence" "$d/report.md"
check "headline has a convergence table" grep -q "^convergence" "$TMP/out"
cv() { awk -F, -v a="$1" -v l="$2" -v col="$3" 'NR > 1 && $1 == a && $2 == l { print $col; exit }' "$c"; }
# measured on small.yaml: boulware ~0.58, conceder ~2.7
check "buyer boulware median beta < 1 ($(cv buyer_tactic boulware 14))" \
    awk -v b="$(cv buyer_tactic boulware 14)" 'BEGIN { exit !(b != "" && b != "nan" && b < 1) }'
check "buyer conceder median beta > 1 ($(cv buyer_tactic conceder 14))" \
    awk -v b="$(cv buyer_tactic conceder 14)" 'BEGIN { exit !(b != "" && b != "nan" && b > 1) }'
check "convergence levels as in effectiveness.csv" \
    [ "$(awk -F, 'NR > 1 && $1 == "buyer_tactic" { print $2 }' "$c" | sort -u | tr '\n' ' ')" = "$(levels buyer_tactic)" ]
check "shares sum to 1 per level" \
    awk -F, 'NR > 1 { s = $10 + $11 + $12; if ($4 == 0 || s < 0.999999 || s > 1.000001) bad = 1 } END { exit bad }' "$c"
check "fitted = converging + stalling + diverging" \
    awk -F, 'NR > 1 && $4 != $5 + $6 + $7 { bad = 1 } END { exit bad }' "$c"
check "n = fitted + skipped + unfitted" \
    awk -F, 'NR > 1 && $3 != $4 + $8 + $9 { bad = 1 } END { exit bad }' "$c"
check "still_open within [0,1] and non-increasing in round" \
    awk -F, 'NR > 1 { k = $1 "," $2; if ($21 < 0 || $21 > 1) bad = 1;
             if (k == pk && ($20 != pr + 1 || $21 > ps + 1e-12)) bad = 1;
             if (k != pk && $20 != 1) bad = 1; pk = k; pr = $20; ps = $21 } END { exit bad }' "$c"
mr=$(h5dump -a /max_rounds "$f" 2>/dev/null | sed -n 's/.*(0): *\([0-9]*\).*/\1/p' | head -1)
check "rounds 1..max_rounds ($mr) per level" \
    awk -F, -v m="$mr" 'NR > 1 { n[$1 "," $2]++; if ($20 > m) bad = 1 } END { for (k in n) if (n[k] != m) bad = 1; exit bad || m == "" }' "$c"

# same seed, same numbers; default folder is FILE without .h5
"$NEGSIM" analyze "$f" --out "$TMP/an2" >/dev/null 2>&1
check "same seed, same effectiveness.csv" cmp -s "$e" "$TMP/an2/effectiveness.csv"
check "same seed, same convergence.csv" cmp -s "$c" "$TMP/an2/convergence.csv"
"$NEGSIM" analyze "$f" >/dev/null 2>&1
check "default folder FILE without .h5" [ -s "$TMP/small/report.md" ]

"$NEGSIM" analyze "$TMP/nope.h5" --out "$TMP/x" >/dev/null 2>"$TMP/err"
check "missing file fails" [ $? -ne 0 ]
check "missing file named" grep -q "nope.h5" "$TMP/err"
finish
