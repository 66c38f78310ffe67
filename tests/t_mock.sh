# The mock LLM server (tests/mock/negsim_mock): each wire format answers
# with a move that follows the request's schema and a usage block, a wrong
# key gets 401, every injected fault looks as it should on the wire, and
# /_stats and /_control count and steer it. Driven with curl; the JSON is
# read with Python.
. "$(dirname "$0")/lib.sh"

MOCK="$(dirname "$NEGSIM")/tests/negsim_mock"
if [ ! -x "$MOCK" ]; then
    bad "mock server not built at $MOCK"
    finish
fi
KEY=sk-mock-test-4d1f0c
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# jcheck FILE 'python expression over d (the parsed JSON)'
jcheck() {
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF
}
# start_mock NAME OPTIONS...: starts a mock on a free port; sets URL.
start_mock() {
    local name=$1; shift
    rm -f "$TMP/$name.port"
    "$MOCK" --port 0 --port-file "$TMP/$name.port" --quiet "$@" &
    PIDS+=($!)
    MOCK_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    URL="http://127.0.0.1:$(cat "$TMP/$name.port" 2>/dev/null)"
}
lacks() { ! grep -q "$@"; }
not_json() { ! "$PY" -c "import json,sys; json.load(open(sys.argv[1]))" "$1" 2>/dev/null; }
control() { curl -s -o "$TMP/ctl.json" -w '%{http_code}' -d "$1" "$URL/_control"; }
stats() { curl -s "$URL/_stats" >"$TMP/stats.json"; }

# ---- usage errors -----------------------------------------------------------
"$MOCK" --bogus 2>"$TMP/err"; check "unknown option exits 2" [ $? -eq 2 ]
check "unknown option named" grep -q -- "--bogus" "$TMP/err"
"$MOCK" --rate500 1.5 2>/dev/null; check "rate above 1 exits 2" [ $? -eq 2 ]
"$MOCK" --rate500 0.6 --rate429 0.6 2>/dev/null; check "rates over 1 in sum exit 2" [ $? -eq 2 ]
"$MOCK" --fail-first 3 frob 2>"$TMP/err"; check "bad fail kind exits 2" [ $? -eq 2 ]
check "bad fail kind named" grep -q "frob" "$TMP/err"
"$MOCK" --help >"$TMP/help"; check "--help exits 0" [ $? -eq 0 ]
check "--help lists --fail-first" grep -q -- "--fail-first" "$TMP/help"

start_mock a --require-key "$KEY" --seed 7
check "mock writes its port file" [ -s "$TMP/a.port" ]

