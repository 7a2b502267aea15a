#!/usr/bin/env bash
# veil proxy (docs/proxy.md) in front of a real deployment on loopback: the
# sim platform, a sealed model whose key veil-kbs releases, veil-gateway
# and two veil-workers that join it (tests/cli/lib/deploy.bash). Checked
# with curl: whole and streamed answers with their X-Veil-* headers, the
# receipts (verified again here, and decoded: they say the exchange was
# end to end encrypted and name the bytes sent and received), the request
# errors, the model list cut to the policy, the gateway's fail-fast 503 for
# policies that no worker satisfies (another measurement, another model
# digest), answers altered on the way (tests/cli/lib/tamper_relay.py: a
# flipped bit, a stream cut before its end), a worker that leaves (the
# proxy picks another), the gateway never seeing a plaintext request, the
# log lines, and a clean stop; and with the official openai npm client
# (tests/interop/proxy_client.mjs).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/node.bash
. tests/cli/lib/deploy.bash
export LC_ALL=C
for b in "$VEIL" "${BUILD:-build}/veil-gateway" "${BUILD:-build}/veil-worker" "${BUILD:-build}/veil-kbs"; do
	[ -x "$b" ] || { bad "$b is missing: make check-tests"; finish; }
done
"$PY" -c 'import numpy' 2>/dev/null || { bad "$PY cannot import numpy (scripts/setup.sh)"; finish; }

