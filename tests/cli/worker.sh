#!/usr/bin/env bash
# veil-worker on the simulated TEE (docs/worker.md), with real daemons on
# loopback: a veil-kbs holding the model key under a policy that trusts
# the sim platform and expects the worker's measurement, a generated model
# sealed to that key. The worker must start only after the broker released
# the key, and refuse to start (exit 2, saying which step refused) when the
# resource policy denies it, when its measurement is not the expected one,
# when the broker cannot be reached, and when a GPU is out of CC mode.
# Then the API with curl (receipts, attestation nonces, limits, bad input,
# overload), the independent Node.js client (tests/interop/
# worker_client.mjs: the official openai client, jose, an independent
# OHTTP), and a second worker fronting the first as its upstream engine.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/kbs.bash
. tests/cli/lib/node.bash
export LC_ALL=C
PY="${VEIL_PYTHON:-/usr/bin/python3}"
WORKER_BIN="${BUILD:-build}/veil-worker"
[ -x "$WORKER_BIN" ] || { bad "$WORKER_BIN is missing: make check-tests"; finish; }
"$PY" -c 'import numpy' 2>/dev/null || { bad "$PY cannot import numpy (scripts/setup.sh)"; finish; }

# start_worker NAME ARGS...: a worker on an ephemeral port; sets
# URL_W_NAME, or returns 1 (the worker exited: its status in $TMP/NAME.rc).
start_worker() {
	local name="$1"
	shift
	rm -f "$TMP/$name.port"
	"$WORKER_BIN" --port 0 --port-file "$TMP/$name.port" "$@" 2>"$TMP/$name.log" &
	local pid=$!
	PIDS+=($pid)
	for _ in $(seq 1 600); do
		[ -s "$TMP/$name.port" ] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			echo $? >"$TMP/$name.rc"
			return 1
		fi
		sleep 0.05
	done
	[ -s "$TMP/$name.port" ] || return 1
	eval "URL_W_$name=http://127.0.0.1:$(cat "$TMP/$name.port")"
}
# refused NAME WHY-REGEX ARGS...: the worker must exit 2 and say why.
refused() {
	local name="$1" why="$2"
	shift 2
	if start_worker "$name" "$@"; then
		bad "$name: the worker started"
		return
	fi
	[ "$(cat "$TMP/$name.rc" 2>/dev/null)" = 2 ] && ok || bad "$name: exit $(cat "$TMP/$name.rc" 2>/dev/null), want 2"
	grep -Eq "$why" "$TMP/$name.log" && ok || {
		bad "$name: the message does not match /$why/"
		sed 's/^/    /' "$TMP/$name.log" | tail -3
	}
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# A receipt's payload (the middle part of the compact JWS) as JSON.
payload() {
	local p
	p="$(cut -d. -f2 <<<"$1" | tr '_-' '/+')"
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	base64 -d <<<"$p" 2>/dev/null
}

# The model, sealed, its key in the broker.
"$PY" tests/models/gen_gguf.py --out "$TMP/chat.gguf" --arch qwen2 --vocab gpt2 --template chatml \
	--type Q8_0 --seed 4 --ctx 512 || { bad "generating the model"; finish; }
"$VEIL" seal --in "$TMP/chat.gguf" --out "$TMP/chat.sealed" --key-out "$TMP/chat.key" \
	--resource default/model/chat >/dev/null 2>&1 && ok || { bad "veil seal"; finish; }
cp "$TMP/chat.key" "$TMP/secret"
S="$TMP/sim"
"$VEIL" sim init --gpus 1 "$S" >/dev/null 2>&1 && ok || { bad "sim init"; finish; }
ROOT="$(cat "$S/root.sha256")"
printf 'veil-worker build 1' >"$TMP/wk.bin"
printf '{"model":"chat"}' >"$TMP/wk.json"
M="$("$VEIL" sim measure "$TMP/wk.bin" "$TMP/wk.json")"
cat >"$TMP/policy.json" <<JSON
{"version": 1, "id": "worker-test",
 "sim": {"roots": ["$ROOT"], "max_age_seconds": 300, "match": {"measurement": "workloads"}},
 "gpu": {"required": true, "min_count": 1}}
JSON
cat >"$TMP/rv.json" <<JSON
{"version": 1, "expires": "2099-01-01T00:00:00Z", "sets": {"workloads": ["$M"]}}
JSON
cat >"$TMP/rp.json" <<JSON
{"version": 1,
 "rules": [{"resources": "default/model/*", "status": ["affirming"], "tee": ["sim"],
            "allow_insecure": true}]}
JSON
# The broker's store is made at its first start; the key goes in under the
# sealed header's resource path.
start kbs --policy "$TMP/policy.json" --reference-values "$TMP/rv.json" --resource-policy "$TMP/rp.json"
"$KBS_BIN" put-resource --db "$TMP/kbs.db" --master-key "$TMP/kbs.key" default/model/chat \
	"$TMP/chat.key" 2>/dev/null && ok || bad "put-resource"
"$KBS_BIN" put-resource --db "$TMP/kbs.db" --master-key "$TMP/kbs.key" default/other/chat \
	"$TMP/chat.key" 2>/dev/null && ok || bad "put-resource"
SIM=(--tee sim --sim "$S" --workload "$TMP/wk.bin" --workload "$TMP/wk.json")

# ---- start-up ----
refused denied "PolicyDeny|not released" --model "$TMP/chat.sealed" --kbs "$URL_kbs" "${SIM[@]}" \
	--kbs-resource default/other/chat --kbs-deadline-ms 2000
printf 'a tampered build' >"$TMP/evil.bin"
refused measured "contraindicated" --model "$TMP/chat.sealed" --kbs "$URL_kbs" --tee sim --sim "$S" \
	--workload "$TMP/evil.bin" --workload "$TMP/wk.json" --kbs-deadline-ms 2000
refused nobroker "connect|kbs|broker" --model "$TMP/chat.sealed" --kbs "http://127.0.0.1:9" \
	"${SIM[@]}" --kbs-deadline-ms 1200
cp -r "$S" "$TMP/sim-cc-off"
sed -i 's/"cc_mode": "on"/"cc_mode": "off"/' "$TMP/sim-cc-off/platform.json"
refused ccoff "GPU|gpu|CC" --model "$TMP/chat.sealed" --kbs "$URL_kbs" --tee sim \
	--sim "$TMP/sim-cc-off" --workload "$TMP/wk.bin" --workload "$TMP/wk.json" --gpus sim
head -c 32 /dev/urandom >"$TMP/wrong.key"
refused keyfile-wrong "wrong key" --model "$TMP/chat.sealed" --key-file "$TMP/wrong.key" \
	--tee sim --sim "$S"
refused usage "exactly one of --kbs" --model "$TMP/chat.sealed" --tee sim --sim "$S"
for remote in http://10.0.0.1:8000 http://127.0.0.1@10.0.0.1:8000 http://localhost.example.com \
	http://127.0.0.1.nip.io:80 https://127.0.0.1:8000 http://127.0.0.1:8000/v1 unix:relative; do
	refused upstream-remote "loopback|user information|path|absolute|http://" \
		--model "$TMP/chat.sealed" --key-file "$TMP/chat.key" --tee sim --sim "$S" --upstream "$remote"
done

start_worker main --model "$TMP/chat.sealed" --kbs "$URL_kbs" "${SIM[@]}" --gpus sim \
	--id wk-test-1 --attest-rate 3 && ok || {
	bad "the worker did not start"
	sed 's/^/    /' "$TMP/main.log" | tail -5
	finish
}
W="$URL_W_main"
grep -q '"event":"model.key"' "$TMP/main.log" && ok || bad "the log shows the key release"
grep -q "$(cat "$TMP/secret" | od -An -tx1 | tr -d ' \n' | head -c 16)" "$TMP/main.log" &&
	bad "the model key appears in the log" || ok

# ---- evidence ----
curl -sf "$W/v1/attestation" -o "$TMP/bundle.json" && ok || bad "GET /v1/attestation"
curl -sf "$W/v1/attestation" -o "$TMP/bundle2.json" && cmp -s "$TMP/bundle.json" "$TMP/bundle2.json" &&
	ok || bad "the published bundle is stable"
"$VEIL" verify --json --sim-root "$S/root.pem" "$TMP/bundle.json" >"$TMP/v.json" 2>/dev/null
jq -e '.verified' "$TMP/v.json" >/dev/null && ok || bad "the published bundle verifies"
jq -e '.runtime_data["veil-worker"].id == "wk-test-1" and .runtime_data["veil-worker"].model == "chat"' \
	"$TMP/bundle.json" >/dev/null && ok || bad "runtime data names the worker and model"
jq -e --arg d "$(sha "$TMP/chat.gguf")" '.runtime_data["veil-worker"]["model-sha256"] == $d' \
	"$TMP/bundle.json" >/dev/null && ok || bad "runtime data carries the model digest"
jq -e '.runtime_data["additional-evidence"] | length == 1' "$TMP/bundle.json" >/dev/null && ok ||
	bad "the bundle carries the sim GPU"
N1="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
curl -sf "$W/v1/attestation?nonce=$N1" -o "$TMP/fresh.json" && ok || bad "attestation with a nonce"
jq -e --arg n "$N1" '.runtime_data.nonce == $n' "$TMP/fresh.json" >/dev/null && ok ||
	bad "the fresh bundle answers the nonce"
"$VEIL" verify --json --sim-root "$S/root.pem" "$TMP/fresh.json" 2>/dev/null | jq -e .verified >/dev/null &&
	ok || bad "the fresh bundle verifies"
jq -e --slurpfile p "$TMP/bundle.json" '.runtime_data["tee-pubkey"] == $p[0].runtime_data["tee-pubkey"]' \
	"$TMP/fresh.json" >/dev/null && ok || bad "fresh and published bundles bind the same key"
for bad_nonce in xyz 00 "$(printf 'a%.0s' $(seq 1 130))" "${N1}0"; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$W/v1/attestation?nonce=$bad_nonce")" = 400 ] && ok ||
		bad "nonce '$bad_nonce' is refused with 400"
