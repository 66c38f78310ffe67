# Planted effects: synthetic sweeps (tests/tools/ns_synth) whose true
# effects are known, written through the real store from the job grid of
# tests/data/synth.yaml (25,600 jobs, 256 cells), then read back by
# analyze and compare.
#   (a) analyze recovers a +0.10 tactic effect on the buyer's surplus share
#       and a +0.20 agreeableness coefficient within its 95% intervals,
#       and finds nothing where nothing was planted;
#   (b) compare of two draws of the same model (other seeds) reports no
#       change: exit 0;
#   (c) compare against a draw with a larger effect in one tactic finds
#       that tactic's cells, with false discoveries within the FDR: exit 1;
#   (d) compare against a file of another spec refuses: exit 2.
# Needs the columns diff_lo, diff_hi of effectiveness.csv and ci_lo, ci_hi
# of regression.csv. Every seed is fixed, so the outcome is deterministic.
. "$(dirname "$0")/lib.sh"

SYNTH=$(dirname "$NEGSIM")/tests/ns_synth
SPEC=tests/data/synth.yaml
EFFECT=0.10 # planted on buyer tactic boulware
COEF=0.20   # planted on buyer agreeableness

# csv_get FILE COLUMN KEY=VALUE...: COLUMN of the one row matching every
# KEY=VALUE (columns named by the header); empty when none matches.
csv_get() {
    local file=$1 col=$2
    shift 2
    awk -F, -v col="$col" -v conds="$*" '
        NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
        {
            n = split(conds, c, " ")
            for (k = 1; k <= n; k++) {
                split(c[k], kv, "=")
                if (!(kv[1] in idx) || $(idx[kv[1]]) != kv[2]) next
            }
            if (col in idx) print $(idx[col])
            exit
        }' "$file"
}
# covers LO HI X: LO <= X <= HI (all numbers; false on empty or nan)
covers() { awk -v lo="$1" -v hi="$2" -v x="$3" \
    'BEGIN { exit !(lo != "" && hi != "" && lo != "nan" && hi != "nan" && lo + 0 <= x + 0 && x + 0 <= hi + 0) }'; }
# gt A B: A > B as numbers
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a != "nan" && a + 0 > b + 0) }'; }
# null_ok LO HI P: the interval covers 0, or P (a p- or q-value) > 0.05
null_ok() { covers "$1" "$2" 0 || gt "$3" 0.05; }

check "ns_synth is built next to negsim" [ -x "$SYNTH" ]

# ---- the tool's command line ----------------------------------------------
"$SYNTH" "$SPEC" >/dev/null 2>"$TMP/err"
check "synth without --out: exit 2" [ $? -eq 2 ]
"$SYNTH" "$SPEC" --out "$TMP/x.h5" --tactic linear >/dev/null 2>"$TMP/err"
check "synth with a tactic not in the spec: exit 2" [ $? -eq 2 ]
check "synth names the tactic" grep -q "linear" "$TMP/err"
check "synth leaves no file on error" [ ! -e "$TMP/x.h5" ]
"$SYNTH" "$SPEC" --out "$TMP/x.h5" --effect lots >/dev/null 2>"$TMP/err"
check "synth with a bad number: exit 2" [ $? -eq 2 ]

# ---- (a) analyze recovers what was planted -------------------------------
# Every job a deal and joint utility 1: own utility is then the surplus
# share, so the effect is the same in both, whichever one diff_vs_none is.
"$SYNTH" "$SPEC" --out "$TMP/p.h5" --seed 1 --tactic boulware --effect $EFFECT \
    --coef $COEF --deal-rate 1 --joint-spread 0 >"$TMP/out" 2>&1
check "synth planted: exit 0" [ $? -eq 0 ]
check "synth planted: run state complete" [ "$(run_attr "$TMP/p.h5" state)" = complete ]
"$NEGSIM" analyze "$TMP/p.h5" --out "$TMP/pa" >"$TMP/out" 2>"$TMP/err"
check "analyze planted: exit 0" [ $? -eq 0 ]
eff=$TMP/pa/effectiveness.csv
reg=$TMP/pa/regression.csv
check "effectiveness.csv has diff_lo, diff_hi" \
    sh -c "head -1 '$eff' | tr ',' '\n' | grep -qx diff_lo && head -1 '$eff' | tr ',' '\n' | grep -qx diff_hi"
check "regression.csv has ci_lo, ci_hi" \
    sh -c "head -1 '$reg' | tr ',' '\n' | grep -qx ci_lo && head -1 '$reg' | tr ',' '\n' | grep -qx ci_hi"
check "analyze read every job" \
    [ "$(csv_get "$eff" n axis=buyer_influence level=none)" = 25600 ]

