# negsim plot: the five figures through gnuplot, PNG and SVG, and a clear
# failure when gnuplot cannot be run. Skips itself (0 passed, 0 failed)
# while the binary has no `plot` command.
. "$(dirname "$0")/lib.sh"

if ! "$NEGSIM" plot --help >/dev/null 2>&1; then
    echo "t_plot: 0 passed, 0 failed"
    exit 0
fi
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "t_plot: skipped (gnuplot not installed: Debian package gnuplot-nox)" >&2
    finish
fi

FIGS="heatmap_surplus_share deal_rate_by_tactic convergence survival forest_effects"
f="$TMP/small.h5"
"$NEGSIM" run tests/data/run/small.yaml -o "$f" -q >/dev/null
check "run exits 0" [ $? -eq 0 ]
cp "$f" "$TMP/before.h5"

d="$TMP/png"
"$NEGSIM" plot "$f" --out "$d" >"$TMP/out" 2>"$TMP/err"
check "plot exits 0" [ $? -eq 0 ]
png_sig=$(printf '\211PNG\r\n\032\n' | od -An -tx1 | tr -d ' \n')
for x in $FIGS; do
    p="$d/$x.png"
    check "wrote $x.png" [ -f "$p" ]
    check "$x.png has the PNG signature" \
        [ "$(head -c 8 "$p" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = "$png_sig" ]
    check "$x.png is not trivial" [ "$(wc -c <"$p" 2>/dev/null || echo 0)" -gt 5000 ]
done
check "no .tmp left" [ -z "$(ls "$d" | grep '\.tmp$')" ]
check "results file untouched" cmp -s "$f" "$TMP/before.h5"
check "no temporary folder left in /tmp" \
    [ -z "$(find /tmp -maxdepth 1 -name 'negsim-plot.*' -newer "$TMP/before.h5" 2>/dev/null)" ]

s="$TMP/svg"
"$NEGSIM" plot "$f" --out "$s" --format svg >/dev/null 2>"$TMP/err"
check "plot --format svg exits 0" [ $? -eq 0 ]
for x in $FIGS; do
    check "$x.svg contains <svg" grep -q "<svg" "$s/$x.svg"
done

"$NEGSIM" plot "$f" >/dev/null 2>&1
check "default folder FILE without .h5" [ -s "$TMP/small/survival.png" ]

"$NEGSIM" plot "$f" --out "$TMP/nog" --gnuplot "$TMP/no-such-gnuplot" >/dev/null 2>"$TMP/err"
check "missing gnuplot fails" [ $? -ne 0 ]
check "missing gnuplot named in the message" grep -q "gnuplot not found" "$TMP/err"
check "missing gnuplot leaves no figure" [ ! -e "$TMP/nog/survival.png" ]

"$NEGSIM" plot "$f" --out "$TMP/bad'dir" >/dev/null 2>"$TMP/err"
check "output path with a quote refused" [ $? -ne 0 ]

"$NEGSIM" plot "$TMP/nope.h5" --out "$TMP/x" >/dev/null 2>"$TMP/err"
check "missing file fails" [ $? -ne 0 ]
check "missing file named" grep -q "nope.h5" "$TMP/err"
finish