done
codes=""
for _ in 1 2 3 4 5 6; do
	codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "$W/v1/attestation?nonce=$N1")"
done
grep -q 429 <<<"$codes" && ok || bad "fresh attestations are rate-limited (got$codes)"
curl -sf "$W/.well-known/ohttp-keys" -o "$TMP/keys" && ok || bad "GET ohttp-keys"
[ "$(base64 -w0 <"$TMP/keys")" = "$(jq -r '.runtime_data["veil-worker"]["ohttp-keys"]' "$TMP/bundle.json")" ] &&
	ok || bad "the OHTTP keys served are the ones attested"

# ---- the API ----
cat >"$TMP/req.json" <<'JSON'
{"model":"chat","messages":[{"role":"user","content":"hello there"}],"max_tokens":6,"temperature":0}
JSON
curl -s -D "$TMP/h" -o "$TMP/resp.json" -H 'Content-Type: application/json' --data-binary @"$TMP/req.json" \
	"$W/v1/chat/completions"
jq -e '.object == "chat.completion" and (.choices[0].message.content | type == "string") and
	.usage.completion_tokens <= 6 and .usage.prompt_tokens > 0' "$TMP/resp.json" >/dev/null && ok ||
	bad "chat completion: $(head -c 300 "$TMP/resp.json")"