# ---- requests in the three formats --------------------------------------------
SCHEMA='{"type":"object","properties":{"message":{"type":"string"},"action":{"type":"string","enum":["offer","accept","walk_away"]},"offer":{"type":"object","properties":{"price":{"type":"number","minimum":10000,"maximum":20000},"warranty_years":{"type":"integer","minimum":0,"maximum":3},"colour":{"type":"string","enum":["red","blue","green"]}},"required":["price","warranty_years","colour"]}},"required":["message","action","offer"]}'
JUDGE='{"type":"object","properties":{"buyer":{"type":"object","properties":{"tactical_summary":{"type":"string"},"influencing_effectiveness_score":{"type":"integer","minimum":1,"maximum":10},"tactic_effectiveness_score":{"type":"integer","minimum":1,"maximum":10}}},"seller":{"type":"object","properties":{"tactical_summary":{"type":"string"},"influencing_effectiveness_score":{"type":"integer","minimum":1,"maximum":10},"tactic_effectiveness_score":{"type":"integer","minimum":1,"maximum":10}}}}}'
openai_body() { # openai_body SCHEMA TEXT
    printf '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You sell a car."},{"role":"user","content":"%s"}],"response_format":{"type":"json_schema","json_schema":{"name":"negotiation_move","strict":true,"schema":%s}}}' "$2" "$1"
}
anthropic_body() {
    printf '{"model":"claude-3-5-haiku-latest","max_tokens":512,"system":"You sell a car.","messages":[{"role":"user","content":"%s"}],"tools":[{"name":"negotiation_move","description":"your move","input_schema":%s}],"tool_choice":{"type":"tool","name":"negotiation_move"}}' "$2" "$1"
}
gemini_body() {
    local s=${1//\"type\":\"object\"/\"type\":\"OBJECT\"}
    printf '{"systemInstruction":{"parts":[{"text":"You sell a car."}]},"contents":[{"role":"user","parts":[{"text":"%s"}]}],"generationConfig":{"responseMimeType":"application/json","responseSchema":%s}}' "$2" "$s"
}
OA=/v1/chat/completions AN=/v1/messages GE=/v1beta/models/gemini-2.0-flash:generateContent
openai()    { curl -s -o "$TMP/r.json" -D "$TMP/h.txt" -w '%{http_code}' -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' --data-binary @"$1" "$URL$OA" "${@:2}"; }
anthropic() { curl -s -o "$TMP/r.json" -D "$TMP/h.txt" -w '%{http_code}' -H "x-api-key: $KEY" -H 'anthropic-version: 2023-06-01' --data-binary @"$1" "$URL$AN" "${@:2}"; }
gemini()    { curl -s -o "$TMP/r.json" -D "$TMP/h.txt" -w '%{http_code}' -H "x-goog-api-key: $KEY" --data-binary @"$1" "$URL$GE" "${@:2}"; }

openai_body "$SCHEMA" "Make your first offer." >"$TMP/oa.json"
anthropic_body "$SCHEMA" "Make your first offer." >"$TMP/an.json"
gemini_body "$SCHEMA" "Make your first offer." >"$TMP/ge.json"
# A move: action from the enum, every issue inside its bounds or options,
# a message naming the price, and usage = bytes / 4 for both directions.
MOVE_OK='m["action"] in ("offer","accept","walk_away") and set(m["offer"]) == {"price","warranty_years","colour"} and 10000 <= m["offer"]["price"] <= 20000 and m["offer"]["warranty_years"] in (0,1,2,3) and m["offer"]["colour"] in ("red","blue","green") and isinstance(m["message"], str) and str(m["offer"]["price"]).rstrip("0").rstrip(".") in m["message"]'
compact='json.dumps(m, separators=(",", ":"))'
for fmt in openai anthropic gemini; do
    case $fmt in
        openai) body=$TMP/oa.json
                pick='m = json.loads(d["choices"][0]["message"]["content"]); u = d["usage"]; i, o = u["prompt_tokens"], u["completion_tokens"]; ok = d["choices"][0]["finish_reason"] == "stop" and u["total_tokens"] == i + o and d["model"] == "gpt-4o-mini"; t = d["choices"][0]["message"]["content"]' ;;
        anthropic) body=$TMP/an.json
                pick='c = d["content"][0]; m = c["input"]; u = d["usage"]; i, o = u["input_tokens"], u["output_tokens"]; ok = c["type"] == "tool_use" and c["name"] == "negotiation_move" and d["stop_reason"] == "tool_use"; t = '"$compact" ;;
        gemini) body=$TMP/ge.json
                pick='t = d["candidates"][0]["content"]["parts"][0]["text"]; m = json.loads(t); u = d["usageMetadata"]; i, o = u["promptTokenCount"], u["candidatesTokenCount"]; ok = u["totalTokenCount"] == i + o and d["candidates"][0]["finishReason"] == "STOP"' ;;
    esac
    code=$($fmt "$body")
    check "$fmt: 200" [ "$code" = 200 ]
    n=$(wc -c <"$body")
    check "$fmt: schema-conforming move" jcheck "$TMP/r.json" "exec('$pick', globals()) or ($MOVE_OK)"
    check "$fmt: envelope fields" jcheck "$TMP/r.json" "exec('$pick', globals()) or ok"
    check "$fmt: input tokens = body bytes / 4" jcheck "$TMP/r.json" "exec('$pick', globals()) or i == max(1, $n // 4)"
    check "$fmt: output tokens = answer bytes / 4" jcheck "$TMP/r.json" "exec('$pick', globals()) or o == max(1, len(t) // 4)"
done
# Determinism, stated plainly: the same OpenAI body twice gives the same content.
openai "$TMP/oa.json" >/dev/null; cp "$TMP/r.json" "$TMP/d1.json"
openai "$TMP/oa.json" >/dev/null
check "same body, same move" "$PY" -c "import json,sys; a,b=(json.load(open(f))['choices'][0]['message']['content'] for f in sys.argv[1:]); sys.exit(a!=b)" "$TMP/d1.json" "$TMP/r.json"

# Across many different bodies, accept shows up at about --accept-rate
# (0.2 by default) and values spread over their range.
for k in $(seq 40); do
    openai_body "$SCHEMA" "turn $k" >"$TMP/b.json"
    openai "$TMP/b.json" >/dev/null
    "$PY" -c "import json; d=json.load(open('$TMP/r.json')); print(json.dumps(json.loads(d['choices'][0]['message']['content'])))" >>"$TMP/moves.jsonl"
