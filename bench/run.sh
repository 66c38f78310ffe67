#!/bin/sh
# Runs the benchmarks for Makefile.bench: bench/run.sh BUILD_DIR RUNS
set -eu
build=$1
runs=$2
negsim=$build/negsim
tmp=$(mktemp -d /tmp/negsim-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# 1. engine alone, one thread, messages rendered, nothing stored
"$build/negsim_bench" bench/supplier.yaml 200000 "$runs"

# 2. full runs writing every table (transcripts included) to HDF5
for j in 1 2; do
    i=0
    while [ $i -lt "$runs" ]; do
        "$negsim" run bench/supplier.yaml -o "$tmp/full.h5" --force -q -j $j >"$tmp/out"
        sed -n 's/.*(\([0-9.]*\) jobs\/s).*/\1/p' "$tmp/out"
        i=$((i + 1))
    done | median >"$tmp/full_j$j"
    echo "bench full_j$j $(cat "$tmp/full_j$j") negotiations/s"
done
awk -v a="$(cat "$tmp/full_j2")" -v b="$(cat "$tmp/full_j1")" \
    'BEGIN { printf "bench full_j2_over_j1 %.2f ratio\n", a / b }'
ls -l "$tmp/full.h5" | awk '{ printf "bench full_file_size %.1f MiB\n", $5 / 1048576 }'

# 3. a one-million-job sweep: peak memory (max RSS) and wall time, -j2
i=0
while [ $i -lt 3 ]; do
    /usr/bin/time -f "%M %e" -o "$tmp/time" "$negsim" run bench/sweep_1m.yaml \
        -o "$tmp/m.h5" --force -q -j 2 >/dev/null
    cat "$tmp/time"
    i=$((i + 1))
done >"$tmp/m"
awk '{ print $1 / 1024 }' "$tmp/m" | median | awk '{ printf "bench sweep_1m_peak_rss %.0f MiB\n", $1 }'
awk '{ print $2 }' "$tmp/m" | median | awk '{ printf "bench sweep_1m_wall %.1f s\n", $1 }'
ls -l "$tmp/m.h5" | awk '{ printf "bench sweep_1m_file_size %.0f MiB\n", $5 / 1048576 }'

# 4. analyze the one-million-job file: wall time and peak memory, median of 3
i=0
while [ $i -lt 3 ]; do
    /usr/bin/time -f "%M %e" -o "$tmp/time" "$negsim" analyze "$tmp/m.h5" --out "$tmp/m_an" \
        >/dev/null
    cat "$tmp/time"
    i=$((i + 1))
done >"$tmp/a"
awk '{ print $2 }' "$tmp/a" | median | awk '{ printf "bench analyze_1m %.1f s\n", $1 }'
awk '{ print $1 / 1024 }' "$tmp/a" | median | awk '{ printf "bench analyze_1m_peak_rss %.0f MiB\n", $1 }'

# 5. the LLM path against the mock server (bench/llm.sh)
sh bench/llm.sh "$build" "$runs"
