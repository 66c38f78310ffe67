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
check "run tables byte-identical after analyze" same_tables "$f" "$TMP/before.h5"
check "/analysis readable by h5py, with its tables and attributes" "$PY" -c '
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    g = f["analysis"]
    for t in ("effectiveness", "regression", "convergence", "survival"):
        assert g[t].ndim == 1 and len(g[t]) > 0, t
    assert "cost" not in g and "judge" not in g
    assert g.attrs["bootstrap"] == 1000 and g.attrs["seed"] == 1
    assert g.attrs["negsim_version"] and g.attrs["created"]
    e = g["effectiveness"]
    assert len(e) == sum(1 for _ in open(sys.argv[2])) - 1
    assert set(e.dtype.names) >= {"axis", "level", "diff_lo", "diff_hi"}
' "$f" "$d/effectiveness.csv"
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

# the per-negotiation fits run on OpenMP threads and are merged in job
# order: every number must be the same whatever the thread count
same_outputs() { # DIR1 DIR2: same CSV files, same report but the date line
    [ "$(ls "$1")" = "$(ls "$2")" ] && ls "$1"/*.csv >/dev/null 2>&1 || return 1
    for x in "$1"/*.csv; do cmp -s "$x" "$2/${x##*/}" || return 1; done
    cmp -s <(grep -v '^- analysed:' "$1/report.md") <(grep -v '^- analysed:' "$2/report.md")
}
for t in 1 2 3; do
    OMP_NUM_THREADS=$t "$NEGSIM" analyze "$f" --out "$TMP/omp$t" --by scenario >/dev/null 2>&1
done
"$NEGSIM" analyze "$f" --out "$TMP/ompd" --by scenario >/dev/null 2>&1
check "OMP_NUM_THREADS=3 wrote fitted betas" \
    awk -F, 'NR > 1 && $14 != "nan" && $14 != "" { f = 1 } END { exit !f }' "$TMP/omp3/convergence.csv"
check "OMP_NUM_THREADS=1 and 2: identical outputs" same_outputs "$TMP/omp1" "$TMP/omp2"
check "OMP_NUM_THREADS=1 and 3: identical outputs" same_outputs "$TMP/omp1" "$TMP/omp3"
check "OMP_NUM_THREADS unset: the same outputs" same_outputs "$TMP/omp1" "$TMP/ompd"

# Welch interval of the difference vs none, regression intervals
check "diff inside [diff_lo, diff_hi] and interval excludes 0 when q < 0.001" \
    awk -F, 'NR > 1 && $19 != "nan" && !($23 <= $19 && $19 <= $24) { bad = 1 }
             NR > 1 && $22 != "nan" && $22 < 0.001 && $23 <= 0 && $24 >= 0 { bad = 1 } END { exit bad }' "$e"
check "regression ci_lo <= coef <= ci_hi, header ends in ci_lo,ci_hi" \
    awk -F, 'NR == 1 && $10 != "ci_lo" { bad = 1 } NR == 1 && $11 != "ci_hi" { bad = 1 }
             NR > 1 && $3 == "fitted" && !($10 <= $5 && $5 <= $11) { bad = 1 } END { exit bad }' "$d/regression.csv"
check "effectiveness.csv keeps its first 22 columns" \
    [ "$(head -1 "$e" | cut -d, -f1-22)" = "axis,side,level,n,deals,deal_rate,deal_rate_lo,deal_rate_hi,own_utility_mean,own_utility_lo,own_utility_hi,surplus_share_n,surplus_share_mean,surplus_share_lo,surplus_share_hi,joint_utility_mean,joint_utility_lo,joint_utility_hi,diff_vs_none,hedges_g,welch_p,bh_q" ]

# re-running replaces /analysis (one group, new --by attribute); --by tables
"$NEGSIM" analyze "$f" --out "$TMP/by" --by scenario,opener >/dev/null 2>&1
check "--by exits 0" [ $? -eq 0 ]
check "run tables still byte-identical" same_tables "$f" "$TMP/before.h5"
b="$TMP/by/effectiveness_by.csv"
check "effectiveness_by.csv starts with the --by columns" \
    [ "$(head -1 "$b" | cut -d, -f1-3)" = "scenario,opener,axis" ]
check "per cell n sums to the level's n" "$PY" -c '
import csv, sys
main = {(r["axis"], r["level"]): int(r["n"]) for r in csv.DictReader(open(sys.argv[1]))}
by = {}
for r in csv.DictReader(open(sys.argv[2])):
    by[(r["axis"], r["level"])] = by.get((r["axis"], r["level"]), 0) + int(r["n"])
assert by == main, (by, main)
' "$e" "$b"
check "convergence_by.csv written" [ -s "$TMP/by/convergence_by.csv" ]
check "report has a By section" grep -q "^## By scenario × opener" "$TMP/by/report.md"
check "/analysis replaced: by attribute, effectiveness_by, one group" "$PY" -c '
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    g = f["analysis"]
    assert g.attrs["by"] == "scenario,opener", g.attrs["by"]
    assert "effectiveness_by" in g and "convergence_by" in g
    assert [k for k in f.keys() if "analysis" in k] == ["analysis"]
' "$f"
"$NEGSIM" analyze "$f" --out "$TMP/x" --by nope >/dev/null 2>"$TMP/err"
check "unknown --by axis: exit 2" [ $? -eq 2 ]
check "unknown --by names the valid columns" grep -q "valid /jobs columns: scenario" "$TMP/err"