curl() { command curl --max-time 30 "$@"; }
wait_for() {
	local t="$1"
	shift
	for _ in $(seq 1 $((t * 20))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
# b64url_json: the JSON of a base64url part (a JWS payload) on stdin.
b64url_json() {
	local p
	p="$(tr '_-' '/+')"
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	base64 -d <<<"$p"
}
# header NAME FILE: a response header's value.
header() { grep -i "^$1:" "$2" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }
chat() { printf '{"model":"%s","messages":[{"role":"user","content":"%s"}],"max_tokens":%s,"temperature":0,"seed":1%s}' \
	"${MODEL:-chat}" "$1" "${2:-8}" "${3:-}"; }
# start_proxy NAME POLICY [ARGS]: a proxy on a free port; its URL in
# PX_NAME, its pid in PXPID_NAME, its log in $TMP/NAME.log.
start_proxy() {
	local name="$1" policy="$2"
	shift 2
	rm -f "$TMP/$name.port"
	"$VEIL" proxy --gateway "$GW" --policy "$policy" --listen 127.0.0.1:0 \
		--port-file "$TMP/$name.port" "$@" 2>"$TMP/$name.log" &
	local pid=$!
	deploy_track "$pid"
	printf -v "PXPID_$name" '%s' "$pid"
	wait_for 10 test -s "$TMP/$name.port" || { bad "proxy $name did not start"; tail -5 "$TMP/$name.log"; return 1; }
	printf -v "PX_$name" '%s' "http://127.0.0.1:$(cat "$TMP/$name.port")"
}
gone() { ! _deploy_alive "$1"; }
not_admitted() { ! deploy_admitted "$1"; }
# metric NAME_AND_LABELS: the gateway's counter, 0 when absent.
metric() {
	local v
	v="$(curl -sf "$GW/metrics" | grep -F "$1 " | awk '{print $2}' | head -n1)"
	echo "${v:-0}"
}

# ---- the deployment ----
deploy_model || { bad "deploy_model"; finish; }
deploy_kbs || { bad "deploy_kbs"; finish; }
deploy_gateway || { bad "deploy_gateway"; finish; }
deploy_worker a wk-a
deploy_worker b wk-b
deploy_wait_admitted 2 || { bad "the two workers were not admitted"; tail -5 "$DEPLOY"/a.log "$GW_LOG"; finish; }
deploy_client_policy "$TMP/client.json" || { bad "deploy_client_policy"; finish; }
# Refusing policies: a measurement no worker has, another model digest.
deploy_client_policy "$TMP/other-measurement.json" \
	'.reference_values.sets.workloads = ["'"$(printf 'ab%.0s' $(seq 48))"'"]' || bad "policy (measurement)"
deploy_client_policy "$TMP/other-model.json" '.models.chat = ["'"$(printf '0%.0s' $(seq 64))"'"]' ||
	bad "policy (model digest)"

# ---- usage and start-up ----
"$VEIL" proxy >/dev/null 2>&1
[ $? = 2 ] && ok || bad "no options: exit 2"
"$VEIL" proxy --gateway "$GW" --policy "$TMP/client.json" --listen nowhere >/dev/null 2>&1
[ $? = 2 ] && ok || bad "a bad --listen: exit 2"
"$VEIL" proxy --gateway "$GW" --policy "$TMP/client.json" --threads 0 >/dev/null 2>&1
[ $? = 2 ] && ok || bad "--threads 0: exit 2"
"$VEIL" proxy --gateway "$GW" --policy "$TMP/missing.json" >/dev/null 2>"$TMP/err"
[ $? = 2 ] && grep -q missing.json "$TMP/err" && ok || bad "a missing policy: exit 2 naming it"
jq '.extra = 1' "$TMP/client.json" >"$TMP/bad-policy.json"
"$VEIL" proxy --gateway "$GW" --policy "$TMP/bad-policy.json" >/dev/null 2>&1
[ $? = 2 ] && ok || bad "a policy with an unknown member: exit 2"
"$VEIL" proxy --gateway "http://127.0.0.1:$(deploy_free_port)" --policy "$TMP/client.json" \
	--listen 127.0.0.1:0 >/dev/null 2>"$TMP/err"
[ $? = 3 ] && grep -q 'cannot be reached' "$TMP/err" && ok || bad "an unreachable gateway: exit 3"
"$VEIL" proxy --help | grep -q -- '--gateway URL' && ok || bad "--help"

start_proxy main "$TMP/client.json" || finish
PX="$PX_main"
grep -q "listening on $PX/v1" "$TMP/main.log" && ok || bad "the proxy says where it listens"
curl -sf "$PX/healthz" | jq -e '.status == "ok"' >/dev/null && ok || bad "/healthz"
chat_before="$(metric 'veil_gateway_requests_total{route="chat",tier="confidential",outcome="ok"}')"
plain_before="$(metric 'veil_gateway_requests_total{route="chat",tier="plain",outcome="ok"}')"
ohttp_before="$(metric 'veil_gateway_requests_total{route="ohttp",tier="confidential",outcome="ok"}')"

# ---- a whole answer ----
chat 'proxy whole marker' >"$TMP/req.json"
code="$(curl -s -o "$TMP/whole.json" -D "$TMP/wh" -w '%{http_code}' "$PX/v1/chat/completions" \
	-H 'Content-Type: application/json' --data-binary @"$TMP/req.json")"
[ "$code" = 200 ] && jq -e '.object == "chat.completion" and (.choices[0].message.content | type) == "string"' \
	"$TMP/whole.json" >/dev/null && ok || { bad "a whole chat answer ($code)"; cat "$TMP/whole.json"; }
WK="$(header X-Veil-Worker "$TMP/wh")"
case "$WK" in wk-a | wk-b) ok ;; *) bad "X-Veil-Worker: '$WK'" ;; esac
[ "$(header X-Veil-Verified "$TMP/wh")" = "evidence=affirming; receipt=verified" ] && ok ||
	bad "X-Veil-Verified: $(header X-Veil-Verified "$TMP/wh")"
[ "$(header X-Veil-TEE "$TMP/wh")" = sim ] && ok || bad "X-Veil-TEE"
header X-Veil-Receipt "$TMP/wh" >"$TMP/receipt.jws"
[ "$(cut -d. -f1 "$TMP/receipt.jws" | b64url_json | jq -r '.alg + " " + .typ')" = "ES256 veil-receipt+jws" ] &&
	ok || bad "X-Veil-Receipt is a worker's ES256 receipt"
cut -d. -f2 "$TMP/receipt.jws" | b64url_json >"$TMP/receipt.json"
jq -e --arg w "$WK" --arg rq "$(sha256sum <"$TMP/req.json" | cut -d' ' -f1)" \
	--arg rs "$(sha256sum <"$TMP/whole.json" | cut -d' ' -f1)" \
	'.worker == $w and .ohttp == true and .stream == false and .request_sha256 == $rq and
	.response_sha256 == $rs and .model_sha256 == "'"$MODEL_SHA"'"' "$TMP/receipt.json" >/dev/null &&
	ok || { bad "the receipt names the worker, OHTTP and the exact bytes"; cat "$TMP/receipt.json"; }
