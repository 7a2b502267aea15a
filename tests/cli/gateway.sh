#!/usr/bin/env bash
# veil-gateway with real daemons on loopback (docs/gateway.md): two
# workers on the simulated TEE that join by themselves, one plain worker
# registered without evidence, and the gateway with API keys. Checked here
# with curl: admission (and refusal of tampered, replayed and mismatched
# evidence, and of another workload), confidential routing that never
# reaches the plain worker, fail-fast in milliseconds when no attested
# worker is left (also while requests are in flight and workers die),
# re-attestation removing a worker whose keys or measurement changed,
# leave, API keys, rate limits and metering against the receipts, the
# metrics; and with the independent Node.js client
# (tests/interop/gateway_client.mjs): the official openai client through
# the gateway, OHTTP routed by key id, receipts, and the transparency
# log's proofs checked by an implementation of its own.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/node.bash
export LC_ALL=C
PY="${VEIL_PYTHON:-/usr/bin/python3}"
GW_BIN="${BUILD:-build}/veil-gateway"
WORKER_BIN="${BUILD:-build}/veil-worker"
for b in "$GW_BIN" "$WORKER_BIN" "$VEIL"; do
	[ -x "$b" ] || { bad "$b is missing: make check-tests"; finish; }
done
"$PY" -c 'import numpy' 2>/dev/null || { bad "$PY cannot import numpy (scripts/setup.sh)"; finish; }
PIDS=()
on_finish() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
}