# a failure mid-way (file size limit while copying) leaves FILE unchanged
cp "$f" "$TMP/keep.h5"
( trap '' XFSZ; ulimit -f 64; "$NEGSIM" analyze "$f" --out "$TMP/lim" --by opener >/dev/null 2>"$TMP/err" )
check "copy failure: analyze fails" [ $? -ne 0 ]
check "copy failure: FILE byte-identical" cmp -s "$f" "$TMP/keep.h5"
check "copy failure: no copy left behind" [ -z "$(ls -A "$TMP" | grep '\.analyze\.')" ]

# a run in progress: no /analysis, a warning, reports still written
cp "$f" "$TMP/running.h5"
"$PY" -c 'import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["run"].attrs["state"] = "running"
    del f["analysis"]' "$TMP/running.h5"
cp "$TMP/running.h5" "$TMP/running0.h5"
"$NEGSIM" analyze "$TMP/running.h5" --out "$TMP/run_an" >/dev/null 2>"$TMP/err"
check "running file: analyze exits 0" [ $? -eq 0 ]
check "running file: warning" grep -q "warning: .*running" "$TMP/err"
check "running file: report written" [ -s "$TMP/run_an/report.md" ]
check "running file: unchanged" cmp -s "$TMP/running.h5" "$TMP/running0.h5"

# LLM columns: cost per model and judge scores (tests/make_llm_columns.py)
"$PY" tests/make_llm_columns.py "$TMP/before.h5" "$TMP/llm.h5"
check "synthetic LLM file made" [ $? -eq 0 ]
"$NEGSIM" analyze "$TMP/llm.h5" --out "$TMP/llm" >/dev/null 2>"$TMP/err"
check "LLM file: analyze exits 0" [ $? -eq 0 ]
for t in 1 3; do
    OMP_NUM_THREADS=$t "$NEGSIM" analyze "$TMP/llm.h5" --out "$TMP/llm$t" >/dev/null 2>&1
done
check "LLM file: OMP_NUM_THREADS=1 and 3 identical" same_outputs "$TMP/llm1" "$TMP/llm3"
check "cost.csv: exact means per model and role, independent numbers" "$PY" -c '
import csv, sys, h5py, numpy as np
rows = {(r["role"], r["model"]): r for r in csv.DictReader(open(sys.argv[1]))}
want = {("buyer", "model-a"): 0.002, ("buyer", "model-b"): 0.010,
        ("seller", "model-b"): 0.010, ("judge", "judge-j"): 0.001}
assert set(rows) == set(want), rows.keys()
with h5py.File(sys.argv[2], "r") as f:
    j, o, r = f["jobs"][...], f["outcomes"][...], f["rounds"][...]
for k, c in want.items():
    assert float(rows[k]["cost_mean_usd"]) == c, (k, rows[k]["cost_mean_usd"])
sel = j["buyer_model"] == b"model-a"
assert int(rows[("buyer", "model-a")]["jobs"]) == sel.sum()
deals = o["deal"][sel].sum()
assert abs(float(rows[("buyer", "model-a")]["cost_per_deal_usd"]) / (0.002 * sel.sum() / deals) - 1) < 1e-9
t = r[(r["speaker"] == b"buyer") & (r["model"] == b"model-a")]
lat = t["latency_ms"]
for q, col in ((50, "latency_p50_ms"), (90, "latency_p90_ms"), (99, "latency_p99_ms")):
    assert abs(float(rows[("buyer", "model-a")][col]) / np.percentile(lat, q) - 1) < 1e-9, col
assert abs(float(rows[("buyer", "model-a")]["input_tokens_mean"]) / (t["input_tokens"].sum() / sel.sum()) - 1) < 1e-9
' "$TMP/llm/cost.csv" "$TMP/llm.h5"
check "judge.csv: boulware tactic score 8 vs none 5, diff 3" "$PY" -c '
import csv, sys
r = {(x["axis"], x["level"], x["score"]): x for x in csv.DictReader(open(sys.argv[1]))}
b = r[("buyer_tactic", "boulware", "tactic_effectiveness")]
n = r[("buyer_tactic", "none", "tactic_effectiveness")]
assert float(b["mean"]) == 8 and float(n["mean"]) == 5 and float(b["diff_vs_none"]) == 3, b
' "$TMP/llm/judge.csv"
check "LLM report has judge and cost sections" \
    sh -c 'grep -q "^## LLM judge scores" "$1" && grep -q "^## Cost and quality" "$1"' _ "$TMP/llm/report.md"
check "/analysis has cost and judge" "$PY" -c '
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert len(f["analysis/cost"]) == 4 and len(f["analysis/judge"]) > 0' "$TMP/llm.h5"
check "built-in file: no cost or judge outputs" \
    sh -c '! ls "$1" | grep -q -e cost.csv -e judge.csv && ! grep -q -e "^## Cost" -e "^## LLM judge" "$1/report.md"' _ "$d"

"$NEGSIM" analyze "$TMP/nope.h5" --out "$TMP/x" >/dev/null 2>"$TMP/err"
check "missing file fails" [ $? -ne 0 ]
check "missing file named" grep -q "nope.h5" "$TMP/err"
finish