# Verified again here, offline, against the worker's published bundle.
curl -sf "$GW/v1/attestation?worker=$WK" -o "$TMP/evidence.json" && ok || bad "the published bundle of $WK"
"$VEIL" verify-receipt "$TMP/receipt.jws" --evidence "$TMP/evidence.json" --request "$TMP/req.json" \
	--response "$TMP/whole.json" --policy "$TMP/client.json" >"$TMP/vr.out" 2>&1 && ok ||
	{ bad "veil verify-receipt accepts the proxy's receipt"; tail -3 "$TMP/vr.out"; }

# ---- a stream ----
curl -sN -D "$TMP/sh" "$PX/v1/chat/completions" \
	-d "$(chat 'proxy whole marker' 8 ',"stream":true,"stream_options":{"include_usage":true}')" >"$TMP/sse"
[ "$(header X-Veil-Verified "$TMP/sh")" = "evidence=affirming; receipt=pending" ] && ok ||
	bad "a stream's X-Veil-Verified: $(header X-Veil-Verified "$TMP/sh")"
header Content-Type "$TMP/sh" | grep -q '^text/event-stream' && ok || bad "a stream is text/event-stream"
SWK="$(header X-Veil-Worker "$TMP/sh")"
case "$SWK" in wk-a | wk-b) ok ;; *) bad "a stream's X-Veil-Worker: '$SWK'" ;; esac
[ "$(tail -n 2 "$TMP/sse" | head -n 1)" = "data: [DONE]" ] && ok || bad "the stream ends with [DONE]"
[ "$(grep -c '^data: \[DONE\]' "$TMP/sse")" = 1 ] && ok || bad "one [DONE]"
grep '^data: {' "$TMP/sse" | cut -c7- >"$TMP/chunks"
jq -rj '.choices[0].delta.content // empty' "$TMP/chunks" >"$TMP/stream.txt"
jq -j '.choices[0].message.content' "$TMP/whole.json" >"$TMP/whole.txt"
cmp -s "$TMP/stream.txt" "$TMP/whole.txt" && ok || bad "the streamed text is the whole answer's (temperature 0)"
jq -r 'select(.veil_receipt) | .veil_receipt' "$TMP/chunks" | tail -n1 | cut -d. -f2 | b64url_json >"$TMP/sreceipt.json"
jq -e --arg w "$SWK" --arg t "$(sha256sum <"$TMP/stream.txt" | cut -d' ' -f1)" \
	'.worker == $w and .ohttp == true and .stream == true and .response_sha256 == $t' \
	"$TMP/sreceipt.json" >/dev/null && ok || { bad "the stream's receipt"; cat "$TMP/sreceipt.json"; }
# Legacy completions, both ways.
P='{"model":"'"$MODEL"'","prompt":"Once","max_tokens":6,"temperature":0'
code="$(curl -s -o "$TMP/cmpl.json" -D "$TMP/ch" -w '%{http_code}' "$PX/v1/completions" -d "$P}")"
[ "$code" = 200 ] && jq -e '.object == "text_completion"' "$TMP/cmpl.json" >/dev/null &&
	[ -n "$(header X-Veil-Receipt "$TMP/ch")" ] && ok || bad "a whole completion ($code)"
curl -sN "$PX/v1/completions" -d "$P"',"stream":true}' >"$TMP/csse"
grep '^data: {' "$TMP/csse" | cut -c7- | jq -rj '.choices[0].text // empty' >"$TMP/cstream.txt"
jq -j '.choices[0].text' "$TMP/cmpl.json" >"$TMP/cwhole.txt"
cmp -s "$TMP/cstream.txt" "$TMP/cwhole.txt" && tail -n 2 "$TMP/csse" | grep -q '^data: \[DONE\]' && ok ||
	bad "a streamed completion equals the whole one and ends with [DONE]"

# Several at once, on both workers.
RQ=()
for i in $(seq 1 8); do
	(curl -s -o /dev/null -D "$TMP/par$i" -w '%{http_code}\n' "$PX/v1/chat/completions" \
		-d "$(chat "parallel $i" 4)" >"$TMP/parc$i") &
	RQ+=($!)
done
wait "${RQ[@]}"
[ "$(cat "$TMP"/parc* | sort -u)" = 200 ] && ok || bad "parallel requests: $(cat "$TMP"/parc* | tr '\n' ' ')"
served="$(for i in $(seq 1 8); do header X-Veil-Worker "$TMP/par$i"; done | sort -u | tr '\n' ' ')"
[ "$served" = "wk-a wk-b " ] && ok || bad "parallel requests went to both workers: $served"