# wait_for SECONDS COMMAND...: until the command succeeds; 1 if it never did.
wait_for() {
	local t="$1"
	shift
	for _ in $(seq 1 $((t * 20))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
# Every exchange has a deadline, so a hung daemon fails a check instead
# of the whole run.
curl() { command curl --max-time 20 "$@"; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# admitted ID / not_admitted ID: what GET /v1/attestation lists.
admitted() { curl -sf "$GW/v1/attestation" | jq -e --arg id "$1" 'any(.data[]; .worker == $id)' >/dev/null; }
not_admitted() { ! admitted "$1"; }
# worker NAME ID PORT ARGS...: a worker on PORT; its pid in WPID_NAME, its
# URL in WURL_NAME.
worker() {
	local name="$1" id="$2" port="$3"
	shift 3
	"$WORKER_BIN" --port "$port" --id "$id" --gpus sim --key-file "$TMP/chat.key" \
		--model "$TMP/chat.sealed" --model-name chat --parallel 2 "$@" 2>"$TMP/$name.log" &
	local pid=$!
	PIDS+=($pid)
	eval "WPID_$name=$pid"
	eval "WURL_$name=http://127.0.0.1:$port"
}
SIM=(--tee sim --sim "$TMP/sim" --workload "$TMP/wk.bin" --workload "$TMP/wk.json")
join() { echo --gateway "$GW" --advertise "http://127.0.0.1:$1"; }
chat() { printf '{"model":"chat","messages":[{"role":"user","content":"%s"}],"max_tokens":%s%s}' \
	"${1:-hi}" "${2:-4}" "${3:-}"; }
# req ARGS...: one chat completion; prints "STATUS WORKER" (several may
# run at once: each has its own header file).
req() {
	local code h
	h="$(mktemp -p "$TMP")"
	code="$(curl -s -o /dev/null -D "$h" -w '%{http_code}' "$GW/v1/chat/completions" \
		-H "Authorization: Bearer $KEY" "$@")"
	echo "$code $(grep -i '^X-Veil-Worker:' "$h" | cut -d' ' -f2 | tr -d '\r')"
}

# ---- the platform, the model, the policy ----
"$PY" tests/models/gen_gguf.py --out "$TMP/chat.gguf" --arch qwen2 --vocab gpt2 --template chatml \
	--type Q8_0 --seed 4 --ctx 512 || { bad "generating the model"; finish; }
"$VEIL" seal --in "$TMP/chat.gguf" --out "$TMP/chat.sealed" --key-out "$TMP/chat.key" \
	--resource default/model/chat >/dev/null 2>&1 || { bad "veil seal"; finish; }
"$VEIL" sim init --gpus 1 "$TMP/sim" >/dev/null 2>&1 || { bad "sim init"; finish; }
printf 'veil-worker build 1' >"$TMP/wk.bin"
printf '{"model":"chat"}' >"$TMP/wk.json"
printf 'a tampered build' >"$TMP/evil.bin"
M="$("$VEIL" sim measure "$TMP/wk.bin" "$TMP/wk.json")"
cat >"$TMP/policy.json" <<JSON
{"version": 1, "id": "gateway-test",
 "sim": {"roots": ["$(cat "$TMP/sim/root.sha256")"], "max_age_seconds": 300,
         "match": {"measurement": "workloads"}},
 "gpu": {"required": true, "min_count": 1}}
JSON
cat >"$TMP/rv.json" <<JSON
{"version": 1, "expires": "2099-01-01T00:00:00Z", "sets": {"workloads": ["$M"]}}
JSON
KEY="$("$VEIL" gateway key create --accounts "$TMP/acct.db" --name alice)" && ok ||
	bad "veil gateway key create"
SLOW="$("$VEIL" gateway key create --accounts "$TMP/acct.db" --name slow --rpm 6)" && ok ||
	bad "veil gateway key create --rpm"

# ---- the plain worker and the gateway ----
worker plain wk-plain "$(free_port)" "${SIM[@]}"
wait_for 30 curl -sf "$WURL_plain/healthz" -o /dev/null || { bad "the plain worker did not start"; finish; }
"$GW_BIN" --log "$TMP/gw.db" --sth-key "$TMP/sth.jwk" --create-sth-key --policy "$TMP/policy.json" \
	--reference-values "$TMP/rv.json" --accounts "$TMP/acct.db" --plain-worker "$WURL_plain" \
	--reattest 2 --health 1 --port 0 --port-file "$TMP/gw.port" 2>"$TMP/gw.log" &
PIDS+=($!)
wait_for 10 test -s "$TMP/gw.port" || { bad "the gateway did not start"; cat "$TMP/gw.log"; finish; }
GW="http://127.0.0.1:$(cat "$TMP/gw.port")"
[ "$(stat -c %a "$TMP/sth.jwk")" = 600 ] && ok || bad "the tree-head key file is not 0600"

# ---- admission ----
PA="$(free_port)"
worker a wk-a "$PA" "${SIM[@]}" --ohttp-key-id 1 $(join "$PA")
PB="$(free_port)"
worker b wk-b "$PB" "${SIM[@]}" --ohttp-key-id 2 $(join "$PB")
wait_for 30 admitted wk-a && ok || { bad "wk-a was not admitted"; tail -5 "$TMP/a.log" "$TMP/gw.log"; }
wait_for 30 admitted wk-b && ok || { bad "wk-b was not admitted"; tail -5 "$TMP/b.log"; }
wait_for 10 sh -c "curl -sf '$GW/healthz' | jq -e '.workers.plain == 1' >/dev/null" && ok ||
	bad "the plain worker is not routable"
curl -sf "$GW/v1/models" | jq -e '.data | length == 1 and .[0].id == "chat" and .[0].confidential and
	.[0].workers == 3' >/dev/null && ok || bad "/v1/models: the union with the confidential mark"
curl -sf "$GW/v1/attestation" | jq -e '[.data[] | select(.worker == "wk-a")][0] |
	.model == "chat" and (.model_sha256 | length) == 64 and (.ohttp_key_ids | length) >= 1 and
	.evidence.runtime_data["veil-worker"].id == "wk-a" and .tee == "sim"' >/dev/null && ok ||
	bad "/v1/attestation describes wk-a"
grep -q '"event":"gateway.join"' "$TMP/a.log" && ok || bad "the worker logs its join"

# Refusals, through the protocol by hand. A challenge, and a fresh bundle
# from wk-a for its nonce.
challenge() {
	curl -sf -XPOST "$GW/v1/workers/join" -d "{\"id\":\"$1\",\"url\":\"$2\",\"capacity\":1}"
}
post_evidence() { # CHALLENGE FILE -> status, body in $TMP/jr
	curl -s -o "$TMP/jr" -w '%{http_code}' -XPOST "$GW/v1/workers/join/$1" --data-binary @"$2"
}
C1="$(challenge wk-a "$WURL_a")"
curl -sf "$WURL_a/v1/attestation?nonce=$(jq -r .nonce <<<"$C1")" -o "$TMP/ev1.json"
# Tampered: the model digest in the runtime data changed under the report.
jq -c '.runtime_data["veil-worker"]["model-sha256"] = ("0" * 64)' "$TMP/ev1.json" >"$TMP/tampered.json"
[ "$(post_evidence "$(jq -r .challenge <<<"$C1")" "$TMP/tampered.json")" = 403 ] &&
	jq -e '.error.type == "admission_refused" and .error.code == "verify"' "$TMP/jr" >/dev/null &&
	ok || { bad "tampered evidence is refused"; cat "$TMP/jr"; }
# The challenge is single-use: the genuine bundle for it is now too late.
[ "$(post_evidence "$(jq -r .challenge <<<"$C1")" "$TMP/ev1.json")" = 404 ] && ok ||
	bad "a used challenge is unknown"
# Replayed: genuine evidence, but for another challenge's nonce.
C2="$(challenge wk-a "$WURL_a")"
[ "$(post_evidence "$(jq -r .challenge <<<"$C2")" "$TMP/ev1.json")" = 403 ] &&
	jq -e '.error.code == "nonce"' "$TMP/jr" >/dev/null && ok || { bad "replayed evidence is refused"; cat "$TMP/jr"; }
# Mismatched: wk-a's evidence, but the URL serves wk-b (other keys).
C3="$(challenge wk-a "$WURL_b")"
curl -sf "$WURL_a/v1/attestation?nonce=$(jq -r .nonce <<<"$C3")" -o "$TMP/ev3.json"
[ "$(post_evidence "$(jq -r .challenge <<<"$C3")" "$TMP/ev3.json")" = 403 ] &&
	jq -e '.error.code == "keys" or .error.code == "url"' "$TMP/jr" >/dev/null && ok ||
	{ bad "evidence whose keys the URL does not serve is refused"; cat "$TMP/jr"; }
# Another id than the one that asked.
C4="$(challenge wk-z "$WURL_a")"
curl -sf "$WURL_a/v1/attestation?nonce=$(jq -r .nonce <<<"$C4")" -o "$TMP/ev4.json"
[ "$(post_evidence "$(jq -r .challenge <<<"$C4")" "$TMP/ev4.json")" = 403 ] && ok ||
	bad "evidence of another worker id is refused"
# Another workload: genuine evidence the policy does not accept.
PE="$(free_port)"
worker evil wk-evil "$PE" --tee sim --sim "$TMP/sim" --workload "$TMP/evil.bin" \
	--workload "$TMP/wk.json" $(join "$PE")
wait_for 30 grep -q 'admission refused' "$TMP/evil.log" && ok || bad "another workload is refused"
grep -q 'contraindicated\|not satisfied' "$TMP/evil.log" && ok || bad "the refusal says why"
not_admitted wk-evil && ok || bad "wk-evil is not admitted"
kill "$WPID_evil" 2>/dev/null
# OHTTP requests are routed by key id: a second worker with wk-a's is refused.
PD="$(free_port)"
worker dup wk-dup "$PD" "${SIM[@]}" --ohttp-key-id 1 $(join "$PD")
wait_for 30 grep -q 'admission refused.*OHTTP key id' "$TMP/dup.log" && ok ||
	bad "a worker with an OHTTP key id another worker holds is refused"
kill "$WPID_dup" 2>/dev/null
# Another worker (other keys) under an admitted worker's id is refused:
# nobody takes over or drains a worker they do not run.
PI="$(free_port)"
worker impostor wk-a "$PI" "${SIM[@]}" --ohttp-key-id 9 $(join "$PI")
wait_for 30 grep -q 'id_in_use\|holds this id' "$TMP/impostor.log" && ok ||
	bad "a worker with other keys under an admitted id is refused"
kill "$WPID_impostor" 2>/dev/null
curl -sf "$GW/v1/attestation" | jq -e --arg u "$WURL_a" '.data[] | select(.worker == "wk-a") |
	.url == $u' >/dev/null && ok || bad "wk-a is still the admitted wk-a"
for bad_join in '{"id":"x"}' '{"id":"a b","url":"http://127.0.0.1:1","capacity":1}' \
	'{"id":"x","url":"http://127.0.0.1:1/v1","capacity":1}' '{"id":"x","url":"ftp://h","capacity":1}' \
	'{"id":"x","url":"http://127.0.0.1:1","capacity":0}' '[1]' 'nope' \
	'{"id":"x","url":"http://127.0.0.1:1","capacity":1,"extra":1}'; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$GW/v1/workers/join" -d "$bad_join")" = 400 ] &&
		ok || bad "a bad join is 400: $bad_join"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/v1/workers/wk-a")" = 401 ] && ok ||
	bad "a worker's status needs its lease"
[ "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$GW/v1/workers/wk-a/leave" \
	-H "Authorization: Bearer $(printf '0%.0s' $(seq 64))")" = 401 ] && ok ||
	bad "leave with a wrong lease is 401"
admitted wk-a && ok || bad "wk-a survived the bad leave"

# ---- routing ----
[ "$(req -d "$(chat)" | cut -d' ' -f1)" = 200 ] && ok || bad "a plain request is answered"
served=""
RQ=()
for i in $(seq 1 12); do
	(req -H 'X-Veil-Confidential: required' -d "$(chat "q$i")" >"$TMP/cq$i") &
	RQ+=($!)
done
wait "${RQ[@]}"
for i in $(seq 1 12); do served="$served $(cut -d' ' -f2 "$TMP/cq$i")"; done
codes="$(cat "$TMP"/cq* | cut -d' ' -f1 | sort -u | tr '\n' ' ')"
[ "$codes" = "200 " ] && ok || bad "confidential requests: statuses $codes"
grep -q plain-1 <<<"$served" && bad "a confidential request reached the plain worker" || ok
grep -q wk-a <<<"$served" && grep -q wk-b <<<"$served" && ok ||
	bad "both confidential workers served (least outstanding): $served"
[ "$(req -H 'X-Confidential: required' -d "$(chat)" | cut -d' ' -f2)" != plain-1 ] && ok ||
	bad "X-Confidential: required is honoured"
[ "$(req -H 'X-Veil-Confidential: maybe' -d "$(chat)" | cut -d' ' -f1)" = 400 ] && ok ||
	bad "another value of X-Veil-Confidential is 400"
# Streaming passes through, receipt and [DONE] included.
curl -sN "$GW/v1/chat/completions" -H "Authorization: Bearer $KEY" -H 'X-Veil-Confidential: required' \
	-d "$(chat hi 8 ',"stream":true,"stream_options":{"include_usage":true}')" >"$TMP/sse"
tail -n 2 "$TMP/sse" | grep -q '^data: \[DONE\]' && grep -q veil_receipt "$TMP/sse" && ok ||
	bad "a stream passes through with its receipt and [DONE]"
# Keys and limits.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/v1/chat/completions" -d "$(chat)")" = 401 ] && ok ||
	bad "no API key is 401"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer vk_nope' \
	"$GW/v1/chat/completions" -d "$(chat)")" = 401 ] && ok || bad "an unknown API key is 401"
limited=0
for i in $(seq 1 8); do
	c="$(curl -s -o /dev/null -D "$TMP/rh" -w '%{http_code}' -H "Authorization: Bearer $SLOW" \
		"$GW/v1/chat/completions" -d "$(chat)")"
	[ "$c" = 429 ] && grep -qi '^Retry-After: [1-9]' "$TMP/rh" && limited=$((limited + 1))
done
[ "$limited" -ge 1 ] && ok || bad "the per-key rate limit answers 429 with Retry-After"

# ---- metering against the receipts ----
"$VEIL" gateway key create --accounts "$TMP/acct.db" --name meter >"$TMP/meter.key" 2>/dev/null
MK="$(cat "$TMP/meter.key")"
want_p=0
want_c=0
for i in 1 2 3; do
	curl -s -D "$TMP/mh" -o /dev/null -H "Authorization: Bearer $MK" -H 'X-Veil-Confidential: required' \
		"$GW/v1/chat/completions" -d "$(chat "meter $i" $((i + 2)))"
	r="$(grep -i '^X-Veil-Receipt:' "$TMP/mh" | cut -d' ' -f2 | tr -d '\r' | cut -d. -f2 | tr '_-' '/+')"
	while [ $((${#r} % 4)) -ne 0 ]; do r="$r="; done
	want_p=$((want_p + $(base64 -d <<<"$r" | jq .usage.prompt_tokens)))
	want_c=$((want_c + $(base64 -d <<<"$r" | jq .usage.completion_tokens)))
done
curl -sN -H "Authorization: Bearer $MK" -H 'X-Veil-Confidential: required' "$GW/v1/chat/completions" \
	-d "$(chat streamed 5 ',"stream":true')" >"$TMP/msse"
r="$(grep -o '"veil_receipt":"[^"]*"' "$TMP/msse" | cut -d'"' -f4 | cut -d. -f2 | tr '_-' '/+')"
while [ $((${#r} % 4)) -ne 0 ]; do r="$r="; done
want_p=$((want_p + $(base64 -d <<<"$r" | jq .usage.prompt_tokens)))
want_c=$((want_c + $(base64 -d <<<"$r" | jq .usage.completion_tokens)))
curl -s -H "Authorization: Bearer $MK" "$GW/v1/usage" >"$TMP/usage.json"
jq -e --argjson p "$want_p" --argjson c "$want_c" '.data | map(select(.tier == "confidential")) |
	(map(.requests) | add) == 4 and (map(.prompt_tokens) | add) == $p and
	(map(.completion_tokens) | add) == $c and (map(.receipts) | add) == 4' "$TMP/usage.json" \
	>/dev/null && ok || { bad "metering equals the receipts (p=$want_p c=$want_c)"; cat "$TMP/usage.json"; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW/v1/usage")" = 401 ] && ok || bad "/v1/usage needs a key"

# ---- the independent client ----
node_require "the gateway client checks" && npm_packages_ready &&
	run_node_checks tests/interop/gateway_client.mjs "$GW" "$TMP/sth.jwk" "$KEY" plain-1 wk-a wk-b

# ---- re-attestation: a worker that comes back with other keys ----
kill "$WPID_b"
wait "$WPID_b" 2>/dev/null
grep -q '"event":"worker.left"' "$TMP/gw.log" && ok || bad "a stopping worker leaves"
not_admitted wk-b && ok || bad "wk-b is gone after leaving"
# wk-a again, on the same URL and with the same id, but restarted (a new
# receipt key and OHTTP key) and not joining: re-attestation must notice.
kill -9 "$WPID_a"
worker a2 wk-a "$PA" "${SIM[@]}"
wait_for 30 curl -sf "$WURL_a2/healthz" -o /dev/null || bad "wk-a2 did not start"
wait_for 20 grep -q 're-attestation shows another\|re-attestation failed\|health checks failed' "$TMP/gw.log" &&
	ok || bad "re-attestation removes a worker whose keys changed"
wait_for 10 not_admitted wk-a && ok || bad "wk-a with other keys is not routed to"

# ---- fail fast ----
t="$(curl -s -o "$TMP/ff" -D "$TMP/ffh" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $KEY" \
	-H 'X-Veil-Confidential: required' "$GW/v1/chat/completions" -d "$(chat)")"
[ "${t%% *}" = 503 ] && jq -e '.error.type == "confidential_capacity_unavailable" and
	.error.code == "no_confidential_worker"' "$TMP/ff" >/dev/null && grep -qi '^Retry-After:' "$TMP/ffh" &&
	ok || { bad "no attested worker: 503 confidential_capacity_unavailable ($t)"; cat "$TMP/ff"; }
awk -v s="${t#* }" 'BEGIN { exit !(s < 0.25) }' && ok || bad "the 503 took ${t#* } s"
[ "$(req -d "$(chat)" | cut -d' ' -f2)" = plain-1 ] && ok || bad "plain requests still go to the plain worker"

# Under load: a worker admitted again, requests in flight, and it dies.
kill "$WPID_a2" 2>/dev/null
PC="$(free_port)"
worker c wk-c "$PC" "${SIM[@]}" --ohttp-key-id 3 $(join "$PC")
wait_for 30 admitted wk-c && ok || bad "wk-c was not admitted"
RQ=()
for i in $(seq 1 24); do
	(req -H 'X-Veil-Confidential: required' -d "$(chat "load $i" 16)" >"$TMP/lq$i") &
	RQ+=($!)
	[ "$i" = 8 ] && kill -9 "$WPID_c"
done
wait "${RQ[@]}"
bad_status=0
for i in $(seq 1 24); do
	read -r code who <"$TMP/lq$i"
	case "$code" in
	200) [ "$who" = wk-c ] || bad_status=1 ;;
	502 | 503) ;;
	*) bad_status=1 ;;
	esac
	[ "$who" = plain-1 ] && bad_status=1
done
[ "$bad_status" = 0 ] && ok || bad "under load with the worker dying: only wk-c, 502 or 503 ($(cat "$TMP"/lq* | tr '\n' ' '))"
t="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $KEY" \
	-H 'X-Veil-Confidential: required' "$GW/v1/chat/completions" -d "$(chat)")"
[ "${t%% *}" = 503 ] && awk -v s="${t#* }" 'BEGIN { exit !(s < 0.25) }' && ok ||
	bad "after the death: 503 at once ($t)"

# ---- the log and the metrics ----
n="$(curl -sf "$GW/v1/log/sth" | jq .tree_size)"
[ "${n:-0}" -ge 5 ] && ok || bad "the log holds the admissions, re-attestations and removals ($n)"
curl -sf "$GW/v1/log/entries?start=0&end=$((n - 1))" | jq -r '.entries[].leaf_input' |
	while read -r e; do
		p="$(tr '_-' '/+' <<<"$e")"
		while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
		base64 -d <<<"$p" | jq -r .kind
	done | sort | uniq -c >"$TMP/kinds"
grep -q admission "$TMP/kinds" && grep -q reattestation "$TMP/kinds" && grep -q removal "$TMP/kinds" &&
	grep -q leave "$TMP/kinds" && ok || { bad "the log has every kind of entry"; cat "$TMP/kinds"; }
curl -sf "$GW/metrics" >"$TMP/metrics"
grep -Eq '^veil_gateway_fail_fast_total [1-9]' "$TMP/metrics" && ok || bad "/metrics counts fail-fast"
grep -Eq '^veil_gateway_admissions_refused_total\{reason="(policy|verify)"\} [1-9]' "$TMP/metrics" &&
	ok || bad "/metrics counts refusals by reason"
grep -Eq '^veil_gateway_requests_total\{route="chat",tier="confidential",outcome="ok"\} [1-9]' \
	"$TMP/metrics" && ok || bad "/metrics counts requests by route, tier and outcome"
grep -q 'meter \|streamed\|"hi"' "$TMP/gw.log" && bad "a prompt appears in the gateway's log" || ok
grep -q "$KEY" "$TMP/gw.log" && bad "an API key appears in the gateway's log" || ok
finish
