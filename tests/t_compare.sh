# negsim compare: per-cell regression gating between two results files.
# Exit codes: 0 no change, 1 changed, 2 error. Skips itself (0 checks)
# while the binary has no `compare` command.
. "$(dirname "$0")/lib.sh"

if ! "$NEGSIM" compare --help >/dev/null 2>&1; then
    finish
fi

# tests/data/compare/base.yaml: small.yaml with 8 repetitions per cell
# (768 cells, 6144 jobs, 4608 tests: 6 metrics). spec_with SED OUT: a variant of it.
base=tests/data/compare/base.yaml
spec_with() { sed "$1" "$base" >"$2"; }
run() { "$NEGSIM" run "$1" -o "$2" -q >/dev/null 2>&1; }

spec_with 's/^seed: .*/seed: 1/' "$TMP/a.yaml"
spec_with 's/^seed: .*/seed: 2/' "$TMP/b.yaml"
spec_with 's/^max_rounds: .*/max_rounds: 4/' "$TMP/r4.yaml"
spec_with 's/^\(  tactics: \[none, boulware, conceder\), tit_for_tat\]/\1]/' "$TMP/bad.yaml"
check "incompatible spec drops a buyer tactic" \
    sh -c "! grep -q tit_for_tat '$TMP/bad.yaml'"
for x in a b r4 bad; do
    run "$TMP/$x.yaml" "$TMP/$x.h5"
    check "run $x exits 0" [ $? -eq 0 ]
done

# the same file against itself
"$NEGSIM" compare "$TMP/a.h5" "$TMP/a.h5" >"$TMP/out" 2>"$TMP/err"
check "self: exits 0" [ $? -eq 0 ]
check "self: no change" grep -q "^0 of 4608 tests changed at FDR 0.05$" "$TMP/out"

# null comparison: same spec, another seed (all q are 1 for seeds 1, 2)
"$NEGSIM" compare "$TMP/a.h5" "$TMP/b.h5" >"$TMP/out" 2>"$TMP/err"
check "null: exits 0" [ $? -eq 0 ]
check "null: no change at FDR 0.05" grep -q "^0 of 4608 tests changed at FDR 0.05$" "$TMP/out"
check "null: no table" sh -c "! grep -q '^| cell' '$TMP/out'"

# planted change: max_rounds 12 -> 4, same cells
"$NEGSIM" compare "$TMP/a.h5" "$TMP/r4.h5" >"$TMP/out" 2>"$TMP/err"
check "planted: exits 1" [ $? -eq 1 ]
check "planted: table header" grep -q "^| cell | metric | baseline | candidate | difference | q |$" "$TMP/out"
check "planted: table names rounds" grep -q "| rounds | 12 | 4 | -8 |" "$TMP/out"
# the KS test on rounds sees the same change (8 jobs per cell: all 12
# rounds against all 4 gives D = 1, lambda = (2 + 0.12 + 0.055) = 2.175)
check "planted: table has rounds_ks rows" grep -q "| rounds_ks | 12 | 4 | D = 1 |" "$TMP/out"
check "planted: summary line" grep -Eq "^[1-9][0-9]* of 4608 tests changed at FDR 0.05$" "$TMP/out"
check "planted: sorted by q" \
    awk -F'|' 'NR > 2 && NF > 6 { q = $7 + 0; if (q < last) bad = 1; last = q } END { exit bad }' "$TMP/out"
# the KS test alone: one test per cell; with --min-effect 1 a D of 1 still counts
"$NEGSIM" compare "$TMP/a.h5" "$TMP/r4.h5" --metrics rounds_ks --min-effect 1 >"$TMP/out" 2>&1
check "metrics rounds_ks: exits 1" [ $? -eq 1 ]
check "metrics rounds_ks: 768 tests" grep -Eq "^[1-9][0-9]* of 768 tests changed" "$TMP/out"
check "metrics rounds_ks: only KS rows" \
    awk -F'|' 'NR > 2 && NF > 6 && $3 != " rounds_ks " { bad = 1 } END { exit bad }' "$TMP/out"
"$NEGSIM" compare "$TMP/a.h5" "$TMP/b.h5" --metrics rounds_ks >"$TMP/out" 2>&1
check "null rounds_ks: exits 0" [ $? -eq 0 ]
# only the mean rounds asked for, and a large minimum effect
"$NEGSIM" compare "$TMP/a.h5" "$TMP/r4.h5" --metrics rounds --min-effect 9 >"$TMP/out" 2>&1
check "min-effect 9 rounds: exits 0" [ $? -eq 0 ]
check "metrics rounds: 768 tests" grep -q "^0 of 768 tests changed" "$TMP/out"
"$NEGSIM" compare "$TMP/a.h5" "$TMP/r4.h5" --metrics rounds,nope >"$TMP/out" 2>"$TMP/err"
check "unknown metric: exits 2" [ $? -eq 2 ]
check "unknown metric named" grep -q "nope" "$TMP/err"

# incompatible: another tactic list
"$NEGSIM" compare "$TMP/a.h5" "$TMP/bad.h5" >"$TMP/out" 2>"$TMP/err"
check "incompatible: exits 2" [ $? -eq 2 ]
check "incompatible: names the axis" grep -q "buyer_tactic" "$TMP/err"

"$NEGSIM" compare "$TMP/a.h5" "$TMP/nope.h5" >"$TMP/out" 2>"$TMP/err"
check "missing file: exits 2" [ $? -eq 2 ]
check "missing file named" grep -q "nope.h5" "$TMP/err"
finish