# ---- the request's errors ----
code="$(curl -s -o "$TMP/e" -w '%{http_code}' "$PX/v1/chat/completions" -d '{"messages":[]}')"
[ "$code" = 400 ] && jq -e '.error.type == "invalid_request_error" and .error.param == "model" and
	.error.code == "missing_required_parameter"' "$TMP/e" >/dev/null && ok || bad "no model: 400 ($code)"
code="$(curl -s -o "$TMP/e" -w '%{http_code}' "$PX/v1/chat/completions" -d '{"model":7}')"
[ "$code" = 400 ] && jq -e '.error.code == "invalid_type"' "$TMP/e" >/dev/null && ok || bad "a model of the wrong type: 400"
code="$(curl -s -o "$TMP/e" -w '%{http_code}' "$PX/v1/chat/completions" -d '{"model":""}')"
[ "$code" = 400 ] && jq -e '.error.code == "invalid_value"' "$TMP/e" >/dev/null && ok || bad "an empty model: 400"
for body in 'nope' '[1]' '{"model":"chat","model":"chat"}' '{"model":"chat"} x'; do
	code="$(curl -s -o "$TMP/e" -w '%{http_code}' "$PX/v1/chat/completions" -d "$body")"
	[ "$code" = 400 ] && jq -e '.error.type == "invalid_request_error"' "$TMP/e" >/dev/null && ok ||
		bad "a body that is not one JSON object is 400: $body ($code)"
done
# A request the worker refuses comes back as the worker said, receipt verified.
code="$(curl -s -o "$TMP/e" -D "$TMP/eh" -w '%{http_code}' "$PX/v1/chat/completions" \
	-d '{"model":"'"$MODEL"'","messages":[{"role":"user","content":"x"}],"temperature":5}')"
[ "$code" = 400 ] && jq -e '.error.param == "temperature"' "$TMP/e" >/dev/null &&
	[ "$(header X-Veil-Verified "$TMP/eh")" = "evidence=affirming; receipt=verified" ] && ok ||
	bad "the worker's 400 is passed on with its verified receipt ($code)"
code="$(curl -s -o "$TMP/e" -D "$TMP/eh" -w '%{http_code}' "$PX/v1/chat/completions" -d "$(chat hi 4 | jq -c '.model = "nope"')")"
[ "$code" = 503 ] && jq -e '.error.code == "no_confidential_worker"' "$TMP/e" >/dev/null && ok ||
	bad "an unknown model: 503 no_confidential_worker ($code)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$PX/v1/embeddings" -d '{}')" = 404 ] && ok || bad "an unknown path: 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$PX/v1/chat/completions")" = 405 ] && ok || bad "GET a POST route: 405"
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' >"$TMP/big"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$PX/v1/chat/completions" --data-binary @"$TMP/big")" = 413 ] && ok ||
	bad "a body over 1 MiB: 413"

# ---- models ----
curl -sf "$PX/v1/models" >"$TMP/models.json"
jq -e --arg m "$MODEL" '.object == "list" and (.data | map(.id)) == [$m]' "$TMP/models.json" >/dev/null && ok ||
	{ bad "/v1/models lists the policy's model"; cat "$TMP/models.json"; }

# ---- the gateway saw only encrypted requests ----
[ "$(metric 'veil_gateway_requests_total{route="chat",tier="confidential",outcome="ok"}')" = "$chat_before" ] &&
	[ "$(metric 'veil_gateway_requests_total{route="chat",tier="plain",outcome="ok"}')" = "$plain_before" ] && ok ||
	bad "the gateway counted plaintext chat requests from the proxy"
ohttp_after="$(metric 'veil_gateway_requests_total{route="ohttp",tier="confidential",outcome="ok"}')"
[ "$ohttp_after" -ge $((ohttp_before + 12)) ] 2>/dev/null && ok ||
	bad "the gateway counted the proxy's requests as OHTTP ($ohttp_before -> $ohttp_after)"
grep -q 'proxy whole marker\|parallel [0-9]' "$GW_LOG" "$DEPLOY"/a.log "$DEPLOY"/b.log &&
	bad "a prompt appears in a daemon's log" || ok