R="$(grep -i '^x-veil-receipt:' "$TMP/h" | cut -d' ' -f2 | tr -d '\r')"
[ -n "$R" ] && ok || bad "the response carries X-Veil-Receipt"
payload "$R" >"$TMP/receipt.json"
jq -e --arg rq "$(sha "$TMP/req.json")" --arg rs "$(sha "$TMP/resp.json")" \
	--arg ev "$(sha "$TMP/bundle.json")" --arg md "$(sha "$TMP/chat.gguf")" \
	'.request_sha256 == $rq and .response_sha256 == $rs and .evidence_sha256 == $ev and
	 .model_sha256 == $md and .worker == "wk-test-1" and .stream == false and .ohttp == false' \
	"$TMP/receipt.json" >/dev/null && ok || bad "the receipt's digests: $(cat "$TMP/receipt.json")"
curl -s -N -o "$TMP/stream.txt" -H 'Content-Type: application/json' \
	-d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true}' "$W/v1/chat/completions"
tail -n 2 "$TMP/stream.txt" | grep -q '^data: \[DONE\]' && ok || bad "the stream ends with [DONE]"
grep '^data: {' "$TMP/stream.txt" | tail -n 1 | cut -c7- | jq -e '.veil_receipt | type == "string"' >/dev/null &&
	ok || bad "the last chunk carries veil_receipt"
grep '^data: {' "$TMP/stream.txt" | cut -c7- | jq -j '.choices[0].delta.content // empty' >"$TMP/text"
SR="$(grep '^data: {' "$TMP/stream.txt" | tail -n 1 | cut -c7- | jq -r .veil_receipt)"
payload "$SR" | jq -e --arg d "$(sha "$TMP/text")" '.response_sha256 == $d and .stream' >/dev/null &&
	ok || bad "the stream receipt covers the streamed text"
curl -s -o "$TMP/c.json" -d '{"prompt":"once upon","max_tokens":4,"temperature":0}' "$W/v1/completions"
jq -e '.object == "text_completion" and (.choices[0].text | type == "string")' "$TMP/c.json" >/dev/null &&
	ok || bad "legacy completion: $(head -c 200 "$TMP/c.json")"
curl -s -D "$TMP/h" -o "$TMP/m.json" "$W/v1/models"
jq -e '.data[0].id == "chat"' "$TMP/m.json" >/dev/null && grep -qi '^x-veil-receipt:' "$TMP/h" && ok ||
	bad "GET /v1/models, with a receipt"

# Bad input: OpenAI-style errors, and the worker keeps serving.
code() { curl -s -o "$TMP/err.json" -w '%{http_code}' "$@"; }
[ "$(code -d '{"messages":[' "$W/v1/chat/completions")" = 400 ] &&
	jq -e '.error.type == "invalid_request_error"' "$TMP/err.json" >/dev/null && ok || bad "malformed JSON: 400"
