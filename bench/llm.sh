#!/bin/sh
# The LLM-path benchmarks: bench/llm.sh BUILD_DIR RUNS
# negsim runs bench/llm.yaml (both sides LLM agents, so every turn is one
# request; 16,300 requests per 0 ms run) against the mock server, which runs as
# a separate process on the same two cores. Prints:
#   llm_0ms            requests/s end to end (prompt built, request sent,
#                      reply parsed, validated and stored), mock at 0 ms
#   llm_0ms_cpu        negsim's own CPU seconds (user + system) per 1,000
#                      requests at 0 ms
#   llm_200ms_fraction achieved requests/s over the limit max_inflight /
#                      delay = 256 / 0.2 s = 1,280, mock at 200 ms
#   llm_open_10k_peak_rss  peak RSS with 10,000 negotiations open at once
#   llm_100k_over_10k_rss  peak RSS of a 100,000-job sweep over a
#                      10,000-job one (memory must not grow with jobs done)
set -eu
build=$1
runs=$2
negsim=$build/negsim
mock=$build/tests/negsim_mock
tmp=$(mktemp -d /tmp/negsim-llm-bench.XXXXXX)
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
requests() { curl -s "$url/_stats" | sed -n 's/^{"requests":\([0-9]*\).*/\1/p'; }
control() { curl -s -X POST -d "$1" "$url/_control" >/dev/null; }

"$mock" --port 0 --port-file "$tmp/port" --quiet --threads 2 --accept-rate 0.08 &
mock_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
url="http://127.0.0.1:$(cat "$tmp/port")"
# spec REPETITIONS MAX_OPEN -> $tmp/llm.yaml pointed at the mock
spec() {
    sed -e "s|__URL__|$url|g" -e "s|__DIR__|$(pwd)/bench|g" \
        -e "s|^repetitions: .*|repetitions: $1|" -e "s|max_open: .*|max_open: $2|" \
        bench/llm.yaml >"$tmp/llm.yaml"
}
# one run: prints "requests wall cpu maxrss_kib"
one_run() {
    before=$(requests)
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$negsim" run "$tmp/llm.yaml" \
        -o "$tmp/llm.h5" --force -q --no-cache "$@" >/dev/null
    after=$(requests)
    awk -v n=$((after - before)) '{ print n, $1, $2 + $3, $4 }' "$tmp/time"
}

spec 100 4096
i=0
while [ $i -lt "$runs" ]; do one_run; i=$((i + 1)); done >"$tmp/zero"
awk '{ print $1 / $2 }' "$tmp/zero" | median | awk '{ printf "bench llm_0ms %.0f requests/s\n", $1 }'
awk '{ print 1000 * $3 / $1 }' "$tmp/zero" | median |
    awk '{ printf "bench llm_0ms_cpu %.3f cpu-s/1000req\n", $1 }'

# at 200 ms a run needs enough jobs that the last negotiations' chains of
# turns (up to 20 in a row, 200 ms each) are a small part of it: 48,900
# requests, about 40 s
control '{"delay_ms":200}'
spec 300 4096
i=0
while [ $i -lt 3 ]; do one_run; i=$((i + 1)); done >"$tmp/slow"
awk '{ print $1 / $2 / 1280 }' "$tmp/slow" | median |
    awk '{ printf "bench llm_200ms_fraction %.3f of-limit\n", $1 }'

# 10,000 negotiations open at once: every job opens at the start and
# waits its turn behind the 256 requests in flight.
spec 625 10000
one_run --limit 10000 >"$tmp/open"
awk '{ printf "bench llm_open_10k_peak_rss %.0f MiB\n", $4 / 1024 }' "$tmp/open"

# memory does not grow with jobs finished: 10,000 vs 100,000 jobs at 0 ms
control '{"delay_ms":0}'
spec 6250 2000
one_run --limit 10000 >"$tmp/m10"
one_run --limit 100000 >"$tmp/m100"
awk -v a="$(awk '{ print $4 }' "$tmp/m100")" -v b="$(awk '{ print $4 }' "$tmp/m10")" \
    'BEGIN { printf "bench llm_100k_over_10k_rss %.2f ratio (%.0f / %.0f MiB)\n", a / b, a / 1024, b / 1024 }'