done
check "accept rate near 0.2 over 40 moves" "$PY" -c "
import json,sys
ms=[json.loads(l) for l in open('$TMP/moves.jsonl')]
acc=sum(m['action']=='accept' for m in ms); prices={m['offer']['price'] for m in ms}
sys.exit(not (2 <= acc <= 16 and len(prices) >= 30 and all(10000<=p<=20000 for p in prices)))"

# accept_rate and walk_rate steer the action
check "control accept_rate=1" [ "$(control '{"accept_rate":1}')" = 200 ]
openai_body "$SCHEMA" "accept please" >"$TMP/b.json"; openai "$TMP/b.json" >/dev/null
check "accept_rate 1 gives accept" jcheck "$TMP/r.json" 'json.loads(d["choices"][0]["message"]["content"])["action"] == "accept"'
control '{"accept_rate":0,"walk_rate":1}' >/dev/null
openai "$TMP/b.json" >/dev/null
check "walk_rate 1 gives walk_away" jcheck "$TMP/r.json" 'json.loads(d["choices"][0]["message"]["content"])["action"] == "walk_away"'
control '{"reset_config":true}' >/dev/null

# judge schema: both sides, integer scores in 1..10, a summary
openai_body "$JUDGE" "Judge this negotiation." >"$TMP/oj.json"
openai "$TMP/oj.json" >/dev/null
check "judge answer" jcheck "$TMP/r.json" 'all(isinstance(s["tactical_summary"], str) and s["tactical_summary"] and all(type(s[k]) is int and 1 <= s[k] <= 10 for k in ("influencing_effectiveness_score","tactic_effectiveness_score")) for s in (lambda a: (a["buyer"], a["seller"]))(json.loads(d["choices"][0]["message"]["content"])))'
anthropic_body "$JUDGE" "Judge." >"$TMP/aj.json"; anthropic "$TMP/aj.json" >/dev/null
check "judge answer (anthropic)" jcheck "$TMP/r.json" '1 <= d["content"][0]["input"]["seller"]["tactic_effectiveness_score"] <= 10'
# no schema at all
echo '{"model":"m","messages":[{"role":"user","content":"hi"}]}' >"$TMP/plain.json"
openai "$TMP/plain.json" >/dev/null
check "no schema: {message: ok}" jcheck "$TMP/r.json" 'json.loads(d["choices"][0]["message"]["content"]) == {"message": "ok"}'
code=$(curl -s -o "$TMP/r.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" -d 'not json' "$URL$OA")
check "non-JSON request body: 400" [ "$code" = 400 ]

# ---- keys ---------------------------------------------------------------------
code=$(curl -s -o "$TMP/r.json" -D "$TMP/h.txt" -w '%{http_code}' -H "Authorization: Bearer sk-wrong-key" --data-binary @"$TMP/oa.json" "$URL$OA")
check "openai wrong key: 401" [ "$code" = 401 ]
check "openai 401 error shape" jcheck "$TMP/r.json" 'd["error"]["message"] and d["error"]["type"]'
check "wrong key not echoed" lacks "sk-wrong-key" "$TMP/r.json" "$TMP/h.txt"
code=$(curl -s -o "$TMP/r.json" -w '%{http_code}' -H "x-api-key: nope" --data-binary @"$TMP/an.json" "$URL$AN")
check "anthropic wrong key: 401" [ "$code" = 401 ]
check "anthropic 401 error shape" jcheck "$TMP/r.json" 'd["type"] == "error" and d["error"]["type"] == "authentication_error" and d["error"]["message"]'
code=$(curl -s -o "$TMP/r.json" -w '%{http_code}' --data-binary @"$TMP/ge.json" "$URL$GE")
check "gemini missing key: 401" [ "$code" = 401 ]
check "gemini 401 error shape" jcheck "$TMP/r.json" 'd["error"]["code"] == 401 and d["error"]["message"]'
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $KEY" --data-binary @"$TMP/oa.json" "$URL$OA")
check "openai key without Bearer: 401" [ "$code" = 401 ]
curl -s "$URL/_control" >"$TMP/cfg.json"
check "settings never show the key" lacks "$KEY" "$TMP/cfg.json"

# ---- faults, one at a time (fail_next), in every format ------------------------
control '{"reset_stats":true}' >/dev/null
control '{"fail_next":1,"kind":"429","retry_after":2}' >/dev/null
code=$(anthropic "$TMP/an.json")
check "429 status" [ "$code" = 429 ]
check "429 Retry-After: 2" grep -qi "^retry-after: 2" "$TMP/h.txt"
check "429 anthropic error shape" jcheck "$TMP/r.json" 'd["error"]["type"] == "rate_limit_error"'
for kind in 500 503 403 400; do
    control "{\"fail_next\":1,\"kind\":\"$kind\"}" >/dev/null
    code=$(openai "$TMP/oa.json")
    check "$kind status" [ "$code" = "$kind" ]
    check "$kind error body" jcheck "$TMP/r.json" 'd["error"]["message"].startswith("mock:")'