[ "$(code -d '{"messages":[{"role":"user","content":"x"}],"temperature":9}' "$W/v1/chat/completions")" = 400 ] &&
	jq -e '.error.param == "temperature"' "$TMP/err.json" >/dev/null && ok || bad "temperature 9: 400 naming it"
[ "$(code -d '{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}' "$W/v1/chat/completions")" = 404 ] &&
	ok || bad "an unknown model: 404"
head -c 1100000 /dev/zero | tr '\0' 'a' >"$TMP/big"
[ "$(code --data-binary @"$TMP/big" "$W/v1/chat/completions")" = 413 ] && ok || bad "an oversized body: 413"
[ "$(code -H 'Content-Type: message/ohttp-req' --data-binary @"$TMP/req.json" "$W/v1/ohttp")" = 400 ] &&
	ok || bad "a request that is not OHTTP: 400"
[ "$(code "$W/v1/chat/completions")" = 405 ] && ok || bad "GET on a POST route: 405"
[ "$(code -d '{"messages":[{"role":"user","content":"x"}],"max_tokens":100000}' "$W/v1/chat/completions")" = 400 ] &&
	ok || bad "max_tokens over the cap: 400"
grep -q "hello there" "$TMP/main.log" && bad "a prompt appears in the log" || ok
curl -sf "$W/healthz" >/dev/null && ok || bad "the worker still serves after bad input"

# ---- the independent client ----
node_require "the worker client tests" && npm_packages_ready && run_node_checks tests/interop/worker_client.mjs "$W"

# ---- overload: one slot, one waiting place ----
start_worker busy --model "$TMP/chat.sealed" --key-file "$TMP/chat.key" --tee sim --sim "$S" \
	--parallel 1 --queue 1 --max-tokens 4096 && ok || bad "the busy worker did not start"
for i in 1 2 3 4 5; do
	curl -s -D "$TMP/busy$i.h" -o /dev/null -d '{"prompt":"a","max_tokens":400,"temperature":1}' \
		"$URL_W_busy/v1/completions" &
done
wait_busy=0
for _ in $(seq 1 200); do
	grep -qs "^HTTP/1.1 429" "$TMP"/busy*.h && break
	sleep 0.05
done
grep -ls "^HTTP/1.1 429" "$TMP"/busy*.h | head -1 | xargs -r grep -qi '^retry-after:' && ok ||
	bad "a full queue answers 429 with Retry-After"
wait_busy=1

# ---- an upstream engine: a second worker in front of the first ----
start_worker front --model "$TMP/chat.sealed" --key-file "$TMP/chat.key" --tee sim --sim "$S" \
	--upstream "$W" --id wk-front && ok || bad "the fronting worker did not start"
curl -s -D "$TMP/h" -o "$TMP/up.json" -H 'Content-Type: application/json' --data-binary @"$TMP/req.json" \
	"$URL_W_front/v1/chat/completions"
cmp -s "$TMP/up.json" "$TMP/resp.json" && bad "upstream: the body is byte-identical (ids must differ)" || true
jq -e '.choices[0].message.content' "$TMP/up.json" >/dev/null &&
	[ "$(jq .choices[0].message.content "$TMP/up.json")" = "$(jq .choices[0].message.content "$TMP/resp.json")" ] &&
	ok || bad "upstream: the same greedy answer through the front worker"
payload "$(grep -i '^x-veil-receipt:' "$TMP/h" | cut -d' ' -f2 | tr -d '\r')" |
	jq -e --arg rs "$(sha "$TMP/up.json")" '.worker == "wk-front" and .response_sha256 == $rs' >/dev/null &&
	ok || bad "upstream: the front worker signs what it passed on"
curl -s -N -o "$TMP/up.txt" -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":5,"stream":true}' \
	"$URL_W_front/v1/chat/completions"
[ "$(grep -c veil_receipt "$TMP/up.txt")" = 1 ] && tail -n 2 "$TMP/up.txt" | grep -q '\[DONE\]' && ok || {
	bad "upstream stream: one receipt (the front's) and [DONE]"
	head -c 600 "$TMP/up.txt" | sed 's/^/    /'
	grep -v '"request.done"' "$TMP/front.log" | tail -n 3 | sed 's/^/    /'
}
grep '^data: {' "$TMP/up.txt" | cut -c7- | jq -j '.choices[0].delta.content // empty' >"$TMP/uptext"
payload "$(grep '^data: {' "$TMP/up.txt" | tail -n 1 | cut -c7- | jq -r .veil_receipt)" |
	jq -e --arg d "$(sha "$TMP/uptext")" '.response_sha256 == $d and .worker == "wk-front"' >/dev/null &&
	ok || bad "upstream stream: the receipt covers the text passed on"
finish