# ---- refusals: the gateway's fail-fast shape ----
start_proxy meas "$TMP/other-measurement.json" || finish
code="$(curl -s -o "$TMP/r1" -D "$TMP/r1h" -w '%{http_code}' "$PX_meas/v1/chat/completions" -d "$(chat 'refused 1')")"
[ "$code" = 503 ] && jq -e '(.error | keys) == ["code","message","param","type"] and
	.error.type == "confidential_capacity_unavailable" and .error.code == "no_confidential_worker" and
	(.error.message | test("check policy"))' "$TMP/r1" >/dev/null && [ "$(header Retry-After "$TMP/r1h")" = 5 ] &&
	ok || { bad "another measurement: the gateway's 503 naming the policy check ($code)"; cat "$TMP/r1"; }
[ -z "$(header X-Veil-Worker "$TMP/r1h")" ] && ok || bad "a refused request names no worker"
start_proxy model "$TMP/other-model.json" || finish
code="$(curl -s -o "$TMP/r2" -D "$TMP/r2h" -w '%{http_code}' "$PX_model/v1/chat/completions" -d "$(chat 'refused 2')")"
[ "$code" = 503 ] && jq -e '.error.type == "confidential_capacity_unavailable" and
	.error.code == "no_confidential_worker" and (.error.message | test("check model"))' "$TMP/r2" >/dev/null &&
	[ "$(header Retry-After "$TMP/r2h")" = 5 ] && ok ||
	{ bad "another model digest: 503 naming the model check ($code)"; cat "$TMP/r2"; }
code="$(curl -s -o /dev/null -w '%{http_code}' "$PX_model/v1/chat/completions" -d "$(chat 'refused 3' 4 ',"stream":true')")"
[ "$code" = 503 ] && ok || bad "a refused stream is 503 before any event ($code)"
grep -q 'refused [0-9]' "$GW_LOG" && bad "a refused prompt reached the gateway's log" || ok
grep -Eq 'POST /v1/chat/completions model=chat worker=- 503 (policy|model)' "$TMP/meas.log" "$TMP/model.log" &&
	ok || { bad "the proxy logs the refusal with its check"; tail -3 "$TMP/meas.log"; }
# A wrong API key for the gateway: its 401 is no verified answer.
start_proxy badkey "$TMP/client.json" --api-key vk_wrong || finish
code="$(curl -s -o "$TMP/r3" -w '%{http_code}' "$PX_badkey/v1/chat/completions" -d "$(chat 'bad key')")"
[ "$code" = 502 ] && jq -e '.error.type == "veil_verification_failed" and .error.code == "transport" and
	(.error.message | test("401"))' "$TMP/r3" >/dev/null && ok || { bad "a wrong API key: 502 naming the 401 ($code)"; cat "$TMP/r3"; }

# ---- a network that alters the answers (tests/cli/lib/tamper_relay.py) ----
# relay NAME MODE: the relay in front of $GW; its URL in RL_NAME.
relay() {
	rm -f "$TMP/$1.port"
	"$PY" tests/cli/lib/tamper_relay.py --upstream "$GW" --mode "$2" --port-file "$TMP/$1.port" \
		2>"$TMP/relay-$1.log" &
	deploy_track $!
	_deploy_wait_file "$TMP/$1.port" $! 30 || { bad "the relay $1 did not start"; return 1; }
	printf -v "RL_$1" '%s' "http://127.0.0.1:$(cat "$TMP/$1.port")"
}
relay flip flip && relay cut truncate || finish
GW="$RL_flip" start_proxy flip "$TMP/client.json" || finish
GW="$RL_cut" start_proxy cut "$TMP/client.json" || finish
code="$(curl -s -o "$TMP/t1" -D "$TMP/t1h" -w '%{http_code}' "$PX_flip/v1/chat/completions" -d "$(chat 'flipped')")"
[ "$code" = 502 ] && jq -e '.error.type == "veil_verification_failed" and .error.code == "decrypt" and
	(.choices | not)' "$TMP/t1" >/dev/null && [ -n "$(header X-Veil-Worker "$TMP/t1h")" ] &&
	grep -q 'relay: flip' "$TMP/relay-flip.log" && ok ||
	{ bad "an altered whole answer: 502 decrypt, nothing of it passed on ($code)"; cat "$TMP/t1"; }
