# LLM sweeps end to end against the mock server (tests/mock/): keys,
# the LLM columns, the judge, the response cache, the budget cap, faults
# with retries and repairs, resume after kill -9 with calls in flight, the
# three wire formats, and that no key reaches the output.
. "$(dirname "$0")/lib.sh"
MOCK=$(dirname "$NEGSIM")/tests/negsim_mock
DATA=$(pwd)/tests/data/llm
KEY=sk-test-7f3a9c2e41d8b6a0-secret
export NEGSIM_MOCK_KEY=$KEY OPENAI_API_KEY=$KEY ANTHROPIC_API_KEY=$KEY GEMINI_API_KEY=$KEY
export NEGSIM_CACHE="$TMP/cache.sqlite"

MOCK_PID=
start_mock() { # start_mock [mock options...]; sets URL
    stop_mock
    rm -f "$TMP/port"
    "$MOCK" --port 0 --port-file "$TMP/port" --quiet --require-key "$KEY" "$@" &
    MOCK_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    URL="http://127.0.0.1:$(cat "$TMP/port")"
}
stop_mock() { [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null; MOCK_PID=; }
trap 'stop_mock; rm -rf "$TMP"' EXIT
requests() { curl -s "$URL/_stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
spec() { # spec NAME -> path of the spec with the mock's URL filled in
    sed -e "s|__URL__|$URL|g" -e "s|__DIR__|$DATA|g" "$DATA/$1.yaml" >"$TMP/$1.yaml"
    echo "$TMP/$1.yaml"
}
q() { "$PY" - "$@"; } # python with h5py, script on stdin

start_mock
S=$(spec sweep)
planned=$("$NEGSIM" plan "$S" | sed -n 's/^jobs: *\([0-9]*\).*/\1/p')
check "plan counts the model axis" [ "$planned" = 48 ]

# 1. keys are checked before anything is written
NEGSIM_MOCK_KEY= "$NEGSIM" run "$S" -o "$TMP/nokey.h5" -q 2>"$TMP/err"
check "missing key: exit 2" [ $? -eq 2 ]
check "missing key: the variable is named" grep -q NEGSIM_MOCK_KEY "$TMP/err"
check "missing key: no file written" [ ! -e "$TMP/nokey.h5" ]

# a template naming an unknown variable is refused before anything runs
printf 'You are the {{role}}.\nYour budget is {{wallet}}.\n' >"$TMP/bad_system.txt"
sed "s|^llm:|llm:\n  prompts: {system: $TMP/bad_system.txt}|" "$S" >"$TMP/badprompt.yaml"
"$NEGSIM" run "$TMP/badprompt.yaml" -o "$TMP/badprompt.h5" -q 2>"$TMP/err"
check "unknown template variable: exit 2" [ $? -eq 2 ]
check "unknown template variable: named at file:line:column" \
    grep -q "bad_system.txt:2:[0-9]*:.*wallet" "$TMP/err"
check "unknown template variable: no file written" [ ! -e "$TMP/badprompt.h5" ]

# 2. a full run
"$NEGSIM" run "$S" -o "$TMP/a.h5" -q >"$TMP/out" 2>"$TMP/err"
check "run completes" [ $? -eq 0 ]
n1=$(requests)
check "requests were made" [ "$n1" -gt 48 ]
q "$TMP/a.h5" <<'EOF' >"$TMP/facts" 2>&1; check "LLM columns hold what they should ($(tail -1 "$TMP/facts"))" [ $? -eq 0 ]
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
j, o, r, t = f["jobs"][:], f["outcomes"][:], f["rounds"][:], f["transcripts"][:]
assert len(j) == 48 and len(o) == 48, len(j)
assert set(j["buyer_model"]) == {b"mock:model-a", b"mock:model-b"}, set(j["buyer_model"])
assert set(j["seller_model"]) == {b""}
assert set(j["judge_model"]) == {b"mock:judge-1"}
ok = o["error"] == b""
assert ok.all(), o["error"][~ok]
assert (o["requests"] >= 2).all()            # at least one move and the judge
assert (o["cost_usd"] > 0).all()
assert np.allclose(o["cost_usd"], o["buyer_cost_usd"] + o["seller_cost_usd"] + o["judge_cost_usd"])
assert (o["seller_cost_usd"] == 0).all()     # the built-in seller is free
for s in ("buyer", "seller"):
    for k in ("influencing", "tactic"):
        v = o[f"{s}_{k}_score"]
        assert ((v >= 1) & (v <= 10)).all(), v
    assert all(len(x) > 0 for x in o[f"{s}_judge_summary"])
buyer = r["speaker"] == b"buyer"
assert set(r["model"][buyer]) <= {b"mock:model-a", b"mock:model-b"}
assert (r["model"][~buyer] == b"").all()
assert (r["input_tokens"][buyer] > 0).all() and (r["cost_usd"][buyer] > 0).all()
# per job, the turns' costs are part of the job's
for i in range(len(o)):
    m = r["job_id"] == o["job_id"][i]
    assert r["cost_usd"][m].sum() <= o["cost_usd"][i] + 1e-12
assert all(len(x) > 0 for x in t["text"])
assert set(o["ending"]) <= {b"agreement", b"walkaway", b"impasse"}
print("ok")
EOF
q "$TMP/a.h5" prompts <<'EOF'; check "/llm holds each template's SHA-256" [ $? -eq 0 ]
import sys, h5py, hashlib, os
g = h5py.File(sys.argv[1], "r")["llm"].attrs
text = lambda v: v.decode() if isinstance(v, bytes) else v
for key, f in (("system", "negotiator_system"), ("turn", "negotiator_turn"),
               ("judge_system", "judge_system"), ("judge_turn", "judge_turn")):
    want = hashlib.sha256(open(os.path.join(sys.argv[2], f + ".txt"), "rb").read()).hexdigest()
    assert text(g[f"prompt_{key}_sha256"]) == want, key
assert text(g["judge"]) == "mock:judge-1"
EOF
check "no key in the results file" sh -c "! grep -a -q '$KEY' '$TMP/a.h5'"
check "no key in the output" sh -c "! grep -q '$KEY' '$TMP/out' '$TMP/err'"

# 3. the cache: a re-run is free and gives the same negotiations
"$NEGSIM" run "$S" -o "$TMP/b.h5" -q >/dev/null 2>&1
check "cached re-run completes" [ $? -eq 0 ]
check "cached re-run sends no request" [ "$(requests)" = "$n1" ]
q "$TMP/a.h5" "$TMP/b.h5" <<'EOF'; check "cached re-run: same outcomes, hits marked" [ $? -eq 0 ]
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
for col in ("ending", "u_buyer", "u_seller", "rounds", "cost_usd", "buyer_tactic_score"):
    src = "outcomes"
    assert np.array_equal(a[src][col], b[src][col], equal_nan=col != "ending"), col
assert (b["outcomes"]["cache_hits"] == b["outcomes"]["requests"]).all()
# within a run, repetition r of identical questions shares one answer
assert a["outcomes"]["cache_hits"].sum() < a["outcomes"]["requests"].sum()
assert (b["rounds"]["cached"][b["rounds"]["speaker"] == b"buyer"] == 1).all()
EOF
"$NEGSIM" run "$S" -o "$TMP/c.h5" -q --no-cache >/dev/null 2>&1
check "--no-cache goes to the network" [ "$(requests)" -gt "$n1" ]

# 4. the budget: never exceeded; --resume finishes the rest
rm -f "$NEGSIM_CACHE"*
"$NEGSIM" run "$S" -o "$TMP/d.h5" -q --budget-usd 1.0 >"$TMP/out" 2>"$TMP/err"
check "budget stop: exit 3" [ $? -eq 3 ]
spent=$(sed -n 's/^spent: *\$\([0-9.]*\).*/\1/p' "$TMP/out")
check "budget stop: spent ($spent) within the cap" awk -v s="$spent" 'BEGIN { exit !(s > 0 && s <= 1.0) }'
check "budget stop: file opens" h5dump -H "$TMP/d.h5" >/dev/null
"$NEGSIM" run "$S" -o "$TMP/d.h5" -q --resume >/dev/null 2>&1
check "budget resume completes" [ "$(run_attr "$TMP/d.h5" state)" = complete ]
q "$TMP/d.h5" <<'EOF'; check "budget resume: every job once" [ $? -eq 0 ]
import sys, h5py, numpy as np
ids = h5py.File(sys.argv[1], "r")["jobs"]["job_id"][:]
assert len(ids) == 48 and len(np.unique(ids)) == 48
EOF

# 5. faults: retried (Retry-After honoured), invalid answers repaired
start_mock --rate429 0.1 --retry-after 0 --rate500 0.1 --rate503 0.05 --rate-drop 0.05 \
    --rate-malformed 0.05 --rate-badschema 0.15 --seed 5
S=$(spec sweep)
"$NEGSIM" run "$S" -o "$TMP/e.h5" -q --no-cache >/dev/null 2>"$TMP/err"
check "faulty server: run completes ($(tail -1 "$TMP/err"))" [ $? -eq 0 ]
q "$TMP/e.h5" <<'EOF' >"$TMP/facts" 2>&1; check "faults retried and repaired ($(tail -1 "$TMP/facts"))" [ $? -eq 0 ]
import sys, h5py
o = h5py.File(sys.argv[1], "r")["outcomes"][:]
assert len(o) == 48
assert o["retries"].sum() > 0, "no retries"
assert o["repairs"].sum() > 0, "no repairs"
assert set(o["ending"]) <= {b"agreement", b"walkaway", b"impasse", b"invalid_output", b"error"}
print("ok")
EOF

# 6. a non-retryable fault fails the job at once, with its class recorded
start_mock --rate403 1
S=$(spec sweep)
"$NEGSIM" run "$S" -o "$TMP/f.h5" -q --no-cache >/dev/null 2>&1
check "403: run ends" [ $? -eq 0 ]
q "$TMP/f.h5" <<'EOF'; check "403: jobs end as error/permission, one request each" [ $? -eq 0 ]
import sys, h5py
o = h5py.File(sys.argv[1], "r")["outcomes"][:]
assert (o["ending"] == b"error").all() and (o["error"] == b"permission").all()
assert (o["retries"] == 0).all()
EOF

# 7. kill -9 with calls in flight, then --resume: nothing lost or doubled
start_mock --delay-ms 150
S=$(spec sweep)
rm -f "$NEGSIM_CACHE"*
"$NEGSIM" run "$S" -o "$TMP/g.h5" -q >/dev/null 2>&1 &
pid=$!
sleep 1
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "after kill -9: file opens" h5dump -H "$TMP/g.h5" >/dev/null
check "the kill came mid-run" [ "$(run_attr "$TMP/g.h5" state)" != complete ]
"$NEGSIM" run "$S" -o "$TMP/g.h5" -q --resume >/dev/null 2>&1
check "resume after kill completes" [ "$(run_attr "$TMP/g.h5" state)" = complete ]
q "$TMP/g.h5" "$TMP/a.h5" <<'EOF'; check "resume after kill: same negotiations as an uninterrupted run" [ $? -eq 0 ]
import sys, h5py, numpy as np
g, a = (h5py.File(p, "r")["outcomes"][:] for p in sys.argv[1:3])
assert len(g) == 48 and len(np.unique(g["job_id"])) == 48
for col in ("ending", "u_buyer", "rounds", "cost_usd"):
    assert np.array_equal(g[col], a[col]), col
EOF

# 8. the three wire formats
start_mock
F=$(spec formats)
"$NEGSIM" run "$F" -o "$TMP/h.h5" -q --no-cache >/dev/null 2>"$TMP/err"
check "three wire formats: run completes ($(tail -1 "$TMP/err"))" [ $? -eq 0 ]
curl -s "$URL/_stats" >"$TMP/stats"
"$PY" - "$TMP/stats" <<'EOF'; check "three wire formats: each was spoken" [ $? -eq 0 ]
import json, sys
s = json.load(open(sys.argv[1]))["by_format"]
assert all(s.get(k, 0) > 0 for k in ("openai", "anthropic", "gemini")), s
EOF
q "$TMP/h.h5" <<'EOF'; check "three wire formats: usage read from each" [ $? -eq 0 ]
import sys, h5py
o = h5py.File(sys.argv[1], "r")["outcomes"][:]
assert (o["error"] == b"").all(), o["error"]
assert (o["input_tokens"] > 0).all() and (o["output_tokens"] > 0).all()
EOF

# 9. fallbacks: a dead endpoint's calls go to the fallback model, and every
#    turn records the model that answered
start_mock
sed -e "s|__URL__|$URL|g" -e "s|__DIR__|$DATA|g" -e "s|__DEAD__|http://127.0.0.1:9|g" \
    "$DATA/fallback.yaml" >"$TMP/fallback.yaml"
"$NEGSIM" run "$TMP/fallback.yaml" -o "$TMP/i.h5" -q --no-cache >/dev/null 2>"$TMP/err"
check "fallback: run completes ($(tail -1 "$TMP/err"))" [ $? -eq 0 ]
q "$TMP/i.h5" <<'EOF'; check "fallback: the fallback model answered every buyer turn" [ $? -eq 0 ]
import sys, h5py
f = h5py.File(sys.argv[1], "r")
r, o = f["rounds"][:], f["outcomes"][:]
assert (o["error"] == b"").all(), o["error"]
b = r["speaker"] == b"buyer"
assert b.any() and (r["model"][b] == b"mock:model-b").all(), set(r["model"][b])
assert set(f["jobs"]["buyer_model"]) == {b"dead:model-a"}   # what the job asked for
EOF

# 10. a throttled run says what it waits for
S=$(spec throttled)
"$NEGSIM" run "$S" -o "$TMP/j.h5" --no-cache >/dev/null 2>"$TMP/progress" &
pid=$!
sleep 6
kill -INT $pid 2>/dev/null; wait $pid
check "throttled: Ctrl-C exits 130" [ $? -eq 130 ]
check "throttled: the progress line names the rate limit" grep -q "waiting on rate limit" "$TMP/progress"
finish