done
control '{"fail_next":1,"kind":"503"}' >/dev/null
code=$(gemini "$TMP/ge.json")
check "503 in gemini shape" jcheck "$TMP/r.json" 'd["error"]["status"] == "UNAVAILABLE" and d["error"]["code"] == 503'
check "503 carries Retry-After when set" grep -qi "^retry-after: 2" "$TMP/h.txt"
check "next request is served again" [ "$(openai "$TMP/oa.json")" = 200 ]

control '{"fail_next":1,"kind":"drop"}' >/dev/null
openai "$TMP/oa.json" >/dev/null; rc=$?
check "drop: empty reply (curl 52)" [ $rc -eq 52 ]

control '{"fail_next":2,"kind":"malformed"}' >/dev/null
for k in 1 2; do
    code=$(openai "$TMP/oa.json")
    check "malformed $k: 200" [ "$code" = 200 ]
    check "malformed $k: body is not JSON" not_json "$TMP/r.json"
done

control '{"fail_next":6,"kind":"badschema"}' >/dev/null
BROKEN='m["action"] not in ("offer","accept","walk_away") or set(m["offer"]) != {"price","warranty_years","colour"} or not 10000 <= m["offer"]["price"] <= 20000 or m["offer"]["warranty_years"] not in (0,1,2,3) or m["offer"]["colour"] not in ("red","blue","green")'
for k in 1 2 3 4 5 6; do
    openai_body "$SCHEMA" "break $k" >"$TMP/b.json"
    code=$(openai "$TMP/b.json")
    check "badschema $k: 200 with valid provider JSON" [ "$code" = 200 ]
    check "badschema $k: answer breaks the schema" jcheck "$TMP/r.json" "(lambda m: $BROKEN)(json.loads(d['choices'][0]['message']['content']))"
done
control '{"fail_next":2,"kind":"badschema"}' >/dev/null
openai "$TMP/oj.json" >/dev/null
check "badschema judge: score out of 1..10" jcheck "$TMP/r.json" 'any(not 1 <= s[k] <= 10 for s in json.loads(d["choices"][0]["message"]["content"]).values() for k in s if k.endswith("score"))'
anthropic "$TMP/aj.json" >/dev/null
check "badschema judge (anthropic): score out of 1..10" jcheck "$TMP/r.json" 'any(not 1 <= s[k] <= 10 for s in d["content"][0]["input"].values() for k in s if k.endswith("score"))'

# hang: the client gives up; meanwhile other requests are served
control '{"fail_next":1,"kind":"hang"}' >/dev/null
start=$(date +%s%N)
curl -s -o /dev/null -m 1.5 -H "Authorization: Bearer $KEY" --data-binary @"$TMP/oa.json" "$URL$OA" & hp=$!
sleep 0.3
code=$(openai "$TMP/oa.json")
check "served while another request hangs" [ "$code" = 200 ]
wait $hp; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "hang: client times out (curl 28)" [ $rc -eq 28 ]
check "hang: lasted until the client's limit ($ms ms)" [ "$ms" -ge 1400 ]
sleep 0.5
stats
check "hang: closed once the client left (inflight 0)" jcheck "$TMP/stats.json" 'd["inflight"] == 0'

stats
check "stats: fault counts" jcheck "$TMP/stats.json" 'd["faults"] == {"429":1,"500":1,"503":2,"403":1,"400":1,"drop":1,"hang":1,"malformed":2,"badschema":8,"401":0}'
check "stats: requests and by_format" jcheck "$TMP/stats.json" 'd["requests"] == 20 and d["by_format"] == {"openai":17,"anthropic":2,"gemini":1}'
check "stats: by_path" jcheck "$TMP/stats.json" 'd["by_path"]["/v1/chat/completions"] == 17 and d["by_path"]["/v1beta/models/gemini-2.0-flash:generateContent"] == 1'
check "stats: answers and tokens" jcheck "$TMP/stats.json" 'd["ok"] == 10 and d["answers"]["move"] == 8 and d["answers"]["judge"] == 2 and d["tokens"]["input"] > 0 and d["tokens"]["output"] > 0'