code="$(curl -s -o "$TMP/t2" -w '%{http_code}' "$PX_flip/v1/chat/completions" -d "$(chat 'flipped' 8 ',"stream":true')")"
[ "$code" = 502 ] && jq -e '.error.code == "decrypt"' "$TMP/t2" >/dev/null && ok ||
	{ bad "an altered stream, before any event: 502 decrypt ($code)"; cat "$TMP/t2"; }
curl -sN -D "$TMP/t3h" "$PX_cut/v1/chat/completions" -d "$(chat 'cut short' 8 ',"stream":true')" >"$TMP/t3"
grep -q '^data: {"id"' "$TMP/t3" && ! grep -q '^data: \[DONE\]' "$TMP/t3" &&
	[ "$(header X-Veil-Verified "$TMP/t3h")" = "evidence=affirming; receipt=pending" ] &&
	grep '^data: ' "$TMP/t3" | tail -n1 | cut -c7- | jq -e '.error.type == "veil_verification_failed" and
	.error.code == "decrypt"' >/dev/null && grep -q 'relay: truncate' "$TMP/relay-cut.log" && ok ||
	{ bad "a stream cut before its final chunk: events, then an error event, no [DONE]"; tail -n 3 "$TMP/t3"; }
code="$(curl -s -o /dev/null -D "$TMP/t4h" -w '%{http_code}' "$PX_cut/v1/chat/completions" -d "$(chat 'whole')")"
[ "$code" = 200 ] && [ "$(header X-Veil-Verified "$TMP/t4h")" = "evidence=affirming; receipt=verified" ] && ok ||
	bad "a whole answer through the cutting relay (which cuts only chunked ones) is verified ($code)"
grep -Eq 'worker=wk-[ab] 502 decrypt' "$TMP/flip.log" && grep -Eq 'worker=wk-[ab] 200 decrypt' "$TMP/cut.log" &&
	ok || bad "the proxy logs the failed decrypt check"

# ---- the official openai client ----
node_require "the proxy client checks" && npm_packages_ready &&
	run_node_checks tests/interop/proxy_client.mjs "$PX" "$GW" "$PX_meas" "$PX_cut" wk-a wk-b

# ---- the log ----
lines="$(grep -c '^veil proxy: POST /v1/' "$TMP/main.log")"
[ "$lines" -ge 27 ] && ok || bad "one log line per request ($lines)"
grep -Eq "POST /v1/chat/completions model=chat worker=wk-[ab] 200 verified" "$TMP/main.log" && ok ||
	bad "the log says the worker, status and verified"
grep -q 'marker\|parallel [0-9]\|Once\|Say hello' "$TMP/main.log" "$TMP/meas.log" && bad "a prompt in the proxy's log" || ok
grep -q "$API_KEY" "$TMP/main.log" && bad "the API key in the proxy's log" || ok

# ---- a worker leaves: the proxy picks the other one ----
deploy_stop_worker a
wait_for 10 not_admitted wk-a || bad "wk-a did not leave"
codes=""
for i in 1 2 3 4; do
	code="$(curl -s -o /dev/null -D "$TMP/lh" -w '%{http_code}' "$PX/v1/chat/completions" -d "$(chat "after $i" 4)")"
	codes="$codes $code:$(header X-Veil-Worker "$TMP/lh")"
done
[ "$codes" = " 200:wk-b 200:wk-b 200:wk-b 200:wk-b" ] && ok || bad "after wk-a left, wk-b answers:$codes"
deploy_stop_worker b
code="$(curl -s -o "$TMP/r4" -D "$TMP/r4h" -w '%{http_code}' "$PX/v1/chat/completions" -d "$(chat 'nobody')")"
[ "$code" = 503 ] && jq -e '.error.code == "no_confidential_worker"' "$TMP/r4" >/dev/null &&
	[ "$(header Retry-After "$TMP/r4h")" = 5 ] && ok || { bad "no worker left: 503 ($code)"; cat "$TMP/r4"; }

# ---- a clean stop, of every proxy ----
for name in main meas model badkey flip cut; do
	pid="$(eval echo "\$PXPID_$name")"
	kill -TERM "$pid"
	wait_for 10 gone "$pid" || bad "proxy $name does not stop at SIGTERM"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] && grep -q 'signal 15, stopping' "$TMP/$name.log" && ok ||
		{ bad "proxy $name exits 0 after SIGTERM, saying why ($rc)"; tail -n 5 "$TMP/$name.log"; }
done
finish