lo=$(csv_get "$eff" diff_lo axis=buyer_tactic level=boulware)
hi=$(csv_get "$eff" diff_hi axis=buyer_tactic level=boulware)
check "planted tactic: CI [$lo, $hi] covers $EFFECT" covers "$lo" "$hi" $EFFECT
check "planted tactic: CI [$lo, $hi] excludes 0" gt "$lo" 0
# surplus share itself, level against control (independent of diff_*)
sb=$(csv_get "$eff" surplus_share_mean axis=buyer_tactic level=boulware)
sn=$(csv_get "$eff" surplus_share_mean axis=buyer_tactic level=none)
check "planted tactic: share difference $sb - $sn within 0.01 of $EFFECT" \
    awk -v a="$sb" -v b="$sn" -v e=$EFFECT 'BEGIN { d = a - b - e; exit !(a != "" && d < 0.01 && d > -0.01) }'
# tactics without a planted effect: CI covers 0, or not significant
for lv in buyer_tactic:conceder buyer_tactic:anchoring seller_tactic:boulware; do
    ax=${lv%%:*} name=${lv#*:}
    lo=$(csv_get "$eff" diff_lo axis=$ax level=$name)
    hi=$(csv_get "$eff" diff_hi axis=$ax level=$name)
    q=$(csv_get "$eff" bh_q axis=$ax level=$name)
    check "no effect planted in $ax $name: CI [$lo, $hi] covers 0 or q $q > 0.05" \
        null_ok "$lo" "$hi" "$q"
done

m=model=ols_surplus_share_buyer
lo=$(csv_get "$reg" ci_lo $m term=buyer_agreeableness)
hi=$(csv_get "$reg" ci_hi $m term=buyer_agreeableness)
check "planted trait: OLS CI [$lo, $hi] covers $COEF" covers "$lo" "$hi" $COEF
check "planted trait: OLS CI [$lo, $hi] excludes 0" gt "$lo" 0
lo=$(csv_get "$reg" ci_lo $m term=buyer_neuroticism)
hi=$(csv_get "$reg" ci_hi $m term=buyer_neuroticism)
p=$(csv_get "$reg" p_value $m term=buyer_neuroticism)
check "no trait effect planted in neuroticism: CI [$lo, $hi] covers 0 or p $p > 0.05" \
    null_ok "$lo" "$hi" "$p"

# ---- (b) null: same model, other seeds -----------------------------------
# Deals at rate 0.8 and a spread of joint utilities: every metric varies.
"$SYNTH" "$SPEC" --out "$TMP/b1.h5" --seed 2 --tactic boulware >/dev/null 2>&1
check "synth b1: exit 0" [ $? -eq 0 ]
"$SYNTH" "$SPEC" --out "$TMP/b2.h5" --seed 3 --tactic boulware >/dev/null 2>&1
check "synth b2: exit 0" [ $? -eq 0 ]
"$NEGSIM" compare "$TMP/b1.h5" "$TMP/b2.h5" >"$TMP/out" 2>"$TMP/err"
check "null: compare exits 0" [ $? -eq 0 ]
# 256 cells x 6 metrics (rounds_ks included by default)
check "null: nothing changed" grep -q "^0 of 1536 tests changed at FDR 0.05$" "$TMP/out"
cmp -s "$TMP/b1.h5" "$TMP/b2.h5"
check "null: the two files differ" [ $? -ne 0 ]

# ---- (c) a planted change in one tactic -------------------------------------
"$SYNTH" "$SPEC" --out "$TMP/c.h5" --seed 4 --tactic boulware --effect 0.30 >/dev/null 2>&1
check "synth candidate: exit 0" [ $? -eq 0 ]
"$NEGSIM" compare "$TMP/b1.h5" "$TMP/c.h5" >"$TMP/out" 2>"$TMP/err"
check "changed: compare exits 1" [ $? -eq 1 ]
rows=$(grep -c '^| used_car' "$TMP/out")
check "changed: the table has rows ($rows)" [ "$rows" -gt 0 ]
check "changed: a u_buyer row names a boulware buyer cell" \
    grep -Eq '^\| used_car; buyer [^/;]*/boulware/[^|]*\| u_buyer \|' "$TMP/out"
# True discoveries: u_buyer and u_seller of the 64 boulware buyer cells
# (128 tests). Anything else is a false discovery, which BH allows at the
# nominal rate: a chance swing of one cell's deal rate also moves its
# joint utility and rounds, so they are not required to be absent.
true=$(grep -Ec '^\| used_car; buyer [^/;]*/boulware/[^|]*\| u_(buyer|seller) \|' "$TMP/out")
check "changed: most planted tests found ($true of 128)" [ "$true" -ge 100 ]
check "changed: false discoveries $((rows - true)) of $rows within FDR 0.05" \
    [ $((20 * (rows - true))) -le "$rows" ]

# ---- (d) another spec ----------------------------------------------------------
"$SYNTH" tests/data/synth_other.yaml --out "$TMP/o.h5" --seed 2 >/dev/null 2>&1
check "synth other spec: exit 0" [ $? -eq 0 ]
"$NEGSIM" compare "$TMP/b1.h5" "$TMP/o.h5" >"$TMP/out" 2>"$TMP/err"
check "other spec: compare exits 2" [ $? -eq 2 ]
check "other spec: names the axis" grep -q "buyer_tactic" "$TMP/err"
finish