# ---- rates, usage, delay ----------------------------------------------------------
check "control rate500=1" [ "$(control '{"rate500":1.0}')" = 200 ]
n500=0; for k in 1 2 3 4 5; do [ "$(openai "$TMP/oa.json")" = 500 ] && n500=$((n500 + 1)); done
check "rate500=1: every request 500 ($n500/5)" [ $n500 -eq 5 ]
control '{"rate500":0}' >/dev/null
check "rate500=0: served again (breaker can close)" [ "$(openai "$TMP/oa.json")" = 200 ]
control '{"reset_stats":true,"rate429":0.5}' >/dev/null
for k in $(seq 60); do openai "$TMP/oa.json" >/dev/null; done
stats
check "rate429=0.5: about half of 60" jcheck "$TMP/stats.json" '15 <= d["faults"]["429"] <= 45 and d["ok"] == 60 - d["faults"]["429"]'
control '{"rate429":0}' >/dev/null

code=$(control '{"bogus":1,"rate500":1}')
check "control: unknown key 400" [ "$code" = 400 ]
check "control: refusal names the key" grep -q "bogus" "$TMP/ctl.json"
check "control: nothing applied on refusal" [ "$(openai "$TMP/oa.json")" = 200 ]
check "control: rates over 1 refused" [ "$(control '{"rate500":0.7,"rate503":0.7}')" = 400 ]

control '{"usage":false}' >/dev/null
openai "$TMP/oa.json" >/dev/null
check "usage false: no usage block" jcheck "$TMP/r.json" '"usage" not in d'
control '{"usage":true}' >/dev/null

control '{"delay_ms":300}' >/dev/null
t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $KEY" --data-binary @"$TMP/oa.json" "$URL$OA")
check "delay 300 ms observed ($t s)" "$PY" -c "import sys; sys.exit(not 0.28 <= $t < 1.5)"
# 64 delayed requests at once finish in about one delay, not 64
control '{"reset_stats":true}' >/dev/null
for k in $(seq 64); do printf 'url = "%s"\noutput = "/dev/null"\n' "$URL$OA"; done >"$TMP/urls"
start=$(date +%s%N)
curl -s --no-progress-meter --parallel --parallel-max 64 -K "$TMP/urls" -H "Authorization: Bearer $KEY" --data-binary @"$TMP/oa.json" -w '%{http_code}\n' >"$TMP/codes"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "64 parallel delayed requests all 200" [ "$(grep -c '^200$' "$TMP/codes")" -eq 64 ]
check "64 parallel delayed requests overlap ($ms ms)" [ "$ms" -lt 2000 ]
stats
check "stats: max_inflight_seen counts concurrency" jcheck "$TMP/stats.json" 'd["max_inflight_seen"] >= 32 and d["inflight"] == 0 and d["requests"] == 64'
control '{"delay_ms":0}' >/dev/null

# ---- --fail-first, --no-usage, key from the environment, clean exit ----------------
start_mock b --fail-first 2 503 --no-usage
B_PID=$MOCK_PID
codes=$(for k in 1 2 3; do curl -s -o "$TMP/r.json" -w '%{http_code} ' --data-binary @"$TMP/oa.json" "$URL$OA"; done)
check "--fail-first 2 503: 503 503 200 ($codes)" [ "$codes" = "503 503 200 " ]
check "--no-usage: no usage block" jcheck "$TMP/r.json" '"usage" not in d and d["choices"][0]["message"]["content"]'
check "no --require-key: any or no key accepted" [ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$TMP/ge.json" "$URL$GE")" = 200 ]
curl -s -d '{"fail_next":1,"kind":"hang"}' "$URL/_control" >/dev/null
curl -s -o /dev/null -m 5 --data-binary @"$TMP/oa.json" "$URL$OA" & hp=$!
sleep 0.3
kill -TERM "$B_PID"; wait "$B_PID"; rc=$?
check "SIGTERM with a hung request: exit 0" [ $rc -eq 0 ]
wait $hp
check "port file removed on exit" [ ! -e "$TMP/b.port" ]

export NSK=sk-env-key-77
start_mock c --require-key-env NSK
check "--require-key-env: right key 200" [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'x-api-key: sk-env-key-77' --data-binary @"$TMP/an.json" "$URL$AN")" = 200 ]
check "--require-key-env: wrong key 401" [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'x-api-key: other' --data-binary @"$TMP/an.json" "$URL$AN")" = 401 ]
unset NSK
"$MOCK" --require-key-env NS_SURELY_UNSET_VAR 2>/dev/null
check "--require-key-env with unset variable exits 2" [ $? -eq 2 ]

finish
