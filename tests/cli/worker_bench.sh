#!/usr/bin/env bash
# veil-worker --bench-reply (docs/worker.md "Benchmark mode"): every
# completion is "ok" at once without the model, whole and streamed, plain
# and through OHTTP, with receipts that verify (tests/interop/
# worker_bench.mjs, with jose); the evidence says engine "bench-reply",
# the log warns at start, and the mode does not go with --upstream.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/node.bash
export LC_ALL=C
PY="${VEIL_PYTHON:-/usr/bin/python3}"
WORKER_BIN="${BUILD:-build}/veil-worker"
[ -x "$WORKER_BIN" ] || { bad "$WORKER_BIN is missing: make check-tests"; finish; }
"$PY" -c 'import numpy' 2>/dev/null || { bad "$PY cannot import numpy (scripts/setup.sh)"; finish; }
PIDS=()
on_finish() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# A receipt's payload (the middle part of the compact JWS) as JSON.
payload() {
	local p
	p="$(cut -d. -f2 <<<"$1" | tr '_-' '/+')"
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	base64 -d <<<"$p" 2>/dev/null
}

"$PY" tests/models/gen_gguf.py --out "$TMP/chat.gguf" --arch qwen2 --vocab gpt2 --template chatml \
	--type Q8_0 --seed 4 --ctx 256 || { bad "generating the model"; finish; }
"$VEIL" seal --in "$TMP/chat.gguf" --out "$TMP/chat.sealed" --key-out "$TMP/chat.key" \
	--resource default/model/chat >/dev/null 2>&1 && ok || { bad "veil seal"; finish; }
S="$TMP/sim"
"$VEIL" sim init "$S" >/dev/null 2>&1 && ok || { bad "sim init"; finish; }
RUN=(--model "$TMP/chat.sealed" --key-file "$TMP/chat.key" --tee sim --sim "$S")

"$WORKER_BIN" --port 0 "${RUN[@]}" --bench-reply --upstream http://127.0.0.1:9 2>"$TMP/up.log"
[ $? = 2 ] && grep -q "does not go with --upstream" "$TMP/up.log" && ok ||
	bad "--bench-reply with --upstream: exit 2 saying why ($(tail -n 1 "$TMP/up.log"))"

"$WORKER_BIN" --port 0 --port-file "$TMP/port" "${RUN[@]}" --bench-reply --id wk-bench 2>"$TMP/w.log" &
PIDS+=($!)
for _ in $(seq 1 200); do
	[ -s "$TMP/port" ] && break
	sleep 0.05
done
[ -s "$TMP/port" ] && ok || { bad "the worker did not start: $(tail -n 3 "$TMP/w.log")"; finish; }
W="http://127.0.0.1:$(cat "$TMP/port")"

grep '^{' "$TMP/w.log" | jq -se 'map(select(.event == "engine.bench_reply" and
	(.warning | test("never for production")))) | length == 1' >/dev/null && ok ||
	bad "the worker warns at start that it answers without the model"
grep '^{' "$TMP/w.log" | jq -se 'map(select(.event == "engine.ready")) | length == 1' >/dev/null && ok ||
	bad "the model and the engine load as usual"
curl -sf "$W/v1/attestation" -o "$TMP/bundle.json" && ok || bad "GET /v1/attestation"
jq -e '.runtime_data["veil-worker"].engine == "bench-reply"' "$TMP/bundle.json" >/dev/null && ok ||
	bad "the evidence says engine bench-reply"
"$VEIL" verify --json --sim-root "$S/root.pem" "$TMP/bundle.json" 2>/dev/null | jq -e .verified >/dev/null &&
	ok || bad "the bundle verifies"

# Whole and streamed with curl: the text, and the receipt's digests.
printf '%s' '{"messages":[{"role":"user","content":"tell me a long story"}],"max_tokens":50}' >"$TMP/req.json"
curl -s -D "$TMP/h" -o "$TMP/resp.json" -H 'Content-Type: application/json' --data-binary @"$TMP/req.json" \
	"$W/v1/chat/completions"
jq -e '.choices[0].message.content == "ok" and .choices[0].finish_reason == "stop" and
	.usage.completion_tokens == 1 and .usage.prompt_tokens > 1 and
	.usage.total_tokens == .usage.prompt_tokens + 1' "$TMP/resp.json" >/dev/null && ok ||
	bad "chat: $(head -c 300 "$TMP/resp.json")"
R="$(grep -i '^x-veil-receipt:' "$TMP/h" | cut -d' ' -f2 | tr -d '\r')"
payload "$R" | jq -e --arg rq "$(sha "$TMP/req.json")" --arg rs "$(sha "$TMP/resp.json")" \
	--arg ev "$(sha "$TMP/bundle.json")" '.request_sha256 == $rq and .response_sha256 == $rs and
	.evidence_sha256 == $ev and .usage.completion_tokens == 1 and .worker == "wk-bench"' >/dev/null &&
	ok || bad "the receipt names the request, the response and the evidence"
curl -s -N -o "$TMP/stream.txt" -d '{"prompt":"hi","max_tokens":9,"stream":true}' "$W/v1/completions"
tail -n 2 "$TMP/stream.txt" | grep -q '^data: \[DONE\]' && ok || bad "the stream ends with [DONE]"
grep '^data: {' "$TMP/stream.txt" | cut -c7- | jq -j '.choices[0].text // empty' >"$TMP/text"
[ "$(cat "$TMP/text")" = ok ] && ok || bad "the streamed text is \"$(cat "$TMP/text")\""
payload "$(grep '^data: {' "$TMP/stream.txt" | tail -n 1 | cut -c7- | jq -r .veil_receipt)" |
	jq -e --arg d "$(sha "$TMP/text")" '.response_sha256 == $d and .stream' >/dev/null && ok ||
	bad "the stream's receipt covers \"ok\""

# The independent client: receipts verified with jose, OHTTP whole and chunked.
node_require "the bench-mode client tests" && npm_packages_ready &&
	run_node_checks tests/interop/worker_bench.mjs "$W"
grep -q "tell me a long story" "$TMP/w.log" && bad "a prompt appears in the log" || ok
finish
